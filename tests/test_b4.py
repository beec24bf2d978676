"""b4, for real: a kernel-like repository with a b4 prep branch holding one clean and one
failing patch, the `.b4-config` line from the README, and `b4 prep --check`, which must report
patchlint's ERROR for the failing patch and pass the clean one.  Then b4's review-check
protocol reading `--format b4-review`.  Nothing touches the network: b4 is given no URLs and a
proxy that refuses every connection."""

from __future__ import annotations

import email
import email.policy
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from .conftest import ROOT, SERIES, git

B4_CONFIG_LINE = "prep-perpatch-check-cmd = patchlint check --format terse -"
BIN = Path(sys.executable).parent


def b4_exe() -> str:
    exe = shutil.which("b4", path=str(BIN)) or shutil.which("b4")
    if exe is None:
        pytest.skip("b4 is not installed (it is in the [test] extra: pip install -e '.[test]')")
    return exe


@pytest.fixture
def b4_env(tmp_path: Path) -> dict[str, str]:
    home = tmp_path / "home"
    home.mkdir()
    env = {k: v for k, v in os.environ.items() if not k.startswith(("GIT_", "XDG_"))}
    env.update({
        "HOME": str(home), "XDG_CONFIG_HOME": str(home / ".config"), "XDG_CACHE_HOME": str(home / ".cache"),
        "XDG_DATA_HOME": str(home / ".local" / "share"), "GIT_CONFIG_NOSYSTEM": "1",
        "PATH": f"{BIN}{os.pathsep}{os.environ.get('PATH', '')}",  # the patchlint b4 runs is this one
        # any connection attempt fails at once instead of leaving the machine
        "http_proxy": "http://127.0.0.1:9", "https_proxy": "http://127.0.0.1:9", "no_proxy": "",
    })  # no fixed commit dates: b4 looks for its cover letter among the last year's commits
    return env


def run(args: list[str], cwd: Path, env: dict[str, str]) -> subprocess.CompletedProcess:
    return subprocess.run(args, cwd=cwd, env=env, capture_output=True, text=True, timeout=600)


def test_readme_documents_the_b4_config_line():
    readme = (ROOT / "README.md").read_text()
    assert "[b4]" in readme and B4_CONFIG_LINE in readme


def test_b4_prep_check_reports_patchlint_findings(tree_repo, b4_env):
    b4 = b4_exe()
    for key, value in (("user.name", "Fixture Author"), ("user.email", "fixture@example.org")):
        git(tree_repo, "config", key, value)
    # the kernel tree ships the line (b4 reads prep-*-check-cmd from the top-level .b4-config)
    (tree_repo / ".b4-config").write_text(f"[b4]\n    {B4_CONFIG_LINE}\n")
    git(tree_repo, "add", ".b4-config")
    git(tree_repo, "commit", "-q", "-m", "b4: check patches with patchlint")
    proc = run([b4, "prep", "-n", "patchlint-check"], tree_repo, b4_env)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    # dated now, as b4 expects of a branch in progress (it looks for its cover letter among the
    # commits of the last year, and git log stops at the first older one)
    for mbox in (sorted((SERIES / "three-patches").glob("0003-*.patch"))[0],  # clean
                 SERIES / "storage-key-rfc.mbox"):  # a new lock-order inversion
        am = run(["git", "am", "-q", str(mbox)], tree_repo, b4_env)
        assert am.returncode == 0, am.stderr
    clean, failing = git(tree_repo, "rev-list", "--reverse", "-2", "HEAD").split()

    proc = run([b4, "prep", "--check", "--no-cache"], tree_repo, b4_env)
    out = proc.stdout + proc.stderr
    assert "Checking patches using:" in out and "patchlint check --format terse -" in out, out
    report = out[out.index("---"):]
    # b4 prints "<mark> <sha>: <subject>" per patch, then one line per reported problem
    clean_line = next(line for line in report.splitlines() if f"{clean[:12]}:" in line)
    assert "mm: vmscan: add page_needs_swap() helper" in clean_line
    failing_at = report.index(f"{failing[:12]}:")
    failing_part = report[failing_at:report.index("---", failing_at)]
    assert "s390: mm: rmap: Transfer storage key to struct page under the page lock" in failing_part
    assert re.search(r"patchlint: mm/rmap\.c:\d+: ERROR: LOCK_ORDER_INVERSION: ", failing_part), failing_part
    assert re.search(r"patchlint: mm/rmap\.c:\d+: ERROR: SPIN_ON_TRYLOCK: ", failing_part)  # confirmed by replay
    # nothing follows the clean patch's line but the next patch; and the tally says one passed, one failed
    between = report[report.index(clean_line) + len(clean_line):failing_at].strip()
    assert between == "" or not any("patchlint" in line for line in between.splitlines())
    assert re.search(r"patchlint: mm/rmap\.c:\d+: ERROR: LIVELOCK: .*\(scenarios zap-vs-reclaim-add, ", failing_part)
    # b4 tallies the patches that passed, then the lines: the inversion, the spin, the livelock
    # and the lost dirty bit (each model hazard once, however many scenarios show it)
    assert re.search(r"Success: 1, Warning: \d+, Error: 4\n", out), out


def test_b4_review_check_protocol_reads_patchlint(tree_repo, b4_env, monkeypatch):
    """b4's own reader of review-*-check-cmd output (b4.review.checks) parses --format b4-review."""
    b4_exe()
    checks = pytest.importorskip("b4.review.checks")
    mails = {}
    for name, mbox in (("clean", sorted((SERIES / "three-patches").glob("0003-*.patch"))[0]),
                       ("failing", SERIES / "storage-key-rfc.mbox")):
        git(tree_repo, "am", "-q", str(mbox))
        msg = email.message_from_bytes(git(tree_repo, "format-patch", "-1", "--stdout").encode(),
                                       policy=email.policy.EmailPolicy(utf8=True))
        mails[name] = msg
    git(tree_repo, "reset", "-q", "--hard", "HEAD~2")  # as b4 review would: the series is not in the tree
    for key, value in b4_env.items():
        monkeypatch.setenv(key, value)
    cmd = ["patchlint", "check", "--format", "b4-review", "-"]
    assert checks._run_external_cmd(cmd, mails["clean"], str(tree_repo)) == []
    git(tree_repo, "am", "-q", str(sorted((SERIES / "three-patches").glob("0003-*.patch"))[0]))
    (result,) = checks._run_external_cmd(cmd, mails["failing"], str(tree_repo))
    assert result["tool"] == "patchlint" and result["status"] == "fail"
    assert result["summary"] == "4 errors, 1 warning"  # the inversion and spin (replayed), the livelock, lost dirty
    assert "ERROR: LOCK_ORDER_INVERSION" in result["details"]
