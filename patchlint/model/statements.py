"""Statements and control flow: blocks, gotos and labels, if (and the join of branches that
show nothing), loops and their bounds, switch.  A function's body is where a goto, break or
continue that would leave it becomes a cut.
"""

from __future__ import annotations

import re

from patchlint.cparse import ir
from patchlint.extract.exprs import text_of as _text
from patchlint.model.events import Break, Bug, Choice, Continue, Goto, PathCut, Return, Steps
from patchlint.model.frames import ThreadBase
from patchlint.model.state import UNKNOWN
from patchlint.model.values import compare as _compare
from patchlint.model.values import truth as _truth

LOOP_BOUND = 2  # iterations of a loop whose condition the model cannot decide
GOTO_BOUND = 2  # backward jumps to one label per frame
JOIN_TRIES = 2  # an if whose branches had something to show this often is forked without trying


class Statements(ThreadBase):
    """The statement half of a thread (interp.Thread): eval() and its kin come from Expressions."""

    def function_body(self, block: ir.Block) -> Steps:
        """A function's body: a goto, break or continue that leaves it is a cut, not an escape."""
        try:
            yield from self.block(block)
        except Goto as g:
            raise self.cut(f"goto {g.label}: no such label in the function") from None
        except (Break, Continue):
            raise self.cut("break or continue outside a loop") from None

    def block(self, b: ir.Block, seek: str | None = None) -> Steps:
        """Run a block; `seek`: enter it at that label (a goto from outside, into a nested block)."""
        stmts = b.body
        i = self.m.find_label(stmts, seek) if seek is not None else 0
        if i is None:
            raise Goto(seek)
        while i < len(stmts):
            try:
                yield from self.stmt(stmts[i], seek)
                seek = None
                i += 1
            except Goto as g:
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

    def stmt(self, s: ir.Stmt, seek: str | None = None) -> Steps:
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
                except Break:
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
                t = bool((yield Choice(2, f"if ({_text(s.cond)})", self.site(s.cond.line))))
            if t:
                yield from self.stmt(s.then)
            elif s.orelse is not None:
                yield from self.stmt(s.orelse)
        elif isinstance(s, ir.Loop):
            yield from self.loop(s)
        elif isinstance(s, ir.Switch):
            yield from self.switch(s)
        elif isinstance(s, ir.Return):
            raise Return((yield from self.eval(s.value)) if s.value is not None else 0)
        elif isinstance(s, ir.Break):
            raise Break()
        elif isinstance(s, ir.Continue):
            raise Continue()
        elif isinstance(s, ir.Goto):
            if not _is_label(s.label):
                raise self.cut(f"computed goto ({s.label})")
            raise Goto(s.label)
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
        except (Return, Break, Continue, Goto, PathCut, Bug):
            return False
        gen.close()  # it has something to show
        return False

    def loop(self, s: ir.Loop, seek: str | None = None) -> Steps:
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
            except Break:
                break
            except Continue:
                pass
            seek = None
            if s.update is not None:
                yield from self.eval(s.update)
        self.frame.counters.pop(key, None)

    def undecided(self, why: str, line: int, key: str) -> Steps:
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

    def switch(self, s: ir.Switch) -> Steps:
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
        except Break:
            pass


_LABEL = re.compile(r"[A-Za-z_]\w*")


def _is_label(text: str) -> bool:
    return _LABEL.fullmatch(text) is not None
