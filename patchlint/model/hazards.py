"""The hazards the model looks for, read from grammars/hazards.toml.

The explorer owns a handful of generic detectors (a BUG reached, every thread blocked, a
spin cycle, a sleep under a spinlock, a predicate over a page at the end of a schedule);
which hazards exist, which detector finds each, and what a final-state hazard means are
data, and a scenario's `exists` clause chooses among them.
"""

from __future__ import annotations

import ast
import tomllib
from dataclasses import dataclass
from functools import cache

from patchlint.findings import KINDS
from patchlint.model.state import FLAGS, Page
from patchlint.resources import grammar_file

DETECTORS = ("bug", "all-blocked", "spin-cycle", "sleep-atomic", "final")


@dataclass(frozen=True)
class Hazard:
    name: str
    detector: str
    when: ast.Expression | None = None  # detector "final": a predicate over `page`
    message: str = ""
    site: str | None = None  # detector "final": the page field holding where it happened


class HazardTableError(ValueError):
    pass


@cache
def hazards() -> dict[str, Hazard]:
    data = tomllib.loads(grammar_file("hazards.toml").read_text())
    out = {}
    for name, entry in data.items():
        detector = entry.get("detector")
        if detector not in DETECTORS:
            raise HazardTableError(f"hazards.toml: {name}: detector {detector!r} is not one of {', '.join(DETECTORS)}")
        when = None
        if detector == "final":
            when = ast.parse(entry["when"], mode="eval")
            _check(when.body, name)
        if name not in KINDS:
            raise HazardTableError(f"hazards.toml: {name}: not a finding kind (patchlint/data/kinds.toml)")
        out[name] = Hazard(name, detector, when, entry.get("message", ""),
                           entry.get("site"))
    return out


_ALLOWED = (ast.BoolOp, ast.And, ast.Or, ast.UnaryOp, ast.Not, ast.Compare, ast.Eq, ast.NotEq, ast.Attribute,
            ast.Name, ast.Constant, ast.Load)


def _check(node: ast.AST, name: str) -> None:
    """Only and/or/not, == and != over page.FIELD and constants: data, never code."""
    for n in ast.walk(node):
        if not isinstance(n, _ALLOWED):
            raise HazardTableError(f"hazards.toml: {name}: {type(n).__name__} is not allowed in `when`")
        if isinstance(n, ast.Name) and n.id != "page":
            raise HazardTableError(f"hazards.toml: {name}: only `page` can be named in `when`")
        if isinstance(n, ast.Attribute) and n.attr not in FLAGS and n.attr not in Page.__dataclass_fields__:
            raise HazardTableError(f"hazards.toml: {name}: the page has no {n.attr!r}")


def holds(h: Hazard, page: Page) -> bool:
    return bool(_eval(h.when.body, page))


def _eval(node: ast.AST, page: Page) -> object:
    if isinstance(node, ast.BoolOp):
        values = (_eval(v, page) for v in node.values)
        return all(values) if isinstance(node.op, ast.And) else any(values)
    if isinstance(node, ast.UnaryOp):
        return not _eval(node.operand, page)
    if isinstance(node, ast.Compare):
        left = _eval(node.left, page)
        for op, right in zip(node.ops, node.comparators, strict=True):
            r = _eval(right, page)
            if (left == r) != isinstance(op, ast.Eq):
                return False
            left = r
        return True
    if isinstance(node, ast.Attribute):
        if node.attr in FLAGS:
            return page.has(node.attr)
        return getattr(page, node.attr)
    if isinstance(node, ast.Constant):
        return node.value
    raise HazardTableError(f"cannot evaluate {type(node).__name__}")
