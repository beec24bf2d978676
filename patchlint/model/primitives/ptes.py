"""Page tables: the scenario's one pte (its value, reading, clearing and installing it), the
page table lock (PTL) the functions that map it take, 6.x's page_vma_mapped_walk(), and the
upper levels of the table, which the scenarios' vmas populate down to the pte.

A pte's value is Obj("pteval", "KIND:PAGE"): what it maps (present, none, swap) and which page.
"""

from __future__ import annotations

from dataclasses import replace

from patchlint.model.primitives.locks import PTL, acquire, release
from patchlint.model.primitives.registry import Ctx, Effect, choice, page_of, prim, pure
from patchlint.model.state import SPINLOCK, UNKNOWN, Obj, State, Struct


def _pteval(v: object) -> tuple[str, str] | None:
    if isinstance(v, Obj) and v.kind == "pteval":
        kind, page = v.name.split(":")
        return kind, page
    return None


# --- the PTL ------------------------------------------------------------------------------------
@prim("pte_offset_map_lock", "override", "shared",
      "map the pte and take the page table lock (PTL, a spinlock); returns the scenario's pte",
      waits_for=lambda args: PTL)
def _pte_lock(state: State, tid: int, args: tuple, ctx: Ctx) -> Effect:
    return replace(acquire(state, tid, PTL, SPINLOCK), value=Obj("pte", ctx.page))


@prim("page_check_address __page_check_address", "override", "shared",
      "3.x: take the PTL of the page table mapping the page at address; the scenario's pte, still "
      "locked, if it maps the page, else NULL with the PTL dropped", waits_for=lambda args: PTL)
def _page_check_address(state: State, tid: int, args: tuple, ctx: Ctx) -> Effect:
    page = page_of(args[0]) if args else None
    if page is None:
        return Effect(state, UNKNOWN)
    if state.page(page).pte != "present":
        return Effect(state, 0)
    return replace(acquire(state, tid, PTL, SPINLOCK), value=Obj("pte", page))


# --- the pte ------------------------------------------------------------------------------------
@prim("__pte_read", "override", "shared", "*pte: the value of the scenario's pte")
def _pte_read(state: State, tid: int, args: tuple, ctx: Ctx) -> Effect:
    if not any(p.name == args[0].name for p in state.pages):
        return Effect(state, Obj("pteval", f"none:{args[0].name}"))
    return Effect(state, Obj("pteval", f"{state.page(args[0].name).pte}:{args[0].name}"))


@prim("ptep_get_and_clear ptep_clear_flush ptep_get_and_clear_full", "override", "shared",
      "clear the pte, return its old value (the arch's TLB flush is not model state)")
def _pte_clear(state: State, tid: int, args: tuple, ctx: Ctx) -> Effect:
    pte = args[2]
    if not (isinstance(pte, Obj) and pte.kind == "pte"):
        return Effect(state, UNKNOWN)
    if not any(p.name == pte.name for p in state.pages):
        return Effect(state, Obj("pteval", f"none:{pte.name}"))
    p = state.page(pte.name)
    return Effect(state.with_page(replace(p, pte="none")), Obj("pteval", f"{p.pte}:{pte.name}"))


@prim("pte_clear", "override", "shared", "clear the pte")
def _pte_clear2(state: State, tid: int, args: tuple, ctx: Ctx) -> Effect:
    pte = args[2]
    if not (isinstance(pte, Obj) and pte.kind == "pte"):
        return Effect(state, UNKNOWN)
    if not any(p.name == pte.name for p in state.pages):
        return Effect(state, 0)
    return Effect(state.with_page(replace(state.page(pte.name), pte="none")), 0)


@prim("set_pte_at", "override", "shared", "install a pte value")
def _set_pte(state: State, tid: int, args: tuple, ctx: Ctx) -> Effect:
    pte, val = args[2], args[3]
    if not (isinstance(pte, Obj) and pte.kind == "pte"):
        return Effect(state, UNKNOWN)
    kind = val.name.split(":")[0] if isinstance(val, Obj) and val.kind == "pteval" else "present"
    if not any(p.name == pte.name for p in state.pages):
        return Effect(state, 0)  # another pte of the table: not the scenario's
    return Effect(state.with_page(replace(state.page(pte.name), pte=kind)), 0)


# --- a pte's value ------------------------------------------------------------------------------
@pure("pte_none", "the pte value maps nothing")
def _pte_none(args: tuple, ctx: Ctx) -> object:
    v = _pteval(args[0])
    return UNKNOWN if v is None else int(v[0] == "none")


