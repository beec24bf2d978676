"""Walk one function body (the IR) and report the events that matter, with
the locks that may be held at each: acquisitions, releases, trylocks and
their success branches, spin loops, calls, sleeping calls, page dirtying,
returns.

State is a small set of *variants* (extract.facts: path-sensitive where a
trylock result, a constant parameter or a page predicate decides a branch);
each variant is the ordered tuple of locks held plus the facts that decided
it.  Nothing here knows what any function means beyond the lock vocabulary
table.  This module owns the statements and the control flow (blocks,
branches, loops, switch, goto, return); what a condition says is
extract.conditions', what an expression or a call does is extract.calls',
which lock an expression names is extract.lockclass'.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from patchlint.cparse import ir
from patchlint.extract.exprs import ERR_MAKERS, WalkMemo, is_literal, literal_truth
from patchlint.extract.facts import Held, ReturnsErrFact, ReturnsFact, VarFact, Variant, dedupe, returning
from patchlint.extract.guards import Guard, GuardCall, Scopes
from patchlint.extract.lockclass import LockNames, instance_of
from patchlint.extract.sink import Sink
from patchlint.extract.vocab import Vocabulary


@dataclass
class _Flow:
    depth: int  # how many block scopes were open where the loop (or switch) began
    breaks: list[Variant] = field(default_factory=list)
    continues: list[Variant] = field(default_factory=list)


class Walker(Scopes):
    def __init__(self, vocab: Vocabulary, body: ir.Body, params: list[tuple[str, str | None]], sink: Sink,
                 consts: dict[str, object] | None = None, global_types: Callable[[str], str | None] | None = None,
                 param_classes: dict[int, str] | None = None, returns_pointer: bool = False,
                 memo: WalkMemo | None = None):
        LockNames.__init__(self, vocab, body, params, global_types, param_classes)
        # what is worked out once per body: shared by an engine's walks where it hands its memo on
        self.memo = memo if memo is not None else WalkMemo()
        # A function returning a pointer (or bool) tells its caller what it did by what it returns:
        # `return ci;` non-NULL with ci->lock held, NULL without, or an ERR_PTR().  For the names it
        # returns, what the path tested or assigned is remembered (and only for those: every fact
        # keeps paths apart that would otherwise merge).
        # Path facts about a local's value (what it was tested, compared or set to) are kept only
        # for the locals whose every change the walk sees (exprs.plain_locals)
        self.plain, returned = self.memo.plain_and_returned(vocab, body.block, frozenset(n for _, n in params if n))
        self.returned = returned & self.plain if returns_pointer else frozenset()
        self.returns_flag = returns_pointer
        self.sink = sink
        self.consts = dict(consts or {})
        self.labels: dict[str, list[Variant]] = {}
        self.loops: list[_Flow] = []
        self.returns: list[Variant] = []
        self.return_lines: list[int | None] = []  # the `return` each of `returns` left by; None: the end
        # classes this function takes itself (lock, trylock, spin, killable): where it also
        # releases one on a path the walk could not pair with its own acquisition, that is its
        # own lock, not its caller's
        self.took: set[str] = set()
        self.entry_held: set[Held] = set()  # the caller's locks, as the walk came in
        self.asserting = False
        self.scopes: list[list[Guard]] = []
        self.block_ids: list[int] = []
        self.label_blocks: dict[str, tuple[int, ...]] | None = None

    # -- entry -----------------------------------------------------------------------------------
    def run(self, entry: list[Variant]) -> list[Variant]:
        self.entry_held = {h for v in entry for h in v.held}
        out = self.stmt(self.body.block, entry)
        end_line = self.body.block.line
        if out:
            self.returns.extend(out)
            self.return_lines.extend([None] * len(out))
            self.sink.returned(self.site(end_line), out)
        return out

    # -- statements ------------------------------------------------------------------------------
    def stmt(self, s: ir.Stmt, vs: list[Variant]) -> list[Variant]:
        if not vs:
            if isinstance(s, ir.Label):
                return dedupe(self.labels.pop(s.name, []))
            if isinstance(s, ir.Block):
                return self.block(s, vs)
            return []
        if isinstance(s, ir.Block):
            return self.block(s, vs)
        if isinstance(s, ir.ExprStmt):
            guard = self.guard_statement(s.expr)
            if guard is not None:
                return self.take_guard(guard, s.line, vs)
            return self.expr(s.expr, vs)
        if isinstance(s, ir.Decl):
            if s.type:
                self.types[s.name] = s.type
            if s.init is None:
                return vs
            vs = self.expr(s.init, vs)
            return self.bind(s.name, s.init, vs)
        if isinstance(s, ir.If):
            vs = self.expr(s.cond, vs, in_condition=True)
            then_in, else_in, tag = self.cond_facts(s.cond, self.assume(s.cond, True, vs),
                                                    self.assume(s.cond, False, vs))
            then_vs = self.stmt(s.then, then_in)
            else_vs = self.stmt(s.orelse, else_in) if s.orelse is not None else else_in
            return self.cond_join(tag, then_vs, else_vs)
        if isinstance(s, ir.Loop):
            return self.loop(s, vs)
        if isinstance(s, ir.Switch):
            vs = self.expr(s.expr, vs)
            flow = _Flow(len(self.scopes))
            self.loops.append(flow)
            out = self.switch_body(s.body, vs)
            self.loops.pop()
            return dedupe(out + flow.breaks)
        if isinstance(s, ir.Return):
            if s.value is not None:
                vs = self._returned(s.value, self.expr(s.value, vs))
            vs = self.leave_scopes(0, vs, s.line)  # the return value is computed, then the guards go
            self.returns.extend(vs)
            self.return_lines.extend([s.line] * len(vs))
            self.sink.returned(self.site(s.line), vs)
            return []
        if isinstance(s, ir.Goto):
            if any(self.scopes):
                vs = self.leave_scopes(self.goto_depth(s.label, self.body.block), vs, s.line)
            self.labels.setdefault(s.label, []).extend(vs)
            return []
        if isinstance(s, ir.Label):
            return dedupe(vs + self.labels.pop(s.name, []))
        if isinstance(s, ir.Break):
            if self.loops:
                self.loops[-1].breaks.extend(self.leave_scopes(self.loops[-1].depth, vs, s.line))
            return []
        if isinstance(s, ir.Continue):
            for flow in reversed(self.loops):
                if flow is not None:
                    flow.continues.extend(self.leave_scopes(flow.depth, vs, s.line))
                    break
            return []
        return vs  # Case, OpaqueStmt: no effect we can model

    def _returned(self, value: ir.Expr, vs: list[Variant]) -> list[Variant]:
        """The paths of `return value;`, each knowing what it returned where that is known: a
        constant, an ERR_PTR(), a name the path tested, or -- split path by path -- an expression
        holding a trylock (`return spin_trylock(l);`, `return ({ ...; 1; })`)."""
        truth = literal_truth(value) if is_literal(value) else None
        if truth is not None:
            return [v.fact(ReturnsFact(truth)) for v in vs]
        if self.returned and isinstance(value, ir.Call) and value.name in ERR_MAKERS:
            return [v.fact(ReturnsErrFact()) for v in vs]
        if isinstance(value, ir.Name) and value.id in self.returned:
            return [returning(v, value.id) for v in vs]
        if isinstance(value, ir.Name) and value.id in self.plain:
            # `ret = spin_trylock(l); ... return ret;`: what the path knows the local holds, where
            # that says whether a lock was taken (not any constant a callee returned into it)
            return [v if t is None else v.fact(ReturnsFact(t)) for v in vs for t in [next(
                (f.value for f in v.facts if isinstance(f, VarFact) and f.name == value.id and f.cls), None)]]
        if self.splits(value) or self.returned_flag(value):
            return self.split_on(value, vs, lambda v, t: v.fact(ReturnsFact(t)))
        return vs

    def returned_flag(self, value: ir.Expr) -> bool:
        """A function returning a pointer or bool, that returns a condition on what the path knows
        (`return !!pvmw->pte;` where pte_offset_map_lock() took the lock only if it is not NULL):
        its truth on each path is what its caller tests."""
        if not self.returns_flag or isinstance(value, ir.Name):
            return False
        # (a condition: `!!x`, `!x`, `x != NULL`; not any pointer or field it may return)
        condition = isinstance(value, ir.Unary) and value.op == "!" or \
            isinstance(value, ir.Binary) and value.op in ("==", "!=", "&&", "||")
        return condition and self.pure_condition(value) is not None

    def block(self, b: ir.Block, vs: list[Variant]) -> list[Variant]:
        self.scopes.append([])
        self.block_ids.append(id(b))
        try:
            for s in b.body:
                vs = self.stmt(s, vs)
            return self.leave_scopes(len(self.scopes) - 1, vs, _end_line(b))
        finally:
            self.scopes.pop()
            self.block_ids.pop()

    def switch_body(self, body: ir.Stmt, entry: list[Variant]) -> list[Variant]:
        vs: list[Variant] = []
        stmts = body.body if isinstance(body, ir.Block) else (body,)
        for s in stmts:
            if isinstance(s, ir.Case):
                vs = dedupe(vs + entry)  # each case is entered from the switch
                continue
            vs = self.stmt(s, vs)
        return vs + ([] if any(isinstance(s, ir.Case) and s.value is None for s in stmts) else entry)

    def loop(self, s: ir.Loop, vs: list[Variant]) -> list[Variant]:
        guard = self.guard_block(s)
        if guard is not None:
            return self._scoped(s, guard, vs)
        spun = self.spin_lock_of(s)
        if spun is not None:
            call, prim = spun
            lock = self.held_for(prim, call, "spin")
            self.took.add(lock.cls)
            self.sink.spin(self.site(call.line), lock, vs, s.line)
            self._recursive(self.site(call.line), lock, instance_of(prim, call), vs)
        if s.init is not None:
            vs = self.stmt(s.init, vs)
        exits: list[Variant] = []
        current = vs
        seen: set[Variant] = set()
        for _ in range(2):  # twice: what the body changes reaches the head once more
            flow = _Flow(len(self.scopes))
            if s.kind == "do":
                self.loops.append(flow)
                after = self.stmt(s.body, current)
                self.loops.pop()
                after = dedupe(after + flow.continues)
                if s.cond is not None:
                    after = self.expr(s.cond, after, in_condition=True)
                    exits += self._loop_cond(s, False, after)
                    nxt = self._loop_cond(s, True, after)
                else:
                    nxt = after
            else:
                if s.cond is not None:
                    current = self.expr(s.cond, current, in_condition=True)
                    exits += self._loop_cond(s, False, current)
                    into = self._loop_cond(s, True, current)
                else:
                    into = current
                self.loops.append(flow)
                after = self.stmt(s.body, into)
                self.loops.pop()
                after = dedupe(after + flow.continues)
                if s.update is not None:
                    after = self.expr(s.update, after)
                nxt = after
            exits += flow.breaks
            # round the loop again, a lock taken on `folio` was taken on last time's folio: which
            # object a name points to is not carried over the back edge
            nxt = [x.instances_cleared() for x in nxt]
            new = [x for x in nxt if x not in seen]
            seen.update(nxt)
            if not new:
                break
            current = new
        return dedupe(exits)

    def _scoped(self, s: ir.Loop, guard: GuardCall, vs: list[Variant]) -> list[Variant]:
        """`scoped_guard(class, args) { body }`: the lock for the braces.  The kernel writes it as
        a for loop run once, so a break or continue in the body leaves it, guard released."""
        flow = _Flow(len(self.scopes))
        self.scopes.append([])
        self.block_ids.append(id(s))
        try:
            vs = self.take_guard(guard, s.line, vs)
            self.loops.append(flow)
            out = self.stmt(s.body, vs)
            self.loops.pop()
            out = self.leave_scopes(len(self.scopes) - 1, out, _end_line(s.body))
        finally:
            self.scopes.pop()
            self.block_ids.pop()
        return dedupe(out + flow.breaks + flow.continues)


def _end_line(s: ir.Stmt) -> int:
    """The last line a statement is known to reach (the IR keeps where statements start)."""
    while isinstance(s, ir.Block) and s.body:
        s = s.body[-1]
    return s.line
