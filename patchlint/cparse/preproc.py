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


# Bounds on the work of reading #if expressions (issue 15, item 3).  Macros expand into macros:
# `#define M0 M1 + M1` over ten levels is 2^10 tokens from a line of text, and fan-out 20 never
# ends, so what is bounded is the number of tokens expansion produces, per expression and per
# file, besides the depth.  An #if that reaches a bound is taken as false (the C rule for what
# is not defined) and the file's result says so; the report shows it as analysis-incomplete.
MAX_EXPANSION_DEPTH = 64  # macros inside macros inside ... an #if (each a Python call)
MAX_EXPR_TOKENS = 20_000  # tokens one #if may expand to
MAX_FILE_TOKENS = 200_000  # tokens all the #ifs of one file may expand to
MAX_BOUND_NOTES = 5  # bounds reached that a file's result lists one by one (the rest are counted)
_INT_BITS = 64  # #if arithmetic is intmax_t's: wraps at 64 bits, never grows without end


@dataclass(frozen=True)
class CompiledOut:
    """Lines the configuration leaves out: `first`..`last`, in the branch of the `#if` at
    `line` (its text `condition`, the CONFIG_ options it tests `options`) that is not taken."""

    first: int
    last: int
    line: int
    condition: str
    options: tuple[str, ...]


_CONFIG_NAME = re.compile(r"\bCONFIG_\w+")


@dataclass
class PreprocResult:
    macros: list[MacroDef] = field(default_factory=list)
    compiled_out: list[CompiledOut] = field(default_factory=list)
    config_tested: set[str] = field(default_factory=set)  # CONFIG_ names the file's #ifs asked about
    unbalanced: bool = False
    bounds: list[str] = field(default_factory=list)  # bounds reached, "line N: what", for the report
    bounds_reached: int = 0
    tokens: int = 0  # expansion tokens spent so far in this file

    def bound(self, line: int, what: str) -> None:
        self.bounds_reached += 1
        if len(self.bounds) < MAX_BOUND_NOTES:
            self.bounds.append(f"line {line}: {what}")


class _BoundReached(Exception):
    """An #if's expansion hit a bound; the message says which."""


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
    conds: list[tuple[int, str]] = []  # beside `stack`: each open #if's line and the text of its branch

    def left_out(first: int, last: int) -> None:
        """Lines first..last are blanked: the innermost branch not taken says why."""
        depth = next((i for i in range(len(stack) - 1, -1, -1) if not stack[i][0]), None)
        if depth is None or depth >= len(conds) or last < first:
            return
        cond_line, text = conds[depth]
        options = tuple(dict.fromkeys(_CONFIG_NAME.findall(text)))
        result.compiled_out.append(CompiledOut(first, last, cond_line, text, options))

    for m in _DIRECTIVE_LINE.finditer(data):
        start = m.start()
        if start < pos:
            continue  # a '#' line inside a continued directive already handled
        if not active:
            blank(buf, pos, start)
            left_out(line_no + 1, line_no + data.count(b"\n", pos, start) - 1)
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
        if word in ("if", "ifdef", "ifndef"):
            conds.append((line_no, f"#{word} {rest}"))
        elif word in ("elif", "elifdef", "elifndef", "else") and conds:
            # an #else is decided by the conditions before it: it keeps their text
            conds[-1] = (line_no, f"#{word} {rest}" if word != "else" else f"#else of {conds[-1][1]}")
        elif word == "endif" and conds:
            conds.pop()
        blank(buf, start, end)
        line_no += data.count(b"\n", start, end)
        pos = end
    if not active:
        blank(buf, pos, n)
        left_out(line_no + 1, line_no + data.count(b"\n", pos, n))
    if stack:
        result.unbalanced = True
    return result


def _directive(word: str, rest: str, stack: list[tuple[bool, bool]], active: bool, defined: dict[str, str],
               result: PreprocResult, line_no: int) -> bool:
    parent = all(a for a, _ in stack)
    if word in ("if", "ifdef", "ifndef"):
        if word == "if":
            value = _eval(rest, defined, result, line_no)
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
                value = _eval(rest, defined, result, line_no)
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


