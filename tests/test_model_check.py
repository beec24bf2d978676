"""The model's findings inside `patchlint check --model`: the seed's three facts, per patch."""

from __future__ import annotations

import json
import os
import shutil

import pytest

from .conftest import ROOT, SERIES, TREE, run_patchlint

RFC = SERIES / "storage-key-rfc.mbox"


def _findings(*args: str) -> list[dict]:
    proc = run_patchlint("check", "--model", "--format", "json", *args)
    assert proc.returncode in (0, 1), proc.stderr.decode()
    return json.loads(proc.stdout)["findings"]


def test_check_with_the_model_gives_the_old_bug_the_livelock_and_the_lost_dirty_bit():
    findings = _findings("--tree", str(TREE), str(RFC))
    model = {(f["status"], f["kind"], f["scenario"]) for f in findings if f["scenario"]}
    assert ("fixed", "kernel-bug", "zap-vs-reclaim-add") in model
    assert ("new", "livelock", "zap-vs-reclaim-add") in model
    assert ("new", "lost-dirty", "zap-vs-reclaim-swapcache") in model
    bug = next(f for f in findings if f["kind"] == "kernel-bug")
    # reported on the line the patch removes that led there (the BUG itself is named)
    assert (bug["file"], bug["function"], bug["site"]["diff"]) == ("mm/rmap.c", "page_remove_rmap", "-")
    assert "in __set_page_dirty_nobuffers() at mm/page-writeback.c:" in bug["message"]
    assert {t["cpu"] for t in bug["trace"]} == {0, 1}  # the interleaving, as CPU columns
    assert any("PG_swapcache 0->1" in s for t in bug["trace"] for s in t["state"])
    livelock = next(f for f in findings if f["kind"] == "livelock")
    assert livelock["function"] == "propogate_storage_key" and livelock["patch"] == 1


def test_the_generic_profile_has_none_of_the_model_hazards():
    findings = _findings("--profile", "x86_64", "--tree", str(TREE), str(RFC))
    assert not [f for f in findings if f["scenario"] and f["kind"] in ("kernel-bug", "livelock", "lost-dirty")]


def test_the_text_report_shows_the_replayed_interleaving():
    proc = run_patchlint("check", "--model", "--tree", str(TREE), str(RFC))
    out = proc.stdout.decode()
    assert proc.returncode == 1
    assert "ERROR:LIVELOCK:" in out and "Replayed interleaving:" in out and "CPU1" in out


def test_replay_prints_the_interleaving_and_its_json_is_the_same_hazards(tmp_path):
    proc = run_patchlint("replay", "zap-vs-reclaim-add", "--tree", str(TREE))
    assert proc.returncode == 1
    out = proc.stdout.decode()
    assert "kernel-bug: radix_tree_tag_set" in out and "CPU0:" in out and "CPU1:" in out
    assert "PG_swapcache 0->1" in out and "grammars/scenarios/zap-vs-reclaim-add.litmus" in out
    assert "/work/" not in out and str(TREE) not in out.split("\n", 2)[2]
    doc = json.loads(run_patchlint("replay", "zap-vs-reclaim-add", "--tree", str(TREE), "--format", "json").stdout)
    assert doc["complete"] and doc["states"] > 0
    assert {f["kind"] for f in doc["findings"]} == {"kernel-bug"}
    after = json.loads(run_patchlint("replay", "zap-vs-reclaim-add", "--tree", str(TREE), "--series", str(RFC),
                                     "--format", "json").stdout)
    assert {f["kind"] for f in after["findings"]} == {"livelock"}
    bad = run_patchlint("replay", "no-such-scenario", "--tree", str(TREE))
    assert bad.returncode == 2 and "zap-vs-reclaim-add" in bad.stderr.decode()


def test_swapin_reuse_race_is_safe_before_the_rfc_and_loses_the_dirty_bit_after():
    """The race the RFC's message names: __set_page_dirty_nobuffers() re-reads the mapping under
    tree_lock, so no BUG; the RFC's fallback drops the change bit when reuse holds the page lock.
    Reuse never waits for the PTL, so the spin ends: no livelock here."""
    before = json.loads(run_patchlint("replay", "zap-vs-swapin-reuse", "--tree", str(TREE), "--format",
                                      "json").stdout)
    after = json.loads(run_patchlint("replay", "zap-vs-swapin-reuse", "--tree", str(TREE), "--series", str(RFC),
                                     "--format", "json").stdout)
    assert before["complete"] and before["findings"] == []
    assert after["complete"] and {f["kind"] for f in after["findings"]} == {"lost-dirty"}


