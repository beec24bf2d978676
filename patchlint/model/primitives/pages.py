"""The model's page: its flags (bit operations on page->flags, the PageX/folio_test_x accessors
and any other PG_ flag by its accessor's name), its fields (mapping, index, private), its
mapcount, and what the scenarios' order-0 user page is not (a slab, hugetlb or typed page).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import replace

from patchlint.model.primitives.registry import REGISTRY, SHARED, Ctx, Effect, Prim, page_of, prim, pure
from patchlint.model.state import UNKNOWN, Obj, State, Struct, Sym

# Flags of the page's shape, which no primitive changes: the scenarios' page is an order-0 page.
STRUCTURAL = frozenset(("head", "tail", "compound", "hugetlb", "large_rmappable", "large_remappable"))
PAGE_FIELDS = ("mapping", "index", "private")  # the members the interpreter reads and writes as events


def _flag(v: object) -> str | None:
    if isinstance(v, Sym) and v.name.startswith("PG_"):
        return v.name[3:]
    return None


# --- bit operations on page->flags --------------------------------------------------------------
def _bit_local(result: object) -> Callable[[tuple], object]:
    """test_bit() and friends on something other than the model page's flags (a mapping's
    AS_ bits, a cpumask), or on a structural flag: evaluated in place, not a visible event."""
    def local(args: tuple) -> object:
        page, flag = (page_of(args[1]), _flag(args[0])) if len(args) > 1 else (None, None)
        if page is None or flag is None:
            return UNKNOWN if result is None else result
        return 0 if flag in STRUCTURAL and result is None else SHARED
    return local


@prim("test_bit", "override", "shared", "read PG_x of page->flags", local=_bit_local(None))
def _test_bit(state: State, tid: int, args: tuple, ctx: Ctx) -> Effect:
    page, flag = page_of(args[1]), _flag(args[0])
    if page is None or flag is None:
        return Effect(state, UNKNOWN)
    return Effect(state, int(state.page(page).has(flag)))


def _bitop(set_to: bool | None, returns_old: bool) -> Callable:
    def impl(state: State, tid: int, args: tuple, ctx: Ctx) -> Effect:
        page, flag = page_of(args[1]), _flag(args[0])
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


# --- flag accessors -----------------------------------------------------------------------------
def _flag_prim(name: str, flag: str, op: str) -> None:
    def impl(state: State, tid: int, args: tuple, ctx: Ctx) -> Effect:
        page = page_of(args[0]) if args else None
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

# 6.x: the scenarios' page is an order-0 page, so it is its own folio
for _flagname, _ours in (("locked", "locked"), ("dirty", "dirty"), ("swapcache", "swapcache"),
                         ("writeback", "writeback"), ("uptodate", "uptodate"), ("private", "private")):
    _flag_prim(f"folio_test_{_flagname}", _ours, "test")
    _flag_prim(f"folio_set_{_flagname}", _ours, "set")
    _flag_prim(f"__folio_set_{_flagname}", _ours, "set")
    _flag_prim(f"folio_clear_{_flagname}", _ours, "clear")
    _flag_prim(f"__folio_clear_{_flagname}", _ours, "clear")
    _flag_prim(f"folio_test_set_{_flagname}", _ours, "testset")
    _flag_prim(f"folio_test_clear_{_flagname}", _ours, "testclear")


_PAGE_FLAG = re.compile(r"(?:__)?(Set|Clear|TestSet|TestClear)?Page([A-Z]\w*)")
_FOLIO_FLAG = re.compile(r"(?:__)?folio_(test_set|test_clear|test|set|clear)_([a-z]\w*)")
_OPS = {None: "test", "Set": "set", "Clear": "clear", "TestSet": "testset", "TestClear": "testclear",
        "test": "test", "set": "set", "clear": "clear", "test_set": "testset", "test_clear": "testclear"}
# flags that are not bits of page->flags: PageAnon/PageKsm read page->mapping, PageHuge and
# PageTransHuge ask the compound head: the tree's own definitions say what they do
_DERIVED = frozenset(("anon", "ksm", "huge", "transhuge", "movable", "mappingflags", "highmem", "slab"))
# names asked for that are no flag accessor: a function of the name alone, so kept for the process
_NOT_FLAGS: set[str] = set()


def flag_accessor(name: str) -> Prim | None:
    """Any PG_ flag by its accessor's name (PageLRU, __ClearPageActive, folio_test_large...),
    registered the first time it is asked for: the model's page is an order-0 page whose other
    flags start clear and are kept as set.  None for a name that is no flag accessor."""
    if name in _NOT_FLAGS:
        return None
    m = _PAGE_FLAG.fullmatch(name) or _FOLIO_FLAG.fullmatch(name)
    if m is None or m.group(2).lower() in _DERIVED:
        _NOT_FLAGS.add(name)
        return None
    _flag_prim(name, m.group(2).lower(), _OPS[m.group(1)])
    return REGISTRY[name]


@prim("folio_test_swapbacked PageSwapBacked", "fallback", "shared",
      "PG_swapbacked: the model's anon pages are swap-backed, its file pages are not")
def _swapbacked(state: State, tid: int, args: tuple, ctx: Ctx) -> Effect:
    page = page_of(args[0]) if args else None
    if page is None:
        return Effect(state, UNKNOWN)
    mapping = state.page(page).mapping
    return Effect(state, int(isinstance(mapping, Obj) and mapping.kind == "anon"))


# --- fields -------------------------------------------------------------------------------------
@prim("__page_read", "override", "shared", "read page->mapping, ->index or ->private")
def _page_read(state: State, tid: int, args: tuple, ctx: Ctx) -> Effect:
    page, fieldname = page_of(args[0]), args[1]
    return Effect(state, getattr(state.page(page), fieldname))


@prim("__page_write", "override", "shared", "write page->mapping, ->index or ->private")
def _page_write(state: State, tid: int, args: tuple, ctx: Ctx) -> Effect:
    page, fieldname, value = page_of(args[0]), args[1], args[2]
    if isinstance(value, Struct):
        value = value.get("val")
    return Effect(state.with_page(replace(state.page(page), **{fieldname: value})), value)


@prim("page_private", "fallback", "shared", "page->private")
def _page_private(state: State, tid: int, args: tuple, ctx: Ctx) -> Effect:
    return Effect(state, state.page(page_of(args[0])).private)


@prim("set_page_private", "fallback", "shared", "page->private = v")
def _set_page_private(state: State, tid: int, args: tuple, ctx: Ctx) -> Effect:
    return _page_write(state, tid, (args[0], "private", args[1]), ctx)


@prim("page_mapping", "fallback", "shared",
      "&swapper_space for a swap-cache page, NULL for other anon pages, else page->mapping")
def _page_mapping(state: State, tid: int, args: tuple, ctx: Ctx) -> Effect:
    p = state.page(page_of(args[0]))
    if p.has("swapcache"):
        return Effect(state, Obj("space", "swapper_space"))
    if isinstance(p.mapping, Obj) and p.mapping.kind == "anon":
        return Effect(state, 0)
    return Effect(state, p.mapping)


@prim("page_index", "fallback", "shared", "page_private() for a swap-cache page, else page->index")
def _page_index(state: State, tid: int, args: tuple, ctx: Ctx) -> Effect:
    p = state.page(page_of(args[0]))
    return Effect(state, p.private if p.has("swapcache") else p.index)


# --- the mapcount -------------------------------------------------------------------------------
@prim("atomic_add_negative", "override", "shared", "add i to the counter; true if the result is negative")
def _atomic_add_negative(state: State, tid: int, args: tuple, ctx: Ctx) -> Effect:
    i, target = args
    page = page_of(target)
    if page is None or not isinstance(i, int) or target.field != "_mapcount":
        return Effect(state, UNKNOWN)
    p = state.page(page)
    p = replace(p, mapcount=p.mapcount + i)
    return Effect(state.with_page(p), int(p.mapcount < 0))


@prim("atomic_inc_and_test", "override", "shared", "increment the counter; true if it became 0")
def _atomic_inc_and_test(state: State, tid: int, args: tuple, ctx: Ctx) -> Effect:
    return _atomic_add_negative(state, tid, (1, args[0]), ctx) if page_of(args[0]) else Effect(state, UNKNOWN)


@prim("atomic_read", "override", "shared", "read page->_mapcount (other counters are unknown)")
def _atomic_read(state: State, tid: int, args: tuple, ctx: Ctx) -> Effect:
    page = page_of(args[0])
    if page is None or args[0].field != "_mapcount":
        return Effect(state, UNKNOWN)
    return Effect(state, state.page(page).mapcount)


# --- what the page is: its own order-0 folio, a user page -----------------------------------------
@pure("folio_flags const_folio_flags",
      "&folio->flags of the n-th page: the model's page, whose flags test_bit() and friends read")
def _folio_flags(args: tuple, ctx: Ctx) -> object:
    return args[0] if args and page_of(args[0]) else UNKNOWN


@pure("page_folio folio_page", "the scenario's page is its own (order-0) folio, and the folio's page")
def _same_page(args: tuple, ctx: Ctx) -> object:
    return args[0] if args and page_of(args[0]) else UNKNOWN


@pure("folio_test_slab PageSlab folio_test_hugetlb PageHuge folio_test_large_maybe_mapped_shared "
      "folio_test_pmd_mappable PageTransHuge PageTransCompound folio_test_partially_mapped",
      "the scenarios' page is an order-0 user page: not a slab page, not hugetlb, not PMD-mappable")
def _not_slab(args: tuple, ctx: Ctx) -> object:
    return 0 if args and page_of(args[0]) else UNKNOWN


@pure("page_mapcount_is_type page_type_has_type",
      "a mapcount that is a page type: the scenarios' page has none (it is mapped, or not, by ptes)")
def _no_page_type(args: tuple, ctx: Ctx) -> object:
    return 0


@pure("folio_try_get folio_try_get_rcu get_page_unless_zero",
      "a speculative reference on the model's page succeeds: its reference count is not model state")
def _try_get(args: tuple, ctx: Ctx) -> object:
    return 1 if args and page_of(args[0]) else UNKNOWN
