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

import time
from dataclasses import dataclass, field

from patchlint.cparse import ir
from patchlint.cparse.defs import FunctionDef
from patchlint.cparse.index import FunctionIndex
from patchlint.cparse.ir import build_body
from patchlint.cparse.parse import parse_tree
from patchlint.cparse.preproc import MacroDef
from patchlint.extract.walker import _text
from patchlint.model import primitives as P
from patchlint.model.state import UNKNOWN, Addr, Obj, Struct, Sym

MAX_DEPTH = 14  # inlined call depth
LOOP_BOUND = 2  # iterations of a loop whose condition the model cannot decide
GOTO_BOUND = 2  # backward jumps to one label per frame
LOCAL_STEPS = 20000  # evaluation steps without a visible event before a path is cut


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


class Bug(Exception):
    def __init__(self, message: str, site: tuple):
        super().__init__(message)
        self.message = message
        self.site = site


class PathCut(Exception):
    pass


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
class Frame:
    function: str
    file: str
    line: int = 0
    env: dict = field(default_factory=dict)
    counters: dict = field(default_factory=dict)

    def key(self) -> tuple:
        # a dict's keys are unique, so sorting by key never compares (unorderable) values
        return (self.function, self.line, tuple(sorted(self.env.items(), key=_first)),
                tuple(sorted(self.counters.items(), key=_first)))


def _first(item: tuple):
    return item[0]


