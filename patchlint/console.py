"""What a person at a terminal sees besides the report: progress, what is being read, colour.

All of it goes through rich (it ships with typer), and only to a terminal: a program reading
patchlint's stderr (b4 counts every stderr line of a check command as a failure; git
send-email shows a hook's) sees no progress at all, and the report on a stdout that is not a
terminal is the same bytes whatever the environment says (FORCE_COLOR included: the
terminal test comes first).  rich is imported only when a terminal is there to draw on.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, TextIO

from patchlint.printable import printable

if TYPE_CHECKING:
    from rich.console import Console

Progress = Callable[[str], None]


def _console(stream: TextIO) -> Console | None:
    """A rich console on `stream` when it is a terminal that can show it, else None."""
    if not stream.isatty():
        return None
    from rich.console import Console

    # no highlighting, no emoji codes (":fire:" in a file name stays text), no wrapping of a one-line error
    console = Console(file=stream, highlight=False, emoji=False, soft_wrap=True)
    return None if console.is_dumb_terminal or not console.is_terminal else console


def use_color(mode: str) -> bool:
    """Whether the text report is coloured: `always`, `never`, or (`auto`) when stdout is a
    terminal rich can colour and NO_COLOR is not set."""
    if mode == "always":
        return True
    if mode == "never" or os.environ.get("NO_COLOR"):
        return False
    console = _console(sys.stdout)
    return console is not None and console.color_system is not None and not console.no_color


@contextmanager
def progress(quiet: bool = False) -> Iterator[Progress | None]:
    """A progress callback for a person watching: one transient status line on stderr that
    each message replaces as the work goes on, gone when the work is done.  None when stderr
    is not a terminal (or `quiet`): then nothing at all is printed."""
    console = None if quiet else _console(sys.stderr)
    if console is None:
        yield None
        return
    status = console.status("patchlint", spinner="dots")
    started = False

    def show(message: str) -> None:
        nonlocal started
        status.update(f"patchlint: {printable(message)}")
        if not started:
            status.start()
            started = True

    try:
        yield show
    finally:
        if started:
            status.stop()  # transient: the line is cleared before the report is written


def announce(message: str) -> None:
    """What a command is reading ("scanning 93 files"), as a line on a terminal's stderr."""
    console = _console(sys.stderr)
    if console is not None:
        console.print(f"patchlint: {printable(message)}", style="dim", markup=False)


def error(line: str) -> None:
    """The one-line error, its `patchlint:` prefix in red on a terminal; the same bytes elsewhere."""
    console = _console(sys.stderr)
    if console is None:
        sys.stderr.write(line + "\n")
        return
    prefix, sep, rest = line.partition(": ")
    console.print(f"[bold red]{_escape(prefix)}{sep}[/]{_escape(rest)}")


def _escape(text: str) -> str:
    from rich.markup import escape

    return escape(text)
