"""Property tests: whatever bytes arrive, ingest and apply end in a result or a
PatchlintError (one line), never another exception; parsing is deterministic;
and every line of a post-image knows truthfully where it came from.
"""

from __future__ import annotations

import difflib
import os
import re
from functools import cache
from pathlib import Path

import pytest
from hypothesis import HealthCheck, assume, event, given, settings
from hypothesis import strategies as st
from hypothesis.errors import InvalidArgument

from patchlint.errors import PatchlintError
from patchlint.ingest import Input, build_series
from patchlint.records import ADDED, Series
from patchlint.source import Tree, apply_series, open_tree
from patchlint.source.findings import apply_findings

from .conftest import SERIES, TREE

FIXTURE_FILES = sorted(p for p in SERIES.rglob("*") if p.is_file())
CLEAN_SERIES = [p.name for p in sorted(SERIES.iterdir())]  # every fixture series applies cleanly

# PATCHLINT_PROPERTY_SCALE=20 runs twenty times the examples, for a longer hunt.
SCALE = float(os.environ.get("PATCHLINT_PROPERTY_SCALE", "1"))
PROPERTY = settings(max_examples=int(150 * SCALE), deadline=None, suppress_health_check=[HealthCheck.too_slow])


@cache
def tree():
    return open_tree(str(TREE))


@cache
def fixture_bytes(path: Path) -> bytes:
    return path.read_bytes()


def _event(text: str) -> None:
    try:
        event(text)
    except InvalidArgument:  # not inside a @given test
        pass


def run_pipeline(inputs: list[Input], lenient: bool) -> Series | None:
    """Ingest and apply; the only allowed failure is a PatchlintError."""
    try:
        series = build_series(inputs, lenient=lenient)
    except PatchlintError as exc:
        assert "\n" not in exc.render()
        _event(f"ingest refused: {exc.message[:40]}")
        return None
    try:
        applied = apply_series(tree(), series)
    except PatchlintError as exc:
        assert "\n" not in exc.render()
        _event("apply refused")
        return series
    _event(f"applied {sum(r.applied for r in applied.results)}/{len(applied.results)}")
    assert len(applied.results) == len(series.patches)
    for result in applied.results:
        for h in result.hunks:
            assert h.status in ("applied", "offset", "recovered", "failed", "skipped")
        if not result.applied:
            assert result.reason
    for path in applied.touched():
        image = applied.image(path)
        if image is not None:
            lm = image.line_map()
            assert len(lm.origins) == len(image.lines)
    apply_findings(applied)
    return series


# --- inputs ---------------------------------------------------------------------------------

DIFFISH_LINES = [
    "From 1111111111111111111111111111111111111111 Mon Sep 17 00:00:00 2001",
    "From: A <a@example.org>", "Subject: [PATCH 1/2] mm: x", "Subject: [PATCH 0/2] cover",
    "Subject: Re: [PATCH 2/2] y", "Date: Sat, 21 Apr 2012 10:00:00 +0100",
    "Date: Sat, 21 Apr 2012 10:00:00 +99999999999999999999",
    "Content-Type: text/plain; charset=x-nope", "Content-Transfer-Encoding: base64",
    "Content-Transfer-Encoding: quoted-printable", "", "---", "-- ", "base-commit: d3b5b9cbcc32",
    "diff --git a/mm/filemap.c b/mm/filemap.c", "diff --git a/mm/readahead.c b/mm/read_cache.c",
    "diff --git a/x b/x", "--- a/mm/filemap.c", "+++ b/mm/filemap.c", "--- /dev/null", "+++ /dev/null",
    "--- a/Kconfig", "+++ b/Kconfig", "new file mode 100644", "deleted file mode 100644",
    "rename from mm/readahead.c", "rename to mm/read_cache.c", "similarity index 95%",
    "@@ -1 +1 @@", "@@ -1,3 +1,4 @@ void f(void)", "@@ -0,0 +1 @@", "@@ -47,6 +47,7 @@", "@@ -1,2 +0,0 @@",
    "@@ -9999999999,1 +1 @@", " ", " \tstruct address_space *mapping = page->mapping;", "-x", "+x",
    "+\tBUG_ON(!mapping);",
    "\tBUG_ON(!PageLocked(page));", " \tBUG_ON(!PageLocked(page));", "-\tBUG_ON(!PageLocked(page));",
    "\\ No newline at end of file", "GIT binary patch", "literal 0",
    "Binary files a/x and b/x differ", "Index: mm/x.c", "=========", "# patchlint fixture: a tiny kernel-like tree",
    "-# patchlint fixture: a tiny kernel-like tree written from scratch.",
    "-mainmenu \"patchlint fixture kernel configuration\"",
]

