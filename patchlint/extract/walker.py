"""Walk one function body (the IR) and report the events that matter, with
the locks that may be held at each: acquisitions, releases, trylocks and
their success branches, spin loops, calls, sleeping calls, page dirtying,
returns.

State is a small set of *variants* (path-sensitive where a trylock result,
a constant parameter or a page predicate decides a branch); each variant is
the ordered tuple of locks held plus the facts that decided it.  Nothing
here knows what any function means beyond the lock vocabulary table.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field, replace

from patchlint.cparse import ir
from patchlint.extract.vocab import Primitive, Vocabulary

MAX_VARIANTS = 48
# Contexts rather than locks: they make code atomic but impose no order (an RCU read
# section nests either way round with any lock), so they are never ends of an edge.
CONTEXT_KINDS = frozenset({"rcu", "irq", "preempt"})


@dataclass(frozen=True)
class Held:
    cls: str
    kind: str
    how: str  # "lock", "trylock", "spin", "assert" (a BUG_ON/lockdep fact), "caller"
    file: str
    line: int
    function: str
    atomic: bool

    # Locks and variants are hashed over and over (every merge of paths dedupes them): the hash
    # is kept once made.  It is never pickled, since str hashes differ from process to process.
    def __hash__(self) -> int:
        h = self.__dict__.get("_h")
        if h is None:
            h = hash((self.cls, self.kind, self.how, self.file, self.line, self.function, self.atomic))
            object.__setattr__(self, "_h", h)
        return h

    def __getstate__(self) -> dict:
        return {k: v for k, v in self.__dict__.items() if k != "_h"}


@dataclass(frozen=True)
class Variant:
    held: tuple[Held, ...] = ()
    facts: frozenset = frozenset()  # ("var", name, cls, bool), ("pred", pred, arg, bool), ("nonnull", var, cls)

    def __hash__(self) -> int:
        h = self.__dict__.get("_h")
        if h is None:
            h = hash((self.held, self.facts))
            object.__setattr__(self, "_h", h)
        return h

    def __getstate__(self) -> dict:
        return {k: v for k, v in self.__dict__.items() if k != "_h"}

    def holds(self, cls: str) -> bool:
        return any(h.cls == cls for h in self.held)

    def atomic_reasons(self) -> tuple[Held, ...]:
        return tuple(h for h in self.held if h.atomic)

    def with_held(self, h: Held) -> Variant:
        if self.holds(h.cls) and h.how == "assert":
            return self
        if sum(x.cls == h.cls for x in self.held) >= 2:
            # nesting one class twice is real (two page-table locks, spin_lock_nested); a third
            # is a loop the walk went round with the lock still counted, and multiplies paths
            return self
        return Variant(self.held + (h,), self.facts)

    def without(self, cls: str) -> Variant:
        for i in range(len(self.held) - 1, -1, -1):
            if self.held[i].cls == cls:
                facts = self.facts
                if not self.holds_twice(cls):  # which pointer was non-NULL for it no longer matters
                    facts = frozenset(f for f in facts if not (f[0] == "nonnull" and f[2] == cls))
                return Variant(self.held[:i] + self.held[i + 1:], facts)
        return self

    def holds_twice(self, cls: str) -> bool:
        return sum(h.cls == cls for h in self.held) > 1

    def fact(self, f: tuple) -> Variant:
        return Variant(self.held, self.facts | {f})

    def rebind(self, var: str, f: tuple) -> Variant:
        """`var` was assigned again: forget what it held before."""
        kept = frozenset(x for x in self.facts if not (x[0] in ("var", "nonnull", "inst") and x[1] == var))
        return Variant(self.held, kept | {f})

    def holder(self, cls: str, text: str) -> Held | None:
        """The held lock of class `cls` taken on the object `text` names (`folio`, `&n->list_lock`),
        if this path knows it took it there."""
        sites = {f[4] for f in self.facts if f[0] == "inst" and f[2] == cls and f[3] == text}
        return next((h for h in reversed(self.held) if h.cls == cls and (h.file, h.line) in sites), None)

    def instances_cleared(self) -> Variant:
        facts = frozenset(f for f in self.facts if f[0] != "inst")
        return self if facts == self.facts else Variant(self.held, facts)


@dataclass(frozen=True)
class Site:
    file: str
    line: int
    function: str


class Sink:
    """What a walk reports; the checks engine subclasses it."""

    def acquire(self, site: Site, lock: Held, before: list[Variant]) -> None: ...
    def spin(self, site: Site, lock: Held, before: list[Variant], loop_line: int) -> None: ...
    def call(self, site: Site, call: ir.Call, target: ir.Expr, variants: list[Variant],
             arg_classes: tuple[str | None, ...] = ()):
        """May return the callee's effects on the caller's locks: [(locks it returns holding,
        classes it released, its constant result or None, the caller's lock classes on the path
        it belongs to or None for all)], one per way it can return.  `arg_classes` are the lock classes
        the arguments name, where they name one."""
        return None
    def sleep(self, site: Site, what: str, variants: list[Variant]) -> None: ...
    def dirty(self, site: Site, call: ir.Call, variants: list[Variant]) -> None: ...
    def returned(self, site: Site, variants: list[Variant]) -> None: ...
    def release(self, site: Site, lock: Held, before: list[Variant]) -> None: ...
    def recursive(self, site: Site, lock: Held, first: Held, instance: str, variant: Variant) -> None: ...


@dataclass
class _Flow:
    breaks: list[Variant] = field(default_factory=list)
    continues: list[Variant] = field(default_factory=list)


_STRUCT = re.compile(r"\bstruct\s+(\w+)")
_LOCK_TYPE = re.compile(r"\b(?:raw_)?spinlock_t\s*\*")


class Walker:
    def __init__(self, vocab: Vocabulary, body: ir.Body, params: list[tuple[str, str | None]], sink: Sink,
                 consts: dict[str, object] | None = None, global_types: Callable[[str], str | None] | None = None,
                 param_classes: dict[int, str] | None = None, returns_pointer: bool = False):
        self.v = vocab
        self.body = body
        # A function returning a pointer (or bool) tells its caller what it did by what it returns:
        # `return ci;` non-NULL with ci->lock held, NULL without, or an ERR_PTR().  For the names it
        # returns, what the path tested or assigned is remembered (and only for those: every fact
        # keeps paths apart that would otherwise merge).
        # Path facts about a local's value (what it was tested, compared or set to) are kept only
        # for the locals whose every change the walk sees (_plain_locals)
        self.plain, returned = _plain(vocab, body.block, frozenset(n for _, n in params if n))
        self.returned = returned & self.plain if returns_pointer else frozenset()
        self.sink = sink
        self.consts = dict(consts or {})
        self.global_types = global_types or (lambda name: None)
        self.types: dict[str, str] = {}
        self.lock_vars: dict[str, str] = {}  # local variable -> lock class it points to
        self.values: dict[str, ir.Expr] = {}  # local variable -> the expression last assigned to it
        self.param_index: dict[str, int] = {}
        self.param_classes = dict(param_classes or {})  # parameter index -> the caller's lock it points to
        for i, (ptype, pname) in enumerate(params):
            if pname:
                self.types[pname] = ptype
                self.param_index[pname] = i
        self.labels: dict[str, list[Variant]] = {}
        self.loops: list[_Flow] = []
        self.returns: list[Variant] = []
        self.return_lines: list[int | None] = []  # the `return` each of `returns` left by; None: the end
        # classes this function takes itself (lock, trylock, spin, killable): where it also
        # releases one on a path the walk could not pair with its own acquisition, that is its
        # own lock, not its caller's
        self.took: set[str] = set()
        self.entry_held: set[Held] = set()  # the caller's locks, as the walk came in

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

    def site(self, line: int) -> Site:
        return Site(self.body.file, line, self.body.function)

    # -- statements ------------------------------------------------------------------------------
    def stmt(self, s: ir.Stmt, vs: list[Variant]) -> list[Variant]:
        if not vs:
            if isinstance(s, ir.Label):
                return _dedupe(self.labels.pop(s.name, []))
            if isinstance(s, ir.Block):
                return self.block(s, vs)
            return []
        if isinstance(s, ir.Block):
            return self.block(s, vs)
        if isinstance(s, ir.ExprStmt):
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
            then_vs = self.stmt(s.then, self.assume(s.cond, True, vs))
            else_in = self.assume(s.cond, False, vs)
            else_vs = self.stmt(s.orelse, else_in) if s.orelse is not None else else_in
            return _dedupe(then_vs + else_vs)
        if isinstance(s, ir.Loop):
            return self.loop(s, vs)
        if isinstance(s, ir.Switch):
            vs = self.expr(s.expr, vs)
            flow = _Flow()
            self.loops.append(flow)
            out = self.switch_body(s.body, vs)
            self.loops.pop()
            return _dedupe(out + flow.breaks)
        if isinstance(s, ir.Return):
            if s.value is not None:
                vs = self.expr(s.value, vs)
                truth = _literal_truth(s.value) if _is_literal(s.value) else None
                if truth is not None:
                    vs = [v.fact(("returns", truth)) for v in vs]
                elif self.returned and isinstance(s.value, ir.Call) and s.value.name in _ERR_MAKERS:
                    vs = [v.fact(("returns_err", True)) for v in vs]
                elif isinstance(s.value, ir.Name) and s.value.id in self.returned:
                    vs = [_returning(v, s.value.id) for v in vs]
            self.returns.extend(vs)
            self.return_lines.extend([s.line] * len(vs))
            self.sink.returned(self.site(s.line), vs)
            return []
        if isinstance(s, ir.Goto):
            self.labels.setdefault(s.label, []).extend(vs)
            return []
        if isinstance(s, ir.Label):
            return _dedupe(vs + self.labels.pop(s.name, []))
        if isinstance(s, ir.Break):
            if self.loops:
                self.loops[-1].breaks.extend(vs)
            return []
        if isinstance(s, ir.Continue):
            for flow in reversed(self.loops):
                if flow is not None:
                    flow.continues.extend(vs)
                    break
            return []
        return vs  # Case, OpaqueStmt: no effect we can model

    def block(self, b: ir.Block, vs: list[Variant]) -> list[Variant]:
        for s in b.body:
            vs = self.stmt(s, vs)
        return vs

    def switch_body(self, body: ir.Stmt, entry: list[Variant]) -> list[Variant]:
        vs: list[Variant] = []
        stmts = body.body if isinstance(body, ir.Block) else (body,)
        for s in stmts:
            if isinstance(s, ir.Case):
                vs = _dedupe(vs + entry)  # each case is entered from the switch
                continue
            vs = self.stmt(s, vs)
        return vs + ([] if any(isinstance(s, ir.Case) and s.value is None for s in stmts) else entry)

    def loop(self, s: ir.Loop, vs: list[Variant]) -> list[Variant]:
        spun = self.spin_lock_of(s)
        if spun is not None:
            call, prim = spun
            lock = self.held_for(prim, call, "spin")
            self.took.add(lock.cls)
            self.sink.spin(self.site(call.line), lock, vs, s.line)
            self._recursive(self.site(call.line), lock, _instance(prim, call), vs)
        if s.init is not None:
            vs = self.stmt(s.init, vs)
        exits: list[Variant] = []
        current = vs
        seen: set[Variant] = set()
        for _ in range(2):  # twice: what the body changes reaches the head once more
            flow = _Flow()
            if s.kind == "do":
                self.loops.append(flow)
                after = self.stmt(s.body, current)
                self.loops.pop()
                after = _dedupe(after + flow.continues)
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
                after = _dedupe(after + flow.continues)
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
        return _dedupe(exits)

    # -- spin loops --------------------------------------------------------------------------------
    def spin_lock_of(self, s: ir.Loop) -> tuple[ir.Call, Primitive] | None:
        """A loop that goes round again when a trylock fails: (the trylock call, its primitive)."""
        probe = Variant()
        if s.cond is not None:
            for call in _calls(s.cond):
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
                for call in _calls(st.cond):
                    prim = self._trylock(call)
                    if prim is None:
                        continue
                    cls = self.lock_class(prim, call)
                    # `if (trylock(x)) break;`: the loop is left only once it succeeded
                    for branch, value in ((st.then, True), (st.orelse, False)):
                        if _leaves_loop(branch):
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
            if _is_literal(last):
                return vs
        return self.assume(s.cond, value, vs)  # type: ignore[arg-type]

    def assume(self, e: ir.Expr, value: bool, vs: list[Variant]) -> list[Variant]:
        """The variants in which `e` evaluates to `value` (pruning those where it cannot)."""
        if _is_literal(e):
            # `while (1)` leaves only by break, return or goto; `do { } while (0)` runs once
            truth = _literal_truth(e)
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
            return _dedupe(first + other)
        if isinstance(e, ir.Binary) and e.op in ("==", "!="):
            lit, other = (e.right, e.left) if _is_literal(e.right) else (e.left, e.right)
            if _is_literal(lit):
                truthy = _literal_truth(lit)
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
                    known = next((f[3] for f in v.facts if f[0] == "cmp" and f[1] == a and f[2] == b), None)
                    if known is None:
                        out.append(v.fact(("cmp", a, b, equal)))
                    elif known == equal:
                        out.append(v)
                return out
            return vs
        if isinstance(e, ir.Comma) and e.exprs:
            return self.assume(e.exprs[-1], value, vs)
        if isinstance(e, ir.Assign) and e.op == "=" and isinstance(e.target, ir.Name):
            out = self.assume(e.value, value, vs)
            if isinstance(e.value, ir.Call) and self._trylock(e.value) is not None:
                cls = self.lock_class(self._trylock(e.value), e.value)
                return [v.rebind(e.target.id, ("var", e.target.id, cls, value)) for v in out]
            return out
        if isinstance(e, ir.Name):
            return self._assume_name(e.id, value, vs)
        if isinstance(e, ir.Field):
            return self._assume_name(_text(e), value, vs)
        if isinstance(e, ir.Unary) and e.op == "*" and isinstance(e.operand, ir.Name):
            return self._assume_name(_text(e), value, vs)  # `if (*locked)`: the caller's flag
        if isinstance(e, ir.Call):
            name = e.name or ""
            if name in ("likely", "unlikely", "WARN_ON", "WARN_ON_ONCE", "WARN", "WARN_ONCE") and e.args:
                return self.assume(e.args[0], value, vs)
            if name == "IS_ERR" and len(e.args) == 1 and isinstance(e.args[0], ir.Name) and \
                    e.args[0].id in self.returned:
                err = e.args[0].id
                out = []
                for v in vs:
                    known = next((f[2] for f in v.facts if f[0] == "err" and f[1] == err), None)
                    if known is None:
                        v = v.fact(("err", err, value))
                    elif known != value:
                        continue
                    out.append(v.fact(("truth", err, True)) if value else v)  # an error pointer is not NULL
                return out
            key = _call_key(e)
            if any(f[0] == "var" and f[1] == key for v in vs for f in v.facts):
                return self._assume_name(key, value, vs)
            prim = self.v.primitives.get(name)
            if prim is not None and prim.op == "trylock":
                if not value:
                    return vs
                lock = self.held_for(prim, e, "trylock")
                self.took.add(lock.cls)
                return [self._take(v, lock, _instance(prim, e)) for v in vs]
            if prim is not None and prim.op == "acquire_killable":
                if value:
                    return vs  # an error: interrupted, nothing taken
                return [self._take(v, self.held_for(prim, e, "lock"), _instance(prim, e)) for v in vs]
            if name in self.v.locked_predicates and e.args:
                if value:
                    lock = Held("page_lock", "page_lock", "assert", self.body.file, e.line, self.body.function, False)
                    return [v.with_held(lock) for v in vs]  # asserted, not taken here: never a first acquisition
                return vs
            if (name in self.v.anon_predicates or name in self.v.swapcache_predicates) and e.args:
                arg = _text(e.args[0])
                out = []
                for v in vs:
                    if ("pred", name, arg, not value) in v.facts:
                        continue  # contradicts what this path already knows
                    out.append(v.fact(("pred", name, arg, value)))
                return out
        return vs

    def _assume_name(self, name: str, value: bool, vs: list[Variant]) -> list[Variant]:
        if name in self.consts:
            const = self.consts[name]
            return vs if bool(const) == value else []
        out = []
        for v in vs:
            bound = [f for f in v.facts if f[0] == "var" and f[1] == name]
            if bound and all(f[3] != value for f in bound):
                continue
            if name in self.returned and not bound:
                known = next((f[2] for f in v.facts if f[0] == "truth" and f[1] == name), None)
                if known is not None and known != value:
                    continue
                v = v.fact(("truth", name, value))
            nonnull = [f for f in v.facts if f[0] == "nonnull" and f[1] == name]
            if nonnull and not value:
                for f in nonnull:
                    v = v.without(f[2])
            out.append(v)
        return out

    # -- expressions ------------------------------------------------------------------------------
    def expr(self, e: ir.Expr, vs: list[Variant], in_condition: bool = False) -> list[Variant]:
        """Evaluate e for its events, in evaluation order (arguments before the call)."""
        for call in _calls(e):
            if not vs:
                return vs
            vs = self.call(call, vs, in_condition)
        stepped = _stepped(e)
        if stepped:
            vs = _forget(vs, stepped, ("inst", "cmp", "truth", "err"))  # `page++`: a lock on `page` was the last one
        # `start_pte = pte = pte_offset_map_lock(...)`: the innermost target takes the value, and
        # each one outside it is a copy of the one inside
        chain: list[str] = []
        value: ir.Expr = e
        while isinstance(value, ir.Assign) and value.op == "=" and (
                isinstance(value.target, (ir.Name, ir.Field)) or _deref_name(value.target)):
            chain.append(value.target.id if isinstance(value.target, ir.Name) else _text(value.target))
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
            kept = frozenset(f for f in v.facts if not (f[0] in ("var", "nonnull", "inst", "truth", "err") and
                                                          f[1] == var or
                                                          f[0] in ("var", "nonnull") and f[1] == "*" + var or
                                                          f[0] == "inst" and _names_through(f[3], var) or
                                                          f[0] == "cmp" and var in (f[1], f[2])))
            if copied is not None:
                kept |= {("nonnull", var, f[2]) for f in v.facts if f[0] == "nonnull" and f[1] == copied}
            out.append(v if kept == v.facts else Variant(v.held, kept))
        vs = out
        if var in self.returned and isinstance(value, ir.Call) and value.name in _ERR_MAKERS:
            return [v.fact(("err", var, True)).fact(("truth", var, True)) for v in vs]  # `vma = ERR_PTR(-ENOENT);`
        if var.startswith("*") and _is_literal(value) and _literal_truth(value) is not None:
            # `*locked = false;`: what the caller's flag now says
            return [v.rebind(var, ("var", var, "", _literal_truth(value))) for v in vs]
        if "*" in self.types.get(var, "") and (isinstance(value, ir.Name) and value.id == "NULL" or
                                               isinstance(value, ir.Literal) and value.text in ("NULL", "0")):
            # `spinlock_t *pml = NULL;` ... `if (!pml) spin_lock(ptl);` ... `if (!pml) spin_unlock(ptl);`:
            # each test of the pointer takes the same branch until it is assigned again
            return [v.rebind(var, ("var", var, "", False)) for v in vs]
        if isinstance(value, ir.Call) and value.name not in self.v.primitives:
            # a callee that returned holding a lock: what it returned says whether it did
            ret, took = _call_key(value), _took_key(value)
            out = []
            for v in vs:
                truths = [f[3] for f in v.facts if f[0] == "var" and f[1] == ret]
                locks = next((f[2] for f in v.facts if f[0] == "took" and f[1] == took), ())
                if truths:
                    # `locked = compact_lock_irqsave(...)`: what it returned, and the lock it took then
                    v = v.rebind(var, ("var", var, locks[0] if locks and truths[0] else "", truths[0]))
                elif locks:
                    v = v.rebind(var, ("nonnull", var, locks[0]))
                    if _LOCK_TYPE.search(self.types.get(var, "")):
                        # `ptl = pmd_lock(mm, pmd)`: the helper returned the lock it took
                        self.lock_vars[var] = locks[0]
                out.append(v)
            vs = out
        if isinstance(value, ir.Call):
            name = value.name or ""
            if name in self.v.lock_pointers:
                self.lock_vars[var] = self.v.lock_pointers[name]
            prim = self.v.primitives.get(name)
            if prim is not None and prim.op in ("acquire", "acquire_nonnull") and \
                    _LOCK_TYPE.search(self.types.get(var, "")):
                self.lock_vars[var] = self.lock_class(prim, value)  # `ptl = pmd_lock(mm, pmd)`
            if prim is not None and prim.op == "acquire_nonnull":
                return [v.rebind(var, ("nonnull", var, self.lock_class(prim, value))) for v in vs]
            if prim is not None and prim.op == "acquire_killable":
                # `err = mmap_read_lock_killable(mm)`: held (by call()) where err is 0
                cls = self.lock_class(prim, value)
                return _dedupe([x for v in vs for x in (v.rebind(var, ("var", var, cls, False)),
                                                         v.without(cls).rebind(var, ("var", var, cls, True)))])
            if prim is not None and prim.op == "trylock":
                cls = self.lock_class(prim, value)
                got = self.held_for(prim, value, "trylock")
                self.took.add(got.cls)
                out = []
                for v in vs:
                    out.append(self._take(v, got, _instance(prim, value)).rebind(var, ("var", var, cls, True)))
                    out.append(v.rebind(var, ("var", var, cls, False)))
                return _dedupe(out)
        if isinstance(value, ir.Unary) and value.op == "&" and isinstance(value.operand, (ir.Field, ir.Name)):
            cls = self._class_of(value.operand)
            if cls:
                self.lock_vars[var] = cls
        return vs

    def call(self, c: ir.Call, vs: list[Variant], in_condition: bool) -> list[Variant]:
        name = c.name or ""
        site = self.site(c.line)
        prim = self.v.primitives.get(name)
        written = {a.operand.id for a in c.args
                   if isinstance(a, ir.Unary) and a.op == "&" and isinstance(a.operand, ir.Name)}
        if written:
            # whatever the call is (a primitive storing a lock pointer, a sleeping copy_from_user()),
            # what the path knew of the value of a variable it was given by address is gone
            vs = _forget(vs, written, ("cmp", "truth", "err"))
        if written and prim is not None:
            vs = _forget(vs, written, ("var",))  # `spin_lock(&lock)` does not store a value in lock
        if prim is not None:
            if prim.op == "acquire_killable":
                # it waits for the lock whatever it returns: the order and the sleep are there
                lock = self.held_for(prim, c, "lock")
                self.took.add(lock.cls)
                self.sink.acquire(site, lock, vs)
                if prim.sleeps:
                    self.sink.sleep(site, name, vs)
                # held where it returned 0: decided by the condition or the binding around it
                if in_condition:
                    return vs
                self._recursive(site, lock, _instance(prim, c), vs)
                return _dedupe([self._take(v, lock, _instance(prim, c)) for v in vs])
            if prim.op in ("acquire", "acquire_nonnull"):
                lock = self.held_for(prim, c, "lock")
                for arg in c.args:
                    if isinstance(arg, ir.Unary) and arg.op == "&" and isinstance(arg.operand, ir.Name) and \
                            _LOCK_TYPE.search(self.types.get(arg.operand.id, "")):
                        self.lock_vars[arg.operand.id] = lock.cls  # `pte_offset_map_lock(mm, pmd, a, &ptl)`
                self.took.add(lock.cls)
                self.sink.acquire(site, lock, vs)
                if prim.sleeps:
                    self.sink.sleep(site, name, vs)
                owner = _owner_var(c.args[prim.lock]) if isinstance(prim.lock, int) and prim.lock < len(c.args) \
                    else None
                instance = _instance(prim, c) if prim.op == "acquire" else None
                self._recursive(site, lock, instance, vs)
                return _dedupe([self._owned(self._take(v, lock, instance), owner, lock.cls) for v in vs])
            if prim.op == "release":
                lock = self.held_for(prim, c, "release")
                self.sink.release(site, lock, vs)
                return _dedupe([self._release(v, lock.cls, _instance(prim, c)) for v in vs])
            if prim.op == "assert":
                lock = self.held_for(prim, c, "assert")
                return _dedupe([v.with_held(lock) for v in vs])
            return vs  # trylock: decided by the condition (or the binding) around it
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
        if name in self.v.allocators and any(w in self.v.sleeping_gfp for a in c.args for w in _words(a)):
            self.sink.sleep(site, f"{name}({', '.join(_text(a) for a in c.args)})", vs)
            return vs
        if name in self.v.dirtying:
            self.sink.dirty(site, c, vs)
        target = self.callee(c)
        effects = self.sink.call(site, c, target, vs, tuple(self._lock_arg(a) for a in c.args))
        if written:
            # `struct folio *folio = NULL; shmem_get_folio(..., &folio); if (folio) ...`: the call
            # may have stored through the pointer (the callee saw what it said, as `*param`), so
            # what the variable said before is forgotten
            vs = _forget(vs, written, ("var", "nonnull", "inst"))
        passed_on = {"*" + a.id for a in c.args if isinstance(a, ir.Name)}
        if passed_on:
            vs = _forget(vs, passed_on, ("var", "nonnull"))  # `forget(locked)` may store `*locked`
        if not isinstance(target, ir.Name):
            # code the walk cannot see was handed the object (->writepage() unlocks its page):
            # whether its lock is still the one this path took is no longer known
            vs = _forget(vs, {w for a in c.args for w in _words(a)}, ("inst",))
        if not effects:
            return vs
        out = []
        for v in vs:
            key = tuple(h.cls for h in v.held)
            mine = [e for e in effects if e[3] is None or e[3] == key]
            if not mine:
                out.append(v)  # no return of the callee belongs to this path's locks
            # what this call returned the last time round a loop says nothing about this time
            keys = (_call_key(c), _took_key(c))
            fresh = frozenset(f for f in v.facts if not (f[0] in ("var", "took") and f[1] in keys))
            v = v if fresh == v.facts else Variant(v.held, fresh)
            for added, released, truth, _ in mine:
                w = v
                for cls in released:
                    w = self._release(w, self._actual(cls, c), None)
                for h in added:
                    w = w.with_held(replace(h, cls=self._actual(h.cls, c)))
                    if h.cls.startswith("@param") and int(h.cls[6:]) < len(c.args):
                        w = self._owned(w, _owner_var(c.args[int(h.cls[6:])]), self._actual(h.cls, c))
                    for out_var in self._out_pointers(c, self._actual(h.cls, c)):
                        # `relock(folio, &lruvec, &flags)` took lruvec's lock and stored lruvec
                        w = self._owned(w, out_var, self._actual(h.cls, c))
                if added:
                    # remembered per path, so `x = lock_helper(...); ... if (x) unlock(...)` can tell
                    # the paths where the helper took its lock from those where it did not
                    w = w.rebind(_took_key(c), ("took", _took_key(c), tuple(self._actual(h.cls, c) for h in added)))
                if truth is not None:
                    # what the call returned on this path: a condition on the call picks its paths
                    w = w.rebind(_call_key(c), ("var", _call_key(c), "", truth))
                out.append(w)
        return _dedupe(out)

    def _release(self, v: Variant, cls: str, instance: str | None) -> Variant:
        """`v` without its last lock of class `cls`.  Where that lock was taken above this
        function, the release gives the caller's lock back (`cond_resched_rcu()` unlocks the
        caller's RCU read section before it locks its own): remembered, so that the function's
        own later acquisition of the class is not mistaken for the caller's lock kept."""
        last = next((h for h in reversed(v.held) if h.cls == cls), None)
        w = _released(v, cls, instance)
        if last is not None and last in self.entry_held and ("gave", cls) not in w.facts:
            w = w.fact(("gave", cls))
        return w

    def _take(self, v: Variant, lock: Held, instance: str | None) -> Variant:
        """`v` with `lock` held, taken on the object `instance` names where that is known."""
        w = v.with_held(lock)
        if instance is None or lock.kind in CONTEXT_KINDS or w is v:
            return w  # (with_held() keeps no third lock of a class: then there is nothing to point at)
        return w.fact(("inst", _base_of(instance), lock.cls, instance, (lock.file, lock.line)))

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
        return v.fact(("nonnull", owner, cls))

    def _out_pointers(self, c: ir.Call, cls: str) -> list[str]:
        """Pointer variables passed by address whose struct owns lock class `cls`."""
        out = []
        for arg in c.args:
            if isinstance(arg, ir.Unary) and arg.op == "&" and isinstance(arg.operand, ir.Name):
                owner = self._owner_name(arg.operand) if arg.operand.id in self.types else None
                if owner and cls.startswith(owner + "->"):
                    out.append(arg.operand.id)
        return out

    def _lock_arg(self, arg: ir.Expr) -> str | None:
        """The lock class an argument names, if it names one: `&zone->lock`, a lock pointer."""
        if isinstance(arg, ir.Unary) and arg.op == "&" or (
                isinstance(arg, ir.Name) and (arg.id in self.lock_vars or arg.id in self.param_index)):
            return self._arg_class(arg)
        return None

    def _actual(self, cls: str, c: ir.Call) -> str:
        """A callee's @paramN lock class is the class of this call's Nth argument."""
        if cls.startswith("@param"):
            idx = int(cls[6:])
            return self._arg_class(c.args[idx]) if idx < len(c.args) else cls
        return cls

    def callee(self, c: ir.Call) -> ir.Expr:
        """The callee expression, through a local function-pointer variable: `(*spd)(page)` with
        `spd = mapping->a_ops->set_page_dirty` is a call of `mapping->a_ops->set_page_dirty`."""
        func = c.func
        if isinstance(func, ir.Unary) and func.op == "*":
            func = func.operand
        if isinstance(func, ir.Name) and func.id in self.values:
            value = self.values[func.id]
            if isinstance(value, (ir.Field, ir.Name)):
                return value
        return c.func

    # -- lock classes ------------------------------------------------------------------------------
    def held_for(self, prim: Primitive, call: ir.Call, how: str) -> Held:
        return Held(self.lock_class(prim, call), prim.kind, how, self.body.file, call.line, self.body.function,
                    prim.atomic)

    def lock_class(self, prim: Primitive, call: ir.Call) -> str:
        cls = self._lock_class(prim, call)
        return self.v.class_aliases.get(cls, cls)

    def _lock_class(self, prim: Primitive, call: ir.Call) -> str:
        if isinstance(prim.lock, str):
            return prim.lock
        if prim.lock >= len(call.args):
            return f"{prim.kind}:?"
        return self._arg_class(call.args[prim.lock])

    def _arg_class(self, arg: ir.Expr) -> str:
        """The class of a lock given by an expression: `&mapping->tree_lock`, a lock pointer
        variable, or a parameter (named @paramN until a caller says which lock it is)."""
        if isinstance(arg, ir.Unary) and arg.op == "&" and isinstance(arg.operand, ir.Name) and \
                arg.operand.id in self.lock_vars:
            cls = self.lock_vars[arg.operand.id]  # &xas, a handle XA_STATE() tied to its lock
        elif isinstance(arg, ir.Unary) and arg.op == "&":
            cls = self._class_of(arg.operand) or _text(arg.operand)
        elif isinstance(arg, ir.Name) and arg.id in self.lock_vars:
            cls = self.lock_vars[arg.id]
        elif isinstance(arg, ir.Name) and arg.id in self.param_index:
            idx = self.param_index[arg.id]
            cls = self.param_classes.get(idx, f"@param{idx}")
        elif isinstance(arg, ir.Call) and arg.name in self.v.lock_pointers:
            cls = self.v.lock_pointers[arg.name]  # raw_spin_unlock(rq_lockp(rq))
        else:
            cls = self._class_of(arg) or _text(arg)
        return self.v.class_aliases.get(cls, cls)

    def _class_of(self, e: ir.Expr) -> str | None:
        if isinstance(e, ir.Field):
            if e.field in self.v.field_classes:
                return self.v.field_classes[e.field]
            owner = self._owner_name(e.obj)
            return f"{owner}->{e.field}" if owner else None
        if isinstance(e, ir.Name):
            return e.id  # a global lock: swap_lock, mmlist_lock
        return None

    def _owner_name(self, obj: ir.Expr) -> str | None:
        """How kernel people name the struct a lock lives in: by type if known, else by the variable."""
        if isinstance(obj, ir.Name):
            declared = self.types.get(obj.id) or self.global_types(obj.id)
            if declared:
                m = _STRUCT.search(declared)
                struct = m.group(1) if m else declared.split()[-1].strip("*")
                # lockdep's class is the struct's, whatever the variable is called (parent, victim)
                return self.v.class_names.get(struct, struct)
            return obj.id
        if isinstance(obj, ir.Field):
            return obj.field
        if isinstance(obj, ir.Unary) and obj.op == "*":
            return self._owner_name(obj.operand)
        if isinstance(obj, ir.Index):  # &table[i].lock: every element's lock is one class
            return self._owner_name(obj.obj)
        return None


