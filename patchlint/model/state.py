"""Model state: frozen, hashable, with a fingerprint that is stable across processes.

Values the interpreter handles (all hashable): ints, UNKNOWN, Sym (a name with no
known value, e.g. an enumerator), Obj (a model object: a page, an address space,
an operations table, a function, a pte, a page frame, an anon_vma), Addr (the
address of a member of an object, e.g. &page->flags or &mapping->tree_lock) and
Struct (a small struct value such as swp_entry_t {.val = 42}).
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field, replace


class _Unknown:
    _inst = None

    def __new__(cls) -> _Unknown:
        if cls._inst is None:
            cls._inst = super().__new__(cls)
        return cls._inst

    def __repr__(self) -> str:
        return "?"

    def __reduce__(self) -> tuple:
        return (_Unknown, ())


UNKNOWN = _Unknown()


@dataclass(frozen=True)
class Sym:
    name: str


@dataclass(frozen=True)
class Obj:
    kind: str  # page, space, ops, fn, pte, pteval, frame, anon, local
    name: str


@dataclass(frozen=True)
class Addr:
    obj: Obj
    field: str


@dataclass(frozen=True)
class Struct:
    items: tuple[tuple[str, object], ...]
    zeroed: bool = False  # a designated initializer: the members it does not name are 0, as in C

    def get(self, name: str) -> object:
        return next((v for k, v in self.items if k == name), 0 if self.zeroed else UNKNOWN)


FLAGS = ("anon", "dirty", "locked", "private", "swapcache", "uptodate", "writeback")
SPINLOCK, SLEEPLOCK = "spin", "sleep"


@dataclass(frozen=True)
class Page:
    name: str
    flags: tuple[str, ...] = ()  # sorted subset of FLAGS (PG_anon stands for mapping & PAGE_MAPPING_ANON)
    mapping: object = 0  # 0, Obj("anon", ...) or Obj("space", ...)
    index: int = 0
    private: int = 0
    mapcount: int = -1  # the raw _mapcount: -1 means unmapped
    refcount: int = 1
    key_changed: int = 0  # s390 storage key change bit of the page's frame
    pte: str = "none"  # the scenario's one pte mapping the page: present, none, swap
    data_dirty: int = 0  # ghost: the page holds data newer than its backing store
    key_cleared_at: tuple = ()  # (file, line, function) where the change bit was last consumed

    def has(self, flag: str) -> bool:
        return flag in self.flags

    def with_flag(self, flag: str, on: bool) -> Page:
        flags = set(self.flags)
        (flags.add if on else flags.discard)(flag)
        return replace(self, flags=tuple(sorted(flags)))


@dataclass(frozen=True)
class Space:
    """An address space: its radix tree (index -> page name), tags and operations table."""

    name: str
    ops: str | None
    radix: tuple[tuple[int, str], ...] = ()
    tags: tuple[tuple[int, str], ...] = ()  # (index, tag)

    def lookup(self, index: object) -> str | None:
        return next((p for i, p in self.radix if i == index), None)


@dataclass(frozen=True)
class State:
    pages: tuple[Page, ...]
    spaces: tuple[Space, ...] = ()
    locks: tuple[tuple[str, int], ...] = ()  # (lock id, owner thread), sorted
    lock_kinds: tuple[tuple[str, str], ...] = ()  # (lock id, spin|sleep) for locks seen
    warnings: tuple[str, ...] = ()

    def page(self, name: str) -> Page:
        return next(p for p in self.pages if p.name == name)

    def space(self, name: str) -> Space | None:
        return next((s for s in self.spaces if s.name == name), None)

    def with_page(self, page: Page) -> State:
        return replace(self, pages=tuple(page if p.name == page.name else p for p in self.pages))

    def with_space(self, space: Space) -> State:
        others = tuple(s for s in self.spaces if s.name != space.name)
        return replace(self, spaces=tuple(sorted(others + (space,), key=lambda s: s.name)))

    def owner(self, lock: str) -> int | None:
        return next((t for lk, t in self.locks if lk == lock), None)

    def held_by(self, tid: int) -> tuple[str, ...]:
        return tuple(lk for lk, t in self.locks if t == tid)

    def kind(self, lock: str) -> str:
        return next((k for lk, k in self.lock_kinds if lk == lock), SPINLOCK)

    def atomic(self, tid: int) -> bool:
        """A thread holding a spinlock runs in atomic context."""
        return any(self.kind(lk) == SPINLOCK for lk in self.held_by(tid))

    def acquire(self, lock: str, tid: int, kind: str) -> State:
        kinds = dict(self.lock_kinds)
        kinds.setdefault(lock, kind)
        return replace(self, locks=tuple(sorted(self.locks + ((lock, tid),))),
                       lock_kinds=tuple(sorted(kinds.items())))

    def release(self, lock: str) -> State:
        return replace(self, locks=tuple(x for x in self.locks if x[0] != lock))

    def fingerprint(self) -> str:
        return fingerprint(self)


def canonical(value: object) -> str:
    """A canonical text for model values and states: same value, same text, in any process."""
    if isinstance(value, tuple):
        return "(" + ",".join(canonical(v) for v in value) + ")"
    if isinstance(value, (frozenset, set)):
        return "{" + ",".join(sorted(canonical(v) for v in value)) + "}"
    if isinstance(value, dict):
        return "{" + ",".join(f"{canonical(k)}:{canonical(v)}" for k, v in sorted(value.items(), key=repr)) + "}"
    if hasattr(value, "__dataclass_fields__"):
        return type(value).__name__ + "(" + ",".join(
            f"{k}={canonical(getattr(value, k))}" for k in value.__dataclass_fields__) + ")"
    if isinstance(value, str):
        return repr(value)
    return repr(value)


def fingerprint(value: object) -> str:
    return hashlib.sha256(canonical(value).encode()).hexdigest()


@dataclass(frozen=True)
class Change:
    """A state change worth showing in a trace, e.g. PG_swapcache 0->1."""

    text: str


def diff(before: State, after: State) -> tuple[str, ...]:
    out: list[str] = []
    for p in after.pages:
        q = before.page(p.name)
        for flag in FLAGS:
            if p.has(flag) != q.has(flag):
                out.append(f"PG_{flag} {int(q.has(flag))}->{int(p.has(flag))}")
        for attr in ("mapcount", "private", "index", "key_changed", "pte"):
            a, b = getattr(q, attr), getattr(p, attr)
            if a != b:
                label = {"mapcount": "_mapcount", "key_changed": "storage key change bit"}.get(attr, attr)
                out.append(f"{label} {a}->{b}")
        if p.mapping != q.mapping:
            out.append(f"mapping {_show(q.mapping)}->{_show(p.mapping)}")
    for s in after.spaces:
        old = before.space(s.name)
        old_radix = dict(old.radix) if old else {}
        new_radix = dict(s.radix)
        for i in sorted(set(old_radix) | set(new_radix), key=repr):
            if old_radix.get(i) != new_radix.get(i):
                out.append(f"radix[{s.name}][{i}] {new_radix.get(i) or 'absent'}")
        for t in sorted(set(s.tags) - set(old.tags if old else ())):
            out.append(f"tag[{s.name}][{t[0]}] {t[1]} set")
    for lk, t in after.locks:
        if before.owner(lk) != t:
            out.append(f"{lk} held by P{t}")
    for lk, _ in before.locks:
        if after.owner(lk) is None:
            out.append(f"{lk} released")
    return tuple(out)


def _show(v: object) -> str:
    if isinstance(v, Obj):
        return v.name
    return repr(v)


@dataclass(frozen=True)
class Scenario:
    """What the explorer needs from a scenario file (see patchlint.explore.scenario)."""

    name: str
    profile: str
    state: State
    threads: tuple  # tuple of (name, ir.Body, params)
    exists: tuple[str, ...]
    swap_entry: int = 0
    file: str = ""
    notes: tuple[str, ...] = field(default=())
    aops: tuple[tuple[str, str], ...] = ()  # (address space, its operations table in the tree)
    digest: str = ""  # sha256 of the scenario file's bytes
    # the kernel versions it is written for, inclusive ((3, 0), (5, 15)); None: no bound that side
    kernels: tuple[tuple[int, int] | None, tuple[int, int] | None] = (None, None)
