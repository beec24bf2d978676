"""Bad input, as users will give it: every input error is exit status 2 and exactly
one line on stderr that names the input (and the line, where there is one) and
says what to do; never a traceback.  Things that are not input errors (renames,
deletes, a hunk that does not apply) exit 0.  The user's tree is never written,
and nothing outside it is read or written because a diff said so.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from .conftest import SEED, SERIES, TREE, git

BASE = "d3b5b9cbcc324be695cedb33eaf3ef8959fe5520"

# Runs patchlint exactly as `python -m patchlint` does, after installing an audit
# hook that logs every file the process opens (Python's own "open" audit event,
# raised by open(), os.open() and Path.read_bytes()).  The log goes to a file
# opened before the hook, so the hook never sees its own writes.
_AUDITED = """
import os, runpy, sys
log = open(os.environ["PATCHLINT_TEST_OPEN_LOG"], "w", buffering=1)
def hook(event, args):
    if event == "open" and args and isinstance(args[0], (str, bytes, os.PathLike)):
        path = os.fsdecode(args[0])
        log.write(os.path.abspath(path) + "\\n")
sys.addaudithook(hook)
sys.argv = ["patchlint", *sys.argv[1:]]
runpy.run_module("patchlint", run_name="__main__", alter_sys=True)
"""


def snapshot(root: Path) -> dict[str, bytes | str]:
    """Every path under root -> its bytes (files), link target (symlinks) or "<dir>"."""
    out: dict[str, bytes | str] = {}
    for p in sorted(root.rglob("*")):
        rel = str(p.relative_to(root))
        if p.is_symlink():
            out[rel] = "-> " + str(p.readlink())
        elif p.is_dir():
            out[rel] = "<dir>"
        else:
            out[rel] = p.read_bytes()
    return out


class Runner:
    """Runs the CLI in a scratch directory and checks, after every command, that
    the tree copy (and everything else under tmp_path) is byte-for-byte unchanged."""

    def __init__(self, tmp_path: Path):
        self.tmp = tmp_path
        self.tree = tmp_path / "linux"
        shutil.copytree(TREE, self.tree)
        self.cwd = tmp_path / "cwd"  # not a kernel tree: no implicit tree is picked up
        self.cwd.mkdir()
        self.opened: list[str] = []

    def run(self, *args: str, stdin: bytes | None = None, audit: bool = False,
            expect_new: tuple[Path, ...] = ()) -> subprocess.CompletedProcess:
        before = snapshot(self.tmp)
        env = None
        if audit:
            log = self.tmp.parent / (self.tmp.name + "-opened.log")
            env = {**os.environ, "PATCHLINT_TEST_OPEN_LOG": str(log)}
            cmd = [sys.executable, "-c", _AUDITED, *args]
        else:
            cmd = [sys.executable, "-m", "patchlint", *args]
        proc = subprocess.run(cmd, input=stdin if stdin is not None else b"", capture_output=True,
                              cwd=self.cwd, timeout=120, env=env)
        if audit:
            self.opened = log.read_text().splitlines()
        after = snapshot(self.tmp)
        for p in expect_new:
            after.pop(str(p.relative_to(self.tmp)), None)
        assert after == before, f"running {args} changed files under {self.tmp}"
        assert b"Traceback" not in proc.stderr, proc.stderr.decode(errors="replace")
        return proc

    def write(self, name: str, data: bytes | str) -> Path:
        path = self.tmp / name
        path.write_bytes(data.encode() if isinstance(data, str) else data)
        return path


@pytest.fixture
def cli(tmp_path: Path) -> Runner:
    return Runner(tmp_path)


def assert_input_error(proc: subprocess.CompletedProcess, source: str, line: int | None = None,
                       *, contains: tuple[str, ...] = (), hint: bool = True) -> str:
    """Exit 2, nothing on stdout, exactly one line on stderr naming `source` (and `line`,
    when given; any line when not) and carrying a hint; returns the message."""
    err = proc.stderr.decode("utf-8", errors="replace")
    assert proc.returncode == 2, f"exit {proc.returncode}, stderr {err!r}"
    assert proc.stdout == b"", proc.stdout
    assert err.endswith("\n") and err.count("\n") == 1, f"not exactly one line: {err!r}"
    msg = err.rstrip("\n")
    assert msg.startswith("patchlint: "), msg
    assert "internal error" not in msg, msg
    assert "Traceback" not in msg
    where = re.escape(f"{source}:{line}: ") if line is not None else re.escape(source) + r"(:\d+)?: "
    found = re.search(where, msg)
    assert found, f"{where!r} not in {msg!r}"
    # What to do: the error's hint comes after "; " (a usage error points at --help).
    if hint:
        assert "; " in msg[found.end():] or "--help" in msg, f"no hint in {msg!r}"
    for word in contains:
        assert word in msg, f"{word!r} not in {msg!r}"
    return msg


def show(cli: Runner, *args: str, **kw) -> subprocess.CompletedProcess:
    return cli.run("show", "--tree", str(cli.tree), *args, **kw)


def show_json(cli: Runner, *args: str, **kw) -> dict:
    proc = show(cli, "--format", "json", *args, **kw)
    assert proc.returncode == 0, proc.stderr.decode()
    return json.loads(proc.stdout)


MAIL_HEAD = """\
From 1111111111111111111111111111111111111111 Mon Sep 17 00:00:00 2001
From: Fixture Author <fixture@example.org>
Date: Sat, 21 Apr 2012 10:00:00 +0100
Subject: [PATCH] test: a patch

