"""What the C front-end hands to later stages: frozen records, no tree-sitter nodes."""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache
from typing import NamedTuple

from patchlint.cparse.dialect import Annotation
from patchlint.cparse.preproc import CompiledOut, MacroDef


@dataclass(frozen=True)
class Param:
    type: str
    name: str | None


class CallSite(NamedTuple):
    """A NamedTuple rather than a dataclass: there are tens of thousands per
    directory and they load from the cache several times faster as tuples."""

    callee: str  # identifier for a direct call; the expression text for an indirect one
    line: int
    offset: int
    indirect: bool


@dataclass(frozen=True)
class FunctionDef:
    name: str
    file: str
    start_line: int
    end_line: int
    start_byte: int
    end_byte: int
    body_start_byte: int
    return_type: str
    params_text: str  # "(struct page *page, bool lock)"; split by params()
    static: bool
    annotations: tuple[Annotation, ...]  # sparse lock facts (__acquires, __releases, __must_hold)
    loop_macros: tuple[Annotation, ...]  # macros the dialect pass read as loops (name, arguments, offset)
    calls: tuple[CallSite, ...]
    parse_ok: bool  # no ERROR or MISSING node in the body
    error_line: int | None  # first line of a parse error in the body

    def params(self) -> tuple[Param, ...]:
        return split_params(self.params_text)

    def span_lines(self) -> range:
        return range(self.start_line, self.end_line + 1)


class Initializer(NamedTuple):
    """One designated member of a file-scope struct initializer: `.set_page_dirty = fn`."""

    struct: str  # e.g. "address_space_operations"
    name: str  # the variable, e.g. "swap_aops"
    field: str
    value: str  # the member's expression, as text
    line: int


@dataclass(frozen=True)
class ParsedFile:
    path: str
    content_id: str  # git blob id or content hash: what the cache is keyed by
    profile: str
    size: int
    functions: tuple[FunctionDef, ...]
    macros: tuple[MacroDef, ...]
    config_tested: tuple[str, ...]
    not_analysed: str | None = None  # why the file was not parsed at all
    initializers: tuple[Initializer, ...] = ()
    # bounds reached while reading it ("line N: #if expands to more than ... tokens; taken as
    # false"): the file is parsed, but a branch may have been chosen that the compiler would not
    bounds: tuple[str, ...] = ()
    # the lines the configuration leaves out, and which #if leaves each out
    compiled_out: tuple[CompiledOut, ...] = ()

    def function(self, name: str) -> FunctionDef | None:
        return next((f for f in self.functions if f.name == name), None)

    def function_at(self, line: int) -> FunctionDef | None:
        return next((f for f in self.functions if f.start_line <= line <= f.end_line), None)


_PARAM_NAME = re.compile(r"\(\s*\*+\s*([A-Za-z_]\w*)\s*\)|([A-Za-z_]\w*)\s*(?:\[[^\]]*\]\s*)*$")


@lru_cache(maxsize=16384)  # the walks ask for the same callees' parameters again and again
def split_params(text: str) -> tuple[Param, ...]:
    inner = " ".join(text.strip()[1:-1].split())
    if inner in ("", "void"):
        return ()
    out = []
    depth = 0
    cur = []
    for ch in inner:
        if ch == "," and depth == 0:
            out.append("".join(cur).strip())
            cur = []
            continue
        depth += ch in "([" and 1 or (ch in ")]" and -1 or 0)
        cur.append(ch)
    out.append("".join(cur).strip())
    params = []
    for p in out:
        m = _PARAM_NAME.search(p)
        name = (m.group(1) or m.group(2)) if m else None
        if name and (p.strip() == name or name in ("void", "int", "long", "char", "unsigned")):
            name = None  # a type alone, as in a prototype-style parameter list
        ptype = p if name is None else p[: p.rfind(name)].strip() if m.group(2) else p
        params.append(Param(" ".join(ptype.split()), name))
    return tuple(params)
