"""A check asked again of unchanged inputs is answered from what it printed the first time,
before the command line is even imported; any input that changed is seen.

Each test runs the real entry point in a subprocess and compares with a run that has no cache
at all, after changing only one input: a tree file, the tree's or the user's configuration, the
series, a git tree's history.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from patchlint import answers

from .conftest import GIT_ENV, ROOT, SERIES, TREE, git

RFC = SERIES / "storage-key-rfc.mbox"
MARK = "\nLOADED-CLI="
# the launcher, with a line at exit saying whether the command line (typer, the checks) was loaded
PROBE = ("import atexit, sys\n"
         f"atexit.register(lambda: sys.__stderr__.write({MARK!r} + str('patchlint.cli' in sys.modules)))\n"
         "sys.argv = ['patchlint', *sys.argv[1:]]\n"
         "from patchlint.launch import main\n"
         "main()\n")


class Run:
    def __init__(self, proc: subprocess.CompletedProcess) -> None:
        err, _, loaded = proc.stderr.rpartition(MARK)
        self.code, self.out, self.err, self.loaded = proc.returncode, proc.stdout, err, loaded.strip() == "True"

    def same(self, other: Run) -> bool:
        return (self.code, self.out, self.err) == (other.code, other.out, other.err)


@pytest.fixture
def env(tmp_path: Path) -> dict[str, str]:
    base = {k: v for k, v in os.environ.items() if not k.startswith(("PATCHLINT_", "XDG_"))}
    return {**base, "PATCHLINT_CACHE_DIR": str(tmp_path / "cache"), "XDG_CONFIG_HOME": str(tmp_path / "config")}


def check(env: dict[str, str], *args: str, cwd: Path = ROOT, cache: bool = True, stdin: str | None = None) -> Run:
    run_env = env if cache else {**env, "PATCHLINT_CACHE_DIR": "off"}
    proc = subprocess.run([sys.executable, "-c", PROBE, "check", *args], capture_output=True, text=True,
                          cwd=cwd, env=run_env, input=stdin, timeout=300)
    return Run(proc)


def entries(env: dict[str, str]) -> list[Path]:
    return sorted((Path(env["PATCHLINT_CACHE_DIR"]) / "answers").glob("*.json"))


@pytest.fixture
def tree(tmp_path: Path) -> Path:
    copy = tmp_path / "linux"
    shutil.copytree(TREE, copy)
    return copy


def test_a_recheck_prints_the_same_bytes_without_loading_the_command_line(tree: Path, env: dict[str, str]):
    for fmt in ("text", "json"):
        first = check(env, "--tree", str(tree), "--format", fmt, str(RFC))
        assert first.loaded and first.code == 1 and first.out
        again = check(env, "--tree", str(tree), "--format", fmt, str(RFC))
        assert not again.loaded
        assert again.same(first)
    assert len(entries(env)) == 2  # one answer per request


def test_each_input_the_check_read_is_stamped(tree: Path, env: dict[str, str], tmp_path: Path):
    series = tmp_path / "rfc.mbox"
    shutil.copy(RFC, series)
    args = ("--tree", str(tree), str(series))
    before = check(env, *args)
    assert before.loaded

    def changed_to(expected_differs: bool = True) -> Run:
        run = check(env, *args)
        assert run.loaded, "a changed input was answered from the cache"
        assert run.same(check(env, *args, cache=False))
        assert (run.out != before.out) == expected_differs
        assert not check(env, *args).loaded
        return run

    # a tree file the series does not touch: reclaim drops the page lock before unmapping
    vmscan = tree / "mm" / "vmscan.c"
    old = "\t\tif (page_mapped(page) && mapping) {"
    text = vmscan.read_text()
    assert old in text
    vmscan.write_text(text.replace(old, "\t\tunlock_page(page);\n" + old, 1))
    before = changed_to()
    # the tree's configuration file, absent until now
    (tree / ".patchlint.toml").write_text('disable = ["documented-order"]\n')
    before = changed_to()
    assert "documented-order" not in before.out
    # the user's configuration file
    user = Path(env["XDG_CONFIG_HOME"]) / "patchlint" / "config.toml"
    user.parent.mkdir(parents=True)
    user.write_text('fail-on = "never"\n')
    run = changed_to(expected_differs=False)
    assert (before.code, run.code) == (1, 0)
    before = run
    # the series itself: the same patch under another subject
    series.write_text(series.read_text().replace("Subject: [RFC PATCH]", "Subject: [RFC PATCH v2]", 1))
    before = changed_to()
    assert "v2" in before.out
    # the Makefile names the kernel version the report describes
    makefile = tree / "Makefile"
    check(env, *args, "--format", "json")
    makefile.write_text(makefile.read_text().replace("SUBLEVEL = 13", "SUBLEVEL = 14", 1))
    run = check(env, *args, "--format", "json")
    assert run.loaded and json.loads(run.out)["tree"]["kernel_version"] == "3.0.14"


def test_a_git_tree_is_stamped_by_its_history_not_its_work_tree(tree_repo: Path, env: dict[str, str]):
    env = {**env, **GIT_ENV}
    args = ("--tree", str(tree_repo), "--base", "HEAD", str(RFC))  # not the series' base-commit
    first = check(env, *args)
    assert first.loaded
    # an edit not committed is not what a check of a git tree reads
    (tree_repo / "mm" / "vmscan.c").write_text("/* scratch */\n")
    assert not check(env, *args).loaded
    git(tree_repo, "checkout", "-q", "--", "mm/vmscan.c")
    vmscan = tree_repo / "mm" / "vmscan.c"
    old = "\t\tif (page_mapped(page) && mapping) {"
    vmscan.write_text(vmscan.read_text().replace(old, "\t\tunlock_page(page);\n" + old, 1))
    git(tree_repo, "commit", "-q", "-am", "mm: unlock before unmapping")
    run = check(env, *args)
    assert run.loaded and run.out != first.out
    assert run.same(check(env, *args, cache=False))


def test_standard_input_errors_and_broken_entries_are_not_answers(tree: Path, env: dict[str, str]):
    piped = check(env, "--tree", str(tree), "-", stdin=RFC.read_text())
    assert piped.code == 1 and entries(env) == []
    missing = check(env, "--tree", str(tree), str(tree / "no-such.mbox"))
    assert missing.code == 2 and entries(env) == []
    first = check(env, "--tree", str(tree), str(RFC))
    [entry] = entries(env)
    entry.write_text("{ not json")
    again = check(env, "--tree", str(tree), str(RFC))
    assert again.loaded and again.same(first)
    assert json.loads(entry.read_text())["format"] == answers.FORMAT  # rewritten


def test_a_spoiled_run_is_not_kept(tmp_path: Path, monkeypatch):
    monkeypatch.setenv("PATCHLINT_CACHE_DIR", str(tmp_path / "cache"))
    key = answers.request_key(["check", "x.mbox"], cwd=str(tmp_path), env={}, stdout_tty=False)
    assert key is not None
    answers.expect(key)
    answers.depend("file", str(tmp_path / "x.mbox"))
    answers.spoil()  # the clock cut a model run short
    answers.remember(answers.Answer("out", "", 0))
    assert answers.recall(key) is None
    answers.expect(key)
    answers.depend("file", str(tmp_path / "x.mbox"))
    answers.remember(answers.Answer("out", "", 1))
    assert answers.recall(key) == answers.Answer("out", "", 1)
    (tmp_path / "x.mbox").write_text("now it exists")
    assert answers.recall(key) is None
    # other commands, and a series from standard input, are never answers
    assert answers.request_key(["scan"], env={}) is None
    assert answers.request_key(["check", "-"], env={}) is None
    # the environment that can change the output is part of the request
    assert answers.request_key(["check", "x"], cwd="/", env={"NO_COLOR": "1"}, stdout_tty=False) != \
        answers.request_key(["check", "x"], cwd="/", env={}, stdout_tty=False)
    assert answers.request_key(["check", "x"], cwd="/", env={}, stdout_tty=True) != \
        answers.request_key(["check", "x"], cwd="/", env={}, stdout_tty=False)


def test_only_the_answers_used_last_are_kept(tmp_path: Path, monkeypatch):
    monkeypatch.setenv("PATCHLINT_CACHE_DIR", str(tmp_path / "cache"))
    keys = [answers.request_key(["check", f"{n}.mbox"], cwd="/", env={}, stdout_tty=False) for n in range(4)]
    for n, key in enumerate(keys[:3]):
        answers.expect(key)
        answers.remember(answers.Answer(str(n), "", 0))
        os.utime(tmp_path / "cache" / "answers" / f"{key}.json", ns=(n, n))
    assert answers.recall(keys[0]) == answers.Answer("0", "", 0)  # used again: now the newest
    monkeypatch.setattr(answers, "KEEP", 2)
    answers.expect(keys[3])
    answers.remember(answers.Answer("3", "", 0))
    assert [answers.recall(k) is not None for k in keys] == [True, False, False, True]
