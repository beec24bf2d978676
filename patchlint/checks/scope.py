"""One state of the tree (before or after a patch): analyse the functions a
patch touches, in the context of their callers, and search the rest of the
tree for the paths that take the same locks the other way round."""

from __future__ import annotations

import re
from collections import deque
from dataclasses import dataclass, field

from patchlint.cparse.defs import FunctionDef
from patchlint.cparse.index import FunctionIndex
from patchlint.extract.engine import BELOW, MAX_DEPTH, Edge, Engine, Observations
from patchlint.extract.reach import LockReach, Lookups
from patchlint.extract.vocab import Vocabulary, load_vocabulary

CALLER_DEPTH = 4  # how far up the call graph a touched function's context is sought
MAX_ROOTS = 40
DISPATCH_DEPTH = 6  # calls from a function that binds a member down to the call through it
MAX_ACQUIRERS = 64  # functions taking the first lock, searched beneath for the second
ALTERNATIVES = 4  # reverse paths kept per pair of locks (from different files), for the replay to judge


@dataclass
class Scope:
    index: FunctionIndex
    touched: set[str]
    engine: Engine
    roots: list[FunctionDef] = field(default_factory=list)
    reverse: dict[tuple[str, str], Edge] = field(default_factory=dict)  # (held, acquired) -> an example
    # (held, acquired) -> other paths that take them so, for the model's replay to try when the
    # example's path cannot happen (up to ALTERNATIVES, the example first)
    alternatives: dict[tuple[str, str], list[Edge]] = field(default_factory=dict)
    # what several checkers read, worked out once (checks.imbalance's report)
    memo: dict[str, object] = field(default_factory=dict)

    @property
    def obs(self) -> Observations:
        return self.engine.obs


def analyse_scope(index: FunctionIndex, touched: set[str], vocab: Vocabulary | None = None,
                  caller_depth: int = CALLER_DEPTH) -> Scope:
    vocab = vocab or load_vocabulary()
    roots, ancestors = caller_roots(index, touched, caller_depth)
    # the touched functions sit up to caller_depth calls below a root, and what they call is
    # followed BELOW calls further: the walk's depth bound counts from the root
    engine = Engine(index, vocab, max_depth=max(MAX_DEPTH, caller_depth + BELOW + 1),
                    focus=ancestors | set(touched), touched=set(touched), below=BELOW)
    scope = Scope(index, set(touched), engine, roots=roots)
    for root in scope.roots:
        scope.engine.run(root)
    reverse_search(scope, vocab)
    return scope


def caller_roots(index: FunctionIndex, touched: set[str], depth: int) -> tuple[list[FunctionDef], set[str]]:
    """The topmost callers (within `depth`) of the touched functions, and every function met on
    the way up: each root is walked with nothing held, so a lock a caller takes is seen by
    everything below it."""
    # by name and file: a static function of one name in two files is two functions
    seen: dict[tuple[str, str], FunctionDef] = {}
    has_caller: set[tuple[str, str]] = set()
    between: set[str] = set()  # functions a binder reaches its target through (rmap_walk, ...)
    queue: deque[tuple[FunctionDef, int]] = deque()
    for name in sorted(touched):
        for fn in index.definitions(name):
            queue.append((fn, 0))
    while queue:
        fn, d = queue.popleft()
        if (fn.name, fn.file) in seen:
            continue
        seen[(fn.name, fn.file)] = fn
        if d >= depth:
            continue  # the depth bound: a root whatever calls it, so its callers need no grep
        # called by name; else through an operations member: from the functions whose local
        # initializers set the member to it (folio_referenced() for folio_referenced_one()), or,
        # where only file-scope tables do, from every call through the member
        callers = index.callers(fn.name)
        if not callers:
            callers = index.binders(fn.name)
            if callers:
                between |= _dispatch_chain(index, fn.name, [b for b, _ in callers])
            else:
                callers = index.dispatchers(fn.name)
        for caller, _ in callers:
            if caller.name != fn.name and _reaches(index, caller, fn):
                has_caller.add((fn.name, fn.file))
                queue.append((caller, d + 1))
    roots = [fn for key, fn in sorted(seen.items()) if key not in has_caller]
    return roots[:MAX_ROOTS], {name for name, _ in seen} | between


def _reaches(index: FunctionIndex, caller: FunctionDef, fn: FunctionDef) -> bool:
    """Whether a call of fn's name in caller's file reaches fn, and not a static function of
    the same name in another file (or the caller's own)."""
    target = index.definition(fn.name, near=caller.file)
    return target is None or (target.file, target.start_byte) == (fn.file, fn.start_byte)


