"""Hostile and odd input (issue 15): numbers past Python's int-digit limit, charsets that are
no mail charset, #if expressions that overflow or expand without end, files past a limit, and
paths and subjects that would forge output lines or drive a terminal.  Every input error is one
line naming the input (exit 2), every bound reached is an analysis-incomplete finding naming
the file, and no text format prints a control character from the input.
"""

from __future__ import annotations

import json
import re
import time

import pytest

from patchlint.cparse.preproc import MAX_EXPR_TOKENS, MAX_FILE_TOKENS, run
from patchlint.printable import printable, quote_path

from .test_bad_input import MAIL_HEAD, Runner, assert_input_error, line_of, mail


@pytest.fixture
def cli(tmp_path) -> Runner:
    return Runner(tmp_path)


def check(cli: Runner, *args: str, **kw):
    return cli.run("check", "--no-model", "--tree", str(cli.tree), *args, **kw)


def new_file(lines: list[str], path: str = "mm/hostile.c") -> str:
    return (f"--- /dev/null\n+++ b/{path}\n@@ -0,0 +1,{len(lines)} @@\n"
            + "".join(f"+{ln}\n" for ln in lines))


UNLOCKED_DIRTY = ["#include <linux/mm.h>", "void hostile_dirty(struct page *page)", "{",
                  "\tset_page_dirty(page);", "}"]


# --- item 2: numbers and charsets from the mail ----------------------------------------------

@pytest.mark.parametrize("subject", [
    "[PATCH v" + "9" * 5000 + "] mm: x",
    "[PATCH 1/" + "9" * 5000 + "] mm: x",
    "[PATCH " + "7" * 5000 + "/3] mm: x",
], ids=["version", "total", "number"])
def test_subject_with_a_5000_digit_number_is_read(cli, subject):
    text = mail(new_file(["int x;"])).replace("Subject: [PATCH] test: a patch", f"Subject: {subject}")
    proc = check(cli, str(cli.write("long.mbox", text)), "--format", "json")
    assert proc.returncode == 0, proc.stderr.decode()
    (patch,) = json.loads(proc.stdout)["patches"]
    assert patch["version"] == 1 and patch["number"] is None  # not a version or position: a prefix
    assert any(p.startswith(("v9", "1/9", "777")) for p in patch["prefixes"])


def test_a_total_of_a_million_patches_is_one_short_note(cli):
    text = mail(new_file(["int x;"])).replace("[PATCH]", "[PATCH 2/999999]")
    t0 = time.monotonic()
    proc = cli.run("show", "--tree", str(cli.tree), str(cli.write("total.mbox", text)))
    assert time.monotonic() - t0 < 60  # not a list of a million numbers (it never finished)
    assert proc.returncode == 0, proc.stderr.decode()
    notes = proc.stderr.decode().splitlines()
    assert "patch(es) 1/999999, 3-999999/999999 missing from the series" in notes[0]


@pytest.mark.parametrize("header", [
    "@@ -0,0 +1," + "1" * 5000 + " @@",
    "@@ -0,0 +" + "1" * 5000 + " @@",
    "@@ -" + "2" * 10 + ",1 +1 @@",
], ids=["count", "start", "ten-digits"])
def test_hunk_header_number_past_the_limit_is_an_input_error(cli, header):
    text = mail(f"--- /dev/null\n+++ b/mm/x.c\n{header}\n+int x;\n")
    f = cli.write("header.mbox", text)
    assert_input_error(check(cli, str(f)), str(f), line_of(text, "@@ "), contains=("digits",))


@pytest.mark.parametrize("charset", ["ut\x00f8", "punycode", "idna", "base64", "hex", "rot13", "zlib",
                                     "unicode_escape", "utf-8\x1b[2J"])
def test_charset_that_is_no_mail_charset_is_an_input_error(cli, charset):
    head = MAIL_HEAD.replace("Subject:", f'Content-Type: text/plain; charset="{charset}"\nSubject:')
    f = cli.write("charset.mbox", head + new_file(["int x;"]) + "-- \n2.39.5\n")
    msg = assert_input_error(check(cli, str(f)), str(f), 1, contains=("charset",))
    assert "\x00" not in msg and "\x1b" not in msg


def test_encoded_word_in_no_mail_charset_is_kept_as_written(cli):
    text = mail(new_file(["int x;"])).replace("Subject: [PATCH] test: a patch",
                                              "Subject: [PATCH] =?punycode?q?abc-?= x")
    proc = check(cli, str(cli.write("word.mbox", text)), "--format", "json")
    assert proc.returncode == 0, proc.stderr.decode()
    assert "punycode" in json.loads(proc.stdout)["patches"][0]["subject"]


