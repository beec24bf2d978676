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

import time
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field, fields, replace

from patchlint.cparse import ir
from patchlint.cparse.defs import FunctionDef
from patchlint.cparse.index import FunctionIndex
from patchlint.extract.exprs import text_of
from patchlint.extract.facts import CONTEXT_KINDS
from patchlint.extract.lockclass import LockNames
from patchlint.extract.vocab import Primitive, Vocabulary, load_vocabulary
from patchlint.findings import LEVELS, Finding, Replay, TraceStep, Witness
from patchlint.model.events import Bug, Choice, Op, OutOfTime, PathCut, Return, Steps
from patchlint.model.frames import CallFrame
from patchlint.model.interp import Thread
from patchlint.model.machine import Machine
from patchlint.model.state import UNKNOWN, Obj
from patchlint.model.values import truth

JUDGED = frozenset({"lock-order-inversion", "recursive-locking", "spin-on-trylock", "sleep-in-atomic"})
PATH_SECONDS = 1.0  # per path: a finding has one or two
MAX_RUNS = 512  # runs of one path (each a different set of choices)
MAX_STEPS = 400_000  # interpreter steps over all runs of one path
OFF_PATH_DEPTH = 3  # callees off the path interpreted for their locks, below the path's function
NONNULL = "nonnull"  # the kind of an Obj the run chose to be a non-NULL pointer it knows nothing else of


class Reached(Exception):
    """The run reached the path's event holding a wanted lock."""


@dataclass(frozen=True)
class Decision:
    """A condition a run decided: by known values (`known`), or by choice."""

    depth: int  # index of the frame it was decided in
    function: str
    file: str
    line: int
    text: str
    value: bool
    known: bool
    values: tuple[tuple[str, int], ...] = ()  # the known values of the names in it

    def says(self) -> str:
        vals = f" ({', '.join(f'{n} = {v}' for n, v in self.values)})" if self.values else ""
        return f"{self.file}:{self.line}: `{self.text}` is {'true' if self.value else 'false'}{vals}"


@dataclass
class Run:
    reached: bool = False
    miss: str | None = None  # why this run did not reach the event
    cut: str | None = None  # why this run could not be followed
    events: list[TraceStep] = field(default_factory=list)


@dataclass(frozen=True)
class PathVerdict:
    verdict: str  # confirmed | refuted | unknown
    reason: str
    events: tuple[TraceStep, ...] = ()


