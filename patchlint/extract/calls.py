"""Expressions, assignments and calls, as they change the locks a path holds
and what it knows: a lock primitive takes or releases a lock; an assignment
binds a name to what it now holds (a trylock's result, a lock pointer, the
lock a helper returned holding) and makes the facts about its old value
stale; any other call is reported to the sink, and what a walked callee
hands back (its `Outcome`s) is applied to the caller's paths.
"""

from __future__ import annotations

from dataclasses import replace

from patchlint.cparse import ir
from patchlint.extract.conditions import Conditions
from patchlint.extract.exprs import (
    ERR_MAKERS,
    WalkMemo,
    call_key,
    calls_in,
    deref_name,
    is_literal,
    literal_truth,
    owner_var,
    tail_value,
    text_of,
    took_key,
    value_key,
    words,
)
from patchlint.extract.facts import (
    CONTEXT_KINDS,
    CallSite,
    CmpFact,
    CondFact,
    ErrFact,
    GaveFact,
    Held,
    InstFact,
    NonNullFact,
    ReleasedFact,
    TookFact,
    TriedFact,
    TruthFact,
    UnknownFact,
    VarFact,
    Variant,
    assigned,
    base_of,
    dedupe,
    forget,
    released,
    taken,
)
from patchlint.extract.lockclass import LOCK_TYPE, instance_of
from patchlint.extract.sink import OPAQUE, Sink, Site, Unheld
from patchlint.extract.vocab import Primitive


