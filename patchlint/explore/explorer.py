"""Explore a scenario's interleavings over the model.

Threads interleave at visible events only (the shared primitives: lock operations
and accesses to pages, address spaces, ptes and storage keys).  Schedules are
bounded CHESS-style: a switch away from a thread that could have continued is a
preemption, and at most K of them are allowed (default 2); a switch away from a
blocked or finished thread is free.  States are hashed (shared state + each
thread's frames, locals and pending event + the running thread) and a state seen
with at least as many preemptions left is not explored again.  Order is fixed,
so every trace replays exactly.  A budget hit is reported as incomplete, never as
safe.

Hazards:
- kernel-bug: a BUG_ON/VM_BUG_ON decided true, or a primitive's own BUG
  (radix_tree_tag_set on a missing slot);
- deadlock: no thread can run and some are blocked;
- livelock: a cycle of states in which one thread fails a trylock again and again
  on a lock held by a thread that is blocked on a lock the spinner holds;
- sleep-in-atomic: a sleeping primitive in a thread holding a spinlock;
- lost-dirty: at the end, the page holds data newer than its backing store but
  neither PG_dirty nor the storage key's change bit says so.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field

from patchlint.cparse.index import FunctionIndex
from patchlint.findings import TraceStep
from patchlint.model import primitives as P
from patchlint.model.events import Bug, Choice, Cut, Op, OutOfTime, PathCut
from patchlint.model.hazards import hazards, holds
from patchlint.model.interp import Thread
from patchlint.model.machine import Machine
from patchlint.model.state import Obj, Scenario, State, diff

MAX_UNDECIDED = 12  # undecided conditions in a row without a visible event (2**12 paths)
LIVE = 8192  # threads parked at an event, ready to resume without replaying their history


@dataclass(frozen=True)
class Hazard:
    kind: str
    message: str
    site: tuple  # (file, line, function)
    trace: tuple[TraceStep, ...]


@dataclass
class Result:
    scenario: str
    profile: str
    hazards: list[Hazard] = field(default_factory=list)
    states: int = 0
    transitions: int = 0
    complete: bool = True
    incomplete: str | None = None
    unresolved: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    cuts: list[Cut] = field(default_factory=list)  # where paths were abandoned, and why
    seconds: float = 0.0
    steps: int = 0  # interpreter steps the run took: what its step budget counts

    def kinds(self) -> set[str]:
        return {h.kind for h in self.hazards}

    def first(self, kind: str) -> Hazard | None:
        return next((h for h in self.hazards if h.kind == kind), None)


@dataclass(frozen=True)
class TS:
    """A thread's state: the values sent into it so far, what it waits to do, its frames."""

    history: tuple
    pending: Op | None
    key: tuple
    status: str = "run"  # run, done, bug, cut