Some message.

Signed-off-by: Fixture Author <fixture@example.org>
---
"""


def mail(diff: str) -> str:
    return MAIL_HEAD + diff + "-- \n2.39.5\n\n"


def line_of(text: str | bytes, needle: str | bytes) -> int:
    lines = text.split("\n" if isinstance(text, str) else b"\n")
    return next(i for i, ln in enumerate(lines, 1) if ln.startswith(needle))


# --- empty input, no diff ---------------------------------------------------------------

@pytest.mark.parametrize("data", [b"", b"\n\n  \n"], ids=["empty", "blank"])
def test_empty_file(cli, data):
    f = cli.write("empty.patch", data)
    assert_input_error(show(cli, str(f)), str(f), contains=("empty",))


@pytest.mark.parametrize("data", [b"", b"\n"], ids=["empty", "newline"])
def test_empty_stdin(cli, data):
    assert_input_error(show(cli, "-", stdin=data), "-", contains=("empty",))


def test_empty_format_patch_directory(cli):
    d = cli.tmp / "outgoing"
    d.mkdir()
    (d / "README").write_text("not a patch\n")
    assert_input_error(show(cli, str(d)), str(d))


def test_missing_series_file(cli):
    assert_input_error(show(cli, str(cli.tmp / "nope.mbox")), str(cli.tmp / "nope.mbox"))


def test_mail_with_no_diff(cli):
    text = MAIL_HEAD.replace("---\n", "") + "Just words, no patch.\n"
    f = cli.write("nodiff.eml", text)
    assert_input_error(show(cli, str(f)), str(f), 1, contains=("no diff",))


def test_mail_with_no_diff_on_stdin(cli):
    text = "Subject: hello\n\nNothing here.\n"
    assert_input_error(show(cli, "-", stdin=text.encode()), "-", 1, contains=("no diff",))


def test_only_a_cover_letter(cli):
    cover = (SERIES / "three-patches" / "0000-cover-letter.patch").read_bytes()
    f = cli.write("cover.patch", cover)
    assert_input_error(show(cli, str(f)), str(f), 1, contains=("no diff",))


# --- binary diffs ------------------------------------------------------------------------

GIT_BINARY = """\
diff --git a/firmware/blob.bin b/firmware/blob.bin
new file mode 100644
index 0000000..e69de29
GIT binary patch
literal 12
ScmZQzU|?ckU|<Ad00000

literal 0
HcmV?d00001

"""

BINARY_DIFFER = """\
diff --git a/firmware/blob.bin b/firmware/blob.bin
index 1234567..89abcde 100644
Binary files a/firmware/blob.bin and b/firmware/blob.bin differ
"""


@pytest.mark.parametrize("diff", [GIT_BINARY, BINARY_DIFFER], ids=["git-binary-patch", "binary-files-differ"])
def test_binary_diff(cli, diff):
    text = mail(diff)
    f = cli.write("binary.patch", text)
    msg = assert_input_error(show(cli, str(f)), str(f), line_of(text, "diff --git"), contains=("binary",))
    assert "firmware/blob.bin" in msg


def test_binary_diff_after_a_good_file(cli):
    good = (SERIES / "single.patch").read_text()
    text = good.replace("\nbase-commit:", "\n" + BINARY_DIFFER + "\nbase-commit:")
    f = cli.write("mixed.patch", text)
    assert_input_error(show(cli, str(f)), str(f), line_of(text, "diff --git a/firmware"), contains=("binary",))


# --- truncated hunks ---------------------------------------------------------------------

def _cut_in_last_hunk(text: str) -> tuple[str, int]:
    """The text cut two lines into the last hunk, and that hunk's header line."""
    lines = text.split("\n")
    header = max(i for i, ln in enumerate(lines) if ln.startswith("@@ "))
    return "\n".join(lines[:header + 3]) + "\n", header + 1


