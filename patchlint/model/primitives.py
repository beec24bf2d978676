"""The primitive registry: the kernel functions and macros whose meaning the model knows.

Everything not listed here is interpreted from the tree's own source.  Each entry says
- mode: "override" (used even when the tree defines the name: locks, radix tree,
  bit operations the model must own) or "fallback" (used only when the tree has no
  definition: page-flag accessors, page_mapping, ... that newer trees generate with
  macros);
- kind: "pure" (no shared state, runs inside the interpreter), "shared" (reads or
  writes model state: a visible event, a scheduling point), or "choice" (the
  result is nondeterministic: both outcomes are explored);
- its documentation (the semantics, in one line).

Shared primitives take (state, tid, args, ctx) and return an Effect; pure ones take
(args, ctx) and return a value.  No entry decides a verdict: hazards come from the
state (a tag on a missing slot, a lock cycle, a dropped change bit).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, replace
from functools import partial

from patchlint.extract.vocab import load_vocabulary
from patchlint.model.state import SLEEPLOCK, SPINLOCK, UNKNOWN, Addr, Obj, State, Struct, Sym


@dataclass(frozen=True)
class Ctx:
    swap_entry: int = 0
    page: str = "page"
    site: tuple = ()  # (file, line, function) of the call


@dataclass(frozen=True)
class Effect:
    state: State
    value: object = 0
    bug: str | None = None  # a BUG the primitive hits (its own BUG_ON)
    sleep: str | None = None  # a sleeping operation (checked against atomic context)
    spin_on: str | None = None  # a failed trylock: the lock it found taken


@dataclass(frozen=True)
class Prim:
    name: str
    mode: str
    kind: str
    doc: str
    impl: Callable | None = None
    waits_for: Callable | None = None  # (args) -> lock id a blocking acquisition waits for
    tracks: bool = True  # reaches model state by itself (a lock named by an argument does not)
    holder_continues: bool = False  # the thread holding waits_for's lock is not blocked (a walk's next step)
    # (args) -> the value, when these arguments touch nothing another thread can change or see
    # (a bit of a flags word that is not the model's, PG_head of the order-0 page); SHARED if they do
    local: Callable | None = None


SHARED = object()  # Prim.local's "this call is a visible event"


REGISTRY: dict[str, Prim] = {}


def prim(name: str, mode: str, kind: str, doc: str, waits_for: Callable | None = None,
         holder_continues: bool = False, local: Callable | None = None):
    def deco(fn):
        for n in name.split():
            REGISTRY[n] = Prim(n, mode, kind, doc, fn, waits_for, holder_continues=holder_continues, local=local)
        return fn
    return deco


def lookup(name: str) -> Prim | None:
    found = REGISTRY.get(name)
    if found is None and name not in _NOT_FLAGS:
        found = _generic_flag(name)
        if found is None:
            _NOT_FLAGS.add(name)
    return found


_PAGE_FLAG = re.compile(r"(?:__)?(Set|Clear|TestSet|TestClear)?Page([A-Z]\w*)")
_FOLIO_FLAG = re.compile(r"(?:__)?folio_(test_set|test_clear|test|set|clear)_([a-z]\w*)")
_OPS = {None: "test", "Set": "set", "Clear": "clear", "TestSet": "testset", "TestClear": "testclear",
        "test": "test", "set": "set", "clear": "clear", "test_set": "testset", "test_clear": "testclear"}
# flags that are not bits of page->flags: PageAnon/PageKsm read page->mapping, PageHuge and
# PageTransHuge ask the compound head: the tree's own definitions say what they do
_DERIVED = frozenset(("anon", "ksm", "huge", "transhuge", "movable", "mappingflags", "highmem", "slab"))
_NOT_FLAGS: set[str] = set()


def _generic_flag(name: str) -> Prim | None:
    """Any PG_ flag by its accessor's name (PageLRU, __ClearPageActive, folio_test_large...):
    the model's page is an order-0 page whose other flags start clear and are kept as set."""
    m = _PAGE_FLAG.fullmatch(name) or _FOLIO_FLAG.fullmatch(name)
    if m is None or m.group(2).lower() in _DERIVED:
        return None
    _flag_prim(name, m.group(2).lower(), _OPS[m.group(1)])
    return REGISTRY[name]


# --- helpers ------------------------------------------------------------------------------------
def _page(v) -> str | None:
    if isinstance(v, Obj) and v.kind == "page":
        return v.name
    if isinstance(v, Addr) and v.obj.kind == "page":
        return v.obj.name
    return None


def _flag(v) -> str | None:
    if isinstance(v, Sym) and v.name.startswith("PG_"):
        return v.name[3:]
    return None


