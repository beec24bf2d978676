"""The JSON document CI users parse: {"tool", "version", "tree", "patches", "findings", "notes"}.

Keep keys stable; add, never rename, and describe every key in
patchlint/schemas/report.schema.json (the tests validate every output against
it).  Built from records only, so every format (report/text.py, terse,
json_doc, sarif, github, b4_review) renders the same data.
"""

from __future__ import annotations

from dataclasses import asdict
from typing import Any

from patchlint import __version__
from patchlint.findings import Finding, TraceStep
from patchlint.records import ADDED, REMOVED, Hunk, Patch, Series
from patchlint.report.json_doc import render_json  # noqa: F401 - the JSON rendering, kept importable here
from patchlint.source.apply import AppliedSeries, HunkResult


def hunk_results(applied: AppliedSeries | None) -> dict[tuple[int, str, int], HunkResult]:
    if applied is None:
        return {}
    return {(h.patch, h.file, h.hunk): h for r in applied.results for h in r.hunks}


def _patch_results(applied: AppliedSeries | None, patch: int) -> dict[tuple[int, str, int], HunkResult]:
    """hunk_results() of one patch: what each patch's and finding's entry asks for (the whole
    series' table, made for each of them, was quadratic in a long series)."""
    if applied is None or not 0 < patch <= len(applied.results):
        return {}
    return {(h.patch, h.file, h.hunk): h for h in applied.results[patch - 1].hunks}


def _hunk(h: Hunk, patch: Patch, result: HunkResult | None) -> dict[str, Any]:
    return {
        "index": h.index,
        "header": h.header,
        "old_start": h.old_start,
        "old_count": h.old_count,
        "new_start": h.new_start,
        "new_count": h.new_count,
        "functions": list(h.functions),
        "mail_line": h.mail_line,
        "input_line": patch.input_line_of(h.mail_line),
        "damage": None if h.damage is None else {
            "reasons": list(h.damage.reasons()),
            "unprefixed_lines": h.damage.unprefixed,
            "collapsed_tabs": h.damage.collapsed_tabs,
            "header_counts": list(h.damage.header_counts),
            "body_counts": list(h.damage.body_counts),
        },
        "apply": None if result is None else {
            "status": result.status, "line": result.line, "offset": result.offset, "reason": result.reason,
        },
    }


def patch_dict(p: Patch, applied: AppliedSeries | None) -> dict[str, Any]:
    results = _patch_results(applied, p.index)
    outcome = applied.results[p.index - 1] if applied is not None else None
    return {
        "index": p.index,
        "tag": p.subject.tag(),
        "subject": p.subject.text,
        "prefixes": list(p.subject.prefixes),
        "version": p.subject.version,
        "number": p.subject.number,
        "total": p.subject.total,
        "rfc": p.subject.is_rfc,
        "author": p.author,
        "date": p.date,
        "message_id": p.message_id,
        "commit": p.commit,
        "base_commit": p.base_commit,
        "trailers": [{"key": t.key, "value": t.value} for t in p.trailers],
        "source": p.source,
        "input_line": p.input_line,
        "applied": None if outcome is None else outcome.applied,
        "apply_error": None if outcome is None else outcome.reason,
        "files": [
            {
                "old_path": f.old_path,
                "new_path": f.new_path,
                "status": f.status,
                "hunks": [_hunk(h, p, results.get((p.index, f.path, h.index))) for h in f.hunks],
            }
            for f in p.files
        ],
    }


def finding_dict(f: Finding, applied: AppliedSeries | None = None) -> dict[str, Any]:
    out = asdict(f)
    del out["witnesses"]  # what the replay ran: its verdict is the report's, not the paths
    out["locks"] = list(f.locks)
    out["trace"] = [_step(t) for t in f.trace]
    out["chain"] = [_step(t) for t in f.chain]
    if f.replay is None:
        del out["replay"]
    else:
        out["replay"] = {"verdict": f.replay.verdict, "reason": f.replay.reason,
                         "trace": [_step(t) for t in f.replay.trace]}
    out["site"] = None if applied is None else finding_site(applied, f)
    return out


def _step(t: TraceStep) -> dict[str, Any]:
    out = asdict(t) | {"state": list(t.state)}
    del out["callers"]  # where the finding is placed says it; the calls are not reported
    return out