class PathThread(Thread):
    """One path of a finding, run by the model's interpreter with the lock table followed."""

    def __init__(self, machine: Machine, body: ir.Body, env: dict, witness: Witness | None = None,
                 root: FunctionDef | None = None, vocab: Vocabulary | None = None) -> None:
        # without a witness: a callee the interpreter folds to its value, run as a plain thread
        super().__init__(machine, body, env)
        self.w = witness
        self.vocab = vocab or load_vocabulary()
        self.names: dict[int, LockNames] = {}  # id(frame) -> its lock names
        if root is not None:
            self.names[id(self.frames[0])] = LockNames(self.vocab, body, _params(root))
        self.path_frames: list[int] = [0]  # frame indexes of the path's functions entered so far
        self.advanced: set[int] = set()  # path positions whose next function was called
        self.held: list[tuple[str, TraceStep]] = []  # lock classes held, in the order taken
        self.run_info = Run()
        self.decisions: list[Decision] = []
        self.misses: list[str] = []
        self.off_path = 0  # depth below the path's innermost function, in callees run for their locks

    # -- where the run stands on the path ------------------------------------------------
    def _position(self) -> int | None:
        """The path position of the current frame, if it is the innermost path function."""
        if self.off_path or self.path_frames[-1] != len(self.frames) - 1:
            return None
        return len(self.path_frames) - 1

    def _lock_names(self) -> LockNames | None:
        for frame in reversed(self.frames):
            names = self.names.get(id(frame))
            if names is not None:
                return names
        return None

    # -- statements: decisions are remembered, and refine what the run knows -------------
    def stmt(self, s: ir.Stmt, seek: str | None = None) -> Steps:
        if seek is not None or not isinstance(s, ir.If) or self.w is None:
            return (yield from super().stmt(s, seek))
        self.tick()
        self.frame.line = s.line
        v = yield from self.eval(s.cond)
        t = truth(v)
        known = t is not None
        if t is None:
            if self.join(s):
                return None
            t = bool((yield Choice(2, f"if ({text_of(s.cond)})", self.site(s.cond.line))))
            self._refine(s.cond, t)
        self.decisions.append(Decision(len(self.frames) - 1, self.frame.function, self.frame.file, s.cond.line,
                                       text_of(s.cond), t, known, self._known_values(s.cond) if known else ()))
        if t:
            yield from self.stmt(s.then)
        elif s.orelse is not None:
            yield from self.stmt(s.orelse)
        return None

    def _known_values(self, e: ir.Expr) -> tuple[tuple[str, int], ...]:
        out = []
        for name in sorted(set(_names(e))):
            v = self.frame.env.get(name)
            if isinstance(v, int) and not isinstance(v, bool):
                out.append((name, v))
        return tuple(out)

    def _refine(self, e: ir.Expr, t: bool) -> None:
        """A pointer the run chose to be NULL (or not) stays so: `if (mapping)` twice agrees."""
        negate = False
        while isinstance(e, ir.Unary) and e.op == "!":
            e, negate = e.operand, not negate
        if isinstance(e, ir.Binary) and e.op in ("==", "!=") and isinstance(e.right, (ir.Name, ir.Literal)) and \
                text_of(e.right) in ("NULL", "0"):
            e, negate = e.left, negate != (e.op == "==")
        if isinstance(e, ir.Name) and self.frame.env.get(e.id, UNKNOWN) is UNKNOWN and e.id in self.frame.env:
            self.frame.env[e.id] = Obj(NONNULL, e.id) if t != negate else 0

    # -- calls: the path, the event, the locks -------------------------------------------
    def call(self, c: ir.Call) -> Steps:
        if self.w is None:
            return (yield from super().call(c))
        pos = self._position()
        target = pos is not None and pos == len(self.w.path) - 1 and c.line == self.w.path[-1].line
        if target:
            yield Op("judge:event", (), self.w.event, self.site(c.line))
            wanted = [cls for cls, _ in self.held if cls in self.w.held]
            if wanted:
                # the evidence: the locks held there, where each was taken, then the event
                self.run_info.events = [step for _, step in self.held] + [
                    TraceStep(self.w.cpu, self.w.event, self.frame.file, c.line, self.frame.function)]
                raise Reached()
            taken = ", ".join(self.w.held)
            self.misses.append(f"{self.frame.function}() reaches {self.w.event} at {self.frame.file}:{c.line} "
                               f"without holding {taken}{self._released(self.w.held)}")
        name = c.func.id if isinstance(c.func, ir.Name) and c.func.id not in self.frame.env else None
        prim = self.vocab.primitives.get(name) if name else None
        if prim is not None:
            return (yield from self._lock_op(prim, c))
        if pos is not None and pos < len(self.w.path) - 1 and c.line == self.w.path[pos].line:
            step = self.w.path[pos + 1]
            if name is None or name == step.function:
                d = self._definition(step.function, step.file)
                if d is None:
                    raise self.cut(f"{step.function}() on the path has no definition the model can read")
                return (yield from self._enter(d, c, on_path=True))
        if name is not None and self.off_path < OFF_PATH_DEPTH and len(self.frames) < 40:
            d = self.m.resolve(name, self.frame.file)
            if isinstance(d, FunctionDef) and self._locks_inside(d):
                return (yield from self._enter(d, c, on_path=False))
        return (yield from super().call(c))

    def _definition(self, function: str, file: str) -> FunctionDef | None:
        defs = self.m.index.definitions(function)
        return next((d for d in defs if d.file == file), defs[0] if defs else None)

    def _locks_inside(self, d: FunctionDef) -> bool:
        """Whether a callee off the path takes or drops a lock itself (then its locks are followed)."""
        return any(call.callee in self.vocab.primitives for call in d.calls)

    def _enter(self, d: FunctionDef, c: ir.Call, on_path: bool) -> Steps:
        if on_path:
            yield Op("judge:call", (), f"{d.name}()", self.site(c.line))
        caller = self._lock_names()
        args = yield from self.args(c)
        params, body = self.m.callee(d)
        if body is None:
            raise self.cut(f"{d.name}() has no body the model can read")
        if any(f.function == d.name for f in self.frames):
            raise self.cut(f"recursion into {d.name}()")
        env = {p: v for p, v in zip(params, args, strict=False) if p}
        for p in params:
            if p and p not in env:
                env[p] = UNKNOWN
        frame = CallFrame(d.name, d.file, d.start_line, env)
        classes = {}
        if caller is not None:
            for i, a in enumerate(c.args):
                cls = caller._lock_arg(a)
                if cls is not None:
                    classes[i] = cls
        self.names[id(frame)] = LockNames(self.vocab, body, _params(d), param_classes=classes)
        pos = self._position() if on_path else None
        self.frames.append(frame)
        if on_path:
            self.advanced.add(len(self.path_frames) - 1)
            self.path_frames.append(len(self.frames) - 1)
        else:
            self.off_path += 1
        try:
            yield from self.function_body(body.block)
            value: object = 0
        except Return as r:
            value = r.value
        finally:
            self.frames.pop()
            self.names.pop(id(frame), None)
            if on_path:
                left = len(self.path_frames) - 1
                self.path_frames.pop()
                if left not in self.advanced and pos is not None:
                    self.misses.append(self._left(left))
                self.advanced.discard(left)
            else:
                self.off_path -= 1
        return value

    def _left(self, position: int) -> str:
        """Why a function of the path returned without calling the next one (or its event)."""
        step = self.w.path[position]
        nxt = f"{self.w.path[position + 1].function}()" if position + 1 < len(self.w.path) else self.w.event
        known = [d for d in self.decisions if d.function == step.function and d.known]
        if known:
            return f"{step.function}() does not reach {nxt}: {known[-1].says()}"
        chosen = [d for d in self.decisions if d.function == step.function]
        if chosen:
            return f"{step.function}() does not reach {nxt} when {chosen[-1].says()}"
        return f"{step.function}() returns before {nxt}"

    def _released(self, wanted: tuple[str, ...]) -> str:
        gone = [e for e in self.run_info.events if e.event.startswith("unlock(") and e.event[7:-1] in wanted]
        if gone:
            e = gone[-1]
            return f" (released at {e.file}:{e.line} in {e.function}())"
        return ""

    def _lock_op(self, prim: Primitive, c: ir.Call) -> Steps:
        names = self._lock_names()
        cls = names.lock_class(prim, c) if names is not None else prim.name
        yield from self.args(c)
        site = self.site(c.line)
        where = (self.frame.file, c.line, self.frame.function)
        if prim.op in ("acquire", "acquire_nonnull", "acquire_killable", "trylock"):
            got = True
            value: object = 0
            if prim.op == "trylock":
                got = bool((yield Choice(2, f"{prim.name}() succeeds", site)))
                value = int(got)
            elif prim.op == "acquire_nonnull":
                got = bool((yield Choice(2, f"{prim.name}() returns non-NULL", site)))
                value = Obj(NONNULL, prim.name) if got else 0
            elif prim.op == "acquire_killable":
                got = bool((yield Choice(2, f"{prim.name}() is not interrupted", site)))
                value = 0 if got else -4
            else:
                yield Op("judge:lock", (cls,), f"{prim.name}()", site)
            if got:
                step = TraceStep(self.w.cpu, f"{'trylock' if prim.op == 'trylock' else 'lock'}({cls})", *where)
                self.held.append((cls, step))
                self.run_info.events.append(step)
            return value
        if prim.op == "release":
            yield Op("judge:unlock", (cls,), f"{prim.name}()", site)
            for i in range(len(self.held) - 1, -1, -1):
                if self.held[i][0] == cls:
                    del self.held[i]
                    break
            self.run_info.events.append(TraceStep(self.w.cpu, f"unlock({cls})", *where))
            return 0
        if prim.op == "assert" and prim.kind not in CONTEXT_KINDS and all(h != cls for h, _ in self.held):
            # the function's contract: its caller holds the lock (lockdep_assert_held, a BUG_ON)
            step = TraceStep(self.w.cpu, f"held({cls})", *where)
            self.held.append((cls, step))
            self.run_info.events.append(step)
        return 0


