"""Replay as the judge of a static finding: run the finding's own paths in the model's
interpreter over the tree's code and say `confirmed`, `refuted` or `unknown`.

A static finding carries `witnesses` (patchlint.findings.Witness): for each CPU, the call
path from a root function to the event that makes the hazard (the second acquisition, the
spin, the sleeping call) and the lock classes one of which must be held there.  The judge
runs each path as one thread of the model's interpreter, with the root's arguments unknown:

- the functions of the path are interpreted whether or not they reach model state, and the
  call at each step's line goes to the path's next function (through a function pointer too);
- every lock operation of the lock table (grammars/locks.toml) is followed, classed as the
  static checks class it (a callee's `@paramN` lock is its caller's argument's class), and a
  callee off the path that itself takes or drops locks is interpreted too;
- a condition on a value the run does not know is tried both ways, and what was chosen is
  remembered (`if (mapping)` taken once is taken again; a pointer found NULL stays NULL);
  a condition decided by known values (a constant flag argument) has one way only.

Every run either reaches the event holding a wanted lock (the path is feasible: its lock
events are the witness), or misses: it leaves a function of the path without calling the
next, or reaches the event without the lock.  A path all of whose runs miss is refuted, with
the condition that turned the runs away (file:line, the values that decided it).  A budget,
a cut (code the interpreter cannot follow), or a call of the path it cannot resolve leaves
the path unknown.  The finding is confirmed when every path is feasible: the interleaving
is the witnesses side by side, each CPU stopped at its event (lockdep's assumption that a
lock class is one lock).
"""

from __future__ import annotations

import heapq
import time
from collections import Counter
from dataclasses import dataclass

from patchlint.cparse import ir
from patchlint.cparse.defs import FunctionDef
from patchlint.cparse.index import FunctionIndex
from patchlint.extract.vocab import Vocabulary, load_vocabulary
from patchlint.findings import REPLAYED, Finding, PathStep, Replay, TraceStep, Witness
from patchlint.model.events import Bug, Choice, Op, OutOfTime, PathCut
from patchlint.model.irwalk import Spans, find_function, walk
from patchlint.model.machine import Machine
from patchlint.model.pathrun import Missed, PathThread, Reached, Unreachable
from patchlint.model.state import UNKNOWN
from patchlint.model.values import const

JUDGED = REPLAYED  # the kinds whose table in kinds.toml says `replay = true`
FINDING_STEPS = 150_000  # interpreter steps over all runs of a finding's paths: the budget (deterministic)
FINDING_SECONDS = 60.0  # a safety valve only: the step budget ends a replay (the same on every machine)
MAX_RUNS = 256  # runs of one path (each a different set of choices)


@dataclass(frozen=True)
class PathVerdict:
    verdict: str  # confirmed | refuted | unknown
    reason: str
    events: tuple[TraceStep, ...] = ()
    steps_used: int = 0
    event_class: str | None = None
    held: tuple[str, ...] = ()


LOCAL_STEPS = 30_000  # steps for one function of a path on its own
LOCAL_RUNS = 400
BOUNDS = ("goto bound",)  # cuts that are the model's loop bounds, not code it cannot follow


