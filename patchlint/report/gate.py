"""What a hook prints: only what fails the check, and nothing when nothing does.

git send-email shows everything a sendemail-validate hook prints, for every mail, and sends
nothing when it fails; a report that lists the tree's existing hazards and a `total:` counting
them, for a patch that passes, only hides what matters.  So: for each patch that fails, its
tag and subject, then one terse line (the shape of `checkpatch.pl --terse`) per finding that
fails the check at the `fail-on` level; then one summary line saying which patches fail, at
which level and with how many findings.  The evidence (lock chains, interleavings) is what
`patchlint check` prints.
"""

from __future__ import annotations

from typing import Any

from patchlint.printable import displayable_doc
from patchlint.report.terse import failing, terse_line


def patch_tag(doc: dict[str, Any], index: int | None) -> str:
    patch = next((p for p in doc["patches"] if p["index"] == index), None)
    return "[series]" if patch is None else patch["tag"]


def render_gate(doc: dict[str, Any], fail_on: str, judged: set[int] | None = None) -> tuple[str, bool]:
    """The hook's output and whether it fails: the findings that fail the check in the patches
    `judged` (in every patch, and those of the whole series, when None).  The other patches
    that fail are named in the summary, so an author sees at the first failing mail what else
    will need work."""
    doc = displayable_doc(doc)  # a subject or path from the mail cannot start a line or drive the terminal
    fails = failing(doc, fail_on)
    mine = [f for f in fails if judged is None or f["patch"] in judged]
    if not mine:
        return "", False
    out: list[str] = []
    rank = {p["index"]: n for n, p in enumerate(doc["patches"])}
    shown = sorted(dict.fromkeys(f["patch"] for f in mine), key=lambda i: rank.get(i, len(rank)))
    for index in shown:
        patch = next((p for p in doc["patches"] if p["index"] == index), None)
        out.append(f"{patch['tag']} {patch['subject']}" if patch is not None else "[series]")
        out.extend(terse_line(doc, f) for f in mine if f["patch"] == index)
    tags = [patch_tag(doc, i) for i in shown]
    others = [patch_tag(doc, i) for i in dict.fromkeys(f["patch"] for f in fails) if i not in shown]
    summary = f"patchlint: {_join(tags)} {'fails' if len(tags) == 1 else 'fail'} the check " \
              f"(fail-on = {fail_on}): {_counts(mine)}"
    if others:
        summary += f"; {_join(others)} {'fails' if len(others) == 1 else 'fail'} too"
    out.append(summary + "; `patchlint check` on the series shows why")
    return "\n".join(out) + "\n", True


def _join(words: list[str]) -> str:
    return words[0] if len(words) == 1 else ", ".join(words[:-1]) + " and " + words[-1]


def _counts(findings: list[dict[str, Any]]) -> str:
    parts = []
    for severity in ("error", "warning", "check"):
        n = sum(1 for f in findings if f["severity"] == severity)
        if n:
            parts.append(f"{n} {severity}{'s' if n != 1 else ''}")
    return ", ".join(parts)