def _params(d: FunctionDef) -> list[tuple[str, str | None]]:
    return [(p.type, p.name) for p in d.params()]


def _names(e: ir.Expr) -> Iterator[str]:
    if isinstance(e, ir.Name):
        yield e.id
    for f in fields(e):
        child = getattr(e, f.name)
        if isinstance(child, ir.Expr):
            yield from _names(child)
        elif isinstance(child, tuple):
            for x in child:
                if isinstance(x, ir.Expr):
                    yield from _names(x)


def judge_path(index: FunctionIndex, witness: Witness, seconds: float = PATH_SECONDS) -> PathVerdict:
    """Every run of one path, until one reaches its event holding a wanted lock."""
    root_step = witness.path[0]
    defs = index.definitions(root_step.function)
    root = next((d for d in defs if d.file == root_step.file), defs[0] if defs else None)
    if root is None:
        return PathVerdict("unknown", f"{root_step.function}() has no definition in the tree")
    machine = Machine(index, max_steps=MAX_STEPS)
    machine.deadline = time.monotonic() + seconds
    params, body = machine.callee(root)
    if body is None:
        return PathVerdict("unknown", f"{root.name}() has no body the model can read")
    vocab = load_vocabulary()
    env = {p: UNKNOWN for p in params if p}
    stack: list[tuple[int, ...]] = [()]
    misses: Counter[str] = Counter()
    cuts: Counter[str] = Counter()
    runs = 0
    try:
        while stack:
            if runs >= MAX_RUNS:
                return PathVerdict("unknown", f"{MAX_RUNS} runs of the path without reaching {witness.event} "
                                   f"and without ruling it out")
            prefix = stack.pop()
            runs += 1
            thread = PathThread(machine, body, dict(env), witness, root, vocab)
            taken, arities = _drive(thread, prefix)
            info = thread.run_info
            if info.reached:
                return PathVerdict("confirmed", f"{witness.path[-1].function}() reaches {witness.event} holding "
                                   f"{', '.join(c for c, _ in thread.held if c in witness.held)}",
                                   tuple(info.events))
            if info.cut:
                cuts[info.cut] += 1
            for m in dict.fromkeys(thread.misses):
                misses[m] += 1
            for i in range(len(taken) - 1, len(prefix) - 1, -1):
                for alt in range(arities[i] - 1, 0, -1):
                    if alt != taken[i]:
                        stack.append((*taken[:i], alt))
    except OutOfTime as exc:
        return PathVerdict("unknown", f"replay budget ({exc.why}) spent after {runs} runs without reaching "
                           f"{witness.event}")
    if cuts:
        cause, _ = sorted(cuts.items(), key=lambda kv: (-kv[1], kv[0]))[0]
        return PathVerdict("unknown", f"a run could not be followed: {cause}")
    if not misses:
        return PathVerdict("unknown", f"no run reached {witness.path[-1].function}()")
    reason, _ = sorted(misses.items(), key=lambda kv: (-kv[1], kv[0]))[0]
    return PathVerdict("refuted", reason)


