"""Interprocedural lock analysis: walk functions from roots down their call
paths (bounded depth, recursion guarded), carrying the locks held into each
callee, and collect observations: lock-order edges, spins, sleeping calls,
page dirtying, returns with locks held, and calls that could not be resolved.

Function pointers are resolved where the source says what they are: a call
through an operations field (`mapping->a_ops->set_page_dirty`, directly or
through a local variable) goes to every function the tree's designated
initializers put in that field.
"""

from __future__ import annotations

import re
from dataclasses import replace

from patchlint.cparse import ir
from patchlint.cparse.defs import FunctionDef
from patchlint.cparse.index import FunctionIndex
from patchlint.extract.annotations import LockContract, annotated_outcomes, lock_contract
from patchlint.extract.exprs import text_of
from patchlint.extract.facts import (
    CONTEXT_KINDS,
    Fact,
    GaveFact,
    Held,
    InstFact,
    NonNullFact,
    PredFact,
    ReturnedFact,
    ReturnsErrFact,
    ReturnsFact,
    UnknownFact,
    VarFact,
    Variant,
)
from patchlint.extract.macros import LockMacros
from patchlint.extract.observations import (
    BadRelease,
    CallReached,
    Dirty,
    Edge,
    Exit,
    Frame,
    Observations,
    Recursive,
    Sleep,
    Spin,
    Unresolved,
)
from patchlint.extract.sink import OPAQUE, Outcome, Sink, Site, Unheld
from patchlint.extract.summary import SUMMARY_BUDGET, LockSummaries
from patchlint.extract.vocab import Contract, Vocabulary, load_vocabulary
from patchlint.extract.walker import Walker

__all__ = ["BELOW", "CONTEXT_KINDS", "MAX_DEPTH", "MAX_TARGETS", "BadRelease", "CallReached", "Dirty", "Edge",
           "Engine", "Exit", "Frame", "Observations", "Recursive", "Sleep", "Spin", "Unresolved"]

MAX_TARGETS = 12  # an operations field with more implementations than this is not followed
MAX_DEPTH = 6  # calls below a root the walk enters; beneath, callees are summarised
WALK_BUDGET = 3000  # function walks in all
BELOW = 4  # with a focus: calls followed beneath a touched function


