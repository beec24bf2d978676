"""sparse's context rules, on the walk's paths: how each function a check is about leaves the
locks it takes, and what it releases without holding.

For every lock class C a function F takes itself (or gets from a helper it calls), judged on
the walks of F entered without C, path by path:

- **wrong count at exit**: every path returns holding C, and no `__acquires(C)` says so (a
  lock helper says so with the annotation, as sparse asks);
- **different lock contexts**: some paths return holding C and others not, and neither
  `__cond_acquires(C)` nor the kernel's convention says which: a pointer returned non-NULL
  with C and NULL (or an ERR_PTR()) without it, or -- for any other result -- distinct values
  on the two sides *that every caller in the tree tests* (`if (foo_trylock(x))`, `ret =
  foo_trylock(x); if (ret)`, `return foo_trylock(x);`).  Literal values alone decide nothing:
  `return -1` holding C beside `return 0` without it is an imbalance unless a caller tests it;
- **unexpected unlock**: F releases C on a path that does not hold it -- the unlock of a lock
  whose trylock (or killable lock) failed on that path, or of a lock F never takes when nothing
  in the tree calls F or points to it, so no caller can have taken it for F;
- **double unlock** (its own kind): the path released C on the same object before.

`__releases(C)`/`__must_hold(C)` make F's walks start holding C.  A path that handed its locks
to a call nobody can read (no definition in the tree, a pointer nothing resolves) is not
judged for them: where such paths alone would decide a verdict, an `analysis-incomplete` note
says so instead.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from patchlint.checks.scope import Scope
from patchlint.checks.tested import result_tested, unreferenced
from patchlint.cparse.defs import FunctionDef
from patchlint.extract.annotations import LockContract
from patchlint.extract.facts import ReleasedFact, ReturnedFact, ReturnsErrFact, ReturnsFact, UnknownFact, VarFact
from patchlint.extract.observations import BadRelease, Exit
from patchlint.findings import LEVELS, Finding, TraceStep

SPARSE_EXIT = "wrong count at exit"
SPARSE_BLOCK = "different lock contexts for basic block"
SPARSE_UNLOCK = "unexpected unlock"
SPINNING = frozenset({"spinlock", "rwlock"})  # the lock kinds sparse's contexts count in kernels
# Contexts sparse does not count: the kernel annotates rcu_read_lock() (`__acquires(RCU)`), not
# preempt_disable() or local_irq_save(), whose pairs often sit in different functions
UNCOUNTED = frozenset({"preempt", "irq"})


@dataclass
class ImbalanceReport:
    imbalances: list[Finding] = field(default_factory=list)
    double_unlocks: list[Finding] = field(default_factory=list)
    notes: list[Finding] = field(default_factory=list)


@dataclass(frozen=True)
class _Path:
    """One exit of F, as it stands for one lock class."""

    exit: Exit
    state: str  # "holds", "free", "unknown"
    unknown: UnknownFact | None  # the call that left it unknown


def imbalance_report(scope: Scope) -> ImbalanceReport:
    """The lock-imbalance and double-unlock findings of the scope's functions, and the notes on
    verdicts unknown calls kept from being made (computed once per scope)."""
    cached = scope.memo.get("imbalance")
    if isinstance(cached, ImbalanceReport):
        return cached
    report = ImbalanceReport()
    exits: dict[tuple[str, str], list[Exit]] = {}
    for x in scope.obs.returns:
        if x.function.name in scope.touched:
            exits.setdefault((x.function.file, x.function.name), []).append(x)
    releases: dict[tuple[str, str], list[BadRelease]] = {}
    for r in scope.obs.unheld.values():
        if r.function.name in scope.touched:
            releases.setdefault((r.function.file, r.function.name), []).append(r)
    for key in sorted(exits.keys() | releases.keys()):
        fn = exits[key][0].function if key in exits else releases[key][0].function
        contract = scope.engine.annotations(fn)
        # a lock it releases where no path holds it is its caller's: it drops it (and may retake
        # it); its returns are judged for it from the caller's side, not as if it had taken it
        mine = exits.get(key, [])
        callers = {r.lock.cls for r in releases.get(key, []) if r.why.why == "never" and
                   (r.site.file, r.site.line, r.lock.cls) not in scope.obs.held_releases}
        _exits(scope, fn, contract, mine, report, callers)
        # and such a lock of its caller's, released on some paths: judged from the caller's side,
        # for the spinning locks sparse counts (a sleeping lock dropped on some paths is a protocol
        # the result or an out-parameter usually tells, as gup's `*locked` and VM_FAULT_RETRY do).
        # (Only on its walks from no caller: entered holding the lock from a caller, which of its
        # paths release it turns on what that caller's paths knew -- `if (ci) spin_unlock(..)`
        # -- more than the walk carries into it.)
        for cls in sorted(callers):
            kinds = {r.lock.kind for r in releases.get(key, []) if r.lock.cls == cls}
            if kinds & SPINNING and contract.about(cls) is None:
                _callers_lock(scope, fn, cls, [x for x in mine if not x.called], report)
        _releases(scope, fn, contract, releases.get(key, []), report)
    scope.memo["imbalance"] = report
    return report


# -- how a function returns ----------------------------------------------------------------------
def _own(x: Exit, name: str) -> set[str]:
    """The classes x returns holding that the function took itself (or got from a helper it
    called), not its caller's."""
    return {h.cls for h in x.variant.held if h.how in ("lock", "trylock") and h.taken_in(name) is not None
            and h.cls not in x.entry and h.kind not in UNCOUNTED}


