"""Model findings for a series: run the catalog's scenarios whose threads reach
what a patch touches, before and after the patch, and class the hazards
new / fixed / existing like the static findings."""

from __future__ import annotations

from collections import deque
from pathlib import Path

from patchlint.checks.series import classify, overlays, touched_functions
from patchlint.cparse import ir
from patchlint.cparse.cache import SummaryCache
from patchlint.cparse.index import FunctionIndex
from patchlint.cparse.profile import Profile, load_profile
from patchlint.explore.explorer import Result, explore
from patchlint.explore.scenario import catalog as scenario_files
from patchlint.explore.scenario import load_catalog
from patchlint.findings import Finding
from patchlint.model.state import Scenario
from patchlint.source.apply import AppliedSeries

SEVERITY = {"kernel-bug": "error", "deadlock": "error", "livelock": "error", "lost-dirty": "error",
            "sleep-in-atomic": "error"}
REACH_DEPTH = 8


def thread_calls(sc) -> set[str]:
    """Functions the scenario's threads call directly."""
    out: set[str] = set()
    for _, body, _ in sc.threads:
        stack = [body.block]
        while stack:
            node = stack.pop()
            if isinstance(node, ir.Call) and node.name:
                out.add(node.name)
            for value in vars(node).values():
                items = value if isinstance(value, tuple) else (value,)
                for item in items:
                    if isinstance(item, tuple):
                        stack.extend(x for x in item if isinstance(x, (ir.Stmt, ir.Expr)))
                    elif isinstance(item, (ir.Stmt, ir.Expr)):
                        stack.append(item)
    return out


def reach(index: FunctionIndex, roots: set[str], depth: int = REACH_DEPTH) -> set[str]:
    """Names reachable from `roots` through direct calls, within `depth` calls."""
    seen = set(roots)
    queue = deque((name, 0) for name in sorted(roots))
    while queue:
        name, d = queue.popleft()
        if d >= depth:
            continue
        for fn in index.definitions(name)[:1]:
            for call in fn.calls:
                if not call.indirect and call.callee not in seen:
                    seen.add(call.callee)
                    queue.append((call.callee, d + 1))
    return seen


def result_findings(result: Result) -> list[Finding]:
    out = []
    for h in result.hazards:
        out.append(Finding(
            kind=h.kind, status="new", severity=SEVERITY.get(h.kind, "error"), patch=None, file=h.site[0],
            line=h.site[1], function=h.site[2], message=f"{h.message} (scenario {result.scenario})",
            scenario=result.scenario, trace=h.trace, identity=f"{h.kind}|{result.scenario}|{h.site[2]}",
        ))
    if not result.complete:
        out.append(Finding(
            kind="analysis-incomplete", status="new", severity="warning", patch=None, file=None, line=None,
            function=None, message=f"scenario {result.scenario}: {result.incomplete or 'exploration incomplete'} "
            f"after {result.states} states; hazards beyond it are not ruled out", scenario=result.scenario,
            identity=f"analysis-incomplete|{result.scenario}|budget"))
    return out


def model_findings(applied: AppliedSeries, profile: Profile | None = None, cache: SummaryCache | None = None,
                   catalog: list[Path] | None = None, bound: int = 2, progress=None,
                   scenarios: list[Scenario] | None = None) -> list[Finding]:
    """`scenarios` (already loaded) or the scenario files `catalog` (default: the shipped catalog)."""
    profile = profile or load_profile()
    cache = cache if cache is not None else SummaryCache()
    loaded = scenarios if scenarios is not None else load_catalog(catalog if catalog is not None else
                                                                  scenario_files())
    findings: list[Finding] = []
    for patch in applied.series.patches:
        if not applied.results[patch.index - 1].applied:
            continue
        before_overlay, after_overlay = overlays(applied, patch.index)
        touched = touched_functions(applied, patch.index, profile, cache, before_overlay, after_overlay)
        if not touched:
            continue
        states: list[list[Finding]] = [[], []]
        indexes = [FunctionIndex(applied.tree, profile, cache, overlay=o) for o in (before_overlay, after_overlay)]
        for sc in loaded:
            calls = thread_calls(sc)
            if not any(touched & reach(index, calls) for index in indexes):
                continue
            if progress:
                progress(f"patch {patch.index}: replaying scenario {sc.name}")
            for n, index in enumerate(indexes):
                states[n].extend(result_findings(explore(index, sc, bound)))
        findings.extend(classify(patch.index, states[0], states[1]))
    return sorted(findings, key=Finding.sort_key)