def test_truncated_hunk(cli):
    text, header = _cut_in_last_hunk((SERIES / "single.patch").read_text())
    f = cli.write("cut.patch", text)
    assert_input_error(show(cli, str(f)), str(f), header, contains=("truncated", "mm/filemap.c"))


def test_truncated_hunk_in_the_last_mail_of_an_mbox(cli):
    """The line named is the line of the mbox, not of the message inside it."""
    text, header = _cut_in_last_hunk((SERIES / "three-patches.mbox").read_text())
    f = cli.write("cut.mbox", text)
    assert_input_error(show(cli, str(f)), str(f), header, contains=("truncated", "mm/vmscan.c"))


def test_truncated_hunk_on_stdin(cli):
    text, header = _cut_in_last_hunk((SERIES / "plain.diff").read_text())
    assert_input_error(show(cli, "-", stdin=text.encode()), "-", header, contains=("truncated",))


def test_damaged_hunk_in_the_second_mail_of_an_mbox_names_the_mbox_line(cli):
    text = (SERIES / "three-patches.mbox").read_text()
    lines = text.split("\n")
    # Second patch's hunk: drop the leading space of its first context line.
    headers = [i for i, ln in enumerate(lines) if ln.startswith("@@ ")]
    k = headers[1] + 1
    assert lines[k].startswith(" ")
    lines[k] = lines[k][1:] or "x"
    f = cli.write("damaged.mbox", "\n".join(lines))
    assert_input_error(show(cli, str(f)), str(f), headers[1] + 1)


def test_damaged_file_in_a_directory_names_that_file(cli):
    d = cli.tmp / "outgoing"
    shutil.copytree(SERIES / "three-patches", d)
    victim = d / "0002-mm-swapfile-page_swapcount-only-makes-sense-for-swap.patch"
    lines = victim.read_text().split("\n")
    h = next(i for i, ln in enumerate(lines) if ln.startswith("@@ "))
    lines[h + 1] = lines[h + 1][1:] or "x"
    victim.write_text("\n".join(lines))
    assert_input_error(show(cli, str(d)), str(victim), h + 1)


# --- charsets ----------------------------------------------------------------------------

def test_non_utf8_bytes_in_a_bare_diff(cli):
    data = (SERIES / "plain.diff").read_bytes()
    lines = data.split(b"\n")
    k = next(i for i, ln in enumerate(lines) if ln.startswith(b"+"))
    k = next(i for i in range(k + 1, len(lines)) if lines[i].startswith(b"+"))  # an added line, not +++
    lines[k] = lines[k] + b" /* na\xefve */"
    f = cli.write("latin1.diff", b"\n".join(lines))
    assert_input_error(show(cli, str(f)), str(f), k + 1, contains=("0xef", "UTF-8"))


def test_non_utf8_bytes_in_a_mail_with_no_charset(cli):
    data = (SERIES / "single.patch").read_bytes()
    assert b"charset" not in data.lower()
    lines = data.split(b"\n")
    k = next(i for i, ln in enumerate(lines) if ln.startswith(b"+\t"))
    lines[k] = lines[k] + b" /* \xff\xfe */"
    f = cli.write("bad.patch", b"\n".join(lines))
    assert_input_error(show(cli, str(f)), str(f), k + 1, contains=("0xff",))


def test_non_utf8_bytes_in_the_second_mail_of_an_mbox(cli):
    data = (SERIES / "three-patches.mbox").read_bytes()
    lines = data.split(b"\n")
    k = max(i for i, ln in enumerate(lines) if ln.startswith(b"+") and not ln.startswith(b"+++"))
    lines[k] = lines[k] + b" \xc3("
    f = cli.write("bad.mbox", b"\n".join(lines))
    assert_input_error(show(cli, str(f)), str(f), k + 1, contains=("0xc3",))


