"""What the interprocedural walk (extract.engine) observes: lock-order edges, spins, sleeping
calls, page dirtying, lock taken twice on one object, the ways the functions a check is about
return, releases of locks a path does not hold, and calls nothing resolves.  Records only; the
checks (patchlint.checks) read them."""

from __future__ import annotations

from dataclasses import dataclass, field

from patchlint.cparse.defs import FunctionDef
from patchlint.extract.facts import Held, Variant
from patchlint.extract.sink import Site, Unheld


@dataclass(frozen=True)
class Frame:
    """One step of a call path: `function` calls the next frame at `line`."""

    function: str
    file: str
    line: int


@dataclass(frozen=True)
class Edge:
    held: Held
    acquired: Held
    how: str  # "lock" or "spin"
    path: tuple[Frame, ...]  # from the root to the acquiring function


@dataclass(frozen=True)
class Spin:
    lock: Held  # the lock spun for
    held: tuple[Held, ...]  # what the spinner holds (some variant)
    loop_line: int
    path: tuple[Frame, ...]


@dataclass(frozen=True)
class Sleep:
    site: Site
    what: str
    atomic: tuple[Held, ...]
    path: tuple[Frame, ...]


@dataclass(frozen=True)
class Dirty:
    site: Site
    call: str
    safe: bool
    rule: str  # why it is safe, or why not
    path: tuple[Frame, ...]


@dataclass(frozen=True)
class Recursive:
    """A lock taken (or spun for) on an object whose lock the same path already holds."""

    site: Site
    lock: Held  # the second acquisition
    first: Held  # where the path took it before
    instance: str  # what the second acquisition names (`folio`, `&n->list_lock`)
    path: tuple[Frame, ...]


@dataclass(frozen=True)
class Unresolved:
    site: Site
    callee: str
    why: str


@dataclass(frozen=True)
class Exit:
    """One way a walked function returned."""

    site: Site  # the `return` (or the closing brace)
    variant: Variant  # the locks held and the facts known on that path
    function: FunctionDef
    entry: frozenset[str]  # the lock classes held when it was entered
    called: bool = False  # entered from a caller on the walk (not walked as a root)
    # which walk of the function it belongs to: one walk names its locks one way (a parameter's
    # lock is `@param0`, or its caller's class where the caller holds one)
    walk: int = 0
    # the caller's lock classes its parameters point to on that walk (index, class): what a
    # `__acquires(lock)` on a parameter means there
    params: tuple[tuple[int, str], ...] = ()


@dataclass(frozen=True)
class BadRelease:
    """A release of a lock the path did not hold (extract.sink.Unheld says how: released before,
    its trylock failed, never taken), in a function a check is about."""

    site: Site
    lock: Held  # the release (its class and kind)
    why: Unheld
    function: FunctionDef
    entry: frozenset[str]  # the lock classes held when the function was entered
    called: bool  # entered from a caller on the walk


@dataclass(frozen=True)
class CallReached:
    """A call into a watched function (Engine's `watch`): the path to it and the lock sets held."""

    callee: str
    path: tuple[Frame, ...]  # from the root to the function making the call
    variants: tuple[Variant, ...]  # the locks held at the call, one entry per lock set


@dataclass
class Observations:
    edges: dict[tuple[str, str, str, str, int], Edge] = field(default_factory=dict)
    spins: dict[tuple[str, int, str], Spin] = field(default_factory=dict)
    sleeps: dict[tuple[str, int, str], Sleep] = field(default_factory=dict)
    dirties: list[Dirty] = field(default_factory=list)
    returns: list[Exit] = field(default_factory=list)  # each way a function returned
    unresolved: dict[tuple[str, int, str], Unresolved] = field(default_factory=dict)
    recursive: dict[tuple[str, int, str], Recursive] = field(default_factory=dict)
    incomplete: set[tuple[str, str]] = field(default_factory=set)  # (file, function) with opaque parts
    calls_to: list[CallReached] = field(default_factory=list)
    # releases of locks a path did not hold, one per (file, line, class, how)
    unheld: dict[tuple[str, int, str, str], BadRelease] = field(default_factory=dict)
    # (file, line, class) of releases some path reached holding the lock: a release site no path
    # ever reaches holding it releases its caller's lock
    held_releases: set[tuple[str, int, str]] = field(default_factory=set)
    budget_hit: bool = False
    cut_roots: list[str] = field(default_factory=list)  # roots whose walk a budget cut short
    walks: int = 0
