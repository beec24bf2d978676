"""A tolerant structural scan of a diff: where files and hunks are, and whether
the text is a faithful diff or a whitespace-damaged rendering of one.

unidiff parses good diffs; this scan exists to *diagnose* bad ones the way a
kernel developer would (web archives collapse tabs, drop the leading space of
context lines and lose lines, so hunk counts no longer add up), and to hand
the damaged hunks' lines to the lenient recovery.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

HUNK_HEADER = re.compile(r"^@@ -(\d+)(?:,(\d+))? \+(\d+)(?:,(\d+))? @@ ?(.*)$")
MAX_DIGITS = 9  # a line number or count in a hunk header: no file patchlint reads has a billion lines


class HeaderNumberTooLong(ValueError):
    """A hunk header with a number of more than MAX_DIGITS digits (at mail line `line`)."""

    def __init__(self, line: int, digits: int):
        super().__init__(f"hunk header number of {digits} digits")
        self.line = line
        self.digits = digits
_EXTENDED = re.compile(r"^(rename from|rename to|copy from|copy to|new file mode|deleted file mode) (.*)$")
_LABEL = re.compile(r"^ [A-Za-z_]\w*:\s*$")
UNPREFIXED = "?"  # a hunk body line that lost its diff prefix


@dataclass
class RawHunk:
    header: str
    old_start: int
    old_count: int
    new_start: int
    new_count: int
    section: str
    mail_line: int
    lines: list[tuple[str, str, int]] = field(default_factory=list)  # (kind, text, mail line)
    ended_by: str = "count"  # "count", "header" or "end"
    overflow: int = 0  # diff lines found after the counts ran out

    def counts(self) -> tuple[int, int]:
        old = sum(1 for k, _, _ in self.lines if k in " -" + UNPREFIXED)
        new = sum(1 for k, _, _ in self.lines if k in " +" + UNPREFIXED)
        return old, new

    def unprefixed(self) -> int:
        return sum(1 for k, _, _ in self.lines if k == UNPREFIXED)

    def collapsed_tabs(self) -> bool:
        """Indentation that a kernel file writes with tabs arrived as single spaces."""
        texts = [t for k, t, _ in self.lines if k in " -+"]
        if any("\t" in t for t in texts):
            return False
        single = [t for t in texts if re.match(r"^ [^ *\t]", t) and not _LABEL.match(t)]
        return len(single) >= 2

    def damaged(self) -> bool:
        return bool(
            self.unprefixed() or self.overflow or self.collapsed_tabs()
            or self.counts() != (self.old_count, self.new_count)
        )

    def truncated(self) -> bool:
        """Short at the end of the input, and otherwise well formed."""
        old, new = self.counts()
        return (
            self.ended_by == "end" and (old < self.old_count or new < self.new_count)
            and not (self.unprefixed() or self.overflow or self.collapsed_tabs())
        )


@dataclass
class RawFile:
    old_name: str | None  # as written after "--- ", None until seen
    new_name: str | None
    mail_line: int
    git_header: str | None = None
    binary: bool = False
    names_line: int | None = None  # mail line of the "--- " line, once seen
    extended: dict[str, str] = field(default_factory=dict)  # git's "rename from X", "new file mode N", ...
    hunks: list[RawHunk] = field(default_factory=list)


def scan(lines: list[str], first_mail_line: int) -> list[RawFile]:
    """Scan diff lines; lines[0] is mail line first_mail_line."""
    files: list[RawFile] = []
    cur: RawFile | None = None
    i, n = 0, len(lines)
    while i < n:
        line = lines[i]
        mail_line = first_mail_line + i
        if line.startswith("diff --git "):
            cur = RawFile(None, None, mail_line, git_header=line)
            files.append(cur)
        elif line.startswith("--- ") and i + 1 < n and lines[i + 1].startswith("+++ "):
            if cur is None or cur.hunks or cur.old_name is not None:
                cur = RawFile(None, None, mail_line)
                files.append(cur)
            cur.old_name, cur.new_name = line[4:], lines[i + 1][4:]
            cur.names_line = mail_line
            i += 2
            continue
        elif cur is not None and cur.git_header and not cur.hunks and cur.old_name is None and (
                m := _EXTENDED.match(line)) is not None:
            cur.extended[m.group(1)] = m.group(2)
        elif line.startswith("GIT binary patch") or (line.startswith("Binary files ") and line.endswith(" differ")):
            if cur is None:
                cur = RawFile(None, None, mail_line)
                files.append(cur)
            cur.binary = True
        elif (m := HUNK_HEADER.match(line)) is not None and cur is not None:
            longest = max(len(g) for g in m.groups()[:4] if g is not None)
            if longest > MAX_DIGITS:
                raise HeaderNumberTooLong(mail_line, longest)
            hunk = RawHunk(
                header=line,
                old_start=int(m.group(1)),
                old_count=int(m.group(2)) if m.group(2) is not None else 1,
                new_start=int(m.group(3)),
                new_count=int(m.group(4)) if m.group(4) is not None else 1,
                section=m.group(5).strip(),
                mail_line=mail_line,
            )
            cur.hunks.append(hunk)
            i = _hunk_body(lines, i + 1, first_mail_line, hunk)
            continue
        elif line == "-- ":
            break  # mail signature: the diff is over
        elif cur is not None and cur.hunks and line[:1] in ("+", "-", " ") and line.strip():
            cur.hunks[-1].overflow += 1
            cur.hunks[-1].lines.append((line[0], line[1:], mail_line))
        i += 1
    return files


def _hunk_body(lines: list[str], i: int, first_mail_line: int, hunk: RawHunk) -> int:
    old_left, new_left = hunk.old_count, hunk.new_count
    n = len(lines)
    while i < n:
        line = lines[i]
        if old_left <= 0 and new_left <= 0:
            if line.startswith("\\"):
                hunk.lines.append(("\\", line[1:], first_mail_line + i))
                i += 1
                continue
            hunk.ended_by = "count"
            return i
        if HUNK_HEADER.match(line) or line.startswith("diff --git "):
            hunk.ended_by = "header"
            return i
        kind = line[:1]
        if kind in ("-", "+", " ", "\\"):
            text = line[1:]
        elif line == "":
            kind, text = " ", ""  # a blank context line whose space a mailer trimmed
        else:
            kind, text = UNPREFIXED, line
        if kind in (" ", UNPREFIXED, "-"):
            old_left -= 1
        if kind in (" ", UNPREFIXED, "+"):
            new_left -= 1
        hunk.lines.append((kind, text, first_mail_line + i))
        i += 1
    hunk.ended_by = "end"
    while hunk.lines and hunk.lines[-1][0] == " " and hunk.lines[-1][1] == "":
        hunk.lines.pop()  # blank lines at the very end of the input are not context
    return i