def _call_key(c: ir.Call) -> str:
    """A name for the value a call returned, as the facts of a path remember it."""
    return f"<ret {c.line}:{text_of_callee(c)}>"


def _took_key(c: ir.Call) -> str:
    return f"<took {c.line}:{text_of_callee(c)}>"


def text_of_callee(c: ir.Call) -> str:
    return _text(c.func)


def _leaves_loop(s: ir.Stmt | None) -> bool:
    if s is None:
        return False
    if isinstance(s, (ir.Break, ir.Return, ir.Goto)):
        return True
    if isinstance(s, ir.Block) and s.body:
        return _leaves_loop(s.body[-1])
    return False


def _deref_name(e: ir.Expr) -> bool:
    return isinstance(e, ir.Unary) and e.op == "*" and isinstance(e.operand, ir.Name)


_ERR_MAKERS = frozenset({"ERR_PTR", "ERR_CAST"})
# macros that assign a variable named as an argument (a function cannot: C passes by value)
_ASSIGNING_MACROS = frozenset({
    "swap", "get_user", "__get_user", "unsafe_get_user", "get_kernel_nofault", "do_div", "sector_div",
    "xchg", "xchg_relaxed", "xchg_acquire", "xchg_release", "cmpxchg", "cmpxchg_relaxed", "cmpxchg64",
    "try_cmpxchg", "WRITE_ONCE", "smp_store_release", "smp_store_mb", "rcu_assign_pointer", "RCU_INIT_POINTER",
    "no_free_ptr", "retain_and_null_ptr", "take_fd", "local_irq_save", "raw_local_irq_save",
    "local_save_flags", "spin_lock_irqsave", "raw_spin_lock_irqsave", "read_lock_irqsave",
    "write_lock_irqsave", "xa_lock_irqsave", "xas_lock_irqsave",
})