diffish = st.lists(st.one_of(st.sampled_from(DIFFISH_LINES), st.text(max_size=30)), max_size=60).map(
    lambda lines: "\n".join(lines).encode("utf-8", "surrogatepass"))


@st.composite
def mutated_fixture(draw) -> tuple[str, bytes]:
    path = draw(st.sampled_from(FIXTURE_FILES))
    data = fixture_bytes(path)
    for _ in range(draw(st.integers(1, 4))):
        data = draw(st.sampled_from(MUTATIONS))(draw, data)
    return path.name, data


def _lines(data: bytes) -> list[bytes]:
    return data.split(b"\n")


def _index(draw, seq) -> int:
    return draw(st.integers(0, max(len(seq) - 1, 0)))


def m_delete(draw, data):
    lines = _lines(data)
    del lines[_index(draw, lines)]
    return b"\n".join(lines)


def m_duplicate(draw, data):
    lines = _lines(data)
    i = _index(draw, lines)
    lines.insert(i, lines[i])
    return b"\n".join(lines)


def m_swap(draw, data):
    lines = _lines(data)
    i, j = _index(draw, lines), _index(draw, lines)
    lines[i], lines[j] = lines[j], lines[i]
    return b"\n".join(lines)


def m_digits(draw, data):
    """Any number anywhere (Date zones, n/N, counts in headers and diffstat) made odd."""
    spots = [m.start() for m in re.finditer(rb"\d", data)]
    if not spots:
        return data
    k = draw(st.sampled_from(spots))
    new = draw(st.sampled_from([b"0", b"", b"99999999999999999999", b"-1", b"00000000"]))
    return data[:k] + new + data[k + 1:]


def m_hunk_digits(draw, data):
    lines = _lines(data)
    headers = [i for i, ln in enumerate(lines) if ln.startswith(b"@@ ")]
    if not headers:
        return data
    i = draw(st.sampled_from(headers))
    digits = [m.start() for m in re.finditer(rb"\d", lines[i])]
    k = draw(st.sampled_from(digits))
    new = draw(st.sampled_from([b"0", b"1", b"9", b"", b"00", b"99999", b"123456789012", b"7"]))
    lines[i] = lines[i][:k] + new + lines[i][k + 1:]
    return b"\n".join(lines)


def m_flip(draw, data):
    if not data:
        return data
    i = _index(draw, data)
    return data[:i] + bytes([data[i] ^ draw(st.integers(1, 255))]) + data[i + 1:]


def m_truncate(draw, data):
    return data[:_index(draw, data)]


def m_cr(draw, data):
    i = draw(st.integers(0, len(data)))
    return data[:i] + b"\r" + data[i:]


def m_crlf_line(draw, data):
    lines = _lines(data)
    i = _index(draw, lines)
    lines[i] += b"\r"
    return b"\n".join(lines)


def m_from_line(draw, data):
    lines = _lines(data)
    i = draw(st.integers(0, len(lines)))
    line = draw(st.sampled_from([
        b"From 0000000000000000000000000000000000000000 Mon Sep 17 00:00:00 2001",
        b"From fixture@example.org Mon Apr 16 09:00:00 2012", b"From the point of view", b">From here", b"",
    ]))
    lines[i:i] = [b"", line] if draw(st.booleans()) else [line]
    return b"\n".join(lines)


def m_collapse_tabs(draw, data):
    if draw(st.booleans()):
        return data.replace(b"\t", b" ")
    lines = _lines(data)
    i = _index(draw, lines)
    lines[i] = lines[i].replace(b"\t", b" ")
    return b"\n".join(lines)


