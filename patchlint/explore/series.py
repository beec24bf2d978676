"""Model findings for a series: run the catalog's scenarios whose threads reach
what a patch touches, before and after the patch, and class the hazards
new / fixed / existing like the static findings."""

from __future__ import annotations

import hashlib
import re
import time
from collections import deque
from pathlib import Path
from typing import TYPE_CHECKING

from patchlint.checks.series import classify, overlays, touched_names
from patchlint.cparse.cache import SummaryCache
from patchlint.cparse.index import FunctionIndex, overlay_digest
from patchlint.cparse.profile import Profile, load_profile
from patchlint.explore.catalog import catalog as scenario_files
from patchlint.explore.placement import one_per_site, place
from patchlint.findings import LEVELS, Finding
from patchlint.records import Note
from patchlint.source.apply import AppliedSeries
from patchlint.stamps import code_digest

if TYPE_CHECKING:
    from patchlint.explore.explorer import Result
    from patchlint.model.state import Scenario


REACH_DEPTH = 8


def thread_calls(sc) -> set[str]:
    """Functions the scenario's threads call directly."""
    from patchlint.cparse import ir

    out: set[str] = set()
    for _, body, _ in sc.threads:
        out.update(node.name for node in ir.walk(body.block) if isinstance(node, ir.Call) and node.name)
    return out


_LOCAL_INIT = re.compile(rb"\.\s*([A-Za-z_]\w*)\s*=\s*&?\s*([A-Za-z_]\w*)\s*[,}\n]")
_CALLEE_MEMBER = re.compile(r"(?:->|\.)\s*([A-Za-z_]\w*)\s*\)?\s*$")
_CALLEE_VAR = re.compile(r"\(?\s*\*?\s*([A-Za-z_]\w*)\s*\)?")


def reach(index: FunctionIndex, roots: set[str], depth: int = REACH_DEPTH,
          deadline: float | None = None, memo: dict | None = None) -> set[str] | None:
    """Names reachable from `roots` within `depth` calls: direct calls, and calls through a
    pointer read from a struct member.  Such a call reaches what a designated initializer of
    a function already reached puts in that member (6.x's `rwc.rmap_one = try_to_unmap_one`),
    else what any initializer in the tree does (`swap_aops.set_page_dirty`).  Selection may
    take in a scenario the patch cannot affect; it must not leave out one it can.  None when
    `deadline` (time.monotonic()) passed first: on a big tree with a cold cache the walk parses
    hundreds of files.  `memo` keeps what each function calls, for the next walk over the same
    index."""
    memo = {} if memo is None else memo
    seen = set(roots)
    local: dict[str, set[str]] = {}  # member -> functions put in it by the reached functions
    queue = deque((name, 0) for name in sorted(roots))
    while queue:
        name, d = queue.popleft()
        if d >= depth:
            continue
        if deadline is not None and time.monotonic() > deadline:
            return None
        if name not in memo:
            memo[name] = _calls_of(index, name)
        _, direct, inits, members = memo[name]
        for member, value in inits:
            local.setdefault(member, set()).add(value)
        nexts = list(direct)
        for member in members:
            nexts.extend(sorted(local.get(member) or index.ops_targets(member)))
        for callee in nexts:
            if callee not in seen:
                seen.add(callee)
                queue.append((callee, d + 1))
    return seen


def _calls_of(index: FunctionIndex, name: str) -> tuple[str | None, tuple[str, ...], tuple, tuple[str, ...]]:
    """The file defining a function, its direct callees, the (member, function) pairs its
    designated initializers set, and the members its indirect calls read."""
    for fn in index.definitions(name)[:1]:
        text = (index.read(fn.file) or b"")[fn.start_byte:fn.end_byte]
        inits = tuple((m.group(1).decode(), m.group(2).decode()) for m in _LOCAL_INIT.finditer(text))
        direct = tuple(c.callee for c in fn.calls if not c.indirect)
        return fn.file, direct, inits, tuple(sorted(_pointer_members(fn, text)))
    return None, (), (), ()


class _CallGraph(dict):
    """_calls_of() for one index, seeded from what earlier runs learnt of the tree without the
    series: an entry stands unless the overlay changes the file it came from or defines the name."""

    def __init__(self, index: FunctionIndex, base: dict):
        super().__init__()
        self.index, self.base = index, base
        self.overlaid = {f.name for path, data in index.overlay.items() if data is not None
                         for f in getattr(index.parsed(path), "functions", ())}

    def __missing__(self, name: str):
        entry = self.base.get(name)
        if entry is None or entry[0] in self.index.overlay or name in self.overlaid:
            entry = _calls_of(self.index, name)
            if entry[0] not in self.index.overlay and name not in self.overlaid:
                self.base[name] = entry
        self[name] = entry
        return entry

    def __contains__(self, name: object) -> bool:
        return True  # every name answers, through __missing__