def _plain_locals(block: ir.Stmt, params: set[str], known_calls: set[str]) -> frozenset[str]:
    """The parameters and declared locals whose value changes only where the walk sees it: a
    statement-level assignment (`x = ...;`, `a = b = ...;`, a declaration, a for loop's update),
    or a statement-level call of a lock primitive given `&x` (`pte_offset_map_lock(.., &ptl)`),
    whose facts call() forgets there and then.  Not: a global (a callee may change it); a name
    whose address goes anywhere else (`refresh(&a)` may keep it, `(void **)&a`, `pp = &a`, a
    call inside a condition); one assigned inside a condition or a comma expression; an iterator
    macro's argument (the macro assigns it); one handed to a macro that assigns (`swap(a, b)`,
    `do_div(a, n)`).  Nothing, where part of the body is code the IR does not model (inline
    asm, a statement expression)."""
    declared: set[str] = set(params)
    bad: set[str] = set()
    opaque = False

    def scan(e: ir.Expr | None, top: bool) -> None:
        nonlocal opaque
        if e is None:
            return
        allowed: set[int] = set()
        passed: set[int] = set()
        if top:
            node: ir.Expr = e
            while isinstance(node, ir.Assign) and isinstance(node.target, ir.Name):
                allowed.add(id(node))
                node = node.value
            if isinstance(node, ir.Call) and node.name in known_calls:
                passed = {id(a) for a in node.args
                          if isinstance(a, ir.Unary) and a.op == "&" and isinstance(a.operand, ir.Name)}
        for n in ir.walk(e):
            if isinstance(n, (ir.OpaqueExpr, ir.StmtExpr)):
                opaque = True
            elif isinstance(n, ir.Unary) and n.op == "&" and isinstance(n.operand, ir.Name) and \
                    id(n) not in passed:
                bad.add(n.operand.id)
            elif isinstance(n, ir.Assign) and isinstance(n.target, ir.Name) and id(n) not in allowed:
                bad.add(n.target.id)
            elif isinstance(n, ir.Call) and n.name in _ASSIGNING_MACROS:
                bad.update(a.id for a in n.args if isinstance(a, ir.Name))

    stack: list[ir.Stmt | None] = [block]
    while stack:
        st = stack.pop()
        if isinstance(st, ir.Block):
            stack.extend(st.body)
        elif isinstance(st, ir.ExprStmt):
            scan(st.expr, True)
        elif isinstance(st, ir.Decl):
            declared.add(st.name)
            scan(st.init, False)
        elif isinstance(st, ir.If):
            scan(st.cond, False)
            stack.extend((st.then, st.orelse))
        elif isinstance(st, ir.Loop):
            stack.extend((st.init, st.body))
            if st.macro is not None and st.cond is not None:
                bad.update(n.id for n in ir.walk(st.cond) if isinstance(n, ir.Name))
            else:
                scan(st.cond, False)
            scan(st.update, True)
        elif isinstance(st, ir.Switch):
            scan(st.expr, False)
            stack.append(st.body)
        elif isinstance(st, ir.Return):
            scan(st.value, False)
        elif isinstance(st, ir.OpaqueStmt):
            opaque = True
    return frozenset() if opaque else frozenset(declared - bad)


