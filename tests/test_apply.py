"""In-memory apply: git apply's behaviour, line maps, lenient recovery of damaged hunks."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from patchlint.ingest import Input, build_series, read_series
from patchlint.source import apply_series, open_tree
from patchlint.source.tree import DirTree, GitTree

from .conftest import SERIES, TREE, git

BASE = "d3b5b9cbcc324be695cedb33eaf3ef8959fe5520"


def _applied(names, tree=TREE, lenient=False):
    series = read_series([str(SERIES / n) if not Path(n).is_absolute() else n for n in names], lenient=lenient)
    return apply_series(open_tree(str(tree)), series)


def test_three_patches_apply_and_lines_know_their_origin():
    applied = _applied(["three-patches.mbox"])
    assert [r.applied for r in applied.results] == [True, True, True]
    image = applied.image("mm/vmscan.c")
    base = applied.image("mm/vmscan.c", after=0)
    lmap = image.line_map()
    for n, line in enumerate(image.lines, 1):
        origin = lmap.origin(n)
        if origin.patch == 0:
            assert base.lines[origin.base_line - 1] == line
            assert lmap.new_line(origin.base_line) == n
        else:
            patch = applied.series.patches[origin.patch - 1]
            hunk = next(f for f in patch.files if f.path == "mm/vmscan.c").hunks[origin.hunk - 1]
            assert line in hunk.new_lines
    added = [o for o in lmap.origins if o.patch == 3]
    assert added and {o.hunk for o in added} == {1, 2}


def test_untouched_files_read_from_the_tree_and_images_are_per_patch():
    applied = _applied(["three-patches.mbox"])
    assert applied.image("mm/memory.c").lines == applied.image("mm/memory.c", after=0).lines
    before = applied.image("mm/swapfile.c", after=1)
    after = applied.image("mm/swapfile.c", after=2)
    assert before.lines != after.lines
    assert applied.touched() == ["mm/rmap.c", "mm/swapfile.c", "mm/vmscan.c"]


def test_offset_search_places_a_hunk_moved_by_unrelated_lines(tmp_path):
    tree = tmp_path / "linux"
    shutil.copytree(TREE, tree)
    path = tree / "mm" / "filemap.c"
    path.write_text("/* moved */\n" * 7 + path.read_text())
    applied = _applied(["single.patch"], tree=tree)
    (result,) = applied.results
    assert result.applied
    (hunk,) = result.hunks
    assert (hunk.status, hunk.offset) == ("offset", 7)


def test_a_hunk_that_does_not_apply_is_reported_with_file_hunk_and_reason(tmp_path):
    tree = tmp_path / "linux"
    shutil.copytree(TREE, tree)
    path = tree / "mm" / "filemap.c"
    path.write_text(path.read_text().replace("__delete_from_page_cache(page);", "__remove_from_cache(page);"))
    applied = _applied(["single.patch"], tree=tree)
    (result,) = applied.results
    assert not result.applied
    (hunk,) = result.hunks
    assert hunk.status == "failed" and hunk.file == "mm/filemap.c" and hunk.hunk == 1
    assert "__remove_from_cache" in hunk.reason and hunk.header.startswith("@@ -47,6")
    # a failed patch leaves the state untouched
    assert applied.image("mm/filemap.c").lines == applied.image("mm/filemap.c", after=0).lines


def test_whitespace_only_mismatch_is_named(tmp_path):
    tree = tmp_path / "linux"
    shutil.copytree(TREE, tree)
    path = tree / "mm" / "filemap.c"
    path.write_text(path.read_text().replace("\tspin_lock_irq(&mapping->tree_lock);",
                                             "        spin_lock_irq(&mapping->tree_lock);", 1))
    (result,) = _applied(["single.patch"], tree=tree).results
    assert not result.applied and "whitespace" in result.reason


def test_already_applied_patch_is_recognised(tmp_path):
    first = _applied(["single.patch"])
    tree = tmp_path / "linux"
    shutil.copytree(TREE, tree)
    (tree / "mm" / "filemap.c").write_text(first.image("mm/filemap.c").text())
    (result,) = _applied(["single.patch"], tree=tree).results
    assert not result.applied and "already applied" in result.reason


def test_rename_and_delete_change_the_post_image():
    applied = _applied(["rename-delete.mbox"])
    assert applied.results[0].applied
    assert applied.image("Kconfig") is None
    assert applied.image("mm/readahead.c") is None
    moved = applied.image("mm/read_cache.c")
    assert moved is not None and "mm/read_cache.c" in moved.lines[1]
    assert applied.image("mm/readahead.c", after=0) is not None


def test_patch_applies_on_top_of_the_previous_one():
    """Patch 2 of a series sees patch 1's result, not the base."""
    data = (SERIES / "single.patch").read_bytes()
    again = b"""--- a/mm/filemap.c
+++ b/mm/filemap.c
@@ -49,4 +49,5 @@ void delete_from_page_cache(struct page *page)
 \tBUG_ON(!PageLocked(page));
 \tBUG_ON(!mapping);
+\tBUG_ON(!mapping->host);

 \tspin_lock_irq(&mapping->tree_lock);
"""
    series = build_series([Input("1.patch", data), Input("2.patch", again)])
    applied = apply_series(open_tree(str(TREE)), series)
    assert [r.applied for r in applied.results] == [True, True]
    text = applied.image("mm/filemap.c").lines
    assert "\tBUG_ON(!mapping->host);" in text