def _pointer_members(fn, text: bytes) -> set[str]:
    """The struct members fn's indirect calls read their function from: `rwc->rmap_one(...)`,
    or `spd = mapping->a_ops->set_page_dirty; (*spd)(page)`."""
    out: set[str] = set()
    for c in fn.calls:
        if not c.indirect:
            continue
        m = _CALLEE_MEMBER.search(c.callee)
        if m:
            out.add(m.group(1))
            continue
        var = _CALLEE_VAR.fullmatch(c.callee.strip())
        if var:
            # `spd = ...->m;` or the declaration `int (*spd)(struct page *) = ...->m;`
            assign = re.compile(rb"\b" + re.escape(var.group(1).encode()) +
                                rb"\b[^;=]*=[^;=][^;]*?(?:->|\.)\s*([A-Za-z_]\w*)\s*;")
            out.update(a.group(1).decode() for a in assign.finditer(text))
    return out


# On the fixture tree every scenario completes in well under a second; on a 6.x tree the model
# gets lost in code it cannot decide, so a default-on check must give up early and say so.
# The budgets that decide a verdict count interpreter steps and states, so a run cut short is
# cut at the same place on every machine and the report is the same bytes; the times are
# backstops for a machine far slower than the one these were measured on (about 500,000 steps
# a second on Linux 6.12, 2026: a run's steps take about 3 s, a check's about 9 s).
MAX_STEPS = 1_500_000  # one scenario on one side of one patch, in check
MAX_STATES = 100000
TOTAL_STEPS = 4_500_000  # the model's share of one check, over every patch and scenario
MAX_SECONDS = 12.0
TOTAL_SECONDS = 36.0
SHOWN = 8  # unresolved calls named in a finding's message


def result_findings(result: Result) -> list[Finding]:
    out = []
    for h in result.hazards:
        out.append(Finding(
            kind=h.kind, status="new", severity=LEVELS[h.kind], patch=None, file=h.site[0],
            line=h.site[1], function=h.site[2], message=f"{h.message} (scenario {result.scenario})",
            scenario=result.scenario, trace=h.trace, identity=f"{h.kind}|{result.scenario}|{h.site[2]}",
        ))
    if not result.complete:
        why = result.incomplete or "exploration incomplete"
        # how far a run got before its time ran out depends on the machine: not in the report
        where = "" if why.endswith(": time") else f" after {result.states} states"
        out.append(_incomplete(result.scenario, f"{why}{where}; hazards beyond it are not ruled out", "budget"))
    return out


def _names(names: set[str] | list[str]) -> str:
    names = sorted(set(names))
    more = f" and {len(names) - SHOWN} more" if len(names) > SHOWN else ""
    return f"{len(names)} call(s): {', '.join(names[:SHOWN])}{more}"


def explore_cached(index: FunctionIndex, sc: Scenario, bound: int, cache: SummaryCache,
                   keep_incomplete: bool = False, **budget) -> Result:
    """explore(), its results kept in the cache.  A result is a function of the whole tree (what
    is defined where decides what the interpreter follows), the overlay, the profile, the
    scenario and the model's code.  A run cut short also depends on its budget and the machine:
    it is kept (under its budget) only when `keep_incomplete`, so that a tree the model cannot
    finish costs its budget once, not at every check; it never claims more than "undecided"."""
    from patchlint.explore.explorer import Result, explore

    key = index.state_key("model", sc.digest, bound) if sc.digest else None
    if key is None:
        return explore(index, sc, bound, **budget)
    found = cache.get(key, Result, counted=False)
    # a complete run is the same under any budget that lets it complete
    if found is not None and found.states <= budget.get("max_states", found.states) and \
            found.steps <= budget.get("max_steps", found.steps):
        return found
    cut_key = key + "-" + hashlib.sha256(repr(sorted(budget.items())).encode()).hexdigest()[:16]
    if keep_incomplete:
        found = cache.get(cut_key, Result, counted=False)
        if found is not None:
            return found
    result = explore(index, sc, bound, **budget)
    if result.complete:
        cache.put(key, result)
    elif keep_incomplete:
        cache.put(cut_key, result)
    return result


