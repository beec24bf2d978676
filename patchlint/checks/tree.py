"""Whole-tree questions, without a series: call paths into a function with the
locks held, the lock-order graph and its cycles, and all static checks over a
part of the tree (`patchlint paths`, `locks`, `scan`)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING

from patchlint.checks.docorder import load_documented_order
from patchlint.checks.scope import Scope, caller_roots, reverse_search
from patchlint.checks.series import static_findings
from patchlint.cparse.defs import FunctionDef
from patchlint.cparse.index import FunctionIndex
from patchlint.extract.engine import Edge, Engine, Frame
from patchlint.extract.vocab import load_vocabulary
from patchlint.findings import Finding

if TYPE_CHECKING:
    from multiprocessing.pool import AsyncResult
    from multiprocessing.queues import SimpleQueue


@dataclass(frozen=True, order=True)
class HeldAt:
    """A lock held at a call, as `patchlint paths` shows it."""

    cls: str
    how: str  # as Held.how: "lock", "trylock", "assert", ...
    function: str  # where it was taken
    line: int


@dataclass(frozen=True)
class CallPath:
    frames: tuple[Frame, ...]  # root first; the last frame calls the function asked about
    held: tuple[HeldAt, ...]  # outermost first


def call_paths(index: FunctionIndex, name: str, depth: int = 4) -> tuple[list[CallPath], bool]:
    """Every call path into `name` within `depth` callers, with the locks held at the call."""
    scope = Scope(index, {name}, Engine(index, load_vocabulary(), watch={name}))
    roots, _ = caller_roots(index, {name}, depth)
    for root in roots:
        if root.name != name:
            scope.engine.run(root)
    out: dict[tuple, CallPath] = {}
    for reached in scope.obs.calls_to:
        for v in reached.variants or ():
            held = tuple(HeldAt(h.cls, h.how, h.function, h.line) for h in v.held)
            key = (tuple((f.function, f.line) for f in reached.path), held)
            out.setdefault(key, CallPath(reached.path, held))
    paths = sorted(out.values(), key=lambda p: ([f.function for f in p.frames], p.held))
    scope.engine.summaries.flush()
    return paths, scope.obs.budget_hit or scope.engine.summaries.budget_hit


@dataclass
class LockGraph:
    edges: dict[tuple[str, str], Edge] = field(default_factory=dict)
    cycles: list[list[str]] = field(default_factory=list)
    functions: int = 0
    budget_hit: bool = False


def lock_graph(index: FunctionIndex, functions: list[FunctionDef]) -> LockGraph:
    engine = Engine(index, load_vocabulary())
    for root in _local_roots(functions):
        engine.run(root)
    engine.summaries.flush()
    graph = LockGraph(functions=len(functions), budget_hit=engine.obs.budget_hit or engine.summaries.budget_hit)
    for e in engine.obs.edges.values():
        graph.edges.setdefault((e.held.cls, e.acquired.cls), e)
    graph.cycles = _cycles(set(graph.edges))
    return graph


SCAN_BUDGET = 200_000  # function walks over a whole scan
ROOT_ALLOWANCE = 600  # walks from one root function: its call graph, to the engine's depth


def scan(index: FunctionIndex, functions: list[FunctionDef], jobs: int = 1,
         progress: Callable[[str], None] | None = None,
         counted: Callable[[int, int], None] | None = None) -> tuple[list[Finding], Scope | None]:
    """All static checks over the given functions, as `existing` findings.  `progress` hears
    how the walk goes in words, `counted` as (roots walked, roots).

    With jobs > 1 the functions are split by file among worker processes (each with its own
    engine; the cache on disk is shared), and the findings merged by identity."""
    if jobs > 1 and len(functions) > 1:
        return _scan_parallel(index, functions, jobs, progress), None
    names = {f.name for f in functions}
    vocab = load_vocabulary()
    scope = Scope(index, names, Engine(index, vocab, budget=SCAN_BUDGET, summary_budget=SCAN_BUDGET))
    roots = _local_roots(functions)
    if counted:
        counted(0, len(roots))
    for n, root in enumerate(roots, 1):
        scope.engine.run(root, allowance=ROOT_ALLOWANCE)
        if counted:
            counted(n, len(roots))
        if progress and n % 50 == 0:
            progress(f"{n}/{len(roots)} root functions")
    reverse_search(scope, vocab)
    docs = load_documented_order(index.read, vocab)
    # only what sits in the functions scanned: their callees elsewhere in the tree are walked
    # for context, but reported when their own directory is scanned
    findings = [replace(f, status="existing") for f in static_findings(scope, docs)
                if f.function is None or f.function in names]
    return sorted(findings, key=Finding.sort_key), scope


def _scan_parallel(index: FunctionIndex, functions: list[FunctionDef], jobs: int,
                   progress: Callable[[str], None] | None) -> list[Finding]:
    import multiprocessing

    by_file: dict[str, list[FunctionDef]] = {}
    for f in functions:
        by_file.setdefault(f.file, []).append(f)
    files = sorted(by_file)
    chunks = [[f for path in files[i::jobs] for f in by_file[path]] for i in range(jobs)]
    ctx = multiprocessing.get_context("fork")
    # the workers tell how far they are through a pipe the pool hands each of them at fork, so
    # progress shows while they work, not when the last of them is done
    queue = ctx.SimpleQueue() if progress else None
    work = [(index, chunk, slot) for slot, chunk in enumerate(chunks) if chunk]
    with ctx.Pool(jobs, initializer=_worker_start, initargs=(queue,)) as pool:
        pending = pool.starmap_async(_scan_chunk, work)
        if progress is not None and queue is not None:
            _follow(pending, queue, progress, len(work))
        parts = pending.get()
    merged: dict[str, Finding] = {}
    for part in parts:  # in chunk order, whatever order the workers finished in
        for f in part:
            merged.setdefault(f.identity, f)
    if progress:
        progress(f"{len(parts)} workers done")
    return sorted(merged.values(), key=Finding.sort_key)


_PROGRESS_QUEUE: SimpleQueue | None = None  # a worker's end of the pipe to the parent, set when the pool forks it


def _worker_start(queue: SimpleQueue | None) -> None:
    global _PROGRESS_QUEUE
    _PROGRESS_QUEUE = queue


def _scan_chunk(index: FunctionIndex, functions: list[FunctionDef], slot: int) -> list[Finding]:
    queue = _PROGRESS_QUEUE

    def counted(done: int, total: int) -> None:
        if queue is not None and (done % 10 == 0 or done == total):
            queue.put((slot, done, total))

    return scan(index, functions, jobs=1, counted=counted)[0]


def _follow(pending: AsyncResult, queue: SimpleQueue, progress: Callable[[str], None], workers: int) -> None:
    """Say how many root functions the workers have walked, as their counts come in."""
    done: dict[int, int] = {}
    totals: dict[int, int] = {}
    said = None
    while True:
        finished = pending.ready()
        while not queue.empty():
            slot, n, total = queue.get()
            done[slot], totals[slot] = n, total
        if totals:
            walked, roots = sum(done.values()), sum(totals.values())
            text = f"{walked}/{roots} root functions ({workers} workers)"
            if len(totals) == workers and walked == roots:  # the walks are done, the checks take a while
                text = f"{roots}/{roots} root functions walked, checking ({workers} workers)"
            if text != said:
                progress(text)
                said = text
        if finished:
            return
        pending.wait(0.1)


def _local_roots(functions: list[FunctionDef]) -> list[FunctionDef]:
    """Functions no other function of the set calls: walking from them covers the set with context."""
    called = {c.callee for f in functions for c in f.calls}
    roots = [f for f in functions if f.name not in called]
    return roots or list(functions)


def _cycles(edges: set[tuple[str, str]], limit: int = 50) -> list[list[str]]:
    """Elementary cycles of the lock graph (each listed once, from its smallest lock)."""
    succ: dict[str, list[str]] = {}
    for a, b in sorted(edges):
        succ.setdefault(a, []).append(b)
    found: list[list[str]] = []
    for start in sorted(succ):
        stack = [(start, [start])]
        while stack and len(found) < limit:
            node, path = stack.pop()
            for nxt in succ.get(node, []):
                if nxt == start:
                    found.append(path)
                elif nxt > start and nxt not in path and len(path) < 6:
                    stack.append((nxt, path + [nxt]))
    return found


__all__ = ["CallPath", "LockGraph", "call_paths", "lock_graph", "scan"]
