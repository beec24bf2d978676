"""The primitive registry: the kernel functions and macros whose meaning the model knows.

Everything not listed here is interpreted from the tree's own source.  The table is one
(registry.REGISTRY, with what an entry is); the families register into it when imported:
- locks: lock identities, the lock operations of grammars/locks.toml, might_sleep;
- pages: page flags, fields and mapcount, and what the scenarios' order-0 page is not;
- xarray: the radix tree and xarray of the page cache and swap cache, xa_state, swap entries;
- ptes: the scenario's pte, the PTL, page_vma_mapped_walk(), the upper table levels;
- keys: s390 storage keys.
What belongs to no family (the compiler's hints, what the model leaves out) registers below,
with the tables the interpreter reads beside the registry (DECLARES, HANDLES, ASSERTS, CHOICES).
No entry decides a verdict: hazards come from the state (a tag on a missing slot, a lock
cycle, a dropped change bit).
"""

from __future__ import annotations

from patchlint.model.primitives import keys, pages, ptes, xarray  # noqa: F401 - they register their entries
from patchlint.model.primitives.locks import lock_id
from patchlint.model.primitives.pages import PAGE_FIELDS, flag_accessor
from patchlint.model.primitives.ptes import pvmw_member, vma_walk
from patchlint.model.primitives.registry import REGISTRY, SHARED, Ctx, Effect, Prim, choice, prim, pure
from patchlint.model.primitives.xarray import xa_state
from patchlint.model.state import UNKNOWN, Addr, Obj, Sym

# the registry's face: what the interpreter, the explorer and the relevance search read, and the
# model's values a caller builds a primitive's arguments from
__all__ = ["ASSERTS", "CHOICES", "DECLARES", "HANDLES", "PAGE_FIELDS", "REGISTRY", "SHARED", "UNKNOWN", "Addr",
           "Ctx", "Effect", "Obj", "Prim", "Sym", "choice", "lock_id", "lookup", "prim", "pure"]


def lookup(name: str) -> Prim | None:
    """The primitive `name` means, or None; any PG_ flag accessor is one (registered when first asked)."""
    found = REGISTRY.get(name)
    if found is None:
        found = flag_accessor(name)
    return found


@pure("likely unlikely", "the condition itself")
def _likely(args: tuple, ctx: Ctx) -> object:
    return args[0] if args else UNKNOWN


@pure("cpu_relax", "a pause in a spin loop: no effect on the model")
def _cpu_relax(args: tuple, ctx: Ctx) -> object:
    return 0


# --- what the model leaves out ------------------------------------------------------------------
# Reference counts, zone statistics, the accessed bit, TLB batching, inode dirtiness and the swap
# map are not model state.  Fallbacks only: a tree that defines these is interpreted instead.
@pure("page_cache_get page_cache_release get_page put_page __dec_zone_page_state __inc_zone_page_state "
      "mark_page_accessed tlb_remove_tlb_entry tlb_flush_mmu __mark_inode_dirty swapcache_free",
      "reference counts, statistics, the accessed bit, TLB batching, inode dirtiness, the swap map: "
      "not model state, no effect the scenarios can observe", mode="fallback")
def _no_effect(args: tuple, ctx: Ctx) -> object:
    return 0


choice("__tlb_remove_page", "whether the TLB gather batch still has room: both outcomes")


# macros that declare their first argument, by name -> (args with the declared name first) -> its value
DECLARES = {"XA_STATE": xa_state, "XA_STATE_ORDER": xa_state,
            "DEFINE_FOLIO_VMA_WALK": vma_walk, "DEFINE_PAGE_VMA_WALK": vma_walk}
# objects the primitives own, by kind: `&x` is x itself, and x.member is read here
HANDLES = {"xas": lambda v, f: UNKNOWN, "pvmw": pvmw_member}

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
