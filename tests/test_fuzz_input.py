"""Property-based fuzzing of mail and diff input through the whole command (issue 15).

Hypothesis writes mails — fixture series with bytes flipped, lines dropped or doubled, and mails
assembled from hostile parts: subjects with huge numbers, charsets that are no mail charset,
diff paths with control characters, quotes and `..`, hunk headers with numbers of any length,
#if lines that overflow or fan out — and runs `patchlint check` (and `show`) on each, in this
process, as the command line does.  For every one:

- the exit status is 0, 1 or 2, and there is no internal error and no traceback;
- exit 2 is exactly one line on stderr that names the input;
- the line formats print no control character but newline and tab;
- nothing is written outside the cache (and its key's directory), and the tree is unchanged.

CI runs a bounded number of examples (PATCHLINT_FUZZ_EXAMPLES, default 40);
tests/fuzz/run_input_fuzz.py runs the same property for as many as asked and reports the count.
"""

from __future__ import annotations

import contextlib
import io
import os
import re
import shutil
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from .conftest import SERIES, TREE

EXAMPLES = int(os.environ.get("PATCHLINT_FUZZ_EXAMPLES", "40"))
FIXTURE_MAILS = [p.read_bytes() for p in sorted(SERIES.rglob("*")) if p.is_file()]
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f]")

# --- the inputs ---------------------------------------------------------------------------------

_NUMBER = st.one_of(st.integers(0, 20), st.integers(0, 10**12), st.integers(1, 4400).map(lambda n: "9" * n))
_ODD_TEXT = st.text(st.one_of(st.sampled_from(list("\n\r\t\x00\x1b\x07\"\\/.:, []@-+<>=?")),
                              st.characters(codec="utf-8")), max_size=12)
_CHARSET = st.sampled_from(["utf-8", "us-ascii", "latin-1", "iso-8859-15", "koi8-r", "utf-7", "utf-16",
                            "punycode", "idna", "base64", "hex", "rot13", "zlib", "unicode_escape", "ut\x00f8",
                            "no-such-charset", "utf-8\x1b[2J", ""])
_PATH = st.one_of(st.sampled_from(["mm/filemap.c", "mm/rmap.c", "mm/new.c", "include/linux/mm.h", "../x.c",
                                   "/etc/passwd", ".git/config", "mm/../mm/rmap.c", "mm/a b.c"]),
                  st.builds(lambda a, b: f"mm/{a}{b}.c", _ODD_TEXT, _ODD_TEXT))
_C_LINE = st.one_of(
    st.sampled_from(["\tspin_lock(&mapping->tree_lock);", "\tset_page_dirty(page);", "\tlock_page(page);",
                     "\twhile (!trylock_page(page))", "\t\tcpu_relax();", "}", "{", "#endif", "#else",
                     "void f(struct page *page)", "#define M0 M1 + M1 + M1 + M1 + M1 + M1"]),
    st.builds(lambda n, m: f"#if ({n}<<{m})/1", _NUMBER, _NUMBER),
    st.builds(lambda k: f"#define M{k} M{k + 1} + M{k + 1} + M{k + 1} + M{k + 1} + M{k + 1}", st.integers(0, 12)),
    _ODD_TEXT,
)


def _quoted(path: str) -> str:
    if any(c in path for c in '\n\t"\\\x00\x1b\x07\r'):
        escaped = path.encode("utf-8", "surrogatepass").decode("latin-1")
        escaped = "".join({"\n": "\\n", "\t": "\\t", '"': '\\"', "\\": "\\\\"}.get(c, c if " " <= c < "\x7f"
                                                                              else f"\\{ord(c):03o}")
                          for c in escaped)
        return f'"{escaped}"'
    return path


