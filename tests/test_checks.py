"""Static checks on the fixture tree: every verdict comes from the fixture's code.

Each negative or variant test changes only fixture source (in a temporary
copy) and shows the verdict follow the code.
"""

from __future__ import annotations

import difflib
import os
import shutil
from pathlib import Path

import pytest

from patchlint import analysis
from patchlint.cparse import load_profile
from patchlint.cparse.cache import SummaryCache
from patchlint.cparse.index import FunctionIndex
from patchlint.extract.engine import Engine
from patchlint.extract.reach import LockReach, Lookups
from patchlint.extract.summary import LockSummaries
from patchlint.extract.vocab import load_vocabulary
from patchlint.report.document import finding_dict
from patchlint.source.tree import open_tree
from patchlint.workflow.config import load_config

from .conftest import SERIES, TREE, check_series, git

RFC = SERIES / "storage-key-rfc.mbox"


def _check(*args: str) -> tuple[int, list[dict]]:
    """`patchlint check --no-model` through the library: --tree DIR, then a series file or --range A..B."""
    opts = dict(zip(args[::2], args[1::2], strict=False))
    tree = opts["--tree"]
    if "--range" not in opts:
        report = check_series(tree, [args[-1]])
    else:
        inputs = analysis.load(None, tree=tree, range_=opts["--range"])
        report = analysis.check(inputs, load_config(tree, {"model": False}), cache=SummaryCache(enabled=False))
    return int(report.fails()), [finding_dict(f) for f in report.findings]


def _kinds(findings: list[dict], status: str | None = None) -> set[tuple[str, str | None]]:
    return {(f["kind"], f["function"]) for f in findings if status is None or f["status"] == status}


@pytest.fixture
def rfc_repo(tree_repo: Path) -> Path:
    """The fixture tree in git with the RFC applied as one commit on top of the base."""
    git(tree_repo, "am", "-q", str(RFC))
    return tree_repo


def _amend(repo: Path, path: str, old: str, new: str) -> None:
    f = repo / path
    text = f.read_text()
    assert old in text, f"fixture text not found: {old!r}"
    f.write_text(text.replace(old, new))
    git(repo, "commit", "-q", "-a", "--amend", "--no-edit")


def test_the_rfc_series_gives_the_reviewers_three_facts():
    code, findings = _check("--tree", str(TREE), str(RFC))
    assert code == 1
    new = _kinds(findings, "new")
    assert {("spin-on-trylock", "propogate_storage_key"), ("lock-order-inversion", "propogate_storage_key"),
            ("documented-order", "propogate_storage_key")} <= new
    inversion = next(f for f in findings if f["kind"] == "lock-order-inversion")
    assert inversion["locks"] == ["pte_lock", "page_lock"]
    assert inversion["patch"] == 1 and inversion["file"] == "mm/rmap.c"
    cpus = [(t["cpu"], t["event"]) for t in inversion["trace"]]
    assert cpus == [(0, "lock(pte_lock)"), (1, "trylock(page_lock)"), (1, "lock(pte_lock)"),
                    (0, "spin on trylock(page_lock)")]
    assert {t["function"] for t in inversion["trace"]} >= {"zap_pte_range", "shrink_page_list", "try_to_unmap_one",
                                                           "propogate_storage_key"}
    # the old unlocked set_page_dirty() from the zap path is what the RFC removes
    assert ("unsafe-set-page-dirty", "page_remove_rmap") in _kinds(findings, "fixed")
    # the zap path's own file-page set_page_dirty() is safe: the vma's file pins the mapping
    assert not any(f["function"] == "zap_pte_range" for f in findings)


def test_the_same_trylock_without_a_spin_loop_stays_quiet(rfc_repo: Path):
    _amend(rfc_repo, "mm/rmap.c",
           "\t\t\twhile ((locked = trylock_page(page)) == false) {\n\t\t\t\tcpu_relax();\n"
           "\t\t\t\tif (need_resched())\n\t\t\t\t\tbreak;\n\t\t\t}\n",
           "\t\t\tlocked = trylock_page(page);\n")
    _, findings = _check("--range", "HEAD~1..HEAD", "--tree", str(rfc_repo))
    kinds = {f["kind"] for f in findings if f["status"] == "new"}
    assert not kinds & {"spin-on-trylock", "lock-order-inversion", "documented-order"}


