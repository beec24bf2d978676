"""Expressions: names (locals, functions, constant macros, the model's named objects),
operators over the model's values, && || ?: as choices or in three values, members of the
model's objects (a page's fields are visible events), stores, and ({ ... }).
"""

from __future__ import annotations

from patchlint.cparse import ir
from patchlint.cparse.defs import FunctionDef
from patchlint.cparse.preproc import MacroDef
from patchlint.extract.exprs import text_of as _text
from patchlint.model import primitives as P
from patchlint.model.events import Choice, Steps
from patchlint.model.frames import ThreadBase
from patchlint.model.state import UNKNOWN, Addr, Obj, Struct, Sym
from patchlint.model.values import compare as _compare
from patchlint.model.values import literal as _literal
from patchlint.model.values import truth as _truth


class Expressions(ThreadBase):
    """The expression half of a thread (interp.Thread): call() comes from Calls, stmt() from
    Statements."""

    def cond(self, e: ir.Expr) -> Steps:
        v = yield from self.eval(e)
        t = _truth(v)
        if t is None:
            t = bool((yield Choice(2, f"if ({_text(e)})", self.site(e.line))))
        return t

    def eval(self, e: ir.Expr) -> Steps:  # noqa: C901 - one dispatch over the IR's expression kinds
        self.tick()
        if isinstance(e, ir.Literal):
            return _literal(e.text)
        if isinstance(e, ir.Name):
            return self.name(e.id)
        if isinstance(e, ir.Call):
            return (yield from self.call(e))
        if isinstance(e, ir.Field):
            base = self.name(e.obj.id, as_object=True) if isinstance(e.obj, ir.Name) else (yield from self.eval(e.obj))
            return (yield from self.read_field(base, e.field, e))
        if isinstance(e, ir.Unary):
            return (yield from self.unary(e))
        if isinstance(e, ir.Binary):
            if e.op in ("&&", "||") and not self.frame.deciding:
                left = _truth((yield from self.eval(e.left)))
                if left is (e.op == "||"):
                    return int(left)  # C's short circuit: the right side is not evaluated
                return _logic(e.op, left, (yield from self.eval(e.right)))
            if e.op in ("&&", "||"):
                left = yield from self.cond(e.left)
                if left == (e.op == "||"):
                    return int(left)
                return int((yield from self.cond(e.right)))
            left = yield from self.eval(e.left)
            right = yield from self.eval(e.right)
            return _compare(e.op, left, right)
        if isinstance(e, ir.Assign):
            value = yield from self.eval(e.value)
            if e.op != "=":
                old = yield from self.eval(e.target)
                value = _compare(e.op[:-1], old, value)
            yield from self.store(e.target, value)
            return value
        if isinstance(e, ir.Conditional):
            if self.frame.deciding:
                t = yield from self.cond(e.test)
            else:
                t = _truth((yield from self.eval(e.test)))
                if t is None:
                    return UNKNOWN
            return (yield from self.eval(e.then if t else e.orelse))
        if isinstance(e, ir.Cast):
            return (yield from self.eval(e.expr))
        if isinstance(e, ir.Comma):
            v = 0
            for x in e.exprs:
                v = yield from self.eval(x)
            return v
        if isinstance(e, ir.InitList):
            items = []
            for k, x in e.items:
                items.append(((k or "").lstrip("."), (yield from self.eval(x))))
            # C zero-fills what an initializer leaves out: `{ }`, `{ 0 }`, or designated members
            zeroed = all(k for k, _ in items) or all(v == 0 for _, v in items)
            return Struct(tuple(items), zeroed=zeroed)
        if isinstance(e, ir.StmtExpr):
            return (yield from self.stmt_expr(e))
        if isinstance(e, ir.OpaqueExpr):
            self.opaque(e.text, e.line)
        return UNKNOWN

    def three_valued(self, e: ir.Expr) -> Steps:
        """e's value with unknown staying unknown: its && || ?: make no choices."""
        deciding, self.frame.deciding = self.frame.deciding, False
        try:
            return (yield from self.eval(e))
        finally:
            self.frame.deciding = deciding

    def stmt_expr(self, e: ir.StmtExpr) -> Steps:
        """({ ...; v; }): the statements run in order and the last expression statement is the
        value.  A break, continue, goto or return inside one leaves it as in C."""
        stmts = e.body.body
        for s in stmts[:-1]:
            yield from self.stmt(s)
        last = stmts[-1] if stmts else None
        if isinstance(last, ir.ExprStmt):
            self.tick()
            self.frame.line = last.line
            return (yield from self.eval(last.expr))
        if last is not None:
            yield from self.stmt(last)
        return UNKNOWN

    def name(self, ident: str, as_object: bool = False) -> object:
        """An identifier's value.  File-scope variables are looked for (a search of the tree) only
        `as_object`: where a struct is used as one, `&var` or `var.member`, the only uses the model
        gives a meaning to."""
        env = self.frame.env
        if ident in env:
            return env[ident]
        if ident in ("NULL", "false"):
            return 0
        if ident == "true":
            return 1
        d = self.m.resolve(ident)
        if isinstance(d, FunctionDef):
            return Obj("fn", ident)  # a function's name cannot also name a variable
        # a macro's name is not a variable (`current`): no search of the tree for its initializer
        g = self.m.global_obj(ident) if as_object and not isinstance(d, MacroDef) else None
        if g is not None:
            return g
        if isinstance(d, MacroDef) and d.params is None:
            v = self.m.macro_const(d)
            if v is not None:
                return v
        if isinstance(d, FunctionDef) or (P.lookup(ident) is not None):
            return Obj("fn", ident)
        return Sym(ident)

    def unary(self, e: ir.Unary) -> Steps:
        if e.op == "&":
            if isinstance(e.operand, ir.Field):
                obj = e.operand.obj
                base = self.name(obj.id, as_object=True) if isinstance(obj, ir.Name) else (yield from self.eval(obj))
                if isinstance(base, Addr):  # &(&mapping->i_pages)->xa_lock: a member of a member
                    return Addr(base.obj, f"{base.field}.{e.operand.field}")
                return Addr(base, e.operand.field) if isinstance(base, Obj) else UNKNOWN
            if isinstance(e.operand, ir.Name):
                v = self.name(e.operand.id, as_object=True)
                if isinstance(v, Obj) and v.kind in P.HANDLES:
                    return v  # &xas, &pvmw: the model's walk states are their own handles
                if isinstance(v, Struct) and e.operand.id in self.frame.env:
                    # &rwc: the callee reads the local struct's members through the pointer (its
                    # stores through it are not modelled)
                    return v
                if e.operand.id in self.frame.env:
                    return Obj("local", f"{self.frame.function}.{e.operand.id}")
                if isinstance(v, Sym):
                    # the address of a name that is neither local, nor a function, nor a constant:
                    # a file-scope variable without a designated initializer (DEFINE_SPINLOCK(x))
                    return Obj("global", v.name)
                return v if isinstance(v, Obj) else UNKNOWN
            return UNKNOWN
        if e.op == "*":
            v = yield from self.eval(e.operand)
            if isinstance(v, Obj) and v.kind == "pte":
                return (yield from self.shared("__pte_read", (v,), f"*{_text(e.operand)}", e.line))
            if isinstance(v, Obj) and v.kind == "fn":
                return v
            return UNKNOWN
        if e.op in ("++", "--", "post++", "post--"):
            old = yield from self.eval(e.operand)
            new = _compare("+" if "++" in e.op else "-", old, 1)
            yield from self.store(e.operand, new)
            return old if e.op.startswith("post") else new
        v = yield from self.eval(e.operand)
        if e.op == "!":
            t = _truth(v)
            return UNKNOWN if t is None else int(not t)
        if isinstance(v, int):
            return {"-": -v, "~": ~v, "+": v}.get(e.op, UNKNOWN)
        return UNKNOWN

    def read_field(self, base: object, fieldname: str, e: ir.Expr) -> Steps:
        if isinstance(base, Struct):
            return base.get(fieldname)
        if not isinstance(base, Obj):
            return UNKNOWN
        if base.kind == "page" and fieldname in P.PAGE_FIELDS:
            return (yield from self.shared("__page_read", (base, fieldname), _text(e), e.line))
        if base.kind == "space":
            if fieldname in self.m.relevance.t.space_members:
                return Addr(base, fieldname)
            return self.m.member(base, fieldname)
        if base.kind in ("ops", "global"):
            return self.m.member(base, fieldname)
        if base.kind in P.HANDLES:
            return P.HANDLES[base.kind](base, fieldname)
        return UNKNOWN

    def store(self, target: ir.Expr, value: object) -> Steps:
        if isinstance(target, ir.Name):
            self.frame.env[target.id] = value
        elif isinstance(target, ir.Field):
            base = yield from self.eval(target.obj)
            if isinstance(base, Obj) and base.kind == "page" and target.field in P.PAGE_FIELDS:
                yield from self.shared("__page_write", (base, target.field, value),
                                       f"{_text(target)} = ...", target.line)
            elif isinstance(base, Struct) and not target.arrow and isinstance(target.obj, ir.Name) and \
                    target.obj.id in self.frame.env:
                # `details.single_folio = folio;` on a local struct (a store through a pointer to one
                # changes the callee's copy only: not modelled)
                items = tuple((k, v) for k, v in base.items if k != target.field) + ((target.field, value),)
                self.frame.env[target.obj.id] = Struct(items, base.zeroed)
        # other stores (counters such as nrpages, the pte through a pointer) are not modelled


def _logic(op: str, left: bool | None, right_value: object) -> object:
    """&& and || in three values, once the left side has not decided it alone."""
    right = _truth(right_value)
    short = op == "||"
    if left is short or right is short:
        return int(short)
    if left is None or right is None:
        return UNKNOWN
    return int(not short)
