"""An interpreter of the tree's IR, one thread at a time, as a generator.

A thread is a generator: it yields an Op for every shared primitive (a visible
event: the explorer applies it to the State and sends the result back) and a
Choice for every condition it cannot decide (the explorer sends each option in
turn).  Everything else (locals, arithmetic, inlined callees found in the tree,
macros, function pointers read from the tree's designated initializers) runs
inside the generator.  Given the values sent in, a thread is deterministic, so
the explorer resumes a thread by replaying its history.
"""

from __future__ import annotations

import re
import time
from dataclasses import dataclass, field

from patchlint.cparse import ir
from patchlint.cparse.defs import FunctionDef
from patchlint.cparse.index import FunctionIndex
from patchlint.cparse.preproc import MacroDef
from patchlint.cparse.snippets import macro_expression
from patchlint.extract.exprs import text_of
from patchlint.extract.vocab import load_vocabulary
from patchlint.model import primitives as P
from patchlint.model.relevance import Relevance
from patchlint.model.state import UNKNOWN, Addr, Obj, Struct, Sym
from patchlint.model.values import compare as _compare
from patchlint.model.values import const as _const
from patchlint.model.values import literal as _literal
from patchlint.model.values import truth as _truth

MAX_DEPTH = 28  # inlined call depth (6.x truncation reaches a pte 12 calls down, then asks flags 4 deeper)
LOOP_BOUND = 2  # iterations of a loop whose condition the model cannot decide
GOTO_BOUND = 2  # backward jumps to one label per frame
LOCAL_STEPS = 20000  # evaluation steps without a visible event before a path is cut
FOLD_STEPS = 400  # steps a callee folded to its value may take
JOIN_TRIES = 2  # an if whose branches had something to show this often is forked without trying


@dataclass(frozen=True)
class Op:
    prim: str
    args: tuple
    text: str
    site: tuple  # (file, line, function)


@dataclass(frozen=True)
class Choice:
    n: int
    why: str
    site: tuple


@dataclass(frozen=True, order=True)
class Cut:
    """Where a path was abandoned, and why: what lies beyond it was not explored."""

    file: str
    line: int
    function: str
    cause: str  # a short category first ("inline asm", "goto out of the function", ...)

    def __str__(self) -> str:
        return f"{self.cause} in {self.function}() ({self.file}:{self.line})"


class Bug(Exception):
    def __init__(self, message: str, site: tuple):
        super().__init__(message)
        self.message = message
        self.site = site


class PathCut(Exception):
    """A path ends here: after a Cut was recorded, or at a bound the notes name."""


class OutOfTime(Exception):
    """The exploration's budget ran out inside the interpreter (one step can be long on a big
    tree): its deadline, or its count of interpreter steps."""

    def __init__(self, why: str = "time"):
        super().__init__(why)
        self.why = why


class _Return(Exception):
    def __init__(self, value):
        self.value = value


class _Break(Exception):
    pass


class _Continue(Exception):
    pass


class _Goto(Exception):
    def __init__(self, label: str):
        self.label = label


@dataclass
class CallFrame:
    """One activation of an interpreted function: its locals, loop counters, current line (not
    extract.engine.Frame, a step of a static call path)."""

    function: str
    file: str
    line: int = 0
    env: dict = field(default_factory=dict)
    counters: dict = field(default_factory=dict)
    deciding: bool = True  # False inside an assertion's condition: unknown stays unknown

    def key(self) -> tuple:
        # a dict's keys are unique, so sorting by key never compares (unorderable) values
        return (self.function, self.line, tuple(sorted(self.env.items(), key=_first)),
                tuple(sorted(self.counters.items(), key=_first)), self.deciding)


def _first(item: tuple):
    return item[0]


