"""What a thread of the interpreter hands the explorer, and how a path through it ends.

A thread yields an Op for every visible event (a shared primitive) and a Choice for every
condition it cannot decide.  A path ends at a Bug (a BUG_ON decided true), a PathCut (after a
Cut was recorded, or at a bound), or OutOfTime (the exploration's budget).  Return, Break,
Continue and Goto are C's jumps inside a thread: the interpreter raises and catches them
itself, and none leaves a function body.
"""

from __future__ import annotations

from collections.abc import Generator
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class Op:
    prim: str
    args: tuple
    text: str
    site: tuple  # (file, line, function)
    callers: tuple = ()  # (file, line, function) of the calls the event was reached through, outermost first


@dataclass(frozen=True)
class Choice:
    n: int
    why: str
    site: tuple


# what the interpreter's generators yield, and are sent back: a thread's steps and its value
Steps = Generator[Op | Choice, Any, Any]


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
    def __init__(self, message: str, site: tuple) -> None:
        super().__init__(message)
        self.message = message
        self.site = site


class PathCut(Exception):
    """A path ends here: after a Cut was recorded, or at a bound the notes name."""


class OutOfTime(Exception):
    """The exploration's budget ran out inside the interpreter (one step can be long on a big
    tree): its deadline, or its count of interpreter steps."""

    def __init__(self, why: str = "time") -> None:
        super().__init__(why)
        self.why = why


class Return(Exception):
    def __init__(self, value: object) -> None:
        self.value = value


class Break(Exception):
    pass


class Continue(Exception):
    pass


class Goto(Exception):
    def __init__(self, label: str) -> None:
        self.label = label
