"""The page cache and the swap cache as the model keeps them: 3.x's radix tree (entries and
tags), 6.x's xarray (mapping->i_pages: entries and marks, the xa_ and xas_ interfaces and the
xa_state a walk declares), and the swap entries that index the swap cache.

The model's folios are order-0, so a walk touches one entry; its entries are pages or NULL.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace

from patchlint.model.primitives.registry import Ctx, Effect, page_of, prim, pure
from patchlint.model.state import UNKNOWN, Addr, Obj, Space, State, Struct, Sym


def _space(v: object) -> str | None:
    if isinstance(v, Addr) and v.obj.kind == "space":
        return v.obj.name
    return None


def _tag(v: object) -> str:
    """A radix-tree tag or xarray mark by its name (PAGECACHE_TAG_DIRTY)."""
    return v.name if isinstance(v, Sym) else str(v)


# --- radix tree (the page cache and the swap cache) ---------------------------------------------
@prim("radix_tree_insert", "override", "shared", "insert a page at index; -EEXIST (-17) when taken")
def _radix_insert(state: State, tid: int, args: tuple, ctx: Ctx) -> Effect:
    name = _space(args[0])
    page = page_of(args[2])
    if name is None or page is None or not isinstance(args[1], int):
        return Effect(state, UNKNOWN)
    s = state.space(name)
    if s.lookup(args[1]) is not None:
        return Effect(state, -17)
    return Effect(state.with_space(replace(s, radix=tuple(sorted(s.radix + ((args[1], page),))))), 0)


@prim("radix_tree_delete", "override", "shared", "remove the entry at index (and its tags)")
def _radix_delete(state: State, tid: int, args: tuple, ctx: Ctx) -> Effect:
    name = _space(args[0])
    if name is None:
        return Effect(state, UNKNOWN)
    s = state.space(name)
    found = s.lookup(args[1])
    s = replace(s, radix=tuple(x for x in s.radix if x[0] != args[1]),
                tags=tuple(t for t in s.tags if t[0] != args[1]))
    return Effect(state.with_space(s), Obj("page", found) if found else 0)


# the xarray's erase is the radix tree's delete: an entry's marks go with it, as its tags did
prim("__xa_erase xa_erase", "override", "shared", "remove the entry at index (and its marks)")(_radix_delete)


@prim("radix_tree_lookup xa_load", "override", "shared", "the page at index or NULL")
def _radix_lookup(state: State, tid: int, args: tuple, ctx: Ctx) -> Effect:
    name = _space(args[0])
    if name is None:
        return Effect(state, UNKNOWN)
    found = state.space(name).lookup(args[1])
    return Effect(state, Obj("page", found) if found else 0)


@prim("radix_tree_tag_set", "override", "shared",
      "tag the entry at index; BUG_ON(slot == NULL) when the index has no entry")
def _radix_tag_set(state: State, tid: int, args: tuple, ctx: Ctx) -> Effect:
    name = _space(args[0])
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


# --- 6.x: the xarray ----------------------------------------------------------------------------
def _mark(state: State, s: Space, index: object, tag: str, on: bool) -> Effect:
    """Set or clear an xarray mark; a missing entry is left alone (no BUG, unlike the radix tree),
    and has no marks to clear (erasing an entry takes its marks)."""
    if s.lookup(index) is None:
        return Effect(state, 0)
    tags = (set(s.tags) | {(index, tag)}) if on else (set(s.tags) - {(index, tag)})
    return Effect(state.with_space(replace(s, tags=tuple(sorted(tags)))), 0)


def _xa_mark(on: bool) -> Callable:
    def impl(state: State, tid: int, args: tuple, ctx: Ctx) -> Effect:
        name = _space(args[0])
        if name is None or len(args) < 3:
            return Effect(state, UNKNOWN)
        return _mark(state, state.space(name), args[1], _tag(args[2]), on)
    return impl


prim("__xa_set_mark xa_set_mark", "override", "shared",
     "mark the entry at index (a missing entry is left alone: no BUG in the xarray, unlike the radix tree)")(
    _xa_mark(True))
prim("__xa_clear_mark xa_clear_mark", "override", "shared", "clear the entry's mark at index")(_xa_mark(False))


def _store_entry(state: State, s: Space, index: int, value: object) -> Effect:
    """An xarray store at index: a page, or NULL (erase, with the entry's marks); the old entry."""
    old = s.lookup(index)
    radix = tuple(x for x in s.radix if x[0] != index)
    tags = s.tags
    page = page_of(value)
    if page is not None:
        radix = tuple(sorted(radix + ((index, page),)))
    elif value == 0:
        tags = tuple(t for t in s.tags if t[0] != index)
    else:
        return Effect(state, UNKNOWN)  # a value entry (a shadow) or one the model does not know
    return Effect(state.with_space(replace(s, radix=radix, tags=tags)), Obj("page", old) if old else 0)


@prim("xa_store __xa_store", "override", "shared",
      "store a page at index (NULL: erase it and its marks); returns the old entry")
def _xa_store(state: State, tid: int, args: tuple, ctx: Ctx) -> Effect:
    name = _space(args[0]) if args else None
    if name is None or len(args) < 3 or not isinstance(args[1], int):
        return Effect(state, UNKNOWN)
    return _store_entry(state, state.space(name), args[1], args[2])


@pure("xa_is_value xa_is_retry xa_is_zero xas_retry xa_is_internal xa_is_sibling xa_is_node xa_is_err",
      "the model's xarray entries are pages or NULL: never a value (shadow), retry, zero, sibling or node entry")
def _xa_plain_entry(args: tuple, ctx: Ctx) -> object:
    v = args[-1] if args else UNKNOWN
    return 0 if v == 0 or page_of(v) else UNKNOWN


# --- 6.x: the xa_state of a walk ----------------------------------------------------------------
# An xa_state (XA_STATE(xas, &mapping->i_pages, index)) is the value Obj("xas", "space:index"): the
# xarray and the index it walks.
def xas_target(v: Obj) -> tuple[str, object]:
    """The address space an xa_state walks, and its index (UNKNOWN when the model does not know it)."""
    space, _, index = v.name.partition(":")
    return space, int(index) if index.lstrip("-").isdigit() else UNKNOWN


def xa_state(args: tuple) -> object:
    """XA_STATE(name, xa, index) and XA_STATE_ORDER(name, xa, index, order): the value bound to name."""
    xa = args[1] if len(args) > 1 else None
    if not (isinstance(xa, Addr) and xa.obj.kind == "space" and xa.field in ("i_pages", "page_tree")):
        return UNKNOWN
    index = args[2] if len(args) > 2 and isinstance(args[2], int) else "?"
    return Obj("xas", f"{xa.obj.name}:{index}")


def _xas_at(state: State, args: tuple, nargs: int = 1) -> tuple[str, int, Space] | None:
    """(space name, index, Space) of the xa_state argument, when the model knows its index."""
    v = args[0] if args else None
    if not (isinstance(v, Obj) and v.kind == "xas") or len(args) < nargs:
        return None
    name, index = xas_target(v)
    return None if index is UNKNOWN else (name, index, state.space(name))


@prim("xas_load xas_reload", "override", "shared", "the entry at the xa_state's index, or NULL")
def _xas_load(state: State, tid: int, args: tuple, ctx: Ctx) -> Effect:
    at = _xas_at(state, args)
    if at is None:
        return Effect(state, UNKNOWN)
    page = at[2].lookup(at[1])
    return Effect(state, Obj("page", page) if page else 0)


@prim("xas_store", "override", "shared",
      "store a page (or NULL: erase, with its marks) at the xa_state's index; returns the old entry")
def _xas_store(state: State, tid: int, args: tuple, ctx: Ctx) -> Effect:
    at = _xas_at(state, args, 2)
    if at is None:
        return Effect(state, UNKNOWN)
    _, index, s = at
    return _store_entry(state, s, index, args[1])


def _xas_mark(on: bool) -> Callable:
    def impl(state: State, tid: int, args: tuple, ctx: Ctx) -> Effect:
        at = _xas_at(state, args, 2)
        if at is None:
            return Effect(state, UNKNOWN)
        _, index, s = at
        return _mark(state, s, index, _tag(args[1]), on)
    return impl


prim("xas_set_mark", "override", "shared", "mark the entry at the xa_state's index")(_xas_mark(True))
prim("xas_clear_mark", "override", "shared", "clear a mark of the entry at the xa_state's index")(_xas_mark(False))


@pure("xas_error xas_nomem xas_create_range xas_set_update xas_set_order xas_reset",
      "the xarray's allocation and error plumbing: the model's stores never fail or allocate")
def _xas_plumbing(args: tuple, ctx: Ctx) -> object:
    return 0


@pure("xas_next", "the entry after the xa_state's index: not one the model's order-0 folios use")
def _xas_next(args: tuple, ctx: Ctx) -> object:
    return UNKNOWN


# --- swap entries: the swap cache's indexes -----------------------------------------------------
@pure("get_swap_page folio_alloc_swap",
      "a free swap entry: the scenario's swap.entry (the scenario, not the swap map, decides which slot "
      "reclaim gets)")
def _get_swap_page(args: tuple, ctx: Ctx) -> object:
    return Struct((("val", ctx.swap_entry),))


@pure("swap_address_space", "6.x: the swap cache's address space for an entry (the model has one)")
def _swap_address_space(args: tuple, ctx: Ctx) -> object:
    return Obj("space", "swapper_space")


@pure("swp_offset", "a swap entry's offset: the model's entries are offsets of its one swap device")
def _swp_offset(args: tuple, ctx: Ctx) -> object:
    v = args[0] if args else UNKNOWN
    return v.get("val") if isinstance(v, Struct) else UNKNOWN


@pure("swp_type", "a swap entry's device: the model has one (type 0)")
def _swp_type(args: tuple, ctx: Ctx) -> object:
    return 0 if args and isinstance(args[0], Struct) else UNKNOWN


@pure("swp_entry", "the swap entry of (type, offset): its offset, on the model's one device")
def _swp_entry(args: tuple, ctx: Ctx) -> object:
    return Struct((("val", args[1]),)) if len(args) > 1 and isinstance(args[1], int) else UNKNOWN


@pure("swap_cache_index", "6.x: the swap cache index of an entry: the entry's value, as in 3.x's page_private")
def _swap_cache_index(args: tuple, ctx: Ctx) -> object:
    v = args[0] if args else UNKNOWN
    return v.get("val") if isinstance(v, Struct) else v if isinstance(v, int) else UNKNOWN