class Explorer:
    def __init__(self, index: FunctionIndex, scenario: Scenario, bound: int = 2, max_states: int = 200000,
                 max_seconds: float = 30.0, max_steps: int | None = None):
        self.sc = scenario
        self.bound = bound
        self.max_states = max_states
        self.max_seconds = max_seconds
        self.machine = Machine(index, P.Ctx(swap_entry=scenario.swap_entry, page="page"), dict(scenario.aops),
                               {s.name: s.ops for s in scenario.state.spaces if s.ops}, max_steps=max_steps)
        self.result = Result(scenario.name, index.profile.name)
        # the hazards the scenario asks about (grammars/hazards.toml), by the detector that finds them
        table = hazards()
        self.detect: dict[str, list] = {}
        for name in scenario.exists or tuple(table):
            self.detect.setdefault(table[name].detector, []).append(table[name])
        self._seen_hazards: set[tuple] = set()
        self._live: dict[tuple, tuple] = {}
        # a thread is deterministic given the values sent into it, so its next event after a
        # history is the same whatever the other threads did: interpret each history once
        self._advanced: dict[tuple, list[tuple[TS, Bug | None]]] = {}
        # the search's states as small ints: one hash of the full state per step, and the
        # visited map and cycle check compare ints, not nested tuples
        self._ids: dict[tuple, int] = {}

    # -- threads -------------------------------------------------------------------------------
    def _fresh(self, tid: int) -> Thread:
        name, body, params = self.sc.threads[tid]
        spaces = {s.name for s in self.sc.state.spaces}
        # the scenario's page is its own (order-0) folio: a 6.x thread names it `folio`
        env = {p: Obj("page", "page") if p in ("page", "folio") else Obj("space", p) for p in params
               if p in ("page", "folio") or p in spaces}
        return Thread(self.machine, body, env)

    def advance(self, tid: int, history: tuple, undecided: int = 0) -> list[tuple[TS, Bug | None]]:
        """Run thread tid through `history` to its next visible event, forking at choices.
        `undecided`: how many of the last values of `history` answered choices, not events."""
        key = (tid, history)
        out = self._advanced.get(key)
        if out is None:
            out = self._advanced[key] = self._advance(tid, history, undecided)
        return out

    def _advance(self, tid: int, history: tuple, undecided: int = 0) -> list[tuple[TS, Bug | None]]:
        """advance() without the memo.  A live generator parked at history[:-1] is resumed
        instead of replaying (each parked generator serves one successor; the others replay
        from the start)."""
        live = self._live.pop((tid, history[:-1]), None) if history else None
        th: Thread | None = None
        try:
            if live is not None:
                th, gen = live
                req = gen.send(history[-1])
            else:
                th = self._fresh(tid)
                gen = th.run()
                req = next(gen)
                for v in history:
                    req = gen.send(v)
        except StopIteration:
            return [(TS(history, None, (), "done"), None)]
        except Bug as b:
            return [(TS(history, None, (), "bug"), b)]
        except PathCut:
            return [(TS(history, None, (), "cut"), None)]
        except OutOfTime:
            raise
        except Exception as exc:  # noqa: BLE001 - the model never takes the report down with it
            self._internal(th, exc)
            return [(TS(history, None, (), "cut"), None)]
        if len(self._live) >= LIVE:
            # the oldest parked generator goes (dicts keep insertion order): the depth-first search
            # comes back soonest to what it parked last
            del self._live[next(iter(self._live))]
        self._live[(tid, history)] = (th, gen)
        if isinstance(req, Choice):
            if undecided >= MAX_UNDECIDED:
                # code the model cannot decide, condition after condition, with nothing visible
                # between: its paths multiply.  Like a loop's bound, beyond MAX_UNDECIDED in a row
                # each further condition is followed one way only (its last outcome: a condition's
                # true branch), and the notes say where
                self.machine.notes.add(f"conditions after {MAX_UNDECIDED} undecided ones in a row followed one way "
                                       f"from {req.site[2]}() ({req.site[0]}:{req.site[1]})")
                return self.advance(tid, history + (req.n - 1,), undecided + 1)
            out = []
            for i in range(req.n):
                out.extend(self.advance(tid, history + (i,), undecided + 1))
            return out
        return [(TS(history, req, th.snapshot()), None)]

    def _internal(self, th: Thread | None, exc: Exception) -> None:
        """A failure inside the model (a construct it mishandles): that path is cut, and said."""
        f = th.frame if th is not None else None
        self.machine.cuts.add(Cut(f.file if f else "?", f.line if f else 0, f.function if f else "?",
                                  f"internal error: {type(exc).__name__}"))

    def enabled(self, state: State, t: TS, tid: int) -> bool:
        if t.pending is None:
            return False
        prim = P.lookup(t.pending.prim)
        if prim is not None and prim.waits_for is not None:
            lock = prim.waits_for(t.pending.args)
            owner = state.owner(lock) if lock else None
            return owner is None or (prim.holder_continues and owner == tid)
        return True

    def waits_for(self, t: TS) -> str | None:
        if t.pending is None:
            return None
        prim = P.lookup(t.pending.prim)
        return prim.waits_for(t.pending.args) if prim is not None and prim.waits_for else None

    # -- search --------------------------------------------------------------------------------
    def run(self) -> Result:
        start = time.monotonic()
        self.machine.deadline = start + self.max_seconds
        try:
            roots = [[]]
            for tid in range(len(self.sc.threads)):
                roots = [r + [ts] for r in roots for ts, bug in self.advance(tid, ()) if bug is None]
            visited: dict[int, int] = {}
            for threads in roots:
                self._dfs(self.sc.state, tuple(threads), start, visited)
                if not self.result.complete:
                    break
        except OutOfTime as out:
            self.result.complete = False
            self.result.incomplete = f"budget hit: {out.why}"
        r = self.result
        r.cuts = sorted(self.machine.cuts)
        if r.complete and r.cuts:
            # a path abandoned mid-way hides whatever follows it: not a verdict of safety
            r.complete = False
            more = f" and {len(r.cuts) - 3} more" if len(r.cuts) > 3 else ""
            r.incomplete = "paths cut: " + "; ".join(str(c) for c in r.cuts[:3]) + more
        r.unresolved = sorted(self.machine.unresolved)
        r.notes = sorted(self.machine.notes)
        r.seconds = time.monotonic() - start
        r.steps = self.machine.steps
        r.hazards.sort(key=lambda h: (h.kind, h.site))
        return r

    def _key(self, state: State, threads: tuple, last: int | None) -> int:
        key = (state, tuple((t.status, t.key, t.pending) for t in threads), last)
        return self._ids.setdefault(key, len(self._ids))

    def _dfs(self, state0: State, threads0: tuple, start: float, visited: dict[str, int]) -> None:
        # explicit stack: (state, threads, last thread, preemptions, trace, on-path keys with the tid that
        # stepped into them)
        stack = [(state0, threads0, None, 0, (), ())]
        while stack:
            state, threads, last, pre, trace, path = stack.pop()
            key = self._key(state, threads, last)
            on_path = [i for i, (k, _) in enumerate(path) if k == key]
            if on_path:
                self._cycle(state, threads, trace, path[on_path[0]:] + ((key, last),))
                continue
            if visited.get(key, 1 << 30) <= pre:
                continue
            visited[key] = pre
            self.result.states += 1
            if self.result.states > self.max_states or time.monotonic() - start > self.max_seconds:
                self.result.complete = False
                self.result.incomplete = (f"budget hit: {self.result.states - 1} states"
                                          if self.result.states > self.max_states else "budget hit: time")
                return
            path = path + ((key, last),)
            runnable = [i for i, t in enumerate(threads) if self.enabled(state, t, i)]
            if not runnable:
                blocked = [i for i, t in enumerate(threads) if t.pending is not None]
                if any(t.status == "cut" for t in threads):
                    continue  # a thread whose path was cut might have released what the others wait for
                if blocked:
                    waits = [(i, self.waits_for(threads[i])) for i in blocked]
                    self._detected("all-blocked", "every unfinished thread is blocked: " + ", ".join(
                        f"P{i} waits for {lk} held by P{state.owner(lk)} in {threads[i].pending.site[2]}()"
                        for i, lk in waits),
                        threads[blocked[0]].pending.site, trace)
                elif all(t.status == "done" for t in threads):
                    self._final(state, trace)
                continue
            order = ([last] if last in runnable else []) + [i for i in runnable if i != last]
            succ = []
            for tid in order:
                cost = 1 if (last is not None and tid != last and last in runnable) else 0
                if pre + cost > self.bound:
                    continue
                succ.extend(self._step(state, threads, tid, pre + cost, trace, path))
            stack.extend(reversed(succ))

    def _step(self, state: State, threads: tuple, tid: int, pre: int, trace: tuple, path: tuple) -> list:
        t = threads[tid]
        op = t.pending
        prim = P.lookup(op.prim)
        try:
            eff = prim.impl(state, tid, op.args, P.Ctx(self.sc.swap_entry, "page", op.site))
        except Exception as exc:  # noqa: BLE001 - a primitive given values it has no meaning for
            self.machine.cuts.add(Cut(op.site[0], op.site[1], op.site[2],
                                      f"internal error in {op.prim}: {type(exc).__name__}"))
            return []
        self.result.transitions += 1
        # the step's state changes are worked out only if a hazard shows this trace
        # a failed trylock changes nothing, but who holds the lock is what makes it fail
        busy = f"{eff.spin_on} busy: held by P{state.owner(eff.spin_on)}" if eff.spin_on else None
        trace = trace + (_Step(tid, op.text + (f" = {_show(eff.value)}" if _shows_value(op) else ""),
                               op.site, state, eff.state, op.callers, busy),)
        if eff.bug:
            self._detected("bug", eff.bug, op.site, trace)
            return []
        if eff.sleep and state.atomic(tid):
            self._detected("sleep-atomic", f"{eff.sleep} while holding {', '.join(state.held_by(tid))}",
                           op.site, trace)
        out = []
        for nts, bug in self.advance(tid, t.history + (eff.value,)):
            if bug is not None:
                self._detected("bug", bug.message, bug.site, trace + (_Step(tid, bug.message, bug.site, None, None),))
                continue
            out.append((eff.state, threads[:tid] + (nts,) + threads[tid + 1:], tid, pre, trace, path))
        return out

    # -- hazards -------------------------------------------------------------------------------
    def _cycle(self, state: State, threads: tuple, trace: tuple, cycle: tuple) -> None:
        """A state met again on the current path: a livelock if one thread spins on a trylock
        whose lock's holder is blocked on a lock the spinner holds."""
        movers = {tid for _, tid in cycle[1:]}
        if len(movers) != 1:
            return
        spinner = movers.pop()
        # the failed trylock must be one the cycle repeats: a single trylock given up on long
        # before (6.x's __try_to_reclaim_swap() under the PTL) is not a spin
        steps = [s for s in trace[len(trace) - (len(cycle) - 1):] if s.cpu == spinner] if len(cycle) > 1 else []
        spin = next((s for s in reversed(steps) if "trylock" in s.event and s.event.endswith("= 0")), None)
        if spin is None:
            return
        spin = spin.materialize()
        for other, t in enumerate(threads):
            lock = self.waits_for(t) if other != spinner else None
            if lock is not None and state.owner(lock) == spinner:
                held = [lk for lk in state.held_by(other)]
                self._detected("spin-cycle", f"P{spinner} spins on {spin.event.rsplit(' =', 1)[0]} holding {lock}, "
                               f"while P{other} holds {', '.join(held)} and waits for {lock}",
                               (spin.file, spin.line, spin.function), trace)
                return

    def _final(self, state: State, trace: tuple) -> None:
        """Every thread finished: the final-state hazards' predicates over each page."""
        for h in self.detect.get("final", ()):
            for p in state.pages:
                if holds(h, p):
                    site = (getattr(p, h.site) if h.site else None) or (None, None, None)
                    self._hazard(h.name, h.message.format(page=p.name), site, trace)

    def _detected(self, detector: str, message: str, site: tuple, trace: tuple) -> None:
        """What a detector found, as each hazard the scenario asks about that it stands for."""
        for h in self.detect.get(detector, ()):
            self._hazard(h.name, message, site, trace)

    def _hazard(self, kind: str, message: str, site: tuple, trace: tuple) -> None:
        key = (kind, site)
        if key in self._seen_hazards:
            return
        self._seen_hazards.add(key)
        self.result.hazards.append(Hazard(kind, message, tuple(site), tuple(s.materialize() for s in trace)))