class Bindings(Conditions):
    # set by Walker.__init__
    sink: Sink
    memo: WalkMemo
    entry_held: set[Held]  # the caller's locks, as the walk came in

    def stmt(self, s: ir.Stmt, vs: list[Variant]) -> list[Variant]:  # the walker's: a statement expression's
        raise NotImplementedError

    def site(self, line: int) -> Site:
        return Site(self.body.file, line, self.body.function)

    # -- expressions ------------------------------------------------------------------------------
    def expr(self, e: ir.Expr, vs: list[Variant], in_condition: bool = False) -> list[Variant]:
        """Evaluate e for its events, in evaluation order (arguments before the call)."""
        if self.memo.has_branches(e, self.v.changing, self.v.deciding):
            vs = self._eval(e, vs, in_condition)
        else:
            for call in calls_in(e):
                if not vs:
                    return vs
                vs = self.call(call, vs, in_condition)
        stepped = self.memo.stepped_names(e)
        if stepped:
            # `page++`: a lock on `page` was the last one
            vs = forget(vs, stepped, (InstFact, CmpFact, TruthFact, ErrFact))
        # `start_pte = pte = pte_offset_map_lock(...)`: the innermost target takes the value, and
        # each one outside it is a copy of the one inside
        chain: list[str] = []
        value: ir.Expr = e
        while isinstance(value, ir.Assign) and value.op == "=" and (
                isinstance(value.target, (ir.Name, ir.Field)) or deref_name(value.target)):
            chain.append(value.target.id if isinstance(value.target, ir.Name) else text_of(value.target))
            value = value.value
        if not chain and isinstance(e, ir.Assign) and isinstance(e.target, ir.Name):
            chain, value = [e.target.id], e.value  # `x += ...`: what x held is forgotten
        for n, var in enumerate(reversed(chain)):
            vs = self.bind(var, value if n == 0 else ir.Name(e.line, chain[len(chain) - n]), vs)
        return vs

    def _eval(self, e: ir.Expr, vs: list[Variant], in_condition: bool) -> list[Variant]:
        """An expression with paths of its own, path by path: `c ? a : b` evaluates a where c is
        true and b where it is false, `a && b` evaluates b only where a is true, `({ ... })` runs
        its statements.  What a branching part came to on each path is remembered (a `<val>`
        fact) where its sides left different locks held, so the condition or binding around it
        picks the paths it meant (`if (__cond_lock(l, f(x)))`, `x = spin_trylock(l) ? 1 : 0`)."""
        if not vs:
            return vs
        if isinstance(e, ir.Conditional):
            vs = self._eval(e.test, vs, True)
            then_vs = self._eval(e.then, self.assume(e.test, True, vs), in_condition)
            else_vs = self._eval(e.orelse, self.assume(e.test, False, vs), in_condition)
            return self._tagged(e, [(then_vs, e.then), (else_vs, e.orelse)])
        if isinstance(e, ir.Binary) and e.op in ("&&", "||"):
            vs = self._eval(e.left, vs, True)
            go_on = self._eval(e.right, self.assume(e.left, e.op == "&&", vs), True)
            stop = self.assume(e.left, e.op == "||", vs)
            return self._tagged(e, [(stop, ir.Literal(e.line, "1" if e.op == "||" else "0")), (go_on, e.right)])
        if isinstance(e, ir.StmtExpr):
            return self.stmt(e.body, vs)
        if isinstance(e, ir.Call):
            for part in (e.func, *e.args):
                vs = self._eval(part, vs, in_condition)
            return self.call(e, vs, in_condition) if vs else vs
        for part in _parts(e):
            vs = self._eval(part, vs, in_condition)
        return vs

    def _tagged(self, e: ir.Expr, sides: list[tuple[list[Variant], ir.Expr]]) -> list[Variant]:
        """The paths out of an expression's branches, each remembering what the expression came to
        there (true, false) where that is known and the branches differ in the locks they hold."""
        held = [{tuple(h.cls for h in v.held) for v in vs} for vs, _ in sides if vs]
        if len(held) < 2 or all(h == held[0] for h in held):
            return dedupe([v for vs, _ in sides for v in vs])
        key = value_key(e)
        out = []
        for vs, value in sides:
            for v in vs:
                truth = self.truth_of(value, v)
                out.append(v if truth is None else v.rebind(key, VarFact(key, "", truth)))
        return dedupe(out)

    def truth_of(self, e: ir.Expr, v: Variant) -> bool | None:
        """What `e` came to on the path `v`, where that is known: a constant, a statement
        expression's last value, a branching expression the path remembers, a local it tested."""
        if is_literal(e):
            return literal_truth(e)
        if isinstance(e, ir.Cast):
            return self.truth_of(e.expr, v)
        if isinstance(e, ir.StmtExpr):
            tail = tail_value(e)
            return self.truth_of(tail, v) if tail is not None else None
        if isinstance(e, ir.Unary) and e.op == "!":
            inner = self.truth_of(e.operand, v)
            return None if inner is None else not inner
        key = value_key(e) if isinstance(e, (ir.Conditional, ir.Binary, ir.StmtExpr)) else \
            call_key(e) if isinstance(e, ir.Call) else text_of(e)
        return next((f.value for f in v.facts if isinstance(f, VarFact) and f.name == key), None)

    def splits(self, e: ir.Expr) -> bool:
        """Whether the truth of `e` decides a lock: it holds a trylock, or branches of its own."""
        if self.memo.has_branches(e, self.v.changing, self.v.deciding):
            return True
        return any(self._trylock(c) is not None or (self.v.reads.get(c.name or "") or _NOT).op ==
                   "acquire_killable" for c in calls_in(e))

    def split_on(self, e: ir.Expr, vs: list[Variant], fact) -> list[Variant]:
        """The paths where `e` is true and those where it is false, each with fact(truth) added:
        `locked = spin_trylock(l) || retry(l);`, `return ({ ...; spin_trylock(l); });`."""
        return dedupe([fact(v, truth) for truth in (True, False) for v in self.assume(e, truth, vs)])

    def bind(self, var: str, value: ir.Expr, vs: list[Variant]) -> list[Variant]:
        """Remember what a variable now holds, when it matters for locks or indirect calls."""
        self.values[var] = value
        # what the variable said about locks before no longer holds; a copy of a pointer whose
        # lock is held says the same as the original (`locked = lruvec;`)
        copied = value.id if isinstance(value, ir.Name) else None
        out = []
        for v in vs:
            kept = frozenset(f for f in v.facts if not assigned(f, var))
            if copied is not None:
                kept |= {NonNullFact(var, f.cls) for f in v.facts if isinstance(f, NonNullFact) and f.name == copied}
            out.append(v if kept == v.facts else Variant(v.held, kept))
        vs = out
        if var in self.returned and isinstance(value, ir.Call) and value.name in ERR_MAKERS:
            # `vma = ERR_PTR(-ENOENT);`
            return [v.fact(ErrFact(var, True)).fact(TruthFact(var, True)) for v in vs]
        if var.startswith("*") and is_literal(value) and literal_truth(value) is not None:
            # `*locked = false;`: what the caller's flag now says
            return [v.rebind(var, VarFact(var, "", bool(literal_truth(value)))) for v in vs]
        if var in self.plain and self.types.get(var, "").split()[-1:] == ["bool"] and is_literal(value) and \
                literal_truth(value) is not None:
            # `folio_locked = false; folio_unlock(folio);` ... `if (folio_locked) folio_unlock(folio);`:
            # a local flag set to a constant says which way its next test goes
            return [v.rebind(var, VarFact(var, "", bool(literal_truth(value)))) for v in vs]
        if "*" in self.types.get(var, "") and (isinstance(value, ir.Name) and value.id == "NULL" or
                                               isinstance(value, ir.Literal) and value.text in ("NULL", "0")):
            # `spinlock_t *pml = NULL;` ... `if (!pml) spin_lock(ptl);` ... `if (!pml) spin_unlock(ptl);`:
            # each test of the pointer takes the same branch until it is assigned again
            return [v.rebind(var, VarFact(var, "", False)) for v in vs]
        if isinstance(value, ir.Call) and value.name not in self.v.reads:
            vs = self._bind_result(var, value, vs)
        if isinstance(value, ir.Call):
            bound = self._bind_primitive(var, value, vs)
            if bound is not None:
                return bound
        if var in self.plain and not isinstance(value, ir.Call) and self.splits(value):
            # `locked = a && spin_trylock(l);`: the local is true where the expression was
            cls = next((self.lock_class(p, c) for c in calls_in(value) for p in [self._trylock(c)] if p), "")
            return self.split_on(value, vs, lambda v, truth: v.rebind(var, VarFact(var, cls if truth else "", truth)))
        if isinstance(value, ir.Unary) and value.op == "&" and isinstance(value.operand, (ir.Field, ir.Name)):
            cls = self._class_of(value.operand)
            if cls:
                self.lock_vars[var] = cls
        return vs

    def _bind_result(self, var: str, value: ir.Call, vs: list[Variant]) -> list[Variant]:
        """`var = helper(...)`, a callee that returned holding a lock: what it returned says
        whether it did."""
        ret, took = call_key(value), took_key(value)
        out = []
        for v in vs:
            truths = [f.value for f in v.facts if isinstance(f, VarFact) and f.name == ret]
            locks = next((f.classes for f in v.facts if isinstance(f, TookFact) and f.key == took), ())
            if truths:
                # `locked = compact_lock_irqsave(...)`: what it returned, and the lock it took then
                v = v.rebind(var, VarFact(var, locks[0] if locks and truths[0] else "", truths[0]))
            elif locks:
                v = v.rebind(var, NonNullFact(var, locks[0]))
                if LOCK_TYPE.search(self.types.get(var, "")):
                    # `ptl = pmd_lock(mm, pmd)`: the helper returned the lock it took
                    self.lock_vars[var] = locks[0]
            out.append(v)
        return out

    def _bind_primitive(self, var: str, value: ir.Call, vs: list[Variant]) -> list[Variant] | None:
        """`var = primitive(...)`: the lock pointer it returns, or the result that says whether it
        took its lock.  None where the binding says nothing more."""
        name = value.name or ""
        if name in self.v.lock_pointers:
            self.lock_vars[var] = self.v.lock_pointers[name]
        prim = self.v.reads.get(name)
        if prim is not None and prim.op in ("acquire", "acquire_nonnull") and \
                LOCK_TYPE.search(self.types.get(var, "")):
            self.lock_vars[var] = self.lock_class(prim, value)  # `ptl = pmd_lock(mm, pmd)`
        if prim is not None and prim.op == "acquire_nonnull":
            return [v.rebind(var, NonNullFact(var, self.lock_class(prim, value))) for v in vs]
        if prim is not None and prim.op == "acquire_killable":
            # `err = mmap_read_lock_killable(mm)`: held (by call()) where err is 0
            cls = self.lock_class(prim, value)
            return dedupe([x for v in vs for x in (
                v.rebind(var, VarFact(var, cls, False)),
                v.without(cls).fact(TriedFact(cls, lock_object(prim, value), value.line)).rebind(
                    var, VarFact(var, cls, True)))])
        if prim is not None and prim.op == "trylock":
            cls = self.lock_class(prim, value)
            got = self.held_for(prim, value, "trylock")
            self.took.add(got.cls)
            out = []
            for v in vs:
                out.append(taken(v, got, instance_of(prim, value)).rebind(var, VarFact(var, cls, True)))
                out.extend(w.rebind(var, VarFact(var, cls, False)) for w in self.tried(prim, value, [v]))
            return dedupe(out)
        return None

    # -- calls -----------------------------------------------------------------------------------
    def call(self, c: ir.Call, vs: list[Variant], in_condition: bool) -> list[Variant]:
        name = c.name or ""
        site = self.site(c.line)
        prim = self.v.reads.get(name)
        written = {a.operand.id for a in c.args
                   if isinstance(a, ir.Unary) and a.op == "&" and isinstance(a.operand, ir.Name)}
        if written:
            # whatever the call is (a primitive storing a lock pointer, a sleeping copy_from_user()),
            # what the path knew of the value of a variable it was given by address is gone
            vs = forget(vs, written, (CmpFact, TruthFact, ErrFact))
        if written and prim is not None:
            vs = forget(vs, written, (VarFact,))  # `spin_lock(&lock)` does not store a value in lock
        if prim is not None:
            return self._primitive(c, prim, site, vs, in_condition)
        if name in self.v.lock_out_pointers:
            idx, cls = self.v.lock_out_pointers[name]
            out = c.args[idx] if idx < len(c.args) else None
            if isinstance(out, ir.Unary) and out.op == "&" and isinstance(out.operand, ir.Name):
                self.lock_vars[out.operand.id] = cls  # `pte_offset_map_nolock(.., &ptl)`: ptl is a PTL
        if name in self.v.lock_handles and len(c.args) > self.v.lock_handles[name] and \
                isinstance(c.args[0], ir.Name):
            self.lock_vars[c.args[0].id] = self._arg_class(c.args[self.v.lock_handles[name]])
            return vs
        if name in self.v.assertions and c.args:
            # execution goes on where the condition is false (after a BUG_ON only there), and a
            # lock test inside says this path holds the lock
            kept = self.asserted(c.args[0], False, vs)
            return kept if kept or name in self.v.stopping else vs
        if name in self.v.sleeping:
            self.sink.sleep(site, name, vs)
            return vs
        if name in self.v.allocators and any(w in self.v.sleeping_gfp for a in c.args for w in words(a)):
            self.sink.sleep(site, f"{name}({', '.join(text_of(a) for a in c.args)})", vs)
            return vs
        if name in self.v.dirtying:
            self.sink.dirty(site, c, vs)
        target = self.callee(c)
        effects = self.sink.call(site, c, target, vs, tuple(self._lock_arg(a) for a in c.args))
        if effects is OPAQUE:
            vs = self._opaque(c, vs)
            effects = None
        if vs and any(isinstance(f, CondFact) and f.deep for v in vs for f in v.facts):
            # `if (x->need) ...; helper(x); if (x->need) ...`: the helper may have changed it
            vs = forget(vs, {w for a in c.args for w in words(a)}, (CondFact,))
        if written:
            # `struct folio *folio = NULL; shmem_get_folio(..., &folio); if (folio) ...`: the call
            # may have stored through the pointer (the callee saw what it said, as `*param`), so
            # what the variable said before is forgotten
            vs = forget(vs, written, (VarFact, NonNullFact, InstFact))
        passed_on = {"*" + a.id for a in c.args if isinstance(a, ir.Name)}
        if passed_on:
            vs = forget(vs, passed_on, (VarFact, NonNullFact))  # `forget(locked)` may store `*locked`
        if not isinstance(target, ir.Name):
            # code the walk cannot see was handed the object (->writepage() unlocks its page):
            # whether its lock is still the one this path took is no longer known
            vs = forget(vs, {w for a in c.args for w in words(a)}, (InstFact,))
        if not effects:
            return vs
        out = []
        for v in vs:
            key = tuple(h.cls for h in v.held)
            mine = [e for e in effects if e.entry is None or e.entry == key]
            if not mine:
                out.append(v)  # no return of the callee belongs to this path's locks
            # what this call returned the last time round a loop says nothing about this time
            keys = (call_key(c), took_key(c))
            fresh = frozenset(f for f in v.facts if not (
                isinstance(f, VarFact) and f.name in keys or isinstance(f, TookFact) and f.key in keys))
            v = v if fresh == v.facts else Variant(v.held, fresh)
            for outcome in mine:
                w = v
                for actual in dict.fromkeys(self._actual(cls, c) for cls in outcome.released):
                    # a release an annotation says is remembered as one (sparse counts it); what a
                    # walk of an unannotated callee released is less sure (one class for many
                    # locks, a summary's guess), so a later unlock is not called a second one
                    certain = outcome.said
                    if not w.holds(actual) and outcome.said:
                        # released by a helper whose annotation says so (`__releases(x)`), where
                        # this path does not hold it
                        self._unheld(site, Held(actual, "annotated", "release", site.file, c.line, site.function,
                                                False), w, None)
                    w = self._release(w, actual, None, c.line if certain else None, kind="annotated")
                for h in outcome.added:
                    # handed over so this function can follow: on every return, or told by the result
                    via = CallSite(site.file, c.line, site.function,
                                   outcome.told or all(any(x.cls == h.cls for x in o.added) for o in mine))
                    w = w.with_held(replace(h, cls=self._actual(h.cls, c), via=via))
                    if h.cls.startswith("@param") and int(h.cls[6:]) < len(c.args):
                        w = self._owned(w, owner_var(c.args[int(h.cls[6:])]), self._actual(h.cls, c))
                    for out_var in self._out_pointers(c, self._actual(h.cls, c)):
                        # `relock(folio, &lruvec, &flags)` took lruvec's lock and stored lruvec
                        w = self._owned(w, out_var, self._actual(h.cls, c))
                if outcome.added:
                    # remembered per path, so `x = lock_helper(...); ... if (x) unlock(...)` can tell
                    # the paths where the helper took its lock from those where it did not
                    w = w.rebind(took_key(c), TookFact(took_key(c),
                                                       tuple(self._actual(h.cls, c) for h in outcome.added)))
                if outcome.truth is not None:
                    # what the call returned on this path: a condition on the call picks its paths
                    w = w.rebind(call_key(c), VarFact(call_key(c), "", outcome.truth))
                if outcome.unknown:
                    # the callee handed these locks to code nobody can read
                    w = w.fact(UnknownFact(name or text_of(c.func), site.file, c.line,
                                           tuple(self._actual(cls, c) for cls in outcome.unknown)))
                out.append(w)
        return dedupe(out)

    def _opaque(self, c: ir.Call, vs: list[Variant]) -> list[Variant]:
        """A call the walk cannot see into (no definition, a pointer nothing resolves), handed
        something: what it does to the locks held now is not known on these paths (pageout()
        unlocks the page it is given).  A call handed nothing, or a tracepoint, changes nothing."""
        name = c.name or ""
        if not c.args or all(is_literal(a) for a in c.args) or name.startswith(self.v.lock_free_prefixes):
            return vs
        out = []
        for v in vs:
            covered = {cls for f in v.facts if isinstance(f, UnknownFact) for cls in f.classes}
            classes = tuple(dict.fromkeys(h.cls for h in v.held if h.kind not in CONTEXT_KINDS and
                                          h.cls not in covered))
            out.append(v.fact(UnknownFact(text_of(c.func), self.body.file, c.line, classes)) if classes else v)
        return dedupe(out)

    def _stable(self, obj: str | None) -> bool:
        """Whether the object an expression names is one object for the whole walk: its root is a
        global, or a local whose every change the walk sees."""
        root = base_of(obj or "")
        return not root or root in self.plain or root not in self.types

    def _unheld(self, site: Site, lock: Held, v: Variant, obj: str | None) -> None:
        """`v` releases `lock` without holding it: a double unlock (released before on this path,
        on the same object), the unlock of a failed trylock, or of a lock never taken."""
        if lock.kind in CONTEXT_KINDS:
            return  # (rcu_read_unlock() nests and pairs by count; a context is no lock to unlock twice)
        # the same object only where its name still names it: a release on `folio` after a loop
        # round that assigned folio in its condition is of the next folio
        before = next((f for f in v.facts if isinstance(f, ReleasedFact) and f.cls == lock.cls and
                       (f.obj == obj and self._stable(obj) or f.obj is None or obj is None)), None)
        tried = next((f for f in v.facts if isinstance(f, TriedFact) and f.cls == lock.cls and
                      (f.obj == obj or f.obj is None or obj is None)), None)
        if before is not None:
            self.sink.unheld(site, lock, v, Unheld("double", before.line))
        elif tried is not None:
            self.sink.unheld(site, lock, v, Unheld("failed", tried.line))
        else:
            self.sink.unheld(site, lock, v, Unheld("never", None))

    def _primitive(self, c: ir.Call, prim: Primitive, site: Site, vs: list[Variant],
                   in_condition: bool) -> list[Variant]:
        """A call of a lock primitive: what it takes, releases or asserts."""
        if prim.op == "acquire_killable":
            # it waits for the lock whatever it returns: the order and the sleep are there
            lock = self.held_for(prim, c, "lock")
            self.took.add(lock.cls)
            self.sink.acquire(site, lock, vs)
            if prim.sleeps:
                self.sink.sleep(site, c.name or "", vs)
            # held where it returned 0: decided by the condition or the binding around it
            if in_condition:
                return vs
            self._recursive(site, lock, None if nested(prim, c) else instance_of(prim, c), vs)
            return dedupe([taken(v, lock, instance_of(prim, c)) for v in vs])
        if prim.op in ("acquire", "acquire_nonnull"):
            lock = self.held_for(prim, c, "lock")
            for arg in c.args:
                if isinstance(arg, ir.Unary) and arg.op == "&" and isinstance(arg.operand, ir.Name) and \
                        LOCK_TYPE.search(self.types.get(arg.operand.id, "")):
                    self.lock_vars[arg.operand.id] = lock.cls  # `pte_offset_map_lock(mm, pmd, a, &ptl)`
            self.took.add(lock.cls)
            self.sink.acquire(site, lock, vs)
            if prim.sleeps:
                self.sink.sleep(site, c.name or "", vs)
            owner = owner_var(c.args[prim.lock]) if isinstance(prim.lock, int) and prim.lock < len(c.args) \
                else None
            instance = instance_of(prim, c) if prim.op == "acquire" else None
            # (a lockdep subclass says the nesting is meant: lockdep accepts it, so do we)
            self._recursive(site, lock, None if nested(prim, c) else instance, vs)
            return dedupe([self._owned(taken(v, lock, instance), owner, lock.cls) for v in vs])
        if prim.op == "release":
            lock = self.held_for(prim, c, "release")
            self.sink.release(site, lock, vs)
            obj = lock_object(prim, c)
            for v in vs:
                if not v.holds(lock.cls):
                    self._unheld(site, lock, v, obj)
            return dedupe([self._release(v, lock.cls, instance_of(prim, c), c.line, obj, lock.kind) for v in vs])
        if prim.op == "assert":
            lock = self.held_for(prim, c, "assert")
            return dedupe([v.with_held(lock) for v in vs])
        return vs  # trylock: decided by the condition (or the binding) around it; a test takes nothing

    def _release(self, v: Variant, cls: str, instance: str | None, line: int | None = None,
                 obj: str | None = None, kind: str = "") -> Variant:
        """`v` without its last lock of class `cls`.  Where that lock was taken above this
        function, the release gives the caller's lock back (`cond_resched_rcu()` unlocks the
        caller's RCU read section before it locks its own): remembered, so that the function's
        own later acquisition of the class is not mistaken for the caller's lock kept.  With a
        `line`, the release is remembered (ReleasedFact), also where the path did not hold the
        lock: then it was its caller's, now released."""
        last = next((h for h in reversed(v.held) if h.cls == cls), None)
        if last is None:
            if line is None or kind in CONTEXT_KINDS:
                return v
            stale = frozenset(f for f in v.facts if isinstance(f, ReleasedFact) and f.cls == cls)
            return Variant(v.held, v.facts - stale | {ReleasedFact(cls, obj, line)})
        w = released(v, cls, instance, line if last is not None and last.kind not in CONTEXT_KINDS else None, obj)
        if last is not None and last in self.entry_held and GaveFact(cls) not in w.facts:
            w = w.fact(GaveFact(cls))
        return w

    def _recursive(self, site: Site, lock: Held, instance: str | None, vs: list[Variant]) -> None:
        """Taking (or spinning for) a lock this path already holds on the same object: lockdep's
        "possible recursive locking", a task waiting for itself."""
        if instance is None:
            return
        for v in vs:
            first = v.holder(lock.cls, instance)
            if first is not None:
                self.sink.recursive(site, lock, first, instance, v)

    def _owned(self, v: Variant, owner: str | None, cls: str) -> Variant:
        """`spin_lock(&n->list_lock)`: on this path n is not NULL, so where a later test finds
        n NULL, the lock was not taken (`if (!n) return;`, `if (locked) unlock(locked)`)."""
        if owner is None or owner not in self.types and owner not in self.values:
            return v
        return v.fact(NonNullFact(owner, cls))


