"""One path of a static finding, run by the model's interpreter with the lock table followed:
the thread the replay judge (patchlint.explore.judge) drives.

The path's functions are interpreted whether or not they reach model state, and the call at
each step's line goes to the path's next function (through a function pointer too); every
lock operation of grammars/locks.toml is followed, classed as the static checks class it; a
callee off the path that takes or drops locks itself is interpreted too; a condition the run
cannot decide is tried both ways, the way toward the path's line first, and what was chosen
is remembered.  The thread raises Reached at the path's event when it holds a wanted lock,
Missed when it leaves a function of the path without calling the next, Unreachable when a
test of constants turns every run away.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from patchlint.cparse import ir
from patchlint.cparse.defs import FunctionDef
from patchlint.extract.exprs import text_of
from patchlint.extract.facts import CONTEXT_KINDS
from patchlint.extract.lockclass import LockNames
from patchlint.extract.vocab import Primitive, Vocabulary, load_vocabulary
from patchlint.findings import TraceStep, Witness
from patchlint.model import primitives as P
from patchlint.model.events import Choice, Op, Return, Steps
from patchlint.model.frames import CallFrame
from patchlint.model.interp import Thread
from patchlint.model.irwalk import Spans, exits, find_function, lock_names, names, names_in, params_of, walk, within
from patchlint.model.machine import Machine
from patchlint.model.state import UNKNOWN, Obj, Struct
from patchlint.model.values import const, truth

OFF_PATH_DEPTH = 2  # callees off the path interpreted for their locks, below the path's function
NONNULL = "nonnull"  # the kind of an Obj the run chose to be a non-NULL pointer it knows nothing else of


class Reached(Exception):
    """The run reached the path's event holding a wanted lock."""


class Unreachable(Exception):
    """No run can reach the path's line: a test of constants turns every run away from it."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class Missed(Exception):
    """The run left a function of the path without calling the next: nothing after it counts."""


@dataclass(frozen=True)
class Decision:
    """A condition a run decided: by known values (`known`), or by choice."""

    function: str
    file: str
    line: int
    text: str
    value: bool
    known: bool
    away: bool  # the line the path goes on from lies in the branch not taken
    fixed: bool  # decided by constants alone: the same in every run
    values: tuple[tuple[str, int], ...] = ()  # the known values of the names in it

    def says(self) -> str:
        vals = f" ({', '.join(f'{n} = {v}' for n, v in self.values)})" if self.values else ""
        return f"{self.file}:{self.line}: `{self.text}` is {'true' if self.value else 'false'}{vals}"


@dataclass
class Run:
    reached: bool = False
    event_class: str | None = None  # the class the event's acquisition takes (its lockdep subclass too)
    held: tuple[str, ...] = ()  # the classes held at the event
    cut: str | None = None  # why this run could not be followed
    events: list[TraceStep] = field(default_factory=list)


def _subclassed(cls: str, subclass: object) -> str:
    """The class of an acquisition with lockdep's subclass `subclass` (the _nested forms): a
    subclass above 0 is kept apart from the class's other acquisitions, as lockdep keeps it."""
    return f"{cls}/{subclass}" if isinstance(subclass, int) and not isinstance(subclass, bool) and subclass > 0 \
        else cls