@st.composite
def hunks(draw) -> str:
    out = []
    for _ in range(draw(st.integers(1, 3))):
        body = draw(st.lists(st.tuples(st.sampled_from(" -+"), _C_LINE), min_size=1, max_size=8))
        old = sum(1 for k, _ in body if k != "+")
        new = sum(1 for k, _ in body if k != "-")
        start = draw(_NUMBER)
        if draw(st.booleans()):  # counts that do not add up, or numbers of any length
            old, new = draw(_NUMBER), draw(_NUMBER)
        out.append(f"@@ -{start},{old} +{start},{new} @@\n" + "".join(f"{k}{t}\n" for k, t in body))
    return "".join(out)


@st.composite
def built_mails(draw) -> bytes:
    number, total, version = draw(_NUMBER), draw(_NUMBER), draw(_NUMBER)
    subject = draw(st.sampled_from(["[PATCH] mm: x", f"[PATCH v{version} {number}/{total}] mm: x",
                                    f"[RFC PATCH {number}/{total}] mm: \x1b[2J", "Re: [PATCH] x", "",
                                    "=?punycode?q?x?= y", "=?utf-8?b?bW0=?="]))
    old, new = draw(_PATH), draw(_PATH)
    new_file = draw(st.booleans())
    header = f"--- {'/dev/null' if new_file else _quoted('a/' + old)}\n+++ {_quoted('b/' + new)}\n"
    git = f"diff --git {_quoted('a/' + old)} {_quoted('b/' + new)}\n" if draw(st.booleans()) else ""
    charset = draw(_CHARSET)
    ctype = f'Content-Type: text/plain; charset="{charset}"\n' if charset else ""
    text = (f"From 1111111111111111111111111111111111111111 Mon Sep 17 00:00:00 2001\n"
            f"From: Fuzz <fuzz@example.org>\nDate: Sat, 21 Apr 2012 10:00:00 +0100\n{ctype}"
            f"Subject: {subject}\n\nA message.\n\nSigned-off-by: Fuzz <fuzz@example.org>\n---\n"
            f"{git}{header}{draw(hunks())}-- \n2.39.5\n")
    data = text.encode("utf-8", "surrogatepass")
    if draw(st.booleans()):
        data = data.replace(b"\n", b"\r\n")
    return data


@st.composite
def mutated_fixtures(draw) -> bytes:
    data = bytearray(draw(st.sampled_from(FIXTURE_MAILS)))
    for _ in range(draw(st.integers(1, 6))):
        kind = draw(st.sampled_from(["flip", "insert", "delete", "dup-line", "drop-line"]))
        at = draw(st.integers(0, max(len(data) - 1, 0)))
        if kind == "flip" and data:
            data[at] ^= 1 << draw(st.integers(0, 7))
        elif kind == "insert":
            data[at:at] = draw(st.binary(min_size=1, max_size=8)) if draw(st.booleans()) else \
                draw(st.sampled_from([b"\n", b"\x00", b"\x1b[2J", b"@@ -1 +1 @@\n", b"9" * 5000, b"\r"]))
        elif kind == "delete":
            del data[at:at + draw(st.integers(1, 16))]
        else:
            lines = bytes(data).split(b"\n")
            i = draw(st.integers(0, len(lines) - 1))
            if kind == "dup-line":
                lines.insert(i, lines[i])
            else:
                del lines[i]
            data = bytearray(b"\n".join(lines))
    return bytes(data)


INPUTS = st.one_of(built_mails(), mutated_fixtures())
COMMANDS = st.sampled_from([("check", "text"), ("check", "terse"), ("check", "github"), ("check", "json"),
                            ("check", "sarif"), ("show", "text")])

# --- running one ------------------------------------------------------------------------------


@dataclass
class Outcome:
    code: int
    stdout: str
    stderr: str
    written: list[str]


_WATCH: list[list[str]] = []  # the writes of the run in progress, when one is


def _audit(event: str, args: tuple) -> None:
    if not _WATCH or event != "open" or not args or not isinstance(args[0], str | bytes | os.PathLike):
        return
    mode, flags = (args[1] if len(args) > 1 else None), (args[2] if len(args) > 2 else 0)
    writing = (isinstance(mode, str) and any(c in mode for c in "wax+")) or (
        isinstance(flags, int) and flags & (os.O_WRONLY | os.O_RDWR | os.O_CREAT | os.O_APPEND | os.O_TRUNC))
    if writing:
        _WATCH[-1].append(os.path.abspath(os.fsdecode(args[0])))


