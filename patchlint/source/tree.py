"""Kernel trees: a directory, or a git repository at a revision.

Files are read lazily and only read: nothing is checked out, written, or
locked in the user's tree.  Revisions are resolved by GitPython's own parser
and refused when they could be taken for an option.
"""

from __future__ import annotations

import os
import re
import subprocess
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from patchlint.errors import PatchlintError
from patchlint.ingest.paths import check_tree_path
from patchlint.ingest.revisions import check_revision, resolve_commit
from patchlint.stamps import dir_identity

if TYPE_CHECKING:
    import git

_WORD = re.compile(r"[A-Za-z_]\w*")
_MAKE_VAR = re.compile(rb"^(VERSION|PATCHLEVEL|SUBLEVEL|EXTRAVERSION)\s*=[ \t]*(\S*)", re.MULTILINE)


class Tree:
    """What later stages may ask of a tree."""

    name: str  # how messages name it
    revision: str | None = None  # commit id for a git tree

    def read(self, path: str) -> bytes | None:  # pragma: no cover - interface
        raise NotImplementedError

    def kernel_version(self) -> str | None:
        data = self.read("Makefile")
        if data is None:
            return None
        found = dict((k.decode(), v.decode()) for k, v in _MAKE_VAR.findall(data))
        if "VERSION" not in found or "PATCHLEVEL" not in found:
            return None
        version = f"{found['VERSION']}.{found['PATCHLEVEL']}"
        if found.get("SUBLEVEL"):
            version += f".{found['SUBLEVEL']}"
        return version + found.get("EXTRAVERSION", "")

    def describe(self) -> dict[str, str | None]:
        return {"path": self.name, "revision": self.revision, "kernel_version": self.kernel_version()}

    def list_files(self, prefix: str) -> list[str]:  # pragma: no cover - interface
        """Tree-relative paths of the files under directory `prefix` ("" for all), sorted."""
        raise NotImplementedError

    def grep(self, word: str, globs: tuple[str, ...] = ("*.c", "*.h")) -> list[tuple[str, int, str]]:
        """(path, line, text) of every line holding `word` as a whole word, via git grep."""
        return self.grep_any([word], globs)

    def grep_any(self, words: list[str], globs: tuple[str, ...] = ("*.c", "*.h")) -> list[tuple[str, int, str]]:
        """Lines holding any of `words` as a whole word: one git grep for all of them.  The words
        are checked to be identifiers, so nothing the user wrote reaches git as an option."""
        for word in words:
            if not _WORD.fullmatch(word):
                raise ValueError(f"not an identifier: {word!r}")
        memo = self.__dict__.setdefault("_grep_memo", {})  # the tree does not change during a run
        key = (tuple(sorted(words)), globs)
        if key not in memo:
            args = ["-n", "-w", "-F", "-I", "--no-color"]
            for word in sorted(words):
                args += ["-e", word]
            memo[key] = self._grep_lines(args, globs)
        return memo[key]

    def definition_lines(self, globs: tuple[str, ...] = ("*.c", "*.h")) -> list[tuple[str, int, str]]:
        """Every line that may start a definition: a line at column 0 with `name(` and no `;`
        before it, or a `#define`.  One git grep over the tree (PCRE), for a definitions index."""
        args = ["-n", "-P", "-I", "--no-color", "-e", r"^[A-Za-z_][^;{}]*\w\s*(\(|$)",
                "-e", r"^\s*#\s*define\s+[A-Za-z_]"]
        return self._grep_lines(args, globs)

    def initializer_lines(self, globs: tuple[str, ...] = ("*.c", "*.h")) -> list[tuple[str, int, str]]:
        """Every `.member = name,` line: designated initializers of operations tables."""
        args = ["-n", "-P", "-I", "--no-color", "-e", r"^\s*\.\w+\s*=\s*&?[A-Za-z_]\w*\s*,?\s*$"]
        return self._grep_lines(args, globs)

    def _grep_lines(self, args: list[str], globs: tuple[str, ...]) -> list[tuple[str, int, str]]:
        """(path, line, text) from `git grep -z -n`'s NUL-separated output."""
        out = []
        for line in self._git_grep(args, globs).splitlines():
            path, _, rest = line.partition("\0")
            number, _, text = rest.partition("\0")
            if number.isdigit():
                out.append((path, int(number), text))
        return out

    def identity(self) -> str | None:
        """What the whole tree's content is keyed by, for tree-wide caches."""
        return self.revision

    def _git_grep(self, args: list[str], globs: tuple[str, ...]) -> str:  # pragma: no cover - interface
        raise NotImplementedError

    def content_id(self, path: str) -> str | None:
        """An id that changes when the file does, if the tree knows one without reading it."""
        return None

    def stamp(self, path: str) -> str | None:
        """Cheap evidence that a file is unchanged (blob id, or size and mtime on disk)."""
        return self.content_id(path)


