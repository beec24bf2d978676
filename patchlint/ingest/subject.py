"""Subject lines as kernel people write them: `[RFC PATCH v2 03/12] mm: ...`."""

from __future__ import annotations

import re

from patchlint.records import Subject

_REPLY = re.compile(r"^\s*(?:(?:re|aw|sv|antw|fwd?)\s*:\s*)+", re.IGNORECASE)
_BRACKET = re.compile(r"^\s*\[([^\]]*)\]")
# At most 6 digits: a longer "number" is no series position or version anyone sends, and
# reading it as one would hand int() thousands of digits (an error past Python's limit) and
# the ordering a million missing patches.  Such a word stays a prefix.
_NUMBER = re.compile(r"^(\d{1,6})/(\d{1,6})$")
_VERSION = re.compile(r"^v(\d{1,6})$", re.IGNORECASE)


def parse_subject(raw: str) -> Subject:
    raw = " ".join(raw.split())
    rest = raw
    is_reply = False
    m = _REPLY.match(rest)
    if m:
        is_reply = True
        rest = rest[m.end():]
    prefixes: list[str] = []
    version = 1
    number = total = None
    while (m := _BRACKET.match(rest)) is not None:
        for word in m.group(1).replace(",", " ").split():
            if (n := _NUMBER.match(word)) is not None:
                number, total = int(n.group(1)), int(n.group(2))
            elif (v := _VERSION.match(word)) is not None:
                version = int(v.group(1))
            else:
                prefixes.append(word)
        rest = rest[m.end():]
    return Subject(
        text=rest.strip(),
        raw=raw,
        prefixes=tuple(prefixes),
        version=version,
        number=number,
        total=total,
        is_reply=is_reply,
    )