class Machine:
    """What the threads of one exploration share: the tree (through FunctionIndex) and notes."""

    def __init__(self, index: FunctionIndex, ctx: P.Ctx | None = None, aops: dict[str, str] | None = None,
                 space_ops: dict[str, str] | None = None):
        self.index = index
        self.ctx = ctx or P.Ctx()
        self.aops = aops or {}  # address spaces the scenario declares -> their a_ops variable
        # the model's spaces' operations tables, where the tree sets a_ops at run time rather than
        # in an initializer (6.x's swapper_spaces[] get &swap_aops in init_swap_address_space())
        self.space_ops = space_ops or {}
        self.deadline: float | None = None  # time.monotonic() value after which interpretation stops
        # interpreter steps over the whole exploration, and the budget on them: unlike the
        # deadline, the same on every machine, so a cut-short result is the same bytes everywhere
        self.steps = 0
        self.max_steps: int | None = None
        self.cuts: set[Cut] = set()  # where paths were abandoned: what lies beyond was not explored
        self.unresolved: set[str] = set()
        self.notes: set[str] = set()
        # what depends only on the tree (this index): shared by every exploration of the same index,
        # so a check's scenarios, and a replay's, resolve names and search for model state once
        # (kept on the index: it lives as long as the tree state it describes)
        shared = getattr(index, "_model_shared", None)
        if shared is None:
            shared = {"resolved": {}, "macro_ir": {}, "globals": {}, "folded": {}, "callee": {}, "relevance": None}
            index._model_shared = shared
        self._resolved: dict[str, object] = shared["resolved"]
        self._macro_ir: dict[tuple, ir.Expr | None] = shared["macro_ir"]
        self._globals: dict[str, dict | None] = shared["globals"]
        self.folded: dict[tuple, object] = shared["folded"]  # (definition, arguments) -> a folded callee's value
        self.join_failed: dict[int, int] = {}  # id(if statement) -> times its branches could not be joined
        self.join_keep: list = []
        # per definition: its parameter names and IR body, asked for at every inlined call
        self._callee: dict[tuple, tuple] = shared["callee"]
        if shared["relevance"] is None:
            shared["relevance"] = Relevance(self.resolve, index.read)
        self.relevance = shared["relevance"]
        self.vocab = load_vocabulary()
        self._labels: dict[int, tuple[ir.Stmt, frozenset[str]]] = {}
        # the profile describes a production build: VM_BUG_ON only with --define CONFIG_DEBUG_VM
        self.debug_vm = "CONFIG_DEBUG_VM" in index.defines()
        # the model's named objects a function can reach without being handed them
        names = sorted({*self.relevance.t.globals, *self.aops.values()})
        self.relevance.named = re.compile(r"\b(?:" + "|".join(re.escape(n) for n in names) + r")\b")

    def labels(self, s: ir.Stmt) -> frozenset[str]:
        """The labels inside statement s, at any depth (memoized: asked again at every goto)."""
        hit = self._labels.get(id(s))
        if hit is not None:
            return hit[1]
        if isinstance(s, ir.Label):
            out = frozenset((s.name,))
        elif isinstance(s, ir.Block):
            out = frozenset().union(*(self.labels(x) for x in s.body))
        elif isinstance(s, ir.If):
            out = self.labels(s.then) | (self.labels(s.orelse) if s.orelse is not None else frozenset())
        elif isinstance(s, (ir.Loop, ir.Switch)):
            out = self.labels(s.body)
        else:
            out = frozenset()
        self._labels[id(s)] = (s, out)  # the statement kept alive: its id is not reused
        return out

    def names_global(self, d: FunctionDef) -> bool:
        """Whether d, or what it calls, names an address space, operations table or page-table
        primitive the scenario has (swapper_space, swap_aops, pte_offset_map_lock): state a callee
        reaches without being handed it."""
        return self.relevance.reaches_named(d)

    def find_label(self, stmts: tuple[ir.Stmt, ...], label: str) -> int | None:
        return next((k for k, x in enumerate(stmts) if label in self.labels(x)), None)

    def callee(self, d: FunctionDef) -> tuple[tuple[str | None, ...], ir.Body | None]:
        key = (d.file, d.start_byte, d.name)
        found = self._callee.get(key)
        if found is None:
            found = self._callee[key] = (tuple(p.name for p in d.params()), self.index.body(d))
        return found

    def resolve(self, name: str, near: str | None = None):
        """The tree's meaning of `name` for the profile: a FunctionDef, a MacroDef or None."""
        key = (name, near)
        if key not in self._resolved:
            self.past_deadline()
            found = self.index.resolve(name)
            funcs = [d for d in found if isinstance(d, FunctionDef)]
            if near is not None and len(funcs) > 1:
                funcs = [f for f in funcs if f.file == near] or [f for f in funcs if not f.static] or funcs
            macros = [d for d in found if isinstance(d, MacroDef)]
            self._resolved[key] = funcs[0] if funcs else (macros[0] if macros else None)
        return self._resolved[key]

    def macro_expr(self, m: MacroDef) -> ir.Expr | None:
        key = (m.file, m.line, m.name)
        if key not in self._macro_ir:
            self._macro_ir[key] = macro_expression(m.body or "", m.name, m.file)
        return self._macro_ir[key]

    def macro_const(self, m: MacroDef, depth: int = 0) -> int | None:
        """An object-like macro's value when it is a constant expression, through other such
        macros (PAGE_MAPPING_FLAGS is PAGE_MAPPING_ANON | PAGE_MAPPING_KSM)."""
        expr = self.macro_expr(m)
        if expr is None or isinstance(expr, ir.Name) or depth > 8:
            return None

        def name(ident: str) -> int | None:
            d = self.resolve(ident)
            return self.macro_const(d, depth + 1) if isinstance(d, MacroDef) and d.params is None else None
        return _const(expr, name)

    def past_deadline(self) -> None:
        if self.deadline is not None and time.monotonic() > self.deadline:
            raise OutOfTime()

    def global_members(self, name: str) -> dict | None:
        """A file-scope variable's designated initializer: {"_struct": ..., member: value text}."""
        if name not in self._globals:
            self.past_deadline()  # the search greps the tree: seconds on a big one
            found = None
            # only a file with `name = {` can hold its designated initializer: the bytes say so
            # before a parse (or a cached summary) is loaded for every file that uses the name
            opening = re.compile(rb"\b" + re.escape(name.encode()) + rb"\s*(?:\[[^\]=;]*\]\s*)?=\s*\{")
            for path in self.index.files_naming(name):
                if not opening.search(self.index.read(path) or b""):
                    continue
                parsed = self.index.parsed(path)
                if parsed is None:
                    continue
                members = [i for i in parsed.initializers if i.name == name]
                if members:
                    found = {"_struct": members[0].struct} | {i.field: i.value for i in members}
                    break
            self._globals[name] = found
        return self._globals[name]

    def global_obj(self, name: str):
        g = self.global_members(name)
        if g is None:
            return None
        kind = {"address_space": "space", "address_space_operations": "ops"}.get(g["_struct"], "global")
        return Obj(kind, name)

    def member(self, obj: Obj, fieldname: str):
        """A member of a global read from its initializer: a function, &other_global, NULL."""
        if obj.kind == "space" and obj.name in self.aops:
            # a file's mapping: no variable of the tree holds it; its a_ops is named by the scenario
            # and the table itself read from the tree, its other members are unknown
            return (self.global_obj(self.aops[obj.name]) or UNKNOWN) if fieldname == "a_ops" else UNKNOWN
        g = self.global_members(obj.name) or {}
        text = g.get(fieldname)
        if text is None and fieldname == "a_ops" and obj.kind == "space" and obj.name in self.space_ops:
            return self.global_obj(self.space_ops[obj.name]) or UNKNOWN
        if text is None:
            return UNKNOWN
        text = text.strip()
        if text in ("NULL", "0"):
            return 0
        ref = text.lstrip("&").strip()
        if ref.isidentifier():
            other = self.global_obj(ref)
            if other is not None:
                return other
            if self.resolve(ref) is not None:
                return Obj("fn", ref)
        return UNKNOWN