def _paths(exits: list[Exit], cls: str, name: str) -> list[_Path]:
    # the walks that name the lock so (a walk from a caller holding the lock its parameter points
    # to names it by the caller's class, a walk from elsewhere `@paramN`): each judged in its terms
    walks = {x.walk for x in exits if cls in _own(x, name)}
    out = []
    for x in exits:
        if cls in x.entry or x.walk not in walks:
            continue  # entered holding it: whether the caller's lock is "kept" says nothing here
        unknown = next((f for f in sorted(x.variant.facts, key=repr)
                        if isinstance(f, UnknownFact) and cls in f.classes), None)
        state = "unknown" if unknown is not None else "holds" if cls in _own(x, name) else "free"
        out.append(_Path(x, state, unknown))
    return out


def _exits(scope: Scope, fn: FunctionDef, contract: LockContract, exits: list[Exit], report: ImbalanceReport,
           callers: set[str]) -> None:
    name = fn.name
    for cls in sorted({c for x in exits for c in _own(x, name)} - callers):
        # an annotation on a parameter names, on a walk from a caller, the caller's class
        said = contract.about(cls) or next((contract.about(f"@param{i}") for x in exits for i, c in x.params
                                            if c == cls and contract.about(f"@param{i}")), None)
        if said is not None and said.name != "__acquires":
            continue  # __cond_acquires, or entered holding it (__releases, __must_hold): as it says
        paths = _paths(exits, cls, name)
        holds = [p for p in paths if p.state == "holds"]
        free = [p for p in paths if p.state == "free"]
        unknown = [p for p in paths if p.state == "unknown"]
        if said is not None:
            if free:  # `__acquires(C)`, and a path returns without it
                report.imbalances.append(_finding(fn, cls, SPARSE_EXIT, paths, free[0], holds[0] if holds else None,
                                                  f"{name}() is annotated __acquires({said.text}) but returns "
                                                  f"without {cls} on some paths", unknown))
            continue
        if holds and free:
            if _conditional(scope, fn, holds, free):
                continue
            report.imbalances.append(_finding(
                fn, cls, SPARSE_BLOCK, paths, holds[0], free[0],
                f"{name}() returns with {cls} held on some paths and released on others, and neither an "
                f"annotation (__acquires, __cond_acquires) nor a result every caller tests says which", unknown))
        elif holds and not unknown:
            report.imbalances.append(_finding(
                fn, cls, SPARSE_EXIT, paths, holds[0], None,
                f"{name}() returns with {cls} held on every path, and no __acquires({cls}) annotation says "
                f"it hands the lock to its caller", unknown))
        elif unknown and (holds or any(cls in _own(p.exit, name) for p in unknown)):
            report.notes.append(_note(scope, fn, cls, unknown))


def _released(x: Exit, cls: str) -> bool:
    """Whether the path released `cls` itself and returns without it."""
    return not x.variant.holds(cls) and any(isinstance(f, ReleasedFact) and f.cls == cls for f in x.variant.facts)


