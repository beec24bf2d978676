"""Function bodies as patchlint's own IR: frozen statements and expressions.

Built on demand (only the functions an analysis reaches), from the same
dialect-rewritten bytes the summaries came from, so lines and offsets match
the real file.  Nesting deeper than MAX_DEPTH becomes an Opaque node and the
body is marked incomplete: analyses must say so, never assume it is safe.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

MAX_DEPTH = 200


# --- expressions ------------------------------------------------------------------------------
@dataclass(frozen=True)
class Expr:
    line: int


@dataclass(frozen=True)
class Name(Expr):
    id: str


@dataclass(frozen=True)
class Literal(Expr):
    text: str


@dataclass(frozen=True)
class Call(Expr):
    func: Expr
    args: tuple[Expr, ...]

    @property
    def name(self) -> str | None:
        """The callee's name for a direct call, None for an indirect one."""
        return self.func.id if isinstance(self.func, Name) else None


@dataclass(frozen=True)
class Field(Expr):
    obj: Expr
    field: str
    arrow: bool


@dataclass(frozen=True)
class Unary(Expr):
    op: str  # "!", "-", "~", "*" (deref), "&" (address), "++", "--", "post++", "post--"
    operand: Expr


@dataclass(frozen=True)
class Binary(Expr):
    op: str
    left: Expr
    right: Expr


@dataclass(frozen=True)
class Assign(Expr):
    op: str  # "=", "+=", ...
    target: Expr
    value: Expr


@dataclass(frozen=True)
class Conditional(Expr):
    test: Expr
    then: Expr
    orelse: Expr


@dataclass(frozen=True)
class Cast(Expr):
    type: str
    expr: Expr


@dataclass(frozen=True)
class Index(Expr):
    obj: Expr
    index: Expr


@dataclass(frozen=True)
class Comma(Expr):
    exprs: tuple[Expr, ...]


@dataclass(frozen=True)
class InitList(Expr):
    items: tuple[tuple[str | None, Expr], ...]  # (designator or None, value)


@dataclass(frozen=True)
class StmtExpr(Expr):
    """GNU `({ ...; value; })`: the block runs, its last expression statement is the value."""

    body: Block


@dataclass(frozen=True)
class OpaqueExpr(Expr):
    text: str  # what the IR does not model (sizeof, statement expressions, asm, parse errors)


# --- statements -------------------------------------------------------------------------------
@dataclass(frozen=True)
class Stmt:
    line: int


@dataclass(frozen=True)
class Block(Stmt):
    body: tuple[Stmt, ...]


@dataclass(frozen=True)
class ExprStmt(Stmt):
    expr: Expr


@dataclass(frozen=True)
class Decl(Stmt):
    type: str
    name: str
    init: Expr | None


@dataclass(frozen=True)
class If(Stmt):
    cond: Expr
    then: Stmt
    orelse: Stmt | None


@dataclass(frozen=True)
class Loop(Stmt):
    kind: str  # "while", "do", "for"
    init: Stmt | None
    cond: Expr | None
    update: Expr | None
    body: Stmt
    macro: str | None = None  # the iterator macro the dialect pass read as this loop


@dataclass(frozen=True)
class Switch(Stmt):
    expr: Expr
    body: Stmt


@dataclass(frozen=True)
class Case(Stmt):
    value: Expr | None  # None for default


@dataclass(frozen=True)
class Label(Stmt):
    name: str


@dataclass(frozen=True)
class Goto(Stmt):
    label: str


@dataclass(frozen=True)
class Return(Stmt):
    value: Expr | None


@dataclass(frozen=True)
class Break(Stmt):
    pass


@dataclass(frozen=True)
class Continue(Stmt):
    pass


@dataclass(frozen=True)
class OpaqueStmt(Stmt):
    text: str


@dataclass(frozen=True)
class Body:
    function: str
    file: str
    block: Block
    complete: bool  # False when parse errors or depth limits made parts Opaque


