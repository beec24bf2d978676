"""`--format b4-review`: the JSON array b4's review check protocol reads from a
`review-perpatch-check-cmd` or `review-series-check-cmd`:
`[{"tool", "status": "pass"|"warn"|"fail", "summary", "url", "details"}]`.

One entry for patchlint: `fail` when an error is reported, else `warn`; the
details are a JSON list of `{"status", "description"}` (the terse lines),
which b4's review screen shows one per line, as it does checkpatch's.  Like
terse, it reports the findings that fail the check at the `fail-on` level;
`[]` when there are none.
"""

from __future__ import annotations

import json
from typing import Any

from patchlint.report.terse import failing, terse_line


def review_entries(doc: dict[str, Any], fail_on: str = "new", show_refuted: bool = False) -> list[dict[str, str]]:
    findings = failing(doc, fail_on, show_refuted)
    if not findings:
        return []
    details = [{"status": "fail" if f["severity"] == "error" else "warn", "description": terse_line(doc, f)}
               for f in findings]
    counts = []
    for severity, word in (("error", "error"), ("warning", "warning"), ("check", "check")):
        n = sum(1 for f in findings if f["severity"] == severity)
        if n:
            counts.append(f"{n} {word}{'s' if n != 1 else ''}")
    return [{
        "tool": "patchlint",
        "status": "fail" if any(d["status"] == "fail" for d in details) else "warn",
        "summary": ", ".join(counts),
        "url": "",
        "details": json.dumps(details, ensure_ascii=False),
    }]


def render_b4_review(doc: dict[str, Any], fail_on: str = "new", show_refuted: bool = False) -> str:
    return json.dumps(review_entries(doc, fail_on, show_refuted), indent=2, ensure_ascii=False) + "\n"