def finding_site(applied: AppliedSeries, f: Finding) -> dict[str, Any] | None:
    """Where a finding sits, for checkpatch-style reports: the source line's text and,
    when the patch wrote or showed that line, its line in the mail (checkpatch's #N).

    `diff` is the line's prefix in the patch: "+" added, " " context, "-" removed (a
    fixed finding's pre-image line), "@@" the header of a hunk that did not apply
    (a finding without a line), None when the line is outside the patch.
    """
    if f.file is None:
        return None
    patch = applied.series.patches[f.patch - 1] if f.patch and 0 < f.patch <= len(applied.series.patches) else None
    site: dict[str, Any] = {"text": None, "diff": None, "mail_line": None, "input_line": None, "hunk": None}
    if f.line is None:
        hunk = _failed_hunk(applied, patch, f.file)
        if hunk is None:
            return None
        site |= {"text": hunk.header, "diff": "@@", "hunk": hunk.index}
        site |= _mail(patch, hunk.mail_line)
        return site
    fixed = f.status == "fixed"
    after = (f.patch - 1 if fixed else f.patch) if patch is not None else None
    image = applied.image(f.file, after=after)
    if image is None or not 1 <= f.line <= len(image.lines):
        return None
    site["text"] = image.lines[f.line - 1]
    if patch is not None:
        found = _hunk_line(applied, patch, f.file, f.line, image, fixed)
        if found is not None:
            hunk, line = found
            site |= {"diff": line.kind, "hunk": hunk.index} | _mail(patch, line.mail_line)
    return site


def _mail(patch: Patch, mail_line: int) -> dict[str, Any]:
    return {"mail_line": mail_line, "input_line": patch.input_line_of(mail_line)}


def _failed_hunk(applied: AppliedSeries, patch: Patch | None, path: str) -> Hunk | None:
    if patch is None:
        return None
    results = _patch_results(applied, patch.index)
    for fc in patch.files:
        if path in (fc.path, fc.old_path):
            for h in fc.hunks:
                r = results.get((patch.index, fc.path, h.index))
                if r is not None and r.status == "failed":
                    return h
            return fc.hunks[0] if fc.hunks else None
    return None


def _hunk_line(applied: AppliedSeries, patch: Patch, path: str, line: int, image, fixed: bool):
    """The hunk line of `patch` that shows `line` of the file after the patch (before it,
    for a fixed finding).  Hunks of one file apply in order without overlapping, so a
    hunk's recorded placement is its first line in the post-image; subtracting the
    growth of the hunks above it gives its first line in the pre-image."""
    results = _patch_results(applied, patch.index)
    for fc in patch.files:
        if path != (fc.old_path if fixed and fc.old_path else fc.path):
            continue
        growth = 0
        for h in fc.hunks:
            r = results.get((patch.index, fc.path, h.index))
            shown = [ln for ln in h.lines if ln.kind != (ADDED if fixed else REMOVED)]
            if r is None or r.line is None or r.status == "failed":
                break
            if r.status == "recovered":
                # A recovered hunk's text is rebuilt, not copied: only its added lines are known to map,
                # and how much it grew the file is not known, so pre-image lines below it are not either.
                if fixed:
                    break
                origin = image.origins[line - 1]
                if origin.patch == patch.index and origin.hunk == h.index:
                    nth = sum(1 for o in image.origins[:line - 1] if o == origin)
                    added = [ln for ln in h.lines if ln.kind == ADDED]
                    return (h, added[nth]) if nth < len(added) else None
                continue
            start = r.line - growth if fixed else r.line
            if start <= line < start + len(shown):
                candidate = shown[line - start]
                return (h, candidate) if candidate.text == image.lines[line - 1] else None
            growth += sum(1 for ln in h.lines if ln.kind == ADDED) - sum(1 for ln in h.lines if ln.kind == REMOVED)
    return None


def document(series: Series, applied: AppliedSeries | None, findings: list[Finding],
             tree: dict[str, Any] | None) -> dict[str, Any]:
    return {
        "tool": "patchlint",
        "version": __version__,
        "tree": tree,
        "base_commit": series.base_commit,
        "cover": None if series.cover is None else {
            "tag": series.cover.subject.tag(), "subject": series.cover.subject.text, "author": series.cover.author,
            "message_id": series.cover.message_id,
        },
        "patches": [patch_dict(p, applied) for p in series.patches],
        "findings": [finding_dict(f, applied) for f in sorted(findings, key=Finding.sort_key)],
        "notes": [{"source": n.source, "line": n.line, "message": n.message} for n in series.notes],
    }