def test_non_utf8_bytes_on_stdin(cli):
    data = b"\xff\n" + (SERIES / "plain.diff").read_bytes()
    assert_input_error(show(cli, "-", stdin=data), "-", 1, contains=("0xff",))


def test_unknown_charset(cli):
    text = MAIL_HEAD.replace("Subject:", "Content-Type: text/plain; charset=x-no-such-charset\nSubject:")
    text = mail((SERIES / "plain.diff").read_text()).replace(MAIL_HEAD, text)
    f = cli.write("charset.patch", text)
    assert_input_error(show(cli, str(f)), str(f), 1, contains=("charset",))


# --- paths that leave the tree -----------------------------------------------------------

def _evil_diff(old: str, new: str, pre: str) -> str:
    return f"--- {old}\n+++ {new}\n@@ -1 +1 @@\n-{pre}\n+owned\n"


@pytest.mark.parametrize(("old", "new"), [
    ("/etc/passwd", "/etc/passwd"),
    ("a/../../etc/passwd", "b/../../etc/passwd"),
    ("a/mm/memory.c", "b/mm/../../x"),
    ("a/mm/../../outside.txt", "b/mm/../../outside.txt"),
    ("a/../outside.txt", "b/../outside.txt"),
    ('"a/\\056\\056/outside.txt"', '"b/\\056\\056/outside.txt"'),  # git-quoted "../"
    ("a/./mm/memory.c", "b/./mm/memory.c"),
    ("a/mm//memory.c", "b/mm//memory.c"),
    ("a\\..\\outside.txt", "b\\..\\outside.txt"),
], ids=["absolute", "dotdot-both", "dotdot-new-only", "dotdot-through-mm", "dotdot-top", "quoted-dotdot",
        "dot", "empty-component", "backslash"])
def test_diff_paths_that_leave_the_tree_are_refused(cli, old, new):
    outside = cli.write("outside.txt", "secret\n")  # beside the tree, exists, and the hunk would apply to it
    text = mail(_evil_diff(old, new, "secret"))
    f = cli.write("evil.patch", text)
    proc = show(cli, str(f), audit=True)
    assert_input_error(proc, str(f), line_of(text, "--- "))
    assert outside.read_bytes() == b"secret\n"
    assert str(outside) not in cli.opened
    assert "/etc/passwd" not in cli.opened


def test_absolute_path_in_a_git_header_only(cli):
    """A rename with no hunks has no ---/+++ lines; its names come from the git header."""
    text = mail("diff --git a/../outside.txt b/mm/stolen.c\nsimilarity index 100%\n"
                "rename from ../outside.txt\nrename to mm/stolen.c\n")
    outside = cli.write("outside.txt", "secret\n")
    f = cli.write("evil.patch", text)
    proc = show(cli, str(f), audit=True)
    assert_input_error(proc, str(f), line_of(text, "diff --git"))
    assert str(outside) not in cli.opened


def test_symlink_in_the_tree_that_leaves_it_is_not_followed(cli):
    outside = cli.write("outside.txt", "secret\n")
    (cli.tree / "mm" / "leak.c").symlink_to(outside)
    f = cli.write("leak.patch", mail(_evil_diff("a/mm/leak.c", "b/mm/leak.c", "secret")))
    proc = show(cli, str(f), audit=True)
    assert_input_error(proc, str(cli.tree), contains=("symlink",))
    assert str(outside) not in cli.opened
    assert outside.read_bytes() == b"secret\n"


def test_symlink_loop_in_the_tree(cli):
    (cli.tree / "mm" / "loop.c").symlink_to("loop.c")
    f = cli.write("loop.patch", mail(_evil_diff("a/mm/loop.c", "b/mm/loop.c", "x")))
    proc = show(cli, "--format", "json", str(f))
    # Either refused as an input error, or "does not exist" (like any unreadable file): never a crash.
    if proc.returncode == 2:
        assert_input_error(proc, str(cli.tree))
    else:
        assert proc.returncode == 0, proc.stderr
        assert json.loads(proc.stdout)["patches"][0]["applied"] is False


@pytest.mark.parametrize("path", [".git/config", "mm/.git/config", ".GIT/config", ".git"],
                         ids=["top", "nested", "case", "bare"])