class Engine:
    """Walks from the roots it is run on.  With a `focus`, callees are followed only on the way
    to a touched function (those in `focus`) and up to `below` calls beneath one; without,
    everything to `max_depth`.  How functions return is recorded (for lock-imbalance) only for
    the `touched` ones, or for all when none are; the call paths into the `watch` functions
    (and the locks held there) are recorded.  `budget` bounds the function walks in all,
    `summary_budget` the lock summaries built."""

    def __init__(self, index: FunctionIndex, vocab: Vocabulary | None = None, max_depth: int = MAX_DEPTH,
                 budget: int = WALK_BUDGET, *, focus: set[str] | None = None, touched: set[str] | None = None,
                 below: int = BELOW, watch: set[str] | None = None, summary_budget: int = SUMMARY_BUDGET):
        self.index = index
        self.v = vocab or load_vocabulary()
        self.max_depth = max_depth
        self.budget = budget
        self._limit = budget
        self.obs = Observations()
        self._defs: dict[tuple[str, str | None], list[FunctionDef]] = {}
        self._ops: dict[str, list[str]] | None = None
        self._contracted: dict[str, tuple[Contract, ...]] | None = None
        # which locks, besides the page lock, pin a page's mapping for marking it dirty, in this
        # tree's kernel version (grammars/locks.toml [[dirtying.pins]])
        self.pins = self.v.pins_for(index.tree.kernel_version())
        self._globals: dict[str, str | None] = {}
        self._memo: set[tuple] = set()
        self.watch: frozenset[str] = frozenset(watch or ())
        self.focus: frozenset[str] | None = None if focus is None else frozenset(focus)
        self.touched: frozenset[str] = frozenset(touched or ())
        self.below = below
        self._outcomes: dict[tuple, list[Outcome]] = {}
        self.macros = LockMacros(self.v, index.macro, lambda name: bool(index.definitions(name)))
        self.summaries = LockSummaries(index, self.v, self.global_type, budget=summary_budget, macros=self.macros)
        self._contracts: dict[tuple[str, int], LockContract] = {}
        self._releases: dict[tuple[str, int, int], frozenset[str]] = {}
        self._inert: dict[tuple[str, int], bool] = {}

    # -- lookups ---------------------------------------------------------------------------------
    def definitions(self, name: str, near: str | None = None) -> list[FunctionDef]:
        key = (name, near)
        if key not in self._defs:
            found = self.index.definition(name, near)
            self._defs[key] = [found] if found is not None else []
        return self._defs[key]

    def ops_targets(self, member: str) -> list[str]:
        """Functions designated initializers put in struct member `member`, across the tree."""
        if self._ops is None:
            self._ops = {}
        if member not in self._ops:
            self._ops[member] = self.index.ops_targets(member)
        return self._ops[member]

    def contracts(self, fn: FunctionDef) -> tuple[Contract, ...]:
        """The locks the kernel holds when it calls `fn` through a member it is put in
        (`.writepage = shmem_writepage`): grammars/locks.toml [[contract]]."""
        if self._contracted is None:
            self._contracted = {}
            for c in self.v.contracts:
                for member in c.members:
                    for name in self.ops_targets(member):
                        self._contracted[name] = (*self._contracted.get(name, ()), c)
        return self._contracted.get(fn.name, ())

    def global_type(self, name: str) -> str | None:
        """The struct type of a file-scope variable with an initializer (`swapper_space`)."""
        if name not in self._globals:
            found = None
            if re.fullmatch(r"[A-Za-z_]\w*", name):
                for path in self.index.files_naming(name):
                    parsed = self.index.parsed(path)
                    if parsed is None:
                        continue
                    hit = next((i for i in parsed.initializers if i.name == name), None)
                    if hit is not None:
                        found = f"struct {hit.struct}"
                        break
            self._globals[name] = found
        return self._globals[name]

    def annotations(self, fn: FunctionDef) -> LockContract:
        """What the function's sparse annotations say of its locks."""
        key = (fn.file, fn.start_byte)
        if key not in self._contracts:
            self._contracts[key] = lock_contract(fn, self.v, self.global_type)
        return self._contracts[key]

    def _entered(self, fn: FunctionDef, entry: list[Variant]) -> list[Variant]:
        """The caller's paths, each holding what `__releases(x)`/`__must_hold(x)` say the function
        is entered holding (sparse reads the annotation as the caller's promise)."""
        wanted = [c for c in self.annotations(fn).entry if not c.startswith("@")]
        if not wanted:
            return entry
        out = []
        for v in entry:
            for cls in wanted:
                if not v.holds(cls):
                    v = v.with_held(Held(cls, "annotated", "caller", fn.file, fn.start_line, fn.name, False))
            out.append(v)
        return out

    # -- walking ---------------------------------------------------------------------------------
    def run(self, root: FunctionDef, allowance: int | None = None) -> None:
        """Walk from `root` with nothing held (but what its annotations say it is entered
        holding); `allowance` bounds the walks this root may take (on top of the engine's total
        budget), so one huge call graph cannot starve the rest."""
        self._limit = self.budget if allowance is None else min(self.budget, self.obs.walks + allowance)
        before = self.obs.budget_hit
        self.obs.budget_hit = False
        self._walk(root, [Variant()], {}, (), 0)
        if self.obs.budget_hit:
            self.obs.cut_roots.append(root.name)
        self.obs.budget_hit |= before

    def _walk(self, fn: FunctionDef, entry: list[Variant], consts: dict[str, object], path: tuple[Frame, ...],
              depth: int, params: dict[int, str] | None = None, binds: tuple[tuple[str, str], ...] = (),
              ) -> list[Outcome]:
        """Walk fn; return how it leaves the caller's locks: (locks it returns holding, classes it
        released, what it returned when that was a constant, which of the caller's lock sets it
        came in with), one per way of returning.  Each lock set the caller may hold is walked on
        its own (and remembered on its own), so a lock one caller path holds and another does
        not is never "released" by a callee that does not touch it.  `params` names the caller's
        lock a parameter points to, so a release through it counts; `binds` are the operations
        members functions above it on the path set in local initializers."""
        groups: dict[tuple[str, ...], list[Variant]] = {}
        for v in entry:
            groups.setdefault(_classes(v), []).append(v)
        outcomes: list[Outcome] = []
        for classes, variants in groups.items():
            outcomes += self._walk_one(fn, classes, variants, consts, path, depth, params, binds)
        return outcomes

    def _walk_one(self, fn: FunctionDef, classes: tuple[str, ...], entry: list[Variant],
                  consts: dict[str, object], path: tuple[Frame, ...], depth: int,
                  params: dict[int, str] | None, binds: tuple[tuple[str, str], ...]) -> list[Outcome]:
        cut = depth >= self.max_depth  # its callees are summarised, not walked: not reused above the bound
        # what the caller's paths say about the parameters (which points at an object whose lock
        # is held, what a flag passed by address says) decides paths below: part of what a walk is
        # remembered by, per path, since two entries whose facts merge alike are not the same entry
        objects = tuple(sorted({tuple(sorted(v.facts, key=repr)) for v in entry}, key=repr))
        key = (fn.file, fn.start_byte, classes, tuple(sorted(consts.items())),
               tuple(sorted((params or {}).items())), cut, binds, objects)
        if key in self._memo:
            return self._outcomes.get(key, [])
        if self.obs.walks >= self._limit:
            # not remembered: another root, with its own allowance, walks it afresh
            self.obs.budget_hit = True
            return []
        self._memo.add(key)
        self.obs.walks += 1
        walk_number = self.obs.walks
        body = self.index.body(fn)
        if body is None:
            self.obs.incomplete.add((fn.file, fn.name))
            return []
        if not body.complete:
            self.obs.incomplete.add((fn.file, fn.name))
        body = self.macros.expand(fn, body)
        formal = [(p.type, p.name) for p in fn.params()]
        summary = self.summaries.get(fn)
        own = summary.binds if summary is not None else ()
        # this function's own initializers are the nearest: they override what callers above set
        merged = dict(binds) | dict(own)
        held_by_contract = tuple(
            Held(c.lock, c.lock, "contract", fn.file, fn.start_line, fn.name, False) for c in self.contracts(fn)
            if c.param < len(formal))
        if held_by_contract:
            # the caller that calls it through the member holds these: a walk from it as a root
            # (or through a pointer the walk could not follow) starts where that caller is
            entry = [Variant(v.held + tuple(h for h in held_by_contract if not v.holds(h.cls)), v.facts)
                     for v in entry]
        # how it returns, and what it releases without holding, are judged (lock-imbalance,
        # double-unlock) only for the functions a check is about
        record = not self.touched or fn.name in self.touched
        sink = _EngineSink(self, fn, path, depth, formal, tuple(sorted(merged.items())),
                           frozenset(classes) if record else None)
        walker = Walker(self.v, body, formal, sink, consts, self.global_type, params,
                        returns_pointer="*" in fn.return_type or fn.return_type.split()[-1:] == ["bool"],
                        memo=self.summaries.memo)
        contract = self.annotations(fn)
        walker.run(self._entered(fn, entry))
        before = {h for v in entry for h in v.held}
        outcomes = []
        # a class it takes itself is released for its caller only where it gave the caller's lock
        # back on every path (`cond_resched_rcu()`: unlock, cond_resched(), lock again), not where
        # the walk merely could not pair one of its own acquisitions with its release
        gave = {c for c in walker.took if walker.returns and all(GaveFact(c) in r.facts for r in walker.returns)}
        for site_variant, line in zip(walker.returns, walker.return_lines, strict=True):
            if record:
                self.obs.returns.append(Exit(Site(fn.file, line or fn.end_line, fn.name), site_variant, fn,
                                             frozenset(classes), bool(path), walk_number,
                                             tuple(sorted((params or {}).items()))))
            # (sparse's __acquire() markers count within the function, for its own balance, and
            # hand its caller nothing: the lock they name is one the function took under another
            # name, double_pt_lock()'s ptl2 when it is ptl1)
            added = tuple(h for h in site_variant.held if h not in before and
                          h.how not in ("assert", "caller", "contract") and h.kind != "sparse")
            released = tuple(sorted({c for c in classes if not site_variant.holds(c) and c not in walker.took or
                                     c in gave and not any(h.cls == c and h in before for h in site_variant.held)} |
                                    # what its __releases() said it was entered holding, and released
                                    {c for c in contract.releases if not c.startswith("@") and
                                     not site_variant.holds(c)}))
            truth = next((f.value for f in site_variant.facts if isinstance(f, ReturnsFact)), None)
            # the caller's locks, and those handed back, that code nobody can read was given
            mine = set(classes) | {h.cls for h in added}
            unknown = tuple(sorted({c for f in site_variant.facts if isinstance(f, UnknownFact)
                                    for c in f.classes if c in mine}))
            told = truth is not None or any(isinstance(f, (ReturnedFact, ReturnsErrFact)) for f in site_variant.facts)
            outcomes.append(Outcome(added, released, truth, classes, unknown, told))
        outcomes = _handed_off(list(dict.fromkeys(outcomes)))
        if all(not o.added and not o.released for o in outcomes):
            outcomes = []
        self._outcomes[key] = outcomes
        return outcomes

    def inert(self, fn: FunctionDef, depth: int = 0) -> bool:
        """Whether nothing `fn` does, or anything it calls does, matters to the checks: no lock
        primitive, sleeping call, allocation, page dirtying or call through a pointer, in a body
        that parsed cleanly.  Small helpers (folio_test_large(), ptep_get()) are called under
        every lock set the walk meets; walking each time would find nothing every time."""
        key = (fn.file, fn.start_byte)
        if key in self._inert:
            return self._inert[key]
        if depth > 12 or not fn.parse_ok:
            return False
        self._inert[key] = False  # recursion: not shown inert
        v = self.v
        for c in fn.calls:
            name = c.callee
            if c.indirect or name in v.reads or name in v.sleeping or name in v.allocators or \
                    name in v.dirtying or name in v.lock_handles or name == v.safe_dirty_form:
                return False
            callee = self.definitions(name, near=fn.file)
            if callee and not self.inert(callee[0], depth + 1):
                return False
        self._inert[key] = True
        return True

    def releases_beneath(self, fn: FunctionDef, depth: int = 2) -> frozenset[str]:
        """Classes `fn` (or, `depth` - 1 calls down, its callees) releases without taking them:
        its caller's locks.  What a function the walk does not enter still does to them."""
        key = (fn.file, fn.start_byte, depth)
        if key not in self._releases:
            self._releases[key] = frozenset()  # recursion
            summary = self.summaries.get(fn)
            out = set(summary.releases) if summary is not None else set()
            if summary is not None and depth > 1:
                for call in summary.calls:
                    if call.target.startswith("."):
                        continue
                    for callee in self.definitions(call.target, near=fn.file):
                        # a callee's parameter names a lock only its caller's arguments could say
                        out |= {c for c in self.releases_beneath(callee, depth - 1) if not c.startswith("@")}
            self._releases[key] = frozenset(out)
        return self._releases[key]


