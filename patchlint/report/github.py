"""`--format github`: GitHub Actions workflow commands, one annotation per finding:
`::error file=mm/rmap.c,line=812,title=LOCK_ORDER_INVERSION::message`.

Escaping follows the runner's rules (actions/toolkit, command.ts): in the
message `%`, CR and LF are percent-encoded; in property values `:` and `,`
too.  Only what the patch brings is annotated, as in the terse format: a
pull request's annotations are about its own changes; existing and fixed
findings are in the text, json and sarif reports.
"""

from __future__ import annotations

from typing import Any

from patchlint.report.kinds import type_name
from patchlint.report.terse import reported

COMMAND = {"error": "error", "warning": "warning", "check": "notice"}


def escape_data(text: str) -> str:
    return text.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")


def escape_property(text: str) -> str:
    return escape_data(text).replace(":", "%3A").replace(",", "%2C")


def annotation(f: dict[str, Any]) -> str:
    props = []
    if f["file"]:
        props.append(f"file={escape_property(f['file'])}")
        if f["line"]:
            props.append(f"line={f['line']}")
    props.append(f"title={escape_property(type_name(f['kind']))}")
    return f"::{COMMAND.get(f['severity'], 'warning')} {','.join(props)}::{escape_data(f['message'])}"


def render_github(doc: dict[str, Any]) -> str:
    return "".join(annotation(f) + "\n" for f in reported(doc))