def test_spinning_for_the_page_lock_reclaim_already_holds_is_recursive_locking(rfc_repo: Path):
    """The RFC spins only where it was told the page is not locked (page_remove_rmap_nolock()
    from zap_pte_range()).  Told to spin on reclaim's path too, it waits for the page lock
    shrink_page_list() took on the same page: recursive locking.  Once reclaim unlocks the page
    before unmapping (try_to_unmap() then only asserts it), the spin is on a page nobody on
    that path holds."""
    _, findings = _check("--range", "HEAD~1..HEAD", "--tree", str(rfc_repo))
    assert not [f for f in findings if f["kind"] == "recursive-locking"]
    _amend(rfc_repo, "mm/rmap.c", "\tpropogate_storage_key(page, false);\n", "\tpropogate_storage_key(page, true);\n")
    _, findings = _check("--range", "HEAD~1..HEAD", "--tree", str(rfc_repo))
    found = [f for f in findings if f["kind"] == "recursive-locking"]
    assert [(f["status"], f["function"], f["locks"]) for f in found] == [("new", "propogate_storage_key",
                                                                          ["page_lock"])]
    assert [t["function"] for t in found[0]["trace"]] == ["shrink_page_list", "propogate_storage_key"]
    rfc = git(rfc_repo, "rev-parse", "HEAD").strip()
    git(rfc_repo, "checkout", "-q", "HEAD~1")
    vmscan = rfc_repo / "mm" / "vmscan.c"
    old = "\t\tif (page_mapped(page) && mapping) {"
    text = vmscan.read_text()
    assert old in text
    vmscan.write_text(text.replace(old, "\t\tunlock_page(page);\n" + old, 1))
    git(rfc_repo, "commit", "-q", "-a", "-m", "reclaim: unmap unlocked")
    git(rfc_repo, "cherry-pick", rfc)
    _, findings = _check("--range", "HEAD~1..HEAD", "--tree", str(rfc_repo))
    assert not [f for f in findings if f["kind"] == "recursive-locking"]
    assert ("spin-on-trylock", "propogate_storage_key") in _kinds(findings, "new")  # still a spin under the PTL


def test_sleeping_for_the_page_lock_under_the_ptl_is_sleep_in_atomic(rfc_repo: Path):
    _amend(rfc_repo, "mm/rmap.c",
           "\t\t\twhile ((locked = trylock_page(page)) == false) {\n\t\t\t\tcpu_relax();\n"
           "\t\t\t\tif (need_resched())\n\t\t\t\t\tbreak;\n\t\t\t}\n",
           "\t\t\tlock_page(page);\n\t\t\tlocked = true;\n")
    _, findings = _check("--range", "HEAD~1..HEAD", "--tree", str(rfc_repo))
    sleeps = [f for f in findings if f["kind"] == "sleep-in-atomic" and f["status"] == "new"]
    assert sleeps and sleeps[0]["function"] == "propogate_storage_key" and "pte_lock" in sleeps[0]["locks"]
    # a blocking lock_page() under the PTL is an ordinary acquisition: the inversion is still there
    assert ("lock-order-inversion", "propogate_storage_key") in _kinds(findings, "new")


def test_zap_dirtying_an_anon_page_is_unsafe(tree_repo: Path):
    """Drop the !PageAnon() guard around zap_pte_range's set_page_dirty(): now nothing pins the mapping."""
    memory = tree_repo / "mm" / "memory.c"
    text = memory.read_text()
    assert "if (!PageAnon(page)) {" in text
    memory.write_text(text.replace("if (!PageAnon(page)) {", "if (page) {", 1))
    git(tree_repo, "commit", "-q", "-a", "-m", "mm: dirty every page on zap")
    _, findings = _check("--range", "HEAD~1..HEAD", "--tree", str(tree_repo))
    assert ("unsafe-set-page-dirty", "zap_pte_range") in _kinds(findings, "new")


def test_the_reverse_path_is_found_in_the_tree(tmp_path: Path):
    """The path that takes the locks the other way round comes from the tree: when reclaim drops
    the page lock before unmapping, the inversion no longer names shrink_page_list(); what is left is
    try_to_unmap()'s own assertion that the page is locked.  Without that assertion the RFC's
    unlocked set_page_dirty() on the reclaim side is no longer covered by anyone's page lock."""
    tree = tmp_path / "linux"
    shutil.copytree(TREE, tree)
    vmscan = tree / "mm" / "vmscan.c"
    text = vmscan.read_text()
    old = "\t\tif (page_mapped(page) && mapping) {"
    assert old in text
    vmscan.write_text(text.replace(old, "\t\tunlock_page(page);\n" + old, 1))
    _, findings = _check("--tree", str(tree), str(RFC))
    inversion = next(f for f in findings if f["kind"] == "lock-order-inversion")
    cpu1 = {t["function"] for t in inversion["trace"] if t["cpu"] == 1}
    assert "shrink_page_list" not in cpu1 and "try_to_unmap" in cpu1
    assert ("unsafe-set-page-dirty", "propogate_storage_key") not in _kinds(findings)
    rmap = tree / "mm" / "rmap.c"
    text = rmap.read_text()
    assert "\tBUG_ON(!PageLocked(page));\n" in text
    rmap.write_text(text.replace("\tBUG_ON(!PageLocked(page));\n", ""))
    _, findings = _check("--tree", str(tree), str(RFC))
    assert ("unsafe-set-page-dirty", "propogate_storage_key") in _kinds(findings, "new")


def test_documented_order_is_read_from_the_tree(tmp_path: Path):
    tree = tmp_path / "linux"
    shutil.copytree(TREE, tree)
    rmap = tree / "mm" / "rmap.c"
    text = rmap.read_text()
    assert "Lock ordering in mm" in text
    rmap.write_text(text.replace("Lock ordering in mm", "Locks used in mm", 1))
    _, findings = _check("--tree", str(tree), str(RFC))
    assert ("documented-order", "propogate_storage_key") not in _kinds(findings)
    assert ("lock-order-inversion", "propogate_storage_key") in _kinds(findings, "new")


