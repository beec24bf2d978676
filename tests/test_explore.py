"""Scenarios explored over the fixture tree: every verdict comes from interpreting its code."""

from __future__ import annotations

import shutil
from pathlib import Path

from patchlint.cparse import load_profile
from patchlint.cparse.cache import SummaryCache
from patchlint.cparse.index import FunctionIndex
from patchlint.explore.explorer import explore, render
from patchlint.explore.scenario import catalog, load
from patchlint.source.tree import open_tree

from .conftest import TREE

SCENARIOS = {p.stem: p for p in catalog()}


def _index(tree: Path = TREE, profile: str = "s390", overlay: dict | None = None) -> FunctionIndex:
    return FunctionIndex(open_tree(str(tree)), load_profile(profile), SummaryCache(enabled=False),
                         overlay=overlay or {})


def test_scenario_files_parse_with_the_c_front_end():
    sc = load(SCENARIOS["zap-vs-reclaim-add"])
    assert sc.name == "zap-vs-reclaim-add" and sc.profile == "s390"
    assert [t[0] for t in sc.threads] == ["P0", "P1"]
    assert sc.threads[0][1].block.body[0].line == 23  # lines are the file's own
    assert "kernel-bug" in sc.exists
    page = sc.state.page("page")
    assert page.mapcount == 0 and page.key_changed == 1 and not page.has("swapcache")


def test_zap_vs_reclaim_reaches_the_radix_tree_bug_with_the_interleaving():
    r = explore(_index(), load(SCENARIOS["zap-vs-reclaim-add"]))
    assert r.complete, r.incomplete
    bug = r.first("kernel-bug")
    assert bug is not None and "BUG_ON(slot == NULL)" in bug.message
    assert bug.site[2] == "__set_page_dirty_nobuffers"
    cpus = {s.cpu for s in bug.trace}
    assert cpus == {0, 1}
    changes = [c for s in bug.trace for c in s.state]
    assert "PG_swapcache 0->1" in changes and "private 0->42" in changes
    assert not any(c.startswith("radix[swapper_space][42]") for c in changes)  # the insert never happened
    assert any(s.function == "page_remove_rmap" for s in bug.trace if s.cpu == 0)
    assert "CPU1" in render(r, bug)


def test_generic_profile_has_no_storage_key_branch_and_no_hazard():
    r = explore(_index(profile="x86_64"), load(SCENARIOS["zap-vs-reclaim-add"]))
    assert r.complete and not r.hazards


def test_swap_aops_that_only_set_pg_dirty_remove_the_bug(tmp_path: Path):
    tree = tmp_path / "linux"
    shutil.copytree(TREE, tree)
    f = tree / "mm" / "swap_state.c"
    text = f.read_text()
    old = ".set_page_dirty\t= __set_page_dirty_nobuffers,"
    assert old in text
    f.write_text(text.replace(old, ".set_page_dirty\t= __set_page_dirty_no_writeback,"))
    r = explore(_index(tree), load(SCENARIOS["zap-vs-reclaim-add"]))
    assert r.complete and not r.hazards


def _rfc_overlay() -> dict[str, bytes]:
    from patchlint.ingest import read_series
    from patchlint.source.apply import apply_series

    from .conftest import SERIES

    applied = apply_series(open_tree(str(TREE)), read_series([str(SERIES / "storage-key-rfc.mbox")]))
    return {p: applied.image(p).text().encode() for p in applied.touched()}


def test_the_rfc_fixes_the_bug_and_brings_a_livelock_and_a_lost_dirty_bit():
    overlay = _rfc_overlay()
    before = {s: explore(_index(), load(SCENARIOS[s])).kinds() for s in SCENARIOS}
    after = {s: explore(_index(overlay=overlay), load(SCENARIOS[s])) for s in SCENARIOS}
    assert "kernel-bug" in before["zap-vs-reclaim-add"]
    assert not any("kernel-bug" in r.kinds() for r in after.values())  # fixed
    assert not any({"livelock", "lost-dirty"} & k for k in before.values())
    live = after["zap-vs-reclaim-add"].first("livelock")
    assert live is not None and live.site[2] == "propogate_storage_key"
    assert "holding ptl" in live.message and "waits for ptl" in live.message
    lost = after["zap-vs-reclaim-swapcache"].first("lost-dirty")
    assert lost is not None and lost.site[2] == "page_test_and_clear_dirty"
    assert any(s.function == "propogate_storage_key" and s.event.startswith("trylock_page") for s in lost.trace)
    assert all(r.complete for r in after.values())


