"""Scenario files in the style of the kernel's tools/memory-model litmus tests.

    C zap-vs-reclaim-add                 <- name line
    (* free text *)
    { profile = s390; page.flags = anon; page.mapcount = 1; page.key = changed; ... }
    P0(struct page *page) { ...C calling the tree's functions... }
    P1(struct page *page) { ... }
    exists (kernel-bug \\/ livelock)

The thread bodies are parsed with patchlint's C front-end (tree-sitter and the IR
builder); the init block and the exists clause with a small parser.
"""

from __future__ import annotations

import re
from pathlib import Path

from patchlint.cparse.ir import build_body
from patchlint.cparse.parse import parse_tree
from patchlint.errors import PatchlintError
from patchlint.model.state import Obj, Page, Scenario, Space, State
from patchlint.resources import grammars_dir

_THREAD = re.compile(rb"(?m)^(P\d+)\s*\(([^)]*)\)\s*\{")
_TYPED_THREAD = re.compile(rb"(?m)^void (P\d+)\s*\(([^)]*)\)\s*\{")
HAZARDS = ("kernel-bug", "deadlock", "livelock", "lost-dirty", "sleep-in-atomic")


def catalog() -> list[Path]:
    return sorted((grammars_dir() / "scenarios").glob("*.litmus"))


def scenario_path(name: str) -> Path:
    """A scenario file given by path, or by its name in the catalog."""
    path = Path(name)
    if path.is_file():
        return path
    for candidate in catalog():
        if candidate.stem == name or candidate.name == name:
            return candidate
    names = ", ".join(p.stem for p in catalog())
    raise PatchlintError(name, "no such scenario file or catalog scenario", None, f"the catalog has: {names}")


def load(path: str | Path) -> Scenario:
    path = Path(path)
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise PatchlintError(str(path), f"cannot read: {exc.strerror}", None, None) from None
    # catalog scenarios are named the same wherever patchlint is installed: reports stay byte-identical
    name = str(path)
    try:
        name = "grammars/" + str(path.resolve().relative_to(grammars_dir().resolve()))
    except ValueError:
        pass
    return parse(data, name)


def _error(where: str, line: int, msg: str) -> PatchlintError:
    return PatchlintError(where, msg, line, "see grammars/scenarios/README.md for the scenario format")


def parse(data: bytes, where: str = "<scenario>") -> Scenario:
    text = data.decode("utf-8")
    first = text.split("\n", 1)[0].split()
    if len(first) != 2 or first[0] != "C":
        raise _error(where, 1, "the first line must be 'C NAME'")
    name = first[1]
    threads_at = [m for m in _THREAD.finditer(data)]
    if not threads_at:
        raise _error(where, 1, "no thread P0(...) { ... }")
    head = text[:threads_at[0].start()]
    head = re.sub(r"\(\*.*?\*\)", lambda m: " " * len(m.group(0)), head, flags=re.S)
    init_m = re.search(r"\{(.*?)\}", head, re.S)
    init = {}
    if init_m:
        for item in init_m.group(1).split(";"):
            if item.strip():
                k, _, v = item.partition("=")
                init[k.strip()] = v.strip()
    exists_m = re.search(rb"(?m)^exists\s*\((.*)\)\s*$", data)
    exists = tuple(h.strip() for h in re.split(r"\\/", exists_m.group(1).decode())) if exists_m else ()
    for h in exists:
        if h not in HAZARDS:
            raise _error(where, data[:exists_m.start()].count(b"\n") + 1, f"unknown hazard {h!r}")
    # the C part: everything from P0 on, the exists line blanked (lines and offsets kept)
    buf = bytearray(data)
    buf[:threads_at[0].start()] = re.sub(rb"[^\n]", b" ", bytes(buf[:threads_at[0].start()]))
    if exists_m:
        buf[exists_m.start():exists_m.end()] = b" " * (exists_m.end() - exists_m.start())
    # tree-sitter wants a return type: "P0(...)" becomes "void P0(...)" (only columns move)
    buf = bytearray(_THREAD.sub(lambda m: b"void " + m.group(0), bytes(buf)))
    tree = parse_tree(bytes(buf))
    threads = []
    for m in _TYPED_THREAD.finditer(bytes(buf)):
        tname = m.group(1).decode()
        body = build_body(bytes(buf), tree.root_node, m.start(), tname, where, {})
        if body is None:
            raise _error(where, data[:m.start()].count(b"\n") + 1, f"{tname}: not a function body")
        params = tuple(p.strip().split()[-1].lstrip("*") for p in m.group(2).decode().split(",") if p.strip())
        threads.append((tname, body, params))
    state, entry = _initial(init, where)
    # spaces whose operations table the init block names: the tree has no variable for them
    # (a file's address_space lives in its inode), so the interpreter reads a_ops from here
    aops = tuple(sorted((k.split(".")[0], v) for k, v in init.items() if k.endswith(".a_ops")))
    return Scenario(name, init.get("profile", "s390"), state, tuple(threads), exists, entry, where, aops=aops)


def _initial(init: dict[str, str], where: str) -> tuple[State, int]:
    flags = tuple(sorted(f for f in init.get("page.flags", "").split() if f != "anon"))
    anon = "anon" in init.get("page.flags", "").split()
    mapcount = int(init.get("page.mapcount", "0"))
    changed = int(init.get("page.key", "clean") == "changed")
    file_space = init.get("page.mapping", "file_mapping")
    if not file_space.isidentifier():
        raise _error(where, 1, f"page.mapping: {file_space!r} is not an address space name")
    page = Page("page", flags=flags, mapping=Obj("anon", "anon_vma") if anon else Obj("space", file_space),
                index=int(init.get("page.index", "0")), private=int(init.get("page.private", "0")),
                mapcount=mapcount - 1, key_changed=changed, pte=init.get("page.pte", "none"),
                data_dirty=int(changed or "dirty" in flags))
    spaces = {"swapper_space": Space("swapper_space", "swap_aops"), file_space: Space(file_space, None)}
    for k, v in init.items():
        m = re.fullmatch(r"(\w+)\.a_ops", k)
        if m:
            s = spaces.get(m.group(1))
            spaces[m.group(1)] = Space(m.group(1), v, s.radix if s else (), s.tags if s else ())
    for k, v in init.items():
        m = re.fullmatch(r"(\w+)\[(\d+)\]", k)
        if m:
            s = spaces.setdefault(m.group(1), Space(m.group(1), None))
            spaces[s.name] = Space(s.name, s.ops, tuple(sorted(s.radix + ((int(m.group(2)), v),))), s.tags)
    state = State((page,), tuple(spaces[k] for k in sorted(spaces)))
    return state, int(init.get("swap.entry", "0"))
