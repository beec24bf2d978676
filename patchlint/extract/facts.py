"""What one path through a function knows: the locks it holds (`Held`), in the
order taken, and the facts that decided it, as a `Variant`; the typed facts
themselves, one record per kind; and the operations that keep a list of
variants small (merging, forgetting what an assignment makes stale).

A fact is kept only where it decides a later branch about a lock: a trylock's
result, a pointer that is non-NULL while its lock is held, the object a lock
was taken on, a page predicate tested twice, what the function returns.
Facts live in frozensets and are hashed and compared as values; nothing
here orders them (where an order is needed, their repr gives one).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

MAX_VARIANTS = 48
# Contexts rather than locks: they make code atomic but impose no order (an RCU read
# section nests either way round with any lock), so they are never ends of an edge.
CONTEXT_KINDS = frozenset({"rcu", "irq", "preempt"})


@dataclass(frozen=True)
class Held:
    cls: str
    kind: str
    how: str  # "lock", "trylock", "spin", "assert" (a BUG_ON/lockdep fact), "caller"
    file: str
    line: int
    function: str
    atomic: bool

    # Locks and variants are hashed over and over (every merge of paths dedupes them): the hash
    # is kept once made.  It is never pickled, since str hashes differ from process to process.
    def __hash__(self) -> int:
        h = self.__dict__.get("_h")
        if h is None:
            h = hash((self.cls, self.kind, self.how, self.file, self.line, self.function, self.atomic))
            object.__setattr__(self, "_h", h)
        return h

    def __getstate__(self) -> dict:
        return {k: v for k, v in self.__dict__.items() if k != "_h"}


# -- the facts ---------------------------------------------------------------------------------
# One class per kind of fact, so that two kinds with alike fields (an ERR_PTR() test and a
# NULL test of one name) never compare equal.  `name` is always a local, a `*param` flag the
# caller passed by address, or a call's result key (`<ret LINE:callee>`).

@dataclass(frozen=True, slots=True)
class VarFact:
    """`name` tested or set to `value`; `cls` is the lock held where it is true ('' for none):
    a trylock's result, a killable lock's error, a flag, a pointer set to NULL."""

    name: str
    cls: str
    value: bool


@dataclass(frozen=True, slots=True)
class PredFact:
    """A page predicate (`PageAnon`, `PageSwapCache`) of the object `arg` names was `value`."""

    pred: str
    arg: str
    value: bool


@dataclass(frozen=True, slots=True)
class NonNullFact:
    """The pointer `name` is not NULL on this path, and lock class `cls` is held through it:
    where a later test finds it NULL, the lock was not taken."""

    name: str
    cls: str


@dataclass(frozen=True, slots=True)
class InstFact:
    """The lock of class `cls` taken at `site` (file, line) was taken on the object `instance`
    names (`folio`, `&n->list_lock`), whose root name is `base`."""

    base: str
    cls: str
    instance: str
    site: tuple[str, int]


@dataclass(frozen=True, slots=True)
class CmpFact:
    """The locals `a` and `b` (a < b) compared `equal` (or not)."""

    a: str
    b: str
    equal: bool


@dataclass(frozen=True, slots=True)
class ErrFact:
    """`IS_ERR(name)` is `value`: an ERR_PTR() the function may return."""

    name: str
    value: bool


@dataclass(frozen=True, slots=True)
class TruthFact:
    """A name the function returns was tested (or set) true or false (NULL)."""

    name: str
    value: bool


@dataclass(frozen=True, slots=True)
class TookFact:
    """The call whose took-key (`<took LINE:callee>`) is `key` returned holding `classes`."""

    key: str
    classes: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class ReturnsFact:
    """The path returns the constant whose truth is `value`."""

    value: bool


@dataclass(frozen=True, slots=True)
class ReturnsErrFact:
    """The path returns an ERR_PTR()."""


@dataclass(frozen=True, slots=True)
class ReturnedFact:
    """The path returns a name the path knew true or false (non-NULL or NULL)."""

    value: bool


@dataclass(frozen=True, slots=True)
class GaveFact:
    """The function released its caller's lock of class `cls` (and may take the class again)."""

    cls: str


