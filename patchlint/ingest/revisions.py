"""Revisions named by the user, resolved without ever reaching git as an option."""

from __future__ import annotations

from typing import TYPE_CHECKING

from patchlint.errors import PatchlintError

if TYPE_CHECKING:
    import git


def check_revision(rev: str, what: str) -> str:
    if not rev or rev.startswith("-") or any(c in rev for c in "\0\n "):
        raise PatchlintError(what, f"{rev!r} is not a revision", None,
                             "give a commit, branch or tag name; names starting with '-' are refused")
    return rev


def resolve_commit(repo: git.Repo, rev: str, what: str) -> git.Commit:
    """GitPython's own rev-parse, so the name is parsed in Python, not by a git command line."""
    import git  # only for a git tree: GitPython costs a plain directory's check a third of its time

    check_revision(rev, what)
    try:
        obj = repo.rev_parse(rev)
    except (git.BadName, git.BadObject, ValueError, IndexError, KeyError):
        raise PatchlintError(what, f"revision {rev!r} not found in {repo.working_dir or repo.git_dir}", None,
                             "check the name with git log") from None
    while obj.type == "tag":
        obj = obj.object
    if obj.type != "commit":
        raise PatchlintError(what, f"revision {rev!r} is a {obj.type}, not a commit", None,
                             "give a commit, branch or tag name")
    return obj