_PLAIN: dict[int, tuple[ir.Stmt, tuple[str, frozenset[str]], frozenset[str], frozenset[str]]] = {}


def _plain(vocab: Vocabulary, block: ir.Stmt, params: frozenset[str]) -> tuple[frozenset[str], frozenset[str]]:
    """_plain_locals, and the names the body's `return` statements return, worked out once per
    body (a function is walked under many lock sets)."""
    key = (vocab.fingerprint, params)
    hit = _PLAIN.get(id(block))
    if hit is not None and hit[0] is block and hit[1] == key:
        return hit[2], hit[3]
    plain = _plain_locals(block, set(params), set(vocab.primitives) | set(vocab.lock_out_pointers))
    returned = frozenset(n.value.id for n in ir.walk(block) if isinstance(n, ir.Return) and
                         isinstance(n.value, ir.Name))
    if len(_PLAIN) > 50_000:
        _PLAIN.clear()
    _PLAIN[id(block)] = (block, key, plain, returned)
    return plain, returned


def _returning(v: Variant, name: str) -> Variant:
    """`return name;`: what the path knows of it, as what the function returned.  Kept apart from
    a returned constant's ("returns", ...): that one also tells callers which lock a helper
    handed them, where these judge only the function's own balance (lock-imbalance)."""
    if any(f[0] == "err" and f[1] == name and f[2] for f in v.facts):
        return v.fact(("returns_err", True))
    truth = next((f[3] for f in v.facts if f[0] == "var" and f[1] == name), None)
    if truth is None:
        truth = next((f[2] for f in v.facts if f[0] == "truth" and f[1] == name), None)
    return v if truth is None else v.fact(("returned", truth))


