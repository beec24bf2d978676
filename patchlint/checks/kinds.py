"""One small checker per finding kind: observations of a scope in, Findings out.

A checker is a subclass of `Checker`; defining it registers it (CHECKERS, in the order
the classes stand here), and its findings get the severity the kind's table in
patchlint/data/kinds.toml gives.  Adding a kind: one table in kinds.toml, one checker
class here, and nothing else (see CONTRIBUTING.md).

Checkers only decide and describe; reporters alone format.  Each finding's
identity leaves out line numbers (a patch moves lines) so the same hazard
before and after a patch is recognised as the same, and names a function with
its file (static functions of one name live in many files).
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import ClassVar

from patchlint.checks.docorder import DocumentedOrder
from patchlint.checks.imbalance import imbalance_report
from patchlint.checks.scope import Scope, in_scope
from patchlint.extract.engine import CONTEXT_KINDS, Edge, Frame
from patchlint.findings import LEVELS, Finding, PathStep, SafeDirty, TraceStep, Witness
from patchlint.printable import quote_path


def _via(path: tuple[Frame, ...]) -> str:
    return " -> ".join(f"{f.function}()" for f in path)


def _lock_event(cls: str, how: str) -> str:
    if how == "spin":
        return f"spin on trylock({cls})"
    if how == "trylock":
        return f"trylock({cls})"
    return f"lock({cls})"


def _witness(cpu: int, path: tuple[Frame, ...], file: str, line: int, function: str, held: tuple[str, ...],
             event: str) -> Witness:
    """What a replay must show of one path: from its root to `function`'s `line`, holding one
    of `held` there."""
    steps = [PathStep(f.function, f.file, f.line) for f in path]
    if steps and steps[-1].function == function and steps[-1].file == file:
        steps[-1] = PathStep(function, file, line)
    else:
        steps.append(PathStep(function, file, line))
    return Witness(cpu, tuple(steps), held, event)


def _edge_witness(cpu: int, e: Edge) -> Witness:
    return _witness(cpu, e.path, e.acquired.file, e.acquired.line, e.acquired.function, (e.held.cls,),
                    _lock_event(e.acquired.cls, e.how))


def _chain(*edges: Edge) -> tuple[TraceStep, ...]:
    steps = []
    for n, e in enumerate(edges):
        steps.append(TraceStep(0, f"-> #{len(edges) - 1 - n} ({e.acquired.cls}): {_lock_event(e.acquired.cls, e.how)}"
                                  f" while holding {e.held.cls} (taken at {e.held.file}:{e.held.line} in "
                                  f"{e.held.function}()), via {_via(e.path)}",
                               e.acquired.file, e.acquired.line, e.acquired.function))
    return tuple(steps)


class Checker:
    """One finding kind: `findings(scope)` yields what the scope shows of it."""

    kind: ClassVar[str]

    def __init_subclass__(cls, **kwargs: object) -> None:
        super().__init_subclass__(**kwargs)
        CHECKERS.append(cls)

    def __init__(self, docs: DocumentedOrder | None = None) -> None:
        self.docs = docs  # the tree's documented lock order, for the checkers that compare with it

    @property
    def severity(self) -> str:
        """The kind's severity, from its table in kinds.toml."""
        return LEVELS[self.kind]

    def findings(self, scope: Scope) -> Iterator[Finding]:
        raise NotImplementedError


CHECKERS: list[type[Checker]] = []  # every checker, in the order its findings are produced