class Machine:
    """What the threads of one exploration share: the tree (through FunctionIndex) and notes."""

    def __init__(self, index: FunctionIndex, ctx: P.Ctx | None = None, aops: dict[str, str] | None = None):
        self.index = index
        self.ctx = ctx or P.Ctx()
        self.aops = aops or {}  # address spaces the scenario declares -> their a_ops variable
        self.deadline: float | None = None  # time.monotonic() value after which interpretation stops
        # interpreter steps over the whole exploration, and the budget on them: unlike the
        # deadline, the same on every machine, so a cut-short result is the same bytes everywhere
        self.steps = 0
        self.max_steps: int | None = None
        self.cut: set[str] = set()  # where paths were abandoned: what lies beyond was not explored
        self.unresolved: set[str] = set()
        self.notes: set[str] = set()
        self._resolved: dict[str, object] = {}
        self._macro_ir: dict[tuple, ir.Expr | None] = {}
        self._globals: dict[str, dict | None] = {}
        # per definition: its parameter names and IR body, asked for at every inlined call
        self._callee: dict[tuple, tuple] = {}

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
            src = f"long __patchlint_macro(void) {{ return ({m.body}); }}\n".encode()
            body = build_body(src, parse_tree(src).root_node, 0, m.name, m.file, {})
            ret = body.block.body[0] if body and body.block.body else None
            self._macro_ir[key] = ret.value if isinstance(ret, ir.Return) and body.complete else None
        return self._macro_ir[key]

    def past_deadline(self) -> None:
        if self.deadline is not None and time.monotonic() > self.deadline:
            raise OutOfTime()

    def global_members(self, name: str) -> dict | None:
        """A file-scope variable's designated initializer: {"_struct": ..., member: value text}."""
        if name not in self._globals:
            self.past_deadline()  # the search greps the tree: seconds on a big one
            found = None
            for path in self.index.files_naming(name):
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
        self.frames: list[Frame] = [Frame(body.function, body.file, body.block.line, dict(env))]
        self.steps = 0

    def snapshot(self) -> tuple:
        return tuple(f.key() for f in self.frames)

    @property
    def frame(self) -> Frame:
        return self.frames[-1]

    def site(self, line: int) -> tuple:
        self.frame.line = line
        return (self.frame.file, line, self.frame.function)

    def run(self):
        try:
            yield from self.block(self.body.block)
        except _Return:
            pass

    # -- statements ----------------------------------------------------------------------------
    def tick(self):
        self.steps += 1
        self.m.steps += 1
        if self.m.max_steps is not None and self.m.steps > self.m.max_steps:
            raise OutOfTime(f"{self.m.max_steps} interpreter steps")
        if self.steps & 1023 == 0 and self.m.deadline is not None and time.monotonic() > self.m.deadline:
            raise OutOfTime()
        if self.steps > LOCAL_STEPS:
            self.m.cut.add(f"{self.frame.function} ({self.frame.file}:{self.frame.line}): {LOCAL_STEPS} "
                           "interpreter steps without a visible event")
            raise PathCut("local step budget")

    def block(self, b: ir.Block):
        stmts = b.body
        i = 0
        while i < len(stmts):
            try:
                yield from self.stmt(stmts[i])
                i += 1
            except _Goto as g:
                j = next((k for k, s in enumerate(stmts) if isinstance(s, ir.Label) and s.name == g.label), None)
                if j is None:
                    raise
                key = f"goto:{g.label}"
                if j <= i:
                    self.frame.counters[key] = self.frame.counters.get(key, 0) + 1
                    if self.frame.counters[key] > GOTO_BOUND:
                        self.m.notes.add(f"goto {g.label} bounded at {GOTO_BOUND} in {self.frame.function}")
                        raise PathCut("goto bound") from None
                i = j

    def stmt(self, s: ir.Stmt):
        self.tick()
        self.frame.line = s.line
        if isinstance(s, ir.Block):
            yield from self.block(s)
        elif isinstance(s, ir.ExprStmt):
            yield from self.eval(s.expr)
        elif isinstance(s, ir.Decl):
            self.frame.env[s.name] = (yield from self.eval(s.init)) if s.init is not None else UNKNOWN
        elif isinstance(s, ir.If):
            if (yield from self.cond(s.cond)):
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
            raise _Goto(s.label)
        elif isinstance(s, ir.OpaqueStmt):
            self.m.notes.add(f"not modelled: {s.text[:60]} ({self.frame.file}:{s.line})")

    def loop(self, s: ir.Loop):
        if s.init is not None:
            yield from self.stmt(s.init)
        key = f"loop:{s.line}"
        self.frame.counters.pop(key, None)
        first = True
        while True:
            if not (s.kind == "do" and first):
                if s.cond is None and s.kind != "for":
                    go = yield from self.undecided(f"{s.macro or s.kind} loop", s.line, key)
                elif s.cond is None:
                    go = True
                else:
                    v = yield from self.eval(s.cond)
                    go = (yield from self.undecided("loop condition", s.line, key)) if _truth(v) is None else _truth(v)
                if not go:
                    break
            first = False
            try:
                yield from self.stmt(s.body)
            except _Break:
                break
            except _Continue:
                pass
            if s.update is not None:
                yield from self.eval(s.update)
        self.frame.counters.pop(key, None)

    def undecided(self, why: str, line: int, key: str):
        """An undecidable loop condition: both outcomes, up to LOOP_BOUND iterations."""
        n = self.frame.counters.get(key, 0)
        if n >= LOOP_BOUND:
            self.m.notes.add(f"loop at {self.frame.file}:{line} bounded at {LOOP_BOUND} iterations")
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
        default = next((i for i, c in cases if c.value is None), len(body))
        options = candidates + [default]
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
            t = bool((yield Choice(2, f"if ({_text(e)})", self.site(e.line))))
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
            if (yield from self.cond(e.test)):
                return (yield from self.eval(e.then))
            return (yield from self.eval(e.orelse))
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
            return Struct(tuple(items))
        if isinstance(e, ir.OpaqueExpr):
            self.m.notes.add(f"not modelled: {e.text[:60]} ({self.frame.file}:{e.line})")
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
        g = self.m.global_obj(ident) if as_object else None
        if g is not None:
            return g
        if isinstance(d, MacroDef) and d.params is None:
            expr = self.m.macro_expr(d)
            if expr is not None and not isinstance(expr, ir.Name):
                v = _const(expr)
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
                return (yield from self.shared("__pte_read", (v,), f"*{_text(e.operand)}", e.line))
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
            return (yield from self.shared("__page_read", (base, fieldname), _text(e), e.line))
        if base.kind == "space":
            if fieldname in ("page_tree", "tree_lock", "i_mmap_mutex", "i_pages", "i_mmap_rwsem", "private_lock"):
                return Addr(base, fieldname)
            return self.m.member(base, fieldname)
        if base.kind in ("ops", "global"):
            return self.m.member(base, fieldname)
        return UNKNOWN

    def store(self, target: ir.Expr, value):
        if isinstance(target, ir.Name):
            self.frame.env[target.id] = value
        elif isinstance(target, ir.Field):
            base = yield from self.eval(target.obj)
            if isinstance(base, Obj) and base.kind == "page" and target.field in P.PAGE_FIELDS:
                yield from self.shared("__page_write", (base, target.field, value),
                                       f"{_text(target)} = ...", target.line)
        # other stores (counters such as nrpages, the pte through a pointer) are not modelled

    # -- calls ---------------------------------------------------------------------------------
    def call(self, c: ir.Call):
        line = c.line
        if isinstance(c.func, ir.Name) and c.func.id not in self.frame.env:
            name = c.func.id
        else:
            fv = yield from self.eval(c.func)
            if not (isinstance(fv, Obj) and fv.kind == "fn"):
                self.m.unresolved.add(f"({_text(c.func)})")
                for a in c.args:
                    yield from self.eval(a)
                return UNKNOWN
            name = fv.name
        if name in P.ASSERTS:
            v = yield from self.eval(c.args[0]) if c.args else 0
            t = _truth(v)
            if name.endswith("BUG_ON"):
                if t:
                    raise Bug(f"{name}({_text(c.args[0])})", self.site(line))
                if t is None:
                    self.m.notes.add(f"{name}({_text(c.args[0])}) undecided at {self.frame.file}:{line}")
                return 0
            return int(bool(t)) if t is not None else (yield Choice(2, _text(c), self.site(line)))
        if name in P.CHOICES:
            return (yield Choice(2, f"{name}()", self.site(line)))
        prim = P.lookup(name)
        if prim is not None and prim.mode == "override":
            return (yield from self.primitive(prim, c))
        d = self.m.resolve(name, self.frame.file)
        if isinstance(d, FunctionDef):
            return (yield from self.inline(d, c))
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
            self.m.unresolved.add(f"{prim.name}({_text(c.args[0]) if c.args else ''})")
        if prim.kind == "choice":
            return (yield Choice(2, f"{prim.name}()", self.site(c.line)))
        if prim.kind == "pure":
            return prim.impl(args, self.m.ctx)
        return (yield from self.shared(prim.name, args, _text(c), c.line))

    def shared(self, name: str, args: tuple, text: str, line: int):
        return (yield Op(name, args, text, self.site(line)))

    def inline(self, d: FunctionDef, c: ir.Call):
        args = yield from self.args(c)
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
        self.frames.append(Frame(d.name, d.file, d.start_line, env))
        try:
            yield from self.block(body.block)
            return 0
        except _Return as r:
            return r.value
        finally:
            self.frames.pop()

    def expand(self, d: MacroDef, expr: ir.Expr, c: ir.Call):
        args = yield from self.args(c)
        env = dict(zip(d.params or (), args, strict=False))
        self.frames.append(Frame(d.name, d.file, d.line, env))
        try:
            return (yield from self.eval(expr))
        finally:
            self.frames.pop()


