"""Functions of a tree, found without parsing the tree: ask git grep which
files name a function, parse only those (through the summary cache).

An overlay of post-image files (a series applied in memory) takes the place
of the tree's files, so the same index answers for the pre- and post-image.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field, replace
from fnmatch import fnmatch

from patchlint.cparse.cache import SummaryCache
from patchlint.cparse.defs import FunctionDef, ParsedFile
from patchlint.cparse.dialect import load_dialect
from patchlint.cparse.ir import Body, build_body
from patchlint.cparse.parse import content_id, parse_source, parse_tree, prepare
from patchlint.cparse.preproc import MacroDef
from patchlint.cparse.profile import Profile, arch_defines
from patchlint.source.tree import Tree

C_GLOBS = ("*.c", "*.h")


@dataclass(frozen=True)
class Unparsed:
    path: str
    reason: str


@dataclass
class FunctionIndex:
    tree: Tree
    profile: Profile
    cache: SummaryCache = field(default_factory=SummaryCache)
    overlay: dict[str, bytes | None] = field(default_factory=dict)  # post-image files; None = deleted
    progress: Callable[[str], None] | None = None
    _parsed: dict[str, ParsedFile | None] = field(default_factory=dict, repr=False)
    _defines: dict[str, str] | None = field(default=None, repr=False)
    _key_suffix: str | None = field(default=None, repr=False)
    unparsed: list[Unparsed] = field(default_factory=list)
    _trees: dict[str, tuple] = field(default_factory=dict, repr=False)
    _bodies: dict[tuple, Body | None] = field(default_factory=dict, repr=False)

    # -- configuration -------------------------------------------------------------------------
    def defines(self) -> dict[str, str]:
        """The profile's macros plus the feature macros of the tree's own arch headers."""
        if self._defines is None:
            arch = self._arch_defines()
            self._defines = arch | self.profile.define_map()
            text = "\n".join(f"{k}={v}" for k, v in sorted(self._defines.items()))
            digest = hashlib.sha256((text + load_dialect().fingerprint).encode()).hexdigest()[:16]
            self._key_suffix = f"{self.profile.name}-{digest}"
        return self._defines

    def _arch_defines(self) -> dict[str, str]:
        """Cached by the stamps of the arch headers, which are read only when one changed."""
        headers = [p for p in self.tree.list_files(f"arch/{self.profile.arch}/include/asm") if p.endswith(".h")]
        stamps = "\n".join(f"{p}={self.tree.stamp(p)}" for p in headers if p not in self.overlay)
        overlaid = "\n".join(f"{p}={content_id(d)}" for p, d in sorted(self.overlay.items())
                              if d is not None and p.startswith(f"arch/{self.profile.arch}/include/asm/"))
        key = "arch-" + hashlib.sha256(f"{self.profile.arch}\n{stamps}\n{overlaid}".encode()).hexdigest()
        found = self.cache.get(key, dict, counted=False)
        if found is None:
            found = arch_defines(self.read, self.tree.list_files, self.profile.arch)
            self.cache.put(key, found)
        return found

    def read(self, path: str) -> bytes | None:
        if path in self.overlay:
            return self.overlay[path]
        return self.tree.read(path)

    # -- files ---------------------------------------------------------------------------------
    def parsed(self, path: str) -> ParsedFile | None:
        """The summary of one file, from memory, the cache, or a parse; None if absent."""
        if path in self._parsed:
            return self._parsed[path]
        defines = self.defines()
        data = None
        cid = None if path in self.overlay else self.tree.content_id(path)
        if cid is None:
            data = self.read(path)
            if data is None:
                self._parsed[path] = None
                return None
            cid = content_id(data)
        key = f"{cid}-{self._key_suffix}"
        result = self.cache.get(key)
        if result is not None and result.path != path:
            result = _relocated(result, path)
        if result is None:
            if data is None:
                data = self.read(path)
            if data is None:
                self._parsed[path] = None
                return None
            if self.progress:
                self.progress(path)
            try:
                result = parse_source(path, data, self.profile, defines)
            except (RecursionError, MemoryError, ValueError) as exc:
                result = ParsedFile(path, cid, self.profile.name, len(data), (), (), (),
                                    f"front-end failure: {exc.__class__.__name__}")
            self.cache.put(key, result)
        if result.not_analysed:
            self.unparsed.append(Unparsed(path, result.not_analysed))
        self._parsed[path] = result
        return result

    def files_naming(self, word: str, globs: tuple[str, ...] = C_GLOBS) -> list[str]:
        """Files whose text holds `word` as a whole word: git grep on the tree, a scan of the overlay."""
        hits = {path for path, _, _ in self.tree.grep(word, globs) if path not in self.overlay}
        own_arch = f"arch/{self.profile.arch}/"
        hits = {p for p in hits if not p.startswith("arch/") or p.startswith(own_arch)}
        rx = re.compile(rb"\b" + re.escape(word.encode()) + rb"\b")
        for path, data in self.overlay.items():
            if data is not None and _glob_match(path, globs) and rx.search(data) and (
                    not path.startswith("arch/") or path.startswith(own_arch)):
                hits.add(path)
        return sorted(hits)

    # -- questions -----------------------------------------------------------------------------
    def definitions(self, name: str) -> list[FunctionDef]:
        out = []
        for path in self.files_naming(name):
            parsed = self.parsed(path)
            if parsed is not None:
                out.extend(f for f in parsed.functions if f.name == name)
        return out

    def callers(self, name: str) -> list[tuple[FunctionDef, int]]:
        """(caller, line of the call) for every direct call of `name`."""
        out = []
        for path in self.files_naming(name):
            parsed = self.parsed(path)
            if parsed is None:
                continue
            for f in parsed.functions:
                out.extend((f, c.line) for c in f.calls if c.callee == name)
        return out

    def macro(self, name: str) -> list[MacroDef]:
        """#define's of `name` that the profile's #if selection keeps, in files naming it."""
        out = []
        for path in self.files_naming(name, ("*.h", "*.c")):
            parsed = self.parsed(path)
            if parsed is not None:
                out.extend(m for m in parsed.macros if m.name == name)
        return out

    def resolve(self, name: str) -> list[FunctionDef | MacroDef]:
        """What `name` means for this profile: function definitions and macros, arch headers first."""
        arch_dir = f"arch/{self.profile.arch}/"
        found: list[FunctionDef | MacroDef] = [*self.definitions(name), *self.macro(name)]
        return sorted(found, key=lambda d: (not d.file.startswith(arch_dir), d.file))

    def body(self, fn: FunctionDef) -> Body | None:
        """The IR of a function's body, built on demand from the same bytes as its summary."""
        key = (fn.file, fn.start_byte, fn.name)
        if key in self._bodies:
            return self._bodies[key]
        tree = self._trees.get(fn.file)
        if tree is None:
            data = self.read(fn.file)
            if data is None:
                return None
            buf, _, _ = prepare(data, self.defines())
            tree = (bytes(buf), parse_tree(buf))
            if len(self._trees) > 32:  # keep memory bounded on big call graphs
                self._trees.pop(next(iter(self._trees)))
            self._trees[fn.file] = tree
        buf, parsed = tree
        result = build_body(buf, parsed.root_node, fn.start_byte, fn.name, fn.file,
                            {m.offset: m.name for m in fn.loop_macros})
        self._bodies[key] = result
        return result

    def parse_paths(self, paths: Iterable[str]) -> list[ParsedFile]:
        out = []
        for p in paths:
            parsed = self.parsed(p)
            if parsed is not None:
                out.append(parsed)
        return out


def _relocated(parsed: ParsedFile, path: str) -> ParsedFile:
    """The same content cached under another path (a copy or rename): name the new path."""
    return replace(parsed, path=path, functions=tuple(replace(f, file=path) for f in parsed.functions))


def _glob_match(path: str, globs: tuple[str, ...]) -> bool:
    return any(fnmatch(path.rsplit("/", 1)[-1], g) for g in globs)