def _user_scenarios(tmp_path, name: str = "my-zap", text: str | None = None):
    d = tmp_path / "scenarios"
    d.mkdir()
    shipped = (ROOT / "grammars" / "scenarios" / "zap-vs-reclaim-add.litmus").read_text()
    (d / f"{name}.litmus").write_text(text if text is not None else shipped.replace("C zap-vs-reclaim-add",
                                                                                    f"C {name}", 1))
    return d


def test_scenarios_directory_adds_a_users_litmus_files_to_check_replay_and_config(tmp_path):
    d = _user_scenarios(tmp_path)
    doc = json.loads(run_patchlint("replay", "my-zap", "--scenarios", str(d), "--tree", str(TREE), "--format",
                                   "json").stdout)
    assert doc["scenario"] == "my-zap" and {f["kind"] for f in doc["findings"]} == {"kernel-bug"}
    findings = _findings("--scenarios", str(d), "--tree", str(TREE), str(RFC))
    assert ("fixed", "kernel-bug", "my-zap") in {(f["status"], f["kind"], f["scenario"]) for f in findings}
    (tmp_path / "tree").mkdir()
    (tmp_path / "tree" / ".patchlint.toml").write_text('model = false\nscenarios = ["../scenarios"]\n')
    out = run_patchlint("config", "--tree", str(tmp_path / "tree")).stdout.decode()
    assert f'scenarios = ["{d}"]' in out and "model = false" in out


def test_a_bad_scenario_file_is_a_one_line_error_naming_the_file_and_line(tmp_path):
    good = (ROOT / "grammars" / "scenarios" / "zap-vs-reclaim-add.litmus").read_text()
    lines = good.splitlines(keepends=True)
    key_line = next(n for n, line in enumerate(lines, 1) if "page.key" in line)
    d = _user_scenarios(tmp_path, "broken", good.replace("C zap-vs-reclaim-add", "C broken", 1)
                        .replace("page.key = changed;", "page.colour = blue;"))
    for args in (("replay", "broken"), ("check", str(RFC))):
        proc = run_patchlint(*args, "--scenarios", str(d), "--tree", str(TREE))
        err = proc.stderr.decode()
        assert proc.returncode == 2 and err.count("\n") == 1, err
        assert f"broken.litmus:{key_line}:" in err and "page.colour" in err
    body_line = next(n for n, line in enumerate(lines, 1) if "try_to_unmap(page" in line)
    (d / "broken.litmus").write_text(good.replace("C zap-vs-reclaim-add", "C broken", 1)
                                     .replace("try_to_unmap(page, TTU_UNMAP);", "try_to_unmap(page TTU_UNMAP;"))
    proc = run_patchlint("replay", "broken", "--scenarios", str(d), "--tree", str(TREE))
    assert proc.returncode == 2 and f"broken.litmus:{body_line}:" in proc.stderr.decode()


def test_a_user_scenario_cannot_take_a_shipped_scenarios_name(tmp_path):
    shipped = (ROOT / "grammars" / "scenarios" / "zap-vs-reclaim-add.litmus").read_text()
    d = _user_scenarios(tmp_path, "copy", shipped)
    proc = run_patchlint("check", "--scenarios", str(d), "--tree", str(TREE), str(RFC))
    assert proc.returncode == 2 and "copy.litmus:1:" in proc.stderr.decode()
    assert "zap-vs-reclaim-add" in proc.stderr.decode()


def test_the_model_runs_by_default_and_no_model_or_the_config_turns_it_off(tmp_path):
    def scenarios(*args: str) -> set[str]:
        proc = run_patchlint("check", "--format", "json", *args, str(RFC))
        assert proc.returncode in (0, 1), proc.stderr.decode()
        return {f["scenario"] for f in json.loads(proc.stdout)["findings"] if f["scenario"]}

    assert not scenarios("--no-model", "--tree", str(TREE))
    tree = tmp_path / "linux"
    shutil.copytree(TREE, tree)
    (tree / ".patchlint.toml").write_text("model = false\n")
    assert not scenarios("--tree", str(tree))
    assert "zap-vs-reclaim-add" in scenarios("--model", "--tree", str(tree))  # the command line wins


