"""Functions of a tree, found without parsing the tree: ask git grep which
files name a function, parse only those (through the summary cache).

An overlay of post-image files (a series applied in memory) takes the place
of the tree's files, so the same index answers for the pre- and post-image.
"""

from __future__ import annotations

import bisect
import hashlib
import operator
import pickle
import re
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field, replace
from fnmatch import fnmatch
from functools import lru_cache
from itertools import accumulate
from typing import TYPE_CHECKING

from patchlint.cparse.cache import SummaryCache
from patchlint.cparse.defs import FunctionDef, ParsedFile
from patchlint.cparse.dialect import load_dialect
from patchlint.cparse.kconfig import TreeConfig, read_config
from patchlint.cparse.parse import content_id, parse_source, parse_tree, prepare
from patchlint.cparse.preproc import MacroDef
from patchlint.cparse.profile import Profile, arch_defines
from patchlint.source.tree import Tree
from patchlint.stamps import code_digest

if TYPE_CHECKING:
    from patchlint.cparse.ir import Body

C_GLOBS = ("*.c", "*.h")
# the name a definition line defines: `#define NAME`, else the last identifier before "("
_DEFINED_NAME = re.compile(r"^\s*#\s*define\s+([A-Za-z_]\w*)|([A-Za-z_]\w*)\s*(?:\(|$)")
_DEFINITION_LINE = re.compile(r"^\s*#\s*define\s+([A-Za-z_]\w*)|^(?:[A-Za-z_][^;{}\n]*?\W)?([A-Za-z_]\w*)\s*\(",
                              re.MULTILINE)
_INITIALIZED_VALUE = re.compile(r"^\s*\.([A-Za-z_]\w*)\s*=\s*&?([A-Za-z_]\w*)")


class _LazyIndex:
    """name -> files, with files stored once and looked up by number."""

    def __init__(self, files: list[str], names: dict[str, tuple[int, ...]]):
        self.files = files
        self.names = names

    def get(self, name: str, default=()) -> list[str]:
        ids = self.names.get(name)
        return [self.files[i] for i in ids] if ids else list(default)


