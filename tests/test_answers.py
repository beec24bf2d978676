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
    user.parent.mkdir(parents=True, exist_ok=True)  # where the cache key already is
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



UNLOCK = "\t\tunlock_page(page);\n"
RECLAIM = "\t\tif (page_mapped(page) && mapping) {"


def unlock_in_reclaim(tree: Path, instead_of: str = "") -> None:
    """Reclaim drops the page lock before unmapping: the text report changes."""
    vmscan = tree / "mm" / "vmscan.c"
    text = vmscan.read_text()
    assert instead_of + RECLAIM in text
    vmscan.write_text(text.replace(instead_of + RECLAIM, UNLOCK + RECLAIM, 1))


def fresh(env: dict[str, str], *args: str, cwd: Path = ROOT) -> Run:
    """A run that must not be an answer kept before, and that prints what no cache would."""
    run = check(env, *args, cwd=cwd)
    assert run.loaded, "answered from the cache although an input changed"
    assert run.same(check(env, *args, cwd=cwd, cache=False))
    return run


def test_a_series_read_from_a_pipe_is_read_by_the_check_alone(tree: Path, env: dict[str, str]):
    command = f'cat "$S" | {sys.executable} -c "$P" check --no-model --format terse --tree "$T" /dev/stdin'
    for _ in range(2):
        proc = subprocess.run(["sh", "-c", command], capture_output=True, text=True, timeout=300,
                              env={**env, "P": PROBE, "S": str(RFC), "T": str(tree)})
        run = Run(proc)
        assert run.code == 1 and "ERROR" in run.out and run.loaded, proc.stderr
    assert entries(env) == []


def test_odd_files_where_the_series_patches_are_the_checks_business(tmp_path: Path, env: dict[str, str]):
    rename = SERIES / "rename-delete.mbox"
    looped = tmp_path / "looped"
    shutil.copytree(TREE, looped)
    (looped / "Kconfig").unlink()
    (looped / "Kconfig").symlink_to("Kconfig")  # a symlink loop
    args = ("--no-model", "--format", "terse", "--tree", str(looped), str(rename))
    fresh(env, *args)
    assert entries(env) == []
    fifo = tmp_path / "fifo"
    shutil.copytree(TREE, fifo)
    (fifo / "Kconfig").unlink()
    os.mkfifo(fifo / "Kconfig")
    run = check(env, "--no-model", "--format", "terse", "--tree", str(fifo), str(rename))
    assert run.loaded and run.code in (0, 1) and entries(env) == []


def test_a_symlink_pointed_elsewhere_is_another_input(tmp_path: Path, env: dict[str, str]):
    rename = SERIES / "rename-delete.mbox"
    tree = tmp_path / "linux"
    shutil.copytree(TREE, tree)
    (tree / "Kconfig").rename(tree / "Kconfig.real")
    (tree / "Kconfig.other").write_text('# another\nmainmenu "x"\n')
    (tree / "Kconfig").symlink_to("Kconfig.real")
    args = ("--no-model", "--format", "terse", "--tree", str(tree), str(rename))
    first = fresh(env, *args)
    (tree / "Kconfig").unlink()
    (tree / "Kconfig").symlink_to("Kconfig.other")
    assert not fresh(env, *args).same(first)
    # a directory of the tree that is a symlink
    (tree / "mm").rename(tree / "mm.a")
    shutil.copytree(tree / "mm.a", tree / "mm.b")
    (tree / "mm").symlink_to("mm.a")
    args = ("--no-model", "--tree", str(tree), str(RFC))
    first = fresh(env, *args)
    (tree / "mm.b" / "rmap.c").write_text("/* the patch does not apply here */\n")
    (tree / "mm").unlink()
    (tree / "mm").symlink_to("mm.b")
    assert not fresh(env, *args).same(first)


def test_an_edit_that_keeps_the_size_and_the_mtime_is_seen(tree: Path, env: dict[str, str]):
    pad = "\t\t/* padding padd */\n"
    assert len(pad) == len(UNLOCK)
    vmscan = tree / "mm" / "vmscan.c"
    vmscan.write_text(vmscan.read_text().replace(RECLAIM, pad + RECLAIM, 1))
    args = ("--no-model", "--tree", str(tree), str(RFC))
    first = fresh(env, *args)
    st = vmscan.stat()
    unlock_in_reclaim(tree, instead_of=pad)
    os.utime(vmscan, ns=(st.st_atime_ns, st.st_mtime_ns))  # as `touch -r` or `rsync -a` would
    assert vmscan.stat().st_size == st.st_size
    assert not fresh(env, *args).same(first)


