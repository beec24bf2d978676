"""What the threads of one exploration share: the tree (through the FunctionIndex) and what
the exploration notes.

The machine answers the interpreter's questions of the tree: what a name means for the
profile (a function, a macro, a constant), a macro's IR, a file-scope variable's designated
initializer and a member read from it, a callee's parameters and body, whether a callee can
reach model state.  The answers depend on the tree alone and are kept on the index, for every
exploration of it; the cuts, notes and calls not followed belong to this exploration.
"""

from __future__ import annotations

import re
import time
from dataclasses import dataclass, field

from patchlint.cparse import ir
from patchlint.cparse.defs import FunctionDef
from patchlint.cparse.index import FunctionIndex
from patchlint.cparse.preproc import MacroDef
from patchlint.cparse.snippets import macro_expression
from patchlint.extract.vocab import load_vocabulary
from patchlint.model import primitives as P
from patchlint.model.events import Cut, OutOfTime
from patchlint.model.relevance import ReachMemo, Relevance
from patchlint.model.state import UNKNOWN, Obj
from patchlint.model.tables import tables
from patchlint.model.values import const as _const


@dataclass
class TreeMemo:
    """What the model works out from the tree state alone (an index: the tree, its overlay, the
    profile), kept on the index for every exploration of it: a check's scenarios, and a replay's,
    resolve names, read initializers, fold callees and search for model state once.  It lives
    as long as the index, so it never outlives the tree state it describes."""

    resolved: dict[tuple, object] = field(default_factory=dict)  # (name, near file) -> definition
    macro_ir: dict[tuple, ir.Expr | None] = field(default_factory=dict)
    globals: dict[str, dict | None] = field(default_factory=dict)  # variable -> its designated initializer
    folded: dict[tuple, object] = field(default_factory=dict)  # (definition, arguments) -> a folded callee's value
    callee: dict[tuple, tuple] = field(default_factory=dict)  # definition -> its parameter names and IR body
    reach: ReachMemo = field(default_factory=ReachMemo)  # the relevance search's answers

    @staticmethod
    def of(index: FunctionIndex) -> TreeMemo:
        memo = index.memos.get("model")
        if not isinstance(memo, TreeMemo):
            memo = index.memos["model"] = TreeMemo()
        return memo