def _search(machine: Machine, body: ir.Body, env: dict, witness: Witness, root: FunctionDef, vocab: Vocabulary,
            spans: Spans, max_runs: int, local: bool = False,
            prepass: dict[int, tuple[ir.Body, dict, dict]] | None = None,
            constants: frozenset[str] = frozenset()) -> tuple[str, str, PathThread | None, int]:
    """Runs of a path, best first: ("reached", "", the thread that did, runs), ("missed", the
    commonest reason, None, runs) when every run missed, ("open", why, None, runs) when a cut
    or the run limit left some way untried.  OutOfTime goes to the caller."""
    stack: list[tuple[tuple[int, int, int], tuple[int, ...]]] = [((0, 0, 0), ())]
    misses: Counter[str] = Counter()
    ranks: dict[str, int] = {}
    cuts: Counter[str] = Counter()
    order = runs = 0
    while stack:
        if runs >= max_runs:
            return "open", f"{max_runs} runs without reaching {witness.event} and without ruling it out", None, runs
        _, prefix = heapq.heappop(stack)
        runs += 1
        thread = PathThread(machine, body, dict(env), witness, root, vocab, spans, local, prepass, constants)
        try:
            taken, arities, where = _drive(thread, prefix)
        except Unreachable as exc:
            return "missed", exc.reason, None, runs
        if thread.run_info.reached:
            return "reached", "", thread, runs
        if thread.run_info.cut and thread.run_info.cut.startswith(BOUNDS):
            # a loop (or a goto back) gone round as often as the model follows one: the run is
            # judged within that bound, as a bounded model checker does
            misses[f"no run reaches {witness.event} within the model's loop bounds"] += 1
        elif thread.run_info.cut:
            cuts[thread.run_info.cut] += 1
        for m in dict.fromkeys(thread.misses):
            misses[m] += 1
            ranks[m] = min(ranks.get(m, 9), thread.rank.get(m, 5))
        # best first: an alternative to a choice made further along the path is tried before one
        # made nearer its root, later choices before earlier ones; ties in a fixed order
        for i in range(len(prefix), len(taken)):
            for alt in range(1, arities[i]):
                order += 1
                heapq.heappush(stack, ((-where[i], -i, order), (*taken[:i], alt)))
    if cuts:
        return "open", f"a run could not be followed: {_commonest(cuts)}", None, runs
    if not misses:
        return "open", f"no run reached {witness.path[-1].function}()", None, runs
    # the reason that explains best (a test of constants), then the commonest
    best = min(ranks.values(), default=9)
    reason = _commonest(Counter({m: n for m, n in misses.items() if ranks.get(m, 9) == best}))
    if best >= 5:
        # no condition turned the runs away: the call was not seen where the path says it is
        # (a macro the model expands otherwise, an indirect call): that is not a refutation
        return "open", f"{reason} by no condition the replay saw", None, runs
    return "missed", reason, None, runs


def _commonest(counts: Counter[str]) -> str:
    return sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))[0][0]


def _constant_args(machine: Machine, caller: ir.Body, line: int, callee: str) -> dict[int, int]:
    """The arguments of the call of `callee` at `line` that are constant expressions in the
    caller's source (`__filemap_get_folio(mapping, index, 0, 0)`): whatever way a run comes,
    the callee gets them."""
    for call in walk(caller.block):
        if isinstance(call, ir.Call) and call.line == line and isinstance(call.func, ir.Name) and \
                call.func.id == callee:
            out = {}
            for i, a in enumerate(call.args):
                v = const(a, machine.constant)
                if v is not None:
                    out[i] = v
            return out
    return {}


def _necessary(index: FunctionIndex, witness: Witness, machine: Machine, vocab: Vocabulary,
               spans: Spans, prepass: dict) -> tuple[int, str] | None:
    """Each function of the path on its own, its arguments unknown but for the constants its
    caller passes: can it reach the line the path goes on from?  The first that cannot refutes
    the path whatever the runs before it did (its position and the reason); None if each can,
    or the search could not tell."""
    consts: dict[int, int] = {}
    for i, step in enumerate(witness.path):
        d = find_function(index, step.function, step.file)
        if d is None:
            return None
        params, body = machine.callee(d)
        if body is None:
            return None
        env = {p: UNKNOWN for p in params if p}
        assigned = _assigned(body)
        fixed = set()
        for k, v in consts.items():
            if k < len(params) and params[k]:
                env[params[k]] = v
                if params[k] not in assigned:
                    fixed.add(params[k])
        alone = Witness(witness.cpu, (PathStep(step.function, step.file, step.line),), (),
                        witness.event if i == len(witness.path) - 1 else f"{witness.path[i + 1].function}()")
        outcome, reason, _, _ = _search(machine, body, env, alone, d, vocab, spans, LOCAL_RUNS, True, prepass,
                                        frozenset(fixed))
        if outcome == "missed":
            return i, reason
        if i + 1 < len(witness.path):
            consts = _constant_args(machine, body, step.line, witness.path[i + 1].function)
    return None