def _is_literal(e: ir.Expr) -> bool:
    return isinstance(e, ir.Literal) or (isinstance(e, ir.Name) and e.id in ("NULL", "false", "true"))


def _literal_truth(e: ir.Expr) -> bool | None:
    text = e.text if isinstance(e, ir.Literal) else e.id  # type: ignore[union-attr]
    if text in ("false", "NULL"):
        return False
    if text == "true":
        return True
    digits = text.rstrip("uUlL")
    try:
        # C's integer constants: 1, 0x1, 1UL (a leading 0 is octal; Python's int() refuses it)
        return int(digits, 8 if digits[:1] == "0" and digits.isdigit() else 0) != 0
    except ValueError:
        return None  # a character or string literal, a float: not judged


def _calls(e: ir.Expr) -> list[ir.Call]:
    """Calls in e in evaluation order: arguments (and callee expression) before the call itself."""
    out: list[ir.Call] = []
    stack: list[tuple[ir.Expr, bool]] = [(e, False)]
    while stack:
        node, expanded = stack.pop()
        if expanded:
            out.append(node)  # type: ignore[arg-type]
            continue
        if isinstance(node, ir.Call):
            stack.append((node, True))
            for child in reversed((node.func, *node.args)):
                stack.append((child, False))
            continue
        for child in reversed(_children(node)):
            stack.append((child, False))
    return out


