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
class CallSite:
    """Where a function called the helper that handed it a lock: the line a reader of that
    function looks at (the helper's own acquisition is in another function).  `told`: the
    helper hands the lock over in a way its caller can follow -- on every return, by its
    annotation, or with a result that says so; a lock a helper merely leaked on some returns
    is the helper's imbalance, not its caller's."""

    file: str
    line: int
    function: str
    told: bool = True


@dataclass(frozen=True)
class Held:
    cls: str
    kind: str
    how: str  # "lock", "trylock", "spin", "assert" (a BUG_ON/lockdep fact), "caller" (an annotation's)
    file: str
    line: int
    function: str
    atomic: bool
    via: CallSite | None = None  # taken by a helper: the call that returned holding it

    # Locks and variants are hashed over and over (every merge of paths dedupes them): the hash
    # is kept once made.  It is never pickled, since str hashes differ from process to process.
    def __hash__(self) -> int:
        h = self.__dict__.get("_h")
        if h is None:
            h = hash((self.cls, self.kind, self.how, self.file, self.line, self.function, self.atomic, self.via))
            object.__setattr__(self, "_h", h)
        return h

    def taken_in(self, function: str) -> tuple[str, int] | None:
        """(file, line) where `function` itself took this lock, or called the helper that did."""
        if self.function == function:
            return self.file, self.line
        if self.via is not None and self.via.function == function and self.via.told:
            return self.via.file, self.via.line
        return None

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


@dataclass(frozen=True, slots=True)
class UnknownFact:
    """The path made a call whose effect on the locks it then held is not known: `callee` has no
    definition in the tree, or is called through a pointer nothing resolves, and was handed
    something that may lead to them (`pageout(page, ...)` unlocks the page it starts writing).
    `classes` are the locks held at the call; what the path does with them afterwards is not
    judged (a different path, or another function, still is)."""

    callee: str
    file: str
    line: int
    classes: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class ReleasedFact:
    """The path released its lock of class `cls` on the object `obj` names (None: not named, a
    helper's release) at `line`, and has not taken it since: releasing it again is a double
    unlock."""

    cls: str
    obj: str | None
    line: int


@dataclass(frozen=True, slots=True)
class TriedFact:
    """The path tried to take `cls` on the object `obj` names at `line` (a trylock, a killable
    lock) and did not get it: releasing it now unlocks a lock this path never took."""

    cls: str
    obj: str | None
    line: int


@dataclass(frozen=True, slots=True)
class CondFact:
    """The condition `text` -- locals whose every change the walk sees, fields and operators of
    them, no call -- was `value` on this path, and the branches it chose between left different
    locks held: tested again before any of `names` changes, it takes the same branch
    (`if (need) spin_lock(l); ... if (need) spin_unlock(l);`).  `deep`: it reads memory through
    a pointer, which a call handed that pointer may change."""

    text: str
    names: tuple[str, ...]
    value: bool
    deep: bool


Fact = (VarFact | PredFact | NonNullFact | InstFact | CmpFact | ErrFact | TruthFact | TookFact | ReturnsFact |
        ReturnsErrFact | ReturnedFact | GaveFact | UnknownFact | ReleasedFact | TriedFact | CondFact)
# the facts about the value of one name, which an assignment to the name makes stale
NamedFact = VarFact | NonNullFact | InstFact | CmpFact | TruthFact | ErrFact | CondFact | ReleasedFact | TriedFact


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
        # taken (again): what the path knew of an earlier release or a failed attempt is past
        stale = {f for f in self.facts if isinstance(f, (ReleasedFact, TriedFact)) and f.cls == h.cls}
        return Variant(self.held + (h,), self.facts - stale if stale else self.facts)

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
    # the last resort keeps only what says a path's verdict is unknown: dropping that would turn
    # "not known" into a verdict
    merged = list(dict.fromkeys(Variant(v.held, frozenset(f for f in v.facts if isinstance(f, UnknownFact)))
                                for v in out))
    if len(merged) > MAX_VARIANTS:
        merged = list(dict.fromkeys(Variant(v.held, _first_unknown(v.facts)) for v in merged))
    return merged[:MAX_VARIANTS]


def _first_unknown(facts: frozenset[Fact]) -> frozenset[Fact]:
    unknown = sorted((f for f in facts if isinstance(f, UnknownFact)), key=lambda f: (f.line, f.callee))
    return frozenset(unknown[:1])


def _lock_facts(facts: frozenset[Fact]) -> frozenset[Fact]:
    """The facts that decide a lock: which pointer is non-NULL when it is held, what a trylock
    returned, what a helper that took a lock returned (not what every other call returned), the
    page predicates (`if (!PageSwapCache(page)) spin_lock(...)` ... the same test again before
    the unlock), a condition that chose between lock sets, an earlier release or failed
    attempt, and a call whose effect on the locks is unknown."""
    took = {f.key.replace("<took ", "<ret ", 1) for f in facts if isinstance(f, TookFact)}
    return frozenset(f for f in facts if isinstance(f, (NonNullFact, TookFact, PredFact, InstFact, GaveFact,
                                                        UnknownFact, ReleasedFact, TriedFact, CondFact)) or (
        isinstance(f, VarFact) and (f.cls or f.name in took)))


def _about(f: NamedFact, names: set[str] | frozenset[str]) -> bool:
    """Whether `f` is about one of `names`: an instance fact is when any name in the object's
    text is (`pages[0]` when `pages` is assigned)."""
    if isinstance(f, InstFact):
        return f.base in names or any(names_through(f.instance, n) for n in names)
    if isinstance(f, CmpFact):
        return f.a in names or f.b in names
    if isinstance(f, CondFact):
        return any(n in names for n in f.names)
    if isinstance(f, (ReleasedFact, TriedFact)):
        return f.obj is not None and any(names_through(f.obj, n) for n in names)
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
    if isinstance(f, CondFact):
        return var in f.names or var.lstrip("*") in f.names or f.deep and var in f.text
    if isinstance(f, (ReleasedFact, TriedFact)):
        return f.obj is not None and names_through(f.obj, var)
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


def released(v: Variant, cls: str, instance: str | None, line: int | None = None,
             obj: str | None = None) -> Variant:
    """`v` without its last lock of class `cls`, and what it knew of the object that lock was
    taken on (of every object, once no lock of the class is left).  With a `line`, the release
    is remembered (ReleasedFact, on the object `obj` names), so a second one is seen as such."""
    if not v.holds(cls):
        return v
    w = v.without(cls)
    if w.holds(cls):
        drop = {f for f in w.facts if isinstance(f, InstFact) and f.cls == cls and f.instance == instance}
    else:
        drop = {f for f in w.facts if isinstance(f, InstFact) and f.cls == cls}
    drop |= {f for f in w.facts if isinstance(f, ReleasedFact) and f.cls == cls}
    facts = w.facts - drop
    if line is not None:
        facts |= {ReleasedFact(cls, obj, line)}
    return Variant(w.held, _known_again(facts, cls))


def _known_again(facts: frozenset[Fact], cls: str) -> frozenset[Fact]:
    """After the path itself released `cls`, what an unknown call earlier did with it no longer
    matters (had it released the lock, this release would be the second): the fact forgets it."""
    stale = {f for f in facts if isinstance(f, UnknownFact) and cls in f.classes}
    if not stale:
        return facts
    kept = {UnknownFact(f.callee, f.file, f.line, tuple(c for c in f.classes if c != cls)) for f in stale}
    return (facts - stale) | {f for f in kept if f.classes}


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
