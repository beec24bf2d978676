"""The revision a series was made on, when the series came out of this repository.

A patch mailed from the repository's own commits (git send-email's
sendemail-validate hook, b4's per-patch checks, `git format-patch | patchlint
check -`) is already applied at HEAD, so checking it against HEAD says
"already applied", and the series' `base-commit:` (b4 writes the series' fork
point into every patch) is wrong for every patch but the first.  The right
base is the parent of the commit the first patch was made from: the commit
named on its mbox `From <sha>` line when the repository has it, else the commit
among HEAD's recent history with the same `git patch-id --stable`.
"""

from __future__ import annotations

import subprocess
from pathlib import Path

from patchlint.records import Series

HISTORY = 200  # how far back from HEAD a patch is looked for when the series names no base


def made_on(tree_dir: str | None, series: Series) -> str | None:
    """The commit the series' first patch was made on, or None when it was not made here."""
    top = Path(tree_dir or ".")
    if not series.patches or not (top / ".git").exists() or not (top / "Makefile").is_file():
        return None
    first = series.patches[0]
    if first.commit:
        parent = _parent(top, first.commit)
        if parent:
            return parent
    if first.patchset is None:
        return None
    wanted = _patch_ids(top, ["patch-id", "--stable"], str(first.patchset))
    if not wanted:
        return None
    limit = ["HEAD"]
    if series.base_commit and _git(top, "rev-parse", "-q", "--verify", f"{series.base_commit}^{{commit}}"):
        limit = [f"{series.base_commit}..HEAD"]
    # The walk is bounded by commits, not by matches (a rarely touched file would otherwise send git
    # through the whole history); a pathspec keeps the diffs to the patch's files.
    commits = _git(top, "rev-list", "--no-merges", f"--max-count={HISTORY}", *limit, "--").split()
    if not commits:
        return None
    paths = sorted({p for fc in first.files for p in (fc.old_path, fc.new_path) if p})
    log = _git(top, "log", "--no-walk=unsorted", "--no-color", "--no-ext-diff", "-p", "--format=commit %H",
               *commits, "--", *paths)
    if not log:
        return None
    ids = _patch_ids(top, ["patch-id", "--stable"], log)
    for pid, commit in ids:
        if pid == wanted[0][0]:
            return _parent(top, commit)
    return None


def _parent(top: Path, commit: str) -> str | None:
    if not all(c in "0123456789abcdefABCDEF" for c in commit) or not 7 <= len(commit) <= 64:
        return None
    return _git(top, "rev-parse", "-q", "--verify", f"{commit}^1^{{commit}}").strip() or None


def _patch_ids(top: Path, args: list[str], text: str) -> list[tuple[str, str]]:
    out = _git(top, *args, stdin=text)
    return [tuple(line.split()[:2]) for line in out.splitlines() if len(line.split()) >= 2]


_TIMED_OUT: list[str] = []


def timed_out() -> bool:
    """Whether a git command gave up on the clock in this process: the base it chose then says
    something about this machine, not the series (a check's answer is not kept)."""
    return bool(_TIMED_OUT)


def _git(top: Path, *args: str, stdin: str | None = None) -> str:
    try:
        proc = subprocess.run(["git", "-C", str(top), *args], input=stdin, capture_output=True, text=True,
                              encoding="utf-8", errors="surrogateescape", timeout=60)
    except subprocess.TimeoutExpired:
        _TIMED_OUT.append(args[0])
        return ""
    except OSError:
        return ""
    return proc.stdout if proc.returncode == 0 else ""
