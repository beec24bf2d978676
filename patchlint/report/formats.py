"""The `--format` names of `patchlint check` and the renderer of each: every one a
pure function of the JSON document (report/document.py)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

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


def render(fmt: str, doc: dict[str, Any], color: bool = False) -> str:
    if fmt == "text":
        return render_text(doc, color=color)
    return FORMATS[fmt](doc)
