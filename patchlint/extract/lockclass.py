"""Which lock an expression names, as lockdep would class it: `&zone->lock`
is `zone->lock` whatever the variable is called, a lock pointer variable is
the class it was set to, a parameter is `@paramN` until a caller says which
lock it is.  `LockNames` keeps what a function's walk learns of its names
(declared types, lock pointers, last values) and is the base the walker
builds on.
"""

from __future__ import annotations

import re
from collections.abc import Callable

from patchlint.cparse import ir
from patchlint.extract.exprs import plain_path, text_of
from patchlint.extract.facts import Held
from patchlint.extract.vocab import Primitive, Vocabulary

_STRUCT = re.compile(r"\bstruct\s+(\w+)")
LOCK_TYPE = re.compile(r"\b(?:raw_)?spinlock_t\s*\*")
# Locks whose second acquisition on the same object is judged recursive.  Not the sleeping
# locks a callee may drop and a caller retake through a protocol the walk does not follow
# (mmap_lock across VM_FAULT_RETRY, `*locked` out-parameters), nor reader-recursive rwlocks.
INSTANCE_KINDS = frozenset({"page_lock", "spinlock"})


def instance_of(prim: Primitive, call: ir.Call) -> str | None:
    """The text of the object a lock primitive takes the lock of: its lock argument
    (`&n->list_lock`, `ptl`), or for the page lock, named by class, its first argument
    (`folio`).  None where there is no plain name at its root, or for other kinds of lock."""
    if prim.kind not in INSTANCE_KINDS or isinstance(prim.lock, str) and prim.kind != "page_lock":
        return None
    idx = prim.lock if isinstance(prim.lock, int) else 0
    if idx >= len(call.args) or not plain_path(call.args[idx]):
        return None
    return text_of(call.args[idx])


class LockNames:
    def __init__(self, vocab: Vocabulary, body: ir.Body, params: list[tuple[str, str | None]],
                 global_types: Callable[[str], str | None] | None = None,
                 param_classes: dict[int, str] | None = None):
        self.v = vocab
        self.body = body
        self.global_types = global_types or (lambda name: None)
        self.types: dict[str, str] = {}
        self.lock_vars: dict[str, str] = {}  # local variable -> lock class it points to
        self.values: dict[str, ir.Expr] = {}  # local variable -> the expression last assigned to it
        self.param_index: dict[str, int] = {}
        self.param_classes = dict(param_classes or {})  # parameter index -> the caller's lock it points to
        for i, (ptype, pname) in enumerate(params):
            if pname:
                self.types[pname] = ptype
                self.param_index[pname] = i

    def held_for(self, prim: Primitive, call: ir.Call, how: str) -> Held:
        return Held(self.lock_class(prim, call), prim.kind, how, self.body.file, call.line, self.body.function,
                    prim.atomic)

    def lock_class(self, prim: Primitive, call: ir.Call) -> str:
        cls = self._lock_class(prim, call)
        return self.v.class_aliases.get(cls, cls)

    def _lock_class(self, prim: Primitive, call: ir.Call) -> str:
        if isinstance(prim.lock, str):
            return prim.lock
        if prim.lock >= len(call.args):
            return f"{prim.kind}:?"
        return self._arg_class(call.args[prim.lock])

    def _arg_class(self, arg: ir.Expr) -> str:
        """The class of a lock given by an expression: `&mapping->tree_lock`, a lock pointer
        variable, or a parameter (named @paramN until a caller says which lock it is)."""
        if isinstance(arg, ir.Unary) and arg.op == "&" and isinstance(arg.operand, ir.Name) and \
                arg.operand.id in self.lock_vars:
            cls = self.lock_vars[arg.operand.id]  # &xas, a handle XA_STATE() tied to its lock
        elif isinstance(arg, ir.Unary) and arg.op == "&":
            cls = self._class_of(arg.operand) or text_of(arg.operand)
        elif isinstance(arg, ir.Name) and arg.id in self.lock_vars:
            cls = self.lock_vars[arg.id]
        elif isinstance(arg, ir.Name) and arg.id in self.param_index:
            idx = self.param_index[arg.id]
            cls = self.param_classes.get(idx, f"@param{idx}")
        elif isinstance(arg, ir.Call) and arg.name in self.v.lock_pointers:
            cls = self.v.lock_pointers[arg.name]  # raw_spin_unlock(rq_lockp(rq))
        else:
            cls = self._class_of(arg) or text_of(arg)
        return self.v.class_aliases.get(cls, cls)

    def _class_of(self, e: ir.Expr) -> str | None:
        if isinstance(e, ir.Field):
            if e.field in self.v.field_classes:
                return self.v.field_classes[e.field]
            owner = self._owner_name(e.obj)
            return f"{owner}->{e.field}" if owner else None
        if isinstance(e, ir.Name):
            return e.id  # a global lock: swap_lock, mmlist_lock
        return None

    def _owner_name(self, obj: ir.Expr) -> str | None:
        """How kernel people name the struct a lock lives in: by type if known, else by the variable."""
        if isinstance(obj, ir.Name):
            declared = self.types.get(obj.id) or self.global_types(obj.id)
            if declared:
                m = _STRUCT.search(declared)
                struct = m.group(1) if m else declared.split()[-1].strip("*")
                # lockdep's class is the struct's, whatever the variable is called (parent, victim)
                return self.v.class_names.get(struct, struct)
            return obj.id
        if isinstance(obj, ir.Field):
            return obj.field
        if isinstance(obj, ir.Unary) and obj.op == "*":
            return self._owner_name(obj.operand)
        if isinstance(obj, ir.Index):  # &table[i].lock: every element's lock is one class
            return self._owner_name(obj.obj)
        return None

    def _lock_arg(self, arg: ir.Expr) -> str | None:
        """The lock class an argument names, if it names one: `&zone->lock`, a lock pointer."""
        if isinstance(arg, ir.Unary) and arg.op == "&" or (
                isinstance(arg, ir.Name) and (arg.id in self.lock_vars or arg.id in self.param_index)):
            return self._arg_class(arg)
        return None

    def _actual(self, cls: str, c: ir.Call) -> str:
        """A callee's @paramN lock class is the class of this call's Nth argument."""
        if cls.startswith("@param"):
            idx = int(cls[6:])
            return self._arg_class(c.args[idx]) if idx < len(c.args) else cls
        return cls

    def _out_pointers(self, c: ir.Call, cls: str) -> list[str]:
        """Pointer variables passed by address whose struct owns lock class `cls`."""
        out = []
        for arg in c.args:
            if isinstance(arg, ir.Unary) and arg.op == "&" and isinstance(arg.operand, ir.Name):
                owner = self._owner_name(arg.operand) if arg.operand.id in self.types else None
                if owner and cls.startswith(owner + "->"):
                    out.append(arg.operand.id)
        return out

    def callee(self, c: ir.Call) -> ir.Expr:
        """The callee expression, through a local function-pointer variable: `(*spd)(page)` with
        `spd = mapping->a_ops->set_page_dirty` is a call of `mapping->a_ops->set_page_dirty`."""
        func = c.func
        if isinstance(func, ir.Unary) and func.op == "*":
            func = func.operand
        if isinstance(func, ir.Name) and func.id in self.values:
            value = self.values[func.id]
            if isinstance(value, (ir.Field, ir.Name)):
                return value
        return c.func
