"""The caches never change what a check reports: an entry kept by content names the path that
asked for it, not the one that made it.

Every run goes through the real `patchlint check` in a subprocess, with the cache and the
user's configuration in tmp_path, and is compared with a run that has no cache at all.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from .conftest import TREE, run_patchlint

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