def m_strip_context_space(draw, data):
    lines = _lines(data)
    ctx = [i for i, ln in enumerate(lines) if ln.startswith(b" ")]
    if ctx:
        i = draw(st.sampled_from(ctx))
        lines[i] = lines[i][1:]
    return b"\n".join(lines)


def m_insert_junk(draw, data):
    lines = _lines(data)
    i = draw(st.integers(0, len(lines)))
    lines.insert(i, draw(st.sampled_from(DIFFISH_LINES)).encode())
    return b"\n".join(lines)


MUTATIONS = [m_delete, m_duplicate, m_swap, m_hunk_digits, m_digits, m_flip, m_truncate, m_cr, m_crlf_line,
             m_from_line, m_collapse_tabs, m_strip_context_space, m_insert_junk]


# --- properties -----------------------------------------------------------------------------

@PROPERTY
@given(data=st.binary(max_size=3000), lenient=st.booleans())
def test_random_bytes(data, lenient):
    run_pipeline([Input("random.bin", data)], lenient)


@PROPERTY
@given(text=st.text(max_size=2000), lenient=st.booleans())
def test_random_text(text, lenient):
    run_pipeline([Input("random.txt", text.encode("utf-8", "surrogatepass"))], lenient)


@settings(PROPERTY, max_examples=int(300 * SCALE))
@given(data=diffish, lenient=st.booleans())
def test_diff_shaped_text(data, lenient):
    run_pipeline([Input("diffish.patch", data)], lenient)


@settings(PROPERTY, max_examples=int(400 * SCALE))
@given(sample=mutated_fixture(), lenient=st.booleans())
def test_mutated_fixtures(sample, lenient):
    name, data = sample
    run_pipeline([Input(name, data)], lenient)


@PROPERTY
@given(samples=st.lists(mutated_fixture(), min_size=2, max_size=3), lenient=st.booleans())
def test_mutated_fixtures_as_several_inputs(samples, lenient):
    run_pipeline([Input(f"{i}-{name}", data) for i, (name, data) in enumerate(samples)], lenient)


def _parse(data: bytes, lenient: bool):
    try:
        return build_series([Input("x.mbox", data)], lenient=lenient)
    except PatchlintError as exc:
        return ("error", type(exc).__name__, exc.render())


@PROPERTY
@given(sample=mutated_fixture(), lenient=st.booleans())
def test_parsing_is_deterministic(sample, lenient):
    _, data = sample
    assert _parse(data, lenient) == _parse(bytes(data), lenient)


@pytest.mark.parametrize("name", CLEAN_SERIES)
def test_parsing_fixtures_is_deterministic(name):
    path = SERIES / name
    files = sorted(path.iterdir()) if path.is_dir() else [path]
    inputs = [Input(str(f), f.read_bytes()) for f in files]
    assert build_series(inputs) == build_series([Input(i.name, bytes(i.data)) for i in inputs])


def _base_path(series: Series, path: str, upto: int) -> str:
    """The base-tree path whose lines a post-image path carries, following renames backwards."""
    for patch in reversed(series.patches[:upto]):
        for fc in patch.files:
            if fc.new_path == path and fc.old_path and fc.old_path != path:
                path = fc.old_path
    return path


