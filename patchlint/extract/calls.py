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
    text_of,
    took_key,
    words,
)
from patchlint.extract.facts import (
    CmpFact,
    ErrFact,
    GaveFact,
    Held,
    InstFact,
    NonNullFact,
    TookFact,
    TruthFact,
    VarFact,
    Variant,
    assigned,
    dedupe,
    forget,
    released,
    taken,
)
from patchlint.extract.lockclass import LOCK_TYPE, instance_of
from patchlint.extract.sink import Sink, Site
from patchlint.extract.vocab import Primitive


class Bindings(Conditions):
    # set by Walker.__init__
    sink: Sink
    memo: WalkMemo
    entry_held: set[Held]  # the caller's locks, as the walk came in

    def site(self, line: int) -> Site:
        return Site(self.body.file, line, self.body.function)

    # -- expressions ------------------------------------------------------------------------------
    def expr(self, e: ir.Expr, vs: list[Variant], in_condition: bool = False) -> list[Variant]:
        """Evaluate e for its events, in evaluation order (arguments before the call)."""
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
        if "*" in self.types.get(var, "") and (isinstance(value, ir.Name) and value.id == "NULL" or
                                               isinstance(value, ir.Literal) and value.text in ("NULL", "0")):
            # `spinlock_t *pml = NULL;` ... `if (!pml) spin_lock(ptl);` ... `if (!pml) spin_unlock(ptl);`:
            # each test of the pointer takes the same branch until it is assigned again
            return [v.rebind(var, VarFact(var, "", False)) for v in vs]
        if isinstance(value, ir.Call) and value.name not in self.v.primitives:
            vs = self._bind_result(var, value, vs)
        if isinstance(value, ir.Call):
            bound = self._bind_primitive(var, value, vs)
            if bound is not None:
                return bound
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
        prim = self.v.primitives.get(name)
        if prim is not None and prim.op in ("acquire", "acquire_nonnull") and \
                LOCK_TYPE.search(self.types.get(var, "")):
            self.lock_vars[var] = self.lock_class(prim, value)  # `ptl = pmd_lock(mm, pmd)`
        if prim is not None and prim.op == "acquire_nonnull":
            return [v.rebind(var, NonNullFact(var, self.lock_class(prim, value))) for v in vs]
        if prim is not None and prim.op == "acquire_killable":
            # `err = mmap_read_lock_killable(mm)`: held (by call()) where err is 0
            cls = self.lock_class(prim, value)
            return dedupe([x for v in vs for x in (v.rebind(var, VarFact(var, cls, False)),
                                                    v.without(cls).rebind(var, VarFact(var, cls, True)))])
        if prim is not None and prim.op == "trylock":
            cls = self.lock_class(prim, value)
            got = self.held_for(prim, value, "trylock")
            self.took.add(got.cls)
            out = []
            for v in vs:
                out.append(taken(v, got, instance_of(prim, value)).rebind(var, VarFact(var, cls, True)))
                out.append(v.rebind(var, VarFact(var, cls, False)))
            return dedupe(out)
        return None

    # -- calls -----------------------------------------------------------------------------------
    def call(self, c: ir.Call, vs: list[Variant], in_condition: bool) -> list[Variant]:
        name = c.name or ""
        site = self.site(c.line)
        prim = self.v.primitives.get(name)
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
        if name in ("BUG_ON", "VM_BUG_ON", "VM_BUG_ON_PAGE", "VM_BUG_ON_FOLIO", "BUILD_BUG_ON") and c.args:
            return self.assume(c.args[0], False, vs)  # execution goes on only where the condition is false
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
                for cls in outcome.released:
                    w = self._release(w, self._actual(cls, c), None)
                for h in outcome.added:
                    w = w.with_held(replace(h, cls=self._actual(h.cls, c)))
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
                out.append(w)
        return dedupe(out)

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
            self._recursive(site, lock, instance_of(prim, c), vs)
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
            self._recursive(site, lock, instance, vs)
            return dedupe([self._owned(taken(v, lock, instance), owner, lock.cls) for v in vs])
        if prim.op == "release":
            lock = self.held_for(prim, c, "release")
            self.sink.release(site, lock, vs)
            return dedupe([self._release(v, lock.cls, instance_of(prim, c)) for v in vs])
        if prim.op == "assert":
            lock = self.held_for(prim, c, "assert")
            return dedupe([v.with_held(lock) for v in vs])
        return vs  # trylock: decided by the condition (or the binding) around it

    def _release(self, v: Variant, cls: str, instance: str | None) -> Variant:
        """`v` without its last lock of class `cls`.  Where that lock was taken above this
        function, the release gives the caller's lock back (`cond_resched_rcu()` unlocks the
        caller's RCU read section before it locks its own): remembered, so that the function's
        own later acquisition of the class is not mistaken for the caller's lock kept."""
        last = next((h for h in reversed(v.held) if h.cls == cls), None)
        w = released(v, cls, instance)
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