def _engine(tree: Path) -> tuple[FunctionIndex, Engine]:
    index = FunctionIndex(open_tree(str(tree)), load_profile(), SummaryCache(enabled=False))
    return index, Engine(index)


def _edges(engine: Engine) -> set[tuple[str, str, str]]:
    return {(e.held.cls, e.acquired.cls, e.how) for e in engine.obs.edges.values()}


def test_set_page_dirty_follows_the_trees_operations_table(tmp_path: Path):
    index, engine = _engine(TREE)
    engine.run(index.definitions("unmap_vmas")[0])
    assert ("pte_lock", "mapping->tree_lock", "lock") in _edges(engine)
    tree = tmp_path / "linux"
    shutil.copytree(TREE, tree)
    swap_state = tree / "mm" / "swap_state.c"
    text = swap_state.read_text()
    assert ".set_page_dirty\t= __set_page_dirty_nobuffers," in text
    swap_state.write_text(text.replace(".set_page_dirty\t= __set_page_dirty_nobuffers,",
                                       ".set_page_dirty\t= __set_page_dirty_no_writeback,"))
    examplefs = tree / "fs" / "examplefs" / "file.c"  # the tree's other operations table
    examplefs.write_text(examplefs.read_text().replace("__set_page_dirty_nobuffers", "__set_page_dirty_no_writeback"))
    index2, engine2 = _engine(tree)
    engine2.run(index2.definitions("unmap_vmas")[0])
    assert ("pte_lock", "mapping->tree_lock", "lock") not in {
        e for e in _edges(engine2) if "set_page_dirty" in str(e)} | {
        (e.held.cls, e.acquired.cls, e.how) for e in engine2.obs.edges.values()
        if any(f.function == "set_page_dirty" for f in e.path)}


def test_plain_trylock_adds_no_edge_but_later_locks_order_after_it():
    index, engine = _engine(TREE)
    engine.run(index.definitions("shrink_page_list")[0])
    edges = _edges(engine)
    assert ("page_lock", "pte_lock", "lock") in edges  # held through trylock_page, then the PTL
    assert not any(acquired == "page_lock" for _, acquired, _ in edges)


def test_paths_locks_and_scan_commands():
    from .conftest import run_patchlint

    proc = run_patchlint("paths", "page_remove_rmap", "--tree", str(TREE))
    assert proc.returncode == 0, proc.stderr
    out = proc.stdout.decode()
    assert "zap_pte_range()" in out and "holding: pte_lock" in out
    assert "shrink_page_list()" in out and "page_lock (trylock in shrink_page_list()" in out
    proc = run_patchlint("locks", "--tree", str(TREE), "mm")
    assert proc.returncode == 0 and "page_lock -> pte_lock" in proc.stdout.decode()
    proc = run_patchlint("scan", "--tree", str(TREE), "--format", "json", "mm")
    import json

    kinds = {(f["kind"], f["function"], f["status"]) for f in json.loads(proc.stdout)["findings"]}
    assert ("unsafe-set-page-dirty", "page_remove_rmap", "existing") in kinds
    assert proc.returncode == 0  # fail-on new (the default): a scan's findings are all existing
    assert run_patchlint("scan", "--tree", str(TREE), "--format", "terse", "--fail-on", "any", "mm").returncode == 1
    bad = run_patchlint("paths", "no_such_function", "--tree", str(TREE))
    assert bad.returncode == 2 and bad.stderr.decode().count("\n") == 1


def test_explain_names_the_rule_that_made_each_site_safe():
    from .conftest import run_patchlint

    proc = run_patchlint("check", "--explain", "--tree", str(TREE), str(RFC))
    out = proc.stdout.decode()
    assert proc.returncode == 1
    section = out[out.index("found safe (--explain):"):]
    zap = next(line for line in section.splitlines() if "zap_pte_range():" in line)
    assert "mapping pinned" in zap and "not PageAnon" in zap
    locked = [line for line in section.splitlines() if "propogate_storage_key():" in line and "page lock held" in line]
    assert locked


def test_an_indirect_call_nothing_resolves_stays_visible(tmp_path: Path):
    """Take .set_page_dirty out of every operations table: the call through spd is unknown, and said so."""
    from patchlint.checks.kinds import AnalysisIncomplete
    from patchlint.checks.scope import analyse_scope

    index, _ = _engine(TREE)
    assert not [f for f in AnalysisIncomplete().findings(analyse_scope(index, {"set_page_dirty"}))]
    tree = tmp_path / "linux"
    shutil.copytree(TREE, tree)
    swap_state = tree / "mm" / "swap_state.c"
    text = swap_state.read_text()
    swap_state.write_text(text.replace(".set_page_dirty\t= __set_page_dirty_nobuffers,\n", ""))
    examplefs = tree / "fs" / "examplefs" / "file.c"
    examplefs.write_text(examplefs.read_text().replace(".set_page_dirty\t= __set_page_dirty_nobuffers,\n", ""))
    index2, _ = _engine(tree)
    (finding,) = AnalysisIncomplete().findings(analyse_scope(index2, {"set_page_dirty"}))
    assert finding.function == "set_page_dirty" and "mapping->a_ops->set_page_dirty" in finding.message


