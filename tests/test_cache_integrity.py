"""The caches never change what a check reports: an entry kept by content names the path that
asked for it, not the one that made it; a corrupt entry is a miss, rebuilt silently; an entry
someone else wrote is never loaded, so it can neither run code nor forge a report.

Every run goes through the real `patchlint check` in a subprocess, with the cache and the
user's configuration (where the cache key lives) in tmp_path, and is compared with a run that
has no cache at all.
"""

from __future__ import annotations

import json
import os
import pickle
import stat
from pathlib import Path

import pytest

from .conftest import SERIES, TREE, run_patchlint

RFC = SERIES / "storage-key-rfc.mbox"

# a new file whose one function spins on the page lock under a spinlock: a finding that names
# the file in its location, its lock chain and its identity
NEW_FILE = """\
#include <linux/mm.h>
#include <linux/pagemap.h>

void demo_spin(struct page *page, spinlock_t *ptl)
{
\tspin_lock(ptl);
\twhile (!trylock_page(page))
\t\tcpu_relax();
\tunlock_page(page);
\tspin_unlock(ptl);
}
"""


def new_files_patch(*paths: str, subject: str | None = None) -> str:
    """A format-patch mail adding each of `paths` with NEW_FILE's bytes."""
    lines = NEW_FILE.splitlines()
    diffs = "".join(
        f"diff --git a/{p} b/{p}\nnew file mode 100644\nindex 0000000..1111111\n--- /dev/null\n+++ b/{p}\n"
        f"@@ -0,0 +1,{len(lines)} @@\n" + "".join(f"+{line}\n" for line in lines)
        for p in paths)
    return ("From 0000000000000000000000000000000000000000 Mon Sep 17 00:00:00 2001\n"
            "From: A U Thor <author@example.org>\n"
            "Date: Mon, 16 Apr 2012 09:00:00 +0100\n"
            f"Subject: [PATCH] {subject or 'mm: add ' + ', '.join(paths)}\n\n"
            "---\n"
            f"{diffs}"
            "-- \n2.0\n")


@pytest.fixture
def env(tmp_path: Path) -> dict[str, str]:
    """The cache and the user's configuration (where the cache key lives) in tmp_path: the
    tests never read or write the real user's files."""
    base = {k: v for k, v in os.environ.items() if not k.startswith(("PATCHLINT_", "XDG_"))}
    return {**base, "PATCHLINT_CACHE_DIR": str(tmp_path / "cache"), "XDG_CONFIG_HOME": str(tmp_path / "config"),
            "HOME": str(tmp_path / "home"), "XDG_CACHE_HOME": str(tmp_path / "xdg-cache")}


def check(env: dict[str, str], *args: str, cache: bool = True) -> tuple[int, str, str]:
    run_env = env if cache else {**env, "PATCHLINT_CACHE_DIR": "off"}
    proc = run_patchlint("check", "--tree", str(TREE), *args, env=run_env)
    return proc.returncode, proc.stdout.decode(), proc.stderr.decode()


def test_a_file_with_the_bytes_of_one_checked_before_is_reported_under_its_own_path(tmp_path, env):
    alpha, beta = tmp_path / "alpha.patch", tmp_path / "beta.patch"
    alpha.write_text(new_files_patch("mm/alpha.c"))
    beta.write_text(new_files_patch("mm/beta.c"))
    for fmt in ("text", "json"):
        check(env, "--format", fmt, str(alpha))  # fills the cache with mm/alpha.c's parse and bodies
    for fmt in ("json", "text"):
        warm = check(env, "--format", fmt, str(beta))
        assert warm == check(env, "--format", fmt, str(beta), cache=False)
        assert "mm/alpha.c" not in warm[1]
    findings = json.loads(check(env, "--format", "json", str(beta))[1])["findings"]
    assert findings, "the new file's spin on trylock_page() is a finding"
    for f in findings:
        assert f["file"] == "mm/beta.c" and f["site"] is not None and "mm/beta.c" in f["identity"]
        assert all(step["file"] == "mm/beta.c" for step in f["chain"])


def test_two_files_of_the_same_bytes_in_one_check_each_name_their_own_path(tmp_path, env):
    """Within one run the bodies are shared in memory by content: each is still reported where
    it is."""
    both = tmp_path / "both.patch"
    both.write_text(new_files_patch("mm/alpha.c", "mm/beta.c"))
    cold = check(env, "--format", "json", str(both), cache=False)
    assert check(env, "--format", "json", str(both)) == cold
    files = sorted(f["file"] for f in json.loads(cold[1])["findings"])
    assert files == ["mm/alpha.c", "mm/beta.c"]