class LockOrderInversion(Checker):
    kind = "lock-order-inversion"

    def findings(self, scope: Scope) -> Iterator[Finding]:
        # one report per pair of locks, as lockdep reports a cycle once: the edge the touched
        # code itself makes if there is one (it points at the patch's line), else the shortest
        def rank(e: Edge) -> tuple:
            return (e.acquired.function not in scope.touched, len(e.path), e.acquired.file, e.acquired.line, e.how)

        chosen: dict[frozenset[str], Edge] = {}
        for edge in _edges_in_scope(scope):
            if (edge.acquired.cls, edge.held.cls) not in scope.reverse:
                continue
            pair = frozenset((edge.held.cls, edge.acquired.cls))
            if pair not in chosen or rank(edge) < rank(chosen[pair]):
                chosen[pair] = edge
        for edge in chosen.values():
            back = scope.reverse[(edge.acquired.cls, edge.held.cls)]
            a, b = edge.held.cls, edge.acquired.cls
            trace = (
                TraceStep(0, _lock_event(a, edge.held.how), edge.held.file, edge.held.line, edge.held.function),
                TraceStep(1, _lock_event(b, back.held.how), back.held.file, back.held.line, back.held.function),
                TraceStep(1, _lock_event(a, back.how), back.acquired.file, back.acquired.line, back.acquired.function),
                TraceStep(0, _lock_event(b, edge.how), edge.acquired.file, edge.acquired.line, edge.acquired.function),
            )
            verb = "spins for" if edge.how == "spin" else "takes"
            yield Finding(
                kind=self.kind, status="new", severity=self.severity, patch=None, file=edge.acquired.file,
                line=edge.acquired.line, function=edge.acquired.function,
                message=(f"{edge.acquired.function}() {verb} {b} while holding {a} (via {_via(edge.path)}), but "
                         f"{back.path[0].function}() holds {b} and takes {a} (via {_via(back.path)}): "
                         f"possible ABBA deadlock"),
                locks=(a, b), trace=trace, chain=_chain(back, edge),
                identity=f"{self.kind}|{_fid(edge.acquired)}|{a}|{b}|{edge.how}",
                witnesses=(_edge_witness(0, edge), _edge_witness(1, back)) + tuple(
                    _edge_witness(1, other) for other in scope.alternatives.get((b, a), []) if other != back),
            )


class RecursiveLocking(Checker):
    kind = "recursive-locking"

    def findings(self, scope: Scope) -> Iterator[Finding]:
        done = set()
        for r in scope.obs.recursive.values():
            if not in_scope([f.function for f in r.path], scope.touched):
                continue
            key = (r.site.file, r.site.function, r.lock.cls, r.lock.how)
            if key in done:
                continue
            done.add(key)
            verb = "spins on a trylock of" if r.lock.how == "spin" else "takes"
            cls = r.lock.cls
            yield Finding(
                kind=self.kind, status="new", severity=self.severity, patch=None, file=r.site.file, line=r.site.line,
                function=r.site.function,
                message=(f"{r.site.function}() {verb} {cls} on {r.instance}, which this path already holds: "
                         f"taken in {r.first.function}() at {r.first.file}:{r.first.line} and passed down via "
                         f"{_via(r.path)}; the task waits for itself"),
                locks=(cls,),
                trace=(TraceStep(0, _lock_event(cls, r.first.how), r.first.file, r.first.line, r.first.function),
                       TraceStep(0, _lock_event(cls, r.lock.how), r.site.file, r.site.line, r.site.function)),
                identity=f"{self.kind}|{_fid(r.site)}|{cls}|{r.lock.how}",
                witnesses=(_witness(0, r.path, r.site.file, r.site.line, r.site.function, (cls,),
                                    _lock_event(cls, r.lock.how)),),
            )


class SpinOnTrylock(Checker):
    kind = "spin-on-trylock"

    def findings(self, scope: Scope) -> Iterator[Finding]:
        done = set()
        for spin in scope.obs.spins.values():
            atomic = list(dict.fromkeys(h for h in spin.held if h.atomic))
            if not atomic or not in_scope([f.function for f in spin.path], scope.touched):
                continue
            locks = [h for h in atomic if h.kind not in CONTEXT_KINDS] or atomic
            site = spin.path[-1]
            key = (site.file, site.function, spin.lock.cls)
            if key in done:
                continue
            done.add(key)
            holder = locks[-1]
            back = scope.reverse.get((spin.lock.cls, holder.cls))
            tail = (f"; {back.path[0].function}() holds {spin.lock.cls} and wants {holder.cls} via {_via(back.path)}"
                    if back else "")
            yield Finding(
                kind=self.kind, status="new", severity=self.severity, patch=None, file=spin.lock.file,
                line=spin.lock.line, function=spin.lock.function,
                message=(f"{spin.lock.function}() retries trylock of {spin.lock.cls} in a loop (line "
                         f"{spin.loop_line}) while holding {', '.join(dict.fromkeys(h.cls for h in atomic))} "
                         f"(via {_via(spin.path)}):"
                         f" a spinning acquisition, ordered after {holder.cls}{tail}"),
                locks=(holder.cls, spin.lock.cls),
                # a chain, not a trace: this is where the locks are taken, not a replayed interleaving
                chain=(TraceStep(0, _lock_event(holder.cls, holder.how), holder.file, holder.line, holder.function),
                       TraceStep(0, _lock_event(spin.lock.cls, "spin"), spin.lock.file, spin.lock.line,
                                 spin.lock.function)),
                identity=f"{self.kind}|{_fid(spin.lock)}|{holder.cls}|{spin.lock.cls}",
                witnesses=(_witness(0, spin.path, spin.lock.file, spin.lock.line, spin.lock.function,
                                    tuple(dict.fromkeys(h.cls for h in locks)), _lock_event(spin.lock.cls, "spin")),),
            )


