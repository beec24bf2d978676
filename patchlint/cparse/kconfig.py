"""The configuration options a tree itself says an architecture's build has.

A profile names an architecture; which CONFIG_ options are on, and under which
names (3.x's `CONFIG_CGROUP_MEM_RES_CTLR` is 6.x's `CONFIG_MEMCG`), is the tree's:
its `arch/<arch>/configs/defconfig` (or 3.x's `arch/<arch>/defconfig`), then the
Kconfig defaults that file leaves out (`make savedefconfig` writes only what
differs from them), then what the options that are on `select`.  The profile's
table adds and removes on top (grammars/profiles.toml).

Kconfig is read as far as a defconfig needs it, and the limits are the safe way
round: only the Kconfig files the profile lists are read; a `default`/`def_bool`
counts when its value and condition, and the option's `depends on` (and any
enclosing `if`/`menu ... depends on`), hold for the options known on; an option
with a prompt and no default is on only if the defconfig sets it; a `choice`
without a member set takes its first default that holds.  Numbers and strings
from a defconfig keep their value; `=m` defines `CONFIG_X_MODULE` (as
autoconf.h does), not `CONFIG_X`.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field

PASSES = 8  # rounds of defaults and selects until nothing changes (a Kconfig chain is short)

_SET = re.compile(r"^CONFIG_(\w+)=(.*)$")
_UNSET = re.compile(r"^# CONFIG_(\w+) is not set$")
_TOKEN = re.compile(r'\s*(&&|\|\||!=|<=|>=|[!()=<>]|"[^"]*"|[A-Za-z0-9_]+)')


@dataclass(frozen=True)
class Option:
    """One option that is on, with the define the preprocessor sees and where it came from."""

    name: str  # CONFIG_SWAP, or CONFIG_EXT4_FS_MODULE for a module
    value: str  # "1", or a defconfig's number or string
    source: str  # "arch/s390/configs/defconfig:12", "arch/s390/Kconfig:40 (default)", ...


@dataclass
class _Entry:
    name: str
    file: str
    line: int
    defaults: list[tuple[str, str]] = field(default_factory=list)  # (value expr, condition expr)
    depends: list[str] = field(default_factory=list)
    selects: list[tuple[str, str]] = field(default_factory=list)  # (option, condition)
    choice: int | None = None  # the choice block it belongs to
    kind: str = "bool"  # bool | tristate | int | hex | string: a value default only for the last three


@dataclass
class _Choice:
    defaults: list[tuple[str, str, str, int]] = field(default_factory=list)  # (member, condition, file, line)
    members: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class TreeConfig:
    options: dict[str, Option]  # by define name
    defconfig: str | None  # the file read, if the tree has one

    def defines(self) -> dict[str, str]:
        return {name: o.value for name, o in self.options.items()}


def read_config(read: Callable[[str], bytes | None], defconfigs: list[str], kconfigs: list[str]) -> TreeConfig:
    """The options of the first of `defconfigs` the tree has, completed from `kconfigs`."""
    on: dict[str, str] = {}  # option name (no CONFIG_) -> value
    module: dict[str, str] = {}  # =m options -> source
    sources: dict[str, str] = {}
    off: set[str] = set()
    used = None
    for path in defconfigs:
        data = read(path)
        if data is None:
            continue
        used = path
        for n, raw in enumerate(data.decode("utf-8", "replace").splitlines(), 1):
            line = raw.strip()
            m = _SET.match(line)
            if m:
                name, value = m.group(1), m.group(2)
                if value == "m":
                    module[name] = f"{path}:{n}"
                elif value != "n":
                    on[name] = "1" if value == "y" else value
                    sources[name] = f"{path}:{n}"
                continue
            m = _UNSET.match(line)
            if m:
                off.add(m.group(1))
        break
    entries: dict[str, _Entry] = {}
    choices: list[_Choice] = []
    for path in kconfigs:
        data = read(path)
        if data is not None:
            _parse(path, data.decode("utf-8", "replace"), entries, choices)
    _complete(entries, choices, on, sources, off, module)
    options = {f"CONFIG_{name}": Option(f"CONFIG_{name}", value, sources[name]) for name, value in on.items()}
    for name, where in module.items():
        if name not in on:
            options[f"CONFIG_{name}_MODULE"] = Option(f"CONFIG_{name}_MODULE", "1", where)
    return TreeConfig(dict(sorted(options.items())), used)


def _parse(path: str, text: str, entries: dict[str, _Entry], choices: list[_Choice]) -> None:
    """The config entries of one Kconfig file: defaults, dependencies (with the enclosing `if`
    and `menu` conditions), selects and choice membership."""
    guards: list[tuple[str, str]] = []  # ("if" | "menu", condition) around what follows
    entry: _Entry | None = None
    choice: _Choice | None = None
    menu_open = False  # a `menu` whose `depends on` lines apply to what it contains
    lines = text.splitlines()
    i = 0
    while i < len(lines):
        n = i + 1
        line = lines[i].split("#", 1)[0].rstrip() if not lines[i].lstrip().startswith("help") else lines[i]
        i += 1
        while line.endswith("\\") and i < len(lines):  # a continued line
            line = line[:-1] + " " + lines[i].strip()
            i += 1
        word, _, rest = line.strip().partition(" ")
        rest = rest.strip()
        if word in ("help", "---help---"):  # help text: indented lines until the indentation drops
            indent = None
            while i < len(lines):
                text_line = lines[i]
                if text_line.strip():
                    width = len(text_line) - len(text_line.lstrip())
                    if indent is None:
                        indent = width
                    elif width < indent:
                        break
                i += 1
            continue
        if word in ("config", "menuconfig"):
            entry = entries.setdefault(rest, _Entry(rest, path, n))
            entry.depends.extend(cond for _, cond in guards)
            if choice is not None:
                entry.choice = len(choices) - 1
                choice.members.append(rest)
            menu_open = False
            continue
        if word == "choice":
            choice = _Choice()
            choices.append(choice)
            entry = None
            continue
        if word == "endchoice":
            choice, entry = None, None
            continue
        if word == "if":
            guards.append(("if", rest))
            entry = None
            continue
        if word == "menu":
            guards.append(("menu", "y"))
            entry, menu_open = None, True
            continue
        if word in ("endif", "endmenu"):
            kind = "if" if word == "endif" else "menu"
            for k in range(len(guards) - 1, -1, -1):
                if guards[k][0] == kind:
                    del guards[k]
                    break
            entry, menu_open = None, False
            continue
        if word in ("source", "comment", "mainmenu"):
            entry, menu_open = None, False
            continue
        if word == "depends" and rest.startswith("on "):
            cond = rest[3:].strip()
            if entry is not None:
                entry.depends.append(cond)
            elif menu_open and guards:
                guards[-1] = ("menu", f"({guards[-1][1]}) && ({cond})")
            continue
        if word in ("bool", "tristate", "int", "hex", "string") and entry is not None:
            entry.kind = word
            continue
        value, cond = _split_if(rest)
        if word in ("def_bool", "def_tristate") and entry is not None:
            entry.defaults.append((value, cond))
        elif word == "default" and entry is not None:
            entry.defaults.append((value, cond))
        elif word == "default" and choice is not None and entry is None:
            choice.defaults.append((value, cond, path, n))
        elif word == "select" and entry is not None:
            entry.selects.append((value, cond))


def _split_if(text: str) -> tuple[str, str]:
    head, sep, cond = text.partition(" if ")
    return head.strip(), cond.strip() if sep else "y"


def _complete(entries: dict[str, _Entry], choices: list[_Choice], on: dict[str, str], sources: dict[str, str],
              off: set[str], module: dict[str, str]) -> None:
    def holds(expr: str) -> bool:
        return _evaluate(expr, on, module) != "n"

    for _ in range(PASSES):
        changed = False
        for e in entries.values():
            if e.name in on or e.name in off or e.name in module or e.choice is not None:
                continue
            if not all(holds(d) for d in e.depends):
                continue
            for value, cond in e.defaults:
                if holds(cond):
                    if e.kind in ("int", "hex", "string"):
                        on[e.name] = _literal(value, on, e.kind)
                        sources[e.name] = f"{e.file}:{e.line} (Kconfig default)"
                        changed = True
                    elif _evaluate(value, on, module) == "y":
                        on[e.name] = "1"
                        sources[e.name] = f"{e.file}:{e.line} (Kconfig default)"
                        changed = True
                    break  # the first default whose condition holds is the value
        for choice in choices:
            if any(m in on for m in choice.members):
                continue
            for member, cond, path, line in choice.defaults:
                entry = entries.get(member)
                if holds(cond) and entry is not None and all(holds(d) for d in entry.depends):
                    on[member] = "1"
                    sources[member] = f"{path}:{line} (Kconfig choice default)"
                    changed = True
                    break
        for e in list(entries.values()):
            if e.name not in on:
                continue
            for target, cond in e.selects:
                if target not in on and holds(cond):
                    on[target] = "1"
                    sources[target] = f"{e.file}:{e.line} (selected by CONFIG_{e.name})"
                    changed = True
        if not changed:
            break


def _literal(value: str, on: dict[str, str], kind: str) -> str:
    """An int, hex or string default as autoconf.h writes it (a number bare, a string quoted);
    a default naming another option takes that option's value."""
    if value in on:
        return on[value]
    if kind != "string" and value.startswith('"') and value.endswith('"'):
        return value[1:-1]
    return value


