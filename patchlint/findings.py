"""The Finding record and the stable vocabulary it uses.

The finding kinds are a registry kept as data, `patchlint/data/kinds.toml`: a kind
exists when it has a table there, with its one-line summary, the severity its
findings get (`level`) and its explanation.  Kinds are stable kebab-case ids: CI
users filter on them, SARIF uses them as rule ids, and `--fail-on` and
configuration refer to them.  Add kinds; never rename one.
"""

from __future__ import annotations

import hashlib
import re
import tomllib
from dataclasses import dataclass, replace
from functools import cache
from importlib import resources
from typing import Any

from patchlint.errors import PatchlintError


@cache
def kind_registry() -> dict[str, dict[str, Any]]:
    """Every finding kind's table from patchlint/data/kinds.toml, in the file's order."""
    text = resources.files("patchlint").joinpath("data", "kinds.toml").read_text(encoding="utf-8")
    return tomllib.loads(text)


KINDS: dict[str, str] = {kind: entry["summary"] for kind, entry in kind_registry().items()}
LEVELS: dict[str, str] = {kind: entry["level"] for kind, entry in kind_registry().items()}
REPLAYED: frozenset[str] = frozenset(kind for kind, entry in kind_registry().items() if entry.get("replay"))

STATUSES = ("new", "fixed", "existing")
SEVERITIES = ("error", "warning", "check")
FAIL_ON = ("new-error", "new", "any", "never")  # what --fail-on and the fail-on setting accept


def gates(status: str, severity: str, verdict: str | None, fail_on: str) -> bool:
    """Whether one finding fails a run at the `fail-on` level: the exit status, the hook and the
    formats that print only what fails (terse, b4-review) all ask this one question.  A finding
    the model's replay refuted never fails it (no run of its paths can happen), nor does a fixed
    one; `any` is everything else, `new` new errors and warnings, `new-error` new errors."""
    if fail_on == "never" or status == "fixed" or verdict == "refuted":
        return False
    if fail_on == "any":
        return True
    if status != "new":
        return False
    return severity == "error" or (fail_on == "new" and severity == "warning")


@dataclass(frozen=True)
class TraceStep:
    """One step of evidence: an acquisition in a lock chain, or a step of a replayed interleaving.

    `cpu` is the column a reporter puts it in (lockdep's CPU0/CPU1 table; a
    SARIF threadFlow per CPU).  `state` lists the model state changes that
    matter at this step, e.g. "PG_swapcache 0->1".
    """

    cpu: int
    event: str  # e.g. "lock(pte_lock)", "spin on trylock_page(page_lock)", "BUG_ON(slot == NULL)"
    file: str | None = None
    line: int | None = None
    function: str | None = None
    state: tuple[str, ...] = ()
    # (file, line, function) of the calls the step was reached through, outermost first: how a
    # model finding is placed on the line of a patch its trace passes through (not in the JSON)
    callers: tuple[tuple[str, int, str], ...] = ()


VERDICTS = ("confirmed", "refuted", "unknown")  # what replaying a static finding in the model says


@dataclass(frozen=True)
class PathStep:
    """One function of a call path: `function` (in `file`) calls the next step at `line`; the
    last step's `line` is the event the path leads to."""

    function: str
    file: str
    line: int


@dataclass(frozen=True)
class Witness:
    """What one CPU must do for a static finding to be real: run `path` from its first function
    and reach the last step's line (`event` there) while holding one of the lock classes `held`."""

    cpu: int
    path: tuple[PathStep, ...]
    held: tuple[str, ...]
    event: str  # e.g. "lock(page_lock)", "kmalloc()"


@dataclass(frozen=True)
class Replay:
    """What replaying a static finding's paths in the model said: `confirmed` (every path
    reached its event holding its lock: `trace` is the interleaving), `refuted` (no run of some
    path can: `reason` says what stops it, with file:line), or `unknown` (a budget or a call the
    model cannot follow: `reason` says which)."""

    verdict: str
    reason: str
    trace: tuple[TraceStep, ...] = ()

    def __post_init__(self) -> None:
        if self.verdict not in VERDICTS:
            raise ValueError(f"unknown replay verdict {self.verdict!r}")


