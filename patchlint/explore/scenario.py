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

import hashlib
import re
from pathlib import Path

from patchlint.cparse.snippets import function_bodies
from patchlint.errors import PatchlintError
from patchlint.explore.catalog import catalog, scenario_path  # noqa: F401 - where they always were
from patchlint.model.state import FLAGS, Obj, Page, Scenario, Space, State
from patchlint.resources import grammars_dir

_THREAD = re.compile(rb"(?m)^(P\d+)\s*\(([^)]*)\)\s*\{")
_TYPED_THREAD = re.compile(rb"(?m)^void (P\d+)\s*\(([^)]*)\)\s*\{")
def _hazard_names() -> tuple[str, ...]:
    from patchlint.model.hazards import hazards

    return tuple(hazards())


def load_catalog(paths: list[Path]) -> list[Scenario]:
    """Every scenario of `paths`, each name once: a user's file cannot shadow another silently."""
    out: list[Scenario] = []
    seen: dict[str, str] = {}
    for path in paths:
        sc = load(path)
        if sc.name in seen:
            raise _error(str(path), 1, f"scenario {sc.name} is already defined by {seen[sc.name]}")
        seen[sc.name] = sc.file
        out.append(sc)
    return out


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
    # comments blanked with their newlines kept, so offsets still give lines
    head = re.sub(r"\(\*.*?\*\)", lambda m: re.sub(r"[^\n]", " ", m.group(0)), head, flags=re.S)
    init_m = re.search(r"\{(.*?)\}", head, re.S)
    init: dict[str, str] = {}
    lines: dict[str, int] = {}
    if init_m:
        offset = init_m.start(1)
        for item in init_m.group(1).split(";"):
            line = head[:offset + len(item) - len(item.lstrip())].count("\n") + 1
            offset += len(item) + 1
            if not item.strip():
                continue
            k, eq, v = item.partition("=")
            k, v = k.strip(), v.strip()
            if not eq or not k or not v:
                raise _error(where, line, f"init item {item.strip()!r} is not KEY = VALUE")
            _check_init(k, v, where, line)
            init[k] = v
            lines[k] = line
    exists_m = re.search(rb"(?m)^exists\s*\((.*)\)\s*$", data)
    exists = tuple(h.strip() for h in re.split(r"\\/", exists_m.group(1).decode())) if exists_m else ()
    for h in exists:
        if h not in _hazard_names():
            raise _error(where, data[:exists_m.start()].count(b"\n") + 1, f"unknown hazard {h!r}")
    # the C part: everything from P0 on, the exists line blanked (lines and offsets kept)
    buf = bytearray(data)
    buf[:threads_at[0].start()] = re.sub(rb"[^\n]", b" ", bytes(buf[:threads_at[0].start()]))
    if exists_m:
        buf[exists_m.start():exists_m.end()] = b" " * (exists_m.end() - exists_m.start())
    # tree-sitter wants a return type: "P0(...)" becomes "void P0(...)" (only columns move)
    buf = bytearray(_THREAD.sub(lambda m: b"void " + m.group(0), bytes(buf)))
    found = list(_TYPED_THREAD.finditer(bytes(buf)))
    parsed = function_bodies(bytes(buf), {m.start(): m.group(1).decode() for m in found}, where)
    if parsed.error_line is not None:
        raise _error(where, parsed.error_line, "C syntax error in a thread body")
    threads = []
    for m in found:
        tname = m.group(1).decode()
        body = parsed.bodies[m.start()]
        if body is None:
            raise _error(where, data[:m.start()].count(b"\n") + 1, f"{tname}: not a function body")
        params = tuple(p.strip().split()[-1].lstrip("*") for p in m.group(2).decode().split(",") if p.strip())
        threads.append((tname, body, params))
    state, entry = _initial(init, where)
    # spaces whose operations table the init block names: the tree has no variable for them
    # (a file's address_space lives in its inode), so the interpreter reads a_ops from here
    aops = tuple(sorted((k.split(".")[0], v) for k, v in init.items() if k.endswith(".a_ops")))
    return Scenario(name, init.get("profile", "s390"), state, tuple(threads), exists, entry, where, aops=aops,
                    digest=hashlib.sha256(data).hexdigest(), kernels=_kernels(init.get("kernels")))


