"""C that patchlint writes or reads outside a file of the tree, parsed into the IR here, so that
no stage after cparse holds a tree-sitter node: a macro's body as an expression (the model
evaluates function-like macros), and a scenario's thread bodies."""

from __future__ import annotations

from dataclasses import dataclass

from patchlint.cparse.dialect import rewrite
from patchlint.cparse.ir import Block, Body, Expr, Return, Stmt, build_body
from patchlint.cparse.parse import parse_tree


def macro_expression(body: str, name: str, path: str) -> Expr | None:
    """A macro's replacement text as an expression, after the kernel dialect pass
    (`((__force fgf_t)0x00000002)`); None when it is not one (a statement, a fragment)."""
    buf = bytearray(f"long __patchlint_macro(void) {{ return ({body}); }}\n".encode())
    rewrite(buf)
    src = bytes(buf)
    parsed = build_body(src, parse_tree(src).root_node, 0, name, path, {})
    ret = parsed.block.body[0] if parsed and parsed.block.body else None
    return ret.value if isinstance(ret, Return) and parsed.complete else None


def macro_statement(body: str, name: str, path: str) -> Stmt | None:
    """A macro's replacement text as one statement (`do { spin_lock(l); ... } while (0)`), after
    the kernel dialect pass; None when it does not read as one."""
    buf = bytearray(f"void __patchlint_macro(void) {{ {body}; }}\n".encode())
    rewrite(buf)
    src = bytes(buf)
    parsed = build_body(src, parse_tree(src).root_node, 0, name, path, {})
    if parsed is None or not parsed.complete or not parsed.block.body:
        return None
    stmts = parsed.block.body
    return stmts[0] if len(stmts) == 1 else Block(stmts[0].line, stmts)


@dataclass(frozen=True)
class Functions:
    bodies: dict[int, Body | None]  # start offset -> the function defined there
    error_line: int | None  # the first line with a syntax error, if any


def function_bodies(src: bytes, starts: dict[int, str], path: str) -> Functions:
    """The bodies of the functions defined at `starts` (offset -> name) in `src` (C with no
    dialect pass: a scenario's threads), and the first syntax error's line."""
    tree = parse_tree(src)
    error_line = None
    if tree.root_node.has_error:
        bad = _first_error(tree.root_node)
        error_line = bad.start_point[0] + 1 if bad is not None else 1
    bodies = {}
    for start, name in starts.items():
        bodies[start] = build_body(src, tree.root_node, start, name, path, {})
    return Functions(bodies, error_line)


def _first_error(node):
    """The first ERROR or missing node, in source order."""
    stack = [node]
    while stack:
        n = stack.pop()
        if n.type == "ERROR" or n.is_missing:
            return n
        stack.extend(reversed([c for c in n.children if c.has_error or c.is_missing]))
    return None