def test_a_helper_that_returns_holding_a_lock_is_tied_to_its_result(tmp_path: Path):
    """`locked = grab(...)` then `if (locked) spin_unlock(...)`: the path where the helper did not
    take the lock is not the path that sleeps with it held."""
    tree = tmp_path / "linux"
    shutil.copytree(TREE, tree)
    (tree / "mm" / "grab.c").write_text(
        "static int grab(struct zone *zone)\n{\n\tif (zone_busy(zone))\n\t\treturn 0;\n"
        "\tspin_lock(&zone->lock);\n\treturn 1;\n}\n\n"
        "void drain(struct zone *zone)\n{\n\tint locked = grab(zone);\n\n"
        "\tif (locked)\n\t\tspin_unlock(&zone->lock);\n\tmight_sleep();\n}\n")
    index, engine = _engine(tree)
    engine.run(index.definitions("drain")[0])
    assert not engine.obs.sleeps
    (tree / "mm" / "grab.c").write_text((tree / "mm" / "grab.c").read_text().replace(
        "\tif (locked)\n\t\tspin_unlock(&zone->lock);\n", "\tif (!locked)\n\t\tspin_unlock(&zone->lock);\n"))
    index, engine = _engine(tree)
    engine.run(index.definitions("drain")[0])
    assert [s.what for s in engine.obs.sleeps.values()] == ["might_sleep"]


def test_calls_through_a_local_designated_initializer_are_followed(tmp_path: Path):
    """`struct walk_control wc = { .one = f, };` inside a function, then `wc->one(page)`: the 6.x
    rmap_walk() shape.  Without the initializer line the call is unknown and said to be."""
    tree = tmp_path / "linux"
    shutil.copytree(TREE, tree)
    source = ("struct walk_control {\n\tvoid (*one)(struct page *page);\n};\n\n"
              "static void tag_it(struct page *page)\n{\n\tspin_lock_irq(&swapper_space.tree_lock);\n"
              "\tspin_unlock_irq(&swapper_space.tree_lock);\n}\n\n"
              "static void do_walk(struct page *page, struct walk_control *wc)\n{\n\twc->one(page);\n}\n\n"
              "void walk_locked(struct mm_struct *mm, pmd_t *pmd, unsigned long addr, struct page *page)\n{\n"
              "\tspinlock_t *ptl;\n\tpte_t *pte = pte_offset_map_lock(mm, pmd, addr, &ptl);\n"
              "\tstruct walk_control wc = {\n\t\t.one = tag_it,\n\t};\n\n\tdo_walk(page, &wc);\n"
              "\tpte_unmap_unlock(pte, ptl);\n}\n")
    (tree / "mm" / "walk.c").write_text(source)
    index, engine = _engine(tree)
    engine.run(index.definitions("walk_locked")[0])
    assert ("pte_lock", "mapping->tree_lock", "lock") in _edges(engine)
    (tree / "mm" / "walk.c").write_text(source.replace("\t\t.one = tag_it,\n", ""))
    index, engine = _engine(tree)
    engine.run(index.definitions("walk_locked")[0])
    assert ("pte_lock", "mapping->tree_lock", "lock") not in _edges(engine)
    assert any(u.callee == "wc->one" for u in engine.obs.unresolved.values())


DEEP_RECLAIM = """\
struct walk_control {
	int (*one)(struct page *page, struct mm_struct *mm, pmd_t *pmd);
};

static int take_ptl(struct page *page, struct mm_struct *mm, pmd_t *pmd)
{
	spinlock_t *ptl = pte_lockptr(mm, pmd);

	spin_lock(ptl);
	spin_unlock(ptl);
	return 1;
}

static int count_one(struct page *page, struct mm_struct *mm, pmd_t *pmd)
{
	return page_mapcount(page);
}

static void walk(struct page *page, struct walk_control *wc, struct mm_struct *mm, pmd_t *pmd)
{
	wc->one(page, mm, pmd);
}

static void level3(struct page *page, struct walk_control *wc, struct mm_struct *mm, pmd_t *pmd)
{
	walk(page, wc, mm, pmd);
}

static void level2(struct page *page, struct walk_control *wc, struct mm_struct *mm, pmd_t *pmd)
{
	level3(page, wc, mm, pmd);
}

static void level1(struct page *page, struct walk_control *wc, struct mm_struct *mm, pmd_t *pmd)
{
	level2(page, wc, mm, pmd);
}

int count_mappings(struct page *page, struct mm_struct *mm, pmd_t *pmd)
{
	struct walk_control wc = {
		.one = count_one,
	};

	level1(page, &wc, mm, pmd);
	return 0;
}

void reclaim_deep(struct page *page, struct mm_struct *mm, pmd_t *pmd)
{
	struct walk_control wc = {
		.one = take_ptl,
	};

	if (!trylock_page(page))
		return;
	level1(page, &wc, mm, pmd);
	unlock_page(page);
}
"""


def _reach(tree: Path):
    index, engine = _engine(tree)
    summaries = LockSummaries(index, load_vocabulary(), engine.global_type)
    return index, LockReach(summaries, Lookups(engine.definitions, engine.ops_targets))