def lock_id(v) -> str | None:
    """&mapping->tree_lock -> "swapper_space.tree_lock"; the page lock is "page_lock:NAME"."""
    if isinstance(v, Addr):
        # &mapping->i_pages (xa_lock_irq()'s argument) and &mapping->i_pages.xa_lock are one lock
        lock_in = _locks_in().get(v.field)
        return f"{v.obj.name}.{v.field}" + (f".{lock_in}" if lock_in else "")
    if isinstance(v, Obj) and v.kind == "page":
        return f"page_lock:{v.name}"
    if isinstance(v, Obj) and v.kind in ("local", "global"):
        return v.name
    if isinstance(v, Obj) and v.kind == "xas":  # xas_lock_irq(&xas): the lock of the xarray it walks
        return lock_id(Addr(Obj("space", _xas(v)[0]), "i_pages"))
    return None


PTL = "ptl"  # the scenario's one page table lock


def _locks_in() -> dict[str, str]:
    from patchlint.model.relevance import tables  # model.toml, read once

    return tables().locks_in


def _acquire(state: State, tid: int, lock: str | None, kind: str) -> Effect:
    if lock is None:
        return Effect(state, UNKNOWN)
    new = state.acquire(lock, tid, kind)
    if lock.startswith("page_lock:"):
        name = lock.split(":", 1)[1]
        new = new.with_page(new.page(name).with_flag("locked", True))
    return Effect(new, 1)


def _release(state: State, lock: str | None) -> Effect:
    if lock is None:
        return Effect(state, 0)
    new = state.release(lock)
    if lock.startswith("page_lock:"):
        name = lock.split(":", 1)[1]
        new = new.with_page(new.page(name).with_flag("locked", False))
    return Effect(new, 0)


# --- locks --------------------------------------------------------------------------------------
# The lock primitives are the static checks' own table (grammars/locks.toml): one vocabulary.
# A primitive whose lock is an argument (spin_lock(&mapping->tree_lock)) locks what that argument
# names in the model; the page lock's and the PTL's fixed classes lock the page and the
# scenario's page table.  Other fixed classes (anon_vma, mmap_lock, RCU) are not model state:
# their helpers are interpreted from the tree, or left to their summaries.
def _vocab_lock(p, args) -> str | None:
    if isinstance(p.lock, int):
        return lock_id(args[p.lock]) if len(args) > p.lock else None
    if p.lock == "page_lock":
        return lock_id(args[0]) if args else None
    return PTL


def _lock_prim(p):
    kind = SPINLOCK if p.atomic else SLEEPLOCK
    if p.op in ("acquire", "acquire_killable"):
        def impl(state, tid, args, ctx):
            lock = _vocab_lock(p, args)
            eff = _acquire(state, tid, lock, kind)
            # `ptl = pmd_lock(mm, pmd); ... spin_unlock(ptl);`: the lock taken is the value
            value = Obj("global", PTL) if lock == PTL else 0
            return replace(eff, sleep=p.name if p.sleeps else None, value=value)
        waits = partial(_vocab_lock, p)
        doc = f"take {p.kind} {p.lock if isinstance(p.lock, str) else 'named by argument ' + str(p.lock)}" + \
            (" (may sleep)" if p.sleeps else "") + "; blocks while another thread holds it"
    elif p.op == "release":
        def impl(state, tid, args, ctx):
            return _release(state, _vocab_lock(p, args))
        waits = None
        doc = f"release {p.kind}"
    else:  # trylock
        def impl(state, tid, args, ctx):
            lock = _vocab_lock(p, args)
            if lock is None:
                return Effect(state, UNKNOWN)
            if state.owner(lock) is not None:
                return Effect(state, 0, spin_on=lock)
            return _acquire(state, tid, lock, kind)
        waits = None
        doc = f"take {p.kind} if free (never waits); 0 when another thread holds it"
    # a lock named by an argument is model state only where the argument is: the caller's text says
    tracks = not isinstance(p.lock, int)
    REGISTRY[p.name] = Prim(p.name, "override", "shared", doc + " [locks.toml]", impl, waits, tracks)


def _register_locks() -> None:
    for p in load_vocabulary().primitives.values():
        if p.op in ("acquire", "acquire_killable", "release", "trylock") and (
                isinstance(p.lock, int) or p.lock in ("page_lock", "pte_lock")):
            _lock_prim(p)


_register_locks()


@prim("pte_offset_map_lock", "override", "shared",
      "map the pte and take the page table lock (PTL, a spinlock); returns the scenario's pte",
      waits_for=lambda args: PTL)
def _pte_lock(state, tid, args, ctx):
    return replace(_acquire(state, tid, PTL, SPINLOCK), value=Obj("pte", ctx.page))


@prim("page_check_address __page_check_address", "override", "shared",
      "3.x: take the PTL of the page table mapping the page at address; the scenario's pte, still "
      "locked, if it maps the page, else NULL with the PTL dropped", waits_for=lambda args: PTL)
def _page_check_address(state, tid, args, ctx):
    page = _page(args[0]) if args else None
    if page is None:
        return Effect(state, UNKNOWN)
    if state.page(page).pte != "present":
        return Effect(state, 0)
    return replace(_acquire(state, tid, PTL, SPINLOCK), value=Obj("pte", page))


