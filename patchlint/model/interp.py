"""An interpreter of the tree's IR, one thread at a time, as a generator.

A thread is a generator: it yields an Op for every shared primitive (a visible
event: the explorer applies it to the State and sends the result back) and a
Choice for every condition it cannot decide (the explorer sends each option in
turn).  Everything else (locals, arithmetic, inlined callees found in the tree,
macros, function pointers read from the tree's designated initializers) runs
inside the generator.  Given the values sent in, a thread is deterministic, so
the explorer resumes a thread by replaying its history.

The interpreter is split by concern: events.py (what a thread yields and how a path ends),
machine.py (what the threads of an exploration share: the tree's answers, the notes),
frames.py (a thread's state and the services every part uses), statements.py,
expressions.py and calls.py (the IR's statements, expressions and calls, each a mixin of
Thread).
"""

from __future__ import annotations

from patchlint.model.calls import Calls
from patchlint.model.events import Return, Steps
from patchlint.model.expressions import Expressions
from patchlint.model.statements import Statements


class Thread(Statements, Expressions, Calls):
    """One thread of a scenario; `run()` is the generator the explorer drives."""

    def run(self) -> Steps:
        try:
            yield from self.function_body(self.body.block)
        except Return:
            pass

    def evaluate(self) -> Steps:
        """Run the body as a callee: the generator's value is what it returns."""
        try:
            yield from self.function_body(self.body.block)
        except Return as r:
            return r.value
        return 0
