"""The kernel dialect pass: rewrite kernel idioms tree-sitter-c cannot read,
byte for byte, from the tables in grammars/dialect.toml.

Only macro names, annotations and the type words of type arguments are
replaced (by spaces, or by a keyword of the same length); every statement,
call and argument stays where it was, so the analysis loses nothing and
positions still point into the real file.
"""

from __future__ import annotations

import hashlib
import re
import tomllib
from dataclasses import dataclass, field
from functools import cache
from typing import NamedTuple

from patchlint.cparse.preproc import blank
from patchlint.resources import grammar_file

_TYPE_ARG = re.compile(
    rb"^(\s*)((?:(?:const|volatile|struct|union|enum|unsigned|signed|long|short|int|char)\s+)*)"
    rb"([A-Za-z_]\w*)((?:\s*\*)*\s*(?:const\s*)?)$"
)
_STATEMENT_START = set(b";{}:)")


class Annotation(NamedTuple):
    name: str  # e.g. "__acquires"
    argument: str  # e.g. "&mm->page_table_lock"
    offset: int  # byte offset in the file


@dataclass(frozen=True)
class Dialect:
    lock_facts: frozenset[str]
    brace_loops: bool
    type_args: dict[str, int]
    function_macros: dict[str, str]
    function_macro_re: re.Pattern[bytes]
    kinds: dict[bytes, str]  # table name -> what to do with it
    contains: frozenset[bytes]  # fixed parts of iterator names
    contains_re: re.Pattern[bytes]  # a whole line (one identifier) holding one of them
    decl_prefixes: tuple[bytes, ...]
    fingerprint: str


def _alt(names) -> bytes:
    """An alternation factored as a trie: re tries alternatives one by one at
    every position, so a flat list of a hundred words is a hundred times slower."""
    trie: dict = {}
    for name in names:
        node = trie
        for ch in name.encode():
            node = node.setdefault(ch, {})
        node[None] = True
    return _trie_pattern(trie) if trie else b"(?!)"


def _trie_pattern(node: dict) -> bytes:
    end = None in node
    branches = [re.escape(bytes([ch])) + _trie_pattern(child) for ch, child in sorted(
        (k, v) for k, v in node.items() if k is not None)]
    if not branches:
        return b""
    body = branches[0] if len(branches) == 1 else b"(?:" + b"|".join(branches) + b")"
    return b"(?:" + body + b")?" if end else body


@cache
def load_dialect() -> Dialect:
    path = grammar_file("dialect.toml")
    raw = path.read_bytes()
    table = tomllib.loads(raw.decode())
    ann = table["annotations"]
    it = table["iterators"]
    contains = it.get("name_contains", [])
    fm = table.get("function_macros", {})
    kinds: dict[bytes, str] = {}
    for name in it.get("names", []):
        kinds[name.encode()] = "it"
    for name in table.get("type_arguments", {}):
        kinds[name.encode()] = "ta"
    for name in ann.get("string_prefixes", []):
        kinds[name.encode()] = "sp"
    for name in ann["with_args"]:
        kinds[name.encode()] = "wa"
    for name in ann["words"]:
        kinds[name.encode()] = "w"
    kinds[b"static"] = "dm"
    decl = tuple(p.encode() for p in table.get("declaration_macros", {}).get("name_prefixes", []))

    return Dialect(
        lock_facts=frozenset(ann.get("lock_facts", [])),
        brace_loops=bool(it.get("call_before_brace_is_loop", False)),
        type_args=dict(table.get("type_arguments", {})),
        function_macros=dict(fm),
        function_macro_re=re.compile(rb"^(" + (_alt(fm) or b"\\b\\B") + rb")(\d)\s*\(", re.MULTILINE),
        kinds=kinds,
        contains=frozenset(c.encode() for c in contains),
        contains_re=re.compile(rb"(?m)^\w*(?:" + b"|".join(re.escape(c.encode()) for c in contains) + rb")\w*$"),
        decl_prefixes=decl,
        fingerprint=hashlib.sha256(raw).hexdigest()[:16],
    )


def matching_paren(buf: bytearray | bytes, open_at: int) -> int:
    """Index of the ')' that closes buf[open_at] == '(' (skipping strings), or -1."""
    depth = 0
    i = open_at
    n = len(buf)
    while i < n:
        c = buf[i]
        if c in b"([{":
            depth += 1
        elif c in b")]}":
            depth -= 1
            if depth == 0:
                return i
        elif c == 0x22 or c == 0x27:  # " or '
            i += 1
            while i < n and buf[i] != c:
                i += 2 if buf[i] == 0x5C else 1
        elif c == 0x3B and depth <= 1 and i - open_at > 4096:
            return -1  # a ';' far away at the call's own level: not a balanced call
        i += 1
    return -1