@prim("might_sleep", "override", "shared", "a sleeping point: a hazard in atomic context")
def _might_sleep(state, tid, args, ctx):
    return Effect(state, 0, sleep="might_sleep")


# --- page flags and fields ----------------------------------------------------------------------
# Flags of the page's shape, which no primitive changes: the scenarios' page is an order-0 page.
STRUCTURAL = frozenset(("head", "tail", "compound", "hugetlb", "large_rmappable", "large_remappable"))


def _bit_local(result):
    """test_bit() and friends on something other than the model page's flags (a mapping's
    AS_ bits, a cpumask), or on a structural flag: evaluated in place, not a visible event."""
    def local(args):
        page, flag = (_page(args[1]), _flag(args[0])) if len(args) > 1 else (None, None)
        if page is None or flag is None:
            return UNKNOWN if result is None else result
        return 0 if flag in STRUCTURAL and result is None else SHARED
    return local


@prim("test_bit", "override", "shared", "read PG_x of page->flags", local=_bit_local(None))
def _test_bit(state, tid, args, ctx):
    page, flag = _page(args[1]), _flag(args[0])
    if page is None or flag is None:
        return Effect(state, UNKNOWN)
    return Effect(state, int(state.page(page).has(flag)))


def _bitop(set_to: bool | None, returns_old: bool):
    def impl(state, tid, args, ctx):
        page, flag = _page(args[1]), _flag(args[0])
        if page is None or flag is None:
            return Effect(state, UNKNOWN)
        p = state.page(page)
        old = int(p.has(flag))
        p = p.with_flag(flag, bool(set_to))
        if flag == "dirty" and set_to:
            p = replace(p, data_dirty=1)
        return Effect(state.with_page(p), old if returns_old else 0)
    return impl


for _names, _to, _old, _doc in (
        ("set_bit __set_bit", True, False, "set PG_x in page->flags"),
        ("clear_bit __clear_bit clear_bit_unlock", False, False, "clear PG_x in page->flags"),
        ("test_and_set_bit test_and_set_bit_lock", True, True, "set PG_x, return its old value"),
        ("test_and_clear_bit", False, True, "clear PG_x, return its old value")):
    # another word's bits: unknown (test_and_*) or nothing (set/clear), in place
    prim(_names, "override", "shared", _doc, local=_bit_local(None if _old else 0))(_bitop(_to, _old))


def _flag_prim(name: str, flag: str, op: str):
    def impl(state, tid, args, ctx):
        page = _page(args[0]) if args else None
        if page is None:
            return Effect(state, UNKNOWN)
        p = state.page(page)
        old = int(p.has(flag))
        if op == "test":
            return Effect(state, old)
        p = p.with_flag(flag, op in ("set", "testset"))
        if flag == "dirty" and op in ("set", "testset"):
            p = replace(p, data_dirty=1)
        return Effect(state.with_page(p), old if op.startswith("test") else 0)
    prim(name, "fallback", "shared", f"{op} PG_{flag} (when the tree does not define {name})")(impl)


for _flagname, _ours in (("Locked", "locked"), ("Dirty", "dirty"), ("SwapCache", "swapcache"),
                         ("Writeback", "writeback"), ("Uptodate", "uptodate"), ("Private", "private")):
    _flag_prim(f"Page{_flagname}", _ours, "test")
    _flag_prim(f"SetPage{_flagname}", _ours, "set")
    _flag_prim(f"ClearPage{_flagname}", _ours, "clear")
    _flag_prim(f"TestSetPage{_flagname}", _ours, "testset")
    _flag_prim(f"TestClearPage{_flagname}", _ours, "testclear")


PAGE_FIELDS = ("mapping", "index", "private")


@prim("__page_read", "override", "shared", "read page->mapping, ->index or ->private")
def _page_read(state, tid, args, ctx):
    page, fieldname = _page(args[0]), args[1]
    return Effect(state, getattr(state.page(page), fieldname))


@prim("__page_write", "override", "shared", "write page->mapping, ->index or ->private")
def _page_write(state, tid, args, ctx):
    page, fieldname, value = _page(args[0]), args[1], args[2]
    if isinstance(value, Struct):
        value = value.get("val")
    return Effect(state.with_page(replace(state.page(page), **{fieldname: value})), value)


@prim("page_private", "fallback", "shared", "page->private")
def _page_private(state, tid, args, ctx):
    return Effect(state, state.page(_page(args[0])).private)


@prim("set_page_private", "fallback", "shared", "page->private = v")
def _set_page_private(state, tid, args, ctx):
    return _page_write(state, tid, (args[0], "private", args[1]), ctx)


@prim("page_mapping", "fallback", "shared",
      "&swapper_space for a swap-cache page, NULL for other anon pages, else page->mapping")
def _page_mapping(state, tid, args, ctx):
    p = state.page(_page(args[0]))
    if p.has("swapcache"):
        return Effect(state, Obj("space", "swapper_space"))
    if isinstance(p.mapping, Obj) and p.mapping.kind == "anon":
        return Effect(state, 0)
    return Effect(state, p.mapping)


