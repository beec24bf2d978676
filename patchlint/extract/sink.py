"""What a walk of one function tells whoever walks it: the events it reports
to a `Sink` (acquisitions, releases, spins, calls, sleeps, page dirtying,
returns, a lock taken twice on one object), each at a `Site`, and the
`Outcome`s a walked callee hands back to its caller's paths.
"""

from __future__ import annotations

from dataclasses import dataclass

from patchlint.cparse import ir
from patchlint.extract.facts import Held, Variant


@dataclass(frozen=True)
class Site:
    file: str
    line: int
    function: str


@dataclass(frozen=True, slots=True)
class Outcome:
    """How a callee leaves its caller's locks, for one way of returning."""

    added: tuple[Held, ...]  # the locks it returns holding
    released: tuple[str, ...]  # the classes of its caller's locks it released
    truth: bool | None  # what it returned, when that was a constant
    entry: tuple[str, ...] | None  # the caller's lock classes on the path it belongs to; None: every path
    # the classes (of the caller's locks, or of those it returns holding) whose fate on this way
    # of returning is not known: the callee handed them to code the walk could not see
    unknown: tuple[str, ...] = ()
    # this way of returning says what it returned (a constant, a pointer the path tested, an
    # annotation): a caller can tell it from the others
    told: bool = False
    # an annotation (not the walk) says what it releases: a release sparse counts on its word
    said: bool = False


@dataclass(frozen=True, slots=True)
class Unheld:
    """A release of a lock the path does not hold."""

    why: str  # "double": released before on this path; "failed": its trylock failed; "never": never taken
    line: int | None  # the earlier release, or the failed attempt


# What a call the walk cannot see into does to the caller's locks: not known (UnknownFact).
OPAQUE = [Outcome((), (), None, None, ("*",))]


class Sink:
    """What a walk reports; the checks engine subclasses it."""

    def acquire(self, site: Site, lock: Held, before: list[Variant]) -> None: ...
    def spin(self, site: Site, lock: Held, before: list[Variant], loop_line: int) -> None: ...
    def call(self, site: Site, call: ir.Call, target: ir.Expr, variants: list[Variant],
             arg_classes: tuple[str | None, ...] = ()) -> list[Outcome] | None:
        """May return the callee's effects on the caller's locks, one per way it can return.
        `arg_classes` are the lock classes the arguments name, where they name one."""
        return None
    def sleep(self, site: Site, what: str, variants: list[Variant]) -> None: ...
    def dirty(self, site: Site, call: ir.Call, variants: list[Variant]) -> None: ...
    def returned(self, site: Site, variants: list[Variant]) -> None: ...
    def release(self, site: Site, lock: Held, before: list[Variant]) -> None: ...
    def unheld(self, site: Site, lock: Held, variant: Variant, why: Unheld) -> None:
        """`variant` releases `lock` without holding it (a double unlock, the unlock of a
        failed trylock, a lock never taken)."""
    def recursive(self, site: Site, lock: Held, first: Held, instance: str, variant: Variant) -> None: ...