def test_every_record_of_a_parse_kept_by_content_names_the_path_that_asked(tmp_path, monkeypatch):
    """Functions, macros and bodies alike, through the on-disk cache and the run's memory."""
    from patchlint.cparse import load_profile
    from patchlint.cparse.cache import SummaryCache
    from patchlint.cparse.index import FunctionIndex
    from patchlint.source.tree import open_tree

    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "config"))
    data = ("#define DEMO_MACRO 1\n" + NEW_FILE).encode()
    tree, profile = open_tree(str(TREE)), load_profile("s390")
    for overlay in ({"mm/alpha.c": data}, {"mm/beta.c": data}, {"mm/alpha.c": data, "mm/beta.c": data}):
        index = FunctionIndex(tree, profile, SummaryCache(tmp_path / "cache"), overlay=overlay)
        for path in overlay:
            parsed = index.parsed(path)
            assert parsed is not None and parsed.path == path
            assert {m.file for m in parsed.macros} == {f.file for f in parsed.functions} == {path}
            body = index.body(parsed.function("demo_spin"))
            assert body is not None and body.file == path


# --- corrupt and forged entries ------------------------------------------------------------------

def cache_files(env: dict[str, str]) -> dict[str, list[Path]]:
    """The cache's files by kind: answers, and the summary cache's pickles by what they hold
    (a file's parse is named by its content id alone; the others by a prefix)."""
    kinds: dict[str, list[Path]] = {}
    root = Path(env["PATCHLINT_CACHE_DIR"])
    for p in sorted(root.rglob("*")):
        if not p.is_file() or p.name.startswith("."):
            continue
        if p.parent.name == "answers":
            kind = "answer"
        else:
            head = p.name.split("-", 1)[0]
            kind = "parse" if len(head) == 40 and all(c in "0123456789abcdef" for c in head) else head
        kinds.setdefault(kind, []).append(p)
    return kinds


@pytest.fixture(scope="module")
def cold(tmp_path_factory: pytest.TempPathFactory) -> dict[str, tuple[int, str, str]]:
    """The RFC's report in each format from a run with no cache (the same for every test)."""
    home = tmp_path_factory.mktemp("cold")
    env = {**os.environ, "XDG_CONFIG_HOME": str(home / "config"), "HOME": str(home)}
    out = {fmt: check(env, "--format", fmt, str(RFC), cache=False) for fmt in ("text", "json")}
    assert out["text"][0] == 1 and "ERROR:" in out["text"][1]
    return out


def warm_up(env: dict[str, str], cold: dict[str, tuple[int, str, str]]) -> None:
    """The cache filled by one run of each format, which print what a cold run prints."""
    for fmt in ("text", "json"):
        assert check(env, "--format", fmt, str(RFC)) == cold[fmt]


def flip(path: Path, where: str) -> None:
    """One bit of the file flipped: its first byte, the first after a MAC, one in the middle of
    its data (in an answer, the report's first "ERROR", which a flip makes "DRROR"), its last."""
    data = bytearray(path.read_bytes())
    middle = data.find(b"ERROR") if b"ERROR" in data else len(data) // 2
    at = min({"first": 0, "payload": 32, "middle": middle, "last": len(data) - 1}[where], len(data) - 1)
    data[at] ^= 1
    path.write_bytes(bytes(data))