def test_the_tree_is_stamped_as_what_was_opened(tmp_path: Path, env: dict[str, str]):
    # a .git that is no repository: the check reads the directory, so its files are the input
    tree = tmp_path / "linux"
    shutil.copytree(TREE, tree)
    (tree / ".git" / "objects" / "pack").mkdir(parents=True)
    args = ("--no-model", "--tree", str(tree), str(RFC))
    first = fresh(env, *args)
    unlock_in_reclaim(tree)
    assert not fresh(env, *args).same(first)
    # `..` after a symlink is where the system takes it, not where the text seems to point
    (tmp_path / "deep" / "sub").mkdir(parents=True)
    shutil.copytree(TREE, tmp_path / "deep" / "linux")
    shutil.copytree(TREE, tmp_path / "linux2")
    (tmp_path / "lnk").symlink_to(tmp_path / "deep" / "sub")
    args = ("--no-model", "--tree", "lnk/../linux", str(RFC))
    first = fresh(env, *args, cwd=tmp_path)
    unlock_in_reclaim(tmp_path / "deep" / "linux")
    assert not fresh(env, *args, cwd=tmp_path).same(first)


def test_a_report_that_could_not_be_written_is_not_kept(tree: Path, env: dict[str, str]):
    if not Path("/dev/full").exists():
        pytest.skip("no /dev/full")
    for _ in range(2):
        with open("/dev/full", "w") as full:
            proc = subprocess.run([sys.executable, "-c", PROBE, "check", "--no-model", "--tree", str(tree), str(RFC)],
                                  stdout=full, stderr=subprocess.PIPE, text=True, env=env, timeout=300)
        assert proc.returncode == 2 and "Traceback" not in proc.stderr
        assert len(proc.stderr.rpartition(MARK)[0].strip().splitlines()) == 1
    assert entries(env) == []


def test_patchlints_own_data_is_part_of_its_code(tmp_path: Path):
    copy = tmp_path / "patchlint"
    shutil.copytree(ROOT / "patchlint", copy, ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copytree(ROOT / "grammars", tmp_path / "grammars")
    probe = "from patchlint.stamps import code_digest; print(code_digest())"
    env = {**os.environ, "PYTHONPATH": str(tmp_path)}

    def digest() -> str:
        return subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, env=env,
                              cwd=tmp_path, check=True).stdout

    before = digest()
    kinds = copy / "data" / "kinds.toml"
    kinds.write_text(kinds.read_text() + "\n")
    assert digest() != before


def test_git_pointed_at_another_repository_is_not_answered():
    assert answers.request_key(["check", "x"], cwd="/", env={"GIT_DIR": "/elsewhere"}, stdout_tty=False) is None


def test_special_refs_and_reflogs_are_part_of_a_git_trees_history(tree_repo: Path, env: dict[str, str]):
    """`--base ORIG_HEAD` after a reset names another commit while every ref stays the same."""
    env = {**env, **GIT_ENV}
    c0 = git(tree_repo, "rev-parse", "HEAD").strip()
    unlock_in_reclaim(tree_repo)
    git(tree_repo, "commit", "-q", "-am", "mm: unlock before unmapping")
    c1 = git(tree_repo, "rev-parse", "HEAD").strip()
    (tree_repo / "mm" / "rmap.c").write_text((tree_repo / "mm" / "rmap.c").read_text() + "/* x */\n")
    git(tree_repo, "commit", "-q", "-am", "mm: a comment")
    c2 = git(tree_repo, "rev-parse", "HEAD").strip()
    args = ("--tree", str(tree_repo), "--base", "ORIG_HEAD", "--format", "json", str(RFC))
    git(tree_repo, "reset", "-q", "--hard", c0)
    git(tree_repo, "reset", "-q", "--hard", c2)
    first = fresh(env, *args)
    assert json.loads(first.out)["tree"]["revision"] == c0
    git(tree_repo, "reset", "-q", "--hard", c1)
    git(tree_repo, "reset", "-q", "--hard", c2)
    assert json.loads(fresh(env, *args).out)["tree"]["revision"] == c1
    # a revision by date or reflog position moves with the clock: never an answer
    assert answers.request_key(["check", "--base", "master@{1}", "x"], cwd="/", env={}, stdout_tty=False) is None


def test_an_input_that_cannot_be_stamped_is_the_checks_to_report(tmp_path: Path, env: dict[str, str]):
    """A --tree that is a symlink loop: one line and exit 2 from the check itself, each time."""
    (tmp_path / "a").symlink_to(tmp_path / "b")
    (tmp_path / "b").symlink_to(tmp_path / "a")
    for _ in range(2):
        run = check(env, "--tree", str(tmp_path / "a"), str(RFC))
        assert run.code == 2 and run.loaded and "Traceback" not in run.err
        assert len(run.err.strip().splitlines()) == 1
    assert entries(env) == []
