"""`--format json`: the document itself (report/document.py), as CI users parse it.

Its JSON Schema ships in the package (patchlint/schemas/report.schema.json);
`report_schema()` loads it.
"""

from __future__ import annotations

import json
from functools import cache
from importlib import resources
from typing import Any


def render_json(doc: dict[str, Any]) -> str:
    return json.dumps(doc, indent=2, sort_keys=False, ensure_ascii=False) + "\n"


@cache
def report_schema() -> dict[str, Any]:
    return json.loads(resources.files("patchlint").joinpath("schemas", "report.schema.json")
                      .read_text(encoding="utf-8"))
