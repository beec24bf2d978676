"""Configuration profiles (grammars/profiles.toml): arch plus defined macros."""

from __future__ import annotations

import hashlib
import re
import tomllib
from dataclasses import dataclass, replace
from functools import cache

from patchlint.errors import PatchlintError
from patchlint.resources import grammar_file

_GUARD = re.compile(rb"^[ \t]*#[ \t]*ifndef[ \t]+(\w+)[ \t]*\n[ \t]*#[ \t]*define[ \t]+\1\b", re.MULTILINE)
_ARCH_DEFINE = re.compile(rb"^[ \t]*#[ \t]*define[ \t]+([A-Za-z_]\w*)(\()?[ \t]*([^\n]*)", re.MULTILINE)


@dataclass(frozen=True)
class Profile:
    """An architecture and its build: the options the tree's own defconfig and Kconfig give
    (`defconfigs`, the first the tree has; `kconfigs`, read for defaults and selects), then
    the table's `defines` (compiler macros, and what a production build adds) and `remove`,
    then the user's --define (`overrides` names them)."""

    name: str
    arch: str
    defines: tuple[tuple[str, str], ...]
    defconfigs: tuple[str, ...] = ()
    kconfigs: tuple[str, ...] = ()
    remove: tuple[str, ...] = ()
    overrides: tuple[str, ...] = ()

    def define_map(self) -> dict[str, str]:
        return dict(self.defines)

    def fingerprint(self) -> str:
        text = "\n".join([self.name, self.arch, *(f"{k}={v}" for k, v in self.defines), *self.defconfigs,
                          *self.kconfigs, *(f"-{r}" for r in self.remove)])
        return hashlib.sha256(text.encode()).hexdigest()[:16]

    def with_defines(self, extra: dict[str, str]) -> Profile:
        merged = dict(self.defines) | extra
        return replace(self, defines=tuple(sorted(merged.items())),
                       remove=tuple(r for r in self.remove if r not in extra),
                       overrides=tuple(sorted(set(self.overrides) | set(extra))))


@cache
def _table() -> dict:
    return tomllib.loads(grammar_file("profiles.toml").read_text())


def profile_names() -> list[str]:
    return sorted(_table()["profiles"])


def load_profile(name: str | None = None) -> Profile:
    table = _table()
    name = name or table.get("default", "s390")
    if name not in table["profiles"]:
        raise PatchlintError("--profile", f"unknown profile {name!r}", None,
                             f"choose one of {', '.join(profile_names())} (grammars/profiles.toml)")
    entry = table["profiles"][name]
    arch = entry["arch"]
    return Profile(name, arch, tuple(sorted((k, str(v)) for k, v in entry.get("defines", {}).items())),
                   defconfigs=tuple(p.format(arch=arch) for p in entry.get("defconfigs", ())),
                   kconfigs=tuple(p.format(arch=arch) for p in entry.get("kconfigs", ())),
                   remove=tuple(entry.get("remove", ())))


def arch_defines(read, list_files, arch: str) -> dict[str, str]:
    """Names the architecture's own asm headers #define, as feature macros.

    `read(path) -> bytes | None` and `list_files(dir) -> list[str]` come from
    the tree, so this stage needs no tree class.
    """
    out: dict[str, str] = {}
    for path in list_files(f"arch/{arch}/include/asm"):
        if not path.endswith(".h"):
            continue
        data = read(path) or b""
        guards = set(_GUARD.findall(data))  # a header's include guard says nothing about features
        for m in _ARCH_DEFINE.finditer(data):
            if m.group(1) in guards:
                continue
            body = m.group(3).decode("utf-8", "replace").split("/*")[0].strip()
            out.setdefault(m.group(1).decode(), "1" if m.group(2) else body)
    return out
