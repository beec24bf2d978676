"""Function-like macros that take or release a lock, expanded into the body before the walk.

A body calls `ca(x)` where the tree says `#define ca(x) __cond_lock(_ca(x))` and
`#define __cond_lock(c) ((c) ? ({ spin_lock(&l); 1; }) : 0)`: read as a call, the lock it
takes is invisible.  A macro is expanded when its replacement text names a lock primitive of
the vocabulary (one that takes, tries or releases), directly or through another such macro;
every other macro stays a call, as before.  An expression macro is expanded wherever it is
called, a statement macro (`do { ... } while (0)`) where its call is a statement.  The
expansion is the macro's own text with the call's arguments put in for its parameters, every
node on the call's line; a macro with `#`, `##` or variadic arguments is left alone.
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Callable

from patchlint.cparse import ir
from patchlint.cparse.defs import FunctionDef
from patchlint.cparse.preproc import MacroDef
from patchlint.cparse.snippets import macro_expression, macro_statement
from patchlint.extract.vocab import Vocabulary

MAX_NESTING = 8  # macros expanded inside an expansion
_CALLED = re.compile(r"\b([A-Za-z_]\w*)\s*\(")


@dataclasses.dataclass(frozen=True)
class LockMacro:
    """A macro whose expansion takes or releases a lock, parsed once."""

    name: str
    params: tuple[str, ...]
    expr: ir.Expr | None  # as an expression, where it reads as one
    stmt: ir.Stmt | None  # as a statement


class LockMacros:
    """The lock macros a tree defines (looked up by `macros`, the index's #define lookup), and the
    bodies that call them, expanded."""

    def __init__(self, vocab: Vocabulary, macros: Callable[[str], list[MacroDef]],
                 defined: Callable[[str], bool]):
        self.v = vocab
        self.macros = macros
        self.defined = defined  # a function definition of the name exists: a call, not a macro
        self._known: dict[str, LockMacro | None] = {}
        # (the locks, not the contexts: a macro that only disables preemption or interrupts, often
        # under a condition on its argument the walk cannot decide -- raw_write_seqcount_begin()'s
        # `if (seqprop_preemptible(s))` -- would add paths that are not there)
        self._lockish = frozenset(n for n, p in vocab.reads.items()
                                  if p.op not in ("test", "assert") and p.kind not in ("rcu", "irq", "preempt"))
        self._bodies: dict[tuple[str, int], tuple[ir.Body, ir.Body]] = {}

    def expand(self, fn: FunctionDef, body: ir.Body) -> ir.Body:
        """`body` with its calls of lock macros expanded (the same object when it calls none)."""
        key = (fn.file, fn.start_byte)
        kept = self._bodies.get(key)
        if kept is not None and kept[0] is body:
            return kept[1]
        names = {c.callee for c in fn.calls if not c.indirect}
        out = body
        if any(self.lock_macro(n) is not None for n in sorted(names)):
            block = _Expander(self).stmt(body.block, 0)
            out = ir.Body(body.function, body.file, block if isinstance(block, ir.Block) else body.block,
                          body.complete)
        if len(self._bodies) > 20_000:
            self._bodies.clear()
        self._bodies[key] = (body, out)
        return out

    def lock_macro(self, name: str, depth: int = 0) -> LockMacro | None:
        if name in self._known:
            return self._known[name]
        if name in self.v.reads or depth > MAX_NESTING:
            return None
        self._known[name] = None  # a macro naming itself is no lock macro
        found = None
        defs = [m for m in self.macros(name) if m.params is not None] if not self.defined(name) else []
        if defs and _expandable(defs[0]) and self._locks(defs[0].body, depth):
            m = defs[0]
            found = LockMacro(m.name, tuple(m.params or ()), macro_expression(m.body, m.name, m.file),
                              macro_statement(m.body, m.name, m.file))
            if found.expr is None and found.stmt is None:
                found = None
        self._known[name] = found
        return found

    def _locks(self, text: str, depth: int) -> bool:
        called = set(_CALLED.findall(text))
        if called & self._lockish:
            return True
        return any(self.lock_macro(n, depth + 1) is not None for n in sorted(called - self._lockish))


def _expandable(m: MacroDef) -> bool:
    return "#" not in m.body and not any(p == "..." or p.endswith("...") for p in m.params or ())


class _Expander:
    def __init__(self, macros: LockMacros):
        self.m = macros

    def stmt(self, s: ir.Stmt | None, depth: int) -> ir.Stmt | None:
        if s is None:
            return None
        if isinstance(s, ir.ExprStmt) and isinstance(s.expr, ir.Call) and depth <= MAX_NESTING:
            m = self.m.lock_macro(s.expr.name or "")
            if m is not None and m.expr is None and m.stmt is not None:
                # a statement macro: its statement, with the call's arguments in place
                args = tuple(self.expr(a, depth) for a in s.expr.args)
                return self.stmt(_substitute(m.stmt, m.params, args, s.line), depth + 1)
        return _rebuild(s, lambda n: self.stmt(n, depth) if isinstance(n, ir.Stmt) else self.expr(n, depth))

    def expr(self, e: ir.Expr, depth: int) -> ir.Expr:
        if isinstance(e, ir.Call) and depth <= MAX_NESTING:
            m = self.m.lock_macro(e.name or "")
            if m is not None and m.expr is not None:
                args = tuple(self.expr(a, depth) for a in e.args)
                return self.expr(_substitute(m.expr, m.params, args, e.line), depth + 1)
        return _rebuild(e, lambda n: self.stmt(n, depth) if isinstance(n, ir.Stmt) else self.expr(n, depth))


def _rebuild(node, child: Callable) -> object:
    """`node` with `child` applied to each statement and expression it holds (the same object when
    nothing changed)."""
    changes = {}
    for f in dataclasses.fields(node):
        value = getattr(node, f.name)
        if isinstance(value, (ir.Stmt, ir.Expr)):
            new = child(value)
        elif isinstance(value, tuple) and value and isinstance(value[0], tuple):  # InitList items
            new = tuple((d, child(x)) for d, x in value)
        elif isinstance(value, tuple) and any(isinstance(x, (ir.Stmt, ir.Expr)) for x in value):
            new = tuple(child(x) for x in value)
        else:
            continue
        if any(a is not b for a, b in zip(_flat(new), _flat(value), strict=True)):
            changes[f.name] = new
    return dataclasses.replace(node, **changes) if changes else node


def _flat(value) -> tuple:
    """The nodes a field holds, in order (an InitList item's designator is no node)."""
    if isinstance(value, tuple):
        return tuple(x for item in value for x in (item[1:] if isinstance(item, tuple) else (item,)))
    return (value,)


def _substitute(node, params: tuple[str, ...], args: tuple[ir.Expr, ...], line: int):
    """The macro's parsed text with each parameter replaced by its argument, on `line`."""
    bound = dict(zip(params, args, strict=False))

    def walk(n):
        if isinstance(n, ir.Name) and n.id in bound:
            return bound[n.id]
        n = _rebuild(n, walk)
        return dataclasses.replace(n, line=line) if n.line != line else n

    return walk(node)
