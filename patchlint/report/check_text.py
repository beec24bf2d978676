"""`patchlint check` for people: checkpatch-shaped lines per patch, then a total."""

from __future__ import annotations

from typing import Any

LEVEL = {"error": "ERROR", "warning": "WARNING", "check": "CHECK"}


def render_check_text(doc: dict[str, Any]) -> str:
    out: list[str] = []
    by_patch: dict[int | None, list[dict[str, Any]]] = {}
    for f in doc["findings"]:
        by_patch.setdefault(f["patch"], []).append(f)
    totals = {"error": 0, "warning": 0, "check": 0}
    for p in doc["patches"]:
        out.append(f"{p['tag']} {p['subject']}")
        mine = by_patch.get(p["index"], [])
        for f in mine:
            kind = f["kind"].upper().replace("-", "_")
            out.append(f"{LEVEL[f['severity']]}:{kind}: {f['message']} [{f['status']}]")
            if f["file"]:
                out.append(f"#{f['line'] or 0}: FILE: {f['file']}:{f['line'] or 0}:")
            out.append("")
            if f["status"] != "fixed":
                totals[f["severity"]] += 1
        counts = {s: sum(1 for f in mine if f["severity"] == s and f["status"] != "fixed") for s in totals}
        out.append(f"total: {counts['error']} errors, {counts['warning']} warnings, {counts['check']} checks")
        out.append("")
    out.append(f"series total: {totals['error']} errors, {totals['warning']} warnings, {totals['check']} checks "
               f"in {len(doc['patches'])} patch(es)")
    return "\n".join(out) + "\n"
