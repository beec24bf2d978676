"""Errors that carry data; the CLI alone renders them (one line, exit 2).

Every error names the input and, where known, the line, says what went wrong
and what to do.  Stages raise these and never print.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from patchlint.printable import printable


@dataclass
class PatchlintError(Exception):
    """An input or usage error the user can act on."""

    source: str  # the input: a file name, "-" for stdin, a tree, a revision
    message: str
    line: int | None = None
    hint: str | None = None  # what to do about it

    def __post_init__(self) -> None:
        super().__init__(self.render())

    def render(self) -> str:
        where = self.source if self.line is None else f"{self.source}:{self.line}"
        text = f"{where}: {self.message}"
        if self.hint:
            text += f"; {self.hint}"
        # one line, whatever the parts contained, and nothing in it a terminal acts on
        return printable(" ".join(text.split()))


@dataclass
class NoPatchError(PatchlintError):
    """The input holds mail, but no patch: for a hook, a mail with nothing to check."""


@dataclass
class DamagedHunk:
    patch: int  # 1-based position in the input
    file: str
    hunk: int  # 1-based within the file
    header: str
    mail_line: int
    reasons: tuple[str, ...]


@dataclass
class DamagedPatchError(PatchlintError):
    """The input is a whitespace-damaged rendering of a patch (web archive, mangling mailer)."""

    hunks: list[DamagedHunk] = field(default_factory=list)