Fact = (VarFact | PredFact | NonNullFact | InstFact | CmpFact | ErrFact | TruthFact | TookFact | ReturnsFact |
        ReturnsErrFact | ReturnedFact | GaveFact)
# the facts about the value of one name, which an assignment to the name makes stale
NamedFact = VarFact | NonNullFact | InstFact | CmpFact | TruthFact | ErrFact


@dataclass(frozen=True)
class Variant:
    held: tuple[Held, ...] = ()
    facts: frozenset[Fact] = frozenset()

    def __hash__(self) -> int:
        h = self.__dict__.get("_h")
        if h is None:
            h = hash((self.held, self.facts))
            object.__setattr__(self, "_h", h)
        return h

    def __getstate__(self) -> dict:
        return {k: v for k, v in self.__dict__.items() if k != "_h"}

    def holds(self, cls: str) -> bool:
        return any(h.cls == cls for h in self.held)

    def atomic_reasons(self) -> tuple[Held, ...]:
        return tuple(h for h in self.held if h.atomic)

    def with_held(self, h: Held) -> Variant:
        if self.holds(h.cls) and h.how == "assert":
            return self
        if sum(x.cls == h.cls for x in self.held) >= 2:
            # nesting one class twice is real (two page-table locks, spin_lock_nested); a third
            # is a loop the walk went round with the lock still counted, and multiplies paths
            return self
        return Variant(self.held + (h,), self.facts)

    def without(self, cls: str) -> Variant:
        for i in range(len(self.held) - 1, -1, -1):
            if self.held[i].cls == cls:
                facts = self.facts
                if not self.holds_twice(cls):  # which pointer was non-NULL for it no longer matters
                    facts = frozenset(f for f in facts if not (isinstance(f, NonNullFact) and f.cls == cls))
                return Variant(self.held[:i] + self.held[i + 1:], facts)
        return self

    def holds_twice(self, cls: str) -> bool:
        return sum(h.cls == cls for h in self.held) > 1

    def fact(self, f: Fact) -> Variant:
        return Variant(self.held, self.facts | {f})

    def rebind(self, var: str, f: Fact) -> Variant:
        """`var` was assigned again: forget what it held before."""
        kept = frozenset(x for x in self.facts if not (
            isinstance(x, (VarFact, NonNullFact)) and x.name == var or isinstance(x, InstFact) and x.base == var))
        return Variant(self.held, kept | {f})

    def holder(self, cls: str, text: str) -> Held | None:
        """The held lock of class `cls` taken on the object `text` names (`folio`, `&n->list_lock`),
        if this path knows it took it there."""
        sites = {f.site for f in self.facts if isinstance(f, InstFact) and f.cls == cls and f.instance == text}
        return next((h for h in reversed(self.held) if h.cls == cls and (h.file, h.line) in sites), None)

    def instances_cleared(self) -> Variant:
        facts = frozenset(f for f in self.facts if not isinstance(f, InstFact))
        return self if facts == self.facts else Variant(self.held, facts)


# -- keeping the variants few ------------------------------------------------------------------
def dedupe(vs: list[Variant]) -> list[Variant]:
    out = list(dict.fromkeys(vs))
    if len(out) <= MAX_VARIANTS:
        return out
    # too many paths: first forget the facts that say nothing about locks (page predicates,
    # constant returns), then, if that is not enough, all of them
    slim = list(dict.fromkeys(Variant(v.held, _lock_facts(v.facts)) for v in out))
    if len(slim) <= MAX_VARIANTS:
        return slim
    merged = list(dict.fromkeys(Variant(v.held) for v in out))
    return merged[:MAX_VARIANTS]