def damage(paths: list[Path], where: str) -> dict[Path, bytes]:
    """Each file flipped (or truncated) at `where`; what each then holds."""
    out = {}
    for p in paths:
        if where == "truncated":
            p.write_bytes(p.read_bytes()[: p.stat().st_size // 2])
        else:
            flip(p, where)
        out[p] = p.read_bytes()
    return out


def still_damaged(damaged: dict[Path, bytes]) -> list[str]:
    return [p.name for p, data in damaged.items() if p.exists() and p.read_bytes() == data]


@pytest.mark.parametrize("where", ["first", "payload", "middle", "last", "truncated"])
def test_a_flipped_bit_in_any_cache_file_is_a_miss_rebuilt_silently(env, cold, where):
    """The summary cache's pickles of every kind damaged at once, with no answer to print, so
    that each reader meets a damaged entry (a miss above sends the check to the entries
    below); then the answers.  Each time the report is the cold run's, byte for byte, and
    every damaged file has been read and written again."""
    warm_up(env, cold)
    kinds = cache_files(env)
    assert {"answer", "parse", "ir", "locks", "state", "model", "reach", "arch", "grep"} <= set(kinds), kinds
    for p in kinds.pop("answer"):
        p.unlink()
    damaged = damage([p for paths in kinds.values() for p in paths], where)
    for fmt in ("text", "json"):
        assert check(env, "--format", fmt, str(RFC)) == cold[fmt]
    assert still_damaged(damaged) == []
    answers = cache_files(env)["answer"]
    assert len(answers) == 2
    damaged = damage(answers, where)
    for fmt in ("text", "json"):
        assert check(env, "--format", fmt, str(RFC)) == cold[fmt]
    assert still_damaged(damaged) == []
    for fmt in ("text", "json"):  # and what was written again answers as before
        assert check(env, "--format", fmt, str(RFC)) == cold[fmt]


class Payload:
    """What an attacker puts in a pickle: unpickling it calls open(marker, "w")."""

    def __init__(self, marker: Path) -> None:
        self.marker = marker

    def __reduce__(self):
        return (open, (str(self.marker), "w"))


def test_a_forged_pickle_never_runs_and_changes_nothing(tmp_path, env, cold):
    """Every pickle in the cache replaced by a __reduce__ payload, as a bare pickle, in the
    entry's own shape, and behind a made-up MAC; every answer by one that passes the series:
    nothing runs, and the report is the cold run's."""
    marker = tmp_path / "pwned"
    warm_up(env, cold)
    kinds = cache_files(env)
    pickles = [p for kind, paths in kinds.items() if kind != "answer" for p in paths]
    assert pickles and kinds["answer"]
    bare = pickle.dumps(Payload(marker))
    for n, p in enumerate(pickles):
        name = p.name.removesuffix(".pickle")
        shaped = pickle.dumps(("patchlint-summary", "0.1.0", name, Payload(marker)))
        # the inner per-body pickles of a file's bodies, too: a table whose values are payloads
        bodies = pickle.dumps(("patchlint-summary", "0.1.0", name, {(0, "demo"): bare}))
        p.write_bytes([bare, shaped, b"\0" * 32 + shaped, os.urandom(32) + bodies][n % 4])
    for p in kinds["answer"]:
        p.write_text(json.dumps({"format": 2, "mac": "0" * 64, "answer": json.dumps(
            {"deps": [], "stdout": "all clear\n", "stderr": "", "code": 0})}))
    for fmt in ("text", "json"):
        assert check(env, "--format", fmt, str(RFC)) == cold[fmt]
    assert not marker.exists()


# --- the key --------------------------------------------------------------------------------

def key_file(env: dict[str, str]) -> Path:
    return Path(env["XDG_CONFIG_HOME"]) / "patchlint" / "cache.key"


def test_the_key_is_made_once_outside_the_cache_readable_by_its_owner_only(env, cold):
    warm_up(env, cold)
    key = key_file(env)
    st = key.lstat()
    assert stat.S_ISREG(st.st_mode) and stat.S_IMODE(st.st_mode) == 0o600 and st.st_size == 32
    assert not Path(env["PATCHLINT_CACHE_DIR"]).joinpath("cache.key").exists()
    made = key.read_bytes()
    assert check(env, "--format", "json", str(RFC)) == cold["json"] and key.read_bytes() == made


def _no_entries_written(env: dict[str, str]) -> bool:
    return not any(p.is_file() for p in Path(env["PATCHLINT_CACHE_DIR"]).rglob("*"))


@pytest.mark.parametrize("how", ["group-readable", "world-writable", "symlink", "short", "directory",
                                 "uncreatable"])
def test_a_key_that_cannot_be_trusted_turns_the_cache_off(tmp_path, env, cold, how):
    """Never an unauthenticated cache: the check runs as with no cache, and writes nothing."""
    key = key_file(env)
    key.parent.mkdir(parents=True)
    if how in ("group-readable", "world-writable", "short"):
        key.write_bytes(os.urandom(32 if how != "short" else 16))
        key.chmod({"group-readable": 0o640, "world-writable": 0o602, "short": 0o600}[how])
    elif how == "symlink":
        real = tmp_path / "elsewhere.key"
        real.write_bytes(os.urandom(32))
        real.chmod(0o600)
        key.symlink_to(real)
    elif how == "directory":
        key.mkdir()
    else:
        key.parent.rmdir()
        key.parent.write_text("a file where the directory should be\n")
    assert check(env, "--format", "text", str(RFC)) == cold["text"]
    assert _no_entries_written(env)  # neither an answer nor a summary
    doctor = run_patchlint("doctor", "--tree", str(TREE), "mm", env=env)
    assert doctor.returncode == 0 and "cache: off (no usable key: " in doctor.stdout.decode()


def test_a_key_of_another_user_is_not_used(tmp_path, env, cold):
    key = key_file(env)
    key.parent.mkdir(parents=True)
    key.write_bytes(os.urandom(32))
    key.chmod(0o600)
    try:
        os.chown(key, os.geteuid() + 1, -1)
    except PermissionError:
        pytest.skip("only root can give a file to another user")
    assert check(env, "--format", "json", str(RFC)) == cold["json"]
    assert _no_entries_written(env)