@prim("page_index", "fallback", "shared", "page_private() for a swap-cache page, else page->index")
def _page_index(state, tid, args, ctx):
    p = state.page(_page(args[0]))
    return Effect(state, p.private if p.has("swapcache") else p.index)


@prim("atomic_add_negative", "override", "shared", "add i to the counter; true if the result is negative")
def _atomic_add_negative(state, tid, args, ctx):
    i, target = args
    page = _page(target)
    if page is None or not isinstance(i, int) or target.field != "_mapcount":
        return Effect(state, UNKNOWN)
    p = state.page(page)
    p = replace(p, mapcount=p.mapcount + i)
    return Effect(state.with_page(p), int(p.mapcount < 0))


@prim("atomic_inc_and_test", "override", "shared", "increment the counter; true if it became 0")
def _atomic_inc_and_test(state, tid, args, ctx):
    return _atomic_add_negative(state, tid, (1, args[0]), ctx) if _page(args[0]) else Effect(state, UNKNOWN)


@prim("atomic_read", "override", "shared", "read page->_mapcount (other counters are unknown)")
def _atomic_read(state, tid, args, ctx):
    page = _page(args[0])
    if page is None or args[0].field != "_mapcount":
        return Effect(state, UNKNOWN)
    return Effect(state, state.page(page).mapcount)


# --- radix tree (the page cache and the swap cache) ---------------------------------------------
def _space(state: State, v) -> str | None:
    if isinstance(v, Addr) and v.obj.kind == "space":
        return v.obj.name
    return None


@prim("radix_tree_insert", "override", "shared", "insert a page at index; -EEXIST (-17) when taken")
def _radix_insert(state, tid, args, ctx):
    name = _space(state, args[0])
    page = _page(args[2])
    if name is None or page is None or not isinstance(args[1], int):
        return Effect(state, UNKNOWN)
    s = state.space(name)
    if s.lookup(args[1]) is not None:
        return Effect(state, -17)
    return Effect(state.with_space(replace(s, radix=tuple(sorted(s.radix + ((args[1], page),))))), 0)


@prim("radix_tree_delete", "override", "shared", "remove the entry at index (and its tags)")
def _radix_delete(state, tid, args, ctx):
    name = _space(state, args[0])
    if name is None:
        return Effect(state, UNKNOWN)
    s = state.space(name)
    found = s.lookup(args[1])
    s = replace(s, radix=tuple(x for x in s.radix if x[0] != args[1]),
                tags=tuple(t for t in s.tags if t[0] != args[1]))
    return Effect(state.with_space(s), Obj("page", found) if found else 0)


@prim("radix_tree_lookup", "override", "shared", "the page at index or NULL")
def _radix_lookup(state, tid, args, ctx):
    name = _space(state, args[0])
    if name is None:
        return Effect(state, UNKNOWN)
    found = state.space(name).lookup(args[1])
    return Effect(state, Obj("page", found) if found else 0)


@prim("radix_tree_tag_set", "override", "shared",
      "tag the entry at index; BUG_ON(slot == NULL) when the index has no entry")
def _radix_tag_set(state, tid, args, ctx):
    name = _space(state, args[0])
    if name is None:
        return Effect(state, UNKNOWN)
    s = state.space(name)
    if not isinstance(args[1], int):
        return Effect(state, UNKNOWN)  # an index the model does not know: no verdict on its slot
    if s.lookup(args[1]) is None:
        return Effect(state, 0, bug=f"radix_tree_tag_set: no slot for index {args[1]} in {name} "
                                    "(BUG_ON(slot == NULL))")
    s = replace(s, tags=tuple(sorted(set(s.tags) | {(args[1], _tag(args[2]))})))
    return Effect(state.with_space(s), Obj("page", s.lookup(args[1])))


# --- s390 storage keys --------------------------------------------------------------------------
_PAGE_CHANGED = 0x02


def _frame(v) -> str | None:
    return v.name if isinstance(v, Obj) and v.kind == "frame" else None


@prim("page_get_storage_key", "override", "shared",
      "read the frame's storage key (change bit 0x02); the tree's own is inline asm (iske)")
def _get_key(state, tid, args, ctx):
    frame = _frame(args[0])
    if frame is None:
        return Effect(state, UNKNOWN)
    return Effect(state, _PAGE_CHANGED if state.page(frame).key_changed else 0)


@prim("page_set_storage_key", "override", "shared",
      "write the frame's storage key; the tree's own is inline asm (sske)")
def _set_key(state, tid, args, ctx):
    frame = _frame(args[0])
    if frame is None or not isinstance(args[1], int):
        return Effect(state, UNKNOWN)
    p = state.page(frame)
    changed = int(bool(args[1] & _PAGE_CHANGED))
    cleared = tuple(ctx.site) if p.key_changed and not changed else p.key_cleared_at
    return Effect(state.with_page(replace(p, key_changed=changed, key_cleared_at=cleared)), 0)