class _EngineSink(Sink):
    def __init__(self, engine: Engine, fn: FunctionDef, path: tuple[Frame, ...], depth: int,
                 params: list[tuple[str, str | None]],
                 binds: tuple[tuple[str, str], ...] = (), entry: frozenset[str] | None = None):
        self.e = engine
        self.fn = fn
        self.path = path
        self.depth = depth
        self.has_vma = any("vm_area_struct" in (t or "") for t, _ in params)
        self.binds = binds
        self.entry = entry  # the classes it was entered holding, where its releases are judged

    def release(self, site: Site, lock: Held, before: list[Variant]) -> None:
        if self.entry is not None and any(v.holds(lock.cls) for v in before):
            self.e.obs.held_releases.add((site.file, site.line, lock.cls))

    def unheld(self, site: Site, lock: Held, variant: Variant, why: Unheld) -> None:
        if self.entry is None:
            return
        key = (site.file, site.line, lock.cls, why.why)
        self.e.obs.unheld.setdefault(key, BadRelease(site, lock, why, self.fn, self.entry, bool(self.path)))

    def frames(self, line: int) -> tuple[Frame, ...]:
        return self.path + (Frame(self.fn.name, self.fn.file, line),)

    def acquire(self, site: Site, lock: Held, before: list[Variant]) -> None:
        if lock.kind in CONTEXT_KINDS or lock.cls.startswith("@"):
            return  # a context, or a lock named only by a parameter: no class to order
        for v in before:
            for h in v.held:
                # (an annotation says a lock is held, not where it was taken: no order from it)
                if h.cls != lock.cls and h.kind not in CONTEXT_KINDS and not h.cls.startswith("@") and \
                        h.how != "caller":
                    key = (h.cls, lock.cls, "lock", site.file, site.line)
                    self.e.obs.edges.setdefault(key, Edge(h, lock, "lock", self.frames(site.line)))

    def spin(self, site: Site, lock: Held, before: list[Variant], loop_line: int) -> None:
        for v in before:
            for h in v.held:
                if h.cls != lock.cls and h.kind not in CONTEXT_KINDS and h.how != "caller" and not (
                        h.cls.startswith("@") or lock.cls.startswith("@")):
                    key = (h.cls, lock.cls, "spin", site.file, site.line)
                    self.e.obs.edges.setdefault(key, Edge(h, lock, "spin", self.frames(site.line)))
            key2 = (site.file, site.line, ",".join(h.cls for h in v.held))
            self.e.obs.spins.setdefault(key2, Spin(lock, v.held, loop_line, self.frames(site.line)))

    def recursive(self, site: Site, lock: Held, first: Held, instance: str, variant: Variant) -> None:
        key = (site.file, site.line, lock.cls)
        self.e.obs.recursive.setdefault(key, Recursive(site, lock, first, instance, self.frames(site.line)))

    def sleep(self, site: Site, what: str, variants: list[Variant]) -> None:
        for v in variants:
            atomic = v.atomic_reasons()
            if atomic:
                key = (site.file, site.line, ",".join(h.cls for h in atomic))
                self.e.obs.sleeps.setdefault(key, Sleep(site, what, atomic, self.frames(site.line)))

    def dirty(self, site: Site, call: ir.Call, variants: list[Variant]) -> None:
        if self.fn.name in self.e.v.dirtying or self.fn.name == self.e.v.safe_dirty_form:
            return  # inside the dirtying family itself: its callers are the sites that count
        page = text_of(call.args[0]) if call.args else "?"
        pinned_by = self._vma_in_scope()
        for v in variants or [Variant()]:
            held = next((h for h in v.held if h.cls == "page_lock"), None)
            pin = next(((h, p) for p in self.e.pins for h in v.held if h.cls in p.held), None)
            known_file = any(isinstance(f, PredFact) and f.pred in self.e.v.anon_predicates and f.arg == page and
                             f.value is False for f in v.facts)
            if held is not None and held.how == "contract":
                rule = (f"page lock held: {held.function}() is called through a member the kernel calls with "
                        "the page locked (grammars/locks.toml [[contract]])")
                safe = True
            elif held is not None:
                rule = (f"page lock held ({'asserted' if held.how == 'assert' else 'taken'} in {held.function}() "
                        f"at {held.file}:{held.line})")
                safe = True
            elif pin is not None:
                rule = f"{pin[0].cls} held (taken in {pin[0].function}() at {pin[0].file}:{pin[0].line}): {pin[1].rule}"
                safe = True
            elif known_file and pinned_by:
                rule = (f"mapping pinned: {page} is a file page (not PageAnon) mapped by the vma "
                        f"{pinned_by}() is unmapping, whose open file holds mapping->host")
                safe = True
            else:
                why = "may be an anonymous or swap-cache page" if not known_file else "no vma pins its file"
                rule = f"neither the page lock nor a pinned mapping: {page} {why}"
                safe = False
            self.e.obs.dirties.append(Dirty(site, text_of(call), safe, rule, self.frames(site.line)))

    def _vma_in_scope(self) -> str | None:
        if self.has_vma:
            return self.fn.name
        for frame in reversed(self.path):
            fns = self.e.definitions(frame.function, near=frame.file)
            if fns and any("vm_area_struct" in (p.type or "") for p in fns[0].params()):
                return frame.function
        return None

    def call(self, site: Site, call: ir.Call, target: ir.Expr, variants: list[Variant],
             arg_classes: tuple[str | None, ...] = ()) -> list[Outcome] | None:
        if not variants:
            return None
        if self.depth >= self.e.max_depth:
            return self._unwalked(target, variants)
        names: list[str]
        if isinstance(target, ir.Name):
            if target.id in self.e.v.reads:
                return None
            names = [target.id]
            if not self._follow(target.id):
                return self._unwalked(target, variants)
            defs = self.e.definitions(target.id, near=self.fn.file)
            if not defs:
                if not self.e.index.macro(target.id) and target.id not in self.e.v.sleeping and \
                        target.id not in self.e.v.assertions and target.id not in ("likely", "unlikely"):
                    key = (site.file, site.line, target.id)
                    self.e.obs.unresolved.setdefault(key, Unresolved(site, target.id, "no definition in the tree"))
                    return OPAQUE
                return None
            targets = defs
        elif isinstance(target, ir.Field):
            # a caller on this path set the member in a local initializer: that is what runs here
            # (rmap_walk_anon()'s rwc->rmap_one is try_to_unmap_one under try_to_unmap())
            names = self._bound(target.field) or self.e.ops_targets(target.field)
            if not names or len(names) > MAX_TARGETS:
                why = ("no designated initializer sets ." + target.field if not names else
                       f"{len(names)} implementations of .{target.field}; not followed")
                key = (site.file, site.line, text_of(target))
                self.e.obs.unresolved.setdefault(key, Unresolved(site, text_of(target), why))
                return OPAQUE
            names = [n for n in names if self._follow(n)]
            targets = [d for n in names for d in self.e.definitions(n)]
        else:
            key = (site.file, site.line, text_of(target))
            self.e.obs.unresolved.setdefault(key, Unresolved(site, text_of(target), "indirect call"))
            return OPAQUE
        path = self.frames(site.line)
        for name in names:
            if name in self.e.watch:
                self.e.obs.calls_to.append(CallReached(name, path,
                                                       tuple(dict.fromkeys(Variant(v.held) for v in variants))))
        if any(f.function in names for f in path):
            return None  # recursion
        # parameters that point to a lock the caller holds: a release through them releases it
        held = {h.cls for v in variants for h in v.held}
        params = {i: cls for i, cls in enumerate(arg_classes) if cls in held}
        effects: list[Outcome] = []
        for callee in targets:
            if callee.name not in self.e.touched and not self.e.watch and self.e.inert(callee):
                continue  # no lock, no sleep, no dirtying anywhere below: walking it shows nothing
            consts = _constant_args(callee, call)
            entry = _callee_entry(callee, call, variants)
            effects += self.e._walk(callee, entry, consts, path, self.depth + 1, params, self.binds)
        if len(targets) != 1:
            return None  # one of several implementations: which one runs is unknown, so none is assumed
        contract = self.e.annotations(targets[0])
        if contract.declared:
            effects = annotated_outcomes(targets[0], contract, effects)
        return list(dict.fromkeys(effects)) or None

    def _bound(self, member: str) -> list[str]:
        """The function a local designated initializer on the current call path (nearest first)
        puts in `member`, if one does."""
        return [name for m, name in self.binds if m == member]

    def _unwalked(self, target: ir.Expr, variants: list[Variant]) -> list[Outcome] | None:
        """A call the walk does not enter (the depth bound, or off the focus): what its summary says
        it releases of the caller's locks is released.  Optimistic where it releases only on some
        paths; assuming it never releases made every lock dropped by such a helper look held on."""
        if not isinstance(target, ir.Name) or target.id in self.e.v.reads:
            return None
        if not any(h.kind not in CONTEXT_KINDS for v in variants for h in v.held):
            return None
        defs = self.e.definitions(target.id, near=self.fn.file)
        if len(defs) != 1:
            return None
        contract = self.e.annotations(defs[0])
        if contract.declared:
            return annotated_outcomes(defs[0], contract, [])  # not walked: its annotation says what it does
        released = tuple(sorted(self.e.releases_beneath(defs[0])))
        return [Outcome((), released, None, None)] if released else None

    def _follow(self, name: str) -> bool:
        """Whether to walk into `name` under the engine's focus."""
        if self.e.focus is None or name in self.e.focus:
            return True
        frames = [f.function for f in self.path] + [self.fn.name]
        for n, f in enumerate(frames):
            if f in self.e.touched:
                return len(frames) - n <= self.e.below
        return False


