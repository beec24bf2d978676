"""Scope-based locking (include/linux/cleanup.h, 6.x): `guard(mutex)(&m);` takes the lock at
the statement and releases it wherever the enclosing block is left -- its end, a `return`, a
`break` or `continue` out of it, a `goto` to a label outside it; `scoped_guard(spinlock, &l)
{ ... }` holds it for the braces.  Which guard class takes which lock is the vocabulary's
`[guards]` table (grammars/locks.toml); the walker (extract.walker) keeps the scopes.
"""

from __future__ import annotations

from dataclasses import dataclass

from patchlint.cparse import ir
from patchlint.extract.calls import Bindings, lock_object
from patchlint.extract.facts import Variant, dedupe
from patchlint.extract.lockclass import instance_of


@dataclass(frozen=True)
class Guard:
    """A lock a guard took in a block, released when the block is left."""

    cls: str
    instance: str | None  # the object it was taken on, where the walk names one
    obj: str | None  # the text of the lock argument
    line: int


@dataclass(frozen=True)
class GuardCall:
    """`guard(class)(args)`: the primitive the guard class's constructor calls, and its arguments."""

    primitive: str
    args: tuple[ir.Expr, ...]


class Scopes(Bindings):
    # set by Walker.__init__
    scopes: list[list[Guard]]  # per block being walked (outermost first), the guards taken in it
    block_ids: list[int]  # the ids of those blocks
    label_blocks: dict[str, tuple[int, ...]] | None  # label -> the blocks enclosing it (made on demand)

    def guard_statement(self, e: ir.Expr) -> GuardCall | None:
        """`guard(mutex)(&m)`, `CLASS(spinlock, name)(&l)` of a guard class the table knows."""
        if isinstance(e, ir.Call) and isinstance(e.func, ir.Call) and e.func.name in self.v.guard_statements \
                and e.func.args and isinstance(e.func.args[0], ir.Name):
            prim = self.v.guards.get(e.func.args[0].id)
            if prim is not None:
                return GuardCall(prim, e.args)
        return None

    def guard_block(self, s: ir.Loop) -> GuardCall | None:
        """`scoped_guard(spinlock, &l) { ... }`, which the dialect pass reads as a loop."""
        if s.macro not in self.v.guard_blocks or s.cond is None:
            return None
        parts = s.cond.exprs if isinstance(s.cond, ir.Comma) else (s.cond,)
        if not parts or not isinstance(parts[0], ir.Name) or parts[0].id not in self.v.guards:
            return None
        return GuardCall(self.v.guards[parts[0].id], tuple(parts[1:]))

    def take_guard(self, g: GuardCall, line: int, vs: list[Variant]) -> list[Variant]:
        """Take the guard's lock as its primitive would, and leave its release to the scope."""
        prim = self.v.primitives[g.primitive]
        call = ir.Call(line, ir.Name(line, g.primitive), g.args)
        vs = self._primitive(call, prim, self.site(line), vs, False)
        lock = self.held_for(prim, call, "lock")
        if self.scopes:
            self.scopes[-1].append(Guard(lock.cls, instance_of(prim, call), lock_object(prim, call), line))
        return vs

    def leave_scopes(self, depth: int, vs: list[Variant], line: int) -> list[Variant]:
        """The paths leaving every scope from `depth` inwards: their guards released, innermost
        (and in each scope the last taken) first."""
        for scope in reversed(self.scopes[depth:]):
            for g in reversed(scope):
                vs = dedupe([self._release(v, g.cls, g.instance, line, g.obj) if v.holds(g.cls) else v
                             for v in vs])
        return vs

    def goto_depth(self, label: str, body: ir.Block) -> int:
        """How many of the blocks being walked also enclose `label`: a goto leaves the others."""
        if self.label_blocks is None:
            self.label_blocks = _label_blocks(body)
        chain = self.label_blocks.get(label)
        if chain is None:
            return len(self.scopes)
        depth = 0
        for mine, theirs in zip(self.block_ids, chain, strict=False):
            if mine != theirs:
                break
            depth += 1
        return depth


def _label_blocks(body: ir.Block) -> dict[str, tuple[int, ...]]:
    out: dict[str, tuple[int, ...]] = {}
    stack: list[tuple[ir.Stmt | None, tuple[int, ...]]] = [(body, ())]
    while stack:
        st, chain = stack.pop()
        if isinstance(st, ir.Block):
            inner = chain + (id(st),)
            stack.extend((x, inner) for x in st.body)
        elif isinstance(st, ir.Label):
            out.setdefault(st.name, chain)
        elif isinstance(st, ir.If):
            stack.extend(((st.then, chain), (st.orelse, chain)))
        elif isinstance(st, ir.Loop):
            stack.extend(((st.init, chain), (st.body, chain)))
        elif isinstance(st, ir.Switch):
            stack.append((st.body, chain))
    return out