# --- value semantics --------------------------------------------------------------------------
def _literal(text: str):
    t = text.rstrip("uUlL")
    try:
        return int(t, 0)
    except ValueError:
        return {"NULL": 0, "true": 1, "false": 0}.get(text, UNKNOWN)


def _const(e: ir.Expr):
    if isinstance(e, ir.Literal):
        v = _literal(e.text)
        return None if v is UNKNOWN else v
    if isinstance(e, ir.Binary):
        a, b = _const(e.left), _const(e.right)
        if a is None or b is None:
            return None
        v = _compare(e.op, a, b)
        return None if v is UNKNOWN else v
    if isinstance(e, ir.Unary) and e.op in ("-", "~"):
        a = _const(e.operand)
        return None if a is None else (-a if e.op == "-" else ~a)
    return None


def _truth(v) -> bool | None:
    if isinstance(v, bool):
        return v
    if isinstance(v, int):
        return v != 0
    if isinstance(v, (Obj, Addr, Struct)):
        return True
    return None


_ARITH = {
    "+": lambda a, b: a + b, "-": lambda a, b: a - b, "*": lambda a, b: a * b,
    "/": lambda a, b: int(a / b) if b else UNKNOWN, "%": lambda a, b: a % b if b else UNKNOWN,
    "<<": lambda a, b: a << b if 0 <= b < 64 else UNKNOWN, ">>": lambda a, b: a >> b if 0 <= b < 64 else UNKNOWN,
    "&": lambda a, b: a & b, "|": lambda a, b: a | b, "^": lambda a, b: a ^ b,
    "==": lambda a, b: int(a == b), "!=": lambda a, b: int(a != b), "<": lambda a, b: int(a < b),
    ">": lambda a, b: int(a > b), "<=": lambda a, b: int(a <= b), ">=": lambda a, b: int(a >= b),
}


def _compare(op: str, a, b):
    """C operators over model values; UNKNOWN when the model cannot say."""
    if isinstance(a, int) and isinstance(b, int):
        f = _ARITH.get(op)
        return f(a, b) if f else UNKNOWN
    pointers = (Obj, Addr)
    if op in ("==", "!=") and (isinstance(a, pointers) or isinstance(b, pointers)) and (
            isinstance(a, pointers) or a == 0) and (isinstance(b, pointers) or b == 0):
        return int((a == b) == (op == "=="))
    if op in ("==", "!=") and isinstance(a, Sym) and isinstance(b, Sym) and a == b:
        return int(op == "==")
    if op == "&" and isinstance(a, Obj) and isinstance(b, int):
        return (1 if a.kind == "anon" else 0) & b  # PAGE_MAPPING_ANON: the low bit of page->mapping
    if op in ("+", "-") and isinstance(a, Obj) and a.kind == "pte":
        return Obj("pte", "<other>")  # the next pte of the table: the scenario maps its page with one pte
    if op in ("<<", ">>", "+") and isinstance(a, Obj) and a.kind == "frame" and isinstance(b, int):
        return a  # a frame's address: same frame
    return UNKNOWN
