"""Findings about the input itself: hunks recovered from damage, hunks that did not apply."""

from __future__ import annotations

from patchlint.findings import LEVELS, Finding
from patchlint.source.apply import AppliedSeries


def apply_findings(applied: AppliedSeries) -> list[Finding]:
    out: list[Finding] = []
    functions = {
        (p.index, f.path, h.index): (h.functions[0] if h.functions else None)
        for p in applied.series.patches for f in p.files for h in f.hunks
    }
    damage = {
        (p.index, f.path, h.index): h.damage
        for p in applied.series.patches for f in p.files for h in f.hunks
    }
    for result in applied.results:
        for h in result.hunks:
            key = (h.patch, h.file, h.hunk)
            if h.status == "recovered":
                d = damage.get(key)
                reasons = "; ".join(d.reasons()) if d else "damaged"
                out.append(Finding(
                    kind="damaged-patch", status="new", severity=LEVELS["damaged-patch"], patch=h.patch, file=h.file,
                    line=_post_line(applied, h.patch, h.file, h.hunk) or h.line, function=functions.get(key),
                    message=f"hunk {h.hunk} ({h.header.split(' @@')[0]} @@) was whitespace-damaged ({reasons}); "
                            f"placed at line {h.line} by its removed lines, its added lines are best effort",
                ))
            elif h.status == "failed":
                # above the kind's level: a patch that does not apply has no verdict at all
                out.append(Finding(
                    kind="analysis-incomplete", status="new", severity="error", patch=h.patch, file=h.file,
                    line=None, function=functions.get(key),
                    message=f"patch {h.patch} does not apply, so it is not analysed: {h.reason}",
                ))
    return out


def _post_line(applied: AppliedSeries, patch: int, path: str, hunk: int) -> int | None:
    image = applied.image(path, after=patch)
    if image is None:
        return None
    for n, origin in enumerate(image.origins, 1):
        if origin.patch == patch and origin.hunk == hunk:
            return n
    return None