def _incomplete(scenario: str, what: str, why: str) -> Finding:
    return Finding(kind="analysis-incomplete", status="new", severity=LEVELS["analysis-incomplete"], patch=None,
                   file=None, line=None, function=None, message=f"scenario {scenario}: {what}", scenario=scenario,
                   identity=f"analysis-incomplete|{scenario}|{why}")


def model_findings(applied: AppliedSeries, profile: Profile | None = None, cache: SummaryCache | None = None,
                   catalog: list[Path] | None = None, bound: int = 2, progress=None,
                   scenarios: list[Scenario] | None = None, max_seconds: float = MAX_SECONDS,
                   max_states: int = MAX_STATES, total_seconds: float = TOTAL_SECONDS,
                   notes: list[Note] | None = None, max_steps: int = MAX_STEPS,
                   total_steps: int = TOTAL_STEPS, cut: list[str] | None = None) -> list[Finding]:
    """`scenarios` (already loaded) or the scenario files `catalog` (default: the shipped catalog).

    Each run is bounded by max_steps and max_states, the whole series by total_steps (and, as
    backstops, by max_seconds and total_seconds); a run cut short, or one not made for want of
    budget, is an analysis-incomplete finding.  Calls
    the model could not follow are listed in `notes`; those the patch brings (not followed
    after it, followed or absent before) are an analysis-incomplete finding too.  The scenarios
    the clock cut short are added to `cut`."""
    profile = profile or load_profile()
    cache = cache if cache is not None else SummaryCache()
    paths = None if scenarios is not None else (catalog if catalog is not None else scenario_files())
    budget = dict(bound=bound, max_states=max_states, max_steps=max_steps, total_steps=total_steps)
    key = _series_key(applied, profile, cache, scenarios, paths, budget)
    if key is not None:
        found = cache.get(key, tuple, counted=False)
        if found is not None:
            if notes is not None:
                notes.extend(found[1])
            return list(found[0])
    # parsed (and checked) only now: files already in a kept result loaded cleanly then
    from patchlint.explore.scenario import load_catalog

    loaded = scenarios if scenarios is not None else load_catalog(paths or [])
    mine: list[Note] = []
    timed: list[str] = []
    findings = _model_findings(applied, profile, cache, loaded, bound, progress, max_seconds, max_states,
                               total_seconds, mine, max_steps, total_steps, timed)
    if notes is not None:
        notes.extend(mine)
    if cut is not None:
        cut.extend(timed)
    # a run the clock cut short says something about this machine, not about the series
    if key is not None and not timed:
        cache.put(key, (tuple(findings), tuple(mine)))
    return findings


def _series_key(applied: AppliedSeries, profile: Profile, cache: SummaryCache, loaded: list[Scenario] | None,
                paths: list[Path] | None, budget: dict) -> str | None:
    """Everything the model's verdicts on a series are a function of: the tree, each patch's
    before and after bytes, the profile, the scenarios (their files' names and bytes), the step
    budgets and the code."""
    ident = applied.tree.identity()
    if ident is None or cache.directory is None:
        return None
    if loaded is not None:
        if not all(sc.digest for sc in loaded):
            return None
        scenarios = [(sc.file, sc.digest) for sc in loaded]
    else:
        try:
            scenarios = [(str(p), hashlib.sha256(Path(p).read_bytes()).hexdigest()) for p in paths or []]
        except OSError:
            return None  # loading says which file, and why
    patches = []
    for patch in applied.series.patches:
        if not applied.results[patch.index - 1].applied:
            patches.append((patch.index, None))
            continue
        states = [overlay_digest(o) for o in overlays(applied, patch.index)]
        patches.append((patch.index, states))
    material = (ident, patches, FunctionIndex(applied.tree, profile, cache).configuration(),
                scenarios, sorted(budget.items()), code_digest())
    return "model-series-" + hashlib.sha256(repr(material).encode()).hexdigest()