def _number(text: str) -> int | None:
    try:
        return int(text, 0)
    except ValueError:
        return None


def _evaluate(expr: str, on: dict[str, str], module: dict[str, str]) -> str:
    """A Kconfig expression's tristate value ("y", "m", "n") for the options known so far;
    an option not known to be on is "n", so an unread dependency keeps a default off."""
    tokens = _TOKEN.findall(expr)
    pos = 0

    def value_of(tok: str) -> str:
        if tok in ("y", "n", "m"):
            return tok
        if tok.startswith('"'):
            return tok.strip('"')
        if tok in on:
            return "y" if on[tok] == "1" else on[tok]
        if tok in module:
            return "m"
        return tok if _number(tok) is not None else "n"

    def primary() -> str:
        nonlocal pos
        if pos >= len(tokens):
            return "n"
        tok = tokens[pos]
        pos += 1
        if tok == "!":
            v = primary()
            return {"y": "n", "n": "y"}.get(v, "m")
        if tok == "(":
            v = disjunction()
            if pos < len(tokens) and tokens[pos] == ")":
                pos += 1
            return v
        left = value_of(tok)
        if pos < len(tokens) and tokens[pos] in ("=", "!=", "<", "<=", ">", ">="):
            op = tokens[pos]
            pos += 1
            right = value_of(tokens[pos]) if pos < len(tokens) else "n"
            pos += 1
            if op in ("=", "!="):
                return "y" if (left == right) == (op == "=") else "n"
            a, b = _number(left), _number(right)
            if a is None or b is None:
                return "n"
            return "y" if {"<": a < b, "<=": a <= b, ">": a > b, ">=": a >= b}[op] else "n"
        return left

    def conjunction() -> str:
        nonlocal pos
        v = primary()
        while pos < len(tokens) and tokens[pos] == "&&":
            pos += 1
            w = primary()
            v = min(v, w, key=_RANK.__getitem__) if v in _RANK and w in _RANK else "n"
        return v

    def disjunction() -> str:
        nonlocal pos
        v = conjunction()
        while pos < len(tokens) and tokens[pos] == "||":
            pos += 1
            w = conjunction()
            v = max(v, w, key=_RANK.__getitem__) if v in _RANK and w in _RANK else ("y" if "y" in (v, w) else "n")
        return v

    try:
        result = disjunction()
    except IndexError:
        return "n"
    return result if result in _RANK else ("n" if result in ("", "0") else "y")


_RANK = {"n": 0, "m": 1, "y": 2}