def test_git_directory_paths_are_refused(cli, path):
    (cli.tree / ".git").mkdir()  # a fake one: refusal must not depend on it being a real repository
    text = mail(f"diff --git a/{path} b/{path}\n--- a/{path}\n+++ b/{path}\n@@ -1 +1 @@\n-x\n+y\n")
    f = cli.write("git.patch", text)
    msg = assert_input_error(show(cli, str(f)), str(f), line_of(text, "--- "))
    assert ".git" in msg.lower()


def test_dev_null_on_both_sides_is_refused(cli):
    text = mail("--- /dev/null\n+++ /dev/null\n@@ -0,0 +1 @@\n+x\n")
    f = cli.write("null.patch", text)
    assert_input_error(show(cli, str(f)), str(f), line_of(text, "--- "))


# --- revisions ---------------------------------------------------------------------------

@pytest.mark.parametrize("spec", [
    "--output={out}..HEAD", "HEAD..--output={out}", "-o{out}..HEAD", "..--output={out}",
], ids=["option-as-A", "option-as-B", "short-option", "empty-A"])
def test_range_that_looks_like_an_option_is_refused(cli, spec):
    git(cli.tree, "init", "-q", "-b", "master")
    git(cli.tree, "add", "-A")
    git(cli.tree, "commit", "-q", "-m", "base")
    out = cli.tmp / "pwned.txt"
    proc = cli.run("show", "--tree", str(cli.tree), f"--range={spec.format(out=out)}")
    assert_input_error(proc, "--range")
    assert not out.exists()
    assert not (cli.cwd / "pwned.txt").exists()


@pytest.mark.parametrize("base", [
    "--help", "--output={out}", "-p", "HEAD --output={out}", "",
], ids=["help", "output", "short", "space", "empty"])
def test_base_that_looks_like_an_option_is_refused(cli, base):
    git(cli.tree, "init", "-q", "-b", "master")
    git(cli.tree, "add", "-A")
    git(cli.tree, "commit", "-q", "-m", "base")
    out = cli.tmp / "pwned.txt"
    proc = show(cli, f"--base={base.format(out=out)}", str(SERIES / "single.patch"))
    assert_input_error(proc, str(cli.tree))
    assert not out.exists()


def test_base_without_a_repository(cli):
    proc = show(cli, "--base=HEAD", str(SERIES / "single.patch"))
    assert_input_error(proc, str(cli.tree), contains=("--base",))


@pytest.mark.parametrize("spec", ["nosuchbranch..HEAD", "HEAD..nosuchbranch", "HEAD~5..HEAD", "HEAD",
                                  "A...B", "HEAD..HEAD", "HEAD:Makefile..HEAD", "HEAD@{99}..HEAD",
                                  ":/nomatch..HEAD", "HEAD^{/nomatch}..HEAD"])
def test_range_that_does_not_exist(cli, spec):
    git(cli.tree, "init", "-q", "-b", "master")
    git(cli.tree, "add", "-A")
    git(cli.tree, "commit", "-q", "-m", "base")
    proc = cli.run("show", "--tree", str(cli.tree), f"--range={spec}")
    assert_input_error(proc, "--range")


def test_base_that_does_not_exist(cli):
    git(cli.tree, "init", "-q", "-b", "master")
    git(cli.tree, "add", "-A")
    git(cli.tree, "commit", "-q", "-m", "base")
    proc = show(cli, "--base=deadbeef", str(SERIES / "single.patch"))
    assert_input_error(proc, str(cli.tree), contains=("deadbeef",))


def test_range_outside_a_repository(cli):
    proc = cli.run("show", "--tree", str(cli.tree), "--range=HEAD~1..HEAD")
    assert_input_error(proc, str(cli.tree), contains=("git",))


def test_range_and_files_together(cli):
    proc = cli.run("show", "--range=A..B", str(SERIES / "single.patch"))
    # The message itself says what to do ("give either series files or --range, not both").
    assert_input_error(proc, "--range", hint=False, contains=("not both",))


# --- trees -------------------------------------------------------------------------------

def test_tree_that_is_not_a_kernel_tree(cli):
    d = cli.tmp / "notlinux"
    d.mkdir()
    (d / "Makefile").write_text("all:\n\techo hi\n")
    assert_input_error(cli.run("show", "--tree", str(d), str(SERIES / "single.patch")), str(d),
                       contains=("kernel",))


