"""Conditional compilation for a profile, keeping every byte offset.

Directive lines and the lines of branches the profile does not take are
replaced by spaces (newlines kept), so tree-sitter sees one configuration
of the file and every position still points into the real file.  `#define`s
met on the way are recorded: the model resolves macros such as
`page_test_and_clear_dirty` through them.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

_DIRECTIVE = re.compile(rb"^[ \t]*#[ \t]*([a-z_]+)?(.*)$")
_DEFINE = re.compile(rb"^\s*([A-Za-z_]\w*)(\([^)]*\))?\s*(.*)$", re.DOTALL)
_TOKEN = re.compile(
    r"\s*(?:(0[xX][0-9a-fA-F]+|\d+)[uUlL]*|([A-Za-z_]\w*)|(&&|\|\||<<|>>|<=|>=|==|!=|[-+*/%()!~<>&^|?:,]))"
)
_NOT_BLANK = re.compile(rb"[^\n]")


@dataclass(frozen=True)
class MacroDef:
    name: str
    params: tuple[str, ...] | None  # None for an object-like macro
    body: str
    line: int
    file: str = ""


@dataclass
class PreprocResult:
    macros: list[MacroDef] = field(default_factory=list)
    config_tested: set[str] = field(default_factory=set)  # CONFIG_ names the file's #ifs asked about
    unbalanced: bool = False


def blank(buf: bytearray, start: int, end: int) -> None:
    buf[start:end] = _NOT_BLANK.sub(b" ", bytes(buf[start:end]))


_DIRECTIVE_LINE = re.compile(rb"(?m)^[ \t]*#")


def run(buf: bytearray, defines: dict[str, str]) -> PreprocResult:
    """Rewrite buf in place for the profile's `defines`; return what was learnt."""
    result = PreprocResult()
    defined = dict(defines)
    stack: list[tuple[bool, bool]] = []  # (this branch active, some branch of this #if taken)
    active = True
    n = len(buf)
    pos = 0  # everything before pos is done
    line_no = 1
    data = bytes(buf)
    for m in _DIRECTIVE_LINE.finditer(data):
        start = m.start()
        if start < pos:
            continue  # a '#' line inside a continued directive already handled
        if not active:
            blank(buf, pos, start)
        line_no += data.count(b"\n", pos, start)
        end = data.find(b"\n", start)
        end = n if end < 0 else end
        while end < n and data[end - 1] == 0x5C:  # backslash-continued directive
            nxt = data.find(b"\n", end + 1)
            end = n if nxt < 0 else nxt
        text = data[start:end].replace(b"\\\n", b" ")
        d = _DIRECTIVE.match(text)
        word = (d.group(1) or b"").decode() if d else ""
        rest = d.group(2).decode("utf-8", "replace").strip() if d else ""
        active = _directive(word, rest, stack, active, defined, result, line_no)
        blank(buf, start, end)
        line_no += data.count(b"\n", start, end)
        pos = end
    if not active:
        blank(buf, pos, n)
    if stack:
        result.unbalanced = True
    return result


def _directive(word: str, rest: str, stack: list[tuple[bool, bool]], active: bool, defined: dict[str, str],
               result: PreprocResult, line_no: int) -> bool:
    parent = all(a for a, _ in stack)
    if word in ("if", "ifdef", "ifndef"):
        if word == "if":
            value = _eval(rest, defined, result)
        else:
            name = rest.split()[0] if rest.split() else ""
            if name.startswith("CONFIG_"):
                result.config_tested.add(name)
            value = (name in defined) == (word == "ifdef")
        stack.append((value, value))
    elif word == "elif" or word == "elifdef" or word == "elifndef":
        if not stack:
            result.unbalanced = True
            return active
        _, taken = stack[-1]
        if taken:
            stack[-1] = (False, True)
        else:
            if word == "elif":
                value = _eval(rest, defined, result)
            else:
                name = rest.split()[0] if rest.split() else ""
                value = (name in defined) == (word == "elifdef")
            stack[-1] = (value, value)
    elif word == "else":
        if not stack:
            result.unbalanced = True
            return active
        _, taken = stack[-1]
        stack[-1] = (not taken, True)
    elif word == "endif":
        if not stack:
            result.unbalanced = True
            return active
        stack.pop()
    elif word == "define" and parent:
        m = _DEFINE.match(rest.encode())
        if m:
            name = m.group(1).decode()
            params = None
            if m.group(2) is not None and rest[len(name):].startswith("("):
                params = tuple(p.strip() for p in m.group(2).decode()[1:-1].split(",") if p.strip())
            body = m.group(3).decode("utf-8", "replace").strip()
            defined[name] = body if params is None else "1"
            result.macros.append(MacroDef(name, params, body, line_no))
    elif word == "undef" and parent:
        name = rest.split()[0] if rest.split() else ""
        defined.pop(name, None)
    return all(a for a, _ in stack)


def _eval(expr: str, defined: dict[str, str], result: PreprocResult) -> bool:
    expr = re.sub(r"/\*.*?\*/", " ", expr)
    expr = expr.split("//", 1)[0]
    try:
        tokens = _tokens(expr, defined, result)
        value, rest = _ternary(tokens, 0)
        return value != 0
    except (ValueError, IndexError, ZeroDivisionError, RecursionError):
        return False  # an #if we cannot read is taken as false, like an undefined name


