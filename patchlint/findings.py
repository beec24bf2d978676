"""The Finding record and the stable vocabulary it uses.

Kinds are stable kebab-case ids: CI users filter on them, SARIF uses them as
rule ids, and `--fail-on` and configuration refer to them.  Add kinds here;
never rename one.
"""

from __future__ import annotations

from dataclasses import dataclass

KINDS: dict[str, str] = {
    "damaged-patch": "the patch was whitespace-damaged and had to be recovered",
    "lock-order-inversion": "two code paths take the same locks in opposite orders",
    "recursive-locking": "a lock taken again on the same object by the path that holds it",
    "spin-on-trylock": "a trylock retry loop while another lock is held",
    "sleep-in-atomic": "a call that may sleep, reached in atomic context",
    "unsafe-set-page-dirty": "set_page_dirty() without the page lock or a pinned mapping",
    "documented-order": "an acquisition that nests against the tree's documented lock order",
    "lock-imbalance": "a path returns with a lock held that the function does not declare",
    "kernel-bug": "a BUG_ON/VM_BUG_ON reachable with its condition true",
    "lost-dirty": "modified data can be treated as clean",
    "deadlock": "every thread blocked in a cycle",
    "livelock": "a thread spins on a lock whose holder waits on the spinner",
    "analysis-incomplete": "part of the input could not be analysed; no verdict there",
}

STATUSES = ("new", "fixed", "existing")
SEVERITIES = ("error", "warning", "check")
FAIL_ON = ("new-error", "new", "any", "never")  # what --fail-on and the fail-on setting accept


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
    scenario: str | None = None  # the model scenario that produced it
    trace: tuple[TraceStep, ...] = ()  # the interleaving (CPU columns) that shows it
    chain: tuple[TraceStep, ...] = ()  # lockdep's "existing dependency chain": where each edge was taken
    explanation: str | None = None  # why a site is safe or not, for --explain
    identity: str = ""  # stable across line moves: how before/after findings are matched

    def __post_init__(self) -> None:
        if self.kind not in KINDS:
            raise ValueError(f"unknown finding kind {self.kind!r}")
        if self.status not in STATUSES:
            raise ValueError(f"unknown finding status {self.status!r}")
        if self.severity not in SEVERITIES:
            raise ValueError(f"unknown finding severity {self.severity!r}")

    def sort_key(self) -> tuple:
        return (
            self.patch or 0,
            self.file or "",
            self.line or 0,
            self.kind,
            self.message,
        )