class PathThread(Thread):
    """One path of a finding, run by the model's interpreter with the lock table followed."""

    def __init__(self, machine: Machine, body: ir.Body, env: dict, witness: Witness | None = None,
                 root: FunctionDef | None = None, vocab: Vocabulary | None = None, spans: Spans | None = None,
                 local: bool = False, prepass: dict[int, tuple[ir.Body, dict, dict]] | None = None,
                 constants: frozenset[str] = frozenset()) -> None:
        # without a witness: a callee the interpreter folds to its value, run as a plain thread
        super().__init__(machine, body, env)
        self.w = witness
        self.vocab = vocab or load_vocabulary()
        self.names: dict[int, LockNames] = {}  # id(frame) -> its lock names
        self.prepass: dict[int, tuple[ir.Body, dict, dict]] = prepass if prepass is not None else {}
        if root is not None:
            self.names[id(self.frames[0])] = lock_names(self.vocab, body, params_of(root), {}, self.prepass)
        self.path_frames: list[int] = [0]  # frame indexes of the path's functions entered so far
        self.advanced: set[int] = set()  # path positions whose next function was called
        self.held: list[tuple[str, TraceStep]] = []  # lock classes held, in the order taken
        self.held_kinds: dict[str, str] = {}  # class -> the kind of lock (spinlock, mutex...) it was taken as
        self.released: list[tuple[str, TraceStep]] = []  # lock classes released, where
        self.run_info = Run()
        self.decisions: list[Decision] = []
        self.misses: list[str] = []
        self.off_path = 0  # depth below the path's innermost function, in callees run for their locks
        self.loop_at: dict[tuple[str, int], ir.Loop] = {}  # the loops met, by file and line
        self.spans: Spans = spans if spans is not None else {}  # shared by the runs of one path
        self.local = local  # only whether the line is reached, whatever is held (see _necessary)
        self.doubtful: list[str] = []  # releases skipped on conditions the run chose
        self.trusted: list[str] = []  # calls through pointers the run took on the static search's word
        self.constants = constants  # parameters the caller passes constants, never assigned
        self.cond_memo: dict[tuple[int, str] | None, bool] = {}  # (frame, condition) -> what the run chose
        self.choices = 0  # choices made so far (the driver counts them)
        self.want: bool | None = None  # the value the test being evaluated should have for the path
        self.release_memo: dict[int, tuple[ir.Stmt, tuple[ir.Call, ...]]] = {}
        self.walk_steps: dict[tuple[int, int], int] = {}  # (frame, line) -> steps of a lock walk taken there
        self.rank: dict[str, int] = {}  # a miss's reason -> how well it explains (0: a test of constants)

    # -- where the run stands on the path ------------------------------------------------
    def _position(self) -> int | None:
        """The path position of the current frame, if it is the innermost path function."""
        if self.off_path or self.path_frames[-1] != len(self.frames) - 1:
            return None
        return len(self.path_frames) - 1

    def frame_names(self) -> LockNames | None:
        for frame in reversed(self.frames):
            names = self.names.get(id(frame))
            if names is not None:
                return names
        return None

    # -- statements: decisions are remembered, and refine what the run knows -------------
    def stmt(self, s: ir.Stmt, seek: str | None = None) -> Steps:
        if isinstance(s, ir.Loop):
            self.loop_at[(self.frame.file, s.line)] = s
        if seek is not None or not isinstance(s, ir.If) or self.w is None:
            return (yield from super().stmt(s, seek))
        self.tick()
        self.frame.line = s.line
        order = self._order(s)
        before, self.want = self.choices, order[0]
        try:
            v = yield from self.eval(s.cond)
        finally:
            self.want = None
        t = truth(v)
        known = t is not None and self.choices == before  # decided by values, not by a choice inside it
        text = text_of(s.cond)
        # a test of a member (`mapping->host != NULL`) asked again with nothing assigned on the way
        # gets the same answer; a call or an update in it may give another
        key = (id(self.frame), text) if "->" in text and "(" not in text and "++" not in text and \
            "--" not in text else None
        if t is None and key in self.cond_memo:
            t = self.cond_memo[key]  # the same test of the same values: the same answer
        if t is None:
            if self.join(s):
                return None
            t = bool(order[(yield Choice(2, f"if ({text_of(s.cond)})", self.site(s.cond.line)))])
            self._refine(s.cond, t)
            if key is not None:
                self.cond_memo[key] = t
        self.decisions.append(Decision(self.frame.function, self.frame.file, s.cond.line,
                                       text_of(s.cond), t, known, self._turned_away(s, t),
                                       known and self._fixed(s.cond), self._known_values(s.cond) if known else ()))
        skipped = s.orelse if t else s.then
        if self.local and self.constants and self.decisions[-1].away and self.decisions[-1].fixed and \
                skipped is not None and not any(isinstance(n, ir.Label) for n in walk(skipped)):
            # the line lies behind a test of the caller's constants that no run can pass (no
            # label inside to jump to): every run, whatever it chose before, is turned away here
            raise Unreachable(f"{self.frame.function}() does not reach "
                              f"{self.w.event}: {self.decisions[-1].says()}")
        if not known and self.held and skipped is not None and self._releases(skipped):
            # a lock's release skipped on a condition the run chose: its verdict rests on that
            self.doubtful.append(f"{self.frame.file}:{s.cond.line}: `{text_of(s.cond)}`")
        if t:
            yield from self.stmt(s.then)
        elif s.orelse is not None:
            yield from self.stmt(s.orelse)
        return None

    def _order(self, s: ir.If) -> tuple[bool, bool]:
        """Which way to try first: toward the line the path goes on from, else the way that does
        not leave the function (an error path's return), else into the branch."""
        pos = self._position()
        if pos is None:
            return (False, True)
        line = self.w.path[pos].line
        if within(s.then, line, self.spans):
            return (True, False)
        if s.orelse is not None and within(s.orelse, line, self.spans):
            return (False, True)
        if exits(s.then, self.spans) and not (s.orelse is not None and exits(s.orelse, self.spans)):
            return (False, True)
        return (True, False)

    def undecided(self, why: str, line: int, key: str) -> Steps:
        """A loop the run cannot decide: round again first when the path goes on inside it."""
        pos = self._position()
        if pos is None or self.w is None:
            return (yield from super().undecided(why, line, key))
        n = self.frame.counters.get(key, 0)
        if n >= 2:
            return False
        inside = self._loop_holds(line, self.w.path[pos].line)
        order = (True, False) if inside else (False, True)
        go = order[(yield Choice(2, why, self.site(line)))]
        if go:
            self.frame.counters[key] = n + 1
        return go

    def _loop_holds(self, loop_line: int, target: int) -> bool:
        loop = self.loop_at.get((self.frame.file, loop_line))
        return loop is not None and within(loop.body, target, self.spans)

    def _fixed(self, e: ir.Expr) -> bool:
        """Whether a condition has one value in every run: no call in it, and every name in it a
        constant the caller passes to a parameter never assigned, or a constant of the tree."""
        if any(isinstance(n, ir.Call) for n in walk(e)):
            return False
        return all(name in self.constants or self.m.constant(name) is not None for name in set(names(e)))

    def cond(self, e: ir.Expr) -> Steps:
        """An operand of && or || the run cannot decide: the way the enclosing test wants first."""
        if self.w is None:
            return (yield from super().cond(e))
        v = yield from self.eval(e)
        t = truth(v)
        if t is None:
            order = (True, False) if self.want else (False, True)
            t = order[(yield Choice(2, f"if ({text_of(e)})", self.site(e.line)))]
            self._refine(e, t)
        return t

    def _releases(self, s: ir.Stmt) -> bool:
        """Whether a statement itself releases a lock the run holds."""
        hit = self.release_memo.get(id(s))
        if hit is None:
            calls = tuple(n for n in walk(s) if isinstance(n, ir.Call) and n.name in self.vocab.primitives and
                          self.vocab.primitives[n.name].op == "release")
            self.release_memo[id(s)] = hit = (s, calls)
        names = self.frame_names()
        if not hit[1] or names is None:
            return False
        held = {cls for cls, _ in self.held}
        return any(names.lock_class(self.vocab.primitives[c.name], c) in held or self._unnamed(
            self.vocab.primitives[c.name], c) for c in hit[1])

    def _unnamed(self, prim: Primitive, c: ir.Call) -> str | None:
        """A held lock a release may be releasing though its class is another: the lock is a
        pointer read from memory (`spin_unlock(args->lock)`, the PTL a helper stored in a struct
        the interpreter cannot follow stores into), not a lock named where it lives
        (`&mm->page_table_lock`), and a lock of the same kind is held.  Which one it is, the
        run cannot tell."""
        if not isinstance(prim.lock, int) or prim.lock >= len(c.args):
            return None
        if not isinstance(c.args[prim.lock], ir.Field):
            return None
        same = [cls for cls, step in self.held if self.held_kinds.get(cls) == prim.kind]
        return same[-1] if same else None

    def _turned_away(self, s: ir.If, t: bool) -> bool:
        pos = self._position()
        if pos is None:
            return False
        other = s.orelse if t else s.then
        return other is not None and within(other, self.w.path[pos].line, self.spans)

    def _known_values(self, e: ir.Expr) -> tuple[tuple[str, int], ...]:
        out = []
        for name in sorted(set(names(e))):
            v = self.frame.env.get(name)
            if isinstance(v, int) and not isinstance(v, bool):
                out.append((name, v))
        return tuple(out)

    def store(self, target: ir.Expr, value: object) -> Steps:
        """An assignment forgets what the run chose about conditions naming what it assigns."""
        if self.w is not None and self.cond_memo:
            root = target
            while isinstance(root, (ir.Field, ir.Index, ir.Unary)):
                root = root.obj if isinstance(root, (ir.Field, ir.Index)) else root.operand
            if isinstance(root, ir.Name):
                frame = id(self.frame)
                for key in [k for k in self.cond_memo if k[0] == frame and root.id in names_in(k[1])]:
                    del self.cond_memo[key]
        return (yield from super().store(target, value))

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
        value = yield from self._call(c)
        if self.w is not None:
            self._escaped(c)
        return value

    def _escaped(self, c: ir.Call) -> None:
        """A local struct whose address a call was handed may have been written through it
        (`follow_pfnmap_start(&args)` sets `args.lock`), and the interpreter does not model
        stores through pointers: after the call its members are not known, never the zeros of
        its initializer (which would decide `if (args->lock)` and skip a release)."""
        for a in c.args:
            if isinstance(a, ir.Unary) and a.op == "&" and isinstance(a.operand, ir.Name) and \
                    isinstance(self.frame.env.get(a.operand.id), Struct):
                self.frame.env[a.operand.id] = Struct((), False)

    def _call(self, c: ir.Call) -> Steps:
        if self.w is None:
            return (yield from super().call(c))
        pos = self._position()
        target = pos is not None and pos == len(self.w.path) - 1 and c.line == self.w.path[-1].line
        if target:
            yield Op("judge:event", (), self.w.event, self.site(c.line))
            wanted = [cls for cls, _ in self.held if cls in self.w.held]
            if wanted and self.doubtful and not self.local:
                raise self.cut(f"whether a lock is released depends on a condition the replay cannot decide "
                               f"({self.doubtful[-1]})", c.line)
            if wanted and self.trusted and not self.local:
                raise self.cut(f"the path goes through a call the replay cannot resolve ({self.trusted[0]})",
                               c.line)
            if wanted or self.local:
                # the evidence: the locks held there, where each was taken, then the event
                self.run_info.events = [step for _, step in self.held] + [
                    TraceStep(self.w.cpu, self.w.event, self.frame.file, c.line, self.frame.function)]
                self.run_info.event_class = self._event_class(c)
                self.run_info.held = tuple(cls for cls, _ in self.held)
                raise Reached()
            taken = ", ".join(self.w.held)
            text = (f"{self.frame.function}() reaches {self.w.event} at {self.frame.file}:{c.line} "
                    f"without holding {taken}{self._released(self.w.held)}")
            self.misses.append(text)
            self.rank[text] = 1  # as telling as a test of known values: the event comes, the lock does not
        name = c.func.id if isinstance(c.func, ir.Name) and c.func.id not in self.frame.env else None
        prim = self.vocab.primitives.get(name) if name else None
        if prim is not None:
            return (yield from self._lock_op(prim, c))
        walk = self._walk_of(name)
        if walk is not None:
            return (yield from self._walk_step(name, walk, c))
        if name in P.ASSERTS:
            # the kernel's own assertions hold on its paths: one the run would fire says more of
            # what the run chose than of the path (a scenario checks them; a path replay does not).
            # Their conditions still run (WARN_ON(walk_page_mapping(..)) makes the call).
            args = yield from self.args(c)
            return args[0] if args and not name.endswith("BUG_ON") else 0
        if pos is not None and pos < len(self.w.path) - 1 and c.line == self.w.path[pos].line:
            step = self.w.path[pos + 1]
            target = name
            if name is None:
                # a call through a pointer: the path's next function if the run can tell it is;
                # if it cannot, the path is followed on the static search's word, and a verdict
                # that rests on it is not a confirmation
                fv = yield from self.eval(c.func.operand if isinstance(c.func, ir.Unary) and c.func.op == "*"
                                          else c.func)
                if isinstance(fv, Obj) and fv.kind == "fn":
                    target = fv.name
                else:
                    target = step.function
                    self.trusted.append(f"{self.frame.file}:{c.line}: `{text_of(c.func)}` taken to call "
                                        f"{step.function}()")
            if target == step.function:
                d = find_function(self.m.index, step.function, step.file)
                if d is None:
                    raise self.cut(f"{step.function}() on the path has no definition the model can read")
                return (yield from self._enter(d, c, on_path=True))
        if name is not None and self.off_path < OFF_PATH_DEPTH and len(self.frames) < 40:
            d = self.m.resolve(name, self.frame.file)
            if isinstance(d, FunctionDef) and self._locks_inside(d):
                return (yield from self._enter(d, c, on_path=False))
        return (yield from super().call(c))

    def primitive(self, prim: P.Prim, c: ir.Call) -> Steps:
        """The model's primitives describe its scenarios' world (an order-0 anon page, no
        hugetlb vma): on a path of the tree, what one says of a value the run does not know is
        not known either."""
        if self.w is None or prim.kind != "pure":
            return (yield from super().primitive(prim, c))
        args = yield from self.args(c)
        value = prim.impl(args, self.m.ctx)
        if value is not UNKNOWN and any(a is UNKNOWN or isinstance(a, Obj) and a.kind == NONNULL for a in args):
            return UNKNOWN
        return value

    def entered(self, frame: CallFrame, d: FunctionDef, body: ir.Body) -> None:
        """A callee the model interprets for its own reasons (it reaches model state): its frame
        names its locks as its own code does, and it is off the path."""
        if self.w is not None:
            self.names[id(frame)] = lock_names(self.vocab, body, params_of(d), {}, self.prepass)
            self.off_path += 1

    def left(self, frame: CallFrame) -> None:
        if self.w is not None:
            self.names.pop(id(frame), None)
            self.off_path -= 1

    def _locks_inside(self, d: FunctionDef) -> bool:
        """Whether a callee off the path takes or drops a lock itself (then its locks are followed)."""
        return any(call.callee in self.vocab.primitives for call in d.calls)

    def _enter(self, d: FunctionDef, c: ir.Call, on_path: bool) -> Steps:
        if on_path:
            yield Op("judge:call", (), f"{d.name}()", self.site(c.line))
        caller = self.frame_names()
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
        self.names[id(frame)] = lock_names(self.vocab, body, params_of(d), classes, self.prepass)
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
            if not on_path:
                self.off_path -= 1
        if on_path:
            # back from a function of the path without the event: this run has missed it (a
            # caller calling it again, in a loop, is not followed: the path names one call)
            self.misses.append(self._left(len(self.path_frames) - 1))
            raise Missed()
        return value

    def _event_class(self, c: ir.Call) -> str | None:
        """The class the event's own acquisition takes, lockdep's subclass included."""
        name = c.func.id if isinstance(c.func, ir.Name) else None
        prim = self.vocab.primitives.get(name) if name else None
        names = self.frame_names()
        if prim is None or names is None:
            return None
        cls = names.lock_class(prim, c)
        sub = const(c.args[prim.subclass], self.m.constant) if prim.subclass is not None and \
            prim.subclass < len(c.args) else None
        return _subclassed(cls, sub)

    def _left(self, position: int) -> str:
        """Why a function of the path returned without calling the next one (or its event)."""
        step = self.w.path[position]
        nxt = f"{self.w.path[position + 1].function}()" if position + 1 < len(self.w.path) else self.w.event
        mine = [d for d in self.decisions if d.function == step.function]
        # the condition that turned the run away from the path's line, decided by known values
        # if one was; else the last condition decided on the way
        for rank, pick in enumerate(([d for d in mine if d.away and d.fixed], [d for d in mine if d.away and d.known],
                                     [d for d in mine if d.away], [d for d in mine if d.known], mine)):
            if pick:
                d = pick[-1]
                text = f"{step.function}() does not reach {nxt}{':' if d.known else ' when'} {d.says()}"
                self.rank[text] = rank
                return text
        return f"{step.function}() returns before {nxt}"

    def _released(self, wanted: tuple[str, ...]) -> str:
        gone = [step for cls, step in self.released if cls in wanted]
        if gone:
            e = gone[-1]
            return f" (released at {e.file}:{e.line} in {e.function}())"
        return ""

    def _release(self, cls: str, where: tuple[str, int, str]) -> None:
        step = TraceStep(self.w.cpu, f"unlock({cls})", *where)
        self.released.append((cls, step))
        self.run_info.events.append(step)

    def _walk_of(self, name: str | None) -> tuple[str, bool] | None:
        """(class, ends the walk) when `name` is a lock walk of the lock table, or its `done`."""
        if name is None:
            return None
        if name in self.vocab.lock_walks:
            return self.vocab.lock_walks[name][0], False
        for cls, done in self.vocab.lock_walks.values():
            if name == done:
                return cls, True
        return None

    def _walk_step(self, name: str, walk: tuple[str, bool], c: ir.Call) -> Steps:
        """A step of a lock walk: true holding its lock, false (or done) having released it."""
        cls, done = walk
        yield from self.args(c)
        site = self.site(c.line)
        where = (self.frame.file, c.line, self.frame.function)
        key = (id(self.frame), c.line)
        self.walk_steps[key] = self.walk_steps.get(key, 0) + 1
        # a walk goes on at most twice from one call (as a loop goes round in the model): then ends
        more = False if done or self.walk_steps[key] > 2 else not (yield Choice(2, f"{name}() finds no more", site))
        mine = [i for i, (h, st) in enumerate(self.held) if h == cls and st.event.startswith("walk(")]
        if more and not mine:
            step = TraceStep(self.w.cpu, f"walk({cls})", *where)
            self.held.append((cls, step))
            self.held_kinds[cls] = "spinlock"  # a walk's lock is a page table's: the PTL
            self.run_info.events.append(step)
        elif not more and mine:
            del self.held[mine[-1]]
            self._release(cls, where)
        return int(more)

    def _lock_op(self, prim: Primitive, c: ir.Call) -> Steps:
        names = self.frame_names()
        cls = names.lock_class(prim, c) if names is not None else prim.name
        args = yield from self.args(c)
        if prim.subclass is not None and prim.subclass < len(args):
            cls = _subclassed(cls, args[prim.subclass])
        site = self.site(c.line)
        where = (self.frame.file, c.line, self.frame.function)
        if prim.op in ("acquire", "acquire_nonnull", "acquire_killable", "trylock"):
            got = True
            value: object = 0
            # success is tried first: a path the static checks found goes on holding the lock
            if prim.op == "trylock":
                got = not (yield Choice(2, f"{prim.name}() fails", site))
                value = int(got)
            elif prim.op == "acquire_nonnull":
                got = not (yield Choice(2, f"{prim.name}() returns NULL", site))
                value = Obj(NONNULL, prim.name) if got else 0
            elif prim.op == "acquire_killable":
                got = not (yield Choice(2, f"{prim.name}() is interrupted", site))
                value = 0 if got else -4
            else:
                yield Op("judge:lock", (cls,), f"{prim.name}()", site)
            if got and not any(h == cls and (st.file, st.line) == where[:2] for h, st in self.held):
                # (taken again where it is held from: a state the run does not track, such as a
                # walk's position kept in a struct behind a pointer, not a second lock)
                step = TraceStep(self.w.cpu, f"{'trylock' if prim.op == 'trylock' else 'lock'}({cls})", *where)
                self.held.append((cls, step))
                self.held_kinds[cls] = prim.kind
                self.run_info.events.append(step)
            return value
        if prim.op == "release":
            yield Op("judge:unlock", (cls,), f"{prim.name}()", site)
            if all(h != cls for h, _ in self.held) and self._unnamed(prim, c):
                self.doubtful.append(f"{self.frame.file}:{c.line}: `{text_of(c)}` may release "
                                     f"{self._unnamed(prim, c)}")
            for i in range(len(self.held) - 1, -1, -1):
                if self.held[i][0] == cls:
                    del self.held[i]
                    break
            self._release(cls, where)
            return 0
        if prim.op == "assert" and prim.kind not in CONTEXT_KINDS and all(h != cls for h, _ in self.held):
            # the function's contract: its caller holds the lock (lockdep_assert_held, a BUG_ON)
            step = TraceStep(self.w.cpu, f"held({cls})", *where)
            self.held.append((cls, step))
            self.held_kinds[cls] = prim.kind
            self.run_info.events.append(step)
        return 0