def _assigned(body: ir.Body) -> set[str]:
    """The names a body assigns, increments or takes the address of."""
    out = set()
    for n in walk(body.block):
        if isinstance(n, ir.Assign) and isinstance(n.target, ir.Name):
            out.add(n.target.id)
        elif isinstance(n, ir.Unary) and n.op in ("++", "--", "post++", "post--", "&") and \
                isinstance(n.operand, ir.Name):
            out.add(n.operand.id)
    return out


def judge_path(index: FunctionIndex, witness: Witness, steps: int = FINDING_STEPS,
               seconds: float = FINDING_SECONDS) -> PathVerdict:
    """One path: first each of its functions on its own (can it reach the line the path goes on
    from at all?), then runs of the whole path, best first, until one reaches its event holding
    a wanted lock, within `steps` interpreter steps (and `seconds`, a backstop)."""
    root_step = witness.path[0]
    root = find_function(index, root_step.function, root_step.file)
    if root is None:
        return PathVerdict("unknown", f"{root_step.function}() has no definition in the tree")
    vocab = load_vocabulary()
    spans: Spans = {}
    prepass: dict[int, tuple[ir.Body, dict, dict]] = {}  # a function's lock names, for every run of the path
    deadline = time.monotonic() + seconds
    used = 0
    try:
        local = Machine(index, max_steps=max(min(LOCAL_STEPS * len(witness.path), steps * 2 // 5), 1))
        local.deadline = deadline
        try:
            stop = _necessary(index, witness, local, vocab, spans, prepass)
        except OutOfTime:
            stop = None
        used = local.steps
        if stop is not None:
            return PathVerdict("refuted", stop[1], steps_used=used)
        machine = Machine(index, max_steps=max(steps - used, 1))
        machine.deadline = deadline
        params, body = machine.callee(root)
        if body is None:
            return PathVerdict("unknown", f"{root.name}() has no body the model can read", steps_used=used)
        env = {p: UNKNOWN for p in params if p}
        outcome, reason, thread, runs = _search(machine, body, env, witness, root, vocab, spans, MAX_RUNS,
                                                prepass=prepass)
    except OutOfTime as exc:
        return PathVerdict("unknown", f"replay budget ({exc.why}) spent without reaching {witness.event} and "
                           "without ruling it out", steps_used=steps)
    used += machine.steps
    if outcome == "reached" and thread is not None:
        return PathVerdict("confirmed", f"{witness.path[-1].function}() reaches {witness.event} holding "
                           f"{', '.join(c for c, _ in thread.held if c in witness.held)}",
                           tuple(thread.run_info.events), used, thread.run_info.event_class, thread.run_info.held)
    if outcome == "missed":
        return PathVerdict("refuted", reason, steps_used=used)
    return PathVerdict("unknown", reason, steps_used=used)


def _drive(thread: PathThread, prefix: tuple[int, ...]) -> tuple[list[int], list[int], list[int]]:
    """Run the thread, taking `prefix`'s choices and then the first of each; the choices taken,
    how many each had, and how far along the path each was made."""
    taken: list[int] = []
    arities: list[int] = []
    where: list[int] = []  # how far along the path each choice was made
    gen = thread.run()
    value: object = None
    try:
        while True:
            ev = gen.send(value)
            if isinstance(ev, Choice):
                pick = prefix[len(taken)] if len(taken) < len(prefix) else 0
                taken.append(pick)
                arities.append(ev.n)
                where.append(len(thread.path_frames) - 1)
                thread.choices += 1
                value = pick
            elif isinstance(ev, Op):
                value = UNKNOWN if not ev.prim.startswith("judge:") else 0
            else:
                value = None
    except StopIteration:
        if 0 not in thread.advanced:
            thread.misses.append(thread._left(0))
    except Missed:
        pass
    except Reached:
        thread.run_info.reached = True
    except PathCut as exc:
        thread.run_info.cut = str(exc) or "path cut"
        cut = next(iter(sorted(thread.m.cuts, key=str)), None)
        if cut is not None:
            thread.run_info.cut = f"{cut.cause} at {cut.file}:{cut.line} in {cut.function}()"
    except Bug:
        thread.misses.append("the path meets a BUG_ON first")
    return taken, arities, where


def judge(index: FunctionIndex, finding: Finding, steps: int = FINDING_STEPS,
          seconds: float = FINDING_SECONDS) -> Replay:
    """The verdict on one static finding, from replaying its witnesses within one budget.  A
    CPU's witnesses are alternatives (other paths that take the same locks so): the CPU can do
    its part if one of them can, cannot if none can.  A CPU that cannot ends it: the finding
    cannot happen whatever the others do."""
    if not finding.witnesses:
        return Replay("unknown", "the finding has no path to replay")
    deadline = time.monotonic() + seconds
    chosen: list[tuple[Witness, PathVerdict]] = []
    undecided: list[tuple[Witness, PathVerdict]] = []
    for cpu in sorted({w.cpu for w in finding.witnesses}):
        mine = [w for w in finding.witnesses if w.cpu == cpu]
        results: list[tuple[Witness, PathVerdict]] = []
        for w in mine:
            # an equal share of what is left for each path still to try: one path that cannot be
            # decided does not starve its alternatives
            left = sum(1 for x in finding.witnesses if x.cpu > cpu) + len(mine) - mine.index(w)
            v = judge_path(index, w, max(steps // left, 1), max(deadline - time.monotonic(), 0.0))
            steps -= v.steps_used
            results.append((w, v))
            if v.verdict == "confirmed":
                break
        good = [r for r in results if r[1].verdict == "confirmed"]
        if good:
            chosen.append(good[0])
            continue
        if all(v.verdict == "refuted" for _, v in results) and len(results) == len(mine):
            w, v = results[0]
            who = f"CPU{w.cpu}'s path ({w.path[0].function}() -> ... -> {w.path[-1].function}()): " \
                if len(finding.witnesses) > 1 else ""
            more = f" (and {len(results) - 1} other path{'s' * (len(results) > 2)} like it)" if len(results) > 1 else ""
            return Replay("refuted", who + v.reason + more)
        undecided.append(next((r for r in results if r[1].verdict == "unknown"), results[0]))
    if undecided:
        w, v = undecided[0]
        who = f"CPU{w.cpu}'s path: " if len(finding.witnesses) > 1 else ""
        return Replay("unknown", who + v.reason)
    verdicts = chosen
    if len(verdicts) == 2:
        # a cycle needs each CPU to want the very class the other holds: lockdep's subclass of a
        # nested acquisition (spin_lock_nested(.., SINGLE_DEPTH_NESTING)) is a class of its own
        for (w, v), (_, other) in (verdicts, verdicts[::-1]):
            if v.event_class is not None and v.event_class not in other.held:
                e = v.events[-1] if v.events else None
                where = f" at {e.file}:{e.line}" if e is not None else ""
                return Replay("refuted", f"CPU{w.cpu} takes {v.event_class}{where}, which lockdep keeps apart "
                              f"from what the other CPU holds ({', '.join(other.held) or 'nothing'}): no cycle")
    return Replay("confirmed", "; ".join(v.reason for _, v in verdicts), _interleave(verdicts))


def _interleave(verdicts: list[tuple[Witness, PathVerdict]]) -> tuple[TraceStep, ...]:
    """Each CPU's lock events up to its event, one CPU after the other, then the events: every
    CPU stopped where the hazard is.  A CPU's steps before its event are the locks it holds
    there (PathVerdict.held, in the same order): those of the classes in play are shown."""
    wanted = {c for w, _ in verdicts for c in w.held} | {v.event_class for _, v in verdicts if v.event_class}
    out: list[TraceStep] = []
    for _, v in verdicts:
        out.extend(e for cls, e in zip(v.held, v.events[:-1], strict=True) if cls in wanted)
    out.extend(v.events[-1] for _, v in verdicts if v.events)
    return tuple(out)


def judge_one(index: FunctionIndex, f: Finding) -> Replay:
    """The verdict on one finding; an internal failure is a reported unknown, never a crash."""
    try:
        return judge(index, f)
    except Exception as exc:  # noqa: BLE001 - nothing raises out of the analysis
        return Replay("unknown", f"replay failed: {exc.__class__.__name__}: {exc}")



__all__ = ["JUDGED", "judge", "judge_one", "judge_path"]

