"""C operators and constants over the model's values (ints, UNKNOWN, Obj, Addr, Struct, Sym).

Pure functions: no state, no tree.  UNKNOWN wherever the model cannot say.
"""

from __future__ import annotations

from collections.abc import Callable

from patchlint.cparse import ir
from patchlint.model.state import UNKNOWN, Addr, Obj, Struct, Sym


def literal(text: str) -> object:
    t = text.rstrip("uUlL")
    try:
        return int(t, 0)
    except ValueError:
        return {"NULL": 0, "true": 1, "false": 0}.get(text, UNKNOWN)


def const(e: ir.Expr, name: Callable[[str], int | None] | None = None) -> int | None:
    """The value of a constant expression; `name(id)` gives a name's constant value (an
    object-like macro such as PAGE_MAPPING_FLAGS) or None."""
    if isinstance(e, ir.Literal):
        v = literal(e.text)
        return None if v is UNKNOWN else v
    if isinstance(e, ir.Name) and name is not None:
        return name(e.id)
    if isinstance(e, ir.Cast):
        return const(e.expr, name)
    if isinstance(e, ir.Binary):
        a, b = const(e.left, name), const(e.right, name)
        if a is None or b is None:
            return None
        v = compare(e.op, a, b)
        return None if v is UNKNOWN else v
    if isinstance(e, ir.Unary) and e.op in ("-", "~"):
        a = const(e.operand, name)
        return None if a is None else (-a if e.op == "-" else ~a)
    return None


def truth(v: object) -> bool | None:
    if isinstance(v, bool):
        return v
    if isinstance(v, int):
        return v != 0
    if isinstance(v, (Obj, Addr, Struct)):
        return True
    return None


_ARITH = {
    "+": lambda a, b: a + b, "-": lambda a, b: a - b, "*": lambda a, b: a * b,
    "/": lambda a, b: int(a / b) if b else UNKNOWN, "%": lambda a, b: a % b if b else UNKNOWN,
    "<<": lambda a, b: a << b if 0 <= b < 64 else UNKNOWN, ">>": lambda a, b: a >> b if 0 <= b < 64 else UNKNOWN,
    "&": lambda a, b: a & b, "|": lambda a, b: a | b, "^": lambda a, b: a ^ b,
    "==": lambda a, b: int(a == b), "!=": lambda a, b: int(a != b), "<": lambda a, b: int(a < b),
    ">": lambda a, b: int(a > b), "<=": lambda a, b: int(a <= b), ">=": lambda a, b: int(a >= b),
}


def compare(op: str, a: object, b: object) -> object:
    """C operators over model values; UNKNOWN when the model cannot say."""
    if isinstance(a, int) and isinstance(b, int):
        f = _ARITH.get(op)
        return f(a, b) if f else UNKNOWN
    pointers = (Obj, Addr)
    if op in ("==", "!=") and (isinstance(a, pointers) or isinstance(b, pointers)) and (
            isinstance(a, pointers) or a == 0) and (isinstance(b, pointers) or b == 0):
        return int((a == b) == (op == "=="))
    if op in ("==", "!=") and isinstance(a, Sym) and isinstance(b, Sym) and a == b:
        return int(op == "==")
    if op == "&" and isinstance(a, Obj) and isinstance(b, int):
        return (1 if a.kind == "anon" else 0) & b  # PAGE_MAPPING_ANON: the low bit of page->mapping
    if op in ("+", "-") and isinstance(a, Obj) and a.kind == "pte":
        return Obj("pte", "<other>")  # the next pte of the table: the scenario maps its page with one pte
    if op in ("<<", ">>", "+") and isinstance(a, Obj) and a.kind == "frame" and isinstance(b, int):
        return a  # a frame's address: same frame
    return UNKNOWN