class _Step:
    """A trace step as the search keeps it: the states around it, not yet their difference."""

    __slots__ = ("cpu", "event", "site", "before", "after", "callers", "busy")

    def __init__(self, cpu: int, event: str, site: tuple, before: State | None, after: State | None,
                 callers: tuple = (), busy: str | None = None):
        self.cpu, self.event, self.site, self.before, self.after = cpu, event, site, before, after
        self.callers, self.busy = callers, busy

    def materialize(self) -> TraceStep:
        changes = diff(self.before, self.after) if self.before is not None else ()
        if self.busy:
            changes = (*changes, self.busy)
        return TraceStep(self.cpu, self.event, self.site[0], self.site[1], self.site[2], changes, self.callers)


def _shows_value(op: Op) -> bool:
    return not op.prim.startswith(("spin_", "pte_unmap", "unlock", "set_", "clear_", "__page_write", "mutex"))


def _show(v) -> str:
    return v.name if isinstance(v, Obj) else str(v)


def explore(index: FunctionIndex, scenario: Scenario, bound: int = 2, **budget) -> Result:
    return Explorer(index, scenario, bound, **budget).run()


def render(result: Result, hazard: Hazard) -> str:
    """The counterexample as CPU columns of `file:line function: event`, state changes indented."""
    lines = [f"{hazard.kind}: {hazard.message}", f"  at {hazard.site[0]}:{hazard.site[1]} {hazard.site[2]}()"]
    for s in hazard.trace:
        pad = "    " + " " * 50 * s.cpu
        lines.append(f"{pad}CPU{s.cpu}: {s.file}:{s.line} {s.function}: {s.event}")
        for c in s.state:
            lines.append(f"{pad}        {c}")
    return "\n".join(lines)


def render_replay(result: Result, bound: int) -> str:
    """`patchlint replay` as text: each hazard with its interleaving, then what was explored."""
    out = [f"scenario {result.scenario} (profile {result.profile}, preemption bound {bound})", ""]
    if not result.complete:
        # said first: what follows is what was found before the cut, never a verdict of safety
        out.append(f"INCOMPLETE: {result.incomplete}")
        for c in result.cuts[:10]:
            out.append(f"  cut: {c}")
        if len(result.cuts) > 10:
            out.append(f"  ... and {len(result.cuts) - 10} more cuts")
        out.append("")
    if not result.hazards:
        out.append("no hazard within the bound" if result.complete else "no hazard found before the cut")
    for h in result.hazards:
        out.append(render(result, h))
        out.append("")
    out.append(f"explored {result.states} states, {result.transitions} transitions in {result.seconds:.2f} s"
               + ("" if result.complete else f"; INCOMPLETE: {result.incomplete}"))
    if result.unresolved:
        out.append(f"calls the model could not follow: {', '.join(sorted(set(result.unresolved)))}")
    for note in result.notes:
        out.append(f"note: {note}")
    return "\n".join(out) + "\n"