_NOT = Primitive("", "", 0, "", False, False)


def _parts(e: ir.Expr) -> tuple[ir.Expr, ...]:
    """The operands of an expression, in evaluation order (exprs._children, with an assignment's
    value first)."""
    if isinstance(e, ir.Field):
        return (e.obj,)
    if isinstance(e, ir.Unary):
        return (e.operand,)
    if isinstance(e, ir.Binary):
        return (e.left, e.right)
    if isinstance(e, ir.Assign):
        return (e.value, e.target)
    if isinstance(e, ir.Cast):
        return (e.expr,)
    if isinstance(e, ir.Index):
        return (e.obj, e.index)
    if isinstance(e, ir.Comma):
        return e.exprs
    if isinstance(e, ir.InitList):
        return tuple(v for _, v in e.items)
    return ()


def lock_object(prim: Primitive, c: ir.Call) -> str | None:
    """The text of what a release names (`&n->list_lock`, `ptl`, a page's `folio`): two releases
    of one class are one lock released twice only where they name the same object."""
    idx = prim.lock if isinstance(prim.lock, int) else 0
    return text_of(c.args[idx]) if idx < len(c.args) else None


def nested(prim: Primitive, c: ir.Call) -> bool:
    """An acquisition lockdep was told nests (`spin_lock_nested(l, SINGLE_DEPTH_NESTING)`,
    `down_write_nested(s, 1)`): a subclass argument that is not the constant 0."""
    if prim.subclass is None or prim.subclass >= len(c.args):
        return False
    arg = c.args[prim.subclass]
    return not (is_literal(arg) and literal_truth(arg) is False)
