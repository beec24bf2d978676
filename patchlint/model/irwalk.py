"""Reading the IR for a path replay: which lines a statement covers and whether it leaves
(for steering runs toward a path's line), the nodes under a statement, the names in an
expression, what a body assigns, and the lock names a function's body sets up once for all
of its runs (declared types, lock pointers), as the static checks name them."""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import fields

from patchlint.cparse import ir
from patchlint.cparse.defs import FunctionDef
from patchlint.cparse.index import FunctionIndex
from patchlint.extract.lockclass import LOCK_TYPE, LockNames
from patchlint.extract.vocab import Vocabulary

Spans = dict[int, tuple[ir.Stmt, int, int, bool]]  # id(stmt) -> (stmt, first line, last line, exits)


def span(s: ir.Stmt, memo: Spans) -> tuple[int, int, bool]:
    """The lines a statement covers (its last statement's start: near enough) and whether it
    has a return, goto, continue or break in it (a way around what follows)."""
    hit = memo.get(id(s))
    if hit is not None:
        return hit[1], hit[2], hit[3]
    lo = hi = s.line
    exits = isinstance(s, (ir.Return, ir.Goto, ir.Continue, ir.Break))
    for child in children(s):
        a, b, e = span(child, memo)
        lo, hi, exits = min(lo, a), max(hi, b), exits or e
    memo[id(s)] = (s, lo, hi, exits)  # the statement kept alive: its id stays its own
    return lo, hi, exits


def children(s: ir.Stmt) -> list[ir.Stmt]:
    if isinstance(s, ir.Block):
        return list(s.body)
    if isinstance(s, ir.If):
        return [s.then] + ([s.orelse] if s.orelse is not None else [])
    if isinstance(s, ir.Loop):
        return [s.body] + ([s.init] if s.init is not None else [])
    if isinstance(s, ir.Switch):
        return [s.body]
    return []


def within(s: ir.Stmt, line: int, memo: Spans) -> bool:
    lo, hi, _ = span(s, memo)
    return lo <= line <= hi


def exits(s: ir.Stmt, memo: Spans) -> bool:
    return span(s, memo)[2]


def lock_names(vocab: Vocabulary, body: ir.Body, params: list[tuple[str, str | None]],
                classes: dict[int, str], memo: dict[int, tuple[ir.Body, dict, dict]]) -> LockNames:
    """A function's lock names, with what its body says once for all of its runs: the declared
    types of its locals, and the lock pointers it sets (`ptl = pte_lockptr(..)`, `&ptl` handed
    to pte_offset_map_nolock(), `spinlock_t *l = &zone->lock`, `ptl = pmd_lock(..)`)."""
    names = LockNames(vocab, body, params, param_classes=classes)
    known = memo.get(id(body))
    if known is not None:
        names.types.update(known[1])
        names.lock_vars.update(known[2])
        return names
    for node in walk(body.block):
        if isinstance(node, ir.Decl) and node.type:
            names.types[node.name] = node.type
    for node in walk(body.block):
        target = value = None
        if isinstance(node, ir.Decl) and node.init is not None:
            target, value = node.name, node.init
        elif isinstance(node, ir.Assign) and node.op == "=" and isinstance(node.target, ir.Name):
            target, value = node.target.id, node.value
        if isinstance(node, ir.Call) and node.name in vocab.lock_out_pointers:
            idx, cls = vocab.lock_out_pointers[node.name]
            arg = node.args[idx] if idx < len(node.args) else None
            if isinstance(arg, ir.Unary) and arg.op == "&" and isinstance(arg.operand, ir.Name):
                names.lock_vars[arg.operand.id] = cls
        if target is None or value is None:
            continue
        if isinstance(value, ir.Unary) and value.op == "&" and isinstance(value.operand, (ir.Field, ir.Name)):
            cls = names._class_of(value.operand)
            if cls and (isinstance(value.operand, ir.Field) or LOCK_TYPE.search(names.types.get(target, ""))):
                names.lock_vars[target] = cls
        elif isinstance(value, ir.Call) and value.name in vocab.lock_pointers:
            names.lock_vars[target] = vocab.lock_pointers[value.name]
        elif isinstance(value, ir.Call) and value.name in vocab.primitives and \
                isinstance(vocab.primitives[value.name].lock, str) and LOCK_TYPE.search(names.types.get(target, "")):
            names.lock_vars[target] = str(vocab.primitives[value.name].lock)  # ptl = pmd_lock(mm, pmd)
    declared = {k: v for k, v in names.types.items() if k not in dict(p[::-1] for p in params if p[1])}
    memo[id(body)] = (body, declared, dict(names.lock_vars))  # the body kept alive: its id stays its own
    return names


def walk(node: object) -> Iterator[object]:
    if isinstance(node, (ir.Expr, ir.Stmt)):
        yield node
        for f in fields(node):
            yield from walk(getattr(node, f.name))
    elif isinstance(node, tuple):
        for x in node:
            yield from walk(x)


def params_of(d: FunctionDef) -> list[tuple[str, str | None]]:
    return [(p.type, p.name) for p in d.params()]


def names_in(text: str) -> set[str]:
    return set(re.findall(r"[A-Za-z_]\w*", text))


def names(e: ir.Expr) -> Iterator[str]:
    if isinstance(e, ir.Name):
        yield e.id
    for f in fields(e):
        child = getattr(e, f.name)
        if isinstance(child, ir.Expr):
            yield from names(child)
        elif isinstance(child, tuple):
            for x in child:
                if isinstance(x, ir.Expr):
                    yield from names(x)




def find_function(index: FunctionIndex, function: str, file: str) -> FunctionDef | None:
    """A function of a path, by name, the one in `file` first; one the name search cannot find
    (SYSCALL_DEFINE6(mbind, ...) defines sys_mbind) from the functions parsed in `file`."""
    defs = index.definitions(function)
    found = next((d for d in defs if d.file == file), defs[0] if defs else None)
    if found is None:
        parsed = index.parsed(file)
        found = next((d for d in parsed.functions if d.name == function), None) if parsed is not None else None
    return found