# --- ptes ---------------------------------------------------------------------------------------
@prim("__pte_read", "override", "shared", "*pte: the value of the scenario's pte")
def _pte_read(state, tid, args, ctx):
    if not any(p.name == args[0].name for p in state.pages):
        return Effect(state, Obj("pteval", f"none:{args[0].name}"))
    return Effect(state, Obj("pteval", f"{state.page(args[0].name).pte}:{args[0].name}"))


@prim("ptep_get_and_clear ptep_clear_flush ptep_get_and_clear_full", "override", "shared",
      "clear the pte, return its old value (the arch's TLB flush is not model state)")
def _pte_clear(state, tid, args, ctx):
    pte = args[2]
    if not (isinstance(pte, Obj) and pte.kind == "pte"):
        return Effect(state, UNKNOWN)
    if not any(p.name == pte.name for p in state.pages):
        return Effect(state, Obj("pteval", f"none:{pte.name}"))
    p = state.page(pte.name)
    return Effect(state.with_page(replace(p, pte="none")), Obj("pteval", f"{p.pte}:{pte.name}"))


@prim("pte_clear", "override", "shared", "clear the pte")
def _pte_clear2(state, tid, args, ctx):
    pte = args[2]
    if not (isinstance(pte, Obj) and pte.kind == "pte"):
        return Effect(state, UNKNOWN)
    if not any(p.name == pte.name for p in state.pages):
        return Effect(state, 0)
    return Effect(state.with_page(replace(state.page(pte.name), pte="none")), 0)


@prim("set_pte_at", "override", "shared", "install a pte value")
def _set_pte(state, tid, args, ctx):
    pte, val = args[2], args[3]
    if not (isinstance(pte, Obj) and pte.kind == "pte"):
        return Effect(state, UNKNOWN)
    kind = val.name.split(":")[0] if isinstance(val, Obj) and val.kind == "pteval" else "present"
    if not any(p.name == pte.name for p in state.pages):
        return Effect(state, 0)  # another pte of the table: not the scenario's
    return Effect(state.with_page(replace(state.page(pte.name), pte=kind)), 0)


def _pteval(v) -> tuple[str, str] | None:
    if isinstance(v, Obj) and v.kind == "pteval":
        kind, page = v.name.split(":")
        return kind, page
    return None


def _pure(name: str, doc: str, mode: str = "override"):
    def deco(fn):
        prim(name, mode, "pure", doc)(fn)
        return fn
    return deco


@_pure("pte_none", "the pte value maps nothing")
def _pte_none(args, ctx):
    v = _pteval(args[0])
    return UNKNOWN if v is None else int(v[0] == "none")


@_pure("pte_same", "two pte values are the same (the model's values: what they map, and how)")
def _pte_same(args, ctx):
    a, b = (_pteval(args[0]), _pteval(args[1])) if len(args) > 1 else (None, None)
    return UNKNOWN if a is None or b is None else int(a == b)


@_pure("pte_present", "the pte value maps a page")
def _pte_present(args, ctx):
    v = _pteval(args[0])
    return UNKNOWN if v is None else int(v[0] == "present")


@_pure("pte_pfn", "the frame a present pte maps")
def _pte_pfn(args, ctx):
    v = _pteval(args[0])
    return Obj("frame", v[1]) if v and v[0] == "present" else UNKNOWN


@_pure("pte_to_swp_entry", "the swap entry a swap pte holds: the scenario's swap.entry")
def _pte_swp(args, ctx):
    v = _pteval(args[0]) if args else None
    return Struct((("val", ctx.swap_entry),)) if v is not None and v[0] == "swap" else UNKNOWN


@_pure("swp_entry_to_pte", "a pte holding a swap entry")
def _swp_pte(args, ctx):
    return Obj("pteval", f"swap:{ctx.page}")


@_pure("vm_normal_page", "the scenario's page for a present pte, else NULL")
def _vm_normal_page(args, ctx):
    v = _pteval(args[2]) if len(args) > 2 else None
    if v is None:
        return UNKNOWN
    return Obj("page", v[1]) if v[0] == "present" else 0


@_pure("page_to_pfn", "the page's frame (for the storage key)")
def _page_to_pfn(args, ctx):
    page = _page(args[0])
    return Obj("frame", page) if page else UNKNOWN


@_pure("likely unlikely", "the condition itself")
def _likely(args, ctx):
    return args[0] if args else UNKNOWN


@_pure("cpu_relax", "a pause in a spin loop: no effect on the model")
def _cpu_relax(args, ctx):
    return 0


@_pure("get_swap_page folio_alloc_swap",
       "a free swap entry: the scenario's swap.entry (the scenario, not the swap map, decides which slot "
       "reclaim gets)")
def _get_swap_page(args, ctx):
    return Struct((("val", ctx.swap_entry),))


