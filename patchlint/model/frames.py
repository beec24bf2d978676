"""A thread's activation records, and what every part of the interpreter asks of the thread:
the current frame, the site of an event, a visible event, a path cut, code the IR does not
model, and the count of steps against the exploration's budgets.

ThreadBase holds a thread's state; the statements, expressions and calls mixins interpret
the IR over it, and interp.Thread combines them.
"""

from __future__ import annotations

import re
import time
from dataclasses import dataclass, field

from patchlint.cparse import ir
from patchlint.model.events import Cut, Op, OutOfTime, PathCut, Steps
from patchlint.model.machine import Machine

LOCAL_STEPS = 20000  # evaluation steps without a visible event before a path is cut


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
    # the line of the call this frame is making now: where a trace step's callers were, so a
    # report can tell a hazard reached through a line a patch adds (not part of the state key:
    # it says where, never what happens next)
    call_line: int = 0

    def key(self) -> tuple:
        # a dict's keys are unique, so sorting by key never compares (unorderable) values
        return (self.function, self.line, tuple(sorted(self.env.items(), key=_first)),
                tuple(sorted(self.counters.items(), key=_first)), self.deciding)


def _first(item: tuple) -> object:
    return item[0]


class ThreadBase:
    """One thread's state (the machine it runs on, its frames, its steps) and the services the
    statements, expressions and calls mixins share.  A mixin calls the others' methods through
    self: they are one object, interp.Thread."""

    def __init__(self, machine: Machine, body: ir.Body, env: dict) -> None:
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

    def cut(self, cause: str, line: int | None = None) -> PathCut:
        """Record where and why this path is abandoned; the caller raises what this returns."""
        f = self.frame
        self.m.cuts.add(Cut(f.file, f.line if line is None else line, f.function, cause))
        return PathCut(cause)

    def tick(self) -> None:
        """One interpreter step: counted against the exploration's budgets and the path's."""
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

    def shared(self, name: str, args: tuple, text: str, line: int) -> Steps:
        """A visible event: the explorer applies primitive `name` and sends back its value."""
        return (yield Op(name, args, text, self.site(line), self.callers()))

    def callers(self) -> tuple[tuple[str, int, str], ...]:
        """(file, line, function) of each call the current frame was reached through, outermost
        first."""
        return tuple((f.file, f.call_line or f.line, f.function) for f in self.frames[:-1])

    def opaque(self, text: str, line: int) -> None:
        """Code the IR does not model: a value the model cannot know (sizeof, a barrier), or a
        construct whose effects it cannot follow, which cuts the path (asm, _Generic, ...)."""
        cause = opaque_cause(text)
        if cause is not None:
            raise self.cut(cause, line)


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
    """None for an opaque text that is only a value the model does not know, else why it cuts."""
    t = text.lstrip()
    for pattern, cause in _OPAQUE:
        if pattern.match(t):
            return cause
    return "code the C front-end could not read"