def _eval(expr: str, defined: dict[str, str], result: PreprocResult, line: int = 0) -> bool:
    expr = re.sub(r"/\*.*?\*/", " ", expr)
    expr = expr.split("//", 1)[0]
    spent = [0]
    try:
        tokens = _tokens(expr, defined, result, 0, spent)
        value, rest = _ternary(tokens, 0)
        return value != 0
    except _BoundReached as exc:
        result.bound(line, f"#if {exc}; taken as false")
        return False
    except RecursionError:
        result.bound(line, "#if nested too deeply to evaluate; taken as false")
        return False
    except (ValueError, IndexError, ZeroDivisionError):
        return False  # an #if we cannot read is taken as false, like an undefined name
    finally:
        result.tokens += spent[0]


def _spend(result: PreprocResult, spent: list[int], n: int) -> None:
    spent[0] += n
    if spent[0] > MAX_EXPR_TOKENS:
        raise _BoundReached(f"expands to more than {MAX_EXPR_TOKENS} tokens")
    if result.tokens + spent[0] > MAX_FILE_TOKENS:
        raise _BoundReached(f"expansion stopped: the file's #ifs expand to more than {MAX_FILE_TOKENS} tokens")


def _tokens(expr: str, defined: dict[str, str], result: PreprocResult, depth: int, spent: list[int],
            expanding: frozenset[str] = frozenset()) -> list:
    """The expression's tokens with its macros expanded; `expanding` are the macros this text
    came from, which (as in C) do not expand again inside themselves: such a name is 0."""
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
    _spend(result, spent, len(raw))
    i = 0
    while i < len(raw):
        m = raw[i]
        num, ident, op = m.group(1), m.group(2), m.group(3)
        if num is not None:
            out.append(_wrap(int(num, 0) if not num.startswith("0") or num.startswith(("0x", "0X")) or num == "0"
                             else int(num, 8)))
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
                value = defined.get(ident) if ident not in expanding else None
                if value is None:
                    out.append(0)
                else:
                    v = value.strip()
                    if re.fullmatch(r"\d{1,20}[uUlL]*", v):
                        out.append(_wrap(int(re.sub(r"[uUlL]+$", "", v))))
                    elif v == "":
                        out.append(1)
                    elif depth >= MAX_EXPANSION_DEPTH:
                        raise _BoundReached(f"expands macros more than {MAX_EXPANSION_DEPTH} deep (at {ident})")
                    else:
                        sub = _tokens(v, defined, result, depth + 1, spent, expanding | {ident})
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


def _wrap(v: int) -> int:
    """v as a 64-bit two's complement intmax_t: every result stays a machine word."""
    return ((v + (1 << (_INT_BITS - 1))) % (1 << _INT_BITS)) - (1 << (_INT_BITS - 1))


def _shift(a: int, b: int, left: bool) -> int:
    """A shift as a 64-bit machine does it: a count outside 0..63 (undefined in C) leaves
    nothing of a left shift and the sign of a right one."""
    if not 0 <= b < _INT_BITS:
        return 0 if left or a >= 0 else -1
    return _wrap(a << b) if left else a >> b


def _divide(a: int, b: int, remainder: bool) -> int:
    """C's division, which truncates toward zero (Python's floors); by zero raises, as C
    refuses it, and the #if is unreadable."""
    q = abs(a) // abs(b)
    if (a < 0) != (b < 0):
        q = -q
    return _wrap(a - b * q if remainder else q)


def _apply(op: str, a: int, b: int) -> int:
    return _wrap({
        "||": lambda: int(bool(a) or bool(b)), "&&": lambda: int(bool(a) and bool(b)),
        "|": lambda: a | b, "^": lambda: a ^ b, "&": lambda: a & b,
        "==": lambda: int(a == b), "!=": lambda: int(a != b), "<": lambda: int(a < b),
        "<=": lambda: int(a <= b), ">": lambda: int(a > b), ">=": lambda: int(a >= b),
        "<<": lambda: _shift(a, b, True), ">>": lambda: _shift(a, b, False), "+": lambda: a + b,
        "-": lambda: a - b, "*": lambda: a * b, "/": lambda: _divide(a, b, False),
        "%": lambda: _divide(a, b, True),
    }[op]())


def _unary(t: list, i: int) -> tuple[int, int]:
    tok = t[i]
    if tok == "!":
        v, i = _unary(t, i + 1)
        return int(not v), i
    if tok == "-":
        v, i = _unary(t, i + 1)
        return _wrap(-v), i
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
