"""The lock vocabulary (grammars/locks.toml) as lookups."""

from __future__ import annotations

import hashlib
import tomllib
from dataclasses import dataclass, field
from functools import cache

from patchlint.resources import grammar_file


@dataclass(frozen=True)
class Primitive:
    name: str
    op: str  # acquire | release | trylock | acquire_nonnull | acquire_killable | assert | test (a lock test)
    lock: int | str  # argument index naming the lock, or a fixed class
    kind: str
    sleeps: bool
    atomic: bool
    subclass: int | None = None  # the argument giving lockdep's subclass (the _nested forms)


@dataclass(frozen=True)
class Contract:
    """A lock held when the kernel calls a function through a struct member (`->writepage`)."""

    members: tuple[str, ...]
    param: int
    lock: str
    cite: str


@dataclass(frozen=True)
class DirtyPin:
    """Locks that pin a page's mapping for marking it dirty, from kernel version `since`."""

    since: tuple[int, int]
    held: tuple[str, ...]
    rule: str  # what a report says, citing where the kernel says it
    cite: str


@dataclass(frozen=True)
class Vocabulary:
    primitives: dict[str, Primitive]
    sleeping: frozenset[str]
    allocators: frozenset[str]
    sleeping_gfp: frozenset[str]
    dirtying: frozenset[str]
    safe_dirty_form: str
    anon_predicates: frozenset[str]
    swapcache_predicates: frozenset[str]
    locked_predicates: frozenset[str]
    class_names: dict[str, str]
    lock_pointers: dict[str, str]
    # functions that store a lock's address through an out-parameter without taking it:
    # name -> (the argument's index, the lock class)
    lock_out_pointers: dict[str, tuple[int, str]]
    documented_names: tuple[tuple[str, str], ...]
    field_classes: dict[str, str]
    class_aliases: dict[str, str]
    # macros that declare their first argument a handle on the lock another argument names:
    # `XA_STATE(xas, &mapping->i_pages, index)` -> {"XA_STATE": 1}
    lock_handles: dict[str, int] = field(default_factory=dict)
    # walks that return true holding a lock and false having released it: name -> (class, the
    # function that ends the walk early)
    lock_walks: dict[str, tuple[str, str]] = field(default_factory=dict)
    contracts: tuple[Contract, ...] = ()
    dirty_pins: tuple[DirtyPin, ...] = ()
    # macros stating their first argument is false (BUG_ON, VM_WARN_ON_FOLIO, ...), and those of
    # them after which only the false side runs on
    assertions: frozenset[str] = frozenset()
    stopping: frozenset[str] = frozenset()
    # scope guards (cleanup.h): guard class name -> the primitive its constructor calls
    guards: dict[str, str] = field(default_factory=dict)
    guard_statements: frozenset[str] = frozenset()  # guard(), CLASS(): a guard to the block's end
    guard_blocks: frozenset[str] = frozenset()  # scoped_guard(): a guard for the braces after it
    # calls with no definition that never change locks (tracepoints), by prefix
    lock_free_prefixes: tuple[str, ...] = ()
    # what the static walk reads besides the primitives the model runs: sparse's markers
    # (__acquire, __release) and lock tests (spin_is_locked, as op "test")
    markers: dict[str, Primitive] = field(default_factory=dict)
    fingerprint: str = ""  # of the table's text: cached lock summaries are only as good as the table

    def pins_for(self, version: str | None) -> tuple[DirtyPin, ...]:
        """The dirty-pin rules a tree of this kernel version (`6.12.5`, `3.3.8`) follows."""
        parts = (version or "").split(".")
        try:
            have = (int(parts[0]), int(parts[1]))
        except (ValueError, IndexError):
            return ()
        return tuple(p for p in self.dirty_pins if have >= p.since)

    @property
    def reads(self) -> dict[str, Primitive]:
        """Every call the static walk reads as a lock operation: the primitives and the markers."""
        found = self.__dict__.get("_reads")
        if found is None:
            found = {**self.primitives, **self.markers}
            object.__setattr__(self, "_reads", found)
        return found

    @property
    def deciding(self) -> frozenset[str]:
        """Calls whose truth a condition around them decides and that do nothing else: trylocks,
        lock tests, and the likely()/unlikely() hints."""
        found = self.__dict__.get("_deciding")
        if found is None:
            found = frozenset(n for n, p in self.reads.items() if p.op in ("trylock", "test")) | \
                self.locked_predicates | self.anon_predicates | self.swapcache_predicates | {"likely", "unlikely"}
            object.__setattr__(self, "_deciding", found)
        return found

    @property
    def changing(self) -> frozenset[str]:
        """The primitives that take or release a lock whatever a condition around them says."""
        found = self.__dict__.get("_changing")
        if found is None:
            found = frozenset(n for n, p in self.reads.items()
                              if p.op in ("acquire", "acquire_nonnull", "release"))
            object.__setattr__(self, "_changing", found)
        return found

    def primitives_for(self, lock_class: str) -> list[str]:
        """Names of the primitives that take a lock of this fixed class."""
        return sorted(p.name for p in self.primitives.values() if p.lock == lock_class and p.op != "release")