@dataclass
class DirTree(Tree):
    root: Path
    name: str
    _cache: dict[str, bytes | None] = field(default_factory=dict, repr=False)
    _identity: str | None = field(default=None, repr=False)

    def read(self, path: str) -> bytes | None:
        check_tree_path(path, self.name, None)
        if path in self._cache:
            return self._cache[path]
        full = self.root / path
        try:
            real = full.resolve()
            if not real.is_relative_to(self.root.resolve()):
                raise PatchlintError(self.name, f"{path} is a symlink that leaves the tree", None,
                                     "refusing to read outside the tree")
            data = real.read_bytes() if real.is_file() else None
        except (OSError, RuntimeError):  # RuntimeError: a symlink loop (Path.resolve, Python < 3.13)
            data = None  # vanished or unreadable: the same as absent to a patch
        self._cache[path] = data
        return data


    def list_files(self, prefix: str) -> list[str]:
        base = self.root / prefix if prefix else self.root
        out = []
        for dirpath, dirnames, filenames in os.walk(base):
            dirnames[:] = sorted(d for d in dirnames if d != ".git" and not os.path.islink(os.path.join(dirpath, d)))
            rel = os.path.relpath(dirpath, self.root)
            for f in filenames:
                out.append(f if rel == "." else f"{rel}/{f}")
        return sorted(out)

    def identity(self) -> str | None:
        # every C file's size and mtime: cheap next to reading them, and changes when any does;
        # computed once per run (a check reads a tree that is not being edited under it)
        if self._identity is None:
            self._identity = dir_identity(self.root)
        return self._identity

    def stamp(self, path: str) -> str | None:
        try:
            st = os.stat(self.root / path)
        except OSError:
            return None
        return f"{st.st_size}:{st.st_mtime_ns}"

    def _git_grep(self, args: list[str], globs: tuple[str, ...]) -> str:
        # --no-index: any directory, git work tree or not; the word was checked to be an identifier.
        cmd = ["git", "grep", "--no-index", "-z", *args, "--", *globs]
        proc = subprocess.run(cmd, cwd=self.root, capture_output=True, text=True, errors="replace")
        return proc.stdout if proc.returncode in (0, 1) else ""


@dataclass
class GitTree(Tree):
    repo: git.Repo
    commit: git.Commit
    name: str
    _cache: dict[str, bytes | None] = field(default_factory=dict, repr=False)

    def __post_init__(self) -> None:
        self.revision = self.commit.hexsha

    def read(self, path: str) -> bytes | None:
        check_tree_path(path, self.name, None)
        if path in self._cache:
            return self._cache[path]
        try:
            obj = self.commit.tree / path
            data = obj.data_stream.read() if obj.type == "blob" and obj.mode != 0o120000 else None
        except KeyError:
            data = None
        self._cache[path] = data
        return data

    def list_files(self, prefix: str) -> list[str]:
        try:
            top = self.commit.tree / prefix if prefix else self.commit.tree
        except KeyError:
            return []
        if top.type != "tree":
            return []
        return sorted(b.path for b in top.traverse() if b.type == "blob")

    def content_id(self, path: str) -> str | None:
        try:
            obj = self.commit.tree / path
        except KeyError:
            return None
        return obj.hexsha if obj.type == "blob" else None

    def _git_grep(self, args: list[str], globs: tuple[str, ...]) -> str:
        out = self.repo.git.execute(["git", "grep", "-z", *args, self.commit.hexsha, "--", *globs],
                                    with_extended_output=True, with_exceptions=False)[1]
        prefix = self.commit.hexsha + ":"
        return "\n".join(ln[len(prefix):] if ln.startswith(prefix) else ln for ln in out.splitlines())


def open_repo(path: Path, name: str) -> git.Repo | None:
    # GitPython only where there is a repository: a plain directory (an unpacked tarball) is
    # checked without it.  Repo(path) looks no further up than path itself either.
    if not (path / ".git").exists() and not ((path / "HEAD").is_file() and (path / "objects").is_dir()):
        return None
    import git

    try:
        return git.Repo(path)
    except (git.InvalidGitRepositoryError, git.NoSuchPathError):
        return None


def open_tree(tree_dir: str | None, base: str | None = None, series_base: str | None = None) -> Tree:
    path = Path(tree_dir or ".")
    name = tree_dir or "."
    if not path.is_dir():
        raise PatchlintError(name, "no such directory", None, "give the kernel tree with --tree DIR")
    repo = open_repo(path, name)
    tree: Tree
    if base is not None:
        if repo is None:
            raise PatchlintError(name, "--base needs a git repository", None, "drop --base to read the directory")
        tree = GitTree(repo, resolve_commit(repo, base, name), name)
    elif repo is not None and not repo.bare and series_base and _has_commit(repo, series_base):
        tree = GitTree(repo, resolve_commit(repo, series_base, name), name)
    elif repo is not None:
        try:
            tree = GitTree(repo, repo.head.commit, name)
        except ValueError:
            raise PatchlintError(name, "the repository has no commits", None, "commit the tree first") from None
    else:
        tree = DirTree(path, name)
    if tree.kernel_version() is None:
        raise PatchlintError(name, "not a kernel tree (no top-level Makefile with VERSION and PATCHLEVEL)", None,
                             "give the top of a Linux source tree with --tree DIR")
    return tree


def _has_commit(repo: git.Repo, sha: str) -> bool:
    try:
        check_revision(sha, "base-commit")
        return repo.rev_parse(sha).type == "commit"
    except Exception:  # noqa: BLE001 - any failure means "not usable here"
        return False
