"""What a condition says about a path: `assume(e, value, vs)` keeps the
variants on which `e` can be `value`, adds what that teaches them (a trylock
succeeded, a pointer is NULL so its lock was never taken, a page predicate,
two locals compared) and drops those it contradicts.  Also which loops are
spin loops: a loop that goes round again while a trylock fails.
"""

from __future__ import annotations

from patchlint.cparse import ir
from patchlint.extract.exprs import call_key, calls_in, is_literal, leaves_loop, literal_truth, text_of
from patchlint.extract.facts import (
    CmpFact,
    ErrFact,
    Held,
    NonNullFact,
    PredFact,
    TruthFact,
    VarFact,
    Variant,
    dedupe,
    taken,
)
from patchlint.extract.lockclass import LockNames, instance_of
from patchlint.extract.vocab import Primitive


class Conditions(LockNames):
    # set by Walker.__init__
    consts: dict[str, object]  # parameters bound to a constant by the caller
    plain: frozenset[str]  # the locals whose every change the walk sees (exprs.plain_locals)
    returned: frozenset[str]  # the names returned, whose truth the path remembers
    took: set[str]  # classes the function takes itself

    # -- spin loops --------------------------------------------------------------------------------
    def spin_lock_of(self, s: ir.Loop) -> tuple[ir.Call, Primitive] | None:
        """A loop that goes round again when a trylock fails: (the trylock call, its primitive)."""
        probe = Variant()
        if s.cond is not None:
            for call in calls_in(s.cond):
                prim = self._trylock(call)
                if prim is None:
                    continue
                cls = self.lock_class(prim, call)
                # the loop runs again when its condition holds: does it hold with the trylock failed?
                again = self.assume(s.cond, True, [probe])
                if any(not v.holds(cls) for v in again):
                    return call, prim
        stmts = s.body.body if isinstance(s.body, ir.Block) else (s.body,)
        for st in stmts:
            if isinstance(st, ir.If):
                for call in calls_in(st.cond):
                    prim = self._trylock(call)
                    if prim is None:
                        continue
                    cls = self.lock_class(prim, call)
                    # `if (trylock(x)) break;`: the loop is left only once it succeeded
                    for branch, value in ((st.then, True), (st.orelse, False)):
                        if leaves_loop(branch):
                            got = self.assume(st.cond, value, [probe])
                            if got and all(v.holds(cls) for v in got):
                                return call, prim
        return None

    def _trylock(self, call: ir.Call) -> Primitive | None:
        prim = self.v.primitives.get(call.name or "")
        return prim if prim is not None and prim.op == "trylock" else None

    # -- conditions ------------------------------------------------------------------------------
    def _loop_cond(self, s: ir.Loop, value: bool, vs: list[Variant]) -> list[Variant]:
        """The paths on which the loop's condition is `value`.  An iterator macro read as a loop
        (`radix_tree_for_each_slot(slot, root, &iter, 0)` -> `while (slot, root, &iter, 0)`) has
        its arguments for a condition: a constant among them decides nothing."""
        if s.macro is not None and s.cond is not None:
            last = s.cond.exprs[-1] if isinstance(s.cond, ir.Comma) and s.cond.exprs else s.cond
            if is_literal(last):
                return vs
        return self.assume(s.cond, value, vs)  # type: ignore[arg-type]

    def assume(self, e: ir.Expr, value: bool, vs: list[Variant]) -> list[Variant]:
        """The variants in which `e` evaluates to `value` (pruning those where it cannot)."""
        if is_literal(e):
            # `while (1)` leaves only by break, return or goto; `do { } while (0)` runs once
            truth = literal_truth(e)
            return vs if truth is None or truth == value else []
        if isinstance(e, ir.Unary) and e.op == "!":
            return self.assume(e.operand, not value, vs)
        if isinstance(e, ir.Unary) and e.op in ("post++", "post--"):
            return self.assume(e.operand, value, vs)  # `if (!ptep++)` tests ptep as it was
        if isinstance(e, ir.Binary) and e.op in ("&&", "||"):
            conj = (e.op == "&&") == value
            if conj:  # a && b true, or a || b false: both sides take `value`
                return self.assume(e.right, value, self.assume(e.left, value, vs))
            first = self.assume(e.left, value, vs)
            other = self.assume(e.right, value, self.assume(e.left, not value, vs))
            return dedupe(first + other)
        if isinstance(e, ir.Binary) and e.op in ("==", "!="):
            return self._assume_equal(e, value, vs)
        if isinstance(e, ir.Comma) and e.exprs:
            return self.assume(e.exprs[-1], value, vs)
        if isinstance(e, ir.Assign) and e.op == "=" and isinstance(e.target, ir.Name):
            out = self.assume(e.value, value, vs)
            if isinstance(e.value, ir.Call) and self._trylock(e.value) is not None:
                cls = self.lock_class(self._trylock(e.value), e.value)
                return [v.rebind(e.target.id, VarFact(e.target.id, cls, value)) for v in out]
            return out
        if isinstance(e, ir.Name):
            return self._assume_name(e.id, value, vs)
        if isinstance(e, ir.Field):
            return self._assume_name(text_of(e), value, vs)
        if isinstance(e, ir.Unary) and e.op == "*" and isinstance(e.operand, ir.Name):
            return self._assume_name(text_of(e), value, vs)  # `if (*locked)`: the caller's flag
        if isinstance(e, ir.Call):
            return self._assume_call(e, value, vs)
        return vs

    def _assume_equal(self, e: ir.Binary, value: bool, vs: list[Variant]) -> list[Variant]:
        lit, other = (e.right, e.left) if is_literal(e.right) else (e.left, e.right)
        if is_literal(lit):
            truthy = literal_truth(lit)
            if truthy is not None:
                wanted = (truthy == value) if e.op == "==" else (truthy != value)
                return self.assume(other, wanted, vs)
        if isinstance(e.left, ir.Name) and isinstance(e.right, ir.Name) and e.left.id != e.right.id and \
                e.left.id in self.types and e.right.id in self.types and \
                e.left.id in self.plain and e.right.id in self.plain:
            # `if (new_ptl != old_ptl) spin_lock_nested(new_ptl, ...); ... if (new_ptl != old_ptl)
            # spin_unlock(new_ptl);`: two locals compared again take the same branch until one of
            # them is assigned, stepped or handed to a call by address
            a, b = sorted((e.left.id, e.right.id))
            equal = value if e.op == "==" else not value
            out = []
            for v in vs:
                known = next((f.equal for f in v.facts if isinstance(f, CmpFact) and f.a == a and f.b == b), None)
                if known is None:
                    out.append(v.fact(CmpFact(a, b, equal)))
                elif known == equal:
                    out.append(v)
            return out
        return vs

    def _assume_call(self, e: ir.Call, value: bool, vs: list[Variant]) -> list[Variant]:
        name = e.name or ""
        if name in ("likely", "unlikely", "WARN_ON", "WARN_ON_ONCE", "WARN", "WARN_ONCE") and e.args:
            return self.assume(e.args[0], value, vs)
        if name == "IS_ERR" and len(e.args) == 1 and isinstance(e.args[0], ir.Name) and \
                e.args[0].id in self.returned:
            err = e.args[0].id
            out = []
            for v in vs:
                known = next((f.value for f in v.facts if isinstance(f, ErrFact) and f.name == err), None)
                if known is None:
                    v = v.fact(ErrFact(err, value))
                elif known != value:
                    continue
                out.append(v.fact(TruthFact(err, True)) if value else v)  # an error pointer is not NULL
            return out
        key = call_key(e)
        if any(isinstance(f, VarFact) and f.name == key for v in vs for f in v.facts):
            return self._assume_name(key, value, vs)
        prim = self.v.primitives.get(name)
        if prim is not None and prim.op == "trylock":
            if not value:
                return vs
            lock = self.held_for(prim, e, "trylock")
            self.took.add(lock.cls)
            return [taken(v, lock, instance_of(prim, e)) for v in vs]
        if prim is not None and prim.op == "acquire_killable":
            if value:
                return vs  # an error: interrupted, nothing taken
            return [taken(v, self.held_for(prim, e, "lock"), instance_of(prim, e)) for v in vs]
        if name in self.v.locked_predicates and e.args:
            if value:
                lock = Held("page_lock", "page_lock", "assert", self.body.file, e.line, self.body.function, False)
                return [v.with_held(lock) for v in vs]  # asserted, not taken here: never a first acquisition
            return vs
        if (name in self.v.anon_predicates or name in self.v.swapcache_predicates) and e.args:
            arg = text_of(e.args[0])
            out = []
            for v in vs:
                if PredFact(name, arg, not value) in v.facts:
                    continue  # contradicts what this path already knows
                out.append(v.fact(PredFact(name, arg, value)))
            return out
        return vs

    def _assume_name(self, name: str, value: bool, vs: list[Variant]) -> list[Variant]:
        if name in self.consts:
            const = self.consts[name]
            return vs if bool(const) == value else []
        out = []
        for v in vs:
            bound = [f for f in v.facts if isinstance(f, VarFact) and f.name == name]
            if bound and all(f.value != value for f in bound):
                continue
            if name in self.returned and not bound:
                known = next((f.value for f in v.facts if isinstance(f, TruthFact) and f.name == name), None)
                if known is not None and known != value:
                    continue
                v = v.fact(TruthFact(name, value))
            nonnull = [f for f in v.facts if isinstance(f, NonNullFact) and f.name == name]
            if nonnull and not value:
                for f in nonnull:
                    v = v.without(f.cls)
            out.append(v)
        return out