def test_tree_that_does_not_exist(cli):
    d = cli.tmp / "nosuchdir"
    assert_input_error(cli.run("show", "--tree", str(d), str(SERIES / "single.patch")), str(d))


def test_tree_that_is_a_file(cli):
    f = cli.write("afile", "VERSION = 3\n")
    assert_input_error(cli.run("show", "--tree", str(f), str(SERIES / "single.patch")), str(f))


def test_empty_git_repository_as_tree(cli):
    d = cli.tmp / "empty-repo"
    d.mkdir()
    git(d, "init", "-q")
    assert_input_error(cli.run("show", "--tree", str(d), str(SERIES / "single.patch")), str(d))


def test_lenient_without_a_tree(cli):
    proc = cli.run("show", "--lenient", str(SERIES / "single.patch"))
    assert_input_error(proc, ".", contains=("--tree",))


# --- the seed ----------------------------------------------------------------------------

def test_seed_is_whitespace_damaged(cli):
    if not SEED.is_file():
        pytest.skip("seed not available")
    proc = show(cli, str(SEED))
    msg = assert_input_error(proc, str(SEED), contains=("whitespace-damaged",))
    assert re.search(re.escape(str(SEED)) + r":\d+: ", msg)
    assert "--lenient" in msg


def test_seed_on_stdin(cli):
    if not SEED.is_file():
        pytest.skip("seed not available")
    proc = show(cli, "-", stdin=SEED.read_bytes())
    assert_input_error(proc, "-", contains=("whitespace-damaged",))


# --- not errors --------------------------------------------------------------------------

def test_rename_and_delete_apply(cli):
    doc = show_json(cli, str(SERIES / "rename-delete.mbox"))
    (patch,) = doc["patches"]
    assert patch["applied"] is True
    statuses = {f["status"]: f for f in patch["files"]}
    assert set(statuses) == {"deleted", "renamed"}
    assert statuses["deleted"]["old_path"] == "Kconfig" and statuses["deleted"]["new_path"] is None
    assert (statuses["renamed"]["old_path"], statuses["renamed"]["new_path"]) == ("mm/readahead.c",
                                                                                   "mm/read_cache.c")
    assert (cli.tree / "Kconfig").exists() and (cli.tree / "mm" / "readahead.c").exists()
    assert not (cli.tree / "mm" / "read_cache.c").exists()


def test_hunk_that_does_not_apply_is_not_an_input_error(cli):
    memory = cli.tree / "mm" / "filemap.c"
    memory.write_text(memory.read_text().replace("BUG_ON(!PageLocked(page));", "VM_BUG_ON(!PageLocked(page));"))
    doc = show_json(cli, str(SERIES / "single.patch"))
    (patch,) = doc["patches"]
    assert patch["applied"] is False
    assert "mm/filemap.c" in patch["apply_error"] and "hunk 1" in patch["apply_error"]
    (hunk,) = patch["files"][0]["hunks"]
    assert hunk["apply"]["status"] == "failed"
    assert "mm/filemap.c" in hunk["apply"]["reason"] and "hunk 1" in hunk["apply"]["reason"]


def test_patch_for_a_missing_file_is_not_an_input_error(cli):
    (cli.tree / "mm" / "filemap.c").unlink()
    doc = show_json(cli, str(SERIES / "single.patch"))
    assert doc["patches"][0]["applied"] is False
    assert "mm/filemap.c" in doc["patches"][0]["apply_error"]


def test_hunk_header_far_past_the_end_of_the_file_is_not_an_input_error(cli):
    """A hunk whose header points a long way past the file is searched for, quickly."""
    text = (SERIES / "single.patch").read_text().replace("@@ -47,6 +47,7 @@", "@@ -99999999,6 +99999999,7 @@")
    f = cli.write("far.patch", text)
    doc = show_json(cli, str(f))
    hunk = doc["patches"][0]["files"][0]["hunks"][0]
    assert hunk["apply"]["status"] == "offset" and hunk["apply"]["line"] == 47


@pytest.mark.parametrize("name", sorted(p.name for p in SERIES.iterdir()))
def test_every_fixture_applies_and_leaves_the_tree_alone(cli, name):
    doc = show_json(cli, str(SERIES / name))
    assert all(p["applied"] for p in doc["patches"])