# --- building ---------------------------------------------------------------------------------
class _Builder:
    def __init__(self, buf: bytes, loop_macros: dict[int, str]):
        self.buf = buf
        self.loop_macros = loop_macros
        self.complete = True

    def text(self, node) -> str:
        return " ".join(self.buf[node.start_byte:node.end_byte].decode("utf-8", "replace").split())

    def line(self, node) -> int:
        return node.start_point[0] + 1

    def opaque_stmt(self, node, why: str | None = None) -> Stmt:
        self.complete = False
        return OpaqueStmt(self.line(node), why or self.text(node)[:200])

    def stmt(self, node, depth: int) -> Stmt:
        if depth > MAX_DEPTH:
            return self.opaque_stmt(node, f"nesting deeper than {MAX_DEPTH}")
        t = node.type
        ln = self.line(node)
        named = [c for c in node.named_children if c.type != "comment"]
        if node.is_error or node.is_missing:
            return self.opaque_stmt(node)
        if t == "compound_statement":
            return Block(ln, tuple(self._stmts(named, depth + 1)))
        if t == "expression_statement":
            return ExprStmt(ln, self.expr(named[0], depth + 1)) if named else Block(ln, ())
        if t == "declaration":
            decls = self._declaration(node, depth + 1)
            return decls[0] if len(decls) == 1 else Block(ln, tuple(decls))
        if t == "if_statement":
            cond = node.child_by_field_name("condition")
            alt = node.child_by_field_name("alternative")
            if alt is not None and alt.type == "else_clause":
                alt = next((c for c in alt.named_children if c.type != "comment"), None)
            return If(ln, self.expr(cond, depth + 1), self.stmt(node.child_by_field_name("consequence"), depth + 1),
                      self.stmt(alt, depth + 1) if alt is not None else None)
        if t == "while_statement":
            return Loop(ln, "while", None, self.expr(node.child_by_field_name("condition"), depth + 1), None,
                        self.stmt(node.child_by_field_name("body"), depth + 1), self.loop_macros.get(node.start_byte))
        if t == "do_statement":
            return Loop(ln, "do", None, self.expr(node.child_by_field_name("condition"), depth + 1), None,
                        self.stmt(node.child_by_field_name("body"), depth + 1))
        if t == "for_statement":
            init = node.child_by_field_name("initializer")
            cond = node.child_by_field_name("condition")
            upd = node.child_by_field_name("update")
            init_stmt = None
            if init is not None:
                init_stmt = (self.stmt(init, depth + 1) if init.type == "declaration"
                             else ExprStmt(self.line(init), self.expr(init, depth + 1)))
            return Loop(ln, "for", init_stmt, self.expr(cond, depth + 1) if cond is not None else None,
                        self.expr(upd, depth + 1) if upd is not None else None,
                        self.stmt(node.child_by_field_name("body"), depth + 1))
        if t == "switch_statement":
            return Switch(ln, self.expr(node.child_by_field_name("condition"), depth + 1),
                          self.stmt(node.child_by_field_name("body"), depth + 1))
        if t == "return_statement":
            return Return(ln, self.expr(named[0], depth + 1) if named else None)
        if t == "goto_statement":
            return Goto(ln, self.text(node.child_by_field_name("label")))
        if t == "break_statement":
            return Break(ln)
        if t == "continue_statement":
            return Continue(ln)
        if t in ("labeled_statement", "case_statement"):
            return Block(ln, tuple(self._stmts([node], depth + 1)))
        if t == "parenthesized_expression":
            return ExprStmt(ln, self.expr(node, depth + 1))
        return self.opaque_stmt(node)

    def _stmts(self, nodes, depth: int) -> list[Stmt]:
        out: list[Stmt] = []
        for n in nodes:
            if n.type == "labeled_statement":
                out.append(Label(self.line(n), self.text(n.child_by_field_name("label"))))
                rest = [c for c in n.named_children if c.type not in ("statement_identifier", "comment")]
                out.extend(self._stmts(rest, depth))
            elif n.type == "case_statement":
                value = n.child_by_field_name("value")
                out.append(Case(self.line(n), self.expr(value, depth) if value is not None else None))
                rest = [c for c in n.named_children if c != value and c.type != "comment"]
                out.extend(self._stmts(rest, depth))
            elif n.type in ("preproc_call", "comment", "empty_statement"):
                continue
            else:
                out.append(self.stmt(n, depth))
        return out

    def _declaration(self, node, depth: int) -> list[Stmt]:
        type_node = node.child_by_field_name("type")
        base = self.text(type_node) if type_node is not None else "?"
        out: list[Stmt] = []
        for d in node.children_by_field_name("declarator"):
            init = None
            decl = d
            if d.type == "init_declarator":
                value = d.child_by_field_name("value")
                init = self.expr(value, depth) if value is not None else None
                decl = d.child_by_field_name("declarator")
            name_node = decl
            stars = ""
            while name_node is not None and name_node.type not in ("identifier", "field_identifier"):
                if name_node.type == "pointer_declarator":
                    stars += "*"
                inner = name_node.child_by_field_name("declarator")
                if inner is None and name_node.type == "parenthesized_declarator":
                    inner = next(iter(name_node.named_children), None)  # int (*spd)(struct page *)
                if inner is None:
                    break
                name_node = inner
            name = self.text(name_node) if name_node is not None else self.text(decl)
            out.append(Decl(self.line(d), f"{base} {stars}".strip(), name, init))
        return out or [Decl(self.line(node), base, "", None)]

    def expr(self, node, depth: int) -> Expr:
        ln = self.line(node)
        if depth > MAX_DEPTH:
            self.complete = False
            return OpaqueExpr(ln, f"nesting deeper than {MAX_DEPTH}")
        if node.is_error or node.is_missing or node.has_error:
            self.complete = False
            return OpaqueExpr(ln, self.text(node)[:200])
        t = node.type
        f = node.child_by_field_name
        if t == "identifier" or t == "field_identifier" or t == "type_identifier":
            return Name(ln, self.text(node))
        if t in ("number_literal", "char_literal", "string_literal", "concatenated_string", "true", "false",
                 "null"):
            return Literal(ln, self.text(node))
        if t == "parenthesized_expression":
            inner = [c for c in node.named_children if c.type != "comment"]
            return self.expr(inner[0], depth + 1) if len(inner) == 1 else self._comma(node, inner, depth)
        if t == "call_expression":
            args = f("arguments")
            arg_nodes = [c for c in args.named_children if c.type != "comment"] if args is not None else []
            return Call(ln, self.expr(f("function"), depth + 1), tuple(self.expr(a, depth + 1) for a in arg_nodes))
        if t == "field_expression":
            op = self.buf[f("argument").end_byte:f("field").start_byte].decode().strip()
            return Field(ln, self.expr(f("argument"), depth + 1), self.text(f("field")), op == "->")
        if t == "assignment_expression":
            return Assign(ln, self.text(f("operator")), self.expr(f("left"), depth + 1),
                          self.expr(f("right"), depth + 1))
        if t == "binary_expression":
            return Binary(ln, self.text(f("operator")), self.expr(f("left"), depth + 1),
                          self.expr(f("right"), depth + 1))
        if t in ("unary_expression", "pointer_expression"):
            return Unary(ln, self.text(f("operator")), self.expr(f("argument"), depth + 1))
        if t == "update_expression":
            op = self.text(f("operator"))
            arg = f("argument")
            post = arg is not None and f("operator").start_byte > arg.start_byte
            return Unary(ln, ("post" + op) if post else op, self.expr(arg, depth + 1))
        if t == "conditional_expression":
            cons = f("consequence")
            return Conditional(ln, self.expr(f("condition"), depth + 1),
                               self.expr(cons, depth + 1) if cons is not None else self.expr(f("condition"), depth + 1),
                               self.expr(f("alternative"), depth + 1))
        if t == "cast_expression":
            return Cast(ln, self.text(f("type")), self.expr(f("value"), depth + 1))
        if t == "subscript_expression":
            return Index(ln, self.expr(f("argument"), depth + 1), self.expr(f("index"), depth + 1))
        if t == "comma_expression":
            return self._comma(node, [f("left"), f("right")], depth)
        if t == "compound_statement":  # ({ ... }): a statement expression, as kernel macros write them
            block = self.stmt(node, depth + 1)
            return StmtExpr(ln, block if isinstance(block, Block) else Block(ln, (block,)))
        if t == "initializer_list":
            items = []
            for c in node.named_children:
                if c.type == "initializer_pair":
                    designator = self.text(c.child_by_field_name("designator"))
                    items.append((designator, self.expr(c.child_by_field_name("value"), depth + 1)))
                elif c.type != "comment":
                    items.append((None, self.expr(c, depth + 1)))
            return InitList(ln, tuple(items))
        return OpaqueExpr(ln, self.text(node)[:200])

    def _comma(self, node, parts, depth: int) -> Expr:
        flat: list[Expr] = []
        for p in parts:
            e = self.expr(p, depth + 1)
            flat.extend(e.exprs if isinstance(e, Comma) else [e])
        return Comma(self.line(node), tuple(flat))


def walk(node: Stmt | Expr) -> Iterator[Stmt | Expr]:
    """Every statement and expression under `node` (itself included), in no promised order."""
    stack: list[Stmt | Expr] = [node]
    while stack:
        n = stack.pop()
        yield n
        for value in vars(n).values():
            for item in value if isinstance(value, tuple) else (value,):
                if isinstance(item, tuple):  # InitList items: (designator, value)
                    stack.extend(x for x in item if isinstance(x, (Stmt, Expr)))
                elif isinstance(item, (Stmt, Expr)):
                    stack.append(item)


def build_body(buf: bytes, root, fn_start_byte: int, name: str, path: str,
               loop_macros: dict[int, str]) -> Body | None:
    """The IR of the function whose definition starts at fn_start_byte in the parsed tree."""
    node = root.descendant_for_byte_range(fn_start_byte, fn_start_byte)
    while node is not None and node.type != "function_definition":
        node = node.parent
    if node is None:
        return None
    body = node.child_by_field_name("body")
    builder = _Builder(buf, loop_macros)
    block = builder.stmt(body, 0)
    if not isinstance(block, Block):
        block = Block(block.line, (block,))
    return Body(name, path, block, builder.complete and not body.has_error)
