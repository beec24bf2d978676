"""A git range in a kernel tree as a series: each non-merge commit one patch, base = A.

The commits go through `git format-patch` so a range is read by exactly the
same code as mailed patches.  User text never reaches git as an option: both
ends are resolved to commit ids by GitPython first, and the user's format and
diff configuration that would change the output's shape is overridden.
"""

from __future__ import annotations

from pathlib import Path

import git

from patchlint.errors import PatchlintError
from patchlint.ingest.revisions import resolve_commit
from patchlint.ingest.series import Input, build_series
from patchlint.records import Series

_FORMAT_PATCH_OVERRIDES = [
    "-c", "diff.noprefix=false", "-c", "diff.mnemonicPrefix=false", "-c", "format.coverLetter=false",
    "-c", "format.signature=", "-c", "format.headers=", "-c", "diff.external=",
]


def split_range(spec: str) -> tuple[str, str]:
    if "..." in spec or spec.count("..") != 1:
        raise PatchlintError("--range", f"{spec!r} is not of the form A..B", None, "e.g. --range origin/master..HEAD")
    a, b = spec.split("..")
    return a, b or "HEAD"


def read_range(repo_dir: str, spec: str, lenient: bool = False) -> tuple[Series, str]:
    """Return the series and the resolved base commit id."""
    a, b = split_range(spec)
    try:
        repo = git.Repo(Path(repo_dir))
    except (git.InvalidGitRepositoryError, git.NoSuchPathError):
        raise PatchlintError(repo_dir, "--range needs a git repository", None,
                             "run inside the kernel git tree or give it with --tree DIR") from None
    base = resolve_commit(repo, a, "--range").hexsha
    tip = resolve_commit(repo, b, "--range").hexsha
    commits = repo.git.execute(["git", "rev-list", "--no-merges", f"{base}..{tip}", "--"]).split()
    if not commits:
        raise PatchlintError("--range", f"{spec} holds no commits (merges are skipped)", None,
                             "check the range with git log --oneline " + spec)
    text = repo.git.execute(
        ["git", *_FORMAT_PATCH_OVERRIDES, "format-patch", "--stdout", "--numbered", "--subject-prefix=PATCH",
         "--no-signature", "--src-prefix=a/", "--dst-prefix=b/", "--no-color", f"{base}..{tip}", "--"],
        stdout_as_string=False, strip_newline_in_stdout=False,
    )
    series = build_series([Input(f"{spec}", text)], lenient=lenient, base_commit=base)
    return series, base
