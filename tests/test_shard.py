"""Sharded scans: `scan --shard K/N` on fixtures/trees/gadget-6.1, whose findings spread over
five files in four directories, with lock-order inversions whose paths run through two or three
files.
"""

from __future__ import annotations

import hashlib
import json
import os

import pytest

from patchlint.findings import Shard, shard_of

from .conftest import FIXTURES, run_patchlint

GADGET = FIXTURES / "trees" / "gadget-6.1"


def test_two_file_inversions_come_out_once_and_alike(tmp_path):
    """A lock-order inversion's paths run through two files in two shards: it is reported once, in
    the shard of the file it is reported at, and as the unsharded scan reports it."""
    env = {**os.environ, "PATCHLINT_CACHE_DIR": str(tmp_path / "cache")}
    whole = run_patchlint("scan", "--tree", str(GADGET), "--format", "json", "mm", "fs", "kernel", "lib", env=env)
    assert whole.returncode == 0, whole.stderr
    inversions = [f for f in json.loads(whole.stdout)["findings"] if f["kind"] == "lock-order-inversion"]
    spans = [{s["file"] for s in f["trace"]} for f in inversions]
    assert len(inversions) == 2 and all(len(files) >= 2 for files in spans)
    n = 4
    assert all(len({shard_of(p, n) for p in files}) >= 2 for files in spans)  # split between shards
    got: list[dict] = []
    for k in range(1, n + 1):
        proc = run_patchlint("scan", "--tree", str(GADGET), "--format", "json", "--shard", f"{k}/{n}",
                             "mm", "fs", "kernel", "lib", env=env)
        assert proc.returncode == 0, proc.stderr
        doc = json.loads(proc.stdout)
        assert doc["shard"] == {"index": k, "count": n}
        mine = [f for f in doc["findings"] if f["kind"] == "lock-order-inversion"]
        assert all(shard_of(f["file"], n) == k for f in mine)
        got += mine
    assert sorted(got, key=json.dumps) == sorted(inversions, key=json.dumps)


def test_shard_rule_is_the_documented_hash():
    """The rule README states: 1 + (first 8 bytes of SHA-256 of the path, big-endian) mod N; no
    file: shard 1.  Each path is in exactly one shard, whatever other paths there are."""
    paths = [f"mm/f{i}.c" for i in range(200)] + ["fs/ext4/inode.c", "kernel/sched/core.c", "lib/ü.c"]
    for n in (1, 2, 3, 7):
        for p in paths:
            expected = int.from_bytes(hashlib.sha256(p.encode()).digest()[:8], "big") % n + 1
            assert shard_of(p, n) == expected
            assert [Shard(k, n).owns(p) for k in range(1, n + 1)].count(True) == 1
        assert Shard(1, n).owns(None) and not any(Shard(k, n).owns(None) for k in range(2, n + 1))
    # a hash, not a round-robin of a sorted list: every shard of 3 gets about a third of 200 files
    assert all(50 <= sum(shard_of(p, 3) == k for p in paths[:200]) <= 84 for k in (1, 2, 3))


@pytest.mark.parametrize("value,says", [
    ("0/3", "K must be between 1 and N (3)"), ("4/3", "K must be between 1 and N (3)"),
    ("1/0", "N must be between 1 and"), ("3", "is not K/N"), ("a/b", "is not K/N"), ("-1/3", "is not K/N"),
    ("1/99999", "N must be between 1 and"), ("/", "has no K or no N"),
])
def test_bad_shard_is_one_line_exit_2(value, says, tmp_path):
    proc = run_patchlint("scan", "--tree", str(GADGET), f"--shard={value}", "mm",
                         env={**os.environ, "PATCHLINT_CACHE_DIR": str(tmp_path)})
    err = proc.stderr.decode()
    assert proc.returncode == 2 and proc.stdout == b""
    assert err.count("\n") == 1 and err.startswith(f"patchlint: --shard {value}: ") and says in err, err
