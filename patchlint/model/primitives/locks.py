"""Lock primitives: what a lock is in the model (lock_id), taking and releasing one, and the
lock operations of the static checks' own table (grammars/locks.toml), plus might_sleep.

A primitive whose lock is an argument (spin_lock(&mapping->tree_lock)) locks what that argument
names in the model; the page lock's and the PTL's fixed classes lock the page and the
scenario's page table.  Other fixed classes (anon_vma, mmap_lock, RCU) are not model state:
their helpers are interpreted from the tree, or left to their summaries.
"""

from __future__ import annotations

from dataclasses import replace
from functools import partial

from patchlint.extract.vocab import Primitive, load_vocabulary
from patchlint.model.primitives.registry import REGISTRY, Ctx, Effect, Prim, prim
from patchlint.model.primitives.xarray import xas_target
from patchlint.model.state import SLEEPLOCK, SPINLOCK, UNKNOWN, Addr, Obj, State
from patchlint.model.tables import tables

PTL = "ptl"  # the scenario's one page table lock


def lock_id(v: object) -> str | None:
    """&mapping->tree_lock -> "swapper_space.tree_lock"; the page lock is "page_lock:NAME"."""
    if isinstance(v, Addr):
        # &mapping->i_pages (xa_lock_irq()'s argument) and &mapping->i_pages.xa_lock are one lock
        lock_in = tables().locks_in.get(v.field)
        return f"{v.obj.name}.{v.field}" + (f".{lock_in}" if lock_in else "")
    if isinstance(v, Obj) and v.kind == "page":
        return f"page_lock:{v.name}"
    if isinstance(v, Obj) and v.kind in ("local", "global"):
        return v.name
    if isinstance(v, Obj) and v.kind == "xas":  # xas_lock_irq(&xas): the lock of the xarray it walks
        return lock_id(Addr(Obj("space", xas_target(v)[0]), "i_pages"))
    return None


def acquire(state: State, tid: int, lock: str | None, kind: str) -> Effect:
    """Thread tid takes lock (the page lock sets PG_locked too); 1, or UNKNOWN for no lock."""
    if lock is None:
        return Effect(state, UNKNOWN)
    new = state.acquire(lock, tid, kind)
    if lock.startswith("page_lock:"):
        name = lock.split(":", 1)[1]
        new = new.with_page(new.page(name).with_flag("locked", True))
    return Effect(new, 1)


def release(state: State, lock: str | None) -> Effect:
    """Release lock (the page lock clears PG_locked too)."""
    if lock is None:
        return Effect(state, 0)
    new = state.release(lock)
    if lock.startswith("page_lock:"):
        name = lock.split(":", 1)[1]
        new = new.with_page(new.page(name).with_flag("locked", False))
    return Effect(new, 0)


def _vocab_lock(p: Primitive, args: tuple) -> str | None:
    if isinstance(p.lock, int):
        return lock_id(args[p.lock]) if len(args) > p.lock else None
    if p.lock == "page_lock":
        return lock_id(args[0]) if args else None
    return PTL


def _lock_prim(p: Primitive) -> None:
    kind = SPINLOCK if p.atomic else SLEEPLOCK
    if p.op in ("acquire", "acquire_killable"):
        def impl(state: State, tid: int, args: tuple, ctx: Ctx) -> Effect:
            lock = _vocab_lock(p, args)
            eff = acquire(state, tid, lock, kind)
            # `ptl = pmd_lock(mm, pmd); ... spin_unlock(ptl);`: the lock taken is the value
            value = Obj("global", PTL) if lock == PTL else 0
            return replace(eff, sleep=p.name if p.sleeps else None, value=value)
        waits = partial(_vocab_lock, p)
        doc = f"take {p.kind} {p.lock if isinstance(p.lock, str) else 'named by argument ' + str(p.lock)}" + \
            (" (may sleep)" if p.sleeps else "") + "; blocks while another thread holds it"
    elif p.op == "release":
        def impl(state: State, tid: int, args: tuple, ctx: Ctx) -> Effect:
            return release(state, _vocab_lock(p, args))
        waits = None
        doc = f"release {p.kind}"
    else:  # trylock
        def impl(state: State, tid: int, args: tuple, ctx: Ctx) -> Effect:
            lock = _vocab_lock(p, args)
            if lock is None:
                return Effect(state, UNKNOWN)
            if state.owner(lock) is not None:
                return Effect(state, 0, spin_on=lock)
            return acquire(state, tid, lock, kind)
        waits = None
        doc = f"take {p.kind} if free (never waits); 0 when another thread holds it"
    # a lock named by an argument is model state only where the argument is: the caller's text says
    tracks = not isinstance(p.lock, int)
    REGISTRY[p.name] = Prim(p.name, "override", "shared", doc + " [locks.toml]", impl, waits, tracks)


def _register_locks() -> None:
    # the lock primitives are the static checks' own table: one vocabulary
    for p in load_vocabulary().primitives.values():
        if p.op in ("acquire", "acquire_killable", "release", "trylock") and (
                isinstance(p.lock, int) or p.lock in ("page_lock", "pte_lock")):
            _lock_prim(p)


_register_locks()


@prim("might_sleep", "override", "shared", "a sleeping point: a hazard in atomic context")
def _might_sleep(state: State, tid: int, args: tuple, ctx: Ctx) -> Effect:
    return Effect(state, 0, sleep="might_sleep")