def _model_findings(applied: AppliedSeries, profile: Profile, cache: SummaryCache, loaded: list[Scenario],
                    bound: int, progress, max_seconds: float, max_states: int, total_seconds: float,
                    notes: list[Note], max_steps: int, total_steps: int, timed: list[str]) -> list[Finding]:
    from patchlint.explore.scenario import applies

    deadline = time.monotonic() + total_seconds
    spent = 0  # interpreter steps, over the check
    graph_key = None
    ident = applied.tree.identity()
    if ident is not None and cache.directory is not None:
        probe = FunctionIndex(applied.tree, profile, cache)
        graph_key = "reach-" + hashlib.sha256(repr((ident, probe.configuration(), code_digest())).encode()).hexdigest()
    base: dict = (cache.get(graph_key, dict, counted=False) if graph_key else None) or {}
    known = len(base)
    findings: list[Finding] = []
    for patch in applied.series.patches:
        if not applied.results[patch.index - 1].applied:
            continue
        before_overlay, after_overlay = overlays(applied, patch.index)
        functions, entries = touched_names(applied, patch.index, profile, cache, before_overlay, after_overlay)
        touched = functions | entries
        if not touched:
            continue
        states: list[list[Finding]] = [[], []]
        indexes = [FunctionIndex(applied.tree, profile, cache, overlay=o) for o in (before_overlay, after_overlay)]
        memos = [_CallGraph(index, base) for index in indexes]
        for sc in loaded:
            if applies(sc, indexes[1]) is not None:
                continue  # written for other kernels, or calling what this tree does not have
            calls = thread_calls(sc)
            # a reach not worked out in time counts as reaching: the scenario is then reported as
            # not replayed for want of time, never left out as if the patch could not affect it
            reached = [reach(index, calls, deadline=deadline, memo=m) for index, m in zip(indexes, memos, strict=True)]
            if None in reached:
                timed.append(sc.name)
            if not any(r is None or touched & r for r in reached):
                continue
            left = deadline - time.monotonic()
            steps_left = total_steps - spent
            if left <= 0 or steps_left <= 0:
                if steps_left > 0:
                    timed.append(sc.name)
                unsure = " before it could tell whether the patch reaches it" if None in reached else ""
                what = (f"{total_steps} interpreter steps" if steps_left <= 0 else f"{total_seconds:.0f} s")
                skipped = [_incomplete(sc.name, f"not replayed: the model's budget for this check ({what}) "
                                       f"was spent{unsure}", "budget")]
                states[0].extend(skipped)
                states[1].extend(skipped)
                continue
            if progress:
                progress(f"patch {patch.index}: replaying scenario {sc.name}")
            def replay(index: FunctionIndex, left: float, steps_left: int, sc: Scenario = sc) -> Result:
                # a run given less than its full budget (the check's is running out) is not kept if cut
                full = left >= max_seconds and steps_left >= max_steps
                result = explore_cached(index, sc, bound, cache, full, max_states=max_states,
                                        max_seconds=min(max_seconds, left), max_steps=min(max_steps, steps_left))
                if result.incomplete == "budget hit: time":
                    timed.append(sc.name)
                return result

            before = replay(indexes[0], left, steps_left)
            spent += before.steps
            if not before.complete:
                # the run after the patch would be cut short the same way: its hazards could not be
                # compared, so neither side's are reported, only that the model could not decide
                cut = [f for f in result_findings(before) if f.kind == "analysis-incomplete"]
                states[0].extend(cut)
                states[1].extend(cut)
                continue
            after = replay(indexes[1], max(deadline - time.monotonic(), 0.1), max(total_steps - spent, 1000))
            spent += after.steps
            was, now = result_findings(before), result_findings(after)
            # a call not followed changes nothing the model sees: verdicts hold only as far as that is
            # true, so the calls are always listed, and those the patch brings are a finding
            brought = set(after.unresolved) - set(before.unresolved)
            if brought:
                now.append(_incomplete(sc.name, f"after the patch the model could not follow {_names(brought)}; "
                                       "hazards that depend on what they do are not ruled out", "unresolved"))
            if notes is not None and (before.unresolved or after.unresolved):
                notes.append(Note(sc.file, 1, f"patch {patch.index}: the model could not follow "
                                  f"{_names(set(before.unresolved) | set(after.unresolved))}; its verdicts "
                                  "assume they change nothing it models"))
            if not after.complete or brought:
                # a hazard of the old code not met in a cut-short run, or in code the model could not
                # follow, is not known to be fixed
                met = {f.identity for f in now}
                was = [f for f in was if f.kind == "analysis-incomplete" or f.identity in met]
            states[0].extend(was)
            states[1].extend(now)
        findings.extend(one_per_site(place(applied, patch.index, classify(patch.index, states[0], states[1]))))
    if graph_key and len(base) > known:
        cache.put(graph_key, base)
    return sorted(findings, key=Finding.sort_key)