class Thread:
    """One thread of a scenario; `run()` is the generator the explorer drives."""

    def __init__(self, machine: Machine, body: ir.Body, env: dict):
        self.m = machine
        self.body = body
        self.frames: list[CallFrame] = [CallFrame(body.function, body.file, body.block.line, dict(env))]
        self.steps = 0
        self.local_steps = LOCAL_STEPS

    def snapshot(self) -> tuple:
        return tuple(f.key() for f in self.frames)

    @property
    def frame(self) -> CallFrame:
        return self.frames[-1]

    def site(self, line: int) -> tuple:
        self.frame.line = line
        return (self.frame.file, line, self.frame.function)

    def run(self):
        try:
            yield from self.function_body(self.body.block)
        except _Return:
            pass

    def evaluate(self):
        """Run the body as a callee: the generator's value is what it returns."""
        try:
            yield from self.function_body(self.body.block)
        except _Return as r:
            return r.value
        return 0

    def function_body(self, block: ir.Block):
        """A function's body: a goto, break or continue that leaves it is a cut, not an escape."""
        try:
            yield from self.block(block)
        except _Goto as g:
            raise self.cut(f"goto {g.label}: no such label in the function") from None
        except (_Break, _Continue):
            raise self.cut("break or continue outside a loop") from None

    def cut(self, cause: str, line: int | None = None) -> PathCut:
        """Record where and why this path is abandoned; the caller raises what this returns."""
        f = self.frame
        self.m.cuts.add(Cut(f.file, f.line if line is None else line, f.function, cause))
        return PathCut(cause)

    # -- statements ----------------------------------------------------------------------------
    def tick(self):
        self.steps += 1
        self.m.steps += 1
        if self.m.max_steps is not None and self.m.steps > self.m.max_steps:
            raise OutOfTime(f"{self.m.max_steps} interpreter steps")
        if self.steps & 1023 == 0 and self.m.deadline is not None and time.monotonic() > self.m.deadline:
            raise OutOfTime()
        if self.steps > self.local_steps:
            if self.local_steps < LOCAL_STEPS:
                raise PathCut("fold budget")  # a folded callee: given up on, not a cut of the path
            raise self.cut(f"{LOCAL_STEPS} interpreter steps without a visible event")

    def block(self, b: ir.Block, seek: str | None = None):
        """Run a block; `seek`: enter it at that label (a goto from outside, into a nested block)."""
        stmts = b.body
        i = self.m.find_label(stmts, seek) if seek is not None else 0
        if i is None:
            raise _Goto(seek)
        while i < len(stmts):
            try:
                yield from self.stmt(stmts[i], seek)
                seek = None
                i += 1
            except _Goto as g:
                j = self.m.find_label(stmts, g.label)
                if j is None:
                    raise  # to an enclosing block, or out of the function (a cut, in run/inline)
                key = f"goto:{g.label}"
                if j <= i:
                    self.frame.counters[key] = self.frame.counters.get(key, 0) + 1
                    if self.frame.counters[key] > GOTO_BOUND:
                        # like a loop's bound: the path that would go round again is not followed
                        self.m.notes.add(f"goto {g.label} bounded at {GOTO_BOUND} in {self.frame.function}")
                        raise PathCut("goto bound") from None
                i, seek = j, g.label

    def stmt(self, s: ir.Stmt, seek: str | None = None):
        self.tick()
        self.frame.line = s.line
        if seek is not None:
            # a goto's target inside s: go straight there, deciding no condition on the way
            if isinstance(s, ir.Label):
                return
            if isinstance(s, ir.Block):
                yield from self.block(s, seek)
            elif isinstance(s, ir.If):
                inside_then = seek in self.m.labels(s.then)
                yield from self.stmt(s.then if inside_then else s.orelse, seek)
            elif isinstance(s, ir.Loop):
                yield from self.loop(s, seek)
            elif isinstance(s, ir.Switch):
                try:
                    yield from self.stmt(s.body, seek)
                except _Break:
                    pass
            return
        if isinstance(s, ir.Block):
            yield from self.block(s)
        elif isinstance(s, ir.ExprStmt):
            yield from self.eval(s.expr)
        elif isinstance(s, ir.Decl):
            self.frame.env[s.name] = (yield from self.eval(s.init)) if s.init is not None else UNKNOWN
        elif isinstance(s, ir.If):
            t = _truth((yield from self.eval(s.cond)))
            if t is None:
                if self.join(s):
                    return
                t = bool((yield Choice(2, f"if ({text_of(s.cond)})", self.site(s.cond.line))))
            if t:
                yield from self.stmt(s.then)
            elif s.orelse is not None:
                yield from self.stmt(s.orelse)
        elif isinstance(s, ir.Loop):
            yield from self.loop(s)
        elif isinstance(s, ir.Switch):
            yield from self.switch(s)
        elif isinstance(s, ir.Return):
            raise _Return((yield from self.eval(s.value)) if s.value is not None else 0)
        elif isinstance(s, ir.Break):
            raise _Break()
        elif isinstance(s, ir.Continue):
            raise _Continue()
        elif isinstance(s, ir.Goto):
            if not _is_label(s.label):
                raise self.cut(f"computed goto ({s.label})")
            raise _Goto(s.label)
        elif isinstance(s, ir.OpaqueStmt):
            self.opaque(s.text, s.line)

    def join(self, s: ir.If) -> bool:
        """An if on a value the model does not know, whose branches both run to their end with no
        visible event, choice, return or jump (`if (vma->vm_flags & VM_ACCOUNT) nr = ...;`): run
        each from the same locals and keep what they agree on, the rest unknown, instead of
        forking the thread on a condition that cannot change what the others see.  False (and
        nothing changed) when a branch does more; the thread then forks as before."""
        if self.m.join_failed.get(id(s), 0) >= JOIN_TRIES:
            return False
        frame = self.frame
        env, counters, line, depth = frame.env, frame.counters, frame.line, len(self.frames)
        outs = []
        for branch in (s.then, s.orelse):
            frame.env, frame.counters = dict(env), dict(counters)
            if branch is not None and not self._quiet(branch):
                del self.frames[depth:]
                frame.env, frame.counters, frame.line = env, counters, line
                self.m.join_failed[id(s)] = self.m.join_failed.get(id(s), 0) + 1
                self.m.join_keep.append(s)  # its id stays its own while the memo holds it
                return False
            outs.append(frame.env)
        a, b = outs
        frame.env = {k: (a[k] if k in a and k in b and a[k] == b[k] else UNKNOWN) for k in {*a, *b}}
        frame.counters, frame.line = counters, line
        return True

    def _quiet(self, branch: ir.Stmt) -> bool:
        """Run branch: True if it reached its end with no event, choice, return or jump."""
        gen = self.stmt(branch)
        try:
            next(gen)
        except StopIteration:
            return True
        except (_Return, _Break, _Continue, _Goto, PathCut, Bug):
            return False
        gen.close()  # it has something to show
        return False

    def opaque(self, text: str, line: int) -> None:
        """Code the IR does not model: a value the model cannot know (sizeof, a barrier), or a
        construct whose effects it cannot follow, which cuts the path (asm, _Generic, ...)."""
        cause = opaque_cause(text)
        if cause is not None:
            raise self.cut(cause, line)

    def loop(self, s: ir.Loop, seek: str | None = None):
        if s.init is not None and seek is None:
            yield from self.stmt(s.init)
        key = f"loop:{s.line}"
        self.frame.counters.pop(key, None)
        if s.kind == "do" and seek is None:
            self.frame.counters[key] = 1  # a do-while's first pass counts towards its bound
        first = True
        while True:
            if not (s.kind == "do" and first) and seek is None:
                if (s.cond is None and s.kind != "for") or s.macro is not None:
                    # an iterator macro's "condition" is its argument list, not a C condition
                    go = yield from self.undecided(f"{s.macro or s.kind} loop", s.line, key)
                elif s.cond is None:
                    go = True
                else:
                    # three-valued, as in an assertion: a condition's own && and || make no
                    # choices, or `vma && vma->vm_start < end` would go round with no bound
                    v = yield from self.three_valued(s.cond)
                    go = (yield from self.undecided("loop condition", s.line, key)) if _truth(v) is None else _truth(v)
                if not go:
                    break
            first = False
            try:
                yield from self.stmt(s.body, seek)
            except _Break:
                break
            except _Continue:
                pass
            seek = None
            if s.update is not None:
                yield from self.eval(s.update)
        self.frame.counters.pop(key, None)

    def undecided(self, why: str, line: int, key: str):
        """An undecidable loop condition: both outcomes, up to LOOP_BOUND iterations."""
        n = self.frame.counters.get(key, 0)
        bound = 1 if self.frame.function in self.m.relevance.t.once else LOOP_BOUND
        if n >= bound:
            self.m.notes.add(f"loop at {self.frame.file}:{line} bounded at {bound} iteration{'s' * (bound > 1)}")
            return False
        go = bool((yield Choice(2, why, self.site(line))))
        if go:
            self.frame.counters[key] = n + 1
        return go

    def switch(self, s: ir.Switch):
        v = yield from self.eval(s.expr)
        body = s.body.body if isinstance(s.body, ir.Block) else (s.body,)
        cases = [(i, c) for i, c in enumerate(body) if isinstance(c, ir.Case)]
        start = None
        candidates = []
        for i, c in cases:
            if c.value is None:
                continue
            cv = yield from self.eval(c.value)
            eq = _compare("==", v, cv)
            if eq == 1:
                candidates = [i]
                break
            if eq is UNKNOWN:
                candidates.append(i)
        else:
            eq = None
        default = next((i for i, c in cases if c.value is None), len(body))
        # a case that matches is the only way in; otherwise any undecided case, or the default
        options = candidates if eq == 1 else candidates + [default]
        pick = (yield Choice(len(options), "switch", self.site(s.line))) if len(options) > 1 else 0
        start = options[pick]
        try:
            yield from self.block(ir.Block(s.line, tuple(body[start:])))
        except _Break:
            pass

    def cond(self, e: ir.Expr):
        v = yield from self.eval(e)
        t = _truth(v)
        if t is None:
            t = bool((yield Choice(2, f"if ({text_of(e)})", self.site(e.line))))
        return t

    # -- expressions ---------------------------------------------------------------------------
    def eval(self, e: ir.Expr):  # noqa: C901 - one dispatch over the IR's expression kinds
        self.tick()
        if isinstance(e, ir.Literal):
            return _literal(e.text)
        if isinstance(e, ir.Name):
            return self.name(e.id)
        if isinstance(e, ir.Call):
            return (yield from self.call(e))
        if isinstance(e, ir.Field):
            base = self.name(e.obj.id, as_object=True) if isinstance(e.obj, ir.Name) else (yield from self.eval(e.obj))
            return (yield from self.read_field(base, e.field, e))
        if isinstance(e, ir.Unary):
            return (yield from self.unary(e))
        if isinstance(e, ir.Binary):
            if e.op in ("&&", "||") and not self.frame.deciding:
                left = _truth((yield from self.eval(e.left)))
                if left is (e.op == "||"):
                    return int(left)  # C's short circuit: the right side is not evaluated
                return _logic(e.op, left, (yield from self.eval(e.right)))
            if e.op in ("&&", "||"):
                left = yield from self.cond(e.left)
                if left == (e.op == "||"):
                    return int(left)
                return int((yield from self.cond(e.right)))
            left = yield from self.eval(e.left)
            right = yield from self.eval(e.right)
            return _compare(e.op, left, right)
        if isinstance(e, ir.Assign):
            value = yield from self.eval(e.value)
            if e.op != "=":
                old = yield from self.eval(e.target)
                value = _compare(e.op[:-1], old, value)
            yield from self.store(e.target, value)
            return value
        if isinstance(e, ir.Conditional):
            if self.frame.deciding:
                t = yield from self.cond(e.test)
            else:
                t = _truth((yield from self.eval(e.test)))
                if t is None:
                    return UNKNOWN
            return (yield from self.eval(e.then if t else e.orelse))
        if isinstance(e, ir.Cast):
            return (yield from self.eval(e.expr))
        if isinstance(e, ir.Comma):
            v = 0
            for x in e.exprs:
                v = yield from self.eval(x)
            return v
        if isinstance(e, ir.InitList):
            items = []
            for k, x in e.items:
                items.append(((k or "").lstrip("."), (yield from self.eval(x))))
            # C zero-fills what an initializer leaves out: `{ }`, `{ 0 }`, or designated members
            zeroed = all(k for k, _ in items) or all(v == 0 for _, v in items)
            return Struct(tuple(items), zeroed=zeroed)
        if isinstance(e, ir.StmtExpr):
            return (yield from self.stmt_expr(e))
        if isinstance(e, ir.OpaqueExpr):
            self.opaque(e.text, e.line)
        return UNKNOWN

    def three_valued(self, e: ir.Expr):
        """e's value with unknown staying unknown: its && || ?: make no choices."""
        deciding, self.frame.deciding = self.frame.deciding, False
        try:
            return (yield from self.eval(e))
        finally:
            self.frame.deciding = deciding

    def stmt_expr(self, e: ir.StmtExpr):
        """({ ...; v; }): the statements run in order and the last expression statement is the
        value.  A break, continue, goto or return inside one leaves it as in C."""
        stmts = e.body.body
        for s in stmts[:-1]:
            yield from self.stmt(s)
        last = stmts[-1] if stmts else None
        if isinstance(last, ir.ExprStmt):
            self.tick()
            self.frame.line = last.line
            return (yield from self.eval(last.expr))
        if last is not None:
            yield from self.stmt(last)
        return UNKNOWN

    def name(self, ident: str, as_object: bool = False):
        """An identifier's value.  File-scope variables are looked for (a search of the tree) only
        `as_object`: where a struct is used as one, `&var` or `var.member`, the only uses the model
        gives a meaning to."""
        env = self.frame.env
        if ident in env:
            return env[ident]
        if ident in ("NULL", "false"):
            return 0
        if ident == "true":
            return 1
        d = self.m.resolve(ident)
        if isinstance(d, FunctionDef):
            return Obj("fn", ident)  # a function's name cannot also name a variable
        # a macro's name is not a variable (`current`): no search of the tree for its initializer
        g = self.m.global_obj(ident) if as_object and not isinstance(d, MacroDef) else None
        if g is not None:
            return g
        if isinstance(d, MacroDef) and d.params is None:
            v = self.m.macro_const(d)
            if v is not None:
                return v
        if isinstance(d, FunctionDef) or (P.lookup(ident) is not None):
            return Obj("fn", ident)
        return Sym(ident)

    def unary(self, e: ir.Unary):
        if e.op == "&":
            if isinstance(e.operand, ir.Field):
                obj = e.operand.obj
                base = self.name(obj.id, as_object=True) if isinstance(obj, ir.Name) else (yield from self.eval(obj))
                if isinstance(base, Addr):  # &(&mapping->i_pages)->xa_lock: a member of a member
                    return Addr(base.obj, f"{base.field}.{e.operand.field}")
                return Addr(base, e.operand.field) if isinstance(base, Obj) else UNKNOWN
            if isinstance(e.operand, ir.Name):
                v = self.name(e.operand.id, as_object=True)
                if isinstance(v, Obj) and v.kind in P.HANDLES:
                    return v  # &xas, &pvmw: the model's walk states are their own handles
                if isinstance(v, Struct) and e.operand.id in self.frame.env:
                    # &rwc: the callee reads the local struct's members through the pointer (its
                    # stores through it are not modelled)
                    return v
                if e.operand.id in self.frame.env:
                    return Obj("local", f"{self.frame.function}.{e.operand.id}")
                if isinstance(v, Sym):
                    # the address of a name that is neither local, nor a function, nor a constant:
                    # a file-scope variable without a designated initializer (DEFINE_SPINLOCK(x))
                    return Obj("global", v.name)
                return v if isinstance(v, Obj) else UNKNOWN
            return UNKNOWN
        if e.op == "*":
            v = yield from self.eval(e.operand)
            if isinstance(v, Obj) and v.kind == "pte":
                return (yield from self.shared("__pte_read", (v,), f"*{text_of(e.operand)}", e.line))
            if isinstance(v, Obj) and v.kind == "fn":
                return v
            return UNKNOWN
        if e.op in ("++", "--", "post++", "post--"):
            old = yield from self.eval(e.operand)
            new = _compare("+" if "++" in e.op else "-", old, 1)
            yield from self.store(e.operand, new)
            return old if e.op.startswith("post") else new
        v = yield from self.eval(e.operand)
        if e.op == "!":
            t = _truth(v)
            return UNKNOWN if t is None else int(not t)
        if isinstance(v, int):
            return {"-": -v, "~": ~v, "+": v}.get(e.op, UNKNOWN)
        return UNKNOWN

    def read_field(self, base, fieldname: str, e: ir.Expr):
        if isinstance(base, Struct):
            return base.get(fieldname)
        if not isinstance(base, Obj):
            return UNKNOWN
        if base.kind == "page" and fieldname in P.PAGE_FIELDS:
            return (yield from self.shared("__page_read", (base, fieldname), text_of(e), e.line))
        if base.kind == "space":
            if fieldname in self.m.relevance.t.space_members:
                return Addr(base, fieldname)
            return self.m.member(base, fieldname)
        if base.kind in ("ops", "global"):
            return self.m.member(base, fieldname)
        if base.kind in P.HANDLES:
            return P.HANDLES[base.kind](base, fieldname)
        return UNKNOWN

    def store(self, target: ir.Expr, value):
        if isinstance(target, ir.Name):
            self.frame.env[target.id] = value
        elif isinstance(target, ir.Field):
            base = yield from self.eval(target.obj)
            if isinstance(base, Obj) and base.kind == "page" and target.field in P.PAGE_FIELDS:
                yield from self.shared("__page_write", (base, target.field, value),
                                       f"{text_of(target)} = ...", target.line)
            elif isinstance(base, Struct) and not target.arrow and isinstance(target.obj, ir.Name) and \
                    target.obj.id in self.frame.env:
                # `details.single_folio = folio;` on a local struct (a store through a pointer to one
                # changes the callee's copy only: not modelled)
                items = tuple((k, v) for k, v in base.items if k != target.field) + ((target.field, value),)
                self.frame.env[target.obj.id] = Struct(items, base.zeroed)
        # other stores (counters such as nrpages, the pte through a pointer) are not modelled

    # -- calls ---------------------------------------------------------------------------------
    def call(self, c: ir.Call):
        line = c.line
        if isinstance(c.func, ir.Name) and c.func.id not in self.frame.env:
            name = c.func.id
        else:
            fv = yield from self.eval(c.func)
            if not (isinstance(fv, Obj) and fv.kind == "fn"):
                self.m.unresolved.add(f"({text_of(c.func)})")
                for a in c.args:
                    yield from self.eval(a)
                return UNKNOWN
            name = fv.name
        special = self.m.relevance.t
        if name in special.reads and c.args:
            return (yield from self.eval(c.args[0]))
        if name in special.writes and len(c.args) == 2:
            value = yield from self.eval(c.args[1])
            yield from self.store(c.args[0], value)
            return value
        if name in P.DECLARES and c.args and isinstance(c.args[0], ir.Name):
            # XA_STATE(xas, &mapping->i_pages, index): a macro that declares its first argument
            rest = []
            for a in c.args[1:]:
                rest.append((yield from self.eval(a)))
            self.frame.env[c.args[0].id] = P.DECLARES[name]((None, *rest))
            return 0
        if name in P.ASSERTS and name.startswith("VM_") and not self.m.debug_vm:
            return 0  # without CONFIG_DEBUG_VM the kernel does not even evaluate the condition
        if name in P.ASSERTS:
            # the condition is decided by model state or not at all: its own && || ?: make no
            # choices, or every BUG_ON on values the model does not know would fire on one path
            v = (yield from self.three_valued(c.args[0])) if c.args else 0
            t = _truth(v)
            if name.endswith("BUG_ON"):
                if t:
                    raise Bug(f"{name}({text_of(c.args[0])})", self.site(line))
                if t is None:
                    self.m.notes.add(f"{name}({text_of(c.args[0])}) undecided at {self.frame.file}:{line}")
                return 0
            return int(bool(t)) if t is not None else (yield Choice(2, text_of(c), self.site(line)))
        if name in P.CHOICES:
            return (yield Choice(2, f"{name}()", self.site(line)))
        prim = P.lookup(name)
        if prim is not None and prim.mode == "override":
            return (yield from self.primitive(prim, c))
        d = self.m.resolve(name, self.frame.file)
        if isinstance(d, FunctionDef):
            args = yield from self.args(c)
            # interpreted only if it can reach model state, and is handed some (a page, a space,
            # a pte...) or names a model global: bad_page(unrelated) reads ->mapping too
            if self.m.relevance.reaches(d) and (any(_model_value(a) for a in args) or self.m.names_global(d)):
                return (yield from self.inline(d, args))
            folded = self.fold(d, args)
            if folded is not UNKNOWN:
                return folded
            return (yield from self.summary(name, args, c.line))
        if isinstance(d, MacroDef) and d.params is not None:
            expr = self.m.macro_expr(d)
            if expr is not None:
                return (yield from self.expand(d, expr, c))
        if prim is not None:
            return (yield from self.primitive(prim, c))
        self.m.unresolved.add(name)
        for a in c.args:
            yield from self.eval(a)
        return UNKNOWN

    def args(self, c: ir.Call):
        out = []
        for a in c.args:
            out.append((yield from self.eval(a)))
        return tuple(out)

    def primitive(self, prim: P.Prim, c: ir.Call):
        args = yield from self.args(c)
        if prim.waits_for is not None and prim.waits_for(args) is None:
            # a lock the model cannot name is not taken in the model: say so, never drop it silently
            self.m.unresolved.add(f"{prim.name}({text_of(c.args[0]) if c.args else ''})")
        if prim.kind == "choice":
            return (yield Choice(2, f"{prim.name}()", self.site(c.line)))
        if prim.kind == "pure":
            return prim.impl(args, self.m.ctx)
        if prim.local is not None:
            v = prim.local(args)
            if v is not P.SHARED:
                return v  # nothing another thread can change or see: not a scheduling point
        return (yield from self.shared(prim.name, args, text_of(c), c.line))

    def fold(self, d: FunctionDef, args: tuple):
        """A callee that cannot reach model state, handed a value the model knows: its result, if
        running it decides every condition on the way (should_zap_cows(NULL) is true), else
        UNKNOWN.  It has no visible event, so nothing but its value can differ; what it notes,
        cuts or fails to resolve on the way is forgotten with it."""
        if not any(isinstance(a, (int, Obj, Addr, Struct)) for a in args) or len(self.frames) > MAX_DEPTH:
            return UNKNOWN
        try:
            key = (d.file, d.start_byte, args)
            hash(key)
        except TypeError:
            return UNKNOWN
        memo = self.m.folded
        if key in memo:
            return memo[key]
        memo[key] = UNKNOWN  # a recursive call while folding: unknown
        params, body = self.m.callee(d)
        if body is None:
            return UNKNOWN
        saved = (set(self.m.cuts), set(self.m.notes), set(self.m.unresolved))
        sub = Thread(self.m, body, {p: v for p, v in zip(params, args, strict=False) if p})
        sub.frames[0] = CallFrame(d.name, d.file, d.start_line, sub.frames[0].env)
        sub.local_steps = FOLD_STEPS
        value = UNKNOWN
        gen = sub.evaluate()
        try:
            next(gen)  # a choice or an event: not decided by the arguments alone
            gen.close()
        except StopIteration as stop:
            value = stop.value
        except (PathCut, Bug, _Goto, _Break, _Continue):
            pass
        finally:
            self.m.cuts, self.m.notes, self.m.unresolved = saved
        memo[key] = value
        return value

    def summary(self, name: str, args: tuple, line: int):
        """A callee that cannot reach model state: its result is unknown, and a callee the lock
        table says may sleep is a sleeping point."""
        v = self.m.vocab
        sleeps = name in v.sleeping or (name in v.allocators and any(
            isinstance(a, Sym) and a.name in v.sleeping_gfp for a in args))
        if sleeps:
            yield from self.shared("might_sleep", (), f"{name}()", line)
        return UNKNOWN

    def shared(self, name: str, args: tuple, text: str, line: int):
        return (yield Op(name, args, text, self.site(line)))

    def inline(self, d: FunctionDef, args: tuple):
        if len(self.frames) > MAX_DEPTH or any(f.function == d.name for f in self.frames):
            self.m.notes.add(f"call depth or recursion bound at {d.name}")
            self.m.unresolved.add(d.name)
            return UNKNOWN
        params, body = self.m.callee(d)
        if body is None:
            self.m.unresolved.add(d.name)
            return UNKNOWN
        if not body.complete:
            self.m.notes.add(f"{d.name}: body only partly parsed")
        env = {p: v for p, v in zip(params, args, strict=False) if p}
        self.frames.append(CallFrame(d.name, d.file, d.start_line, env))
        try:
            yield from self.function_body(body.block)
            return 0
        except _Return as r:
            return r.value
        finally:
            self.frames.pop()

    def expand(self, d: MacroDef, expr: ir.Expr, c: ir.Call):
        args = yield from self.args(c)
        env = dict(zip(d.params or (), args, strict=False))
        self.frames.append(CallFrame(d.name, d.file, d.line, env))
        try:
            return (yield from self.eval(expr))
        finally:
            self.frames.pop()