def _applied(patch_text: str | None = None, tmp_path=None):
    from patchlint.ingest import read_series
    from patchlint.source.apply import apply_series
    from patchlint.source.tree import open_tree

    series = RFC
    if patch_text is not None:
        series = tmp_path / "0001-test.patch"
        series.write_text(patch_text)
    return apply_series(open_tree(str(TREE)), read_series([str(series)]))


def test_a_run_cut_short_is_analysis_incomplete_and_claims_nothing_fixed():
    from patchlint.cparse import load_profile
    from patchlint.cparse.cache import SummaryCache
    from patchlint.explore.series import model_findings

    cache = SummaryCache(enabled=False)  # a complete result kept from an earlier run would stand
    findings = model_findings(_applied(), profile=load_profile("s390"), cache=cache, max_seconds=0.0)
    assert findings and {f.kind for f in findings} == {"analysis-incomplete"}
    assert all(f.status == "existing" and f.scenario for f in findings)  # before and after alike
    findings = model_findings(_applied(), profile=load_profile("s390"), cache=cache, total_seconds=0.0)
    assert {f.kind for f in findings} == {"analysis-incomplete"} and "not replayed" in findings[0].message


def test_a_call_the_patch_adds_that_the_model_cannot_follow_is_listed_and_new(tmp_path):
    import difflib

    from patchlint.cparse import load_profile
    from patchlint.explore.series import model_findings

    old = (TREE / "mm" / "rmap.c").read_text()
    anchor = "\tif (!atomic_add_negative(-1, &page->_mapcount))\n\t\treturn;\n"
    assert anchor in old
    new = old.replace(anchor, anchor + "\tfrob_page_state(page);\n", 1)
    diff = "".join(difflib.unified_diff(old.splitlines(True), new.splitlines(True), "a/mm/rmap.c", "b/mm/rmap.c"))
    text = ("From: T <t@example.org>\nSubject: [PATCH] mm: rmap: frob\n\nx\n\nSigned-off-by: T <t@example.org>\n"
            "---\n" + diff)
    notes: list = []
    findings = model_findings(_applied(text, tmp_path), profile=load_profile("s390"), notes=notes)
    brought = [f for f in findings if f.kind == "analysis-incomplete"]
    assert brought and all(f.status == "new" and "frob_page_state" in f.message for f in brought)
    assert any("frob_page_state" in n.message and n.source.endswith(".litmus") for n in notes)
    # the BUG is still met after the patch: existing, not claimed fixed
    assert ("existing", "kernel-bug") in {(f.status, f.kind) for f in findings}


def test_complete_results_are_cached_by_tree_overlay_scenario_and_code(tmp_path):
    from patchlint.cparse import load_profile
    from patchlint.cparse.cache import SummaryCache
    from patchlint.explore.series import model_findings

    cache = SummaryCache(tmp_path / "cache")
    first = model_findings(_applied(), profile=load_profile("s390"), cache=cache)
    assert list((tmp_path / "cache").rglob("model-*.pickle"))
    again = model_findings(_applied(), profile=load_profile("s390"), cache=cache, max_seconds=0.0)
    assert again == first  # served from the cache: no budget needed, the same findings and traces


KTREE = os.environ.get("PATCHLINT_KERNEL_TREE")


def _zap_anon_patch(tmp_path, root, name: str, replacement: str):
    """A patch to Linux 6.12's zap_present_folio_ptes(), in its anon branch, under the PTL."""
    import difflib

    from patchlint.ingest import read_series
    from patchlint.source.apply import apply_series
    from patchlint.source.tree import open_tree

    old = (root / "mm" / "memory.c").read_text()
    anchor = "\t\tclear_full_ptes(mm, addr, pte, nr, tlb->fullmm);\n"
    assert old.count(anchor) == 1
    new = old.replace(anchor, replacement)
    diff = difflib.unified_diff(old.splitlines(True), new.splitlines(True), "a/mm/memory.c", "b/mm/memory.c")
    patch = tmp_path / f"{name}.patch"
    patch.write_text(f"From: T <t@example.org>\nSubject: [PATCH] mm: {name}\n\nx\n\n"
                     "Signed-off-by: T <t@example.org>\n---\n" + "".join(diff))
    return apply_series(open_tree(str(root)), read_series([str(patch)]))


