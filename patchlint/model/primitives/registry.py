"""The one table of primitives, and what an entry of it is.

Each entry says
- mode: "override" (used even when the tree defines the name: locks, radix tree,
  bit operations the model must own) or "fallback" (used only when the tree has no
  definition: page-flag accessors, page_mapping, ... that newer trees generate with
  macros);
- kind: "pure" (no shared state, runs inside the interpreter), "shared" (reads or
  writes model state: a visible event, a scheduling point), or "choice" (the
  result is nondeterministic: both outcomes are explored);
- its documentation (the semantics, in one line).

Shared primitives take (state, tid, args, ctx) and return an Effect; pure ones take
(args, ctx) and return a value.  The families (locks, pages, xarray, ptes, keys) register
into REGISTRY through prim(), pure() and choice() when they are imported; the package's
__init__ imports every family, so the table is whole wherever it is read.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from patchlint.model.state import Addr, Obj, State


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
         holder_continues: bool = False, local: Callable | None = None) -> Callable[[Callable], Callable]:
    """Register fn under each space-separated name of `name` (a decorator)."""
    def deco(fn: Callable) -> Callable:
        for n in name.split():
            REGISTRY[n] = Prim(n, mode, kind, doc, fn, waits_for, holder_continues=holder_continues, local=local)
        return fn
    return deco


def pure(name: str, doc: str, mode: str = "override") -> Callable[[Callable], Callable]:
    """Register a pure primitive: (args, ctx) -> value, evaluated in place by the interpreter."""
    def deco(fn: Callable) -> Callable:
        prim(name, mode, "pure", doc)(fn)
        return fn
    return deco


def choice(name: str, doc: str) -> None:
    """Register a fallback whose result the model does not know: both outcomes are explored."""
    prim(name, "fallback", "choice", doc)(None)


def page_of(v: object) -> str | None:
    """The name of the model page a value is, or is a member of (&page->flags): every family
    reads its page arguments this way."""
    if isinstance(v, Obj) and v.kind == "page":
        return v.name
    if isinstance(v, Addr) and v.obj.kind == "page":
        return v.obj.name
    return None