@cache
def load_vocabulary() -> Vocabulary:
    text = grammar_file("locks.toml").read_text()
    table = tomllib.loads(text)
    prims: dict[str, Primitive] = {}
    for entry in table.get("primitive", []):
        for name in entry["names"]:
            prims[name] = Primitive(name, entry["op"], entry["lock"], entry.get("kind", "spinlock"),
                                    bool(entry.get("sleeps", False)), bool(entry.get("atomic", False)),
                                    entry.get("subclass"))
    markers: dict[str, Primitive] = {}
    for entry in table.get("marker", []):
        for name in entry["names"]:
            markers[name] = Primitive(name, entry["op"], entry["lock"], entry.get("kind", "sparse"), False, False)
    for name in table.get("lock_tests", {}).get("names", []):
        markers[name] = Primitive(name, "test", 0, "spinlock", False, False)
    sleeping = table.get("sleeping", {})
    dirt = table.get("dirtying", {})
    return Vocabulary(
        primitives=prims,
        sleeping=frozenset(sleeping.get("names", [])),
        allocators=frozenset(sleeping.get("allocators", [])),
        sleeping_gfp=frozenset(sleeping.get("sleeping_gfp", [])),
        dirtying=frozenset(dirt.get("names", [])),
        safe_dirty_form=dirt.get("safe_form", "set_page_dirty_lock"),
        anon_predicates=frozenset(dirt.get("anon_predicates", [])),
        swapcache_predicates=frozenset(dirt.get("swapcache_predicates", [])),
        locked_predicates=frozenset(dirt.get("locked_predicates", [])),
        class_names=dict(table.get("class_names", {})),
        lock_pointers=dict(table.get("lock_pointers", {})),
        lock_out_pointers={k: (int(v["arg"]), str(v["class"])) for k, v in table.get("lock_out_pointers", {}).items()},
        documented_names=tuple(table.get("documented_names", {}).items()),
        field_classes=dict(table.get("field_classes", {})),
        class_aliases=dict(table.get("class_aliases", {})),
        lock_handles={k: int(v) for k, v in table.get("lock_handles", {}).items()},
        lock_walks={k: (str(v["class"]), str(v.get("done", ""))) for k, v in table.get("lock_walks", {}).items()},
        contracts=tuple(Contract(tuple(c["members"]), int(c["param"]), str(c["lock"]), str(c.get("cite", "")))
                        for c in table.get("contract", [])),
        dirty_pins=tuple(DirtyPin(_version(p["since"]), tuple(p["held"]), str(p["rule"]), str(p.get("cite", "")))
                         for p in dirt.get("pins", [])),
        assertions=frozenset(table.get("assertions", {}).get("names", [])),
        stopping=frozenset(table.get("assertions", {}).get("stopping", [])),
        guards={k: str(v) for k, v in table.get("guards", {}).items() if str(v) in prims},
        guard_statements=frozenset(table.get("guard_macros", {}).get("statement", [])),
        guard_blocks=frozenset(table.get("guard_macros", {}).get("block", [])),
        lock_free_prefixes=tuple(table.get("opaque_calls", {}).get("lock_free_prefixes", [])),
        markers=markers,
        fingerprint=hashlib.sha256(text.encode()).hexdigest()[:16],
    )


def _version(text: str) -> tuple[int, int]:
    major, minor = str(text).split(".")[:2]
    return int(major), int(minor)