@pure("pte_same", "two pte values are the same (the model's values: what they map, and how)")
def _pte_same(args: tuple, ctx: Ctx) -> object:
    a, b = (_pteval(args[0]), _pteval(args[1])) if len(args) > 1 else (None, None)
    return UNKNOWN if a is None or b is None else int(a == b)


@pure("pte_present", "the pte value maps a page")
def _pte_present(args: tuple, ctx: Ctx) -> object:
    v = _pteval(args[0])
    return UNKNOWN if v is None else int(v[0] == "present")


@pure("pte_pfn", "the frame a present pte maps")
def _pte_pfn(args: tuple, ctx: Ctx) -> object:
    v = _pteval(args[0])
    return Obj("frame", v[1]) if v and v[0] == "present" else UNKNOWN


@pure("pte_to_swp_entry", "the swap entry a swap pte holds: the scenario's swap.entry")
def _pte_swp(args: tuple, ctx: Ctx) -> object:
    v = _pteval(args[0]) if args else None
    return Struct((("val", ctx.swap_entry),)) if v is not None and v[0] == "swap" else UNKNOWN


@pure("swp_entry_to_pte", "a pte holding a swap entry")
def _swp_pte(args: tuple, ctx: Ctx) -> object:
    return Obj("pteval", f"swap:{ctx.page}")


@pure("vm_normal_page", "the scenario's page for a present pte, else NULL")
def _vm_normal_page(args: tuple, ctx: Ctx) -> object:
    v = _pteval(args[2]) if len(args) > 2 else None
    if v is None:
        return UNKNOWN
    return Obj("page", v[1]) if v[0] == "present" else 0


choice("pte_dirty", "the pte's hardware dirty bit (not kept in the model's pte): both outcomes")
choice("pte_young", "the pte's hardware accessed bit (not kept in the model's pte): both outcomes")


# --- the upper levels ---------------------------------------------------------------------------
@pure("is_vm_hugetlb_page pgd_none_or_clear_bad p4d_none_or_clear_bad pud_none_or_clear_bad "
      "pmd_none_or_clear_bad pmd_none_or_trans_huge_or_clear_bad pmd_trans_huge pmd_devmap is_swap_pmd "
      "pud_trans_huge pud_devmap pmd_none pud_none p4d_none pgd_none pmd_bad pud_bad",
      "the scenarios' vmas map ordinary pages through page tables populated down to the pte level: "
      "no hugetlb vma, no empty, bad or huge upper-level entry")
def _plain_tables(args: tuple, ctx: Ctx) -> object:
    return 0


@pure("pgd_addr_end p4d_addr_end pud_addr_end pmd_addr_end",
      "the end of the walk's range within this entry: the scenario's range lies in one entry at every level")
def _addr_end(args: tuple, ctx: Ctx) -> object:
    return args[1] if len(args) > 1 else UNKNOWN


# --- 6.x: page_vma_mapped_walk() ----------------------------------------------------------------
# DEFINE_FOLIO_VMA_WALK(pvmw, folio, vma, address, flags) declares the walk Obj("pvmw", page).  The
# model's page is mapped by at most one pte (the scenario's), so a walk finds it once.
def vma_walk(args: tuple) -> object:
    """DEFINE_FOLIO_VMA_WALK(name, folio, ...) and DEFINE_PAGE_VMA_WALK: the value bound to name."""
    page = page_of(args[1]) if len(args) > 1 else None
    return Obj("pvmw", page) if page else UNKNOWN


def pvmw_member(v: Obj, fieldname: str) -> object:
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
def _pvmw_walk(state: State, tid: int, args: tuple, ctx: Ctx) -> Effect:
    v = args[0] if args else None
    if not (isinstance(v, Obj) and v.kind == "pvmw"):
        return Effect(state, UNKNOWN)
    if state.owner(PTL) == tid:
        return release(state, PTL)
    if state.page(v.name).pte != "present":
        return Effect(state, 0)
    return replace(acquire(state, tid, PTL, SPINLOCK), value=1)


@prim("page_vma_mapped_walk_done", "override", "shared", "6.x: end a walk early: drop its PTL if held")
def _pvmw_done(state: State, tid: int, args: tuple, ctx: Ctx) -> Effect:
    return release(state, PTL) if state.owner(PTL) == tid else Effect(state, 0)
