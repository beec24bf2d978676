"""Per-function lock summaries: what one function does with locks by itself.

A summary lists the locks a function takes (with what it may already hold
there), the locks it releases without having taken them (its caller's), the
calls it makes (with what it may hold at each), and the functions its local
designated initializers bind to operations members (`struct
rmap_walk_control rwc = { .rmap_one = f }`).  It depends on the function's
own text (and the profile, dialect and lock table), so it is cached by the
file's content and a later run on the same tree only looks it up.  (A lock
named through a file-scope variable, `&swapper_space.tree_lock`, is classed
by that variable's struct type, read from wherever it is defined: a summary
goes stale if only that definition changes type, which kernels do not do.)
`reach` composes summaries into call-path searches; the engine uses them
where its own walk stops.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from patchlint.cparse import ir
from patchlint.cparse.defs import FunctionDef
from patchlint.cparse.index import FunctionIndex
from patchlint.extract.exprs import WalkMemo
from patchlint.extract.facts import CONTEXT_KINDS, Held, Variant
from patchlint.extract.macros import LockMacros
from patchlint.extract.sink import Outcome, Sink, Site
from patchlint.extract.vocab import Vocabulary
from patchlint.extract.walker import Walker
from patchlint.stamps import code_digest

SUMMARY_BUDGET = 1500  # summaries built (walked) per run; looked-up ones are free


@dataclass(frozen=True)
class Acquisition:
    lock: Held
    how: str  # "lock" or "spin" (a plain trylock orders nothing, as in lockdep)
    held: tuple[Held, ...]  # one of each class the function may hold there


@dataclass(frozen=True)
class HeldCall:
    """A call a function makes with these locks held (not cparse.defs.CallSite, a call's place
    in the source)."""

    target: str  # a function name, or ".member" for a call through an operations field
    line: int
    held: tuple[Held, ...]


@dataclass(frozen=True)
class LockSummary:
    function: str
    file: str
    acquires: tuple[Acquisition, ...]
    calls: tuple[HeldCall, ...]
    binds: tuple[tuple[str, str], ...]  # (member, function) set by local designated initializers
    complete: bool  # False when the body was not (fully) readable
    releases: tuple[str, ...] = ()  # classes released on some path without being taken here first


def _orderable(h: Held) -> bool:
    return h.kind not in CONTEXT_KINDS and not h.cls.startswith("@")


def _union(variants: list[Variant], but: str | None = None) -> tuple[Held, ...]:
    seen: dict[str, Held] = {}
    for v in variants:
        for h in v.held:
            if _orderable(h) and h.cls != but:
                seen.setdefault(h.cls, h)
    return tuple(seen[c] for c in sorted(seen))


class _Recorder(Sink):
    def __init__(self) -> None:
        self.acquires: dict[tuple[str, int, str], Acquisition] = {}
        self.calls: dict[tuple[str, int], HeldCall] = {}
        self.releases: set[str] = set()

    def release(self, site: Site, lock: Held, before: list[Variant]) -> None:
        if lock.kind not in CONTEXT_KINDS and any(not v.holds(lock.cls) for v in before):
            self.releases.add(lock.cls)

    def acquire(self, site: Site, lock: Held, before: list[Variant]) -> None:
        self._took(lock, "lock", before)

    def spin(self, site: Site, lock: Held, before: list[Variant], loop_line: int) -> None:
        self._took(lock, "spin", before)

    def _took(self, lock: Held, how: str, before: list[Variant]) -> None:
        if not _orderable(lock):
            return
        key = (lock.cls, lock.line, how)
        held = _union(before, but=lock.cls)
        old = self.acquires.get(key)
        if old is not None:
            held = _merge(old.held, held)
        self.acquires[key] = Acquisition(lock, how, held)

    def call(self, site: Site, call: ir.Call, target: ir.Expr, variants: list[Variant],
             arg_classes: tuple[str | None, ...] = ()) -> list[Outcome] | None:
        if isinstance(target, ir.Name):
            name = target.id
        elif isinstance(target, ir.Field):
            name = "." + target.field
        else:
            return None  # through a pointer nothing names: the forward engine reports those
        key = (name, site.line)
        held = _union(variants)
        old = self.calls.get(key)
        self.calls[key] = HeldCall(name, site.line, _merge(old.held, held) if old else held)
        return None


def _merge(a: tuple[Held, ...], b: tuple[Held, ...]) -> tuple[Held, ...]:
    seen = {h.cls: h for h in b}
    seen.update({h.cls: h for h in a})
    return tuple(seen[c] for c in sorted(seen))


def _binds(body: ir.Body) -> tuple[tuple[str, str], ...]:
    out = set()
    for n in ir.walk(body.block):
        if isinstance(n, ir.InitList):
            for member, value in n.items:
                if isinstance(value, ir.Unary) and value.op == "&":
                    value = value.operand
                if member and isinstance(value, ir.Name):
                    out.add((member.lstrip("."), value.id))
    return tuple(sorted(out))


@dataclass
class LockSummaries:
    index: FunctionIndex
    vocab: Vocabulary
    global_type: Callable[[str], str | None]
    budget: int = SUMMARY_BUDGET
    built: int = 0
    budget_hit: bool = False
    _dirty: set[str] = field(default_factory=set)
    # what the walks of these summaries, and of the engine that keeps them, work out once per body
    memo: WalkMemo = field(default_factory=WalkMemo)
    macros: LockMacros | None = None  # the lock macros expanded into bodies before they are walked

    @property
    def _memory(self) -> dict[str, dict[tuple[int, str], LockSummary]]:
        """Summaries loaded or built this run, per file content and configuration: kept by the
        run's cache, since the before and after states of every patch (an index each) share all
        the files a patch does not change."""
        return self.index.cache.tables

    def _key(self, fn: FunctionDef) -> str | None:
        parsed = self.index.parsed(fn.file)
        if parsed is None:
            return None
        # (patchlint's own code too: what a walk makes of the same text changes with it)
        return f"locks-{parsed.content_id}-{self.index.configuration()}-{self.vocab.fingerprint}-{code_digest()[:16]}"

    def get(self, fn: FunctionDef) -> LockSummary | None:
        """The function's summary; None when the build budget is spent (and says so)."""
        key = self._key(fn)
        if key is None:
            return LockSummary(fn.name, fn.file, (), (), (), False)
        table = self._memory.get(key)
        if table is None:
            table = self.index.cache.get(key, dict, counted=False) or {}
            self._memory[key] = table
        entry = table.get((fn.start_byte, fn.name))
        if entry is not None and entry.file == fn.file:
            return entry
        if self.built >= self.budget:
            self.budget_hit = True
            return None
        self.built += 1
        entry = self._build(fn)
        table[(fn.start_byte, fn.name)] = entry
        self._dirty.add(key)
        return entry

    def _build(self, fn: FunctionDef) -> LockSummary:
        body = self.index.body(fn)
        if body is None:
            return LockSummary(fn.name, fn.file, (), (), (), False)
        if self.macros is not None:
            body = self.macros.expand(fn, body)
        rec = _Recorder()
        params = [(p.type, p.name) for p in fn.params()]
        walker = Walker(self.vocab, body, params, rec, {}, self.global_type, memo=self.memo)
        walker.run([Variant()])
        rec.releases -= walker.took  # its own lock, on a path the walk could not pair up
        return LockSummary(fn.name, fn.file, tuple(rec.acquires[k] for k in sorted(rec.acquires)),
                           tuple(rec.calls[k] for k in sorted(rec.calls, key=lambda k: (k[1], k[0]))),
                           _binds(body), body.complete, tuple(sorted(rec.releases)))

    def flush(self) -> None:
        """Write the tables that gained summaries back to the cache."""
        for key in sorted(self._dirty):
            self.index.cache.put(key, self._memory[key])
        self._dirty.clear()