def _tokens(expr: str, defined: dict[str, str], result: PreprocResult, depth: int = 0) -> list:
    out: list = []
    pos = 0
    raw = []
    while pos < len(expr):
        m = _TOKEN.match(expr, pos)
        if not m or m.end() == pos:
            if expr[pos:].strip() == "":
                break
            raise ValueError(expr)
        raw.append(m)
        pos = m.end()
    i = 0
    while i < len(raw):
        m = raw[i]
        num, ident, op = m.group(1), m.group(2), m.group(3)
        if num is not None:
            out.append(int(num, 0) if not num.startswith("0") or num.startswith(("0x", "0X")) or num == "0"
                       else int(num, 8))
        elif ident is not None:
            nxt = raw[i + 1].group(3) if i + 1 < len(raw) else None
            if ident == "defined":
                if nxt == "(":
                    name = raw[i + 2].group(2)
                    i += 3  # defined ( NAME )
                else:
                    name = raw[i + 1].group(2)
                    i += 1
                if name and name.startswith("CONFIG_"):
                    result.config_tested.add(name)
                out.append(1 if name in defined else 0)
            elif nxt == "(":
                # function-like macro: IS_ENABLED(CONFIG_X) and friends read the option; others are 0
                close = i + 2
                level = 1
                args = []
                while close < len(raw) and level:
                    o = raw[close].group(3)
                    level += 1 if o == "(" else -1 if o == ")" else 0
                    if level:
                        args.append(raw[close])
                    close += 1
                arg = args[0].group(2) if len(args) == 1 else None
                if ident in ("IS_ENABLED", "IS_BUILTIN", "IS_REACHABLE", "__is_defined") and arg:
                    if arg.startswith("CONFIG_"):
                        result.config_tested.add(arg)
                    out.append(1 if arg in defined else 0)
                elif ident == "IS_MODULE":
                    out.append(0)
                else:
                    out.append(0)
                i = close - 1
            else:
                if ident.startswith("CONFIG_"):
                    result.config_tested.add(ident)
                value = defined.get(ident)
                if value is None:
                    out.append(0)
                else:
                    v = value.strip()
                    if re.fullmatch(r"\d+[uUlL]*", v):
                        out.append(int(re.sub(r"[uUlL]+$", "", v)))
                    elif v == "" or depth > 8:
                        out.append(1 if v == "" else 0)
                    else:
                        sub = _tokens(v, defined, result, depth + 1)
                        out.extend(["(", *sub, ")"])
        else:
            out.append(op)
        i += 1
    return out


_BINARY = [
    ("||",), ("&&",), ("|",), ("^",), ("&",), ("==", "!="), ("<", "<=", ">", ">="), ("<<", ">>"), ("+", "-"),
    ("*", "/", "%"),
]


def _ternary(t: list, i: int) -> tuple[int, int]:
    cond, i = _binary(t, i, 0)
    if i < len(t) and t[i] == "?":
        a, i = _ternary(t, i + 1)
        if t[i] != ":":
            raise ValueError("?:")
        b, i = _ternary(t, i + 1)
        return (a if cond else b), i
    return cond, i


def _binary(t: list, i: int, level: int) -> tuple[int, int]:
    if level == len(_BINARY):
        return _unary(t, i)
    left, i = _binary(t, i, level + 1)
    while i < len(t) and isinstance(t[i], str) and t[i] in _BINARY[level]:
        op = t[i]
        right, i = _binary(t, i + 1, level + 1)
        left = _apply(op, left, right)
    return left, i


def _apply(op: str, a: int, b: int) -> int:
    return {
        "||": lambda: int(bool(a) or bool(b)), "&&": lambda: int(bool(a) and bool(b)),
        "|": lambda: a | b, "^": lambda: a ^ b, "&": lambda: a & b,
        "==": lambda: int(a == b), "!=": lambda: int(a != b), "<": lambda: int(a < b),
        "<=": lambda: int(a <= b), ">": lambda: int(a > b), ">=": lambda: int(a >= b),
        "<<": lambda: a << min(b, 64), ">>": lambda: a >> min(b, 64), "+": lambda: a + b, "-": lambda: a - b,
        "*": lambda: a * b, "/": lambda: int(a / b), "%": lambda: a % b,
    }[op]()


def _unary(t: list, i: int) -> tuple[int, int]:
    tok = t[i]
    if tok == "!":
        v, i = _unary(t, i + 1)
        return int(not v), i
    if tok == "-":
        v, i = _unary(t, i + 1)
        return -v, i
    if tok == "+":
        return _unary(t, i + 1)
    if tok == "~":
        v, i = _unary(t, i + 1)
        return ~v, i
    if tok == "(":
        v, i = _ternary(t, i + 1)
        if t[i] != ")":
            raise ValueError(")")
        return v, i + 1
    if isinstance(tok, int):
        return tok, i + 1
    raise ValueError(str(tok))