# --- 6.x: folios and the xarray ----------------------------------------------------------------------
# The scenarios' page is an order-0 page, so it is its own folio; the page cache and the swap cache
# are xarrays (mapping->i_pages) whose entries and marks the model keeps as it keeps the radix tree's.
@_pure("folio_flags const_folio_flags",
       "&folio->flags of the n-th page: the model's page, whose flags test_bit() and friends read")
def _folio_flags(args, ctx):
    return args[0] if args and _page(args[0]) else UNKNOWN


@_pure("page_folio folio_page", "the scenario's page is its own (order-0) folio, and the folio's page")
def _same_page(args, ctx):
    return args[0] if args and _page(args[0]) else UNKNOWN


for _flagname, _ours in (("locked", "locked"), ("dirty", "dirty"), ("swapcache", "swapcache"),
                         ("writeback", "writeback"), ("uptodate", "uptodate"), ("private", "private")):
    _flag_prim(f"folio_test_{_flagname}", _ours, "test")
    _flag_prim(f"folio_set_{_flagname}", _ours, "set")
    _flag_prim(f"__folio_set_{_flagname}", _ours, "set")
    _flag_prim(f"folio_clear_{_flagname}", _ours, "clear")
    _flag_prim(f"__folio_clear_{_flagname}", _ours, "clear")
    _flag_prim(f"folio_test_set_{_flagname}", _ours, "testset")
    _flag_prim(f"folio_test_clear_{_flagname}", _ours, "testclear")


@_pure("folio_test_slab PageSlab folio_test_hugetlb PageHuge folio_test_large_maybe_mapped_shared "
       "folio_test_pmd_mappable PageTransHuge PageTransCompound folio_test_partially_mapped",
       "the scenarios' page is an order-0 user page: not a slab page, not hugetlb, not PMD-mappable")
def _not_slab(args, ctx):
    return 0 if args and _page(args[0]) else UNKNOWN


@_pure("is_vm_hugetlb_page pgd_none_or_clear_bad p4d_none_or_clear_bad pud_none_or_clear_bad "
       "pmd_none_or_clear_bad pmd_none_or_trans_huge_or_clear_bad pmd_trans_huge pmd_devmap is_swap_pmd "
       "pud_trans_huge pud_devmap pmd_none pud_none p4d_none pgd_none pmd_bad pud_bad",
       "the scenarios' vmas map ordinary pages through page tables populated down to the pte level: "
       "no hugetlb vma, no empty, bad or huge upper-level entry")
def _plain_tables(args, ctx):
    return 0


@_pure("page_mapcount_is_type page_type_has_type",
       "a mapcount that is a page type: the scenarios' page has none (it is mapped, or not, by ptes)")
def _no_page_type(args, ctx):
    return 0


@_pure("pgd_addr_end p4d_addr_end pud_addr_end pmd_addr_end",
       "the end of the walk's range within this entry: the scenario's range lies in one entry at every level")
def _addr_end(args, ctx):
    return args[1] if len(args) > 1 else UNKNOWN


@prim("folio_test_swapbacked PageSwapBacked", "fallback", "shared",
      "PG_swapbacked: the model's anon pages are swap-backed, its file pages are not")
def _swapbacked(state, tid, args, ctx):
    page = _page(args[0]) if args else None
    if page is None:
        return Effect(state, UNKNOWN)
    mapping = state.page(page).mapping
    return Effect(state, int(isinstance(mapping, Obj) and mapping.kind == "anon"))


def _tag(v) -> str:
    """A radix-tree tag or xarray mark by its name (PAGECACHE_TAG_DIRTY)."""
    return v.name if isinstance(v, Sym) else str(v)


def _mark(state: State, s, index, tag: str, on: bool) -> Effect:
    """Set or clear an xarray mark; a missing entry is left alone (no BUG, unlike the radix tree),
    and has no marks to clear (erasing an entry takes its marks)."""
    if s.lookup(index) is None:
        return Effect(state, 0)
    tags = (set(s.tags) | {(index, tag)}) if on else (set(s.tags) - {(index, tag)})
    return Effect(state.with_space(replace(s, tags=tuple(sorted(tags)))), 0)


def _xa_mark(on: bool):
    def impl(state, tid, args, ctx):
        name = _space(state, args[0])
        if name is None or len(args) < 3:
            return Effect(state, UNKNOWN)
        return _mark(state, state.space(name), args[1], _tag(args[2]), on)
    return impl


prim("__xa_set_mark xa_set_mark", "override", "shared",
     "mark the entry at index (a missing entry is left alone: no BUG in the xarray, unlike the radix tree)")(
    _xa_mark(True))
prim("__xa_clear_mark xa_clear_mark", "override", "shared", "clear the entry's mark at index")(_xa_mark(False))


# An xa_state (XA_STATE(xas, &mapping->i_pages, index)) is the value Obj("xas", "space:index"): the
# xarray and the index it walks.  The model's folios are order-0, so a walk touches one entry.
def _xas(v) -> tuple[str, object]:
    space, _, index = v.name.partition(":")
    return space, int(index) if index.lstrip("-").isdigit() else UNKNOWN