def test_seed_hunks_are_placed_and_marked_recovered(seed):
    applied = _applied([str(seed)], lenient=True)
    (result,) = applied.results
    assert result.applied
    assert [(h.file, h.hunk, h.status) for h in result.hunks] == [
        ("include/linux/rmap.h", 1, "recovered"), ("mm/memory.c", 1, "recovered"),
        ("mm/rmap.c", 1, "recovered"), ("mm/rmap.c", 2, "recovered"),
    ]
    rmap = applied.image("mm/rmap.c")
    text = "\n".join(rmap.lines)
    assert "propogate_storage_key(struct page *page, bool lock_required)" in text
    assert "void page_remove_rmap_nolock(struct page *page)" in text
    # the removed storage-key branch is gone from page_remove_rmap's body
    assert "page_test_and_clear_dirty(page_to_pfn(page), 1))\n\t\tset_page_dirty(page);" not in text
    memory = "\n".join(applied.image("mm/memory.c").lines)
    assert "page_remove_rmap_nolock(page);" in memory
    assert "\tpage_remove_rmap(page);" not in memory


def test_lenient_recovery_needs_the_removed_lines(seed, tmp_path):
    """Change only the fixture's source: without the removed lines the hunk cannot be placed."""
    tree = tmp_path / "linux"
    shutil.copytree(TREE, tree)
    path = tree / "mm" / "memory.c"
    path.write_text(path.read_text().replace("page_remove_rmap(page);", "page_drop_rmap(page);"))
    applied = _applied([str(seed)], tree=tree, lenient=True)
    (result,) = applied.results
    assert not result.applied
    failed = [h for h in result.hunks if h.status == "failed"]
    assert [(h.file, h.hunk) for h in failed] == [("mm/memory.c", 1)]


def test_git_tree_reads_a_revision_without_touching_the_work_tree(tree_repo):
    assert git(tree_repo, "rev-parse", "HEAD").strip() == BASE
    (tree_repo / "mm" / "filemap.c").write_text("garbage\n")  # uncommitted edit
    tree = open_tree(str(tree_repo))
    assert isinstance(tree, GitTree) and tree.revision == BASE
    applied = apply_series(tree, read_series([str(SERIES / "single.patch")]))
    assert applied.results[0].applied
    assert (tree_repo / "mm" / "filemap.c").read_text() == "garbage\n"
    assert git(tree_repo, "status", "--porcelain").strip() == "M mm/filemap.c"


def test_series_base_commit_is_used_when_the_tree_has_it(tree_repo):
    git(tree_repo, "rm", "-q", "mm/filemap.c")
    git(tree_repo, "commit", "-q", "-m", "drop filemap")
    series = read_series([str(SERIES / "single.patch")])
    assert series.base_commit == BASE
    tree = open_tree(str(tree_repo), None, series.base_commit)
    assert tree.revision == BASE
    assert apply_series(tree, series).results[0].applied
    head = open_tree(str(tree_repo))
    assert head.revision != BASE and not apply_series(head, series).results[0].applied


def test_directory_tree_is_read_lazily():
    tree = open_tree(str(TREE))
    assert isinstance(tree, DirTree)
    assert tree.kernel_version() == "3.0.13"
    apply_series(tree, read_series([str(SERIES / "single.patch")]))
    assert set(tree._cache) == {"Makefile", "mm/filemap.c"}


@pytest.mark.parametrize("name", ["three-patches.mbox", "storage-key-rfc.mbox", "mime-qp.mbox", "attachment.mbox",
                                  "mboxrd-from.mbox", "plain.diff", "rename-delete.mbox"])
def test_every_fixture_series_applies_to_the_fixture_tree(name):
    assert all(r.applied for r in _applied([name]).results)


# --- many hunks, long series (issue 15, item 5): the same answers as the straightforward way ---------

def _mail(n: int, total: int, diff: str) -> str:
    return (f"From {n:040d} Mon Sep 17 00:00:00 2001\nFrom: A <a@example.org>\n"
            f"Date: Sat, 21 Apr 2012 10:00:00 +0100\nSubject: [PATCH {n}/{total}] x\n\nm\n---\n{diff}-- \n2.39\n\n")