def _classes(v: Variant) -> tuple[str, ...]:
    return tuple(h.cls for h in v.held)


def _handed_off(outcomes: list[Outcome]) -> list[Outcome]:
    """Keep a lock a function returns holding only where its caller can tell: held on every
    return (a lock helper), or on returns its result tells apart (a trylock-style true/false, a
    pointer that is NULL when nothing was taken).  Held on some returns and not on others that
    return alike is a hand-off no caller could follow (`return MIGRATEPAGE_UNMAP` with the page
    locked) or a path the walk could not tell apart; passed up, it would put every later call
    of every caller under that lock.  The function's own lock-imbalance check still sees it."""
    classes = {h.cls for o in outcomes for h in o.added}
    dropped = set()
    for cls in classes:
        holding = {o.truth for o in outcomes if any(h.cls == cls for h in o.added)}
        free = {o.truth for o in outcomes if not any(h.cls == cls for h in o.added)}
        # no return that holds it says so by a literal result, and some that does not hold it
        # returns alike: nothing a caller tests could tell the two apart
        if holding == {None} and None in free:
            dropped.add(cls)
    if not dropped:
        return outcomes
    kept = [replace(o, added=tuple(h for h in o.added if h.cls not in dropped)) for o in outcomes]
    return list(dict.fromkeys(kept))


