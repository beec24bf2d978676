"""Which callees the model interprets: those that can reach model state (grammars/model.toml).

A function reaches model state when its own text reads or writes a modelled member
(`->mapping`, `->i_pages`, `page->index`...), when it calls a model primitive that is not
pure (a lock, a page flag, the radix tree or xarray, the storage key), when it calls through
an operations member the model follows (`a_ops->set_page_dirty`, `rwc->rmap_one`), or when a
function or macro it calls does.  The search follows the call graph the C front-end already
has (each definition's direct calls) and is memoized per definition, so a tree pays for it
once per run.  Everything else is applied as a summary: an unknown result, and a sleeping
point where the lock table says the callee may sleep.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field

from patchlint.cparse.defs import FunctionDef
from patchlint.cparse.preproc import MacroDef
from patchlint.model import primitives as P
from patchlint.model.tables import ModelTables, tables

_IDENT_CALL = re.compile(r"\b([A-Za-z_]\w*)\s*\(")


@dataclass
class ReachMemo:
    """The search's answers and the function texts it read: a function of the tree state alone,
    so the machine keeps one per index (machine.TreeMemo), for every exploration of it."""

    answers: dict[tuple, bool] = field(default_factory=dict)  # (mode, definition) -> reaches
    texts: dict[tuple, str] = field(default_factory=dict)  # (file, body start) -> a function's text


class Relevance:
    """reaches(definition): whether the model must interpret it, for one exploration: its
    resolver (which keeps to the exploration's deadline) and its named objects, over answers
    memoized per tree state."""

    def __init__(self, resolve: Callable[[str, str | None], FunctionDef | MacroDef | None],
                 read: Callable[[str], bytes | None], memo: ReachMemo,
                 named: re.Pattern[str] | None = None) -> None:
        self._resolve = resolve  # (name, near file) -> FunctionDef | MacroDef | None
        self._read = read  # path -> bytes | None
        self._memo = memo.answers
        self.t: ModelTables = tables()
        self._texts = memo.texts
        self.named = named  # the model's objects by name: what a callee reaches without arguments

    def reaches(self, d: FunctionDef | MacroDef, depth: int = 0) -> bool:
        """Whether d, or a function it calls, reads or writes model state."""
        return self._reach(d, depth, "state")

    def reaches_named(self, d: FunctionDef | MacroDef, depth: int = 0) -> bool:
        """Whether d, or a function it calls, names model state no argument hands it (`named`:
        swapper_space, pte_offset_map_lock...): unmap_mapping_range() reaches the scenario's pte
        through the vmas it walks, though it is handed only the mapping."""
        # the names differ between scenarios (their a_ops tables): each set has its own answers
        return self.named is not None and self._reach(d, depth, "named:" + self.named.pattern)

    def _reach(self, d: FunctionDef | MacroDef, depth: int, mode: str) -> bool:
        key = (mode, d.file, getattr(d, "start_byte", getattr(d, "line", 0)), d.name)
        found = self._memo.get(key)
        if found is not None:
            return found
        if depth > self.t.max_depth:
            return False  # not memoized: a shallower search may still find it
        # a cycle adds nothing the rest of the search does not find (an OutOfTime from the resolver
        # mid-search leaves this False for the index's later explorations too)
        self._memo[key] = False
        result = self._search(d, depth, mode)
        self._memo[key] = result
        return result

    def summarized(self, file: str) -> bool:
        """A file the tables leave to summaries whatever it touches (memcg, statistics, KASAN)."""
        return any(file == s or (s.endswith("/") and file.startswith(s)) for s in self.t.summarized)

    def _search(self, d: FunctionDef | MacroDef, depth: int, mode: str) -> bool:
        if self.summarized(d.file) or d.name in self.t.summarized_functions:
            return False
        if isinstance(d, MacroDef):
            text = d.body or ""
            calls = [(m.group(1), False) for m in _IDENT_CALL.finditer(text)]
        else:
            text = self._text(d)
            calls = [(c.callee, c.indirect) for c in d.calls]
        if mode != "state":
            if self.named.search(text):
                return True
            return any(not indirect and self._callee_reaches(name, d.file, depth, mode) for name, indirect in calls)
        if self.t.touches.search(text):
            return True
        if isinstance(d, FunctionDef) and self._derefs_model_pointer(d, text):
            return True
        for name, indirect in calls:
            if indirect:
                if self.t.members.search(name):
                    return True
                continue
            if self.name_reaches(name, d.file, depth):
                return True
        return False

    def _callee_reaches(self, name: str, near: str | None, depth: int, mode: str) -> bool | None:
        """The search in the definition `name` resolves to from `near`; None when it has none
        (no function, no macro with a body)."""
        target = self._resolve(name, near)
        if isinstance(target, FunctionDef) or (isinstance(target, MacroDef) and target.body):
            return self._reach(target, depth + 1, mode)
        return None

    def _text(self, d: FunctionDef) -> str:
        key = (d.file, d.body_start_byte)
        found = self._texts.get(key)
        if found is None:
            data = self._read(d.file)
            found = self._texts[key] = (data[d.body_start_byte:d.end_byte].decode("utf-8", "replace")
                                        if data is not None else "")
        return found

    def _derefs_model_pointer(self, d: FunctionDef, text: str) -> bool:
        """ptep_get(pte_t *ptep) { return READ_ONCE(*ptep); }: the pte itself is model state."""
        for p in d.params():
            base = p.type.replace("const", "").replace("*", " ").split()
            if p.name and "*" in p.type and base and base[-1] in self.t.deref_types and re.search(
                    rf"\*\s*{re.escape(p.name)}\b|\b{re.escape(p.name)}\s*\[", text):
                return True
        return False

    def name_reaches(self, name: str, near: str | None, depth: int = 0) -> bool:
        if name in self.t.reads or name in self.t.writes:
            return False  # their arguments are searched as calls of the caller's own
        prim = P.lookup(name)
        if prim is not None and prim.mode == "override":
            return prim.kind != "pure" and prim.tracks
        found = self._callee_reaches(name, near, depth, "state")
        if found is not None:
            return found
        return prim is not None and prim.kind != "pure" and prim.tracks