def _callers_lock(scope: Scope, fn: FunctionDef, cls: str, exits: list[Exit], report: ImbalanceReport) -> None:
    """A lock the function releases without having taken it is its caller's: each path returns it
    kept (never released, or released and taken again) or released.  Some of each, with nothing
    in the result to tell them apart, is an imbalance counted from the caller's side."""
    paths = [_Path(x, "free" if _released(x, cls) else "holds", None) for x in exits
             if not any(isinstance(f, UnknownFact) and cls in f.classes for f in x.variant.facts)]
    kept = [p for p in paths if p.state == "holds"]
    dropped = [p for p in paths if p.state == "free"]
    if not kept or not dropped or _conditional(scope, fn, kept, dropped) or _flagged(kept, dropped):
        return
    # where it released it, when it did so itself (a helper it called may have)
    unlocks = sorted(f.line for p in dropped for f in p.exit.variant.facts
                     if isinstance(f, ReleasedFact) and f.cls == cls)
    name = fn.name
    steps = tuple(TraceStep(0, f"unlock({cls})", fn.file, line, name) for line in unlocks[:1]) + (
        TraceStep(0, f"return without {cls}", fn.file, min(p.exit.site.line for p in dropped), name),
        TraceStep(0, f"return holding {cls}", fn.file, min(p.exit.site.line for p in kept), name))
    report.imbalances.append(Finding(
        kind="lock-imbalance", status="new", severity=LEVELS["lock-imbalance"], patch=None, file=fn.file,
        line=steps[-2].line, function=name,
        message=(f"{name}() releases {cls}, which it never takes first (its caller's), and returns without it "
                 f"on some paths and with it on others, and nothing in its result says which (sparse: context "
                 f"imbalance - {SPARSE_BLOCK})"),
        locks=(cls,), chain=steps, identity=f"lock-imbalance|{fn.file}:{name}|{cls}"))


def _flagged(kept: list[_Path], dropped: list[_Path]) -> bool:
    """Whether a flag the caller passed by address says which (`*locked = 0;` where it dropped
    the lock): a `*name` the two sides set to different values."""
    def values(paths: list[_Path], name: str) -> set[bool | None]:
        return {next((f.value for f in p.exit.variant.facts if isinstance(f, VarFact) and f.name == name), None)
                for p in paths}

    names = {f.name for p in kept + dropped for f in p.exit.variant.facts
             if isinstance(f, VarFact) and f.name.startswith("*")}
    return any(None not in values(kept, n) | values(dropped, n) and not values(kept, n) & values(dropped, n)
               for n in names)


def _conditional(scope: Scope, fn: FunctionDef, holds: list[_Path], free: list[_Path]) -> bool:
    """Whether the function's result tells its callers which paths hold the lock (module doc)."""
    def constant(p: _Path) -> bool | None:
        return next((f.value for f in p.exit.variant.facts if isinstance(f, ReturnsFact)), None)

    def truth(p: _Path) -> bool | str | None:
        if ReturnsErrFact() in p.exit.variant.facts:
            return "err"
        return next((f.value for f in p.exit.variant.facts if isinstance(f, (ReturnsFact, ReturnedFact))), None)

    held_c, free_c = {constant(p) for p in holds}, {constant(p) for p in free}
    held_p, free_p = {truth(p) for p in holds}, {truth(p) for p in free}
    if "err" in held_p or {True, False} <= held_c:
        return False  # an ERR_PTR() holding the lock, or true and false alike holding it: nothing tells
    if "*" in fn.return_type:
        # a pointer: non-NULL with the lock, NULL or an ERR_PTR() without (lock_cluster())
        if free_c <= {False} and None not in free_c and not held_c & free_c:
            return True
        if free_p <= {False, "err"} and not held_p & free_p:
            return True
        return False
    # any other result: distinct values on the two sides, and every caller tests it
    if None in held_p or None in free_p or held_p & free_p:
        return False
    return result_tested(scope.index, fn, scope.engine.v.assertions)


def _first_taken(paths: list[_Path], cls: str, name: str) -> tuple[str, int, str]:
    """(file, line, how) of the earliest acquisition of `cls` the function made on these paths."""
    found = sorted((*h.taken_in(name), h.how) for p in paths for h in p.exit.variant.held  # type: ignore[misc]
                   if h.cls == cls and h.taken_in(name) is not None)
    return found[0] if found else (paths[0].exit.function.file, paths[0].exit.function.start_line, "lock")