def _callee_entry(callee: FunctionDef, call: ir.Call, variants: list[Variant]) -> list[Variant]:
    """The caller's paths as the callee starts with them: their locks; which of its parameters
    points at an object whose lock is held (`folio_referenced_one(folio, ...)` called with the
    folio locked), so that taking that lock again below is seen as the same object; and what a
    lock flag passed by address says (`*locked`)."""
    names = [p.name for p in callee.params()]
    args = {a.id: i for i, a in enumerate(call.args) if isinstance(a, ir.Name)}
    # `compact_unlock_should_abort(lock, flags, &locked, cc)`: what the caller's `locked` says
    # about its lock, the callee's `*locked` says too
    by_address = {a.operand.id: i for i, a in enumerate(call.args)
                  if isinstance(a, ir.Unary) and a.op == "&" and isinstance(a.operand, ir.Name)}
    # and a flag pointer passed on as it is: the caller's `*locked` is the callee's `*param`
    by_address |= {"*" + a.id: i for i, a in enumerate(call.args) if isinstance(a, ir.Name)}
    out = []
    for v in variants:
        facts: set[Fact] = set()
        for f in v.facts:
            if isinstance(f, (VarFact, NonNullFact)) and f.name in by_address and by_address[f.name] < len(names) and \
                    names[by_address[f.name]] and (isinstance(f, NonNullFact) or f.cls or f.name.startswith("*")):
                facts.add(replace(f, name="*" + names[by_address[f.name]]))
            if isinstance(f, InstFact) and f.base in args and args[f.base] < len(names) and names[args[f.base]]:
                param = names[args[f.base]]
                facts.add(InstFact(param, f.cls, re.sub(rf"\b{re.escape(f.base)}\b", param, f.instance, count=1),
                                   f.site))
        out.append(Variant(v.held, frozenset(facts)))
    return list(dict.fromkeys(out))


def _constant_args(callee: FunctionDef, call: ir.Call) -> dict[str, object]:
    """Literal arguments bound to the callee's parameters: `propogate_storage_key(page, true)`."""
    out: dict[str, object] = {}
    for param, arg in zip(callee.params(), call.args, strict=False):
        if param.name is None:
            continue
        text = arg.text if isinstance(arg, ir.Literal) else arg.id if isinstance(arg, ir.Name) else None
        if text in ("0", "1"):
            out[param.name] = int(text)
        elif text in ("true", "false", "NULL"):
            out[param.name] = text == "true"
    return out
