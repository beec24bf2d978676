"""What a function's callers in the tree do with it: whether each one tests its result (the
kernel's conditional-acquire convention: `if (foo_trylock(x))`), and whether anything refers to
it at all (a function nothing calls or points to has no caller that could hold its locks)."""

from __future__ import annotations

import re

from patchlint.cparse import ir
from patchlint.cparse.defs import FunctionDef
from patchlint.cparse.index import FunctionIndex

MAX_CALLERS = 64  # callers read to decide whether a result is tested; past it, not decided


def result_tested(index: FunctionIndex, fn: FunctionDef, assertions: frozenset[str] = frozenset()) -> bool:
    """Whether every call of `fn` in the tree uses its result as a condition (`if (f(..))`,
    `while (!f(..))`, `f(..) ? a : b`), returns it to its own caller (`return f(..);`), or keeps it
    in a local that a condition or a return reads, or asserts it (`WARN_ON(!f(..))`, one of
    `assertions`) -- and there is at least one call."""
    found = False
    callers = index.callers(fn.name)
    if len(callers) > MAX_CALLERS:
        return False
    for caller, _ in callers:
        target = index.definition(fn.name, near=caller.file)
        if target is None or (target.file, target.start_byte) != (fn.file, fn.start_byte):
            continue  # a call of a same-named static function elsewhere
        body = index.body(caller)
        if body is None:
            return False
        uses = _uses(body.block, fn.name, assertions)
        if not uses:
            continue
        found = True
        if not all(uses):
            return False
    return found


def _uses(block: ir.Block, name: str, assertions: frozenset[str] = frozenset()) -> list[bool]:
    """For each call of `name` in the body, whether its result is tested (see result_tested)."""
    tested: set[int] = set()  # ids of calls whose value a test or a return reads
    kept: dict[int, str] = {}  # id of a call -> the local its value is stored in
    read: set[str] = set()  # names a test or a return reads
    calls: list[ir.Call] = []
    for node in ir.walk(block):
        if isinstance(node, ir.Call) and node.name == name:
            calls.append(node)
        tests: list[ir.Expr] = []
        if isinstance(node, (ir.If, ir.Loop)) and node.cond is not None:
            tests.append(node.cond)
        elif isinstance(node, ir.Switch):
            tests.append(node.expr)
        elif isinstance(node, ir.Conditional):
            tests.append(node.test)
        elif isinstance(node, ir.Binary) and node.op in ("&&", "||"):
            tests.extend((node.left, node.right))
        elif isinstance(node, ir.Return) and node.value is not None:
            tests.append(node.value)
        elif isinstance(node, ir.Call) and node.name in assertions:
            tests.extend(node.args[:1])
        elif isinstance(node, ir.Decl) and isinstance(_bare(node.init), ir.Call):
            kept[id(_bare(node.init))] = node.name
        elif isinstance(node, ir.Assign) and isinstance(node.target, ir.Name) and \
                isinstance(_bare(node.value), ir.Call):
            kept[id(_bare(node.value))] = node.target.id
        for t in tests:
            for n in ir.walk(t):
                if isinstance(n, ir.Call) and n.name == name:
                    tested.add(id(n))
                elif isinstance(n, ir.Name):
                    read.add(n.id)
    return [id(c) in tested or kept.get(id(c)) in read for c in calls]


def _bare(e: ir.Expr | None) -> ir.Expr | None:
    while isinstance(e, ir.Cast):
        e = e.expr
    return e


# comments and string literals: a name there is no reference to the function
_NOT_CODE = re.compile(rb'/\*.*?\*/|//[^\n]*|"(?:\\.|[^"\\\n])*"', re.DOTALL)


def unreferenced(index: FunctionIndex, fn: FunctionDef) -> bool:
    """Whether the tree's code names `fn` nowhere but at its definition: no call, no pointer to
    it in an operations table, no prototype in a header (comments and strings do not count)."""
    word = re.compile(rb"\b" + re.escape(fn.name.encode()) + rb"\b")
    count = 0
    for path in index.files_naming(fn.name):
        data = index.read(path)
        if data is not None:
            count += len(word.findall(_NOT_CODE.sub(b" ", data)))
    return count <= 1
