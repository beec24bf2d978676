"""The pre-commit hooks (.pre-commit-hooks.yaml) run by the real pre-commit program: nothing
staged passes, staged hazards fail the commit, and a push -- the first to an empty remote
included -- checks the commits no remote has.

The hooks ship as `language: python`, for which pre-commit pip-installs this repository into
an environment of its own (network, minutes).  The tests run the same entries as
`language: system` hooks of a `repo: local` config, with this checkout's patchlint first on
PATH: the shipped commands, run by pre-commit, without the install.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from .conftest import GIT_ENV, ROOT, SERIES, git

yaml = pytest.importorskip("yaml")
pytest.importorskip("pre_commit", reason="pre-commit is not installed (it is in the [test] extra)")


def shipped_hooks() -> list[dict]:
    return yaml.safe_load((ROOT / ".pre-commit-hooks.yaml").read_text(encoding="utf-8"))


@pytest.fixture
def env(tmp_path: Path) -> dict[str, str]:
    """pre-commit's and git's environment: this checkout's patchlint first on PATH, pre-commit's
    cache in the test's directory, no GIT_* from outside."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    wrapper = bin_dir / "patchlint"
    wrapper.write_text(f'#!/bin/sh\nexec {sys.executable} -m patchlint "$@"\n')
    wrapper.chmod(0o755)
    base = {k: v for k, v in os.environ.items() if not k.startswith(("GIT_", "PRE_COMMIT"))}
    return base | GIT_ENV | {"PATH": f"{bin_dir}{os.pathsep}{os.environ.get('PATH', '')}",
                             "PRE_COMMIT_HOME": str(tmp_path / "pre-commit-home"), "HOME": str(tmp_path),
                             "PYTHONPATH": os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")])}


def setup_hooks(repo: Path, env: dict[str, str]) -> None:
    """The shipped hooks as a local config, committed, and installed as git's hooks."""
    local = [{**hook, "language": "system"} for hook in shipped_hooks()]
    (repo / ".pre-commit-config.yaml").write_text(yaml.safe_dump({"repos": [{"repo": "local", "hooks": local}]}))
    git(repo, "add", ".pre-commit-config.yaml")
    git(repo, "commit", "-q", "-m", "pre-commit: patchlint")
    proc = pre_commit(repo, env, "install", "--hook-type", "pre-commit", "--hook-type", "pre-push")
    assert proc.returncode == 0, proc.stdout + proc.stderr


def pre_commit(repo: Path, env: dict[str, str], *args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "pre_commit", *args], cwd=repo, env=env, capture_output=True,
                          text=True, timeout=300)


def run_git(repo: Path, env: dict[str, str], *args: str) -> subprocess.CompletedProcess:
    return subprocess.run(["git", *args], cwd=repo, env=env, capture_output=True, text=True, timeout=300)


def stage(repo: Path, patch: Path) -> None:
    git(repo, "apply", "--index", str(patch))


CLEAN = sorted((SERIES / "three-patches").glob("0001-*.patch"))[0]
RFC = SERIES / "storage-key-rfc.mbox"


def test_nothing_staged_passes_and_staged_hazards_stop_the_commit(tree_repo, env):
    setup_hooks(tree_repo, env)
    # every file, nothing staged: the check of the staged changes has nothing to say
    proc = pre_commit(tree_repo, env, "run", "--all-files")
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "patchlint (staged changes)" in proc.stdout and "Passed" in proc.stdout
    assert "empty input" not in proc.stdout + proc.stderr
    # a clean change is committed
    stage(tree_repo, CLEAN)
    proc = run_git(tree_repo, env, "commit", "-q", "-m", "mm: rmap: a comment")
    assert proc.returncode == 0, proc.stdout + proc.stderr
    # the RFC's inversion stops the commit, and pre-commit shows why
    stage(tree_repo, RFC)
    head = git(tree_repo, "rev-parse", "HEAD")
    proc = run_git(tree_repo, env, "commit", "-q", "-m", "s390: storage key under the page lock")
    assert proc.returncode != 0
    out = proc.stdout + proc.stderr
    assert "Failed" in out and "[PATCH] staged changes" in out and "ERROR:LOCK_ORDER_INVERSION:" in out
    assert git(tree_repo, "rev-parse", "HEAD") == head


def test_a_first_push_to_an_empty_remote_checks_the_commits_no_remote_has(tree_repo, env, tmp_path):
    """The repository was cloned from upstream; its first push to a new, empty remote must check
    its own commits -- not upstream's history, and not fail for want of a FROM."""
    upstream = tree_repo
    work = tmp_path / "work"
    git(tmp_path, "clone", "-q", str(upstream), str(work))
    mine = tmp_path / "mine.git"
    git(tmp_path, "init", "-q", "--bare", str(mine))
    git(work, "remote", "add", "mine", str(mine))
    setup_hooks(work, env)
    stage(work, CLEAN)
    git(work, "commit", "-q", "--no-verify", "-m", "mm: rmap: a comment")
    proc = run_git(work, env, "push", "-q", "mine", "master")
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "patchlint (commits being pushed)" in proc.stdout + proc.stderr  # it ran, and passed
    assert git(mine, "rev-parse", "master") == git(work, "rev-parse", "HEAD")
    # the next push, of the RFC: pre-commit gives FROM and TO, the push is refused
    stage(work, RFC)
    git(work, "commit", "-q", "--no-verify", "-m", "s390: storage key under the page lock")  # past the commit hook
    proc = run_git(work, env, "push", "-q", "mine", "master")
    assert proc.returncode != 0 and "ERROR:LOCK_ORDER_INVERSION:" in proc.stdout + proc.stderr
    assert git(mine, "rev-parse", "master") != git(work, "rev-parse", "HEAD")


def test_a_first_push_of_a_history_no_remote_has(tree_repo, env, tmp_path):
    """No remote at all: pre-commit sets neither FROM nor TO; the root commit is the base."""
    empty = tmp_path / "empty.git"
    git(tmp_path, "init", "-q", "--bare", str(empty))
    git(tree_repo, "remote", "add", "origin", str(empty))
    setup_hooks(tree_repo, env)
    stage(tree_repo, RFC)
    git(tree_repo, "commit", "-q", "--no-verify", "-m", "s390: storage key under the page lock")
    proc = run_git(tree_repo, env, "push", "-q", "origin", "master")
    assert proc.returncode != 0, proc.stdout + proc.stderr
    out = proc.stdout + proc.stderr
    assert "--range: '' is not a revision" not in out and "ERROR:LOCK_ORDER_INVERSION:" in out
    assert "[PATCH 1/2] patchlint fixture" not in out  # the root commit is the base, not a patch
    # nothing new to push (the branch is there already): passes without a word about a range
    git(tree_repo, "reset", "-q", "--hard", "HEAD~1")
    assert run_git(tree_repo, env, "push", "-q", "--no-verify", "origin", "master").returncode == 0
    proc = pre_commit(tree_repo, env, "run", "--hook-stage", "manual", "patchlint-push")
    assert proc.returncode == 0, proc.stdout + proc.stderr
