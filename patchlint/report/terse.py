"""`--format terse`: one line per finding, the shape `checkpatch.pl -q --terse --showfile` prints
and b4's `prep-perpatch-check-cmd` reads: `path:line: ERROR: KIND: message`.

b4 counts a line containing `ERROR:` as a failure and any other line as a
warning, so only what the patch brings is printed, as checkpatch reports only
on the lines a patch adds: a hazard the tree already had (existing) would fail
every patch that comes near it, and a fixed one is good news.  Both stay in
the text, json and sarif reports.  What could not be analysed is always said.  A
finding with no post-image line (a hunk that did not apply) is placed the way
checkpatch places a line of its input: `input:line:`, `-:line:` for standard
input.
"""

from __future__ import annotations

from typing import Any

from patchlint.report.kinds import type_name
from patchlint.report.text import LEVEL


def reported(doc: dict[str, Any]) -> list[dict[str, Any]]:
    """The findings the line-per-finding formats (terse, github, b4 review) report: the new ones,
    and every analysis-incomplete (what could not be analysed is said whether or not it was so
    before the patch too), in document order."""
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


def render_terse(doc: dict[str, Any]) -> str:
    return "".join(terse_line(doc, f) + "\n" for f in reported(doc))