def _lock_facts(facts: frozenset[Fact]) -> frozenset[Fact]:
    """The facts that decide a lock: which pointer is non-NULL when it is held, what a trylock
    returned, what a helper that took a lock returned (not what every other call returned), the
    page predicates (`if (!PageSwapCache(page)) spin_lock(...)` ... the same test again before
    the unlock)."""
    took = {f.key.replace("<took ", "<ret ", 1) for f in facts if isinstance(f, TookFact)}
    return frozenset(f for f in facts if isinstance(f, (NonNullFact, TookFact, PredFact, InstFact, GaveFact)) or (
        isinstance(f, VarFact) and (f.cls or f.name in took)))


def _about(f: NamedFact, names: set[str] | frozenset[str]) -> bool:
    """Whether `f` is about one of `names`: an instance fact is when any name in the object's
    text is (`pages[0]` when `pages` is assigned)."""
    if isinstance(f, InstFact):
        return f.base in names or any(names_through(f.instance, n) for n in names)
    if isinstance(f, CmpFact):
        return f.a in names or f.b in names
    return f.name in names


def forget(vs: list[Variant], names: set[str] | frozenset[str], kinds: tuple[type[NamedFact], ...]) -> list[Variant]:
    """`vs` without the facts of `kinds` about `names`."""
    out = []
    for v in vs:
        drop = {f for f in v.facts if isinstance(f, kinds) and _about(f, names)}
        out.append(Variant(v.held, v.facts - drop) if drop else v)
    return out


def assigned(f: Fact, var: str) -> bool:
    """Whether assigning `var` makes `f` stale: what `var` (or the flag `*var` points to) was
    known to be, the object a lock was taken on when reached through `var`, a comparison of it."""
    if isinstance(f, (VarFact, NonNullFact)):
        return f.name == var or f.name == "*" + var
    if isinstance(f, (TruthFact, ErrFact)):
        return f.name == var
    if isinstance(f, InstFact):
        return f.base == var or names_through(f.instance, var)
    if isinstance(f, CmpFact):
        return var in (f.a, f.b)
    return False


def names_through(instance: str, target: str) -> bool:
    """Whether assigning `target` points the object `instance` names elsewhere: the object is
    `target` or reached through it (`pvmw->ptl` for `pvmw->ptl`, `&n->list_lock` for `n`), or
    `target` is any name in its text (`pages[0]` when `pages` is assigned)."""
    bare = instance.lstrip("&*( ")
    return bare == target or bare.startswith((target + "->", target + ".")) or \
        target in re.findall(r"\w+", instance)


def base_of(text: str) -> str:
    m = re.match(r"[&*(\s]*([A-Za-z_]\w*)", text)
    return m.group(1) if m else ""


def taken(v: Variant, lock: Held, instance: str | None) -> Variant:
    """`v` with `lock` held, taken on the object `instance` names where that is known."""
    w = v.with_held(lock)
    if instance is None or lock.kind in CONTEXT_KINDS or w is v:
        return w  # (with_held() keeps no third lock of a class: then there is nothing to point at)
    return w.fact(InstFact(base_of(instance), lock.cls, instance, (lock.file, lock.line)))


def released(v: Variant, cls: str, instance: str | None) -> Variant:
    """`v` without its last lock of class `cls`, and what it knew of the object that lock was
    taken on (of every object, once no lock of the class is left)."""
    w = v.without(cls)
    if w.holds(cls):
        drop = {f for f in w.facts if isinstance(f, InstFact) and f.cls == cls and f.instance == instance}
    else:
        drop = {f for f in w.facts if isinstance(f, InstFact) and f.cls == cls}
    return Variant(w.held, w.facts - drop) if drop else w


def returning(v: Variant, name: str) -> Variant:
    """`return name;`: what the path knows of it, as what the function returned.  Kept apart from
    a returned constant's (ReturnsFact): that one also tells callers which lock a helper handed
    them, where these judge only the function's own balance (lock-imbalance)."""
    if any(isinstance(f, ErrFact) and f.name == name and f.value for f in v.facts):
        return v.fact(ReturnsErrFact())
    truth = next((f.value for f in v.facts if isinstance(f, VarFact) and f.name == name), None)
    if truth is None:
        truth = next((f.value for f in v.facts if isinstance(f, TruthFact) and f.name == name), None)
    return v if truth is None else v.fact(ReturnedFact(truth))