def test_the_reverse_search_follows_deep_paths_and_the_callers_initializer(tmp_path: Path):
    """page_lock -> pte_lock five calls down, through `wc->one` that the function holding the page
    lock bound in its own initializer (another caller binds a member that takes nothing).  Binding
    the harmless function there instead removes the dependency: the verdict is the code's."""
    tree = tmp_path / "linux"
    shutil.copytree(TREE, tree)
    (tree / "mm" / "deep.c").write_text(DEEP_RECLAIM)
    index, reach = _reach(tree)
    edge = reach.edge(index.definitions("reclaim_deep")[0], "page_lock", "pte_lock")
    assert edge is not None and edge.how == "lock"
    assert [f.function for f in edge.path] == ["reclaim_deep", "level1", "level2", "level3", "walk", "take_ptl"]
    assert edge.held.function == "reclaim_deep" and edge.acquired.function == "take_ptl"
    assert reach.edge(index.definitions("count_mappings")[0], "page_lock", "pte_lock") is None
    (tree / "mm" / "deep.c").write_text(DEEP_RECLAIM.replace(".one = take_ptl", ".one = count_one"))
    index, reach = _reach(tree)
    assert reach.edge(index.definitions("reclaim_deep")[0], "page_lock", "pte_lock") is None
    assert not reach.budget_hit


def test_lock_summaries_come_from_the_cache_on_a_second_run(tmp_path: Path):
    cache = SummaryCache(tmp_path / "cache")
    index = FunctionIndex(open_tree(str(TREE)), load_profile(), cache)
    engine = Engine(index)
    first = LockSummaries(index, load_vocabulary(), engine.global_type)
    fn = index.definitions("shrink_page_list")[0]
    summary = first.get(fn)
    assert summary is not None and first.built == 1
    assert any(c.target == "try_to_unmap" and "page_lock" in {h.cls for h in c.held} for c in summary.calls)
    first.flush()
    # a second run: its own cache object over the same directory, holding nothing in memory yet
    second = LockSummaries(FunctionIndex(open_tree(str(TREE)), load_profile(), SummaryCache(tmp_path / "cache")),
                           load_vocabulary(), engine.global_type)
    assert second.get(fn) == summary and second.built == 0


KTREE = os.environ.get("PATCHLINT_KERNEL_TREE")


@pytest.mark.skipif(not KTREE, reason="PATCHLINT_KERNEL_TREE is not set (.ci/run sets it to a 6.12 tree)")
def test_a_spin_under_the_ptl_in_real_rmap_is_an_inversion_with_a_real_reverse_path(tmp_path: Path):
    """Linux 6.12: a folio_trylock() retry loop inside folio_referenced_one()'s page-table walk.
    The path that holds the folio lock and then takes a page-table lock is found in the tree,
    however deep (6.x reclaim reaches it through rmap_walk() and rwc->rmap_one)."""
    root = Path(KTREE)
    old = (root / "mm" / "rmap.c").read_text()
    anchor = "\twhile (page_vma_mapped_walk(&pvmw)) {\n\t\taddress = pvmw.address;\n"
    assert anchor in old
    new = old.replace(anchor, anchor + "\n\t\twhile (!folio_trylock(folio))\n\t\t\tcpu_relax();\n"
                      "\t\tfolio_unlock(folio);\n", 1)
    diff = difflib.unified_diff(old.splitlines(True), new.splitlines(True), "a/mm/rmap.c", "b/mm/rmap.c")
    patch = tmp_path / "0001-spin.patch"
    patch.write_text("From: T <t@example.org>\nSubject: [PATCH] mm: rmap: spin\n\nx\n\n"
                     "Signed-off-by: T <t@example.org>\n---\n" + "".join(diff))
    findings = check_series(root, [patch], cache_dir=tmp_path / "cache").findings
    inversion = next(f for f in findings if f.kind == "lock-order-inversion" and f.locks == ("pte_lock", "page_lock"))
    assert inversion.status == "new" and inversion.function == "folio_referenced_one"
    # the caller context comes through the rmap_one member: folio_referenced() set it
    assert "folio_referenced" in inversion.message
    cpu1 = [t for t in inversion.trace if t.cpu == 1]
    assert [t.event for t in cpu1] == ["lock(page_lock)", "lock(pte_lock)"] or \
        [t.event for t in cpu1] == ["trylock(page_lock)", "lock(pte_lock)"]
    assert {"spin-on-trylock", "documented-order"} <= {f.kind for f in findings if f.status == "new"}


IMBALANCE = """\
static struct vm_area_struct *find_vma(struct mm_struct *mm, unsigned long addr)
{
	return mm->mmap;
}

static int vma_usable(struct vm_area_struct *vma)
{
	return vma->vm_start != 0;
}

struct vm_area_struct *lock_and_find(struct mm_struct *mm, unsigned long addr)
{
	struct vm_area_struct *vma;

	mmap_read_lock(mm);
	vma = find_vma(mm, addr);
	if (!vma_usable(vma)) {
		mmap_read_unlock(mm);
		return NULL;
	}
	return vma;
}
"""


