"""Call-path searches over lock summaries.

`LockReach.edge` answers: from a function that holds lock B at some call,
is lock A taken beneath it?  That is the B -> A dependency lockdep would
record on that path.  It searches breadth-first (the evidence is a shortest
path), as a may-analysis over call paths (any path through the callees
counts), bounded in depth and in the functions it expands, and says when a
bound cut it short.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable
from dataclasses import dataclass

from patchlint.cparse.defs import FunctionDef
from patchlint.extract.engine import MAX_TARGETS, Edge, Frame
from patchlint.extract.facts import Held
from patchlint.extract.summary import LockSummaries

REACH_DEPTH = 8  # calls beneath the function holding the first lock
REACH_BUDGET = 4000  # function expansions per search run


@dataclass
class Lookups:
    """How a call's target becomes function definitions (the engine's answers)."""

    definitions: Callable[..., list[FunctionDef]]
    ops_targets: Callable[[str], list[str]]


@dataclass(frozen=True, slots=True)
class _Pending:
    """A call the search has yet to follow, and how it was reached."""

    target: str  # as HeldCall.target: a function name, or ".member"
    near: str  # the calling function's file
    depth: int  # calls beneath the function holding the first lock
    path: tuple[Frame, ...]
    held: Held  # the first lock, as the path holds it
    binds: dict[str, str]  # members the functions on the path set in local initializers


class LockReach:
    def __init__(self, summaries: LockSummaries, lookups: Lookups, depth: int = REACH_DEPTH,
                 budget: int = REACH_BUDGET):
        self.summaries = summaries
        self.lookups = lookups
        self.depth = depth
        self.budget = budget
        self.expanded = 0
        self.budget_hit = False

    def edge(self, fn: FunctionDef, first: str, then: str) -> Edge | None:
        """A path on which `fn` holds lock class `first` and then it, or a function it calls,
        takes `then`: lockdep's `first -> then` dependency, with the path as evidence."""
        start = self.summaries.get(fn)
        if start is None:
            return None
        for acq in start.acquires:
            held = _find(acq.held, first)
            if acq.lock.cls == then and held is not None:
                return Edge(held, acq.lock, acq.how, (Frame(fn.name, fn.file, acq.lock.line),))
        # breadth-first, so the evidence is a shortest path; each state remembers how it was reached
        binds = dict(start.binds)
        queue: deque[_Pending] = deque()
        for call in start.calls:
            held = _find(call.held, first)
            if held is not None:
                queue.append(_Pending(call.target, fn.file, 1, (Frame(fn.name, fn.file, call.line),), held, binds))
        seen: set[tuple] = set()
        while queue:
            step = queue.popleft()
            for callee in self._resolve(step.target, step.near, step.binds):
                state = (callee.file, callee.start_byte, tuple(sorted(step.binds.items())))
                if state in seen or any(f.function == callee.name for f in step.path):
                    continue
                seen.add(state)
                if self.expanded >= self.budget:
                    self.budget_hit = True
                    return None
                self.expanded += 1
                summary = self.summaries.get(callee)
                if summary is None:
                    continue
                for acq in summary.acquires:
                    if acq.lock.cls == then:
                        return Edge(step.held, acq.lock, acq.how,
                                    step.path + (Frame(callee.name, callee.file, acq.lock.line),))
                if step.depth >= self.depth:
                    continue
                inner = {**step.binds, **dict(summary.binds)} if summary.binds else step.binds
                for call in summary.calls:
                    queue.append(_Pending(call.target, callee.file, step.depth + 1,
                                          step.path + (Frame(callee.name, callee.file, call.line),), step.held,
                                          inner))
        return None

    def _resolve(self, target: str, near: str, binds: dict[str, str]) -> list[FunctionDef]:
        if target.startswith("."):
            member = target[1:]
            # a caller on this path set the member in a local initializer: that is what runs
            names = [binds[member]] if member in binds else self.lookups.ops_targets(member)
            if len(names) > MAX_TARGETS:
                return []  # as in the forward walk: too many implementations to follow
            return [d for n in names for d in self.lookups.definitions(n, near)]
        return self.lookups.definitions(target, near)


def _find(held: tuple[Held, ...], cls: str) -> Held | None:
    return next((h for h in held if h.cls == cls), None)