class Machine:
    """What the threads of one exploration share: the tree (through FunctionIndex) and notes."""

    def __init__(self, index: FunctionIndex, ctx: P.Ctx | None = None, aops: dict[str, str] | None = None,
                 space_ops: dict[str, str] | None = None, max_steps: int | None = None) -> None:
        self.index = index
        self.ctx = ctx or P.Ctx()
        self.aops = aops or {}  # address spaces the scenario declares -> their a_ops variable
        # the model's spaces' operations tables, where the tree sets a_ops at run time rather than
        # in an initializer (6.x's swapper_spaces[] get &swap_aops in init_swap_address_space())
        self.space_ops = space_ops or {}
        # time.monotonic() value after which interpretation stops: set when the exploration's run starts
        self.deadline: float | None = None
        # interpreter steps over the whole exploration, and the budget on them: unlike the
        # deadline, the same on every machine, so a cut-short result is the same bytes everywhere
        self.steps = 0
        self.max_steps = max_steps
        self.cuts: set[Cut] = set()  # where paths were abandoned: what lies beyond was not explored
        self.unresolved: set[str] = set()
        self.notes: set[str] = set()
        memo = TreeMemo.of(index)  # what depends only on the tree: shared with the index's other explorations
        self._resolved = memo.resolved
        self._macro_ir = memo.macro_ir
        self._globals = memo.globals
        self.folded = memo.folded
        self._callee = memo.callee  # asked for at every inlined call
        self.join_failed: dict[int, int] = {}  # id(if statement) -> times its branches could not be joined
        self.join_keep: list[ir.If] = []
        self.vocab = load_vocabulary()
        self._labels: dict[int, tuple[ir.Stmt, frozenset[str]]] = {}
        # the profile describes a production build: VM_BUG_ON only with --define CONFIG_DEBUG_VM
        self.debug_vm = "CONFIG_DEBUG_VM" in index.defines()
        # the model's named objects a function can reach without being handed them; the search
        # resolves names through this machine, so it keeps to this exploration's deadline
        names = sorted({*tables().globals, *self.aops.values()})
        named = re.compile(r"\b(?:" + "|".join(re.escape(n) for n in names) + r")\b")
        self.relevance = Relevance(self.resolve, index.read, memo.reach, named)

    def labels(self, s: ir.Stmt) -> frozenset[str]:
        """The labels inside statement s, at any depth (memoized: asked again at every goto)."""
        hit = self._labels.get(id(s))
        if hit is not None:
            return hit[1]
        if isinstance(s, ir.Label):
            out = frozenset((s.name,))
        elif isinstance(s, ir.Block):
            out = frozenset().union(*(self.labels(x) for x in s.body))
        elif isinstance(s, ir.If):
            out = self.labels(s.then) | (self.labels(s.orelse) if s.orelse is not None else frozenset())
        elif isinstance(s, (ir.Loop, ir.Switch)):
            out = self.labels(s.body)
        else:
            out = frozenset()
        self._labels[id(s)] = (s, out)  # the statement kept alive: its id is not reused
        return out

    def names_global(self, d: FunctionDef) -> bool:
        """Whether d, or what it calls, names an address space, operations table or page-table
        primitive the scenario has (swapper_space, swap_aops, pte_offset_map_lock): state a callee
        reaches without being handed it."""
        return self.relevance.reaches_named(d)

    def find_label(self, stmts: tuple[ir.Stmt, ...], label: str) -> int | None:
        return next((k for k, x in enumerate(stmts) if label in self.labels(x)), None)

    def callee(self, d: FunctionDef) -> tuple[tuple[str | None, ...], ir.Body | None]:
        key = (d.file, d.start_byte, d.name)
        found = self._callee.get(key)
        if found is None:
            found = self._callee[key] = (tuple(p.name for p in d.params()), self.index.body(d))
        return found

    def resolve(self, name: str, near: str | None = None) -> FunctionDef | MacroDef | None:
        """The tree's meaning of `name` for the profile: a FunctionDef, a MacroDef or None."""
        key = (name, near)
        if key not in self._resolved:
            self.past_deadline()
            found = self.index.resolve(name)
            funcs = [d for d in found if isinstance(d, FunctionDef)]
            if near is not None and len(funcs) > 1:
                funcs = [f for f in funcs if f.file == near] or [f for f in funcs if not f.static] or funcs
            macros = [d for d in found if isinstance(d, MacroDef)]
            self._resolved[key] = funcs[0] if funcs else (macros[0] if macros else None)
        return self._resolved[key]

    def macro_expr(self, m: MacroDef) -> ir.Expr | None:
        key = (m.file, m.line, m.name)
        if key not in self._macro_ir:
            self._macro_ir[key] = macro_expression(m.body or "", m.name, m.file)
        return self._macro_ir[key]

    def macro_const(self, m: MacroDef, depth: int = 0) -> int | None:
        """An object-like macro's value when it is a constant expression, through other such
        macros (PAGE_MAPPING_FLAGS is PAGE_MAPPING_ANON | PAGE_MAPPING_KSM)."""
        expr = self.macro_expr(m)
        if expr is None or isinstance(expr, ir.Name) or depth > 8:
            return None

        return _const(expr, lambda ident: self.constant(ident, depth + 1))

    def constant(self, ident: str, depth: int = 0) -> int | None:
        """A name's value when it is an object-like macro with a constant expression (FGP_LOCK,
        SINGLE_DEPTH_NESTING), else None."""
        d = self.resolve(ident)
        return self.macro_const(d, depth) if isinstance(d, MacroDef) and d.params is None else None

    def past_deadline(self) -> None:
        if self.deadline is not None and time.monotonic() > self.deadline:
            raise OutOfTime()

    def global_members(self, name: str) -> dict | None:
        """A file-scope variable's designated initializer: {"_struct": ..., member: value text}."""
        if name not in self._globals:
            self.past_deadline()  # the search greps the tree: seconds on a big one
            found = None
            # only a file with `name = {` can hold its designated initializer: the bytes say so
            # before a parse (or a cached summary) is loaded for every file that uses the name
            opening = re.compile(rb"\b" + re.escape(name.encode()) + rb"\s*(?:\[[^\]=;]*\]\s*)?=\s*\{")
            for path in self.index.files_naming(name):
                if not opening.search(self.index.read(path) or b""):
                    continue
                parsed = self.index.parsed(path)
                if parsed is None:
                    continue
                members = [i for i in parsed.initializers if i.name == name]
                if members:
                    found = {"_struct": members[0].struct} | {i.field: i.value for i in members}
                    break
            self._globals[name] = found
        return self._globals[name]

    def global_obj(self, name: str) -> Obj | None:
        g = self.global_members(name)
        if g is None:
            return None
        kind = {"address_space": "space", "address_space_operations": "ops"}.get(g["_struct"], "global")
        return Obj(kind, name)

    def member(self, obj: Obj, fieldname: str) -> object:
        """A member of a global read from its initializer: a function, &other_global, NULL."""
        if obj.kind == "space" and obj.name in self.aops:
            # a file's mapping: no variable of the tree holds it; its a_ops is named by the scenario
            # and the table itself read from the tree, its other members are unknown
            return (self.global_obj(self.aops[obj.name]) or UNKNOWN) if fieldname == "a_ops" else UNKNOWN
        g = self.global_members(obj.name) or {}
        text = g.get(fieldname)
        if text is None and fieldname == "a_ops" and obj.kind == "space" and obj.name in self.space_ops:
            return self.global_obj(self.space_ops[obj.name]) or UNKNOWN
        if text is None:
            return UNKNOWN
        text = text.strip()
        if text in ("NULL", "0"):
            return 0
        ref = text.lstrip("&").strip()
        if ref.isidentifier():
            other = self.global_obj(ref)
            if other is not None:
                return other
            if self.resolve(ref) is not None:
                return Obj("fn", ref)
        return UNKNOWN