def xa_state(args) -> object:
    """XA_STATE(name, xa, index) and XA_STATE_ORDER(name, xa, index, order): the value bound to name."""
    xa = args[1] if len(args) > 1 else None
    if not (isinstance(xa, Addr) and xa.obj.kind == "space" and xa.field in ("i_pages", "page_tree")):
        return UNKNOWN
    index = args[2] if len(args) > 2 and isinstance(args[2], int) else "?"
    return Obj("xas", f"{xa.obj.name}:{index}")


# --- 6.x: page_vma_mapped_walk() ---------------------------------------------------------------------
# DEFINE_FOLIO_VMA_WALK(pvmw, folio, vma, address, flags) declares the walk Obj("pvmw", page).  The
# model's page is mapped by at most one pte (the scenario's), so a walk finds it once.
def vma_walk(args) -> object:
    page = _page(args[1]) if len(args) > 1 else None
    return Obj("pvmw", page) if page else UNKNOWN


def _pvmw_member(v: Obj, fieldname: str) -> object:
    """pvmw.pte: the scenario's pte; pvmw.ptl: its page table lock; other members are unknown."""
    if fieldname == "pte":
        return Obj("pte", v.name)
    if fieldname == "ptl":
        return Obj("global", PTL)
    return UNKNOWN


@prim("page_vma_mapped_walk", "override", "shared",
      "6.x: the next pte mapping the page, with the PTL held: true with pvmw.pte and the PTL taken "
      "(blocking) while the pte maps the page; on the next call the PTL is dropped and false returned; "
      "false without the lock when the pte maps nothing (the walk's unlocked check)",
      waits_for=lambda args: PTL, holder_continues=True)
def _pvmw_walk(state, tid, args, ctx):
    v = args[0] if args else None
    if not (isinstance(v, Obj) and v.kind == "pvmw"):
        return Effect(state, UNKNOWN)
    if state.owner(PTL) == tid:
        return _release(state, PTL)
    if state.page(v.name).pte != "present":
        return Effect(state, 0)
    return replace(_acquire(state, tid, PTL, SPINLOCK), value=1)


@prim("page_vma_mapped_walk_done", "override", "shared", "6.x: end a walk early: drop its PTL if held")
def _pvmw_done(state, tid, args, ctx):
    return _release(state, PTL) if state.owner(PTL) == tid else Effect(state, 0)


DECLARES = {"XA_STATE": xa_state, "XA_STATE_ORDER": xa_state,
            "DEFINE_FOLIO_VMA_WALK": vma_walk, "DEFINE_PAGE_VMA_WALK": vma_walk}
# objects the primitives own, by kind: `&x` is x itself, and x.member is read here
HANDLES = {"xas": lambda v, f: UNKNOWN, "pvmw": _pvmw_member}


def _xas_at(state: State, args, nargs: int = 1):
    """(space name, index, Space) of the xa_state argument, when the model knows its index."""
    v = args[0] if args else None
    if not (isinstance(v, Obj) and v.kind == "xas") or len(args) < nargs:
        return None
    name, index = _xas(v)
    return None if index is UNKNOWN else (name, index, state.space(name))


@_pure("xa_is_value xa_is_retry xa_is_zero xas_retry xa_is_internal xa_is_sibling xa_is_node xa_is_err",
       "the model's xarray entries are pages or NULL: never a value (shadow), retry, zero, sibling or node entry")
def _xa_plain_entry(args, ctx):
    v = args[-1] if args else UNKNOWN
    return 0 if v == 0 or _page(v) else UNKNOWN


@_pure("folio_try_get folio_try_get_rcu get_page_unless_zero",
       "a speculative reference on the model's page succeeds: its reference count is not model state")
def _try_get(args, ctx):
    return 1 if args and _page(args[0]) else UNKNOWN


@prim("xas_load xas_reload", "override", "shared", "the entry at the xa_state's index, or NULL")
def _xas_load(state, tid, args, ctx):
    at = _xas_at(state, args)
    if at is None:
        return Effect(state, UNKNOWN)
    page = at[2].lookup(at[1])
    return Effect(state, Obj("page", page) if page else 0)


@prim("xas_store", "override", "shared",
      "store a page (or NULL: erase, with its marks) at the xa_state's index; returns the old entry")
def _xas_store(state, tid, args, ctx):
    at = _xas_at(state, args, 2)
    if at is None:
        return Effect(state, UNKNOWN)
    _, index, s = at
    return _store_entry(state, s, index, args[1])


def _store_entry(state: State, s, index: int, value) -> Effect:
    """An xarray store at index: a page, or NULL (erase, with the entry's marks); the old entry."""
    old = s.lookup(index)
    radix = tuple(x for x in s.radix if x[0] != index)
    tags = s.tags
    page = _page(value)
    if page is not None:
        radix = tuple(sorted(radix + ((index, page),)))
    elif value == 0:
        tags = tuple(t for t in s.tags if t[0] != index)
    else:
        return Effect(state, UNKNOWN)  # a value entry (a shadow) or one the model does not know
    return Effect(state.with_space(replace(s, radix=radix, tags=tags)), Obj("page", old) if old else 0)


