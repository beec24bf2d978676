"""How the walk reads C in the IR, knowing nothing of locks beyond the
vocabulary's names: an expression's text, its calls in evaluation order,
literals and their truth, the names a path can keep facts about (the locals
whose every change the walk sees), and a memo of what is worked out once per
body or expression (`WalkMemo`), kept by whoever walks many functions.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from patchlint.cparse import ir
from patchlint.extract.vocab import Vocabulary

ERR_MAKERS = frozenset({"ERR_PTR", "ERR_CAST"})
# macros that assign a variable named as an argument (a function cannot: C passes by value)
_ASSIGNING_MACROS = frozenset({
    "swap", "get_user", "__get_user", "unsafe_get_user", "get_kernel_nofault", "do_div", "sector_div",
    "xchg", "xchg_relaxed", "xchg_acquire", "xchg_release", "cmpxchg", "cmpxchg_relaxed", "cmpxchg64",
    "try_cmpxchg", "WRITE_ONCE", "smp_store_release", "smp_store_mb", "rcu_assign_pointer", "RCU_INIT_POINTER",
    "no_free_ptr", "retain_and_null_ptr", "take_fd", "local_irq_save", "raw_local_irq_save",
    "local_save_flags", "spin_lock_irqsave", "raw_spin_lock_irqsave", "read_lock_irqsave",
    "write_lock_irqsave", "xa_lock_irqsave", "xas_lock_irqsave",
})
_STEPS = ("++", "--", "post++", "post--")


def call_key(c: ir.Call) -> str:
    """A name for the value a call returned, as the facts of a path remember it."""
    return f"<ret {c.line}:{text_of_callee(c)}>"


def took_key(c: ir.Call) -> str:
    """A name for the locks a call returned holding, as the facts of a path remember them."""
    return f"<took {c.line}:{text_of_callee(c)}>"


def text_of_callee(c: ir.Call) -> str:
    return text_of(c.func)


def leaves_loop(s: ir.Stmt | None) -> bool:
    if s is None:
        return False
    if isinstance(s, (ir.Break, ir.Return, ir.Goto)):
        return True
    if isinstance(s, ir.Block) and s.body:
        return leaves_loop(s.body[-1])
    return False


def deref_name(e: ir.Expr) -> bool:
    return isinstance(e, ir.Unary) and e.op == "*" and isinstance(e.operand, ir.Name)


def is_literal(e: ir.Expr) -> bool:
    return isinstance(e, ir.Literal) or (isinstance(e, ir.Name) and e.id in ("NULL", "false", "true"))


def literal_truth(e: ir.Expr) -> bool | None:
    text = e.text if isinstance(e, ir.Literal) else e.id  # type: ignore[union-attr]
    if text in ("false", "NULL"):
        return False
    if text == "true":
        return True
    digits = text.rstrip("uUlL")
    try:
        # C's integer constants: 1, 0x1, 1UL (a leading 0 is octal; Python's int() refuses it)
        return int(digits, 8 if digits[:1] == "0" and digits.isdigit() else 0) != 0
    except ValueError:
        return None  # a character or string literal, a float: not judged


def calls_in(e: ir.Expr) -> list[ir.Call]:
    """Calls in e in evaluation order: arguments (and callee expression) before the call itself."""
    out: list[ir.Call] = []
    stack: list[tuple[ir.Expr, bool]] = [(e, False)]
    while stack:
        node, expanded = stack.pop()
        if expanded:
            out.append(node)  # type: ignore[arg-type]
            continue
        if isinstance(node, ir.Call):
            stack.append((node, True))
            for child in reversed((node.func, *node.args)):
                stack.append((child, False))
            continue
        for child in reversed(_children(node)):
            stack.append((child, False))
    return out


def _children(e: ir.Expr) -> tuple[ir.Expr, ...]:
    if isinstance(e, ir.Field):
        return (e.obj,)
    if isinstance(e, ir.Unary):
        return (e.operand,)
    if isinstance(e, ir.Binary):
        return (e.left, e.right)
    if isinstance(e, ir.Assign):
        return (e.value, e.target)
    if isinstance(e, ir.Conditional):
        return (e.test, e.then, e.orelse)
    if isinstance(e, ir.Cast):
        return (e.expr,)
    if isinstance(e, ir.Index):
        return (e.obj, e.index)
    if isinstance(e, ir.Comma):
        return e.exprs
    if isinstance(e, ir.InitList):
        return tuple(v for _, v in e.items)
    return ()


def text_of(e: ir.Expr) -> str:
    """The expression as kernel people write it (what lock classes and messages name)."""
    if isinstance(e, ir.Name):
        return e.id
    if isinstance(e, ir.Literal):
        return e.text
    if isinstance(e, ir.Field):
        return f"{text_of(e.obj)}{'->' if e.arrow else '.'}{e.field}"
    if isinstance(e, ir.Unary):
        return f"{e.op}{text_of(e.operand)}" if not e.op.startswith("post") else f"{text_of(e.operand)}{e.op[4:]}"
    if isinstance(e, ir.Call):
        return f"{text_of(e.func)}({', '.join(text_of(a) for a in e.args)})"
    if isinstance(e, ir.Binary):
        return f"{text_of(e.left)} {e.op} {text_of(e.right)}"
    if isinstance(e, ir.OpaqueExpr):
        return e.text
    if isinstance(e, ir.Index):
        return f"{text_of(e.obj)}[{text_of(e.index)}]"
    if isinstance(e, ir.Cast):
        return text_of(e.expr)
    if isinstance(e, ir.Conditional):
        return f"{text_of(e.test)} ? {text_of(e.then)} : {text_of(e.orelse)}"
    if isinstance(e, ir.StmtExpr):
        last = e.body.body[-1] if e.body.body else None
        return f"({{ ...; {text_of(last.expr)}; }})" if isinstance(last, ir.ExprStmt) else "({ ... })"
    return type(e).__name__


def value_key(e: ir.Expr) -> str:
    """A name for the value an expression with branches of its own (`c ? a : b`, `({ ...; v; })`,
    `a && b`) took on a path, as the facts of a path remember it."""
    return f"<val {e.line}:{text_of(e)}>"


def tail_value(e: ir.StmtExpr) -> ir.Expr | None:
    """The value of a statement expression: its last statement's expression."""
    last = e.body.body[-1] if e.body.body else None
    return last.expr if isinstance(last, ir.ExprStmt) else None


