"""The model's tables (grammars/model.toml): which members, callees and files the model
interprets, the macros that stand for a read or a write, and the locks an address space's
members carry.  Read once per process: they are the shipped data, not the tree's.
"""

from __future__ import annotations

import re
import tomllib
from dataclasses import dataclass
from functools import cache

from patchlint.resources import grammar_file


@dataclass(frozen=True)
class ModelTables:
    touches: re.Pattern[str]  # a modelled member read or written in a function's text
    members: re.Pattern[str]  # an operations member followed through a pointer, in a call's text
    max_depth: int
    reads: frozenset[str]  # READ_ONCE(x) and friends: the value of x
    writes: frozenset[str]  # WRITE_ONCE(x, v): x = v
    globals: tuple[str, ...]  # names that reach model state without arguments
    summarized: tuple[str, ...]  # files (or directories, ending in /) whose functions are summaries
    deref_types: tuple[str, ...]  # parameter types whose pointee is model state (pte_t: *ptep)
    summarized_functions: frozenset[str]  # functions that are summaries wherever they are defined
    once: frozenset[str]  # functions whose undecided loops go round at most once (walks.once)
    space_members: frozenset[str]  # an address space's members the model addresses (space.members)
    locks_in: dict[str, str]  # a member handed to a lock primitive -> the lock it carries (space.locks_in)


@cache
def tables() -> ModelTables:
    data = tomllib.loads(grammar_file("model.toml").read_text())
    rel = data.get("relevance", {})
    fields = "|".join(sorted(re.escape(f) for f in rel.get("fields", [])))
    page_fields = "|".join(sorted(re.escape(f) for f in rel.get("page_fields", [])))
    alts = [rf"(?:->|\.)\s*(?:{fields})\b"] if fields else []
    if page_fields:
        alts.append(rf"\w*(?:page|folio)\w*\s*\)?\s*->\s*(?:{page_fields})\b")  # (page)->private in macros
    special = data.get("special", {})
    members = "|".join(sorted(re.escape(m) for m in rel.get("members", [])))
    return ModelTables(re.compile("|".join(alts) or r"(?!)"), re.compile(rf"\b(?:{members or '(?!)'})\b"),
                       int(rel.get("max_depth", 10)), frozenset(special.get("reads", [])),
                       frozenset(special.get("writes", [])), tuple(rel.get("reach_without_arguments", [])),
                       tuple(rel.get("summarized", [])), tuple(rel.get("dereferenced", [])),
                       frozenset(rel.get("summarized_functions", [])),
                       frozenset(data.get("walks", {}).get("once", [])),
                       frozenset(data.get("space", {}).get("members", [])),
                       dict(data.get("space", {}).get("locks_in", {})))
