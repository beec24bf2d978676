"""Run the analyses over a series, patch by patch, and class each finding.

For patch k the analyses see the tree after patches 1..k-1 (before) and
after 1..k (after).  A finding present after but not before is `new` (it
belongs to patch k), present before but not after is `fixed`, present in
both is `existing`.  Findings are matched by their identity (kind, function,
locks, what), never by line numbers, which a patch moves.
"""

from __future__ import annotations

from dataclasses import replace

from patchlint.findings import Finding
from patchlint.source.apply import AppliedSeries
from patchlint.source.findings import apply_findings

FAIL_ON = ("new-error", "new", "any", "never")


def analyse_series(applied: AppliedSeries) -> list[Finding]:
    """Every finding of the series, classed; analyses join here as they arrive."""
    findings = list(apply_findings(applied))
    return sorted(findings, key=Finding.sort_key)


def classify(patch: int, before: list[Finding], after: list[Finding]) -> list[Finding]:
    """new / fixed / existing for one patch, matching findings by identity."""
    seen_before = {f.identity or _identity(f): f for f in before}
    seen_after = {f.identity or _identity(f): f for f in after}
    out = []
    for key, f in seen_after.items():
        status = "existing" if key in seen_before else "new"
        out.append(replace(f, status=status, patch=patch, identity=key))
    for key, f in seen_before.items():
        if key not in seen_after:
            out.append(replace(f, status="fixed", patch=patch, identity=key))
    return out


def _identity(f: Finding) -> str:
    return "|".join([f.kind, f.file or "", f.function or "", ",".join(f.locks), f.message])


def fails(findings: list[Finding], fail_on: str) -> bool:
    """Whether the run should exit 1: by default only new findings fail it."""
    if fail_on == "never":
        return False
    if fail_on == "any":
        return any(f.status != "fixed" for f in findings)
    if fail_on == "new":
        return any(f.status == "new" and f.severity in ("error", "warning") for f in findings)
    return any(f.status == "new" and f.severity == "error" for f in findings)