@pytest.mark.parametrize("name", CLEAN_SERIES)
def test_every_post_image_line_knows_where_it_came_from(name):
    path = SERIES / name
    files = sorted(path.iterdir()) if path.is_dir() else [path]
    series = build_series([Input(str(f), f.read_bytes()) for f in files])
    applied = apply_series(tree(), series)
    assert all(r.applied for r in applied.results)
    touched = applied.touched()
    assert touched
    for after in range(1, len(series.patches) + 1):
        for path in touched:
            image = applied.image(path, after)
            if image is None:
                continue
            base = applied.base_image(_base_path(series, path, after))
            lm = image.line_map()
            assert len(lm.origins) == len(image.lines)
            for n, text in enumerate(image.lines, 1):
                origin = lm.origin(n)
                assert origin is not None
                if origin.patch == 0:
                    assert base is not None and origin.base_line is not None
                    assert base.lines[origin.base_line - 1] == text, (path, n)
                    assert lm.old_line(n) == origin.base_line and lm.new_line(origin.base_line) == n
                else:
                    assert 1 <= origin.patch <= after and origin.base_line is None
                    patch = series.patches[origin.patch - 1]
                    added = {ln.text for fc in patch.files for h in fc.hunks if h.index == origin.hunk
                             and path in (fc.new_path, fc.old_path) for ln in h.lines if ln.kind == ADDED}
                    assert text in added, (path, n, origin)
            # Base lines that survive map to distinct post-image lines, in order.
            kept = [lm.new_line(o) for o in range(1, len(lm.old_to_new) + 1) if lm.new_line(o) is not None]
            assert kept == sorted(set(kept))


# --- round trip: a correct diff of any text applies and gives exactly the new text -----------

class MemoryTree(Tree):
    """A tree held in a dict, so properties can vary file contents freely."""

    def __init__(self, files: dict[str, bytes]):
        self.files = files
        self.name = "memory"

    def read(self, path: str) -> bytes | None:
        return self.files.get(path)


TRICKY = ["", " ", "\t", "\f", "\x0b", "\x1c", "\x85", "\u2028", "a\rb", "-- ", "--- a/mm/f.c", "+++ b/mm/f.c",
          "- x", "+ x", "++ b/mm/f.c", "-- a/mm/f.c", "@@ -1 +1 @@", "diff --git a/x b/x", "From x",
          "From 1111111111111111111111111111111111111111 Mon Sep 17 00:00:00 2001", "\\ No newline at end of file",
          "GIT binary patch", "Binary files a/x and b/x differ", "base-commit: abcdef0", "Subject: x",
          "Index: x", "=====", "}", "\tspin_lock(&lock);", "\t\treturn 0;", "static int f(void)", "{"]
file_line = st.one_of(
    st.sampled_from(TRICKY),
    st.text(st.characters(blacklist_categories=("Cs",), blacklist_characters="\n"), max_size=12),
).filter(lambda s: not s.endswith("\r"))  # CRLF line ends are normalised by design


@st.composite
def edited_file(draw):
    old = draw(st.lists(file_line, min_size=1, max_size=25))
    new = list(old)
    for _ in range(draw(st.integers(1, 4))):
        op = draw(st.sampled_from(["insert", "delete", "replace"]))
        i = draw(st.integers(0, len(new)))
        if op == "insert" or not new:
            new.insert(i, draw(file_line))
        elif op == "delete":
            del new[min(i, len(new) - 1)]
        else:
            new[min(i, len(new) - 1)] = draw(file_line)
    return old, new


def _unified(path: str, old: list[str], new: list[str]) -> bytes:
    body = list(difflib.unified_diff(old, new, f"a/{path}", f"b/{path}", lineterm=""))
    return ("\n".join([f"diff --git a/{path} b/{path}", *body]) + "\n").encode()


MAIL = """From 1111111111111111111111111111111111111111 Mon Sep 17 00:00:00 2001
From: Fixture Author <fixture@example.org>
Date: Sat, 21 Apr 2012 10:00:00 +0100
Subject: [PATCH] mm: f: edit

Message.

Signed-off-by: Fixture Author <fixture@example.org>
---
 mm/f.c | 1 +
 1 file changed

"""


@settings(PROPERTY, max_examples=int(300 * SCALE))
@given(edit=edited_file(), as_mail=st.booleans())
def test_a_correct_diff_of_any_text_applies_exactly(edit, as_mail):
    old, new = edit
    assume(old != new)
    # By design, a hunk with no tab and two or more lines indented by exactly one space reads as
    # "tabs collapsed" (a web archive's rendering of kernel C); such text is not generated here.
    single = [x for x in old + new if re.match(r"^ [^ *\t]", x)]
    assume(len(single) < 2)
    data = _unified("mm/f.c", old, new)
    if as_mail:  # git format-patch's shape: a "---" before the diff, a "-- " signature after it
        data = MAIL.encode() + data + b"-- \n2.39.5\n\n"
    series = build_series([Input("roundtrip.diff", data)])
    applied = apply_series(MemoryTree({"mm/f.c": "".join(x + "\n" for x in old).encode()}), series)
    assert applied.results[0].applied, applied.results[0].reason
    assert list(applied.image("mm/f.c").lines) == new


