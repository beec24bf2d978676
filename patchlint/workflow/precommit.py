"""What the pre-commit hooks check: the staged changes, or the commits being pushed.

pre-commit (https://pre-commit.com) runs a hook's command without a shell, so the hooks
are options of `patchlint check` (`--staged`, `--pushed`) rather than shell in
.pre-commit-hooks.yaml.  Both must pass when there is nothing to check:
`pre-commit run --all-files` with nothing staged, a push of commits every remote already
has.  On a push pre-commit sets PRE_COMMIT_FROM_REF and PRE_COMMIT_TO_REF -- except on the
first push of a history no remote has (an empty remote), where it sets neither, only
PRE_COMMIT_LOCAL_BRANCH.  Then the commits checked are those of the pushed branch that no
remote-tracking branch has (`git rev-list TIP --not --remotes`).

Names from the environment are revisions a user could have written: they are checked
(no leading `-`) and resolved with `--end-of-options` before any other git command
sees them, and after that only commit ids reach git.
"""

from __future__ import annotations

import subprocess
from collections.abc import Mapping
from pathlib import Path

from patchlint.errors import PatchlintError
from patchlint.ingest.revisions import check_revision

ZERO = "0" * 40
MAX_PUSHED = 200  # a first push of more commits than this checks the newest ones (a whole history is no patch)

# what the user's git configuration would change in a diff's shape: patchlint reads git's defaults
_DIFF_OVERRIDES = ["-c", "core.quotePath=false", "-c", "diff.noprefix=false", "-c", "diff.mnemonicPrefix=false",
                   "-c", "diff.relative=false", "-c", "diff.external=", "-c", "diff.renames=true"]


def staged_patch(top: Path) -> bytes | None:
    """The staged changes to C files as a patch against HEAD, or None when none are staged (or
    there is no commit yet to compare with).  Only C is analysed: other files (a binary, a
    script in another encoding) would only be an input the check cannot read."""
    _repository(top, "--staged")
    if _git(top, "rev-parse", "-q", "--verify", "HEAD^{commit}") is None:
        return None
    out = _git_bytes(top, *_DIFF_OVERRIDES, "diff", "--cached", "--no-color", "--no-ext-diff", "--no-textconv",
                     "--submodule=short", "--src-prefix=a/", "--dst-prefix=b/", "HEAD", "--", "*.c", "*.h")
    if out is None:
        raise PatchlintError(str(top), "git diff --cached failed", None, "check the repository with git status")
    return out if out.strip() else None


def pushed_range(top: Path, env: Mapping[str, str]) -> tuple[str | None, str | None]:
    """`A..B` of the commits being pushed (None: nothing to check), and a note when only the
    newest of a first push's commits are checked."""
    _repository(top, "--pushed")
    source = env.get("PRE_COMMIT_TO_REF") or env.get("PRE_COMMIT_LOCAL_BRANCH") or "HEAD"
    tip = _commit(top, source, "PRE_COMMIT_TO_REF")
    start = env.get("PRE_COMMIT_FROM_REF", "")
    if start and start != ZERO:
        base = _commit(top, start, "PRE_COMMIT_FROM_REF")
        if not _git(top, "rev-list", "--no-merges", "-n", "1", f"{base}..{tip}", "--"):
            return None, None
        return f"{base}..{tip}", None
    # a first push: what no remote has.  Both ids are resolved: nothing here is an option
    fresh = (_git(top, "rev-list", "--topo-order", "--reverse", tip, "--not", "--remotes", "--") or "").split()
    note = None
    if len(fresh) > MAX_PUSHED:
        note = (f"{len(fresh)} commits no remote has; the newest {MAX_PUSHED} are checked "
                "(patchlint check --range A..B checks others)")
        fresh = fresh[-MAX_PUSHED:]
    if not fresh:
        return None, None
    parent = _git(top, "rev-parse", "-q", "--verify", f"{fresh[0]}^1^{{commit}}")
    # a root commit (a history no remote has at all) is not a patch to anything: it is the base
    base = parent.strip() if parent else fresh[0]
    if not _git(top, "rev-list", "--no-merges", "-n", "1", f"{base}..{tip}", "--"):
        return None, note
    return f"{base}..{tip}", note


def _commit(top: Path, rev: str, what: str) -> str:
    check_revision(rev, what)
    out = _git(top, "rev-parse", "-q", "--verify", "--end-of-options", f"{rev}^{{commit}}")
    if not out:
        raise PatchlintError(what, f"revision {rev!r} not found in {top}", None, "check the name with git log")
    return out.strip()


def _repository(top: Path, option: str) -> None:
    if not top.is_dir() or _git(top, "rev-parse", "--git-dir") is None:
        raise PatchlintError(str(top), f"{option} needs a git repository", None,
                             "run it in the kernel tree's git checkout, or give it with --tree DIR")


def _git(top: Path, *args: str) -> str | None:
    """git's output, or None when it failed."""
    out = _git_bytes(top, *args)
    return None if out is None else out.decode("utf-8", "surrogateescape")


def _git_bytes(top: Path, *args: str) -> bytes | None:
    try:
        proc = subprocess.run(["git", *args], cwd=top, capture_output=True, timeout=300)
    except (OSError, subprocess.TimeoutExpired):
        return None
    return proc.stdout if proc.returncode == 0 else None
