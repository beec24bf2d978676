"""Best-effort placement of a whitespace-damaged hunk (`--lenient`).

A web archive collapses whitespace, strips the leading space of context lines
and drops some lines altogether, so neither the hunk header nor the context
can be trusted.  The removed lines can: they must all be found in the tree,
in order, whitespace-insensitively, close together.  Context lines are used
as extra anchors when they match and ignored when they do not (they may be
list-footer junk the archive appended).  Lines of the tree between anchors
are kept: they are context the archive lost.
"""

from __future__ import annotations

from collections.abc import Sequence

from patchlint.records import ADDED, REMOVED, Hunk

MAX_GAP = 12  # tree lines allowed between two consecutive anchors


def _norm(text: str) -> str:
    return " ".join(text.split())


def normalised(lines: Sequence[str]) -> list[str]:
    """A file's lines as recover_hunk compares them; made once per file, not once per hunk."""
    return [_norm(x) for x in lines]


def recover_hunk(lines: Sequence[str], hunk: Hunk, expected: int, floor: int, norm: list[str] | None = None):
    """Return (start, end, new_lines, kept) or None.

    new_lines replace lines[start:end]; kept[i] is the index in `lines` a new
    line was kept from, or None for a line the hunk adds.  `norm` is normalised(lines).
    """
    if norm is None:
        norm = normalised(lines)
    anchors = [(i, ln) for i, ln in enumerate(hunk.lines) if ln.kind != ADDED and _norm(ln.text)]
    removed = [i for i, ln in anchors if ln.kind == REMOVED]
    if not anchors:
        return None
    # The first anchor placed may be any context line up to the first removed line.
    last_first = next((k for k, (_, ln) in enumerate(anchors) if ln.kind == REMOVED), len(anchors) - 1)
    best = None
    for first in range(last_first + 1):
        want = _norm(anchors[first][1].text)
        starts = sorted((p for p in range(floor, len(lines)) if norm[p] == want), key=lambda p: (abs(p - expected), p))
        for p in starts:
            placed = _place(norm, anchors[first:], p)
            if placed is None:
                continue
            hits = sum(1 for v in placed.values() if v is not None)
            if not removed and hits < min(2, len(anchors)):
                continue  # a pure addition is placed only where two of its context lines agree
            best = placed
            break
        if best is not None:
            break
    if best is None:
        return None
    return _rebuild(lines, hunk, best)


def _place(norm: list[str], anchors, p: int) -> dict[int, int | None] | None:
    """Greedy in-order match of anchors starting with anchors[0] at line p."""
    placed: dict[int, int | None] = {anchors[0][0]: p}
    cursor = p + 1
    for idx, ln in anchors[1:]:
        want = _norm(ln.text)
        hit = next((q for q in range(cursor, min(cursor + MAX_GAP + 1, len(norm))) if norm[q] == want), None)
        if hit is None:
            if ln.kind == REMOVED:
                return None
            placed[idx] = None
            continue
        placed[idx] = hit
        cursor = hit + 1
    return placed


def _rebuild(lines: Sequence[str], hunk: Hunk, placed: dict[int, int | None]):
    start = min(v for v in placed.values() if v is not None)
    cursor = start
    new_lines: list[str] = []
    kept: list[int | None] = []
    for i, ln in enumerate(hunk.lines):
        if ln.kind == ADDED:
            new_lines.append(ln.text)
            kept.append(None)
            continue
        q = placed.get(i)
        if q is None:
            continue  # unmatched context: lost or junk
        for g in range(cursor, q):
            new_lines.append(lines[g])
            kept.append(g)
        if ln.kind != REMOVED:
            new_lines.append(lines[q])
            kept.append(q)
        cursor = q + 1
    return start, cursor, new_lines, kept
