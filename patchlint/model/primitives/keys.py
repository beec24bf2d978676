"""s390 storage keys: the change bit of the frame under the model's page, read and written by
primitives because the tree's own accessors are inline asm (iske, sske).  The bit records where
it was last cleared, so a lost-dirty hazard can say which call consumed it.
"""

from __future__ import annotations

from dataclasses import replace

from patchlint.model.primitives.registry import Ctx, Effect, page_of, prim, pure
from patchlint.model.state import UNKNOWN, Obj, State

_PAGE_CHANGED = 0x02


def _frame(v: object) -> str | None:
    return v.name if isinstance(v, Obj) and v.kind == "frame" else None


@pure("page_to_pfn", "the page's frame (for the storage key)")
def _page_to_pfn(args: tuple, ctx: Ctx) -> object:
    page = page_of(args[0])
    return Obj("frame", page) if page else UNKNOWN


@prim("page_get_storage_key", "override", "shared",
      "read the frame's storage key (change bit 0x02); the tree's own is inline asm (iske)")
def _get_key(state: State, tid: int, args: tuple, ctx: Ctx) -> Effect:
    frame = _frame(args[0])
    if frame is None:
        return Effect(state, UNKNOWN)
    return Effect(state, _PAGE_CHANGED if state.page(frame).key_changed else 0)


@prim("page_set_storage_key", "override", "shared",
      "write the frame's storage key; the tree's own is inline asm (sske)")
def _set_key(state: State, tid: int, args: tuple, ctx: Ctx) -> Effect:
    frame = _frame(args[0])
    if frame is None or not isinstance(args[1], int):
        return Effect(state, UNKNOWN)
    p = state.page(frame)
    changed = int(bool(args[1] & _PAGE_CHANGED))
    cleared = tuple(ctx.site) if p.key_changed and not changed else p.key_cleared_at
    return Effect(state.with_page(replace(p, key_changed=changed, key_cleared_at=cleared)), 0)