def split_args(buf: bytearray | bytes, open_at: int, close_at: int) -> list[tuple[int, int]]:
    """Byte spans of the top-level arguments between the parens."""
    spans = []
    depth = 0
    start = open_at + 1
    i = start
    while i < close_at:
        c = buf[i]
        if c in b"([{":
            depth += 1
        elif c in b")]}":
            depth -= 1
        elif c == 0x2C and depth == 0:
            spans.append((start, i))
            start = i + 1
        elif c == 0x22 or c == 0x27:
            i += 1
            while i < close_at and buf[i] != c:
                i += 2 if buf[i] == 0x5C else 1
        i += 1
    spans.append((start, close_at))
    return spans


@dataclass
class Rewrite:
    annotations: list[Annotation]
    renames: dict[int, str]  # byte offset of a function name -> the name the kernel gives it
    loops: list[Annotation] = field(default_factory=list)  # macros read as loops, with their arguments


def rewrite(buf: bytearray, dialect: Dialect | None = None) -> Rewrite:
    d = dialect or load_dialect()
    out = Rewrite([], {})
    _function_macros(buf, d, out)
    # `re` is slow at alternations of many names, fast at one literal: list the
    # identifiers the file has, keep those the tables know, and find each one.
    present = set(_IDENTS.findall(buf))
    wanted = sorted(present & d.kinds.keys())
    wanted += sorted(n for n in d.contains_re.findall(b"\n".join(present)) if n not in d.kinds)
    for name in wanted:
        pos = buf.find(name)
        while pos >= 0:
            end = pos + len(name)
            if not (_is_word(buf, pos - 1) or _is_word(buf, end)):
                _one(buf, d, out, pos, end)
            pos = buf.find(name, end)
    if d.brace_loops:
        for m in _CLOSE_BRACE.finditer(buf):
            _brace_loop(buf, m.start(), out.loops)
    out.annotations.sort(key=lambda a: a.offset)
    out.loops.sort(key=lambda a: a.offset)  # names were visited alphabetically; callers bisect
    return out


def _is_word(buf: bytearray, i: int) -> bool:
    return 0 <= i < len(buf) and (buf[i] == 0x5F or 0x30 <= buf[i] <= 0x39 or 0x61 <= (buf[i] | 0x20) <= 0x7A)


def _one(buf: bytearray, d: Dialect, out: Rewrite, start: int, end: int) -> None:
    name_b = bytes(buf[start:end])
    kind = d.kinds.get(name_b)
    if kind is None:
        if any(c in name_b for c in d.contains):
            _loop_head_at(buf, start, end, out.loops)
        return
    nxt = _next_char(buf, end)
    if kind == "w":
        blank(buf, start, end)
    elif kind == "sp":
        if nxt == 0x22:
            blank(buf, start, end)
    elif nxt != 0x28 and kind != "dm":
        return
    elif kind == "wa":
        open_at = buf.index(b"(", end)
        close = matching_paren(buf, open_at)
        if close < 0:
            return
        name = bytes(buf[start:end]).decode()
        if name in d.lock_facts:
            arg = bytes(buf[open_at + 1:close]).decode("utf-8", "replace")
            out.annotations.append(Annotation(name, " ".join(arg.split()), start))
        blank(buf, start, close + 1)
    elif kind == "ta":
        _type_argument(buf, bytes(buf[start:end]).decode(), buf.index(b"(", end), d)
    elif kind == "dm":
        word = _IDENT.match(buf, _skip_space(buf, end))
        if word and bytes(word.group()).startswith(d.decl_prefixes) and _in_body(buf, start):
            blank(buf, start, end)
    elif kind == "it":
        _loop_head(buf, start, end, buf.index(b"(", end), need_brace=False, loops=out.loops)


_IDENT = re.compile(rb"\w*")
_IDENTS = re.compile(rb"[A-Za-z_]\w*")


def _skip_space(buf: bytearray, pos: int) -> int:
    n = len(buf)
    while pos < n and buf[pos] in b" \t\n\r":
        pos += 1
    return pos


_CLOSE_BRACE = re.compile(rb"\)[ \t]*\n?[ \t]*\{")
_KEYWORDS = {b"if", b"for", b"while", b"switch", b"return", b"sizeof", b"do", b"else", b"case", b"typeof",
             b"__typeof__", b"_Generic", b"defined", b"__attribute__", b"asm", b"__asm__", b"alignof"}


def _in_body(buf: bytearray, pos: int) -> bool:
    """Inside a function body, by kernel style: the last column-0 brace line before pos opened one."""
    i = pos
    while True:
        i = max(buf.rfind(b"\n{", 0, i), buf.rfind(b"\n}", 0, i))
        if i < 0:
            return buf[:1] == b"{"
        return buf[i + 1] == 0x7B


