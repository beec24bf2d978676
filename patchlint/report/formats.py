"""The `--format` names of `patchlint check` and the renderer of each: every one a
pure function of the JSON document (report/document.py)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from patchlint.printable import displayable_doc
from patchlint.report.b4_review import render_b4_review
from patchlint.report.github import render_github
from patchlint.report.json_doc import render_json
from patchlint.report.sarif import render_sarif
from patchlint.report.terse import render_terse, verdict
from patchlint.report.text import render_text

Renderer = Callable[[dict[str, Any]], str]

FORMATS: dict[str, Renderer] = {
    "text": render_text,
    "terse": render_terse,
    "json": render_json,
    "sarif": render_sarif,
    "github": render_github,
    "b4-review": render_b4_review,
}


# formats a program parses as JSON: every string escaped by the encoder, paths kept exact
_JSON_FORMATS = frozenset({"json", "sarif", "b4-review"})
# formats that print only what fails the check at the fail-on level (b4 reads every line)
_GATE_FORMATS = {"terse": render_terse, "b4-review": render_b4_review}


def render(fmt: str, doc: dict[str, Any], color: bool = False, show_refuted: bool = False,
           fail_on: str = "new", show_existing: bool = False, verbose: bool = False) -> str:
    """The document in `fmt`.  Line formats get it with every string from the input printable
    (patchlint.printable): a path or subject can neither start a line of its own nor send
    escape sequences to a terminal.  The text report counts findings the replay refuted and
    shows them only with `show_refuted`, counts existing findings and prints them only with
    `show_existing`, and cuts model interleavings to their telling steps unless `verbose`;
    terse and b4-review print the findings that fail the check at `fail_on` (never a refuted
    one, unless `show_refuted`); github annotates new findings, leaving refuted ones out unless
    `show_refuted`; JSON and SARIF carry them all (SARIF marks refuted ones suppressed)."""
    if fmt not in _JSON_FORMATS:
        doc = displayable_doc(doc)
    if fmt == "text":
        return render_text(doc, color=color, show_refuted=show_refuted, show_existing=show_existing,
                           verbose=verbose)
    if fmt in _GATE_FORMATS:
        return _GATE_FORMATS[fmt](doc, fail_on=fail_on, show_refuted=show_refuted)
    if fmt == "github" and not show_refuted:
        doc = {**doc, "findings": [f for f in doc["findings"] if verdict(f) != "refuted"]}
    return FORMATS[fmt](doc)