def _copy(tmp_path: Path) -> Path:
    tree = tmp_path / "linux"
    shutil.copytree(TREE, tree)
    return tree


def _edit(path: Path, old: str, new: str) -> None:
    text = path.read_text()
    assert old in text
    path.write_text(text.replace(old, new))


def test_swapcache_removal_is_safe_before_the_rfc_and_loses_the_change_bit_after():
    """__set_page_dirty_nobuffers() re-reads the mapping under tree_lock, the lock reclaim deletes
    the page from the swap cache under: no BUG.  With the RFC the key is consumed before the
    trylock, and the fallback keeps nothing for a page still in the swap cache."""
    sc = load(SCENARIOS["zap-vs-swapcache-removal"])
    before = explore(_index(), sc)
    assert before.complete and not before.hazards
    assert "remove_mapping" not in before.unresolved and "__delete_from_swap_cache" not in before.unresolved
    after = explore(_index(overlay=_rfc_overlay()), sc)
    assert after.complete and after.kinds() == {"lost-dirty"}
    lost = after.first("lost-dirty")
    assert lost.site[2] == "page_test_and_clear_dirty"
    assert any(s.function == "propogate_storage_key" and s.event.startswith("trylock_page") for s in lost.trace)


def test_swapcache_removal_without_the_recheck_under_tree_lock_reaches_the_bug(tmp_path: Path):
    tree = _copy(tmp_path)
    _edit(tree / "mm" / "page-writeback.c", "\tnow = page_mapping(page);\n", "\tnow = mapping;\n")
    r = explore(_index(tree), load(SCENARIOS["zap-vs-swapcache-removal"]))
    bug = r.first("kernel-bug")
    assert r.complete and bug is not None and bug.site[2] == "__set_page_dirty_nobuffers"
    changes = [c for s in bug.trace if s.cpu == 1 for c in s.state]
    assert "radix[swapper_space][42] absent" in changes and "PG_swapcache 1->0" in changes


def test_truncation_reads_the_files_a_ops_from_the_tree_and_the_rfc_spins_against_its_unmap():
    """The zap path dirties a file page through the file's a_ops; truncation unmaps the page with
    it locked (the PTL, in zap_pte_range()), then deletes it under tree_lock, and the tagging path
    re-reads page->mapping under tree_lock: safe.  With the RFC, the zap spins on trylock_page()
    holding the PTL while truncation holds the page lock and waits for the PTL."""
    sc = load(SCENARIOS["zap-vs-truncation"])
    page = sc.state.page("page")
    assert page.mapping.name == "mapping" and sc.state.space("mapping").radix == ((3, "page"),)
    assert dict(sc.aops) == {"mapping": "examplefs_aops"}
    before = explore(_index(), sc)
    after = explore(_index(overlay=_rfc_overlay()), sc)
    assert before.complete and not before.hazards
    assert after.complete and after.kinds() == {"livelock"}
    assert after.first("livelock").site[2] == "propogate_storage_key"
    for r in (before, after):
        assert not any(u.startswith("(") for u in r.unresolved)  # the call through a_ops was followed


def test_truncation_without_tree_lock_reaches_the_bug_only_through_a_tagging_set_page_dirty(tmp_path: Path):
    tree = _copy(tmp_path)
    _edit(tree / "mm" / "filemap.c", "\tspin_lock_irq(&mapping->tree_lock);\n\t__delete_from_page_cache(page);\n"
          "\tspin_unlock_irq(&mapping->tree_lock);\n", "\t__delete_from_page_cache(page);\n")
    sc = load(SCENARIOS["zap-vs-truncation"])
    r = explore(_index(tree), sc)
    bug = r.first("kernel-bug")
    assert r.complete and bug is not None and bug.site[2] == "__set_page_dirty_nobuffers"
    assert "in mapping" in bug.message
    # the same unlocked truncation, with a file system whose set_page_dirty only sets PG_dirty
    _edit(tree / "fs" / "examplefs" / "file.c", "= __set_page_dirty_nobuffers,", "= __set_page_dirty_no_writeback,")
    r = explore(_index(tree), sc)
    assert r.complete and not r.hazards