def _prev_pos(buf: bytearray, pos: int) -> int:
    """Index of the last non-blank byte before pos, comments skipped; -1 at the start of the file."""
    i = pos - 1
    while i >= 0:
        c = buf[i]
        if c in b" \t\n\r":
            i -= 1
            continue
        if c == 0x2F and i > 0 and buf[i - 1] == 0x2A:  # end of a comment: skip to its start
            j = buf.rfind(b"/*", 0, i - 1)
            if j < 0:
                return i
            i = j - 1
            continue
        return i
    return -1


def _next_char(buf: bytearray, pos: int) -> int:
    n = len(buf)
    while pos < n and buf[pos] in b" \t\n\r":
        pos += 1
    return buf[pos] if pos < n else 0


def _loop_head(buf: bytearray, name_start: int, name_end: int, open_at: int, need_brace: bool,
               loops: list[Annotation]) -> None:
    if name_end - name_start < 5 or bytes(buf[name_start:name_end]) in _KEYWORDS:
        return
    at = _prev_pos(buf, name_start)
    prev = buf[at] if at >= 0 else 0x3B
    if prev not in _STATEMENT_START and not (at >= 3 and buf[at - 3:at + 1] == b"else"):
        return
    close = matching_paren(buf, open_at)
    if close < 0:
        return
    nxt = _next_char(buf, close + 1)
    if nxt == 0x7B or (not need_brace and (chr(nxt).isalpha() or nxt == 0x5F)):
        if not _in_body(buf, name_start):
            return
        # remembered: `scoped_guard(spinlock, &l) { ... }` is a lock scope the lock analysis wants back
        loops.append(Annotation(bytes(buf[name_start:name_end]).decode(),
                                " ".join(bytes(buf[open_at + 1:close]).decode("utf-8", "replace").split()),
                                name_start))
        buf[name_start:name_end] = b"while" + b" " * (name_end - name_start - 5)


def _loop_head_at(buf: bytearray, name_start: int, name_end: int, loops: list[Annotation]) -> None:
    open_at = _skip_space(buf, name_end)
    if open_at < len(buf) and buf[open_at] == 0x28:
        _loop_head(buf, name_start, name_end, open_at, need_brace=False, loops=loops)


def _brace_loop(buf: bytearray, close_at: int, loops: list[Annotation]) -> None:
    # walk back to the '(' that this ')' closes
    depth = 0
    i = close_at
    while i >= 0:
        c = buf[i]
        if c == 0x29:
            depth += 1
        elif c == 0x28:
            depth -= 1
            if depth == 0:
                break
        elif c == 0x3B or (c == 0x7B and depth > 0):
            return
        i -= 1
    if i < 0:
        return
    name_end = i
    while name_end > 0 and buf[name_end - 1] in b" \t\n":
        name_end -= 1
    start = name_end
    while start > 0 and (buf[start - 1] == 0x5F or chr(buf[start - 1]).isalnum()):
        start -= 1
    if start == name_end or chr(buf[start]).isdigit():
        return
    _loop_head(buf, start, name_end, i, need_brace=True, loops=loops)


def _type_argument(buf: bytearray, name: str, open_at: int, d: Dialect) -> None:
    position = d.type_args.get(name)
    if position is None:
        return
    close = matching_paren(buf, open_at)
    if close < 0:
        return
    args = split_args(buf, open_at, close)
    if position >= len(args):
        return
    start, end = args[position]
    tm = _TYPE_ARG.match(bytes(buf[start:end]))
    if not tm:
        return
    words_start = start + len(tm.group(1))
    name_start = words_start + len(tm.group(2))
    blank(buf, words_start, name_start)
    blank(buf, name_start + len(tm.group(3)), end)


def _function_macros(buf: bytearray, d: Dialect, out: Rewrite) -> None:
    """`SYSCALL_DEFINE3(name, t1, a1, ...)` -> `long name(t1 a1, ...)`, same bytes, same lines."""
    for m in d.function_macro_re.finditer(buf):
        open_at = m.end() - 1
        close = matching_paren(buf, open_at)
        if close < 0:
            continue
        args = split_args(buf, open_at, close)
        name_start, name_end = args[0]
        name = bytes(buf[name_start:name_end]).strip().decode()
        if not re.fullmatch(r"[A-Za-z_]\w*", name):
            continue
        fmt = d.function_macros[m.group(1).decode()]
        if len(args) == 1:
            text = f"long {name}(void)".encode()
            span = close + 1 - m.start()
            if len(text) > span or b"\n" in buf[m.start():close]:
                continue
            buf[m.start():close + 1] = text + b" " * (span - len(text))
            out.renames[m.start() + 5] = fmt.format(name)
            continue
        blank(buf, m.start(), open_at + 1)
        buf[m.start():m.start() + 4] = b"long"
        comma = args[0][1]
        buf[comma] = 0x28  # '(' after the name
        for k in range(1, len(args) - 1, 2):
            buf[args[k][1]] = 0x20  # the comma between a type and its name
        stripped = bytes(buf[name_start:name_end])
        out.renames[name_start + (len(stripped) - len(stripped.lstrip()))] = fmt.format(name)