@dataclass(frozen=True)
class Finding:
    kind: str
    status: str
    severity: str
    patch: int | None  # 1-based index of the patch it belongs to, None for series-wide
    file: str | None
    line: int | None  # post-image line (for "fixed": pre-image line)
    function: str | None
    message: str
    locks: tuple[str, ...] = ()  # lock classes involved, outermost first
    scenario: str | None = None  # the model scenario that produced it (the first, when several did)
    scenarios: tuple[str, ...] = ()  # every scenario that showed this hazard at this site
    trace: tuple[TraceStep, ...] = ()  # the interleaving (CPU columns) that shows it
    chain: tuple[TraceStep, ...] = ()  # lockdep's "existing dependency chain": where each edge was taken
    explanation: str | None = None  # why a site is safe or not, for --explain
    identity: str = ""  # stable across line moves: how before/after findings are matched
    witnesses: tuple[Witness, ...] = ()  # the paths a replay must run to judge it (not reported)
    replay: Replay | None = None  # the model's verdict on a static finding, when it was replayed

    def __post_init__(self) -> None:
        if self.kind not in KINDS:
            raise ValueError(f"unknown finding kind {self.kind!r}")
        if self.status not in STATUSES:
            raise ValueError(f"unknown finding status {self.status!r}")
        if self.severity not in SEVERITIES:
            raise ValueError(f"unknown finding severity {self.severity!r}")

    def judged(self, replay: Replay) -> Finding:
        """This finding with the model's verdict: confirmed is an error, refuted a check (shown
        as a note), unknown keeps the static severity."""
        severity = {"confirmed": "error", "refuted": "check"}.get(replay.verdict, self.severity)
        return replace(self, replay=replay, severity=severity)

    def sort_key(self) -> tuple:
        return (
            self.patch or 0,
            self.file or "",
            self.line or 0,
            self.kind,
            self.message,
        )


@dataclass(frozen=True)
class SafeDirty:
    """A set_page_dirty() site the checks found safe in one state of the tree, and the rule
    that made it so (`check --explain`)."""

    file: str
    line: int
    function: str
    rule: str


SHARD_LIMIT = 4096  # more shards than any CI matrix runs (GitHub Actions: 256 jobs, GitLab parallel: 200)


@dataclass(frozen=True)
class Shard:
    """Part `index` of `count` of a scan (`scan --shard K/N`, K 1-based, as GitLab's
    CI_NODE_INDEX/CI_NODE_TOTAL): the findings reported in the files it owns.

    A file belongs to shard 1 + (the first 8 bytes of SHA-256 of its tree-relative path, as a
    big-endian number) mod N.  The path alone decides, so adding or removing other files never
    moves a file to another shard, and every machine, Python version and file order agrees; a
    finding without a file (a budget note about the whole scan) belongs to shard 1."""

    index: int
    count: int

    @classmethod
    def parse(cls, text: str, source: str = "--shard") -> Shard:
        """K/N as a user or a CI matrix writes it; anything else is an input error naming it."""
        m = re.fullmatch(r"([0-9]{1,9})/([0-9]{1,9})", text.strip())
        if m is None and re.fullmatch(r"[0-9]*/[0-9]*", text.strip()):
            raise PatchlintError(f"{source} {text}", "has no K or no N", None,
                                 "in GitLab CI, CI_NODE_INDEX and CI_NODE_TOTAL are set only in a job with parallel: N")
        if m is None:
            raise PatchlintError(f"{source} {text}", "is not K/N", None,
                                 "give the shard's number and the number of shards, e.g. --shard 2/3 "
                                 "(GitLab: $CI_NODE_INDEX/$CI_NODE_TOTAL)")
        index, count = int(m.group(1)), int(m.group(2))
        if not 1 <= count <= SHARD_LIMIT:
            raise PatchlintError(f"{source} {text}", f"N must be between 1 and {SHARD_LIMIT}", None, None)
        if not 1 <= index <= count:
            zero = "GitHub Actions' strategy.job-index counts from 0: add 1" if index == 0 else None
            raise PatchlintError(f"{source} {text}", f"K must be between 1 and N ({count}): shards count from 1",
                                 None, zero)
        return cls(index, count)

    def owns(self, path: str | None) -> bool:
        """Whether findings reported in `path` (tree-relative) belong to this shard."""
        return shard_of(path, self.count) == self.index

    def __str__(self) -> str:
        return f"{self.index}/{self.count}"


def shard_of(path: str | None, count: int) -> int:
    """The shard (1-based, of `count`) that reports the findings of the file at `path`."""
    if not path:
        return 1
    digest = hashlib.sha256(path.encode("utf-8", "surrogateescape")).digest()
    return int.from_bytes(digest[:8], "big") % count + 1
