"""`--format terse`: one line per finding, the shape `checkpatch.pl -q --terse --showfile` prints
and b4's `prep-perpatch-check-cmd` reads: `path:line: ERROR: KIND: message`.

b4 counts a line containing `ERROR:` as a failure and any other line as a
warning, and a check that prints nothing as passed, so terse prints exactly the
findings that fail the check at the `fail-on` level (by default the new errors
and warnings): a hazard the tree already had (existing) would otherwise stand
in every patch that comes near it, a fixed one is good news, and one the
model's replay refuted cannot happen.  All of them stay in the text, json and
sarif reports.  A finding with no post-image line (a hunk that did not apply)
is placed the way checkpatch places a line of its input: `input:line:`,
`-:line:` for standard input.
"""

from __future__ import annotations

from typing import Any

from patchlint.findings import gates
from patchlint.report.kinds import type_name
from patchlint.report.text import LEVEL


def verdict(f: dict[str, Any]) -> str | None:
    """The model's verdict on a finding, if it was replayed."""
    return (f.get("replay") or {}).get("verdict")


def failing(doc: dict[str, Any], fail_on: str = "new", show_refuted: bool = False) -> list[dict[str, Any]]:
    """The findings that fail the check at `fail_on` (what terse, b4-review and the send-email
    hook print), in document order; with `show_refuted` also the new ones the replay refuted."""
    return [f for f in doc["findings"] if gates(f["status"], f["severity"], verdict(f), fail_on)
            or (show_refuted and f["status"] == "new" and verdict(f) == "refuted")]


def reported(doc: dict[str, Any]) -> list[dict[str, Any]]:
    """The findings GitHub annotations report: the new ones, and every analysis-incomplete (what
    could not be analysed is said whether or not it was so before the patch too), in document
    order."""
    return [f for f in doc["findings"] if f["status"] == "new" or
            (f["kind"] == "analysis-incomplete" and f["status"] != "fixed")]


def location(doc: dict[str, Any], f: dict[str, Any]) -> str | None:
    """`path:line` of a finding, or where its patch's input shows it, or None."""
    if f["file"] and f["line"]:
        return f"{f['file']}:{f['line']}"
    site = f.get("site") or {}
    patch = next((p for p in doc["patches"] if p["index"] == f["patch"]), None)
    if patch is not None:
        line = site.get("input_line") or (patch["input_line"] if not site else None)
        if line:
            return f"{patch['source']}:{line}"
    return f["file"] or None


def one_line(text: str) -> str:
    """A message on one line: readers of these formats take every line for a finding."""
    return " ".join(part.strip() for part in text.splitlines() if part.strip())


def terse_line(doc: dict[str, Any], f: dict[str, Any]) -> str:
    where = location(doc, f)
    message = one_line(f["message"])
    text = f"{LEVEL.get(f['severity'], f['severity'].upper())}: {type_name(f['kind'])}: {message}"
    return f"{where}: {text}" if where else text


def render_terse(doc: dict[str, Any], fail_on: str = "new", show_refuted: bool = False) -> str:
    return "".join(terse_line(doc, f) + "\n" for f in failing(doc, fail_on, show_refuted))
