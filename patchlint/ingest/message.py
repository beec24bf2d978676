"""The parts of a patch mail's body: commit message, trailers, diff, base-commit."""

from __future__ import annotations

import re
from dataclasses import dataclass

from patchlint.records import Trailer

_TRAILER = re.compile(
    r"^([A-Z][A-Za-z0-9]*(?:-[A-Za-z0-9]+)*-by|Fixes|Link|Closes|Cc|CC|Message-I[Dd]|Change-Id|Bug): +(\S.*)$"
)
_BASE_COMMIT = re.compile(r"^base-commit: ([0-9a-f]{7,40})\s*$")


@dataclass(frozen=True)
class BodyParts:
    message: tuple[str, ...]  # commit message lines (before "---" or the diff)
    diff_start: int | None  # 0-based index into the body lines of the first diff line
    trailers: tuple[Trailer, ...]
    base_commit: str | None


def is_diff_start(lines: list[str], i: int) -> bool:
    line = lines[i]
    if line.startswith("diff --git "):
        return True
    nxt = lines[i + 1] if i + 1 < len(lines) else ""
    if line.startswith("--- ") and nxt.startswith("+++ "):
        return True
    return line.startswith("Index: ") and nxt.startswith("=====")


def split_body(lines: list[str]) -> BodyParts:
    diff_start = next((i for i in range(len(lines)) if is_diff_start(lines, i)), None)
    head = lines if diff_start is None else lines[:diff_start]
    try:
        end = head.index("---")
    except ValueError:
        end = len(head)
    message = tuple(head[:end])
    trailers = tuple(
        Trailer(m.group(1), m.group(2).strip()) for ln in message if (m := _TRAILER.match(ln)) is not None
    )
    base = None
    for ln in lines[diff_start or 0:]:
        if (m := _BASE_COMMIT.match(ln)) is not None:
            base = m.group(1)
    return BodyParts(message, diff_start, trailers, base)