@dataclass(frozen=True)
class Unparsed:
    """A file the index could not read (or, `partly`, read past a bound) when asked for it."""

    path: str
    reason: str
    partly: bool = False


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
    _grep_memo: dict[tuple, list[str]] = field(default_factory=dict, repr=False)
    _defs_index: _LazyIndex | None = field(default=None, repr=False)
    _overlay_defs: dict[str, frozenset[str]] = field(default_factory=dict, repr=False)
    _overlay_view: _OverlayView | None = field(default=None, repr=False)
    _ops_values: dict[str, list[tuple[str, str]]] | None = field(default=None, repr=False)
    _ops_memo: dict[str, list[str]] = field(default_factory=dict, repr=False)
    _tree_config: TreeConfig | None = field(default=None, repr=False)
    # what a later stage works out from this index alone, by stage ("model": the model's TreeMemo):
    # it lives as long as the index, and the tree state it describes
    memos: dict[str, object] = field(default_factory=dict, repr=False, compare=False)

    # -- configuration -------------------------------------------------------------------------
    def defines(self) -> dict[str, str]:
        """The feature macros of the tree's own arch headers, the options its defconfig and
        Kconfig give the profile's arch, then the profile's table and the user's defines."""
        if self._defines is None:
            arch = self._arch_defines()
            removed = set(self.profile.remove)
            tree = {k: v for k, v in self.tree_config().defines().items() if k not in removed}
            self._defines = arch | tree | self.profile.define_map()
            text = "\n".join(f"{k}={v}" for k, v in sorted(self._defines.items()))
            digest = hashlib.sha256((text + load_dialect().fingerprint).encode()).hexdigest()[:16]
            self._key_suffix = f"{self.profile.name}-{digest}"
        return self._defines

    def configuration(self) -> str:
        """What, besides a file's bytes, decides what its parse means: the profile and its macros,
        and the dialect table; part of every cache key built from parses."""
        self.defines()
        assert self._key_suffix is not None
        return self._key_suffix

    def state_key(self, kind: str, *material: object) -> str | None:
        """The cache key of something computed from this tree state alone (static findings, a
        scenario's replay, a finding's verdict): the tree's identity, the overlay's bytes, the
        configuration, `material` and patchlint's own code.  None when the tree cannot be
        stamped or nothing is kept on disk."""
        ident = self.tree.identity()
        if ident is None or self.cache.directory is None:
            return None
        whole = (ident, overlay_digest(self.overlay), self.configuration(), *material, code_digest())
        return f"{kind}-" + hashlib.sha256(repr(whole).encode()).hexdigest()

    def config_source(self, name: str) -> str | None:
        """Where a macro's value comes from, or None when it is off (undefined)."""
        if name in self.profile.overrides:
            return "--define or the config file's defines"
        if name in self.profile.define_map():
            return f"profile {self.profile.name} (grammars/profiles.toml)"
        if name in self.profile.remove:
            return None
        option = self.tree_config().options.get(name)
        if option is not None:
            return option.source
        if name in self._arch_defines():
            return f"arch/{self.profile.arch}/include/asm (a feature macro)"
        return None

    def tree_config(self) -> TreeConfig:
        """The options the tree's defconfig and Kconfig files (the profile names them) give its
        build, each with where it came from; cached by those files' stamps."""
        if self._tree_config is None:
            paths = (*self.profile.defconfigs, *self.profile.kconfigs)
            stamps = self.tree.identity()
            if stamps is None:
                stamps = "\n".join(f"{p}={self.tree.stamp(p)}" for p in paths if p not in self.overlay)
            overlaid = "\n".join(f"{p}={content_id(d) if d is not None else '-'}" for p in paths if p in self.overlay
                                  for d in (self.overlay[p],))
            key = "kconfig-" + hashlib.sha256(repr((paths, stamps, overlaid, code_digest())).encode()).hexdigest()
            found = self.cache.get(key, TreeConfig, counted=False)
            if found is None:
                found = read_config(self.read, list(self.profile.defconfigs), list(self.profile.kconfigs))
                self.cache.put(key, found)
            self._tree_config = found
        return self._tree_config

    def _arch_defines(self) -> dict[str, str]:
        """Cached by the stamps of the arch headers (or the tree's identity, which covers them),
        which are read only when one changed."""
        stamps = self.tree.identity()
        if stamps is None:
            headers = [p for p in self.tree.list_files(f"arch/{self.profile.arch}/include/asm") if p.endswith(".h")]
            stamps = "\n".join(f"{p}={self.tree.stamp(p)}" for p in headers if p not in self.overlay)
        # a header the overlay deletes counts as much as one it changes
        prefix = f"arch/{self.profile.arch}/include/asm/"
        overlaid = "\n".join(f"{p}={content_id(d) if d is not None else '-'}"
                              for p in self._view().arch_paths if p.startswith(prefix)
                              for d in (self.overlay[p],))
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

    def _view(self) -> _OverlayView:
        """What the questions below ask of the overlay, worked out once per overlay."""
        if self._overlay_view is None:
            self._overlay_view = overlay_view(self.overlay)
        return self._overlay_view

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
        result = self.cache.memory.get(key) or self.cache.get(key)
        if result is not None:
            self.cache.memory[key] = result
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
            self.cache.memory[key] = result
        if result.not_analysed:
            self.unparsed.append(Unparsed(path, result.not_analysed))
        elif result.bounds:
            self.unparsed.append(Unparsed(path, "; ".join(result.bounds), partly=True))
        self._parsed[path] = result
        return result

    def files_naming(self, word: str, globs: tuple[str, ...] = C_GLOBS) -> list[str]:
        """Files whose text holds `word` as a whole word: git grep on the tree, a scan of the overlay."""
        return self.files_naming_any([word], globs)

    # -- questions -----------------------------------------------------------------------------
    def _definition_files(self, name: str) -> list[str]:
        """Files that may define `name`, from a tree-wide index built by one grep and cached."""
        if self._defs_index is None:
            # "defs2": prototypes (`...);` on one line) left out, so a lookup does not parse
            # every header that declares a function before the file that defines it
            self._defs_index = self._tree_index("defs2", self.tree.definition_lines, _DEFINED_NAME,
                                                keep=_not_a_prototype)
            self._overlay_defs = self._view().defs
        own_arch = f"arch/{self.profile.arch}/"
        hits = {p for p in self._defs_index.get(name, []) if p not in self.overlay and (
            not p.startswith("arch/") or p.startswith(own_arch))}
        hits |= self._overlay_defs.get(name, set())
        return sorted(hits)

    def _tree_index(self, kind: str, lines, pattern, name_of=None, keep=None) -> _LazyIndex:
        """name -> files, from one grep over the tree, cached by the tree's identity (on disk, and
        in the run's cache for the other indexes of this run: a series' before and after states
        share it)."""
        identity = self.tree.identity()
        key = f"{kind}-{identity}"
        kept = self.cache.tree_indexes.get(key) if identity else None
        if isinstance(kept, _LazyIndex):
            return kept
        stored = self.cache.get(key, tuple, counted=False) if identity else None
        if stored is None:
            found: dict[str, set[str]] = {}
            for path, _, text in lines(C_GLOBS):
                if keep is not None and not keep(text):
                    continue
                m = pattern.search(text)
                if m:
                    name = name_of(m) if name_of is not None else next(g for g in m.groups() if g)
                    found.setdefault(name, set()).add(path)
            files = sorted({p for v in found.values() for p in v})
            number = {p: i for i, p in enumerate(files)}
            # compact on disk: file names once, names map to their indexes
            stored = (files, {k: tuple(number[p] for p in sorted(v)) for k, v in found.items()})
            if identity:
                self.cache.put(key, stored)
        table = _LazyIndex(*stored)
        if identity:
            self.cache.tree_indexes[key] = table
        return table

    def _ops_table(self) -> dict[str, list[tuple[str, str]]]:
        """member -> [(name it is set to, file)], from the tree's initializer lines."""
        if self._ops_values is None:
            table = self._tree_index("opsv", self.tree.initializer_lines, _INITIALIZED_VALUE,
                                     name_of=lambda m: f"{m.group(1)}={m.group(2)}")
            by_member: dict[str, list[tuple[str, str]]] = {}
            for name, ids in table.names.items():
                field_name, value = name.split("=", 1)
                by_member.setdefault(field_name, []).extend((value, table.files[i]) for i in ids)
            self._ops_values = by_member
        return self._ops_values

    def ops_targets(self, member: str) -> list[str]:
        """Names designated initializers put in struct member `member` (`.set_page_dirty = f,`),
        file-scope tables and local ones alike, read from the initializer lines of a tree-wide
        index (and the overlay's text): no file is parsed for it.  Names that are not functions
        resolve to nothing later."""
        if member in self._ops_memo:
            return list(self._ops_memo[member])
        names = {value for value, path in self._ops_table().get(member, ()) if path not in self.overlay}
        line = re.compile(rb"^[ \t]*\." + re.escape(member.encode())
                          + rb"[ \t]*=[ \t]*&?([A-Za-z_]\w*)[ \t]*,?[ \t]*$", re.MULTILINE)
        names.update(m.group(1).decode() for _, m in self._view().finditer(line))
        self._ops_memo[member] = sorted(names)
        return list(self._ops_memo[member])

    def definitions(self, name: str) -> list[FunctionDef]:
        out = []
        for path in self._definition_files(name):
            parsed = self.parsed(path)
            if parsed is not None:
                out.extend(f for f in parsed.functions if f.name == name)
        return out

    def definition(self, name: str, near: str | None = None) -> FunctionDef | None:
        """The definition a call of `name` from file `near` reaches, parsing as few files as
        may be: one in `near` itself, else the first (arch headers sort first) in a header or
        not static; a static function of another .c file only when there is nothing else."""
        files = self._definition_files(name)
        if near in files:
            files = [near] + [p for p in files if p != near]
        fallback = None
        for path in files:
            parsed = self.parsed(path)
            for f in parsed.functions if parsed is not None else ():
                if f.name != name:
                    continue
                if path == near or near is None or not f.static or path.endswith(".h"):
                    return f
                fallback = fallback or f
        return fallback

    def callers(self, name: str) -> list[tuple[FunctionDef, int]]:
        """(caller, line of the call) for every direct call of `name`."""
        return self.callers_of_any([name])

    def binders(self, name: str) -> list[tuple[FunctionDef, int]]:
        """(function, line) for every local designated initializer that puts `name` in an
        operations member (`struct rmap_walk_control rwc = { .rmap_one = folio_referenced_one }`
        inside folio_referenced()): the function that, through whatever it calls, calls `name`."""
        table = self._ops_table()
        out = []
        members = {m for m, values in table.items() if any(value == name for value, _ in values)}
        # the overlay's files as they are now: a patch may add or drop such an initializer
        changed = self._view().containing(name.encode())
        for member in sorted(members | {m.decode() for p in changed for m in re.findall(
                rb"^[ \t]*\.([A-Za-z_]\w*)[ \t]*=[ \t]*&?" + re.escape(name.encode()) + rb"\b",
                self.overlay[p] or b"", re.MULTILINE)}):
            values = table.get(member, [])
            paths = sorted({p for value, p in values if value == name and p not in self.overlay} | set(changed))
            line_rx = re.compile(rb"^[ \t]*\." + re.escape(member.encode()) + rb"[ \t]*=[ \t]*&?"
                                 + re.escape(name.encode()) + rb"\b", re.MULTILINE)
            for path in paths:
                parsed, data = self.parsed(path), self.read(path)
                if parsed is None or data is None:
                    continue
                for m in line_rx.finditer(data):
                    line = data.count(b"\n", 0, m.start()) + 1
                    fn = parsed.function_at(line)
                    if fn is not None:
                        out.append((fn, line))
        return out

    def dispatchers(self, name: str) -> list[tuple[FunctionDef, int]]:
        """(caller, line) for every call through an operations member that a designated
        initializer sets to `name`: `rwc->rmap_one(...)` in rmap_walk_anon() for
        try_to_unmap_one, which nothing calls by name."""
        table = self._ops_table()
        members = sorted(m for m, values in table.items()
                         if any(value == name for value, _ in values))
        if not members:
            return []
        suffixes = tuple(s for m in members for s in (f"->{m}", f".{m}"))
        out = []
        for path in self.files_naming_any(members):
            parsed = self.parsed(path)
            for f in parsed.functions if parsed is not None else ():
                out.extend((f, c.line) for c in f.calls if c.indirect and c.callee.endswith(suffixes))
        return out

    def callers_of_any(self, names: list[str]) -> list[tuple[FunctionDef, int]]:
        """(caller, line) for every direct call of any of `names`, from one grep."""
        wanted = set(names)
        paths = self.files_naming_any(names)
        out = []
        for path in paths:
            parsed = self.parsed(path)
            if parsed is None:
                continue
            for f in parsed.functions:
                out.extend((f, c.line) for c in f.calls if c.callee in wanted)
        return out

    def files_naming_any(self, words: list[str], globs: tuple[str, ...] = C_GLOBS) -> list[str]:
        """Files naming any of `words` as a whole word, from one git grep (memoized for the run)
        and a scan of the overlay; other architectures' directories are left out."""
        key = (tuple(sorted(words)), globs)
        if key in self._grep_memo:
            return self._grep_memo[key]
        own_arch = f"arch/{self.profile.arch}/"
        hits = {p for p in self._tree_files_naming(words, globs) if p not in self.overlay}
        rx = re.compile(rb"\b(?:" + b"|".join(re.escape(w.encode()) for w in words) + rb")\b")
        if globs == C_GLOBS:
            hits.update(self._view().searching(rx))
        else:
            hits.update(path for path, data in self.overlay.items()
                        if data is not None and _glob_match(path, globs) and rx.search(data))
        self._grep_memo[key] = sorted(p for p in hits if not p.startswith("arch/") or p.startswith(own_arch))
        return self._grep_memo[key]

    def _tree_files_naming(self, words: list[str], globs: tuple[str, ...]) -> list[str]:
        """The tree's files naming any of `words`: a git grep over the whole tree, kept in the
        cache under the tree's identity, since the same names are asked for on every check of a
        tree (the touched functions' callers, the lock primitives)."""
        identity = self.tree.identity()
        key = "grep-" + hashlib.sha256(f"{identity}\n{sorted(words)}\n{globs}".encode()).hexdigest()
        found = self.cache.get(key, list, counted=False) if identity else None
        if found is None:
            found = sorted({p for p, _, _ in self.tree.grep_any(words, globs)})
            if identity:
                self.cache.put(key, found)
        return found

    def macro(self, name: str) -> list[MacroDef]:
        """#define's of `name` that the profile's #if selection keeps, in files naming it."""
        out = []
        for path in self._definition_files(name):
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
        """The IR of a function's body, built on demand from the same bytes as its summary.

        Bodies are built a file at a time and kept by content, in the run's cache's memory
        (the before and after states of a patch share every file it does not change) and on
        disk."""
        parsed = self.parsed(fn.file)
        if parsed is None:
            return None
        fkey = (parsed.content_id, self.configuration())
        kept = self.cache.bodies
        bodies = kept.get(fkey)
        if bodies is None:
            ckey = f"ir-{parsed.content_id}-{self._key_suffix}"
            bodies = self.cache.get(ckey, dict, counted=False)
            if bodies is None:
                built = self._build_bodies(parsed)
                if built is None:
                    return None
                # each body pickled on its own: a later run unpickles only the bodies it walks,
                # not every function of every file it touches
                bodies = {k: pickle.dumps(v, protocol=pickle.HIGHEST_PROTOCOL) for k, v in built.items()}
                self.cache.put(ckey, bodies)
            if len(kept) > 256:  # keep memory bounded on big call graphs
                kept.pop(next(iter(kept)))
            kept[fkey] = bodies
        entry = bodies.get((fn.start_byte, fn.name))
        if isinstance(entry, bytes):
            # these bytes were pickled by this process, or came out of a cache entry whose seal
            # (an HMAC over the whole table, these bytes included) was checked before it loaded
            entry = pickle.loads(entry)
            bodies[(fn.start_byte, fn.name)] = entry
        if entry is not None and entry.file != fn.file:
            # kept by content: the same bytes under another path (a copy, a rename, a new file
            # identical to one checked before) name the path that asked, or the findings would
            # point at a file the series never touched
            entry = replace(entry, file=fn.file)
        return entry

    def _build_bodies(self, parsed: ParsedFile) -> dict[tuple[int, str], Body | None] | None:
        data = self.read(parsed.path)
        if data is None:
            return None
        from patchlint.cparse.ir import build_body  # the IR's many node classes: only when a body is walked

        buf, _, _ = prepare(data, self.defines())
        tree = parse_tree(buf)
        text = bytes(buf)
        return {(f.start_byte, f.name): build_body(text, tree.root_node, f.start_byte, f.name, f.file,
                                                   {m.offset: m.name for m in f.loop_macros})
                for f in parsed.functions}

    def parse_paths(self, paths: Iterable[str]) -> list[ParsedFile]:
        out = []
        for p in paths:
            parsed = self.parsed(p)
            if parsed is not None:
                out.append(parsed)
        return out