def _finding(fn: FunctionDef, cls: str, sparse: str, paths: list[_Path], first: _Path, second: _Path | None,
             message: str, unknown: list[_Path]) -> Finding:
    name = fn.name
    clean = [p for p in paths if p.state != "unknown"]
    taken_file, taken_line, how = _first_taken([p for p in clean if p.state == "holds"] or clean, cls, name)
    steps = [TraceStep(0, f"{'trylock' if how == 'trylock' else 'lock'}({cls})", taken_file, taken_line, name)]
    for p in (first, second):
        if p is not None:
            what = "return holding" if p.state == "holds" else "return without"
            line = min(q.exit.site.line for q in clean if q.state == p.state)
            steps.append(TraceStep(0, f"{what} {cls}", fn.file, line, name))
    if unknown:
        u = unknown[0].unknown
        message += (f" ({len({p.exit.site.line for p in unknown})} return(s) after {u.callee}() at line {u.line} "
                    f"not judged: what it does with {cls} is not known)") if u is not None else ""
    anchor = steps[1] if len(steps) > 1 else steps[0]
    return Finding(kind="lock-imbalance", status="new", severity=LEVELS["lock-imbalance"], patch=None, file=fn.file,
                   line=anchor.line, function=name, message=f"{message} (sparse: context imbalance - {sparse})",
                   locks=(cls,), chain=tuple(steps), identity=f"lock-imbalance|{fn.file}:{name}|{cls}")


def _note(scope: Scope, fn: FunctionDef, cls: str, unknown: list[_Path]) -> Finding:
    u = unknown[0].unknown
    assert u is not None
    why = next((r.why for r in scope.obs.unresolved.values()
                if r.site.file == u.file and r.site.line == u.line and r.callee == u.callee), None)
    reason = f"{u.callee}() {'has ' + why if why == 'no definition in the tree' else 'is ' + why}" if why else \
        f"{u.callee}() hands {cls} to code the analysis cannot read"
    lines = sorted({p.exit.site.line for p in unknown})
    return Finding(
        kind="analysis-incomplete", status="new", severity="check", patch=None, file=fn.file, line=lines[0],
        function=fn.name,
        message=(f"{fn.name}(): whether {cls} is still held where it returns (line(s) "
                 f"{', '.join(map(str, lines[:5]))}) is not known: those paths pass {u.callee}() at line {u.line} "
                 f"holding it, and {reason}; no lock-imbalance verdict on them"),
        locks=(cls,), identity=f"analysis-incomplete|{fn.file}:{fn.name}|{cls}|unknown-call")


# -- what a function releases without holding ----------------------------------------------------
def _releases(scope: Scope, fn: FunctionDef, contract: LockContract, bad: list[BadRelease],
              report: ImbalanceReport) -> None:
    name = fn.name
    done: set[tuple[str, str]] = set()
    for r in sorted(bad, key=lambda r: (r.site.line, r.lock.cls, r.why.why)):
        cls = r.lock.cls
        said = contract.about(cls)
        if said is not None and said.name in ("__releases", "__must_hold"):
            continue  # entered holding it, by its annotation
        if r.why.why == "double":
            if (cls, "double") in done:
                continue
            done.add((cls, "double"))
            report.double_unlocks.append(Finding(
                kind="double-unlock", status="new", severity=LEVELS["double-unlock"], patch=None, file=fn.file,
                line=r.site.line, function=name,
                message=(f"{name}() releases {cls} at line {r.site.line} on a path that already released it at "
                         f"line {r.why.line}"),
                locks=(cls,),
                chain=(TraceStep(0, f"unlock({cls})", fn.file, r.why.line or r.site.line, name),
                       TraceStep(0, f"unlock({cls}) again", fn.file, r.site.line, name)),
                identity=f"double-unlock|{fn.file}:{name}|{cls}"))
            continue
        if (cls, "unlock") in done:
            continue
        if r.why.why == "failed":
            message = (f"{name}() releases {cls} at line {r.site.line} on a path where its attempt to take it at "
                       f"line {r.why.line} failed: it unlocks a lock it never took")
            chain = (TraceStep(0, f"trylock({cls}) fails", fn.file, r.why.line or r.site.line, name),
                     TraceStep(0, f"unlock({cls})", fn.file, r.site.line, name))
        elif not r.called and unreferenced(scope.index, fn):
            message = (f"{name}() releases {cls} at line {r.site.line}, which it never took on that path, and "
                       f"nothing in the tree calls it or points to it holding {cls} (no __releases annotation)")
            chain = (TraceStep(0, f"unlock({cls})", fn.file, r.site.line, name),)
        else:
            continue  # its caller's lock, released for it: the caller's walk judges that
        done.add((cls, "unlock"))
        report.imbalances.append(Finding(
            kind="lock-imbalance", status="new", severity=LEVELS["lock-imbalance"], patch=None, file=fn.file,
            line=r.site.line, function=name, message=f"{message} (sparse: context imbalance - {SPARSE_UNLOCK})",
            locks=(cls,), chain=chain, identity=f"lock-imbalance|{fn.file}:{name}|{cls}|unlock"))