_HOOKED = False


def run_cli(args: list[str], stdin: bytes = b"") -> Outcome:
    """`patchlint ARGS` in this process, as patchlint.cli.main runs it, with the files it writes."""
    global _HOOKED
    from patchlint.cli import main

    if not _HOOKED:
        sys.addaudithook(_audit)  # for the life of the process: an audit hook cannot be removed
        _HOOKED = True
    out, err = io.StringIO(), io.StringIO()
    written: list[str] = []
    old_argv, old_stdin = sys.argv, sys.stdin
    sys.argv = ["patchlint", *args]
    sys.stdin = io.TextIOWrapper(io.BytesIO(stdin))
    _WATCH.append(written)
    code = None
    try:
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            try:
                main()
            except SystemExit as exc:
                code = exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 2)
    finally:
        _WATCH.pop()
        sys.argv, sys.stdin = old_argv, old_stdin
    return Outcome(0 if code is None else code, out.getvalue(), err.getvalue(), written)


class Sandbox:
    """A tree copy, a cache directory and a config directory of its own; the input file."""

    def __init__(self) -> None:
        self.root = Path(tempfile.mkdtemp(prefix="patchlint-fuzz-"))
        self.tree = self.root / "linux"
        shutil.copytree(TREE, self.tree)
        self.cache = self.root / "cache"
        self.config = self.root / "config"
        os.environ["PATCHLINT_CACHE_DIR"] = str(self.cache)
        os.environ["XDG_CONFIG_HOME"] = str(self.config)
        self.snapshot = self._tree_state()

    def _tree_state(self) -> dict[str, bytes]:
        return {str(p.relative_to(self.tree)): p.read_bytes() for p in sorted(self.tree.rglob("*")) if p.is_file()}

    def allowed(self, path: str) -> bool:
        return path.startswith((str(self.cache) + os.sep, str(self.config) + os.sep))


_SANDBOX: Sandbox | None = None
COUNT = [0]


def sandbox() -> Sandbox:
    global _SANDBOX
    if _SANDBOX is None:
        _SANDBOX = Sandbox()
    return _SANDBOX


def check_one(data: bytes, command: tuple[str, str], lenient: bool, on_stdin: bool) -> None:
    """The property, for one input."""
    box = sandbox()
    name = "-" if on_stdin else str(box.root / "input.mbox")
    if not on_stdin:
        Path(name).write_bytes(data)
    verb, fmt = command
    args = [verb, "--tree", str(box.tree), "--format", fmt, *(["--no-model"] if verb == "check" else []),
            *(["--lenient"] if lenient else []), name]
    got = run_cli(args, data if on_stdin else b"")
    COUNT[0] += 1
    assert got.code in (0, 1, 2), (got.code, got.stderr)
    assert "internal error" not in got.stderr and "Traceback" not in got.stderr, got.stderr
    if got.code == 2:
        assert got.stderr.endswith("\n") and got.stderr.count("\n") == 1, repr(got.stderr)
        assert got.stderr.startswith(f"patchlint: {name}"), repr(got.stderr)
        assert got.stdout == "", got.stdout[:200]
    if fmt in ("text", "terse", "github"):
        assert not _CONTROL.search(got.stdout), repr(got.stdout[:400])
    assert not _CONTROL.search(got.stderr), repr(got.stderr)
    outside = [p for p in got.written if not box.allowed(p)]
    assert not outside, outside
    if got.code != 2 and verb == "check":
        assert box._tree_state() == box.snapshot


FUZZ = settings(max_examples=EXAMPLES, deadline=None, database=None,
                suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])


@FUZZ
@given(data=INPUTS, command=COMMANDS, lenient=st.booleans(), on_stdin=st.booleans())
def test_any_mail_ends_in_a_report_or_one_line_naming_the_input(data, command, lenient, on_stdin):
    check_one(data, command, lenient, on_stdin)