class DocumentedOrderViolation(Checker):
    kind = "documented-order"

    def findings(self, scope: Scope) -> Iterator[Finding]:
        if self.docs is None:
            return
        done = set()
        for edge in _edges_in_scope(scope):
            said = self.docs.inverted(edge.held.cls, edge.acquired.cls)
            if said is None:
                continue
            key = (edge.acquired.file, edge.acquired.function, edge.held.cls, edge.acquired.cls)
            if key in done:
                continue
            done.add(key)
            outer, inner = said
            yield Finding(
                kind=self.kind, status="new", severity=self.severity, patch=None, file=edge.acquired.file,
                line=edge.acquired.line, function=edge.acquired.function,
                message=(f"{edge.acquired.function}() {'spins for' if edge.how == 'spin' else 'takes'} "
                         f"{edge.acquired.cls} while holding {edge.held.cls} (via {_via(edge.path)}), but "
                         f"{outer.file}:{outer.line} documents {edge.acquired.cls} ({outer.text}) outside "
                         f"{edge.held.cls} ({inner.file}:{inner.line}: {inner.text})"),
                locks=(edge.held.cls, edge.acquired.cls),
                chain=_chain(edge),
                identity=f"{self.kind}|{_fid(edge.acquired)}|{edge.held.cls}|{edge.acquired.cls}",
            )


class SleepInAtomic(Checker):
    kind = "sleep-in-atomic"

    def findings(self, scope: Scope) -> Iterator[Finding]:
        done = set()
        for s in scope.obs.sleeps.values():
            if not in_scope([f.function for f in s.path], scope.touched):
                continue
            key = (s.site.file, s.site.function, s.what.split("(")[0], tuple(h.cls for h in s.atomic))
            if key in done:
                continue
            done.add(key)
            held = ", ".join(f"{h.cls} (taken in {h.function}() at {quote_path(h.file or '')}:{h.line})"
                             for h in s.atomic)
            yield Finding(
                kind=self.kind, status="new", severity=self.severity, patch=None, file=s.site.file, line=s.site.line,
                function=s.site.function,
                message=f"{s.what} may sleep, but {s.site.function}() is reached with {held} via {_via(s.path)}",
                locks=tuple(h.cls for h in s.atomic),
                identity=f"{self.kind}|{_fid(s.site)}|{s.what.split('(')[0]}|{','.join(h.cls for h in s.atomic)}",
                witnesses=(_witness(0, s.path, s.site.file, s.site.line, s.site.function,
                                    tuple(dict.fromkeys(h.cls for h in s.atomic)), s.what),),
            )


class UnsafeSetPageDirty(Checker):
    kind = "unsafe-set-page-dirty"

    def findings(self, scope: Scope, explain: bool = False) -> Iterator[Finding]:
        by_site: dict[tuple[str, int], list] = {}
        for d in scope.obs.dirties:
            by_site.setdefault((d.site.file, d.site.line), []).append(d)
        for (file, line), ds in sorted(by_site.items()):
            if not any(in_scope([f.function for f in d.path], scope.touched) for d in ds):
                continue
            unsafe = [d for d in ds if not d.safe]
            fn = ds[0].site.function
            if not unsafe:
                continue
            d = unsafe[0]
            atomic_ctx = any(f.function != fn for f in d.path)  # refined below by the held locks
            suggestion = ("; set_page_dirty_lock() takes the page lock first, where sleeping is allowed"
                          if atomic_ctx else "; use set_page_dirty_lock()")
            yield Finding(
                kind=self.kind, status="new", severity=self.severity, patch=None, file=file, line=line, function=fn,
                message=f"{d.call} via {_via(d.path)}: {d.rule}{suggestion}",
                explanation="; ".join(sorted({x.rule for x in ds})),
                identity=f"{self.kind}|{file}:{fn}|{d.call}",
            )

    def safe_sites(self, scope: Scope) -> Iterator[SafeDirty]:
        """The sites found safe, for --explain."""
        seen = set()
        for d in scope.obs.dirties:
            key = (d.site.file, d.site.line)
            if d.safe and key not in seen and not any(
                    x.site.file == d.site.file and x.site.line == d.site.line and not x.safe
                    for x in scope.obs.dirties):
                seen.add(key)
                yield SafeDirty(d.site.file, d.site.line, d.site.function, d.rule)


