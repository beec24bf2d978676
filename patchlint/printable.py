"""Text from the input, made safe to print in a line-oriented report.

A mail controls the paths, subjects and lines patchlint prints.  A newline inside a diff path
(`"b/mm/x\\n::error file=evil.c::INJECTED.c"`) would print a line of its own, which b4 (a line
with `ERROR:`) and GitHub Actions (a line starting `::`) act on; an escape sequence would drive
the reader's terminal.  So every text format prints input through these: control characters,
Unicode line and paragraph separators and bidirectional overrides become C escapes, and a path
that needs any escape is quoted the way git quotes it (`"mm/x\\n..."`, core.quotePath's rules
for control characters, `"` and `\\`).  JSON and SARIF escape on their own.
"""

from __future__ import annotations

import re
from typing import Any

_NAMED = {"\a": "\\a", "\b": "\\b", "\t": "\\t", "\n": "\\n", "\v": "\\v", "\f": "\\f", "\r": "\\r",
          '"': '\\"', "\\": "\\\\"}
# C0 and C1 controls and DEL; U+2028/2029 (line and paragraph separators); the bidirectional
# marks, embeddings, overrides and isolates; lone surrogates (bytes a path had that were not UTF-8,
# kept by the surrogateescape decoding, which no output encoding can print)
_UNSAFE = "\x00-\x08\x0a-\x1f\x7f-\x9f\u200e\u200f\u2028-\u202e\u2066-\u2069\ud800-\udfff"
_IN_TEXT = re.compile(f"[{_UNSAFE}]")
_IN_PATH = re.compile(f'[{_UNSAFE}\t"\\\\]')


def _escape(m: re.Match[str]) -> str:
    c = m.group(0)
    named = _NAMED.get(c)
    if named is not None:
        return named
    if "\udc80" <= c <= "\udcff":  # a byte that was not UTF-8, as git prints it
        return f"\\{ord(c) - 0xDC00:03o}"
    return "".join(f"\\{b:03o}" for b in c.encode("utf-8", "surrogatepass"))


def printable(text: str) -> str:
    """`text` with every character that could end a line or drive a terminal as a C escape
    (a tab, which source lines are indented with, is kept)."""
    return _IN_TEXT.sub(_escape, text) if _IN_TEXT.search(text) else text


def quote_path(path: str) -> str:
    """A path as git prints it: as it is, or in double quotes with C escapes when it holds a
    control character, a tab, a double quote or a backslash."""
    if not _IN_PATH.search(path):
        return path
    return '"' + _IN_PATH.sub(_escape, path) + '"'


PATH_KEYS = frozenset({"file", "old_path", "new_path", "path"})


# Texts patchlint writes that may run over lines on purpose; each renderer lays their lines out
# (terse joins them, github percent-encodes them).  The input's parts in them are quoted where
# the message is made (a path by quote_path()), so a newline here is patchlint's own.
MULTILINE_KEYS = frozenset({"message", "explanation"})


def displayable(value: object, key: str | None = None) -> object:
    """A report document (report/document.py) with every string printable: paths quoted as git
    does, any other text escaped.  Text renderers print this; JSON and SARIF the document."""
    if isinstance(value, str):
        if key in PATH_KEYS:
            return quote_path(value)
        if key in MULTILINE_KEYS:
            return "\n".join(printable(line) for line in value.split("\n"))
        return printable(value)
    if isinstance(value, dict):
        return {k: displayable(v, k) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [displayable(v, key) for v in value]
    return value


def displayable_doc(doc: dict[str, Any]) -> dict[str, Any]:
    """displayable() of a whole report document."""
    return {k: displayable(v, k) for k, v in doc.items()}
