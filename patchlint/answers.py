"""A check's whole answer, remembered with the inputs it read: ccache's "direct mode".

`patchlint check` is run again and again on the same series (the send-email hook after
`b4 prep --check`, CI re-runs, an author reading the report twice).  The first run records
what the command line, the working directory and the environment that matter asked for,
the stamps of every input it read (the series files, the tree, the configuration files, the
scenario directories, patchlint's own code) and what it printed.  A later run with the same
request re-stamps those inputs and, when every stamp matches, prints the same bytes and
exits with the same status, before typer, the parser or the model are imported.  A stamp
that differs, or anything unreadable, is a miss and the check runs in full.

Not remembered: a series read from standard input (its bytes are gone once read), a run the
clock cut short (it says something about the machine, not the series), errors, and any run
of a tree whose revisions cannot be stamped.  Progress lines are not part of an answer.

An answer is printed only if it is sealed (patchlint.seal) with the user's key: one written by
someone else (a shared cache, a CI cache restored from a pull request) could print a forged
report with a passing status, and one with a flipped bit would be printed again on every
run.  Without a usable key no answer is given or kept.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import os
import stat
import sys
import time
from pathlib import Path
from typing import NamedTuple

from patchlint import __version__
from patchlint.resources import default_cache_dir
from patchlint.seal import mac, secret
from patchlint.stamps import code_digest, dir_digest, file_digest, tree_file_stamp, tree_stamp

FORMAT = 2  # 2: the answer sealed with the user's key
KEEP = 256  # answers kept, the most recently used: a hook checks a new temporary file each time
# what in the environment can change a check's output (colour, config and cache places, how
# git and Python find and print things); the rest of it cannot
_ENV_NAMES = ("NO_COLOR", "TERM", "HOME", "XDG_CONFIG_HOME", "XDG_CACHE_HOME", "LANG", "LC_ALL", "LC_CTYPE",
              "PYTHONIOENCODING", "PYTHONUTF8", "PATH")
_ENV_PREFIXES = ("PATCHLINT_", "GIT_")
# these send git to a repository other than the tree's own, whose history is not stamped
_GIT_ELSEWHERE = ("GIT_DIR", "GIT_WORK_TREE", "GIT_COMMON_DIR", "GIT_OBJECT_DIRECTORY",
                  "GIT_ALTERNATE_OBJECT_DIRECTORIES", "GIT_INDEX_FILE", "GIT_NAMESPACE")


# (not dataclasses: their import is 8 ms of an answer's 90)
class Answer(NamedTuple):
    stdout: str
    stderr: str
    code: int


class Recording:
    """The run under way that may be remembered: its request key and the stamps taken."""

    def __init__(self, key: str) -> None:
        self.key = key
        self.deps: list[tuple[str, str, str]] = []
        self.keep = True


_pending: Recording | None = None


def request_key(argv: list[str], cwd: str | None = None, env: dict[str, str] | None = None,
                stdout_tty: bool | None = None) -> str | None:
    """The key of a `check` request, or None when it is not one an answer can be kept for."""
    if not argv or argv[0] != "check" or "-" in argv[1:] or default_cache_dir() is None or secret() is None:
        return None
    if "--staged" in argv or "--pushed" in argv:
        return None  # the index and the push are read from git, and no stamp covers them
    if any("@{" in arg for arg in argv):
        return None  # a revision by date or reflog position (`main@{yesterday}`) moves with the clock
    env = dict(os.environ) if env is None else env
    if any(name in env for name in _GIT_ELSEWHERE):
        return None
    picked = sorted((k, v) for k, v in env.items() if k in _ENV_NAMES or k.startswith(_ENV_PREFIXES))
    tty = sys.stdout.isatty() if stdout_tty is None else stdout_tty
    material = [FORMAT, __version__, sys.executable, argv, cwd or os.getcwd(), picked, tty]
    return hashlib.sha256(json.dumps(material).encode()).hexdigest()


def _stamp(kind: str, arg: str) -> str | None:
    if kind == "code":
        return code_digest()
    if kind == "file":
        return file_digest(Path(arg))
    if kind == "dir":
        return dir_digest(Path(arg))
    if kind == "tree":
        return tree_stamp(Path(arg))
    if kind == "treefile":
        root, _, rel = arg.partition("\0")
        return tree_file_stamp(Path(root), rel)
    return None


def _entry(key: str) -> Path | None:
    root = default_cache_dir()
    return None if root is None else root / "answers" / f"{key}.json"


def recall(key: str) -> Answer | None:
    """The answer kept for `key` if every input it read stamps the same now."""
    path = _entry(key)
    key_bytes = secret()
    try:
        if path is None or key_bytes is None or not path.is_file():
            return None
        outer = json.loads(path.read_text(encoding="utf-8"))
        if outer.get("format") != FORMAT:
            return None
        # the MAC is checked over the answer's exact bytes before anything in it is believed
        sealed = str(outer["answer"]).encode("utf-8")
        if not hmac.compare_digest(str(outer["mac"]), mac(key_bytes, key, sealed).hex()):
            return None
        data = json.loads(sealed)
        for kind, arg, stamp in data["deps"]:
            if _stamp(kind, arg) != stamp:
                return None
        try:
            os.utime(path)  # used: the last to be pruned
        except OSError:
            pass  # a cache shared read-only still answers
        return Answer(str(data["stdout"]), str(data["stderr"]), int(data["code"]))
    except (OSError, RuntimeError, ValueError, KeyError, TypeError, AttributeError):
        # a broken entry is a miss, rewritten by the run that follows; an input that cannot be
        # stamped now (a symlink loop: RuntimeError) is the full check's to report
        return None


def expect(key: str) -> None:
    """The run about to start may be remembered under `key`."""
    global _pending
    _pending = Recording(key)


def recording() -> bool:
    return _pending is not None and _pending.keep


def depend(kind: str, arg: str) -> None:
    """The run read this input: stamp it now, before it is read (a file changed while the
    check runs then fails the next run's comparison, never passes it)."""
    if not recording():
        return
    assert _pending is not None
    try:
        stamp = _stamp(kind, arg)
    except (OSError, RuntimeError, ValueError):
        stamp = None  # the check itself reads it next, and says what is wrong with it
    if stamp is None:
        _pending.keep = False  # an input that cannot be stamped (a linked work tree's refs)
    else:
        _pending.deps.append((kind, arg, stamp))


def check_inputs(tree: str | None, series: list[str]) -> None:
    """Stamp what a check reads first: patchlint's code, the tree, the series files (a pipe is
    read once, by the check: such a run is not kept) and the configuration files (absent ones
    too: one created later is read).  A plain directory's identity covers its C files.  A git
    tree's history is read through git, as the user's git configuration says."""
    if not recording():
        return
    from patchlint.stamps import git_config_files, git_dir
    from patchlint.workflow.config import TREE_FILE, user_config_path

    # absolute() keeps `..` after a symlink as the check's own reads resolve it
    top = Path(tree or ".").absolute()
    depend("code", "")
    depend("tree", str(top))
    for arg in series:
        try:
            mode = os.stat(arg).st_mode
        except OSError:
            spoil()
            continue
        if stat.S_ISDIR(mode):
            depend("dir", str(Path(arg).absolute()))
        elif stat.S_ISREG(mode):
            depend("file", str(Path(arg).absolute()))
        else:
            spoil()
    for path in (top / TREE_FILE, user_config_path()):
        depend("file", str(path.absolute()))
    # a plain directory's Makefile names the kernel version; a git work tree's tells whether the
    # series was made there (workflow.base looks for it)
    depend("treefile", f"{top}\0Makefile")
    if git_dir(top) is not None:
        for path in git_config_files():
            depend("file", str(path))


def opened_tree(tree: str | None, is_git: bool, patched: set[str]) -> None:
    """The tree the check opened: of the kind stamped (a `.git` that GitPython refuses is read
    as a plain directory, whose files its history's stamp does not cover), and, for a plain
    directory, the files the series patches whatever their kind (Kconfig, Documentation):
    whether and how a hunk applies is read from them."""
    if not recording():
        return
    assert _pending is not None
    stamped = next((stamp for kind, _, stamp in _pending.deps if kind == "tree"), "")
    if stamped.startswith("git-") != is_git:
        spoil()
        return
    if not is_git:
        top = Path(tree or ".").absolute()
        for rel in sorted(patched):
            depend("treefile", f"{top}\0{rel}")


def spoil() -> None:
    """This run's answer must not be kept (the clock cut part of it short)."""
    if _pending is not None:
        _pending.keep = False


def remember(answer: Answer) -> None:
    """Keep the finished run's answer; a cache that cannot be written is only a slower next run."""
    global _pending
    pending, _pending = _pending, None
    if pending is None or not pending.keep:
        return
    path = _entry(pending.key)
    key_bytes = secret()
    if path is None or key_bytes is None:
        return
    # the answer as JSON text inside the entry, so that the MAC covers exactly the bytes read back
    sealed = json.dumps({"deps": pending.deps, "stdout": answer.stdout, "stderr": answer.stderr,
                         "code": answer.code})
    data = {"format": FORMAT, "mac": mac(key_bytes, pending.key, sealed.encode("utf-8")).hex(), "answer": sealed}
    import tempfile

    tmp = None
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".tmp-")
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            json.dump(data, fh)
        os.replace(tmp, path)
        tmp = None
        _prune(path.parent, KEEP)
    except OSError:
        pass
    finally:
        if tmp is not None:
            Path(tmp).unlink(missing_ok=True)


def _prune(directory: Path, keep: int) -> None:
    """Drop all but the `keep` answers used last (another process may be pruning too), and what
    a run killed while writing left behind."""
    kept = []
    stale = time.time_ns() - 3600 * 10**9
    for entry in os.scandir(directory):
        try:
            mtime = entry.stat().st_mtime_ns
        except OSError:
            continue
        if entry.name.endswith(".json"):
            kept.append((mtime, entry.name))
        elif entry.name.startswith(".tmp-") and mtime < stale:
            (directory / entry.name).unlink(missing_ok=True)
    for _, name in sorted(kept, reverse=True)[keep:]:
        (directory / name).unlink(missing_ok=True)