def _dispatch_chain(index: FunctionIndex, name: str, binders: list[FunctionDef]) -> set[str]:
    """The functions on the way down from the functions that bound a member to `name` to the
    calls through that member: what the binders reach (direct calls, DISPATCH_DEPTH deep) that
    is, or calls within as many steps, a function calling through the member."""
    dispatchers = {caller.name for caller, _ in index.dispatchers(name)}
    reached: set[str] = set()
    frontier = {b.name for b in binders}
    for _ in range(DISPATCH_DEPTH):
        nxt: set[str] = set()
        for n in sorted(frontier):
            for fn in index.definitions(n)[:1]:
                nxt |= {c.callee for c in fn.calls if not c.indirect}
        frontier = nxt - reached
        reached |= nxt
    # walk up from the dispatchers, keeping only what the binders reach
    chain = dispatchers & reached or dispatchers
    up = set(chain)
    for _ in range(DISPATCH_DEPTH):
        up = {caller.name for n in sorted(up) for caller, _ in index.callers(n)} & reached
        chain |= up
    return chain


def in_scope(path_functions: list[str], touched: set[str]) -> bool:
    return any(f in touched for f in path_functions)


def reverse_search(scope: Scope, vocab: Vocabulary) -> None:
    """For every edge A -> B the touched code makes, look for a path that takes B and then A:
    among the functions that take B themselves (the code nearest the patch first), one that
    holds B at a call beneath which A is taken, found through per-function lock summaries."""
    wanted: set[tuple[str, str]] = set()
    for edge in list(scope.obs.edges.values()):
        if in_scope([f.function for f in edge.path], scope.touched):
            wanted.add((edge.acquired.cls, edge.held.cls))
    for edge in scope.obs.edges.values():
        pair = (edge.held.cls, edge.acquired.cls)
        if pair in wanted:
            scope.reverse.setdefault(pair, edge)
            kept = scope.alternatives.setdefault(pair, [])
            if len(kept) < ALTERNATIVES and not any(e.path[0].file == edge.path[0].file for e in kept):
                kept.append(edge)
    engine = scope.engine
    summaries = engine.summaries  # one set per run: what the walk built is written back too
    reach = LockReach(summaries, Lookups(engine.definitions, engine.ops_targets))
    near = {fn.file.rsplit("/", 1)[0] for fn in scope.roots}
    for b, a in sorted(wanted):
        if len(scope.alternatives.get((b, a), ())) >= ALTERNATIVES:
            continue
        found = _acquirers(scope.index, vocab, b)
        found.sort(key=lambda f: (f.file.rsplit("/", 1)[0] not in near, f.file, f.start_line))
        kept = scope.alternatives.setdefault((b, a), [])
        for fn in found[:MAX_ACQUIRERS]:
            if any(e.path[0].file == fn.file for e in kept):
                continue  # alternatives from other files: other code, not the same path again
            edge = reach.edge(fn, b, a)
            if edge is not None:
                scope.reverse.setdefault((b, a), edge)
                kept.append(edge)
                if len(kept) >= ALTERNATIVES:
                    break
            if reach.budget_hit or summaries.budget_hit:
                break
    summaries.flush()
    scope.obs.budget_hit |= reach.budget_hit or summaries.budget_hit
    scope.obs.walks += reach.expanded


def _acquirers(index: FunctionIndex, vocab: Vocabulary, cls: str) -> list[FunctionDef]:
    """Functions that take a lock of class `cls` themselves."""
    names = vocab.primitives_for(cls)
    found: dict[tuple[str, int], FunctionDef] = {}
    for fn, _ in index.callers_of_any(names) if names else []:
        if fn.name not in vocab.primitives:
            found.setdefault((fn.file, fn.start_byte), fn)
    member = re.match(r"[A-Za-z_]\w*", cls.rsplit("->", 1)[1]) if "->" in cls else None
    if not names and member is not None:
        member = member.group(0)  # `inode_lock[DIRTY_META]`: the files that name the field
        acquire = {n for n, p in vocab.primitives.items() if p.op != "release" and p.op != "assert"}
        for path in index.files_naming(member, ("*.c",)):
            parsed = index.parsed(path)
            if parsed is None:
                continue
            for fn in parsed.functions:
                if any(c.callee in acquire for c in fn.calls):
                    found.setdefault((fn.file, fn.start_byte), fn)
    return [found[k] for k in sorted(found)]