@pytest.mark.skipif(not KTREE, reason="PATCHLINT_KERNEL_TREE is not set (.ci/run sets it to a 6.12 tree)")
def test_on_6_12_the_model_finds_a_folio_lock_under_the_ptl_and_a_spin_on_folio_trylock(tmp_path):
    """Linux 6.12's own zap (zap_pte_range() -> zap_present_ptes() -> zap_present_folio_ptes()) and
    reclaim (add_to_swap(), try_to_unmap() -> rmap_walk() -> try_to_unmap_one() ->
    page_vma_mapped_walk()): a patch that only touches the zap path gets no model hazard; one that
    takes folio_lock() under the PTL is a deadlock against reclaim, and one that spins on
    folio_trylock() there a livelock, each with the interleaving of the tree's functions."""
    from pathlib import Path

    from patchlint.cparse import load_profile
    from patchlint.cparse.cache import SummaryCache
    from patchlint.explore.series import model_findings

    root = Path(KTREE)
    clear = "\t\tclear_full_ptes(mm, addr, pte, nr, tlb->fullmm);\n"

    def run(name: str, replacement: str) -> list:
        applied = _zap_anon_patch(tmp_path, root, name, replacement)
        return model_findings(applied, profile=load_profile("s390"), cache=SummaryCache(tmp_path / "cache"))

    touched = run("touch", "\t\t/* anon */\n" + clear)
    assert not [f for f in touched if f.kind in ("deadlock", "livelock", "kernel-bug", "lost-dirty")]
    # every folio scenario completes within the check's budget, truncation's 12-call unmap walk too
    assert not [f.scenario for f in touched if f.kind == "analysis-incomplete"]

    locked = run("lock", "\t\tfolio_lock(folio);\n" + clear + "\t\tfolio_unlock(folio);\n")
    dead = [f for f in locked if f.kind == "deadlock" and f.status == "new"]
    # both reclaim scenarios deadlock at the same place: one finding naming them
    assert {s for f in dead for s in f.scenarios} == {"zap-vs-folio-reclaim", "zap-vs-folio-reclaim-swapcache"}
    dead.sort(key=lambda f: "zap-vs-folio-reclaim" not in f.scenarios)
    steps = {(t.cpu, t.function) for t in dead[0].trace}
    assert dead[0].function == "zap_present_folio_ptes"  # where P0 blocks, in folio_lock()
    assert (0, "zap_pte_range") in steps
    # reclaim's side runs the tree's own rmap walk (of the two scenarios' traces the shorter is kept)
    assert any(cpu == 1 and fn in ("add_to_swap", "folio_lock_anon_vma_read") for cpu, fn in steps), steps
    assert "P1 waits for ptl held by P0 in try_to_unmap_one()" in dead[0].message

    spun = run("spin", "\t\twhile (!folio_trylock(folio))\n\t\t\tcpu_relax();\n" + clear +
               "\t\tfolio_unlock(folio);\n")
    live = [f for f in spun if f.kind == "livelock" and f.status == "new"]
    assert live and live[0].function == "zap_present_folio_ptes"
    assert not [f for f in spun if f.kind == "deadlock"]


def test_a_patch_to_the_set_page_dirty_an_operations_table_points_at_is_replayed(tmp_path):
    """zap reaches __set_page_dirty_nobuffers() only through mapping->a_ops->set_page_dirty: a
    patch that drops its re-read of the mapping under tree_lock selects the zap scenarios, and
    the swap-cache removal and truncation races become new BUGs."""
    import difflib

    from patchlint.cparse import load_profile
    from patchlint.cparse.cache import SummaryCache
    from patchlint.explore.series import model_findings

    old = (TREE / "mm" / "page-writeback.c").read_text()
    new = old.replace("\tnow = page_mapping(page);\n", "\tnow = mapping;\n", 1)
    assert new != old
    diff = "".join(difflib.unified_diff(old.splitlines(True), new.splitlines(True), "a/mm/page-writeback.c",
                                        "b/mm/page-writeback.c"))
    text = ("From: T <t@example.org>\nSubject: [PATCH] mm: trust the mapping\n\nx\n\n"
            "Signed-off-by: T <t@example.org>\n---\n" + diff)
    findings = model_findings(_applied(text, tmp_path), profile=load_profile("s390"),
                              cache=SummaryCache(enabled=False))
    new_bugs = {f.scenario for f in findings if f.kind == "kernel-bug" and f.status == "new"}
    assert {"zap-vs-swapcache-removal", "zap-vs-truncation"} <= new_bugs
    assert all(f.function == "__set_page_dirty_nobuffers" for f in findings if f.kind == "kernel-bug")


