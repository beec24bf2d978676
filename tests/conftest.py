from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
FIXTURES = ROOT / "fixtures"
TREE = FIXTURES / "trees" / "s390-3.0"
SERIES = FIXTURES / "series"
SEED = ROOT.parent / "shared" / "seeds" / "000_1fdd677d1a1e3f9e.txt"

GIT_ENV = {
    "GIT_AUTHOR_NAME": "Fixture Author", "GIT_AUTHOR_EMAIL": "fixture@example.org",
    "GIT_COMMITTER_NAME": "Fixture Author", "GIT_COMMITTER_EMAIL": "fixture@example.org",
    "GIT_AUTHOR_DATE": "2012-04-16T09:00:00+0100", "GIT_COMMITTER_DATE": "2012-04-16T09:00:00+0100",
    "GIT_CONFIG_NOSYSTEM": "1", "HOME": "/nonexistent",
}


def run_patchlint(*args: str, stdin: bytes | None = None, cwd: Path | None = None,
                  env: dict[str, str] | None = None) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "patchlint", *args], input=stdin, capture_output=True,
                          cwd=cwd or ROOT, timeout=120, env=env)


def check_series(tree: Path | str, series: list[Path | str], *, base: str | None = None, model: bool = False,
                 cache_dir: Path | None = None):
    """`patchlint check` through the library entry point, as the command line calls it
    (the model off unless asked; no summary cache unless a directory is given)."""
    from patchlint import analysis
    from patchlint.cparse.cache import SummaryCache
    from patchlint.workflow.config import load_config

    inputs = analysis.load([str(s) for s in series], tree=str(tree), base=base)
    cache = SummaryCache(cache_dir) if cache_dir is not None else SummaryCache(enabled=False)
    return analysis.check(inputs, load_config(str(tree), {"model": model}), cache=cache)


def git(repo: Path, *args: str) -> str:
    env = {**os.environ, **GIT_ENV}
    return subprocess.run(["git", "-C", str(repo), *args], check=True, capture_output=True, text=True,
                          env=env).stdout


@pytest.fixture(autouse=True, scope="session")
def _private_config_home(tmp_path_factory: pytest.TempPathFactory):
    """patchlint makes its cache key in the user's configuration directory on first use: the
    tests, and the patchlint processes they start, get a directory of their own, never the real
    user's (a test that sets XDG_CONFIG_HOME or HOME itself still decides for its runs)."""
    patch = pytest.MonkeyPatch()
    patch.setenv("XDG_CONFIG_HOME", str(tmp_path_factory.mktemp("config-home")))
    yield
    patch.undo()


@pytest.fixture
def tree_repo(tmp_path: Path) -> Path:
    """A git repository holding the fixture tree as its only commit."""
    repo = tmp_path / "linux"
    shutil.copytree(TREE, repo)
    git(repo, "init", "-q", "-b", "master")
    git(repo, "add", "-A")
    git(repo, "commit", "-q", "-m", "patchlint fixture: s390-3.0 base tree")
    return repo


@pytest.fixture
def seed() -> Path:
    if not SEED.is_file():
        pytest.skip(f"the seed mail is not at {SEED} (it lives in ../shared beside the checkout)")
    return SEED
