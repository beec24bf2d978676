"""The one place that knows py-tree-sitter's API.

py-tree-sitter changed how languages load (0.22) and how queries run
(0.23: QueryCursor); everything else in patchlint calls these functions and
never touches tree-sitter directly, so a version difference is fixed here.
"""

from __future__ import annotations

from functools import cache
from typing import Any

import tree_sitter
import tree_sitter_c

from patchlint.resources import grammar_file


@cache
def language() -> tree_sitter.Language:
    return tree_sitter.Language(tree_sitter_c.language())


def new_parser() -> tree_sitter.Parser:
    try:
        return tree_sitter.Parser(language())
    except TypeError:  # py-tree-sitter < 0.22
        parser = tree_sitter.Parser()
        parser.set_language(language())
        return parser


@cache
def query(*names: str) -> tree_sitter.Query:
    """Compile grammars/queries/NAME.scm (several: one query, one tree walk) once per process."""
    source = "\n".join(grammar_file(f"queries/{name}.scm").read_text() for name in names)
    try:
        return tree_sitter.Query(language(), source)
    except (AttributeError, TypeError):  # older API
        return language().query(source)


def matches(q: tree_sitter.Query, node: Any, max_start_depth: int | None = None) -> list[dict[str, list[Any]]]:
    """Each match as {capture name: [nodes]}, in document order.  max_start_depth=0 looks
    only at patterns rooted at `node` itself, which is far cheaper for file-scope queries."""
    cursor_cls = getattr(tree_sitter, "QueryCursor", None)
    if cursor_cls is not None:
        cursor = cursor_cls(q)
        if max_start_depth is not None:
            cursor.set_max_start_depth(max_start_depth)
        raw = cursor.matches(node)
    else:  # py-tree-sitter < 0.23
        raw = q.matches(node)
    out = []
    for _, caps in raw:
        out.append({k: (v if isinstance(v, list) else [v]) for k, v in caps.items()})
    return out


def captures(q: tree_sitter.Query, node: Any) -> dict[str, list[Any]]:
    cursor_cls = getattr(tree_sitter, "QueryCursor", None)
    if cursor_cls is not None:
        return cursor_cls(q).captures(node)
    grouped: dict[str, list[Any]] = {}
    for n, name in q.captures(node):
        grouped.setdefault(name, []).append(n)
    return grouped