def test_lock_imbalance_is_a_lock_kept_on_returns_the_result_does_not_tell_apart(tmp_path: Path):
    """Returning the vma with mmap_lock held and NULL without is a hand-off its callers can
    follow; returning the same kind of value either way is an imbalance."""
    from patchlint.checks.kinds import LockImbalance
    from patchlint.checks.scope import analyse_scope

    tree = tmp_path / "linux"
    shutil.copytree(TREE, tree)

    def kinds(source: str) -> list[tuple[str, tuple[str, ...]]]:
        (tree / "mm" / "imbalance.c").write_text(source)
        index = FunctionIndex(open_tree(str(tree)), load_profile(), SummaryCache(enabled=False))
        scope = analyse_scope(index, {"lock_and_find"})
        return [(f.function, f.locks) for f in LockImbalance().findings(scope)]

    assert kinds(IMBALANCE) == []
    assert kinds(IMBALANCE.replace("\t\treturn NULL;\n", "\t\treturn vma;\n")) == [
        ("lock_and_find", ("mm->mmap_lock",))]


def test_tree_greps_are_kept_under_the_trees_identity(tmp_path: Path, monkeypatch):
    """The same names are grepped for on every check of a tree: the second run reads the answer
    from the cache, and a tree whose files changed is grepped again."""
    tree_dir = tmp_path / "linux"
    shutil.copytree(TREE, tree_dir)
    cache = SummaryCache(tmp_path / "cache")
    first = FunctionIndex(open_tree(str(tree_dir)), load_profile(), cache).files_naming("set_page_dirty")
    assert first

    calls = []
    real = type(open_tree(str(tree_dir))).grep_any

    def counting(self, words, globs=("*.c", "*.h")):
        calls.append(tuple(words))
        return real(self, words, globs)

    monkeypatch.setattr(type(open_tree(str(tree_dir))), "grep_any", counting)
    assert FunctionIndex(open_tree(str(tree_dir)), load_profile(), cache).files_naming("set_page_dirty") == first
    assert calls == []
    (tree_dir / "mm" / "extra.c").write_text("void extra(struct page *page)\n{\n\tset_page_dirty(page);\n}\n")
    again = FunctionIndex(open_tree(str(tree_dir)), load_profile(), cache).files_naming("set_page_dirty")
    assert calls == [("set_page_dirty",)] and "mm/extra.c" in again


def test_paths_into_a_function_only_an_operations_member_calls_follow_the_callers_binding(tmp_path: Path):
    """take_ptl() is never called by name: walk() calls it through wc->one, which reclaim_deep()
    sets to it and count_mappings() sets to something else.  Its call paths come through
    reclaim_deep() only, with the page lock the trylock took."""
    from patchlint.checks.tree import call_paths

    tree = tmp_path / "linux"
    shutil.copytree(TREE, tree)
    (tree / "mm" / "deep.c").write_text(DEEP_RECLAIM)
    index = FunctionIndex(open_tree(str(tree)), load_profile(), SummaryCache(enabled=False))
    paths, _ = call_paths(index, "take_ptl", depth=6)
    assert paths and {p.frames[0].function for p in paths} == {"reclaim_deep"}
    assert all(any(h.cls == "page_lock" for h in p.held) for p in paths)
    # bound to nothing that runs take_ptl(), no path reaches it
    (tree / "mm" / "deep.c").write_text(DEEP_RECLAIM.replace(".one = take_ptl", ".one = count_one"))
    index = FunctionIndex(open_tree(str(tree)), load_profile(), SummaryCache(enabled=False))
    assert call_paths(index, "take_ptl", depth=6)[0] == []


def test_a_patch_to_a_function_only_an_operations_member_calls_is_seen_under_its_binders_locks(tmp_path: Path):
    """check's context for take_ptl(): reclaim_deep() binds wc->one to it and holds the page lock
    down five calls to walk(), so take_ptl() takes the PTL inside the page lock.  The levels in
    between are followed although none of them names take_ptl()."""
    from patchlint.checks.scope import analyse_scope

    tree = tmp_path / "linux"
    shutil.copytree(TREE, tree)

    def edges(source: str) -> set[tuple[str, str, str]]:
        (tree / "mm" / "deep.c").write_text(source)
        index = FunctionIndex(open_tree(str(tree)), load_profile(), SummaryCache(enabled=False))
        scope = analyse_scope(index, {"take_ptl"})
        return {(e.held.cls, e.acquired.cls, e.path[0].function) for e in scope.obs.edges.values()}

    assert ("page_lock", "pte_lock", "reclaim_deep") in edges(DEEP_RECLAIM)
    unlocked = DEEP_RECLAIM.replace("\tif (!trylock_page(page))\n\t\treturn;\n", "").replace(
        "\tunlock_page(page);\n", "")
    assert not any(e[0] == "page_lock" for e in edges(unlocked))


def test_binders_are_read_from_the_patched_text_too(tmp_path: Path):
    """A patch that binds a member to a function in a new place makes that place a caller."""
    tree = tmp_path / "linux"
    shutil.copytree(TREE, tree)
    (tree / "mm" / "deep.c").write_text(DEEP_RECLAIM.replace(".one = take_ptl", ".one = count_one"))
    base = FunctionIndex(open_tree(str(tree)), load_profile(), SummaryCache(enabled=False))
    assert [f.name for f, _ in base.binders("take_ptl")] == []
    overlay = {"mm/deep.c": DEEP_RECLAIM.encode()}
    patched = FunctionIndex(open_tree(str(tree)), load_profile(), SummaryCache(enabled=False), overlay=overlay)
    assert [f.name for f, _ in patched.binders("take_ptl")] == ["reclaim_deep"]