def _children(e: ir.Expr) -> tuple[ir.Expr, ...]:
    if isinstance(e, ir.Field):
        return (e.obj,)
    if isinstance(e, ir.Unary):
        return (e.operand,)
    if isinstance(e, ir.Binary):
        return (e.left, e.right)
    if isinstance(e, ir.Assign):
        return (e.value, e.target)
    if isinstance(e, ir.Conditional):
        return (e.test, e.then, e.orelse)
    if isinstance(e, ir.Cast):
        return (e.expr,)
    if isinstance(e, ir.Index):
        return (e.obj, e.index)
    if isinstance(e, ir.Comma):
        return e.exprs
    if isinstance(e, ir.InitList):
        return tuple(v for _, v in e.items)
    return ()


def _text(e: ir.Expr) -> str:
    if isinstance(e, ir.Name):
        return e.id
    if isinstance(e, ir.Literal):
        return e.text
    if isinstance(e, ir.Field):
        return f"{_text(e.obj)}{'->' if e.arrow else '.'}{e.field}"
    if isinstance(e, ir.Unary):
        return f"{e.op}{_text(e.operand)}" if not e.op.startswith("post") else f"{_text(e.operand)}{e.op[4:]}"
    if isinstance(e, ir.Call):
        return f"{_text(e.func)}({', '.join(_text(a) for a in e.args)})"
    if isinstance(e, ir.Binary):
        return f"{_text(e.left)} {e.op} {_text(e.right)}"
    if isinstance(e, ir.OpaqueExpr):
        return e.text
    if isinstance(e, ir.Index):
        return f"{_text(e.obj)}[{_text(e.index)}]"
    if isinstance(e, ir.Cast):
        return _text(e.expr)
    return type(e).__name__