def words(e: ir.Expr) -> list[str]:
    return re.findall(r"\w+", text_of(e))


def plain_path(e: ir.Expr) -> bool:
    """A name, its fields, `&`/`*` of those, a constant index: an expression that names one
    object for as long as none of its names is assigned (not `compound_head(page)`, `pages[i]`,
    `x ? a : b`)."""
    if isinstance(e, ir.Name):
        return True
    if isinstance(e, ir.Field):
        return plain_path(e.obj)
    if isinstance(e, ir.Unary) and e.op in ("&", "*"):
        return plain_path(e.operand)
    if isinstance(e, ir.Index):
        return isinstance(e.index, ir.Literal) and plain_path(e.obj)
    return False


def owner_var(arg: ir.Expr) -> str | None:
    """The pointer variable a lock argument hangs off: n in `&n->list_lock`, ptl in `ptl`."""
    if isinstance(arg, ir.Unary) and arg.op == "&" and isinstance(arg.operand, ir.Field):
        obj = arg.operand.obj
        return obj.id if isinstance(obj, ir.Name) and arg.operand.arrow else None
    return arg.id if isinstance(arg, ir.Name) else None


def plain_locals(block: ir.Stmt, params: set[str], known_calls: set[str],
                 lock_args: frozenset[str] = frozenset()) -> frozenset[str]:
    """The parameters and declared locals whose value changes only where the walk sees it: a
    statement-level assignment (`x = ...;`, `a = b = ...;`, a declaration, a for loop's update),
    or a statement-level call of a lock primitive given `&x` (`pte_offset_map_lock(.., &ptl)`),
    whose facts call() forgets there and then.  Not: a global (a callee may change it); a name
    whose address goes anywhere else (`refresh(&a)` may keep it, `(void **)&a`, `pp = &a`, a
    call inside a condition); one assigned inside a condition or a comma expression; an iterator
    macro's argument (the macro assigns it); one handed to a macro that assigns (`swap(a, b)`,
    `do_div(a, n)`).  A lock handed by address to one of `lock_args`, primitives that neither
    keep nor write through it (`spin_trylock(&lock)`), wherever the call stands, is still plain.
    Nothing, where part of the body is code the IR does not model (inline asm)."""
    declared: set[str] = set(params)
    bad: set[str] = set()
    opaque = False

    def scan(e: ir.Expr | None, top: bool) -> None:
        nonlocal opaque
        if e is None:
            return
        allowed: set[int] = set()
        passed: set[int] = set()
        if top:
            node: ir.Expr = e
            while isinstance(node, ir.Assign) and isinstance(node.target, ir.Name):
                allowed.add(id(node))
                node = node.value
            if isinstance(node, ir.Call) and node.name in known_calls:
                passed = {id(a) for a in node.args
                          if isinstance(a, ir.Unary) and a.op == "&" and isinstance(a.operand, ir.Name)}
        for n in ir.walk(e):
            if isinstance(n, ir.Call) and n.name in lock_args:
                passed |= {id(a) for a in n.args
                           if isinstance(a, ir.Unary) and a.op == "&" and isinstance(a.operand, ir.Name)}
        for n in ir.walk(e):
            # (a statement expression's own statements are walked with it, and an assignment in
            # them, not at the top of the enclosing statement, makes its target unplain below)
            if isinstance(n, ir.OpaqueExpr):
                opaque = True
            elif isinstance(n, ir.Unary) and n.op == "&" and isinstance(n.operand, ir.Name) and \
                    id(n) not in passed:
                bad.add(n.operand.id)
            elif isinstance(n, ir.Assign) and isinstance(n.target, ir.Name) and id(n) not in allowed:
                bad.add(n.target.id)
            elif isinstance(n, ir.Call) and n.name in _ASSIGNING_MACROS:
                bad.update(a.id for a in n.args if isinstance(a, ir.Name))

    stack: list[ir.Stmt | None] = [block]
    while stack:
        st = stack.pop()
        if isinstance(st, ir.Block):
            stack.extend(st.body)
        elif isinstance(st, ir.ExprStmt):
            scan(st.expr, True)
        elif isinstance(st, ir.Decl):
            declared.add(st.name)
            scan(st.init, False)
        elif isinstance(st, ir.If):
            scan(st.cond, False)
            stack.extend((st.then, st.orelse))
        elif isinstance(st, ir.Loop):
            stack.extend((st.init, st.body))
            if st.macro is not None and st.cond is not None:
                bad.update(n.id for n in ir.walk(st.cond) if isinstance(n, ir.Name))
            else:
                scan(st.cond, False)
            scan(st.update, True)
        elif isinstance(st, ir.Switch):
            scan(st.expr, False)
            stack.append(st.body)
        elif isinstance(st, ir.Return):
            scan(st.value, False)
        elif isinstance(st, ir.OpaqueStmt):
            opaque = True
    return frozenset() if opaque else frozenset(declared - bad)


