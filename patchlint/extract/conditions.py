"""What a condition says about a path: `assume(e, value, vs)` keeps the
variants on which `e` can be `value`, adds what that teaches them (a trylock
succeeded, a pointer is NULL so its lock was never taken, a page predicate,
two locals compared) and drops those it contradicts.  Also which loops are
spin loops: a loop that goes round again while a trylock fails.
"""

from __future__ import annotations

from patchlint.cparse import ir
from patchlint.extract.exprs import (
    call_key,
    calls_in,
    is_literal,
    leaves_loop,
    literal_truth,
    tail_value,
    text_of,
    value_key,
)
from patchlint.extract.facts import (
    CmpFact,
    CondFact,
    ErrFact,
    Held,
    NonNullFact,
    PredFact,
    TriedFact,
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
    asserting: bool  # inside an [assertions] macro: a lock test says this path holds the lock

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
        prim = self.v.reads.get(call.name or "")
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
        if vs and any(f for v in vs for f in v.facts if isinstance(f, CondFact)):
            # a condition this path tested before, whose branches left different locks held
            text = text_of(e)
            vs = [v for v in vs if not any(isinstance(f, CondFact) and f.text == text and f.value != value
                                           for f in v.facts)]
        if is_literal(e):
            # `while (1)` leaves only by break, return or goto; `do { } while (0)` runs once
            truth = literal_truth(e)
            return vs if truth is None or truth == value else []
        if isinstance(e, ir.Unary) and e.op == "!":
            return self.assume(e.operand, not value, vs)
        if isinstance(e, ir.Unary) and e.op in ("post++", "post--"):
            return self.assume(e.operand, value, vs)  # `if (!ptep++)` tests ptep as it was
        if isinstance(e, (ir.Conditional, ir.StmtExpr)) or isinstance(e, ir.Binary) and e.op in ("&&", "||"):
            # what the walk's evaluation of it remembered on a path (a `<val>` fact) decides there
            kept, vs = self._assume_tagged(e, value, vs)
            if kept:
                return dedupe(kept + self.assume(e, value, vs)) if vs else kept
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
        if isinstance(e, ir.Conditional):
            # `c ? a : b` not evaluated on its own (no tag): each side where the test takes it
            return dedupe(self.assume(e.then, value, self.assume(e.test, True, vs)) +
                          self.assume(e.orelse, value, self.assume(e.test, False, vs)))
        if isinstance(e, ir.StmtExpr):
            tail = tail_value(e)  # `({ frob(); spin_trylock(l); })`: its last expression
            return self.assume(tail, value, vs) if tail is not None else vs
        if isinstance(e, ir.Cast):
            return self.assume(e.expr, value, vs)
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

    def _assume_tagged(self, e: ir.Expr, value: bool, vs: list[Variant]) -> tuple[list[Variant], list[Variant]]:
        """An expression with branches of its own the walk evaluated (Bindings.expr), which
        remembered per path what it came to (a `<val ...>` fact): (the paths that remembered it
        and where it was `value`, the paths that remembered nothing, to be assumed as usual)."""
        key = value_key(e)
        kept: list[Variant] = []
        rest: list[Variant] = []
        for v in vs:
            known = next((f.value for f in v.facts if isinstance(f, VarFact) and f.name == key), None)
            if known is None:
                rest.append(v)
            elif known == value:
                kept.append(v)
        return kept, rest

    def pure_condition(self, e: ir.Expr) -> tuple[tuple[str, ...], bool] | None:
        """(the names it reads, whether it reads through a pointer) for a condition made of locals
        whose every change the walk sees (exprs.plain_locals), fields and operators of them and
        constants, no call or assignment: tested twice with none of them changed in between, it
        comes out the same.  None for anything else."""
        names: list[str] = []
        deep = False

        def pure(x: ir.Expr) -> bool:
            nonlocal deep
            if isinstance(x, ir.Name):
                if x.id in ("NULL", "true", "false"):
                    return True
                names.append(x.id)
                return x.id in self.plain
            if isinstance(x, ir.Literal):
                return True
            if isinstance(x, ir.Field):
                deep = True
                return pure(x.obj)
            if isinstance(x, ir.Unary) and x.op in ("!", "-", "~", "*", "&"):
                deep |= x.op == "*"
                return pure(x.operand)
            if isinstance(x, ir.Binary):
                return pure(x.left) and pure(x.right)
            if isinstance(x, ir.Cast):
                return pure(x.expr)
            if isinstance(x, ir.Index) and isinstance(x.index, ir.Literal):
                deep = True
                return pure(x.obj)
            return False

        if is_literal(e) or not pure(e) or not names:
            return None
        return tuple(sorted(set(names))), deep

    def cond_facts(self, e: ir.Expr, then_in: list[Variant],
                   else_in: list[Variant]) -> tuple[list[Variant], list[Variant], str | None]:
        """Entering the branches of `if (e)` where `e` is a pure condition: each side remembers
        which way it went (CondFact), so the same test later takes the same branch -- also on
        the paths that leave a branch by goto or break.  The fact's text, or None (not pure, or
        already known on every path)."""
        core, value = e, True
        while isinstance(core, ir.Unary) and core.op == "!":
            core, value = core.operand, not value
        pure = self.pure_condition(core)
        if pure is None or not then_in or not else_in:
            return then_in, else_in, None
        names, deep = pure
        text = text_of(core)

        def tag(vs: list[Variant], truth: bool) -> list[Variant]:
            return dedupe([v if any(isinstance(f, CondFact) and f.text == text for f in v.facts)
                           else v.fact(CondFact(text, names, truth, deep)) for v in vs])

        # a fact an earlier test of the same condition left is kept whatever this one does
        fresh = not any(isinstance(f, CondFact) and f.text == text for v in then_in + else_in for f in v.facts)
        return tag(then_in, value), tag(else_in, not value), text if fresh else None

    def cond_join(self, text: str | None, then_vs: list[Variant], else_vs: list[Variant]) -> list[Variant]:
        """The paths out of both branches.  Where the two leave the same locks held, which way the
        test went no longer matters and is forgotten (a fact keeps paths apart); where they
        differ, it is kept for the next test of the same condition."""
        if text is not None and {tuple(h.cls for h in v.held) for v in then_vs} == \
                {tuple(h.cls for h in v.held) for v in else_vs}:
            return dedupe([Variant(v.held, frozenset(f for f in v.facts if not (
                isinstance(f, CondFact) and f.text == text))) for v in then_vs + else_vs])
        return dedupe(then_vs + else_vs)

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
        if name in ("likely", "unlikely") and e.args:
            return self.assume(e.args[0], value, vs)
        if name in self.v.assertions and e.args:
            # `if (WARN_ON(!folio_test_locked(folio)))`: a test inside says the caller holds it
            return self.asserted(e.args[0], value, vs)
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
        prim = self.v.reads.get(name)
        if prim is not None and prim.op == "trylock":
            if not value:
                return self.tried(prim, e, vs)
            lock = self.held_for(prim, e, "trylock")
            self.took.add(lock.cls)
            return [taken(v, lock, instance_of(prim, e)) for v in vs]
        if prim is not None and prim.op == "acquire_killable":
            if value:
                return self.tried(prim, e, vs)  # an error: interrupted, nothing taken
            return [taken(v, self.held_for(prim, e, "lock"), instance_of(prim, e)) for v in vs]
        if prim is not None and prim.op == "test":
            # `spin_is_locked(l)` says somebody holds it; only an assertion says this path does
            if value and self.asserting:
                return [v.with_held(self.held_for(prim, e, "assert")) for v in vs]
            return vs
        if name in self.v.locked_predicates and e.args:
            if value and self.asserting:
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

    def asserted(self, e: ir.Expr, value: bool, vs: list[Variant]) -> list[Variant]:
        """assume(), inside an assertion macro: a lock test there speaks for this path."""
        before = self.asserting
        self.asserting = True
        try:
            return self.assume(e, value, vs)
        finally:
            self.asserting = before

    def tried(self, prim: Primitive, e: ir.Call, vs: list[Variant]) -> list[Variant]:
        """The paths on which a trylock (or a killable lock) failed: remembered, so that an
        unlock there is seen to unlock a lock this path never took."""
        cls = self.lock_class(prim, e)
        idx = prim.lock if isinstance(prim.lock, int) else 0
        obj = text_of(e.args[idx]) if idx < len(e.args) else None
        return dedupe([v if v.holds(cls) else v.fact(TriedFact(cls, obj, e.line)) for v in vs])

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