def _relocated(parsed: ParsedFile, path: str) -> ParsedFile:
    """The same content cached under another path (a copy or rename): name the new path, in
    every record that carries one (functions and macros alike)."""
    return replace(parsed, path=path, functions=tuple(replace(f, file=path) for f in parsed.functions),
                   macros=tuple(replace(m, file=path) for m in parsed.macros))


def _not_a_prototype(line: str) -> bool:
    text = line.split("/*", 1)[0].split("//", 1)[0].rstrip()
    return text.lstrip().startswith("#") or not text.endswith(";")


def overlay_digest(overlay: dict[str, bytes | None]) -> list[tuple[str, str]]:
    """An overlay as part of a cache key: each path with the hash of its bytes, or "-" deleted."""
    return sorted((p, hashlib.sha256(d).hexdigest() if d is not None else "-") for p, d in overlay.items())


@lru_cache(maxsize=65536)
def _glob_match(path: str, globs: tuple[str, ...]) -> bool:
    return any(fnmatch(path.rsplit("/", 1)[-1], g) for g in globs)


class _OverlayView:
    """An overlay's C files as one text, searched by one regex pass (at C speed) instead of a
    Python loop over every file, and the names its definition lines define.  An overlay made
    from another (source.apply.Overlay: a series' next state) gets its names from that one's,
    changed where its own paths changed: a long series costs each state its own patch.  The
    names each file's bytes define are kept by content for the whole family of views made
    from one another (`names`): a series' every state sees the files earlier patches changed,
    with the same bytes."""

    def __init__(self, overlay: Mapping[str, bytes | None], parent: _OverlayView | None = None,
                 changed: tuple[str, ...] = ()):
        if parent is None:
            files = {p: None for p, d in overlay.items() if d is not None and _glob_match(p, C_GLOBS)}
            arch = {p for p in overlay if p.startswith("arch/")}
            self.names: dict[bytes, tuple[str, ...]] = {}
        else:
            self.names = parent.names
            files = dict(parent._files)  # copied at C speed; only this state's own paths are looked at
            arch = set(parent.arch_paths)
            for p in changed:
                if overlay.get(p) is not None and _glob_match(p, C_GLOBS):
                    files[p] = None
                else:
                    files.pop(p, None)
                if p.startswith("arch/"):
                    arch.add(p)
        self._files = files
        self.paths = list(files)
        contents = list(map(overlay.__getitem__, self.paths))
        # "\n\0" after each file: a line ends it (for ^/$ patterns) and no word runs into the next
        self.blob = b"\n\0".join(contents) + b"\n\0" if contents else b""
        self._contents = contents
        self._starts: list[int] | None = None
        self.arch_paths = sorted(arch)
        self._overlay = overlay
        self._parent = parent
        self._changed = changed
        self._defs: dict[str, frozenset[str]] | None = None

    @property
    def defs(self) -> dict[str, frozenset[str]]:
        """Name -> the overlay's C files with a definition line for it."""
        if self._defs is None:
            parent = self._parent
            if parent is not None and parent._defs is not None:
                defs = dict(parent._defs)
                for path in self._changed:
                    old, new = parent._overlay.get(path), self._overlay.get(path)
                    c_file = _glob_match(path, C_GLOBS)
                    for name in self._defined_names(old) if old is not None and c_file else ():
                        left = defs.get(name, frozenset()) - {path}
                        if left:
                            defs[name] = left
                        else:
                            defs.pop(name, None)
                    for name in self._defined_names(new) if new is not None and c_file else ():
                        defs[name] = defs.get(name, frozenset()) | {path}
            else:
                found: dict[str, set[str]] = {}
                for path in self.paths:
                    for name in self._defined_names(self._overlay[path] or b""):
                        found.setdefault(name, set()).add(path)
                defs = {name: frozenset(paths) for name, paths in found.items()}
            self._defs = defs
            self._parent = None  # the chain is not kept alive by the newest view
        return self._defs

    def _defined_names(self, data: bytes) -> tuple[str, ...]:
        """The names a file's definition lines define, kept by content in `names`."""
        found = self.names.get(data)
        if found is None:
            found = tuple(dict.fromkeys(m.group(1) or m.group(2)
                                        for m in _DEFINITION_LINE.finditer(data.decode("utf-8", "replace"))))
            if len(self.names) >= 8192:  # bounded: a memo, not a copy of every file a run reads
                self.names.pop(next(iter(self.names)))
            self.names[data] = found
        return found

    @property
    def starts(self) -> list[int]:
        """Where each file starts in the blob; made (by builtins only) at the first search."""
        if self._starts is None:
            ends = accumulate(map(len, self._contents), operator.add, initial=0)
            self._starts = list(map(operator.add, ends, range(0, 2 * len(self._contents), 2)))[:len(self._contents)]
        return self._starts

    def _path_at(self, offset: int) -> int:
        return bisect.bisect_right(self.starts, offset) - 1

    def searching(self, rx: re.Pattern[bytes]) -> list[str]:
        """The C files in which `rx` matches."""
        out = []
        pos = 0
        while (m := rx.search(self.blob, pos)) is not None:
            i = self._path_at(m.start())
            out.append(self.paths[i])
            pos = self.starts[i + 1] if i + 1 < len(self.starts) else len(self.blob)
        return out

    def containing(self, needle: bytes) -> list[str]:
        """The C files whose bytes contain `needle`, sorted."""
        return sorted(self.searching(re.compile(re.escape(needle))))

    def finditer(self, rx: re.Pattern[bytes]) -> Iterator[tuple[str, re.Match[bytes]]]:
        for m in rx.finditer(self.blob):
            yield self.paths[self._path_at(m.start())], m


def overlay_view(overlay: Mapping[str, bytes | None]) -> _OverlayView:
    """The view of an overlay; kept on a source.apply.Overlay and made from its parent's."""
    memo = getattr(overlay, "memo", None)
    if memo is None:
        return _OverlayView(overlay)
    view = memo.get("index-view")
    if view is None:
        parent = getattr(overlay, "parent", None)
        parent_view = overlay_view(parent) if parent is not None and "index-view" in parent.memo else None
        view = _OverlayView(overlay, parent_view, getattr(overlay, "changed", ()))
        memo["index-view"] = view
    assert isinstance(view, _OverlayView)
    return view
