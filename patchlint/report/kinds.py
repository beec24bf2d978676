"""What each finding kind means (patchlint/data/kinds.toml): `patchlint explain`,
SARIF rule help, and the titles of the text report's scenario blocks."""

from __future__ import annotations

import textwrap
from dataclasses import dataclass
from functools import cache

from patchlint.errors import PatchlintError
from patchlint.findings import SEVERITIES, kind_registry

SCENARIOS = ("circular", "recursive", "interleaving", "imbalance", "none")


@dataclass(frozen=True)
class KindInfo:
    kind: str
    summary: str  # the one-line description
    title: str
    level: str  # error | warning | check
    scenario: str  # circular | recursive | interleaving | imbalance | none
    verdict: str
    explanation: str  # one paragraph, unwrapped

    @property
    def type_name(self) -> str:
        """checkpatch's --show-types spelling: SPIN_ON_TRYLOCK."""
        return type_name(self.kind)

    @property
    def rule_name(self) -> str:
        """SARIF's rule name spelling: SpinOnTrylock."""
        return "".join(part.capitalize() for part in self.kind.split("-"))


def type_name(kind: str) -> str:
    return kind.upper().replace("-", "_")


@cache
def kind_table() -> dict[str, KindInfo]:
    """Every finding kind with its text, in the registry's order (patchlint/data/kinds.toml)."""
    out: dict[str, KindInfo] = {}
    for kind, entry in kind_registry().items():
        summary = entry["summary"]
        level = entry.get("level", "warning")
        scenario = entry.get("scenario", "none")
        out[kind] = KindInfo(
            kind=kind,
            summary=summary,
            title=entry.get("title", summary),
            level=level if level in SEVERITIES else "warning",
            scenario=scenario if scenario in SCENARIOS else "none",
            verdict=entry.get("verdict", ""),
            explanation=" ".join(entry.get("explanation", summary).split()),
        )
    return out


def kind_info(kind: str) -> KindInfo:
    table = kind_table()
    if kind not in table:
        # A kind a newer analysis emits before its text is written: still render it.
        return KindInfo(kind, kind, kind, "warning", "none", "", kind)
    return table[kind]


def explain(kind: str) -> KindInfo:
    """The explanation for `patchlint explain KIND`; an unknown kind is a usage error."""
    table = kind_table()
    if kind not in table:
        raise PatchlintError("patchlint explain", f"unknown finding kind {kind!r}", None,
                             f"known kinds: {', '.join(table)}")
    return table[kind]


def render_explain(info: KindInfo, width: int = 78) -> str:
    head = f"{info.kind} ({info.type_name}, usually {info.level}): {info.title}"
    return head + "\n\n" + textwrap.fill(info.explanation, width) + "\n"


def render_kind_list() -> str:
    table = kind_table()
    width = max(len(k) for k in table)
    return "".join(f"{k:<{width}}  {info.summary}\n" for k, info in table.items())