def _drive(thread: PathThread, prefix: tuple[int, ...]) -> tuple[list[int], list[int]]:
    """Run the thread, taking `prefix`'s choices and then the first of each; the choices taken
    and how many each had."""
    taken: list[int] = []
    arities: list[int] = []
    gen = thread.run()
    value: object = None
    try:
        while True:
            ev = gen.send(value)
            if isinstance(ev, Choice):
                pick = prefix[len(taken)] if len(taken) < len(prefix) else 0
                taken.append(pick)
                arities.append(ev.n)
                value = pick
            elif isinstance(ev, Op):
                value = UNKNOWN if not ev.prim.startswith("judge:") else 0
            else:
                value = None
    except StopIteration:
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
    return taken, arities


def judge(index: FunctionIndex, finding: Finding, seconds: float = PATH_SECONDS) -> Replay:
    """The verdict on one static finding, from replaying its witnesses."""
    verdicts = [(w, judge_path(index, w, seconds)) for w in finding.witnesses]
    if not verdicts:
        return Replay("unknown", "the finding has no path to replay")
    refuted = [(w, v) for w, v in verdicts if v.verdict == "refuted"]
    if refuted:
        w, v = refuted[0]
        who = f"CPU{w.cpu}'s path ({w.path[0].function}() -> ... -> {w.path[-1].function}()): " \
            if len(verdicts) > 1 else ""
        return Replay("refuted", who + v.reason)
    unknown = [(w, v) for w, v in verdicts if v.verdict == "unknown"]
    if unknown:
        w, v = unknown[0]
        who = f"CPU{w.cpu}'s path: " if len(verdicts) > 1 else ""
        return Replay("unknown", who + v.reason)
    return Replay("confirmed", "; ".join(v.reason for _, v in verdicts), _interleave(verdicts))


def _interleave(verdicts: list[tuple[Witness, PathVerdict]]) -> tuple[TraceStep, ...]:
    """Each CPU's lock events up to its event, one CPU after the other, then the events: every
    CPU stopped where the hazard is."""
    wanted = {c for w, _ in verdicts for c in w.held} | {_event_class(w.event) for w, _ in verdicts}
    out: list[TraceStep] = []
    for _, v in verdicts:
        out.extend(e for e in v.events[:-1] if _event_class(e.event) in wanted)
    out.extend(v.events[-1] for _, v in verdicts if v.events)
    return tuple(out)


def _event_class(event: str) -> str:
    return event[event.find("(") + 1:event.rfind(")")] if "(" in event else event


def apply(finding: Finding, verdict: Replay) -> Finding:
    """The finding with its verdict: confirmed is an error, refuted a check (a note), unknown
    keeps the static severity."""
    severity = {"confirmed": "error", "refuted": "check"}.get(verdict.verdict, finding.severity)
    return replace(finding, replay=verdict, severity=severity)


def judge_all(index_for, findings: list[Finding], seconds: float = PATH_SECONDS) -> list[Finding]:
    """Every judged kind's finding with its verdict; `index_for(finding)` gives the tree state it
    is in (None: not judged)."""
    out = []
    for f in findings:
        if f.kind in JUDGED and f.status != "fixed" and f.witnesses:
            index = index_for(f)
            if index is not None:
                try:
                    f = apply(f, judge(index, f, seconds))
                except Exception as exc:  # noqa: BLE001 - an internal failure is a reported unknown, never a crash
                    f = apply(f, Replay("unknown", f"replay failed: {exc.__class__.__name__}: {exc}"))
        out.append(f)
    return out


__all__ = ["JUDGED", "LEVELS", "judge", "judge_all", "judge_path"]
