"""Shared records: what ingest produces and every later stage consumes.

All records are frozen so stages can share them without defensive copies and
so later stages (the model) can hash states built from them.  The unidiff
PatchSet is kept on the Patch for callers that want unidiff's API, but it is
excluded from equality and hashing because unidiff objects are mutable.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

# Line kinds inside a hunk, as in unified diff.
CONTEXT = " "
REMOVED = "-"
ADDED = "+"


@dataclass(frozen=True)
class HunkLine:
    kind: str  # CONTEXT, REMOVED or ADDED
    text: str  # without the diff prefix and without the line end
    old_line: int | None  # line number in the pre-image, None for added lines
    new_line: int | None  # line number in the post-image, None for removed lines
    mail_line: int  # 1-based line in the decoded mail text


@dataclass(frozen=True)
class HunkDamage:
    """Why a hunk looks like a whitespace-damaged (web-archive) rendering."""

    unprefixed: int  # body lines with no diff prefix (context lost its leading space)
    collapsed_tabs: bool  # indentation that should be tabs came through as single spaces
    header_counts: tuple[int, int]  # (old, new) line counts the @@ header promises
    body_counts: tuple[int, int]  # (old, new) line counts the body actually has

    def reasons(self) -> tuple[str, ...]:
        out = []
        if self.unprefixed:
            out.append(f"{self.unprefixed} line(s) without a diff prefix")
        if self.collapsed_tabs:
            out.append("tabs collapsed to single spaces")
        if self.header_counts != self.body_counts:
            out.append(
                "line counts do not add up (header -{},+{}, body -{},+{})".format(
                    *self.header_counts, *self.body_counts
                )
            )
        return tuple(out)


@dataclass(frozen=True)
class Hunk:
    index: int  # 1-based within its file
    header: str  # the whole "@@ -a,b +c,d @@ section" line
    old_start: int
    old_count: int
    new_start: int
    new_count: int
    section: str  # text after the second @@ (git's function context)
    lines: tuple[HunkLine, ...]
    mail_line: int  # 1-based line of the @@ header in the decoded mail text
    functions: tuple[str, ...] = ()  # functions the hunk touches, best effort
    damage: HunkDamage | None = None  # set only for a damaged hunk read leniently

    @property
    def old_lines(self) -> tuple[str, ...]:
        return tuple(ln.text for ln in self.lines if ln.kind != ADDED)

    @property
    def new_lines(self) -> tuple[str, ...]:
        return tuple(ln.text for ln in self.lines if ln.kind != REMOVED)


@dataclass(frozen=True)
class FileChange:
    old_path: str | None  # None for a new file
    new_path: str | None  # None for a deleted file
    status: str  # "modified", "added", "deleted", "renamed"
    hunks: tuple[Hunk, ...]
    old_no_newline: bool = False  # "\ No newline at end of file" on the old side
    new_no_newline: bool = False

    @property
    def path(self) -> str:
        """The path a reader would name this change by: the new one unless deleted."""
        return self.new_path or self.old_path or ""


@dataclass(frozen=True)
class Trailer:
    key: str  # as written, e.g. "Signed-off-by"
    value: str


@dataclass(frozen=True)
class Subject:
    text: str  # subject without prefixes, e.g. "mm: rmap: fix foo"
    raw: str  # subject as in the mail
    prefixes: tuple[str, ...]  # bracket words other than version and n/N, e.g. ("RFC", "PATCH")
    version: int  # 1 when no vN is given
    number: int | None  # n of n/N
    total: int | None  # N of n/N
    is_reply: bool

    @property
    def is_rfc(self) -> bool:
        return "RFC" in (p.upper() for p in self.prefixes)

    def tag(self) -> str:
        """The bracketed prefix, normalised the way git format-patch writes it."""
        words = list(self.prefixes) or ["PATCH"]
        if self.version > 1:
            words.append(f"v{self.version}")
        if self.number is not None and self.total is not None:
            width = len(str(self.total))
            words.append(f"{self.number:0{width}d}/{self.total}")
        return "[" + " ".join(words) + "]"


@dataclass(frozen=True)
class Patch:
    index: int  # 1-based position in the series after ordering
    subject: Subject
    author: str
    date: str  # ISO 8601 when the Date header parsed, else as written
    message_id: str
    trailers: tuple[Trailer, ...]
    base_commit: str | None
    files: tuple[FileChange, ...]
    source: str  # name of the input the patch came from
    input_line: int  # 1-based line of the input where this message starts
    body_offset: int | None  # input line = body_offset + mail line, when not transfer-encoded
    commit: str | None = None  # commit id, for patches read from a git range
    patchset: Any = field(default=None, compare=False, hash=False, repr=False)

    def input_line_of(self, mail_line: int) -> int | None:
        """The input file's line for a line of the decoded mail, if they correspond."""
        return None if self.body_offset is None else self.body_offset + mail_line


@dataclass(frozen=True)
class Note:
    """Something ingest skipped or doubted, kept so reports can say it out loud."""

    source: str
    line: int
    message: str


@dataclass(frozen=True)
class Series:
    patches: tuple[Patch, ...]
    cover: Patch | None
    notes: tuple[Note, ...]
    sources: tuple[str, ...]
    base_commit: str | None = None

    @property
    def damaged(self) -> bool:
        return any(h.damage for p in self.patches for f in p.files for h in f.hunks)


@dataclass(frozen=True)
class LineOrigin:
    """Where one line of a post-image came from.

    patch == 0 means the base tree, and then base_line is its line there;
    otherwise the line was added by hunk `hunk` of file change `file` in patch `patch`.
    """

    patch: int
    hunk: int
    base_line: int | None


@dataclass(frozen=True)
class LineMap:
    """Base-tree line <-> post-image line for one file after some patches of a series.

    The old side is always the base tree, so a finding on a post-image line can
    say both where it sits in the base and which patch and hunk wrote it.
    """

    old_to_new: tuple[int | None, ...]  # index old-1 -> new line, None if removed
    origins: tuple[LineOrigin, ...]  # index new-1 -> where the line came from

    def new_line(self, old: int) -> int | None:
        return self.old_to_new[old - 1] if 1 <= old <= len(self.old_to_new) else None

    def old_line(self, new: int) -> int | None:
        if not 1 <= new <= len(self.origins):
            return None
        return self.origins[new - 1].base_line

    def origin(self, new: int) -> LineOrigin | None:
        return self.origins[new - 1] if 1 <= new <= len(self.origins) else None
