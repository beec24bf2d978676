"""The tree's own written lock hierarchy: the "Lock ordering in mm" comment at
the top of mm/rmap.c and the ordering notes at the top of mm/filemap.c,
parsed from the tree being checked (never copied into patchlint).

Indentation is nesting: a lock written further right is taken inside the
locks above it with less indentation.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from patchlint.extract.vocab import Vocabulary

SOURCES = (("mm/rmap.c", re.compile(r"Lock ordering in mm", re.I)),
           ("mm/filemap.c", re.compile(r"Lock ordering:", re.I)))


@dataclass(frozen=True)
class DocLock:
    cls: str
    file: str
    line: int
    text: str


@dataclass(frozen=True)
class DocumentedOrder:
    # (outer class, inner class) -> (outer entry, inner entry)
    pairs: dict[tuple[str, str], tuple[DocLock, DocLock]]

    def inverted(self, held: str, acquired: str) -> tuple[DocLock, DocLock] | None:
        """If the documents put `acquired` outside `held`, the two entries that say so."""
        return self.pairs.get((acquired, held))


def load_documented_order(read, vocab: Vocabulary) -> DocumentedOrder:
    pairs: dict[tuple[str, str], tuple[DocLock, DocLock]] = {}
    for path, start in SOURCES:
        data = read(path)
        if data is None:
            continue
        text = data.decode("utf-8", "replace").split("\n")
        entries = _entries(text, start, path, vocab)
        stack: list[tuple[int, list[DocLock]]] = []
        for indent, locks in entries:
            while stack and stack[-1][0] >= indent:
                stack.pop()
            for _, outer_locks in stack:
                for outer in outer_locks:
                    for inner in locks:
                        if outer.cls != inner.cls:
                            pairs.setdefault((outer.cls, inner.cls), (outer, inner))
            stack.append((indent, locks))
    return DocumentedOrder(pairs)


def _entries(lines: list[str], start: re.Pattern[str], path: str,
             vocab: Vocabulary) -> list[tuple[int, list[DocLock]]]:
    out: list[tuple[int, list[DocLock]]] = []
    inside = False
    for number, raw in enumerate(lines, 1):
        if not inside:
            if start.search(raw):
                inside = True
            continue
        if raw.strip().startswith("*/"):
            break
        m = re.match(r"^\s*\*( *)(.*)$", raw.expandtabs(8))
        if not m or not m.group(2).strip():
            if out:
                break  # a blank comment line ends the block
            continue
        body = m.group(2)
        if body.startswith("("):
            continue  # a note, not a lock
        head = re.split(r"\s{2,}|\t|\s\(", body, maxsplit=1)[0]
        locks = []
        for alias, cls in vocab.documented_names:
            if re.search(r"(?<!\w)" + re.escape(alias) + r"\b", head) and all(d.cls != cls for d in locks):
                locks.append(DocLock(cls, path, number, " ".join(body.split())))
        if locks:
            out.append((len(m.group(1)), locks))
    return out