_LABEL = re.compile(r"[A-Za-z_]\w*")
# what an opaque expression's text starts with -> None (a value the model does not know, no
# effect it could miss) or the cause of a cut
_OPAQUE = (
    (re.compile(r"(sizeof|_Alignof|__alignof__|alignof|offsetof|__builtin_offsetof|typeof|__typeof__)\b"), None),
    (re.compile(r'(__asm__|asm|__asm)\s*(__volatile__|volatile|inline|goto|\s)*\(\s*""\s*[:)]'), None),
    (re.compile(r"(__asm__|asm|__asm)\b"), "inline asm"),
    (re.compile(r"_Generic\b"), "_Generic selection"),
    (re.compile(r"\(?\s*\{"), "statement expression"),  # a macro's ({ ... }) reaches the IR as { ... }
    (re.compile(r'(L|u8|u|U)?["\']'), None),
    (re.compile(r"\(\s*[\w\s]+\)\s*\{"), None),  # a compound literal, (pte_t) { ... }: an unknown value
    (re.compile(r"nesting deeper than"), "nesting too deep for the IR"),
)


def opaque_cause(text: str) -> str | None:
    t = text.lstrip()
    for pattern, cause in _OPAQUE:
        if pattern.match(t):
            return cause
    return "code the C front-end could not read"


def _logic(op: str, left: bool | None, right_value) -> object:
    """&& and || in three values, once the left side has not decided it alone."""
    right = _truth(right_value)
    short = op == "||"
    if left is short or right is short:
        return int(short)
    if left is None or right is None:
        return UNKNOWN
    return int(not short)


_MODEL_KINDS = frozenset(("page", "space", "ops", "pte", "pteval", "frame", "anon"))


def _model_value(v) -> bool:
    if isinstance(v, Addr):
        v = v.obj
    if isinstance(v, Struct):
        return any(_model_value(x) for _, x in v.items)
    return isinstance(v, Obj) and v.kind in _MODEL_KINDS


def _is_label(text: str) -> bool:
    return _LABEL.fullmatch(text) is not None
