"""Cheap evidence that an input is unchanged: a tree's identity, patchlint's own code, a file.

Every cache keys on these.  The module imports nothing but the standard library's basics, so
that a check answered from the cache (patchlint.answers) can stamp its inputs before the
interpreter has paid for typer, the parser or the model.
"""

from __future__ import annotations

import hashlib
import os
import stat
from importlib.util import find_spec
from pathlib import Path

from patchlint import __version__
from patchlint.resources import grammars_dir

_CODE: str | None = None


def code_digest() -> str:
    """patchlint's own code and data (the tables under grammars/, the finding kinds' texts, the
    schemas): a cached result is only as good as the code that made it, and a development tree
    changes without its version changing."""
    global _CODE
    if _CODE is None:
        digest = hashlib.sha256(__version__.encode())
        package = Path(__file__).resolve().parent
        files = {p for p in package.rglob("*") if p.is_file() and "__pycache__" not in p.parts
                 and p.suffix != ".pyc"}
        files |= {p for p in grammars_dir().resolve().rglob("*") if p.is_file()}
        for f in sorted(files):
            digest.update(str(f.relative_to(f.parents[1])).encode() + b"\0" + f.read_bytes() + b"\0")
        # the C parser it runs on: a new tree-sitter or grammar may read the same bytes otherwise
        # (their compiled modules' size and time, found without importing them: tree_sitter_c's
        # import pulls in importlib.resources, 20 ms of a start)
        for name in ("tree_sitter", "tree_sitter_c"):
            spec = find_spec(name)
            for where in (spec.submodule_search_locations or []) if spec else []:
                for entry in sorted(os.scandir(where), key=lambda e: e.name):
                    if entry.name.startswith("_binding"):
                        st = entry.stat()
                        digest.update(f"{name}:{entry.name}:{st.st_size}:{st.st_mtime_ns}\0".encode())
        override = os.environ.get("PATCHLINT_GRAMMARS")
        if override and Path(override).is_dir():
            for f in sorted(p for p in Path(override).rglob("*") if p.is_file()):
                digest.update(f.name.encode() + b"\0" + f.read_bytes() + b"\0")
        _CODE = digest.hexdigest()
    return _CODE


def dir_identity(root: Path) -> str:
    """A plain directory tree: every C file's size, times and inode, and every symlink's target.
    Cheap next to reading the files, and it changes when any of them does (an edit that keeps
    the size and puts the old mtime back, as `touch -r` or `rsync -a` can, still moves the
    ctime; a symlinked directory pointed elsewhere changes its target)."""
    parts: list[str] = []

    def visit(directory: str, rel: str) -> None:
        try:
            entries = sorted(os.scandir(directory), key=lambda e: e.name)
        except OSError:
            return
        for entry in entries:
            if entry.is_symlink():
                try:
                    parts.append(f"{rel}{entry.name}->{os.readlink(entry.path)}")
                except OSError:
                    continue
                if entry.name.endswith((".c", ".h")):
                    _stat(entry, rel)
            elif entry.is_dir():
                if entry.name != ".git":
                    visit(entry.path, f"{rel}{entry.name}/")
            elif entry.name.endswith((".c", ".h")):
                _stat(entry, rel)

    def _stat(entry: os.DirEntry, rel: str) -> None:
        try:
            st = entry.stat()
        except OSError:
            return
        parts.append(f"{rel}{entry.name}:{st.st_size}:{st.st_mtime_ns}:{st.st_ctime_ns}:{st.st_ino}")

    visit(str(root), "")
    return "dir-" + hashlib.sha256(f"{root.resolve()}\n{chr(10).join(parts)}".encode()).hexdigest()


def git_dir(top: Path) -> Path | None:
    """The repository directory of a work tree or a bare repository, as source.tree opens it;
    None for a plain directory.  (patchlint.cli checks that the tree it opened is of the kind
    stamped: a `.git` GitPython refuses is read as a plain directory.)"""
    if (top / ".git").exists():
        return top / ".git"
    if (top / "HEAD").is_file() and (top / "objects").is_dir():
        return top
    return None