def test_many_hunks_with_offsets_are_placed_as_git_apply_places_them(tmp_path):
    """Hunk k's header is off by a different amount each time (lines the tree has and the patch
    did not see); each is placed at the nearest match, reported in the lines of the file the
    earlier hunks changed, and the result is the file with every block changed."""
    tree = tmp_path / "linux"
    shutil.copytree(TREE, tree)
    n = 300
    blocks = []
    for k in range(n):
        blocks += ["/* pad */"] * (k % 3) + [f"/* b{k} */", f"int v{k};", f"/* e{k} */"]
    (tree / "lib" / "many.c").write_text("\n".join(blocks) + "\n")
    hunks = []
    for k in range(n):
        at = 3 * k + 1  # where the block would be without the padding
        hunks.append(f"@@ -{at},3 +{at},4 @@\n /* b{k} */\n-int v{k};\n+long v{k};\n+long w{k};\n /* e{k} */\n")
    diff = "--- a/lib/many.c\n+++ b/lib/many.c\n" + "".join(hunks)
    series = build_series([Input("m.mbox", _mail(1, 1, diff).encode())])
    applied = apply_series(open_tree(str(tree)), series)
    (result,) = applied.results
    assert result.applied
    padding = 0
    for k, h in enumerate(result.hunks):
        padding += k % 3
        assert h.offset == padding
        assert h.line == 3 * k + 1 + padding + k  # the k hunks above each grew the file by one line
        assert h.status == ("applied" if padding == 0 else "offset")
    text = applied.image("lib/many.c").lines
    assert [ln for ln in text if ln.startswith(("int", "long"))] == [
        x for k in range(n) for x in (f"long v{k};", f"long w{k};")]


def test_overlays_hold_the_files_of_the_patches_so_far_made_in_turn_or_not(tmp_path):
    mails = []
    total = 6
    for k in range(1, total + 1):
        # patches 2 and 5 change lib/f1.c again; the others add a file
        if k in (2, 5):
            diff = (f"--- a/lib/f1.c\n+++ b/lib/f1.c\n@@ -1 +1,2 @@\n int a{k - 1 if k == 2 else 2};\n+int a{k};\n")
        else:
            diff = f"--- /dev/null\n+++ b/lib/f{k}.c\n@@ -0,0 +1 @@\n+int a{k};\n"
        mails.append(_mail(k, total, diff))
    series = build_series([Input("s.mbox", "".join(mails).encode())])
    applied = apply_series(open_tree(str(TREE)), series)
    assert all(r.applied for r in applied.results)
    from patchlint.checks.series import overlays
    in_turn = [overlays(applied, k) for k in range(1, total + 1)]
    fresh = apply_series(open_tree(str(TREE)), series)
    out_of_turn = [overlays(fresh, k) for k in (6, 3, 1, 5, 2, 4)]
    for k, (before, after) in zip((6, 3, 1, 5, 2, 4), out_of_turn, strict=True):
        assert (dict(before), dict(after)) == tuple(dict(o) for o in in_turn[k - 1])
    before3, after3 = in_turn[2]
    assert set(after3) == {"lib/f1.c", "lib/f3.c"}  # not f4, f6: later patches' files are the tree's
    assert before3["lib/f3.c"] is None and after3["lib/f3.c"] == b"int a3;\n"
    assert in_turn[4][1]["lib/f1.c"] == b"int a1;\nint a2;\nint a5;\n"


def test_an_index_over_a_chain_of_overlays_answers_as_over_plain_ones(tmp_path):
    from patchlint.checks.series import overlays
    from patchlint.cparse import load_profile
    from patchlint.cparse.cache import SummaryCache
    from patchlint.cparse.index import FunctionIndex

    total = 5
    mails = []
    for k in range(1, total + 1):
        if k == 4:  # patch 4 takes lib/f2.c's function out again
            diff = "--- a/lib/f2.c\n+++ b/lib/f2.c\n@@ -1,2 +1 @@\n-void two(void)\n-{ helper(); }\n+int gone;\n"
        else:
            name = {1: "one", 2: "two", 3: "three", 5: "five"}[k]
            diff = f"--- /dev/null\n+++ b/lib/f{k}.c\n@@ -0,0 +1,2 @@\n+void {name}(void)\n+{{ helper(); }}\n"
        mails.append(_mail(k, total, diff))
    applied = apply_series(open_tree(str(TREE)), build_series([Input("s.mbox", "".join(mails).encode())]))
    profile, cache = load_profile(), SummaryCache(enabled=False)
    for k in range(1, total + 1):
        for overlay in overlays(applied, k):
            chained = FunctionIndex(applied.tree, profile, cache, overlay=overlay)
            plain = FunctionIndex(applied.tree, profile, cache, overlay=dict(overlay))
            for name in ("one", "two", "three", "five", "helper"):
                assert chained._definition_files(name) == plain._definition_files(name), (k, name)
                assert chained.files_naming(name) == plain.files_naming(name), (k, name)
    after4 = FunctionIndex(applied.tree, profile, cache, overlay=overlays(applied, 4)[1])
    assert after4._definition_files("two") == [] and after4._definition_files("three") == ["lib/f3.c"]
    assert "lib/f2.c" not in after4.files_naming("helper")