def test_a_truncated_page_has_no_backing_store_whose_data_could_be_lost(tmp_path: Path):
    """Truncation clears PG_dirty of a page it drops: not lost-dirty.  The same page cleaned
    but left in its file (no deletion) is."""
    tree = _copy(tmp_path)
    _edit(tree / "mm" / "filemap.c", "\tClearPageDirty(page);\n\tdelete_from_page_cache(page);\n",
          "\tClearPageDirty(page);\n")
    r = explore(_index(tree), load(SCENARIOS["zap-vs-truncation"]))
    assert r.complete and r.kinds() == {"lost-dirty"}


def test_a_scenario_applies_where_its_kernels_and_its_calls_fit_the_tree(tmp_path: Path):
    """The fixture tree says VERSION 3, PATCHLEVEL 0: the 3.x family applies, the folio family
    (5.16..) does not, and says why; a scenario calling a function the tree lacks does not
    either; a range that is not one is an error at its line."""
    import pytest

    from patchlint.errors import PatchlintError
    from patchlint.explore.scenario import applies, parse

    index = _index()
    assert applies(load(SCENARIOS["zap-vs-reclaim-add"]), index) is None
    why = applies(load(SCENARIOS["zap-vs-folio-reclaim"]), index)
    assert why == "it is written for kernels 5.16.. and the tree is 3.0"
    body = b"\n\nP0(struct page *page)\n{\n\tno_such_function(page);\n}\n\nexists (deadlock)\n"
    missing = parse(b"C missing\n\n{\n\tkernels = 3.0..3.9;\n}" + body, "missing.litmus")
    assert missing.kernels == ((3, 0), (3, 9))
    assert applies(missing, index) == "the tree has no no_such_function, which its threads call"
    with pytest.raises(PatchlintError) as bad:
        parse(b"C bad\n\n{\n\tprofile = s390;\n\tkernels = 3.x;\n}" + body, "bad.litmus")
    assert bad.value.line == 5 and "kernels" in str(bad.value)
    # the tree's version, not the scenario's file, decides: the same tree called 6.12 takes the folios
    tree = tmp_path / "tree"
    shutil.copytree(TREE, tree)
    (tree / "Makefile").write_text("VERSION = 6\nPATCHLEVEL = 12\n")
    assert applies(load(SCENARIOS["zap-vs-reclaim-add"]), _index(tree)).endswith("the tree is 6.12")


def test_hazards_are_data_the_scenarios_exists_clause_chooses_from(tmp_path: Path, monkeypatch):
    """grammars/hazards.toml says what each hazard is; a scenario reports only those its exists
    clause names; a final-state hazard's meaning is its `when`, and changing only the table
    changes the verdict; the table is data (no calls, no other names)."""
    import pytest

    from patchlint.explore.scenario import parse
    from patchlint.model import hazards as H

    rfc = _index(overlay=_rfc_overlay())
    text = SCENARIOS["zap-vs-swapin-reuse"].read_bytes()
    assert explore(rfc, parse(text, "reuse.litmus")).kinds() == {"lost-dirty"}
    only_bugs = text.replace(b"exists (kernel-bug \\/ deadlock \\/ livelock \\/ lost-dirty \\/ sleep-in-atomic)",
                             b"exists (kernel-bug)")
    assert only_bugs != text
    assert explore(rfc, parse(only_bugs, "reuse.litmus")).kinds() == set()

    table = (Path(__file__).resolve().parent.parent / "grammars" / "hazards.toml").read_text()
    mine = tmp_path / "grammars"
    mine.mkdir()
    monkeypatch.setenv("PATCHLINT_GRAMMARS", str(mine))
    try:
        # a lost change bit that also requires the page to be locked at the end: never, here
        locked = table.replace('and page.mapping != 0"', 'and page.mapping != 0 and page.locked"')
        assert locked != table
        (mine / "hazards.toml").write_text(locked)
        H.hazards.cache_clear()
        assert explore(rfc, parse(text, "reuse.litmus")).kinds() == set()
        final = 'detector = "final"'
        for lines, why in (([final, 'when = "__import__(\'os\').system(\'x\')"'], "not allowed"),
                           ([final, 'when = "page.no_such_field"'], "has no 'no_such_field'"),
                           (['detector = "magic"'], "is not one of")):
            (mine / "hazards.toml").write_text("[odd]\n" + "\n".join(lines) + "\n")
            H.hazards.cache_clear()
            with pytest.raises(H.HazardTableError, match=why):
                H.hazards()
    finally:
        monkeypatch.delenv("PATCHLINT_GRAMMARS")
        H.hazards.cache_clear()