def _words(e: ir.Expr) -> list[str]:
    return re.findall(r"\w+", _text(e))


def _dedupe(vs: list[Variant]) -> list[Variant]:
    out = list(dict.fromkeys(vs))
    if len(out) <= MAX_VARIANTS:
        return out
    # too many paths: first forget the facts that say nothing about locks (page predicates,
    # constant returns), then, if that is not enough, all of them
    slim = list(dict.fromkeys(Variant(v.held, _lock_facts(v.facts)) for v in out))
    if len(slim) <= MAX_VARIANTS:
        return slim
    merged = list(dict.fromkeys(Variant(v.held) for v in out))
    return merged[:MAX_VARIANTS]


def _lock_facts(facts: frozenset) -> frozenset:
    """The facts that decide a lock: which pointer is non-NULL when it is held, what a trylock
    returned, what a helper that took a lock returned (not what every other call returned), the
    page predicates (`if (!PageSwapCache(page)) spin_lock(...)` ... the same test again before
    the unlock)."""
    took = {f[1].replace("<took ", "<ret ", 1) for f in facts if f[0] == "took"}
    return frozenset(f for f in facts if f[0] in ("nonnull", "took", "pred", "inst", "gave") or (
        f[0] == "var" and (f[2] or f[1] in took)))


# Locks whose second acquisition on the same object is judged recursive.  Not the sleeping
# locks a callee may drop and a caller retake through a protocol the walk does not follow
# (mmap_lock across VM_FAULT_RETRY, `*locked` out-parameters), nor reader-recursive rwlocks.
INSTANCE_KINDS = frozenset({"page_lock", "spinlock"})