# --- item 3: the #if evaluator ------------------------------------------------------------------

def _preprocess(text: str):
    buf = bytearray(text.encode())
    result = run(buf, {})
    return result, bytes(buf).decode()


@pytest.mark.parametrize(("expr", "taken"), [
    ("(1<<64<<64<<64<<64<<64<<64<<64<<64)/1", False),  # a count of 64 or more leaves nothing
    ("(1<<63) < 0", True),  # intmax_t wraps
    ("0x7fffffffffffffff + 1 < 0", True),
    ("1 << -1", False),
    ("-1 >> 70 == -1", True),
    ("-7 / 2 == -3 && -7 % 2 == -1", True),  # C truncates toward zero
    ("1 / 0", False),
    ("9" * 5000, False),  # a literal past the int-digit limit: unreadable, false
    ("(" * 3000 + "1" + ")" * 3000, False),
])
def test_if_arithmetic_is_64_bit_and_never_raises(expr, taken):
    result, out = _preprocess(f"#if {expr}\nint inside;\n#endif\n")
    assert ("int inside;" in out) is taken


def test_if_nested_past_the_recursion_limit_is_a_bound_reached():
    result, _ = _preprocess("#if " + "(" * 3000 + "1" + ")" * 3000 + "\nint x;\n#endif\n")
    assert result.bounds and "nested too deeply" in result.bounds[0] and result.bounds[0].startswith("line 1:")


@pytest.mark.parametrize("fan_out", [5, 6, 20])
def test_macro_fan_out_is_bounded_by_work_and_reported(fan_out):
    lines = [f"#define M{i} " + " + ".join([f"M{i + 1}"] * fan_out) for i in range(10)]
    text = "\n".join([*lines, "#define M10 1", "#if M0 > 0", "int x;", "#endif", ""])
    t0 = time.monotonic()
    result, out = _preprocess(text)
    assert time.monotonic() - t0 < 30  # it took 33 s at fan-out 5 and never ended at 20
    assert "int x;" not in out
    assert result.bounds == [f"line 12: #if expands to more than {MAX_EXPR_TOKENS} tokens; taken as false"]


def test_many_expensive_ifs_share_one_budget_per_file():
    lines = [f"#define N{i} " + " + ".join([f"N{i + 1}"] * 2) for i in range(12)] + ["#define N12 1"]
    lines += ["#if N0", "int q;", "#endif"] * 200  # each ~16,000 tokens: under the per-#if bound
    result, out = _preprocess("\n".join(lines) + "\n")
    spent_out = result.bounds_reached
    assert 0 < out.count("int q;") < 200 and spent_out == 200 - out.count("int q;")
    assert "file's #ifs expand to more than" in result.bounds[0] and str(MAX_FILE_TOKENS) in result.bounds[0]
    assert len(result.bounds) <= 5  # the rest are counted, not listed


def test_a_macro_is_not_expanded_inside_itself():
    result, out = _preprocess("#define A (A + 1)\n#if A == 1\nint self;\n#endif\n")
    assert "int self;" in out and result.bounds == []


def test_fan_out_in_an_added_file_is_an_analysis_incomplete_finding(cli):
    fan = [f"#define M{i} " + " + ".join([f"M{i + 1}"] * 20) for i in range(10)] + ["#define M10 1", "#if M0",
                                                                                      "#endif"]
    f = cli.write("fan.mbox", mail(new_file(fan + UNLOCKED_DIRTY)))
    proc = check(cli, str(f), "--format", "json")
    assert proc.returncode == 1, proc.stderr.decode()
    found = [x for x in json.loads(proc.stdout)["findings"] if x["kind"] == "analysis-incomplete"]
    assert [(x["file"], x["status"], x["patch"]) for x in found] == [("mm/hostile.c", "new", 1)]
    assert "line 12: #if expands to more than" in found[0]["message"]


# --- item 4: silent limits ----------------------------------------------------------------------

def test_file_over_the_size_limit_is_an_analysis_incomplete_finding(cli):
    filler = [f"static const int t{i}[] = {{ 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17 }};"
              for i in range(190_000)]
    f = cli.write("big.mbox", mail(new_file(UNLOCKED_DIRTY + filler)))
    assert f.stat().st_size > 16 * 1024 * 1024
    proc = check(cli, str(f))
    assert proc.returncode == 1, proc.stderr.decode()  # was 0, with nothing said
    out = proc.stdout.decode()
    assert "ANALYSIS_INCOMPLETE: mm/hostile.c is not analysed" in out and "over the 16 MB limit" in out


# --- item 8: forged lines, terminal escapes -------------------------------------------------------