ERROR_RETURN = """\
struct counter {
	spinlock_t lock;
	int n;
};

int bump(struct counter *c, int limit)
{
	spin_lock(&c->lock);
	if (c->n >= limit)
		return -EINVAL;
	c->n++;
	spin_unlock(&c->lock);
	return 0;
}
"""


def test_an_error_return_that_keeps_the_lock_is_an_imbalance(tmp_path: Path):
    """`return -EINVAL` with the lock held beside `return 0` without: the caller cannot tell, and
    it is the commonest unlock bug there is.  Unlocking before the error return fixes it."""
    from patchlint.checks.kinds import LockImbalance
    from patchlint.checks.scope import analyse_scope

    tree = tmp_path / "linux"
    shutil.copytree(TREE, tree)

    def kinds(source: str) -> list[tuple[str, tuple[str, ...]]]:
        (tree / "mm" / "imbalance.c").write_text(source)
        index = FunctionIndex(open_tree(str(tree)), load_profile(), SummaryCache(enabled=False))
        return [(f.function, f.locks) for f in LockImbalance().findings(analyse_scope(index, {"bump"}))]

    assert kinds(ERROR_RETURN) == [("bump", ("counter->lock",))]
    fixed = ERROR_RETURN.replace("\t\treturn -EINVAL;", "\t{\n\t\tspin_unlock(&c->lock);\n\t\treturn -EINVAL;\n\t}")
    fixed = fixed.replace("\tif (c->n >= limit)\n\t{", "\tif (c->n >= limit) {")
    assert kinds(fixed) == []


def test_an_imbalance_shows_where_the_lock_was_taken_and_the_two_returns(tmp_path: Path):
    """The evidence a reader compares: the acquisition, a return that still holds the lock and one
    that does not.  Moving the error return moves the evidence with it."""
    from patchlint.checks.kinds import LockImbalance
    from patchlint.checks.scope import analyse_scope

    tree = tmp_path / "linux"
    shutil.copytree(TREE, tree)

    def evidence(source: str) -> list[tuple[str, int | None]]:
        (tree / "mm" / "imbalance.c").write_text(source)
        index = FunctionIndex(open_tree(str(tree)), load_profile(), SummaryCache(enabled=False))
        (finding,) = LockImbalance().findings(analyse_scope(index, {"bump"}))
        assert finding.line == finding.chain[1].line and finding.file == "mm/imbalance.c"
        return [(step.event, step.line) for step in finding.chain]

    assert evidence(ERROR_RETURN) == [("lock(counter->lock)", 8), ("return holding counter->lock", 10),
                                      ("return without counter->lock", 13)]
    later = ERROR_RETURN.replace("\tif (c->n >= limit)\n\t\treturn -EINVAL;\n\tc->n++;\n",
                                 "\tc->n++;\n\tif (c->n >= limit)\n\t\treturn -EINVAL;\n")
    assert evidence(later) == [("lock(counter->lock)", 8), ("return holding counter->lock", 11),
                               ("return without counter->lock", 13)]


def test_an_imbalances_evidence_comes_from_walks_entered_without_the_lock(tmp_path: Path):
    """bump() is also walked for a caller that holds a counter lock already: at its error return
    it holds two, one of them the caller's, which is not a return "without" the lock."""
    from patchlint.checks.kinds import LockImbalance
    from patchlint.checks.scope import analyse_scope

    tree = tmp_path / "linux"
    shutil.copytree(TREE, tree)
    caller = ERROR_RETURN + "\nvoid bump_both(struct counter *a, struct counter *b)\n{\n\tspin_lock(&a->lock);" \
        "\n\tbump(b, 3);\n\tspin_unlock(&a->lock);\n}\n\nvoid bump_one(struct counter *c)\n{\n\tbump(c, 3);\n}\n"
    (tree / "mm" / "imbalance.c").write_text(caller)
    index = FunctionIndex(open_tree(str(tree)), load_profile(), SummaryCache(enabled=False))
    (finding,) = LockImbalance().findings(analyse_scope(index, {"bump"}))
    assert [(step.event, step.line) for step in finding.chain] == [
        ("lock(counter->lock)", 8), ("return holding counter->lock", 10), ("return without counter->lock", 13)]


def test_a_call_nothing_follows_in_one_file_does_not_silence_a_same_named_function_in_another(
        tree_repo: Path, tmp_path: Path):
    """mm/a.c's static bump() hands its counter to a helper the tree does not define on the error
    path (so whether that path still holds the lock is not known, and a note says so); mm/b.c's
    static bump() leaks its lock on the error return: b.c's is reported, a.c's is not judged."""
    quiet = ERROR_RETURN.replace("int bump(", "static int bump(").replace(
        "\t\treturn -EINVAL;", "\t{\n\t\tarch_flush(c);\n\t\treturn -EINVAL;\n\t}")
    (tree_repo / "mm" / "a.c").write_text(quiet)
    (tree_repo / "mm" / "b.c").write_text(ERROR_RETURN.replace("int bump(", "static int bump("))
    git(tree_repo, "add", "-A")
    git(tree_repo, "commit", "-q", "-m", "mm: two counters")
    patch = tmp_path / "0001.patch"
    patch.write_text(git(tree_repo, "format-patch", "-1", "--stdout"))
    findings = check_series(tree_repo, [patch], base="HEAD~1").findings
    found = [f for f in findings if f.kind == "lock-imbalance"]
    assert [(f.status, f.file) for f in found] == [("new", "mm/b.c")]
    notes = [f for f in findings if f.kind == "analysis-incomplete" and f.function == "bump"]
    assert [(f.file, f.severity) for f in notes] == [("mm/a.c", "check")]
    assert "arch_flush() at line 11" in notes[0].message and "no definition in the tree" in notes[0].message