def repo_stamp(gitdir: Path) -> str | None:
    """What names a repository's revisions: HEAD, every ref, the packs and the loose object
    directories.  A check of a git tree reads commits, never the work tree, so this is all a
    re-check depends on.  None for a linked work tree (`.git` a file): its refs live elsewhere."""
    if not gitdir.is_dir():
        return None
    digest = hashlib.sha256(str(gitdir.resolve()).encode())

    def add(path: Path, rel: str) -> None:
        try:
            digest.update(rel.encode() + b"\0" + path.read_bytes() + b"\0")
        except OSError:
            digest.update(rel.encode() + b"\0-\0")

    for name in ("HEAD", "config", "packed-refs", "shallow", "commondir", "objects/info/alternates", "info/grafts"):
        add(gitdir / name, name)
    try:
        # ORIG_HEAD, FETCH_HEAD, MERGE_HEAD, ...: --base and --range may name them
        for entry in sorted(os.scandir(gitdir), key=lambda e: e.name):
            if entry.name.endswith("HEAD") and entry.name != "HEAD" and entry.is_file():
                add(Path(entry.path), entry.name)
    except OSError:
        return None
    # refs, and the reflogs `@{1}` and `@{-1}` read
    for top in ("refs", "logs"):
        for dirpath, dirnames, filenames in os.walk(gitdir / top):
            dirnames.sort()
            for f in sorted(filenames):
                full = Path(dirpath) / f
                add(full, str(full.relative_to(gitdir)))
    try:
        for entry in sorted(os.scandir(gitdir / "objects"), key=lambda e: e.name):
            st = entry.stat(follow_symlinks=False)
            digest.update(f"{entry.name}:{st.st_mtime_ns}\0".encode())
        for entry in sorted(os.scandir(gitdir / "objects" / "pack"), key=lambda e: e.name):
            digest.update(f"pack/{entry.name}\0".encode())
    except OSError:
        return None
    return "git-" + digest.hexdigest()


def tree_stamp(top: Path) -> str | None:
    """A kernel tree given by --tree: its repository's revisions, or its files."""
    gitdir = git_dir(top)
    if gitdir is not None:
        return repo_stamp(gitdir)
    return dir_identity(top) if top.is_dir() else None


def git_config_files() -> list[Path]:
    """The user's and the system's git configuration: they change what `git grep`, `git log -p`
    and `git patch-id` print (diff.noprefix, diff.algorithm)."""
    home = Path(os.environ.get("HOME") or Path.home())
    xdg = os.environ.get("XDG_CONFIG_HOME")
    return [home / ".gitconfig", (Path(xdg) if xdg else home / ".config") / "git" / "config",
            Path("/etc/gitconfig")]


def file_digest(path: Path) -> str | None:
    """A regular file's bytes, or "absent" (a config file that does not exist is an input too).
    None for anything else -- a pipe, a FIFO, a device, a directory, an unreadable file --,
    which is never read here: the check itself must be the one to read a pipe."""
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK)
    except (FileNotFoundError, NotADirectoryError):
        return "absent"
    except OSError:
        return None
    try:
        if not stat.S_ISREG(os.fstat(fd).st_mode):
            return None
        digest = hashlib.sha256()
        while chunk := os.read(fd, 1 << 20):
            digest.update(chunk)
        return digest.hexdigest()
    except OSError:
        return None
    finally:
        os.close(fd)


def tree_file_stamp(root: Path, rel: str) -> str | None:
    """A file of a plain directory tree, by the path a diff names: where it really is (a
    symlink pointed elsewhere is another file) and its bytes.  A path whose symlinks leave the
    tree is "outside", and not read."""
    try:
        top = root.resolve()
        real = (root / rel).resolve()
    except (OSError, RuntimeError):  # RuntimeError: a symlink loop (Python < 3.13)
        return None
    if not real.is_relative_to(top):
        return "outside"
    digest = file_digest(real)
    return None if digest is None else f"{real.relative_to(top)}:{digest}"


def dir_digest(path: Path) -> str | None:
    """The names in a directory and each regular file's bytes (a format-patch directory, a
    scenario directory)."""
    digest = hashlib.sha256()
    try:
        entries = sorted(os.scandir(path), key=lambda e: e.name)
    except FileNotFoundError:
        return "absent"
    except OSError:
        return None
    for entry in entries:
        digest.update(entry.name.encode() + b"\0")
        if entry.is_file():
            digest.update((file_digest(Path(entry.path)) or "special").encode() + b"\0")
    return digest.hexdigest()
