"""The JSON document CI users parse: {"tool", "version", "tree", "patches", "findings", "notes"}.

Keep keys stable; add, never rename.  Built from records only, so every
format (text, JSON, later SARIF) renders the same data.
"""

from __future__ import annotations

import json
from dataclasses import asdict
from typing import Any

from patchlint import __version__
from patchlint.findings import Finding
from patchlint.records import Hunk, Patch, Series
from patchlint.source.apply import AppliedSeries, HunkResult


def hunk_results(applied: AppliedSeries | None) -> dict[tuple[int, str, int], HunkResult]:
    if applied is None:
        return {}
    return {(h.patch, h.file, h.hunk): h for r in applied.results for h in r.hunks}


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
    results = hunk_results(applied)
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


def finding_dict(f: Finding) -> dict[str, Any]:
    out = asdict(f)
    out["locks"] = list(f.locks)
    out["trace"] = [asdict(t) | {"state": list(t.state)} for t in f.trace]
    out["chain"] = [asdict(t) | {"state": list(t.state)} for t in f.chain]
    return out


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
        "findings": [finding_dict(f) for f in sorted(findings, key=Finding.sort_key)],
        "notes": [{"source": n.source, "line": n.line, "message": n.message} for n in series.notes],
    }


def render_json(doc: dict[str, Any]) -> str:
    return json.dumps(doc, indent=2, sort_keys=False, ensure_ascii=False) + "\n"
