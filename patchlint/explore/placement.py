"""Where a model finding is reported, and one finding per hazard and site.

A scenario's hazard is detected where the model state goes wrong: the storage key
cleared in `page_test_and_clear_dirty()`, the BUG in `radix_tree_tag_set()`.  A
reviewer needs the line of the patch that leads there, so a finding whose trace
passes through the patch is placed on the patch's own line: the line it adds (a
new or existing finding, read after the patch) or removes (a fixed one, read
before it) that the hazard's event is on or was called through, innermost first;
failing that, the patch's line nearest the hazard on the trace.  A finding whose
trace does not pass through the patch stays at its event, and an event in a
scenario's own body (a `.litmus` file, patchlint's or the user's, never the
tree's) is never a location: the first step of the trace in the tree is.

Several scenarios often show one hazard at one place (three races lose the same
dirty bit in the same function); they are one finding that names them all.
"""

from __future__ import annotations

from dataclasses import replace

from patchlint.findings import Finding, TraceStep
from patchlint.source.apply import AppliedSeries

SCENARIO_SUFFIX = ".litmus"  # scenario files (grammars/scenarios, --scenarios DIR)


def place(applied: AppliedSeries, patch: int, findings: list[Finding]) -> list[Finding]:
    """Each model finding of `patch` (classified) at the line the report should show."""
    lines: dict[tuple[bool, str], frozenset[int]] = {}

    def patched(fixed: bool, file: str | None, line: int | None) -> bool:
        if file is None or line is None or file.endswith(SCENARIO_SUFFIX):
            return False
        key = (fixed, file)
        if key not in lines:
            lines[key] = (applied.removed_lines if fixed else applied.added_lines)(patch, file)
        return line in lines[key]

    return [_placed(f, patched) for f in findings]


def _placed(f: Finding, patched) -> Finding:
    if not f.trace or f.scenario is None:
        return f
    fixed = f.status == "fixed"
    hazard = next((s for s in reversed(f.trace) if (s.file, s.line) == (f.file, f.line)), f.trace[-1])
    if patched(fixed, f.file, f.line):
        return f
    # the hazard's own call stack, innermost first; then the rest of the trace, nearest the
    # hazard first, its own CPU before the others
    order = [hazard] + sorted((s for s in reversed(f.trace) if s is not hazard), key=lambda s: s.cpu != hazard.cpu)
    for step in order:
        for file, line, function in _innermost_first(step):
            if patched(fixed, file, line):
                return _moved(f, file, line, function)
    if f.file is None or f.file.endswith(SCENARIO_SUFFIX):
        first = next((s for s in f.trace if s.file and not s.file.endswith(SCENARIO_SUFFIX)), None)
        if first is not None:
            return _moved(f, first.file, first.line, first.function)
    return f


def _innermost_first(step: TraceStep) -> list[tuple[str | None, int | None, str | None]]:
    return [(step.file, step.line, step.function), *reversed(step.callers)]


def _moved(f: Finding, file: str | None, line: int | None, function: str | None) -> Finding:
    """The finding at the patch's line; the message keeps where the hazard itself happens."""
    at = f"{f.function}() at {f.file}:{f.line}" if f.function else f"{f.file}:{f.line}"
    where = "" if f.file is None or f.file.endswith(SCENARIO_SUFFIX) else f", in {at}"
    base, scenario = _split_message(f)
    return replace(f, file=file, line=line, function=function, message=f"{base}{where}{scenario}")


def _split_message(f: Finding) -> tuple[str, str]:
    """The message and its " (scenario ...)" tail (the explorer names the scenario last)."""
    names = f.scenarios or ((f.scenario,) if f.scenario else ())
    tail = _tail(names)
    if tail and f.message.endswith(tail):
        return f.message[: -len(tail)], tail
    return f.message, ""


def _tail(names: tuple[str, ...]) -> str:
    if not names:
        return ""
    return f" (scenario {names[0]})" if len(names) == 1 else f" (scenarios {', '.join(names)})"


def one_per_site(findings: list[Finding]) -> list[Finding]:
    """Findings of one kind, status and site shown by several scenarios, as one finding naming
    them all (the shortest trace is kept: the others show the same hazard at more length)."""
    groups: dict[tuple, list[Finding]] = {}
    out: list[Finding | tuple] = []
    for f in findings:
        if f.scenario is None or not f.trace:
            out.append(f)
            continue
        key = (f.patch, f.kind, f.status, f.file, f.line, f.function, _split_message(f)[0])
        if key not in groups:
            groups[key] = []
            out.append(key)
        groups[key].append(f)
    merged: list[Finding] = []
    for item in out:
        if isinstance(item, Finding):
            merged.append(item)
            continue
        group = groups[item]
        names = tuple(sorted({g.scenario for g in group if g.scenario}))
        best = min(group, key=lambda g: (len(g.trace), g.scenario or ""))
        base = _split_message(best)[0]
        tail = _tail(names)
        identity = "|".join([best.kind, "+".join(names), best.function or ""])
        merged.append(replace(best, message=base + tail, scenario=names[0], scenarios=names,
                              identity=identity if len(names) > 1 else best.identity))
    return merged