EVIL = "mm/x\n::error file=evil.c::INJECTED.c"


def _evil_mail() -> str:
    quoted = '"b/mm/x\\n::error file=evil.c::INJECTED.c"'
    body = UNLOCKED_DIRTY[:3] + ["\tset_page_dirty(page); /* \x1b[2J\r */"] + UNLOCKED_DIRTY[4:]
    diff = (f"--- /dev/null\n+++ {quoted}\n@@ -0,0 +1,{len(body)} @@\n" + "".join(f"+{ln}\n" for ln in body))
    return mail(diff).replace("Subject: [PATCH] test: a patch", "Subject: [PATCH] mm: \x1b]0;owned\x07 title")


@pytest.mark.parametrize("fmt", ["text", "terse", "github"])
def test_a_path_with_a_newline_cannot_forge_a_line(cli, fmt):
    f = cli.write("evil.mbox", _evil_mail())
    proc = check(cli, str(f), "--format", fmt)
    assert proc.returncode == 1, proc.stderr.decode()
    out = proc.stdout.decode()
    assert not re.search(r"(?m)^::error", out)  # GitHub Actions would act on such a line
    assert all(not line.startswith("INJECTED") and "::error file=evil.c" not in line.split('"', 1)[0]
               for line in out.splitlines())
    assert not re.search(r"[\x00-\x08\x0b-\x1f\x7f]", out), repr(out)  # tab and newline only
    quoted = '"mm/x\\n::error file=evil.c::INJECTED.c"'  # as git quotes it
    assert (quoted if fmt != "github" else quoted.replace(":", "%3A")) in out  # GitHub's own escapes too


def test_show_and_notes_print_no_control_character(cli):
    f = cli.write("evil.mbox", _evil_mail() + _evil_mail().replace("[PATCH]", "Re: [PATCH]"))
    proc = cli.run("show", "--tree", str(cli.tree), str(f))
    assert proc.returncode == 0, proc.stderr.decode()
    for stream in (proc.stdout.decode(), proc.stderr.decode()):
        assert not re.search(r"[\x00-\x08\x0b-\x1f\x7f]", stream), repr(stream)
    assert "reply ignored" in proc.stderr.decode()


def test_json_keeps_the_path_exact(cli):
    f = cli.write("evil.mbox", _evil_mail())
    doc = json.loads(check(cli, str(f), "--format", "json").stdout)
    assert doc["patches"][0]["files"][0]["new_path"] == EVIL


def test_an_input_name_with_an_escape_is_printed_escaped(cli):
    f = cli.write("bad\x1b[2J.mbox", "")
    proc = check(cli, str(f))
    err = proc.stderr.decode()
    assert proc.returncode == 2 and err.count("\n") == 1 and "\x1b" not in err and "\\033[2J" in err


@pytest.mark.parametrize(("raw", "quoted"), [
    ("mm/memory.c", "mm/memory.c"),
    (EVIL, '"mm/x\\n::error file=evil.c::INJECTED.c"'),
    ("mm/a\tb", '"mm/a\\tb"'),
    ('mm/"q"\\', '"mm/\\"q\\"\\\\"'),
    ("mm/\x1b[2J", '"mm/\\033[2J"'),
    ("mm/\u202eevil", '"mm/\\342\\200\\256evil"'),
    ("mm/\udcff", '"mm/\\377"'),  # a byte that was not UTF-8
    ("mm/café.c", "mm/café.c"),
])
def test_paths_are_quoted_as_git_quotes_them(raw, quoted):
    assert quote_path(raw) == quoted


def test_printable_keeps_tabs_and_escapes_the_rest():
    assert printable("a\tb") == "a\tb"
    assert printable("a\nb\r\x1b\x00\u2028") == "a\\nb\\r\\033\\000\\342\\200\\250"


@pytest.mark.parametrize("fmt", ["text", "terse", "github"])
def test_a_path_in_a_message_cannot_forge_a_line(cli, fmt):
    """The path is in the finding's message too (the patch does not apply to it)."""
    quoted = '"a/mm/x\\n::error file=evil.c::INJECTED.c"'
    diff = f"--- {quoted}\n+++ {quoted.replace('a/', 'b/', 1)}\n@@ -1 +1 @@\n-old\n+new\n"
    proc = check(cli, str(cli.write("evil.mbox", mail(diff))), "--format", fmt)
    out = proc.stdout.decode()
    assert proc.returncode == 1 and "does not exist in the tree" in out, (proc.returncode, out, proc.stderr)
    assert not re.search(r"(?m)^\s*(::error file=evil\.c|INJECTED)", out), out