def _xas_mark(on: bool):
    def impl(state, tid, args, ctx):
        at = _xas_at(state, args, 2)
        if at is None:
            return Effect(state, UNKNOWN)
        _, index, s = at
        return _mark(state, s, index, _tag(args[1]), on)
    return impl


prim("xas_set_mark", "override", "shared", "mark the entry at the xa_state's index")(_xas_mark(True))
prim("xas_clear_mark", "override", "shared", "clear a mark of the entry at the xa_state's index")(_xas_mark(False))


@_pure("xas_error xas_nomem xas_create_range xas_set_update xas_set_order xas_reset",
       "the xarray's allocation and error plumbing: the model's stores never fail or allocate")
def _xas_plumbing(args, ctx):
    return 0


@_pure("xas_next", "the entry after the xa_state's index: not one the model's order-0 folios use")
def _xas_next(args, ctx):
    return UNKNOWN


@_pure("swap_address_space", "6.x: the swap cache's address space for an entry (the model has one)")
def _swap_address_space(args, ctx):
    return Obj("space", "swapper_space")


@_pure("swp_offset", "a swap entry's offset: the model's entries are offsets of its one swap device")
def _swp_offset(args, ctx):
    v = args[0] if args else UNKNOWN
    return v.get("val") if isinstance(v, Struct) else UNKNOWN


@_pure("swp_type", "a swap entry's device: the model has one (type 0)")
def _swp_type(args, ctx):
    return 0 if args and isinstance(args[0], Struct) else UNKNOWN


@_pure("swp_entry", "the swap entry of (type, offset): its offset, on the model's one device")
def _swp_entry(args, ctx):
    return Struct((("val", args[1]),)) if len(args) > 1 and isinstance(args[1], int) else UNKNOWN


@_pure("swap_cache_index", "6.x: the swap cache index of an entry: the entry's value, as in 3.x's page_private")
def _swap_cache_index(args, ctx):
    v = args[0] if args else UNKNOWN
    return v.get("val") if isinstance(v, Struct) else v if isinstance(v, int) else UNKNOWN


@prim("xa_load", "override", "shared", "the page at index or NULL")
def _xa_load(state, tid, args, ctx):
    return _radix_lookup(state, tid, args, ctx)


@prim("xa_store __xa_store", "override", "shared",
      "store a page at index (NULL: erase it and its marks); returns the old entry")
def _xa_store(state, tid, args, ctx):
    name = _space(state, args[0]) if args else None
    if name is None or len(args) < 3 or not isinstance(args[1], int):
        return Effect(state, UNKNOWN)
    return _store_entry(state, state.space(name), args[1], args[2])


@prim("__xa_erase xa_erase", "override", "shared", "remove the entry at index (and its marks)")
def _xa_erase(state, tid, args, ctx):
    return _radix_delete(state, tid, args, ctx)


# --- what the model leaves out ------------------------------------------------------------------
# Reference counts, zone statistics, the accessed bit, TLB batching, inode dirtiness and the swap
# map are not model state.  Fallbacks only: a tree that defines these is interpreted instead.
@_pure("page_cache_get page_cache_release get_page put_page __dec_zone_page_state __inc_zone_page_state "
       "mark_page_accessed tlb_remove_tlb_entry tlb_flush_mmu __mark_inode_dirty swapcache_free",
       "reference counts, statistics, the accessed bit, TLB batching, inode dirtiness, the swap map: "
       "not model state, no effect the scenarios can observe", mode="fallback")
def _no_effect(args, ctx):
    return 0


def _choice(name: str, doc: str):
    prim(name, "fallback", "choice", doc)(None)


_choice("pte_dirty", "the pte's hardware dirty bit (not kept in the model's pte): both outcomes")
_choice("pte_young", "the pte's hardware accessed bit (not kept in the model's pte): both outcomes")
_choice("__tlb_remove_page", "whether the TLB gather batch still has room: both outcomes")


# BUG_ON, VM_BUG_ON (only when the profile defines CONFIG_DEBUG_VM), WARN_ON and WARN_ON_ONCE are
# handled by the interpreter: BUG_ON kills the thread with a kernel-bug hazard when its
# condition is decided true; WARN_ON* return their condition and record a warning.
ASSERTS = {
    "BUG_ON": "kernel BUG when the condition is true",
    "VM_BUG_ON": "kernel BUG when the condition is true, with CONFIG_DEBUG_VM (--define); else nothing",
    "WARN_ON": "a warning when the condition is true; returns the condition",
    "WARN_ON_ONCE": "a warning when the condition is true; returns the condition",
}
CHOICES = {
    "need_resched": "may become true at any time: both outcomes are explored",
}
