"""Calls: what a call means (a special read or write, a declaring macro, an assertion, a
primitive, a callee found in the tree, a function-like macro), and how a callee runs: inlined
when it can reach model state, folded to its value when its arguments decide it, else a
summary (an unknown result, and a sleeping point if the lock table says it may sleep).
"""

from __future__ import annotations

from patchlint.cparse import ir
from patchlint.cparse.defs import FunctionDef
from patchlint.cparse.preproc import MacroDef
from patchlint.extract.exprs import text_of as _text
from patchlint.model import primitives as P
from patchlint.model.events import Break, Bug, Choice, Continue, Goto, PathCut, Return, Steps
from patchlint.model.frames import CallFrame, ThreadBase
from patchlint.model.state import UNKNOWN, Addr, Obj, Struct, Sym
from patchlint.model.values import truth as _truth

MAX_DEPTH = 28  # inlined call depth (6.x truncation reaches a pte 12 calls down, then asks flags 4 deeper)
FOLD_STEPS = 400  # steps a callee folded to its value may take


class Calls(ThreadBase):
    """The call half of a thread (interp.Thread): eval() comes from Expressions, function_body()
    from Statements."""

    def call(self, c: ir.Call) -> Steps:
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
            args = yield from self.args(c)
            # interpreted only if it can reach model state, and is handed some (a page, a space,
            # a pte...) or names a model global: bad_page(unrelated) reads ->mapping too
            if self.m.relevance.reaches(d) and (any(_model_value(a) for a in args) or self.m.names_global(d)):
                self.frame.call_line = line
                return (yield from self.inline(d, args))
            folded = self.fold(d, args)
            if folded is not UNKNOWN:
                return folded
            return (yield from self.summary(name, args, c.line))
        if isinstance(d, MacroDef) and d.params is not None:
            expr = self.m.macro_expr(d)
            if expr is not None:
                self.frame.call_line = line
                return (yield from self.expand(d, expr, c))
        if prim is not None:
            return (yield from self.primitive(prim, c))
        self.m.unresolved.add(name)
        for a in c.args:
            yield from self.eval(a)
        return UNKNOWN

    def args(self, c: ir.Call) -> Steps:
        out = []
        for a in c.args:
            out.append((yield from self.eval(a)))
        return tuple(out)

    def primitive(self, prim: P.Prim, c: ir.Call) -> Steps:
        args = yield from self.args(c)
        if prim.waits_for is not None and prim.waits_for(args) is None:
            # a lock the model cannot name is not taken in the model: say so, never drop it silently
            self.m.unresolved.add(f"{prim.name}({_text(c.args[0]) if c.args else ''})")
        if prim.kind == "choice":
            return (yield Choice(2, f"{prim.name}()", self.site(c.line)))
        if prim.kind == "pure":
            return prim.impl(args, self.m.ctx)
        if prim.local is not None:
            v = prim.local(args)
            if v is not P.SHARED:
                return v  # nothing another thread can change or see: not a scheduling point
        return (yield from self.shared(prim.name, args, _text(c), c.line))

    def fold(self, d: FunctionDef, args: tuple) -> object:
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
        # a recursive call while folding: unknown (and if the budget runs out mid-fold, this stays
        # the answer for the index's later explorations: the memo is the tree's, see TreeMemo)
        memo[key] = UNKNOWN
        params, body = self.m.callee(d)
        if body is None:
            return UNKNOWN
        saved = (set(self.m.cuts), set(self.m.notes), set(self.m.unresolved))
        # a thread of the same class (interp.Thread): the callee runs alone, as a whole thread would
        sub = type(self)(self.m, body, {p: v for p, v in zip(params, args, strict=False) if p})
        sub.frames[0] = CallFrame(d.name, d.file, d.start_line, sub.frames[0].env)
        sub.local_steps = FOLD_STEPS
        value = UNKNOWN
        gen = sub.evaluate()
        try:
            next(gen)  # a choice or an event: not decided by the arguments alone
            gen.close()
        except StopIteration as stop:
            value = stop.value
        except (PathCut, Bug, Goto, Break, Continue):
            pass
        finally:
            self.m.cuts, self.m.notes, self.m.unresolved = saved
        memo[key] = value
        return value

    def summary(self, name: str, args: tuple, line: int) -> Steps:
        """A callee that cannot reach model state: its result is unknown, and a callee the lock
        table says may sleep is a sleeping point."""
        v = self.m.vocab
        sleeps = name in v.sleeping or (name in v.allocators and any(
            isinstance(a, Sym) and a.name in v.sleeping_gfp for a in args))
        if sleeps:
            yield from self.shared("might_sleep", (), f"{name}()", line)
        return UNKNOWN

    def inline(self, d: FunctionDef, args: tuple) -> Steps:
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
        frame = CallFrame(d.name, d.file, d.start_line, env)
        self.frames.append(frame)
        self.entered(frame, d, body)
        try:
            yield from self.function_body(body.block)
            return 0
        except Return as r:
            return r.value
        finally:
            self.frames.pop()
            self.left(frame)

    def entered(self, frame: CallFrame, d: FunctionDef, body: ir.Body) -> None:
        """An inlined callee's frame is pushed (a thread that keeps more per frame hooks here)."""

    def left(self, frame: CallFrame) -> None:
        """An inlined callee's frame is popped."""

    def expand(self, d: MacroDef, expr: ir.Expr, c: ir.Call) -> Steps:
        args = yield from self.args(c)
        env = dict(zip(d.params or (), args, strict=False))
        self.frames.append(CallFrame(d.name, d.file, d.line, env))
        try:
            return (yield from self.eval(expr))
        finally:
            self.frames.pop()


_MODEL_KINDS = frozenset(("page", "space", "ops", "pte", "pteval", "frame", "anon"))


def _model_value(v: object) -> bool:
    if isinstance(v, Addr):
        v = v.obj
    if isinstance(v, Struct):
        return any(_model_value(x) for _, x in v.items)
    return isinstance(v, Obj) and v.kind in _MODEL_KINDS
