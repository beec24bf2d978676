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
from patchlint.report.terse import render_terse
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
# formats that say only what gates a patch: a finding the model's replay refuted is not one
_GATE_FORMATS = frozenset({"terse", "github", "b4-review"})


def render(fmt: str, doc: dict[str, Any], color: bool = False, show_refuted: bool = False,
           show_existing: bool = False, verbose: bool = False) -> str:
    """The document in `fmt`.  Line formats get it with every string from the input printable
    (patchlint.printable): a path or subject can neither start a line of its own nor send
    escape sequences to a terminal.  The text report counts findings the replay refuted and
    shows them only with `show_refuted`; the gate formats (terse, github, b4-review) leave
    them out; JSON and SARIF carry them (SARIF as suppressed).  The text report counts existing
    findings and prints them only with `show_existing`, and cuts model interleavings to their
    telling steps unless `verbose`."""
    if fmt not in _JSON_FORMATS:
        doc = displayable_doc(doc)
    if fmt in _GATE_FORMATS and not show_refuted:
        doc = {**doc, "findings": [f for f in doc["findings"]
                                   if (f.get("replay") or {}).get("verdict") != "refuted"]}
    if fmt == "text":
        return render_text(doc, color=color, show_refuted=show_refuted, show_existing=show_existing,
                           verbose=verbose)
    return FORMATS[fmt](doc)