_VERSION = r"(\d+)\.(\d+)"
_KERNELS = re.compile(rf"(?:{_VERSION})?\.\.(?:{_VERSION})?")


def _kernels(text: str | None) -> tuple[tuple[int, int] | None, tuple[int, int] | None]:
    """`kernels = 3.0..5.15;` (either end may be left out): the versions the threads are written for."""
    m = _KERNELS.fullmatch(text or "..")
    assert m is not None  # _check_init said so
    low = (int(m.group(1)), int(m.group(2))) if m.group(1) else None
    high = (int(m.group(3)), int(m.group(4))) if m.group(3) else None
    return low, high


def tree_version(index) -> tuple[int, int] | None:
    """VERSION.PATCHLEVEL from the tree's top Makefile; None when it does not say."""
    data = index.read("Makefile") or b""
    v = re.search(rb"(?m)^VERSION\s*=\s*(\d+)\s*$", data)
    p = re.search(rb"(?m)^PATCHLEVEL\s*=\s*(\d+)\s*$", data)
    return (int(v.group(1)), int(p.group(1))) if v and p else None


def applies(sc: Scenario, index) -> str | None:
    """None when the scenario can run on this tree, else why not: the tree's version is outside
    its `kernels`, or a function its threads call is neither in the tree nor known to the model
    (6.x has no reuse_swap_page())."""
    from patchlint.explore.series import thread_calls
    from patchlint.model import primitives as P

    low, high = sc.kernels
    version = tree_version(index) if (low or high) else None
    if version is not None and ((low and version < low) or (high and version > high)):
        return (f"it is written for kernels {show_kernels(sc.kernels)} and the tree is "
                f"{version[0]}.{version[1]}")
    missing = sorted(n for n in thread_calls(sc) if P.lookup(n) is None and n not in P.ASSERTS and
                     n not in P.CHOICES and not index.resolve(n))
    if missing:
        return f"the tree has no {', '.join(missing)}, which its threads call"
    return None


def show_kernels(kernels: tuple) -> str:
    low, high = kernels
    return f"{'.'.join(map(str, low)) if low else ''}..{'.'.join(map(str, high)) if high else ''}"


_INT_KEYS = ("page.mapcount", "page.private", "page.index", "swap.entry")
_CHOICES = {"page.pte": ("present", "none", "swap"), "page.key": ("changed", "clean")}


def _check_init(key: str, value: str, where: str, line: int) -> None:
    """An init item the model knows, with a value of the right shape, or an error at its line."""
    if re.fullmatch(r"\w+\[\d+\]", key):
        if value != "page":
            raise _error(where, line, f"{key}: only the scenario's page can be entered (= page)")
    elif key in _INT_KEYS:
        if re.fullmatch(r"-?\d+", value) is None:
            raise _error(where, line, f"{key}: {value!r} is not an integer")
    elif key == "page.flags":
        unknown = [f for f in value.split() if f not in FLAGS]
        if unknown:
            raise _error(where, line, f"page.flags: unknown flag {unknown[0]!r} (known: {' '.join(FLAGS)})")
    elif key in _CHOICES:
        if value not in _CHOICES[key]:
            raise _error(where, line, f"{key}: {value!r} is not one of {', '.join(_CHOICES[key])}")
    elif key == "kernels":
        if _KERNELS.fullmatch(value) is None:
            raise _error(where, line, f"kernels: {value!r} is not a range of versions such as 3.0..5.15 or 5.16..")
    elif key in ("profile", "page.mapping") or re.fullmatch(r"\w+\.a_ops", key):
        if not value.isidentifier():
            raise _error(where, line, f"{key}: {value!r} is not a name")
    else:
        raise _error(where, line, f"unknown init key {key!r}")


def _initial(init: dict[str, str], where: str) -> tuple[State, int]:
    flags = tuple(sorted(f for f in init.get("page.flags", "").split() if f != "anon"))
    anon = "anon" in init.get("page.flags", "").split()
    mapcount = int(init.get("page.mapcount", "0"))
    changed = int(init.get("page.key", "clean") == "changed")
    file_space = init.get("page.mapping", "file_mapping")
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