@pytest.mark.parametrize("odd", ["\f", "\x0b", "\x1c", "\x1d", "\x1e", "\x85", "\u2028", "\u2029", "a\rb"],
                         ids=["FF", "VT", "FS", "GS", "RS", "NEL", "LS", "PS", "CR"])
def test_characters_python_calls_line_breaks_are_not_line_breaks(odd):
    """Kernel sources contain form feeds; git and diff split lines at "\n" only."""
    old = ["int a;", odd, "int b;", "int c;"]
    new = ["int a;", odd, "int b;", "int x;", "int c;"]
    series = build_series([Input("odd.diff", _unified("mm/f.c", old, new))])
    applied = apply_series(MemoryTree({"mm/f.c": "".join(x + "\n" for x in old).encode()}), series)
    assert applied.results[0].applied, applied.results[0].reason
    assert list(applied.image("mm/f.c").lines) == new


def test_crlf_tree_file_still_takes_an_lf_patch():
    """Mail is read with CRLF turned into LF; a CRLF file in the tree must still match."""
    old, new = ["a", "b", "c"], ["a", "B", "c"]
    series = build_series([Input("crlf.diff", _unified("f.txt", old, new))])
    applied = apply_series(MemoryTree({"f.txt": b"a\r\nb\r\nc\r\n"}), series)
    assert applied.results[0].applied
    assert list(applied.image("f.txt").lines) == new


@pytest.mark.parametrize("date", ["Sat, 21 Apr 2012 10:00:00 +99999999999999999999", "Sat, 21 Apr 99999 10:00:00 +0100",
                                  "99 Foo 2012 99:99:99 +0100", "", "Sat, 31 Feb 2012 10:00:00 +0100"])
def test_any_date_header_is_kept_as_written_when_it_does_not_parse(date):
    data = (SERIES / "single.patch").read_bytes().replace(b"Sat, 21 Apr 2012 10:00:00 +0100", date.encode())
    (patch,) = build_series([Input("date.patch", data)]).patches
    assert patch.date == date


def test_lenient_damaged_mail_keeps_a_pure_rename():
    """With --lenient, files of a damaged mail come from the scan; a rename with no hunks
    (no ---/+++ lines) must stay a rename, not become a file with no name."""
    text = (SERIES / "rename-delete.mbox").read_text()
    start = text.index("index d07ca77")
    text = text[:start] + "\n" + text[text.index("base-commit:"):]
    text = text.replace("similarity index 95%", "similarity index 100%")
    text = text.replace("-mainmenu", "mainmenu")  # damage the Kconfig hunk: a line without its prefix
    series = build_series([Input("rd.mbox", text.encode())], lenient=True)
    files = {f.status: (f.old_path, f.new_path) for f in series.patches[0].files}
    assert files["renamed"] == ("mm/readahead.c", "mm/read_cache.c")
    assert files["deleted"] == ("Kconfig", None)
    apply_series(tree(), series)  # a result, whatever it is


@pytest.mark.parametrize("header", [b"Content-Disposition", b"Content-Transfer-Encoding", b"Content-Type",
                                    b"Subject", b"From", b"Date"])
@pytest.mark.parametrize("fixture", ["attachment.mbox", "mime-qp.mbox", "single.patch"])
def test_eight_bit_bytes_in_a_mime_header(fixture, header):
    """compat32 hands back an email.header.Header, not a str, for a header with raw 8-bit bytes."""
    data = (SERIES / fixture).read_bytes()
    data = re.sub(rb"(?m)^(" + header + rb"):[ \t]", lambda m: m.group(1) + b":\xa0", data)
    run_pipeline([Input(fixture, data)], lenient=False)