def _instance(prim: Primitive, call: ir.Call) -> str | None:
    """The text of the object a lock primitive takes the lock of: its lock argument
    (`&n->list_lock`, `ptl`), or for the page lock, named by class, its first argument
    (`folio`).  None where there is no plain name at its root, or for other kinds of lock."""
    if prim.kind not in INSTANCE_KINDS or isinstance(prim.lock, str) and prim.kind != "page_lock":
        return None
    idx = prim.lock if isinstance(prim.lock, int) else 0
    if idx >= len(call.args) or not _plain_path(call.args[idx]):
        return None
    return _text(call.args[idx])


def _plain_path(e: ir.Expr) -> bool:
    """A name, its fields, `&`/`*` of those, a constant index: an expression that names one
    object for as long as none of its names is assigned (not `compound_head(page)`, `pages[i]`,
    `x ? a : b`)."""
    if isinstance(e, ir.Name):
        return True
    if isinstance(e, ir.Field):
        return _plain_path(e.obj)
    if isinstance(e, ir.Unary) and e.op in ("&", "*"):
        return _plain_path(e.operand)
    if isinstance(e, ir.Index):
        return isinstance(e.index, ir.Literal) and _plain_path(e.obj)
    return False


def _base_of(text: str) -> str:
    m = re.match(r"[&*(\s]*([A-Za-z_]\w*)", text)
    return m.group(1) if m else ""


_STEPS = ("++", "--", "post++", "post--")
_STEPPED: dict[int, tuple[ir.Expr, frozenset[str]]] = {}


def _stepped(e: ir.Expr) -> frozenset[str]:
    """Names `e` steps with ++ or --, worked out once per expression (the IR does not change
    while it is walked, and the same statements are walked under many lock sets)."""
    hit = _STEPPED.get(id(e))
    if hit is not None and hit[0] is e:
        return hit[1]
    names = frozenset(n.operand.id for n in ir.walk(e) if isinstance(n, ir.Unary) and n.op in _STEPS and
                      isinstance(n.operand, ir.Name))
    if len(_STEPPED) > 200_000:
        _STEPPED.clear()
    _STEPPED[id(e)] = (e, names)
    return names


def _forget(vs: list[Variant], names: set[str], kinds: tuple[str, ...]) -> list[Variant]:
    """`vs` without the facts of `kinds` about `names`: an instance fact goes when any name in
    the object's text does (`pages[0]` when `pages` is assigned)."""
    out = []
    for v in vs:
        drop = {f for f in v.facts if f[0] in kinds and (
            f[1] in names or f[0] == "inst" and any(_names_through(f[3], n) for n in names) or
            f[0] == "cmp" and f[2] in names)}
        out.append(Variant(v.held, v.facts - drop) if drop else v)
    return out


def _names_through(instance: str, target: str) -> bool:
    """Whether assigning `target` points the object `instance` names elsewhere: the object is
    `target` or reached through it (`pvmw->ptl` for `pvmw->ptl`, `&n->list_lock` for `n`), or
    `target` is any name in its text (`pages[0]` when `pages` is assigned)."""
    bare = instance.lstrip("&*( ")
    return bare == target or bare.startswith((target + "->", target + ".")) or \
        target in re.findall(r"\w+", instance)


def _released(v: Variant, cls: str, instance: str | None) -> Variant:
    w = v.without(cls)
    if w.holds(cls):
        drop = {f for f in w.facts if f[0] == "inst" and f[2] == cls and f[3] == instance}
    else:
        drop = {f for f in w.facts if f[0] == "inst" and f[2] == cls}
    return Variant(w.held, w.facts - drop) if drop else w


def _owner_var(arg: ir.Expr) -> str | None:
    """The pointer variable a lock argument hangs off: n in `&n->list_lock`, ptl in `ptl`."""
    if isinstance(arg, ir.Unary) and arg.op == "&" and isinstance(arg.operand, ir.Field):
        obj = arg.operand.obj
        return obj.id if isinstance(obj, ir.Name) and arg.operand.arrow else None
    return arg.id if isinstance(arg, ir.Name) else None


text_of = _text
calls_in = _calls
