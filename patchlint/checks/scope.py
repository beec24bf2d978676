"""One state of the tree (before or after a patch): analyse the functions a
patch touches, in the context of their callers, and search the rest of the
tree for the paths that take the same locks the other way round."""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass, field

from patchlint.cparse.defs import FunctionDef
from patchlint.cparse.index import FunctionIndex
from patchlint.extract.engine import Edge, Engine, Observations
from patchlint.extract.vocab import Vocabulary, load_vocabulary

CALLER_DEPTH = 4  # how far up the call graph a touched function's context is sought
MAX_ROOTS = 40
MAX_ACQUIRERS = 16
REVERSE_DEPTH = 4
REVERSE_BUDGET = 600


@dataclass
class Scope:
    index: FunctionIndex
    touched: set[str]
    engine: Engine
    roots: list[FunctionDef] = field(default_factory=list)
    reverse: dict[tuple[str, str], Edge] = field(default_factory=dict)  # (held, acquired) -> an example

    @property
    def obs(self) -> Observations:
        return self.engine.obs


def analyse_scope(index: FunctionIndex, touched: set[str], vocab: Vocabulary | None = None,
                  caller_depth: int = CALLER_DEPTH) -> Scope:
    vocab = vocab or load_vocabulary()
    scope = Scope(index, set(touched), Engine(index, vocab))
    scope.roots, ancestors = caller_roots(index, touched, caller_depth)
    scope.engine.focus = ancestors | set(touched)
    scope.engine.touched = set(touched)
    for root in scope.roots:
        scope.engine.run(root)
    reverse_search(scope, vocab)
    return scope


def caller_roots(index: FunctionIndex, touched: set[str], depth: int) -> tuple[list[FunctionDef], set[str]]:
    """The topmost callers (within `depth`) of the touched functions, and every function met on
    the way up: each root is walked with nothing held, so a lock a caller takes is seen by
    everything below it."""
    seen: dict[str, FunctionDef] = {}
    has_caller: set[str] = set()
    queue: deque[tuple[FunctionDef, int]] = deque()
    for name in sorted(touched):
        for fn in index.definitions(name):
            queue.append((fn, 0))
    while queue:
        fn, d = queue.popleft()
        if fn.name in seen:
            continue
        seen[fn.name] = fn
        if d >= depth:
            continue  # the depth bound: a root whatever calls it, so its callers need no grep
        for caller, _ in index.callers(fn.name):
            if caller.name != fn.name:
                has_caller.add(fn.name)
                queue.append((caller, d + 1))
    roots = [fn for name, fn in sorted(seen.items()) if name not in has_caller]
    return roots[:MAX_ROOTS], set(seen)


def in_scope(path_functions: list[str], touched: set[str]) -> bool:
    return any(f in touched for f in path_functions)


def reverse_search(scope: Scope, vocab: Vocabulary) -> None:
    """For every edge A -> B the touched code makes, walk the functions that take B, looking for B -> A."""
    wanted: set[tuple[str, str]] = set()
    for edge in list(scope.obs.edges.values()):
        if in_scope([f.function for f in edge.path], scope.touched):
            wanted.add((edge.acquired.cls, edge.held.cls))
    # A separate engine: these walks start with nothing held and no context, so they
    # may only contribute the reverse edges, never findings of their own.
    reverse = Engine(scope.index, vocab, max_depth=REVERSE_DEPTH, budget=REVERSE_BUDGET)
    reverse._defs = scope.engine._defs  # share the lookups already made
    near = {fn.file.rsplit("/", 1)[0] for fn in scope.roots}
    for b, _ in sorted(wanted):
        found = _acquirers(scope.index, vocab, b)
        # the code nearest the patch first: the same directories, then the rest of the tree
        found.sort(key=lambda f: (f.file.rsplit("/", 1)[0] not in near, f.file, f.start_line))
        for fn in found[:MAX_ACQUIRERS]:
            reverse.run(fn)
    scope.obs.budget_hit |= reverse.obs.budget_hit
    scope.obs.walks += reverse.obs.walks
    for edge in [*scope.obs.edges.values(), *reverse.obs.edges.values()]:
        pair = (edge.held.cls, edge.acquired.cls)
        if pair in wanted:
            scope.reverse.setdefault(pair, edge)


def _acquirers(index: FunctionIndex, vocab: Vocabulary, cls: str) -> list[FunctionDef]:
    """Functions that take a lock of class `cls` themselves."""
    names = vocab.primitives_for(cls)
    found: dict[tuple[str, int], FunctionDef] = {}
    for fn, _ in index.callers_of_any(names) if names else []:
        if fn.name not in vocab.primitives:
            found.setdefault((fn.file, fn.start_byte), fn)
    if not names and "->" in cls:
        member = cls.rsplit("->", 1)[1]
        acquire = {n for n, p in vocab.primitives.items() if p.op in ("acquire", "trylock", "acquire_nonnull")}
        for path in index.files_naming(member, ("*.c",)):
            parsed = index.parsed(path)
            if parsed is None:
                continue
            for fn in parsed.functions:
                if any(c.callee in acquire for c in fn.calls):
                    found.setdefault((fn.file, fn.start_byte), fn)
    return [found[k] for k in sorted(found)]