def test_static_functions_of_one_name_in_two_files_are_two_findings(tree_repo: Path, tmp_path: Path):
    """A series adding the same unlock bug to two files' static bump(): two new findings, not one
    (a finding's identity names the function with its file)."""
    for name in ("a", "b"):
        (tree_repo / "mm" / f"{name}.c").write_text(ERROR_RETURN.replace("int bump(", "static int bump("))
    git(tree_repo, "add", "-A")
    git(tree_repo, "commit", "-q", "-m", "mm: two counters")
    patch = tmp_path / "0001.patch"
    patch.write_text(git(tree_repo, "format-patch", "-1", "--stdout"))
    found = [f for f in check_series(tree_repo, [patch], base="HEAD~1").findings if f.kind == "lock-imbalance"]
    assert sorted((f.status, f.file) for f in found) == [("new", "mm/a.c"), ("new", "mm/b.c")]
    assert len({f.identity for f in found}) == 2


LOCK_CLUSTER = """\
struct cluster {
	spinlock_t lock;
	int lock_ok;
};

static inline void *ERR_PTR(long error)
{
	return (void *)error;
}

static inline bool IS_ERR(const void *ptr)
{
	return (unsigned long)ptr >= (unsigned long)-4095;
}

struct swap_info {
	struct cluster *cluster_info;
};

struct cluster *lock_cluster(struct swap_info *si, unsigned long offset)
{
	struct cluster *ci;

	ci = si->cluster_info;
	if (ci) {
		ci += offset;
		spin_lock(&ci->lock);
	}
	return ci;
}

static struct cluster *lookup_cluster(struct swap_info *si)
{
	return si->cluster_info;
}

struct cluster *find_locked(struct swap_info *si)
{
	struct cluster *ci;

	ci = lookup_cluster(si);
	if (IS_ERR(ci))
		return ci;
	spin_lock(&ci->lock);
	if (!ci->lock_ok) {
		spin_unlock(&ci->lock);
		ci = ERR_PTR(-ENOENT);
	}
	return ci;
}
"""


def test_a_pointer_returned_non_null_with_the_lock_is_a_hand_off_its_caller_can_tell(tmp_path: Path):
    """`return ci;` -- non-NULL with ci->lock held, NULL without, or an ERR_PTR() without: the
    caller tells which by the pointer, as with lock_cluster() and uffd_mfill_lock().  Returning
    something the path did not test is an imbalance again."""
    from patchlint.checks.kinds import LockImbalance
    from patchlint.checks.scope import analyse_scope

    tree = tmp_path / "linux"
    shutil.copytree(TREE, tree)

    def imbalanced(source: str) -> list[str]:
        (tree / "mm" / "cluster.c").write_text(source)
        index = FunctionIndex(open_tree(str(tree)), load_profile(), SummaryCache(enabled=False))
        scope = analyse_scope(index, {"lock_cluster", "find_locked"})
        return sorted(f.function for f in LockImbalance().findings(scope))

    assert imbalanced(LOCK_CLUSTER) == []
    untested = LOCK_CLUSTER.replace("\treturn ci;\n}\n\nstatic", "\treturn si->cluster_info;\n}\n\nstatic")
    assert imbalanced(untested) == ["lock_cluster"]
    assert imbalanced(LOCK_CLUSTER.replace("\t\tci = ERR_PTR(-ENOENT);\n", "")) == ["find_locked"]


def test_a_helper_cut_by_one_roots_allowance_is_walked_for_the_next_root():
    """scan gives each root an allowance: a helper one root could not afford is not remembered
    as doing nothing, so the next root that reaches it sees its locks."""
    index, engine = _engine(TREE)
    engine.run(index.definitions("truncate_inode_page")[0], allowance=1)
    assert engine.obs.budget_hit and engine.obs.cut_roots == ["truncate_inode_page"]
    before = set(_edges(engine))
    engine.run(index.definitions("delete_from_page_cache")[0], allowance=50)
    fresh_index, fresh = _engine(TREE)
    fresh.run(fresh_index.definitions("delete_from_page_cache")[0])
    assert set(_edges(fresh)) <= set(_edges(engine)) | before and _edges(fresh)


def test_call_paths_run_through_callers_that_lock_nothing():
    """__delete_from_page_cache() takes no lock itself; the paths into radix_tree_delete() run
    through it all the same."""
    from patchlint.checks.tree import call_paths

    index = FunctionIndex(open_tree(str(TREE)), load_profile(), SummaryCache(enabled=False))
    paths, _ = call_paths(index, "radix_tree_delete")
    assert paths and any("__delete_from_page_cache" in [f.function for f in p.frames] for p in paths)