@dataclass(frozen=True, slots=True)
class _PlainEntry:
    block: ir.Stmt  # kept, so that its id is not reused while the entry lives
    key: tuple[str, frozenset[str]]  # the lock table's fingerprint, the parameters
    plain: frozenset[str]
    returned: frozenset[str]


@dataclass(frozen=True, slots=True)
class _SteppedEntry:
    expr: ir.Expr  # kept, as above
    names: frozenset[str]


@dataclass
class WalkMemo:
    """What the walk works out once per body or expression, though it walks each under many
    lock sets: kept by whoever walks (an engine's LockSummaries), for as long as it walks.
    Entries are keyed by the node's identity and keep the node, so an id is never reused."""

    plain: dict[int, _PlainEntry] = field(default_factory=dict)
    stepped: dict[int, _SteppedEntry] = field(default_factory=dict)
    branchy: dict[int, _SteppedEntry] = field(default_factory=dict)  # names: empty or {"yes"}

    def plain_and_returned(self, vocab: Vocabulary, block: ir.Stmt,
                           params: frozenset[str]) -> tuple[frozenset[str], frozenset[str]]:
        """plain_locals, and the names the body's `return` statements return."""
        key = (vocab.fingerprint, params)
        hit = self.plain.get(id(block))
        if hit is not None and hit.block is block and hit.key == key:
            return hit.plain, hit.returned
        plain = plain_locals(block, set(params), set(vocab.reads) | set(vocab.lock_out_pointers),
                             frozenset(n for n, p in vocab.reads.items() if p.op != "acquire_nonnull"))
        returned = frozenset(n.value.id for n in ir.walk(block) if isinstance(n, ir.Return) and
                             isinstance(n.value, ir.Name))
        if len(self.plain) > 50_000:
            self.plain.clear()
        self.plain[id(block)] = _PlainEntry(block, key, plain, returned)
        return plain, returned

    def stepped_names(self, e: ir.Expr) -> frozenset[str]:
        """Names `e` steps with ++ or --."""
        hit = self.stepped.get(id(e))
        if hit is not None and hit.expr is e:
            return hit.names
        names = frozenset(n.operand.id for n in ir.walk(e) if isinstance(n, ir.Unary) and n.op in _STEPS and
                          isinstance(n.operand, ir.Name))
        if len(self.stepped) > 200_000:
            self.stepped.clear()
        self.stepped[id(e)] = _SteppedEntry(e, names)
        return names

    def has_branches(self, e: ir.Expr, changes: frozenset[str], tests: frozenset[str] = frozenset()) -> bool:
        """Whether evaluating `e` takes a path of its own that matters: it holds a `c ? a : b` or
        a statement expression, or an `&&`/`||` whose right side calls a function -- any but the
        `tests` (trylocks and lock tests, decided by the condition around them) -- or one of
        `changes` (lock primitives that take or release)."""
        hit = self.branchy.get(id(e))
        if hit is not None and hit.expr is e:
            return bool(hit.names)
        found = False
        for n in ir.walk(e):
            # (any call on the right of && or ||: a callee may take or drop a lock, and the walk
            # must not apply it on the paths that never made the call)
            if isinstance(n, (ir.Conditional, ir.StmtExpr)) or isinstance(n, ir.Binary) and n.op in ("&&", "||") \
                    and any(isinstance(m, ir.Call) and (m.name in changes or m.name not in tests)
                            for m in ir.walk(n.right)):
                found = True
                break
        if len(self.branchy) > 200_000:
            self.branchy.clear()
        self.branchy[id(e)] = _SteppedEntry(e, frozenset({"yes"}) if found else frozenset())
        return found