class LockImbalance(Checker):
    kind = "lock-imbalance"

    def findings(self, scope: Scope) -> Iterator[Finding]:
        # sparse's three context rules on the walk's paths (checks.imbalance says how)
        yield from imbalance_report(scope).imbalances


class DoubleUnlock(Checker):
    kind = "double-unlock"

    def findings(self, scope: Scope) -> Iterator[Finding]:
        yield from imbalance_report(scope).double_unlocks


class AnalysisIncomplete(Checker):
    kind = "analysis-incomplete"

    def findings(self, scope: Scope) -> Iterator[Finding]:
        if scope.obs.budget_hit:
            cut = sorted(set(scope.obs.cut_roots))
            where = (f"; cut short from {len(cut)} root function(s): {', '.join(cut[:8])}"
                     f"{', ...' if len(cut) > 8 else ''}" if cut else "")
            yield Finding(kind=self.kind, status="new", severity=self.severity, patch=None, file=None, line=None,
                          function=None, message=f"exploration budget hit after {scope.obs.walks} function walks"
                          f"{where}; paths beyond it were not analysed", identity=f"{self.kind}|budget")
        # Indirect calls nothing in the tree resolves stay visible: what runs there is unknown.
        # (Direct calls without a definition are macros and arch helpers: many, mostly
        # lock-free, and not reported one by one.)
        unresolved: dict[tuple[str, str], list[str]] = {}
        for u in scope.obs.unresolved.values():
            if u.site.function in scope.touched and u.why != "no definition in the tree":
                unresolved.setdefault((u.site.file, u.site.function), []).append(f"{u.callee} ({u.why})")
        for (file, fn), calls in sorted(unresolved.items()):
            names = sorted(set(calls))
            yield Finding(kind=self.kind, status="new", severity=self.severity, patch=None, file=file, line=None,
                          function=fn, message=f"{fn}() makes {len(names)} indirect call(s) the analysis could "
                          f"not resolve, so their locking is not seen: {', '.join(names)}",
                          identity=f"{self.kind}|{file}:{fn}|unresolved")
        # files the analysis read on the way (callers, callees) that it could not read, or read
        # past a bound; the series' own files are reported for the patch that changes them
        # files read on the way are context, not the patch's own: a check, below the kind's level
        for u in sorted({u for u in scope.index.unparsed if u.path not in scope.index.overlay}, key=lambda u: u.path):
            what = "was read only in part" if u.partly else "was not analysed"
            yield Finding(kind=self.kind, status="new", severity="check", patch=None, file=u.path, line=None,
                          function=None,
                          message=f"{quote_path(u.path)} {what} ({u.reason}); calls and locks in it are not seen",
                          identity=f"{self.kind}|{u.path}|{'bounded' if u.partly else 'unread'}")
        # paths whose locks went to a call nobody can read, where they alone would decide a verdict
        yield from imbalance_report(scope).notes
        for file, fn in sorted(scope.obs.incomplete):
            if fn in scope.touched:
                yield Finding(kind=self.kind, status="new", severity="check", patch=None, file=file, line=None,
                              function=fn, message=f"{fn}() has code the front-end could not read (parse error or "
                              "nesting too deep); its events there are not analysed",
                              identity=f"{self.kind}|{file}:{fn}|unparsed")


def _fid(where) -> str:
    """A function as an identity names it: static functions of one name live in many files."""
    return f"{where.file}:{where.function}"


def _edges_in_scope(scope: Scope) -> Iterator[Edge]:
    for edge in scope.obs.edges.values():
        if in_scope([f.function for f in edge.path], scope.touched):
            yield edge