def test_the_cached_call_graph_gives_the_same_selection_as_a_fresh_one(tmp_path):
    """The call graph learnt from one series is reused for the next; a function the next
    series changes is read again, so the patched call to frob_page_state() is still seen."""
    import difflib

    from patchlint.cparse import load_profile
    from patchlint.cparse.cache import SummaryCache
    from patchlint.explore.series import model_findings

    old = (TREE / "mm" / "page-writeback.c").read_text()
    new = old.replace("\tif (TestSetPageDirty(page))\n\t\treturn 0;\n",
                      "\tif (TestSetPageDirty(page))\n\t\treturn 0;\n\tfrob_page_state(page);\n", 1)
    assert new != old
    diff = "".join(difflib.unified_diff(old.splitlines(True), new.splitlines(True), "a/mm/page-writeback.c",
                                        "b/mm/page-writeback.c"))
    text = ("From: T <t@example.org>\nSubject: [PATCH] mm: frob\n\nx\n\nSigned-off-by: T <t@example.org>\n"
            "---\n" + diff)
    cache = SummaryCache(tmp_path / "cache")
    model_findings(_applied(), profile=load_profile("s390"), cache=cache)  # learns the tree's call graph
    assert list((tmp_path / "cache").rglob("reach-*.pickle"))
    cached = model_findings(_applied(text, tmp_path), profile=load_profile("s390"), cache=cache)
    fresh = model_findings(_applied(text, tmp_path), profile=load_profile("s390"), cache=SummaryCache(enabled=False))
    assert cached == fresh
    assert any(f.kind == "analysis-incomplete" and f.status == "new" and "frob_page_state" in f.message
               for f in cached)


def test_a_patch_that_only_changes_an_operations_table_entry_is_replayed(tmp_path):
    """The upstream fix of the seed's BUG changes one designated initializer (swap_aops'
    .set_page_dirty) and no function body: the scenarios that reach .set_page_dirty through a
    pointer are replayed, and the BUG is fixed."""
    import difflib

    from patchlint.cparse import load_profile
    from patchlint.cparse.cache import SummaryCache
    from patchlint.explore.series import model_findings

    old = (TREE / "mm" / "swap_state.c").read_text()
    new = old.replace("\t.set_page_dirty\t= __set_page_dirty_nobuffers,\n",
                      "\t.set_page_dirty\t= __set_page_dirty_no_writeback,\n", 1)
    assert new != old

    def patch(a: str, b: str) -> str:
        diff = "".join(difflib.unified_diff(a.splitlines(True), b.splitlines(True), "a/mm/swap_state.c",
                                            "b/mm/swap_state.c"))
        return ("From: T <t@example.org>\nSubject: [PATCH] mm: swap_aops\n\nx\n\n"
                "Signed-off-by: T <t@example.org>\n---\n" + diff)

    fixed = model_findings(_applied(patch(old, new), tmp_path), profile=load_profile("s390"),
                           cache=SummaryCache(None))
    model = {(f.status, f.kind, f.scenario) for f in fixed if f.scenario}
    assert ("fixed", "kernel-bug", "zap-vs-reclaim-add") in model
    assert not [f for f in fixed if f.status == "new"]


def test_replay_of_a_scenario_written_for_other_kernels_is_one_line_saying_why():
    proc = run_patchlint("replay", "zap-vs-folio-reclaim", "--tree", str(TREE))
    err = proc.stderr.decode()
    assert proc.returncode == 2 and err.count("\n") == 1, err
    assert "does not apply to this tree: it is written for kernels 5.16.. and the tree is 3.0" in err
