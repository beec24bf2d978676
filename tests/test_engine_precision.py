"""Where a lock is no longer held, the walk must know it: releases in helpers the walk does
not enter, through a parameter, behind a pointer that is NULL when nothing was taken, through
an out-parameter; and a helper that returns holding a lock only on returns its caller cannot
tell apart does not put the caller's later calls under it.

Each test runs the engine over a small file written into a copy of the fixture tree, then
changes only that file and shows the verdict follow the code.
"""

from __future__ import annotations

import shutil
from pathlib import Path

from patchlint.cparse import load_profile
from patchlint.cparse.cache import SummaryCache
from patchlint.cparse.index import FunctionIndex
from patchlint.extract.engine import Engine
from patchlint.source.tree import open_tree

from .conftest import TREE


def _walked(tmp_path: Path, source: str, root: str, max_depth: int = 6) -> Engine:
    """The engine after walking `root`, with `source` as mm/precision.c of a copy of the fixture."""
    tree = tmp_path / "linux"
    if not tree.exists():
        shutil.copytree(TREE, tree)
    (tree / "mm" / "precision.c").write_text(source)
    index = FunctionIndex(open_tree(str(tree)), load_profile(), SummaryCache(enabled=False))
    engine = Engine(index, max_depth=max_depth)
    engine.run(index.definitions(root)[0])
    return engine


def _sleeps(tmp_path: Path, source: str, root: str, max_depth: int = 6) -> set[tuple[str, str, tuple[str, ...]]]:
    engine = _walked(tmp_path, source, root, max_depth)
    return {(s.site.function, s.what, tuple(h.cls for h in s.atomic)) for s in engine.obs.sleeps.values()}


DROP_IN_HELPER = """\
static void drop_ptl(spinlock_t *ptl)
{
	spin_unlock(ptl);
}

void scan_then_sleep(struct mm_struct *mm, pmd_t *pmd)
{
	spinlock_t *ptl = pte_lockptr(mm, pmd);

	spin_lock(ptl);
	drop_ptl(ptl);
	cond_resched();
}
"""


def test_a_helper_releasing_the_lock_through_its_parameter_releases_the_callers_lock(tmp_path: Path):
    assert _sleeps(tmp_path, DROP_IN_HELPER, "scan_then_sleep") == set()
    kept = DROP_IN_HELPER.replace("\tspin_unlock(ptl);\n", "\tcpu_relax();\n")
    assert _sleeps(tmp_path, kept, "scan_then_sleep") == {("scan_then_sleep", "cond_resched", ("pte_lock",))}


def test_a_helper_beyond_the_depth_bound_still_releases_what_its_summary_says(tmp_path: Path):
    """At max_depth 0 no callee is walked: the release comes from drop_ptl()'s lock summary."""
    assert _sleeps(tmp_path, DROP_IN_HELPER, "scan_then_sleep", max_depth=0) == set()
    kept = DROP_IN_HELPER.replace("\tspin_unlock(ptl);\n", "\tcpu_relax();\n")
    assert _sleeps(tmp_path, kept, "scan_then_sleep", max_depth=0) == {
        ("scan_then_sleep", "cond_resched", ("pte_lock",))}


NULL_WHEN_UNLOCKED = """\
struct kmem_node {
	spinlock_t list_lock;
};

void free_to_node(struct kmem_node *node, struct page *page)
{
	struct kmem_node *n = NULL;

	if (page_count(page) > 1) {
		n = node;
		spin_lock(&n->list_lock);
	}
	if (!n) {
		cond_resched();
		return;
	}
	spin_unlock(&n->list_lock);
}
"""


def test_a_pointer_that_is_null_when_the_lock_was_not_taken_says_the_lock_is_not_held(tmp_path: Path):
    """`spin_lock(&n->list_lock)` makes n non-NULL on that path: where `!n`, nothing is held."""
    assert _sleeps(tmp_path, NULL_WHEN_UNLOCKED, "free_to_node") == set()
    # tested on something that says nothing about the lock: the locked path may reach the sleep
    other = NULL_WHEN_UNLOCKED.replace("\tif (!n) {", "\tif (!page_mapped(page)) {")
    assert ("free_to_node", "cond_resched", ("kmem_node->list_lock",)) in _sleeps(tmp_path, other, "free_to_node")


RELOCK = """\
struct lruvec {
	spinlock_t lru_lock;
};

static struct lruvec *lock_lruvec(struct page *page)
{
	struct lruvec *lruvec = page_lruvec(page);

	spin_lock_irq(&lruvec->lru_lock);
	return lruvec;
}

static void relock_lruvec(struct page *page, struct lruvec **lruvecp)
{
	*lruvecp = lock_lruvec(page);
}

void move_pages_to_lru(struct page **pages, int nr)
{
	struct lruvec *lruvec = NULL;
	int i;

	for (i = 0; i < nr; i++) {
		if (page_count(pages[i]) > 1)
			relock_lruvec(pages[i], &lruvec);
	}
	if (lruvec)
		spin_unlock_irq(&lruvec->lru_lock);
	cond_resched();
}
"""


def test_a_lock_handed_back_through_an_out_parameter_is_released_where_the_pointer_is_tested(tmp_path: Path):
    assert _sleeps(tmp_path, RELOCK, "move_pages_to_lru") == set()
    forgotten = RELOCK.replace("\tif (lruvec)\n\t\tspin_unlock_irq(&lruvec->lru_lock);\n", "")
    assert ("move_pages_to_lru", "cond_resched", ("lruvec->lru_lock",)) in \
        _sleeps(tmp_path, forgotten, "move_pages_to_lru")


HAND_OFF = """\
#define UNMAP_DONE 1

static int unmap_one(struct page *page, struct mm_struct *mm, pmd_t *pmd)
{
	spinlock_t *ptl = pte_lockptr(mm, pmd);

	spin_lock(ptl);
	if (page_mapped(page))
		return UNMAP_DONE;
	spin_unlock(ptl);
	return -EAGAIN;
}

void unmap_batch(struct page *page, struct mm_struct *mm, pmd_t *pmd)
{
	unmap_one(page, mm, pmd);
	cond_resched();
}
"""


def test_a_lock_returned_on_returns_the_caller_cannot_tell_apart_is_not_passed_up(tmp_path: Path):
    """unmap_one() returns with the PTL held on one return and not on another, both returning a
    value the walk cannot compare: the caller is not assumed to hold it.  Held on every return,
    it is (a lock helper)."""
    assert _sleeps(tmp_path, HAND_OFF, "unmap_batch") == set()
    helper = HAND_OFF.replace("\tspin_unlock(ptl);\n\treturn -EAGAIN;", "\treturn -EAGAIN;")
    assert ("unmap_batch", "cond_resched", ("pte_lock",)) in _sleeps(tmp_path, helper, "unmap_batch")


UNLOCK_BY_POINTER_HELPER = """\
void scan_range(struct mm_struct *mm, pmd_t *pmd)
{
	spin_lock(pte_lockptr(mm, pmd));
	cpu_relax();
	spin_unlock(pte_lockptr(mm, pmd));
	cond_resched();
}
"""


def test_a_lock_named_by_a_lock_pointer_call_is_the_same_lock_taken_and_dropped(tmp_path: Path):
    assert _sleeps(tmp_path, UNLOCK_BY_POINTER_HELPER, "scan_range") == set()
    kept = UNLOCK_BY_POINTER_HELPER.replace("\tspin_unlock(pte_lockptr(mm, pmd));\n", "")
    assert ("scan_range", "cond_resched", ("pte_lock",)) in _sleeps(tmp_path, kept, "scan_range")


RETURNED_LOCK = """\
static spinlock_t *lock_pmd(struct mm_struct *mm, pmd_t *pmd)
{
	spinlock_t *ptl = pmd_lockptr(mm, pmd);

	spin_lock(ptl);
	return ptl;
}

void install_table(struct mm_struct *mm, pmd_t *pmd)
{
	spinlock_t *ptl = lock_pmd(mm, pmd);

	cpu_relax();
	spin_unlock(ptl);
	cond_resched();
}
"""


def test_a_lock_pointer_a_helper_returns_is_the_lock_it_took(tmp_path: Path):
    """`ptl = pmd_lock(mm, pmd); ... spin_unlock(ptl);` releases what pmd_lock() took."""
    assert _sleeps(tmp_path, RETURNED_LOCK, "install_table") == set()
    kept = RETURNED_LOCK.replace("\tspin_unlock(ptl);\n\tcond_resched();", "\tcond_resched();")
    assert ("install_table", "cond_resched", ("pte_lock",)) in _sleeps(tmp_path, kept, "install_table")


TABLE_WALK = """\
struct walk_args {
	pte_t *ptep;
};

void check_table(struct mm_struct *mm, pmd_t *pmd, unsigned long addr)
{
	struct walk_args args;
	spinlock_t *ptl = NULL;

	args.ptep = pte_offset_map_lock(mm, pmd, addr, &ptl);
	if (args.ptep)
		pte_unmap_unlock(args.ptep, ptl);
	ptl = pmd_lock(mm, pmd);
	cpu_relax();
	spin_unlock(ptl);
	cond_resched();
}
"""


def test_a_page_table_lock_is_not_held_where_the_mapping_failed_or_after_its_pointer_dropped_it(tmp_path: Path):
    """6.x pte_offset_map_lock() returns NULL without the lock, here into a struct member;
    pmd_lock() returns the lock it took."""
    assert _sleeps(tmp_path, TABLE_WALK, "check_table") == set()
    tested_elsewhere = TABLE_WALK.replace("\tif (args.ptep)\n", "\tif (addr)\n")
    assert ("check_table", "cond_resched", ("pte_lock",)) in _sleeps(tmp_path, tested_elsewhere, "check_table")
    kept = TABLE_WALK.replace("\tspin_unlock(ptl);\n\tcond_resched();", "\tcond_resched();")
    assert ("check_table", "cond_resched", ("pte_lock",)) in _sleeps(tmp_path, kept, "check_table")


KILLABLE = """\
int populate(struct mm_struct *mm)
{
	if (mmap_read_lock_killable(mm))
		return -EINTR;
	cpu_relax();
	mmap_read_unlock(mm);
	return 0;
}

void fault_in(struct mm_struct *mm, pmd_t *pmd)
{
	spinlock_t *ptl = pte_lockptr(mm, pmd);
	int err;

	err = populate(mm);
	if (err)
		return;
	spin_lock(ptl);
	spin_unlock(ptl);
}
"""


def test_a_killable_lock_is_held_only_where_it_returned_zero(tmp_path: Path):
    """populate() is balanced: the -EINTR return holds nothing.  And the wait is a sleep and
    an acquisition whatever it returns."""
    engine = _walked(tmp_path, KILLABLE, "fault_in")
    returns = [x.variant for x in engine.obs.returns if x.function.name == "populate"]
    assert returns and all(not v.holds("mm->mmap_lock") for v in returns)
    assert not any(e.held.cls == "mm->mmap_lock" for e in engine.obs.edges.values())
    # the unlock gone: the lock stays held on the 0 return only, and the caller's PTL nests in it
    engine = _walked(tmp_path, KILLABLE.replace("\tmmap_read_unlock(mm);\n", ""), "fault_in")
    held = [x.variant.holds("mm->mmap_lock") for x in engine.obs.returns if x.function.name == "populate"]
    assert True in held and False in held
    assert ("mm->mmap_lock", "pte_lock") in {(e.held.cls, e.acquired.cls) for e in engine.obs.edges.values()}


OUT_LOCK = """\
void zap_range(struct mm_struct *mm, pmd_t *pmd, unsigned long addr)
{
	spinlock_t *ptl;
	pte_t *pte = pte_offset_map_lock(mm, pmd, addr, &ptl);

	if (!pte)
		return;
	cpu_relax();
	spin_unlock(ptl);
	cond_resched();
}
"""


def test_the_lock_pointer_a_primitive_stores_through_its_argument_is_the_lock_it_took(tmp_path: Path):
    assert _sleeps(tmp_path, OUT_LOCK, "zap_range") == set()
    kept = OUT_LOCK.replace("\tspin_unlock(ptl);\n", "")
    assert ("zap_range", "cond_resched", ("pte_lock",)) in _sleeps(tmp_path, kept, "zap_range")


XA_HANDLE = """\
void store_entry(struct address_space *mapping, unsigned long index, void *entry)
{
	XA_STATE(xas, &mapping->i_pages, index);

	xas_lock_irq(&xas);
	xas_store(&xas, entry);
	xas_unlock_irq(&xas);
	spin_lock_irq(&mapping->tree_lock);
	spin_unlock_irq(&mapping->tree_lock);
}
"""


def test_an_xarray_state_takes_the_lock_of_the_array_it_was_declared_on(tmp_path: Path):
    def edges(source: str) -> set[tuple[str, str]]:
        return {(e.held.cls, e.acquired.cls) for e in _walked(tmp_path, source, "store_entry").obs.edges.values()}

    assert edges(XA_HANDLE) == set()  # taken and dropped before the tree_lock
    unlock = "\tspin_unlock_irq(&mapping->tree_lock);\n"
    nested = XA_HANDLE.replace("\txas_unlock_irq(&xas);\n", "").replace(unlock, unlock + "\txas_unlock_irq(&xas);\n")
    assert ("mapping->i_pages", "mapping->tree_lock") in edges(nested)


def _dirties(tmp_path: Path, source: str, root: str) -> set[tuple[str, bool]]:
    return {(d.site.function, d.safe) for d in _walked(tmp_path, source, root).obs.dirties}


ONE_PATH_LOCKED = """\
static int count_refs(struct page *page)
{
	return page_count(page);
}

void dirty_if_locked(struct page *page)
{
	int locked = trylock_page(page);

	count_refs(page);
	if (locked) {
		set_page_dirty(page);
		unlock_page(page);
	}
}
"""


def test_a_callee_is_compared_with_the_locks_of_the_path_that_called_it(tmp_path: Path):
    """The path where the trylock failed returns from count_refs() without the page lock: that is
    not count_refs() releasing the lock the other path holds, so set_page_dirty() stays covered."""
    assert _dirties(tmp_path, ONE_PATH_LOCKED, "dirty_if_locked") == {("dirty_if_locked", True)}
    untested = ONE_PATH_LOCKED.replace("\tif (locked) {", "\tif (page_count(page)) {")
    assert ("dirty_if_locked", False) in _dirties(tmp_path, untested, "dirty_if_locked")


OWN_PAGE_LOCK = """\
static void touch_other(struct page *other, int flags)
{
	if (flags & 1)
		lock_page(other);
	cpu_relax();
	if (flags & 2)
		unlock_page(other);
}

void dirty_locked(struct page *page, struct page *other, int flags)
{
	lock_page(page);
	touch_other(other, flags);
	set_page_dirty(page);
	unlock_page(page);
}
"""


def test_a_callee_that_unlocks_its_own_page_does_not_unlock_its_callers(tmp_path: Path):
    """touch_other() locks and unlocks a page under flags the walk cannot pair: the unlock is of
    its own page, and the caller's page lock still covers set_page_dirty()."""
    assert _dirties(tmp_path, OWN_PAGE_LOCK, "dirty_locked") == {("dirty_locked", True)}
    unlocked = OWN_PAGE_LOCK.replace("\tlock_page(page);\n\ttouch_other", "\ttouch_other")
    assert ("dirty_locked", False) in _dirties(tmp_path, unlocked, "dirty_locked")


LOOPED_WALK = """\
static struct page *walk_start(struct mm_struct *mm, pmd_t *pmd, struct page *page)
{
	spinlock_t *ptl = pte_lockptr(mm, pmd);

	if (!page_mapped(page))
		return NULL;
	spin_lock(ptl);
	return page;
}

int unshare_all(struct mm_struct *mm, pmd_t *pmd, struct page *page)
{
	int ret;

	do {
		struct page *found;

		found = walk_start(mm, pmd, page);
		if (found)
			spin_unlock(pte_lockptr(mm, pmd));
		ret = page_count(page);
	} while (ret > 1);
	cond_resched();
	return ret;
}
"""


def test_what_a_call_returned_last_time_round_a_loop_does_not_decide_this_time(tmp_path: Path):
    """The second time round, walk_start() may return the page with the PTL held even though it
    returned NULL the first time: the unlock under `if (found)` pairs with this call's result."""
    assert _sleeps(tmp_path, LOOPED_WALK, "unshare_all") == set()
    kept = LOOPED_WALK.replace("\t\tif (found)\n\t\t\tspin_unlock(pte_lockptr(mm, pmd));\n", "")
    assert ("unshare_all", "cond_resched", ("pte_lock",)) in _sleeps(tmp_path, kept, "unshare_all")


STEPPED_POINTER = """\
void swapin_range(struct mm_struct *mm, pmd_t *pmd, unsigned long start, unsigned long end)
{
	pte_t *ptep = NULL;
	spinlock_t *ptl;
	unsigned long addr;

	for (addr = start; addr < end; addr += PAGE_SIZE) {
		if (!ptep++) {
			ptep = pte_offset_map_lock(mm, pmd, addr, &ptl);
			if (!ptep)
				break;
		}
		if (!pte_present(*ptep))
			continue;
		pte_unmap_unlock(ptep, ptl);
		ptep = NULL;
		cond_resched();
	}
	if (ptep)
		pte_unmap_unlock(ptep, ptl);
}
"""


def test_a_pointer_stepped_in_its_own_test_is_tested_as_it_was(tmp_path: Path):
    """`if (!ptep++)` maps the next table only when there is none mapped: the lock is never
    taken twice, and the sleep after the unlock is under nothing."""
    assert _sleeps(tmp_path, STEPPED_POINTER, "swapin_range") == set()
    kept = STEPPED_POINTER.replace("\t\tpte_unmap_unlock(ptep, ptl);\n\t\tptep = NULL;\n", "")
    assert ("swapin_range", "cond_resched", ("pte_lock",)) in _sleeps(tmp_path, kept, "swapin_range")


CHAINED = """\
void cold_range(struct mm_struct *mm, pmd_t *pmd, unsigned long addr)
{
	spinlock_t *ptl;
	pte_t *start_pte, *pte;

	start_pte = pte = pte_offset_map_lock(mm, pmd, addr, &ptl);
	if (!start_pte)
		goto out;
	cpu_relax();
	pte_unmap_unlock(start_pte, ptl);
out:
	cond_resched();
}
"""


def test_a_chained_assignment_gives_every_target_the_value(tmp_path: Path):
    """`start_pte = pte = pte_offset_map_lock(...)`: start_pte is NULL exactly when the lock was
    not taken, so the `goto out` path holds nothing."""
    assert _sleeps(tmp_path, CHAINED, "cold_range") == set()
    tested_elsewhere = CHAINED.replace("\tif (!start_pte)\n\t\tgoto out;\n", "\tif (!addr)\n\t\tgoto out;\n")
    assert ("cold_range", "cond_resched", ("pte_lock",)) in _sleeps(tmp_path, tested_elsewhere, "cold_range")


def _recursive(tmp_path: Path, source: str, root: str) -> set[tuple[str, str, str, str]]:
    engine = _walked(tmp_path, source, root)
    return {(r.site.function, r.lock.cls, r.instance, r.first.function) for r in engine.obs.recursive.values()}


SAME_PAGE = """\
static void wait_for_page(struct page *page)
{
	while (!trylock_page(page))
		cpu_relax();
	unlock_page(page);
}

void age_page(struct page *page, struct page *other)
{
	if (!trylock_page(page))
		return;
	wait_for_page(page);
	unlock_page(page);
}
"""


def test_a_callee_waiting_for_the_lock_of_the_object_its_caller_locked_is_recursive_locking(tmp_path: Path):
    """The page the caller locked is passed down; the callee spins for that page's lock: the task
    waits for itself.  Passed another page, or after the caller unlocked it, it is only a wait."""
    assert _recursive(tmp_path, SAME_PAGE, "age_page") == {("wait_for_page", "page_lock", "page", "age_page")}
    assert _recursive(tmp_path, SAME_PAGE.replace("\twait_for_page(page);\n\tunlock_page(page);\n",
                                                  "\twait_for_page(other);\n\tunlock_page(page);\n"),
                      "age_page") == set()
    assert _recursive(tmp_path, SAME_PAGE.replace("\twait_for_page(page);\n\tunlock_page(page);\n",
                                                  "\tunlock_page(page);\n\twait_for_page(page);\n"),
                      "age_page") == set()


POINTER_MOVED = """\
struct walk {
	spinlock_t *ptl;
};

void walk_two(struct walk *w, struct mm_struct *mm, pmd_t *pmd, pmd_t *next)
{
	w->ptl = pte_lockptr(mm, pmd);
	spin_lock(w->ptl);
	w->ptl = pte_lockptr(mm, next);
	spin_lock(w->ptl);
}
"""


def test_a_lock_pointer_assigned_again_names_another_lock(tmp_path: Path):
    """`w->ptl` pointed at another page table's lock before the second spin_lock(): two locks of
    one class (as page_vma_mapped_walk() moves from table to table), not one lock taken twice."""
    assert _recursive(tmp_path, POINTER_MOVED, "walk_two") == set()
    twice = POINTER_MOVED.replace("\tw->ptl = pte_lockptr(mm, next);\n", "")
    assert _recursive(tmp_path, twice, "walk_two") == {("walk_two", "pte_lock", "w->ptl", "walk_two")}


HANDED_TO_OPS = """\
void write_then_wait(struct page *page, const struct address_space_operations *ops, struct writeback_control *wbc)
{
	if (!trylock_page(page))
		return;
	ops->writepage(page, wbc);
	lock_page(page);
	unlock_page(page);
}
"""


def test_an_object_handed_to_code_the_walk_cannot_see_may_come_back_unlocked(tmp_path: Path):
    """->writepage() unlocks the page it is given: after an indirect call that took the page, a
    lock_page() on it is not judged recursive.  Without that call, it is."""
    assert _recursive(tmp_path, HANDED_TO_OPS, "write_then_wait") == set()
    direct = HANDED_TO_OPS.replace("\tops->writepage(page, wbc);\n", "")
    assert _recursive(tmp_path, direct, "write_then_wait") == {
        ("write_then_wait", "page_lock", "page", "write_then_wait")}


NULL_UNTIL_LOCKED = """\
void nest(struct mm_struct *mm, pmd_t *pmd)
{
	spinlock_t *pml = NULL;
	spinlock_t *ptl = pte_lockptr(mm, pmd);

	if (!pml)
		spin_lock(ptl);
	if (!pml)
		spin_unlock(ptl);
	if (!pml) {
		pml = pmd_lock(mm, pmd);
		spin_lock(ptl);
	}
	spin_unlock(ptl);
	spin_unlock(pml);
}
"""


def test_a_pointer_set_to_null_takes_the_same_branch_at_each_test(tmp_path: Path):
    """khugepaged's `if (!pml) spin_lock(ptl); ... if (!pml) spin_unlock(ptl);`: with pml NULL
    both tests pass, so ptl is not still held at the third.  With pml unknown but unchanged
    between the tests, they still go together (issue 16: a condition on an unchanged local is
    correlated); with its address handed to a call, so that it may change where the walk does
    not see, the path that skips only the unlock is taken to be possible."""
    assert _recursive(tmp_path, NULL_UNTIL_LOCKED, "nest") == set()
    unknown = NULL_UNTIL_LOCKED.replace("spinlock_t *pml = NULL;", "spinlock_t *pml = pick_lock(mm);")
    assert _recursive(tmp_path, unknown, "nest") == set()
    changed = unknown.replace("\tif (!pml)\n\t\tspin_lock(ptl);\n", "\tif (!pml)\n\t\tspin_lock(ptl);\n"
                              "\twatch_lock(mm, &pml);\n", 1)
    assert changed != unknown
    assert _recursive(tmp_path, changed, "nest") == {("nest", "pte_lock", "ptl", "nest")}


RELOCK_HELPER = """\
static void resched_rcu(void)
{
	rcu_read_unlock();
	cond_resched();
	rcu_read_lock();
}

void scan_then_collapse(struct xarray *xa, int n)
{
	int i;

	rcu_read_lock();
	for (i = 0; i < n; i++)
		resched_rcu();
	rcu_read_unlock();
	might_sleep();
}
"""


def test_a_helper_that_unlocks_the_callers_lock_and_takes_it_again_leaves_one_held(tmp_path: Path):
    """cond_resched_rcu() gives the caller's RCU read section back before it opens its own: after
    it, the caller holds one section, which its rcu_read_unlock() closes.  A helper that only
    opens a section of its own leaves the caller in two."""
    assert _sleeps(tmp_path, RELOCK_HELPER, "scan_then_collapse") == set()
    nested = RELOCK_HELPER.replace("\trcu_read_unlock();\n\tcond_resched();\n", "")
    assert ("scan_then_collapse", "might_sleep", ("rcu_read",)) in _sleeps(tmp_path, nested, "scan_then_collapse")


FILLED_THROUGH_ITS_ADDRESS = """\
struct lruvec { spinlock_t lru_lock; };

static void relock(struct page *page, struct lruvec **lruvecp)
{
	struct lruvec *lruvec = page_lruvec(page);

	spin_lock(&lruvec->lru_lock);
	*lruvecp = lruvec;
}

void drain(struct page *page)
{
	struct lruvec *locked = NULL;

	relock(page, &locked);
	if (locked) {
		cond_resched();
		spin_unlock(&locked->lru_lock);
	}
}
"""


def test_a_null_pointer_passed_by_address_may_come_back_set(tmp_path: Path):
    """`locked = NULL; relock(page, &locked); if (locked) ...`: the callee stored through the
    pointer, so the branch is walked (and the sleep under the lock in it is seen).  Passed by
    value, the NULL pointer still decides the branch."""
    assert ("drain", "cond_resched", ("lruvec->lru_lock",)) in _sleeps(tmp_path, FILLED_THROUGH_ITS_ADDRESS, "drain")
    by_value = FILLED_THROUGH_ITS_ADDRESS.replace("relock(page, &locked);", "relock(page, NULL);")
    assert _sleeps(tmp_path, by_value, "drain") == set()


ANOTHER_OBJECT = """\
void lock_next(struct page *page, struct page *next, struct page **pages, int i)
{
	lock_page(page);
	page++;
	lock_page(page);
}
"""


def test_a_lock_on_an_object_the_names_no_longer_point_to_is_not_recursive(tmp_path: Path):
    """`page++`, an index moved on, a head looked up again: the same text, another object."""
    assert _recursive(tmp_path, ANOTHER_OBJECT, "lock_next") == set()
    same = ANOTHER_OBJECT.replace("\tpage++;\n", "")
    assert _recursive(tmp_path, same, "lock_next") == {("lock_next", "page_lock", "page", "lock_next")}
    for first, between, second in (("pages[i]", "\ti++;\n", "pages[i]"),
                                   ("compound_head(page)", "\tpage = next;\n", "compound_head(page)"),
                                   ("i ? page : next", "", "i ? next : page")):
        body = f"\tlock_page({first});\n{between}\tlock_page({second});\n"
        source = ANOTHER_OBJECT.replace("\tlock_page(page);\n\tpage++;\n\tlock_page(page);\n", body)
        assert _recursive(tmp_path, source, "lock_next") == set(), body


LOCKED_FLAG_BY_ADDRESS = """\
static bool unlock_should_abort(spinlock_t *lock, bool *locked)
{
	if (*locked) {
		spin_unlock(lock);
		*locked = false;
	}
	cond_resched();
	return false;
}

static bool take_lock(spinlock_t *lock)
{
	spin_lock(lock);
	return true;
}

void isolate(struct zone *zone, int n)
{
	bool locked = false;
	int i;

	for (i = 0; i < n; i++) {
		if (unlock_should_abort(&zone->lock, &locked))
			break;
		if (!locked)
			locked = take_lock(&zone->lock);
	}
	if (locked)
		spin_unlock(&zone->lock);
}
"""


def test_a_flag_passed_by_address_tells_the_callee_whether_the_lock_is_held(tmp_path: Path):
    """compaction's `compact_unlock_should_abort(lock, flags, &locked, cc)`: `locked` is true
    exactly where take_lock() took the lock, so the callee's `if (*locked)` unlocks it before
    cond_resched().  A callee that clears the flag without unlocking sleeps under the lock."""
    assert _sleeps(tmp_path, LOCKED_FLAG_BY_ADDRESS, "isolate") == set()
    forgets = LOCKED_FLAG_BY_ADDRESS.replace("\t\tspin_unlock(lock);\n\t\t*locked = false;\n",
                                             "\t\t*locked = false;\n")
    assert ("unlock_should_abort", "cond_resched", ("zone->lock",)) in _sleeps(tmp_path, forgets, "isolate")


FLAG_HANDED_ON = """\
struct zone { spinlock_t lock; };

static bool take(struct zone *zone)
{
	spin_lock(&zone->lock);
	return true;
}

static void forget(bool *locked)
{
	*locked = false;
}

static void helper(struct zone *zone, bool *locked)
{
	forget(locked);
	if (!*locked)
		msleep(10);
}

void caller(struct zone *zone)
{
	bool locked;

	locked = take(zone);
	helper(zone, &locked);
	if (locked)
		spin_unlock(&zone->lock);
}
"""


def test_a_flag_is_no_longer_known_once_its_pointer_is_handed_on_or_pointed_elsewhere(tmp_path: Path):
    """`forget(locked)` may store `*locked`, and `locked = &tmp` points the flag elsewhere: after
    either, `if (!*locked)` may go both ways, and the sleep under the zone lock is possible."""
    sleep = ("helper", "msleep", ("zone->lock",))
    assert sleep in _sleeps(tmp_path, FLAG_HANDED_ON, "caller")
    repointed = FLAG_HANDED_ON.replace("\tforget(locked);\n", "\tbool tmp = false;\n\n\tlocked = &tmp;\n")
    assert sleep in _sleeps(tmp_path, repointed, "caller")
    kept = FLAG_HANDED_ON.replace("\tforget(locked);\n", "")
    assert sleep not in _sleeps(tmp_path, kept, "caller")


TWO_WAYS_TO_THE_FLAG = """\
struct zone { spinlock_t lock; };

static bool take(struct zone *zone)
{
	spin_lock(&zone->lock);
	return true;
}

static void helper(bool *locked)
{
	if (!*locked)
		msleep(10);
}

void caller1(struct zone *zone)
{
	bool locked;

	locked = take(zone);
	helper(&locked);
	spin_unlock(&zone->lock);
}

void caller2(struct zone *zone, int c)
{
	bool locked;

	if (c) {
		locked = take(zone);
	} else {
		spin_lock(&zone->lock);
		locked = zone_flag(zone);
	}
	helper(&locked);
	spin_unlock(&zone->lock);
}

void top(struct zone *zone, int c)
{
	caller1(zone);
	caller2(zone, c);
}
"""


def test_a_callee_walked_for_one_flag_is_walked_again_for_a_caller_that_may_not_have_set_it(tmp_path: Path):
    """caller2 reaches helper() once with `locked` set by take() and once with it unknown: the
    walk remembered for caller1 (flag set) does not stand for caller2's second path."""
    sleep = ("helper", "msleep", ("zone->lock",))
    assert sleep in _sleeps(tmp_path, TWO_WAYS_TO_THE_FLAG, "caller2")
    assert sleep in _sleeps(tmp_path, TWO_WAYS_TO_THE_FLAG, "top")


def test_the_lock_an_object_was_locked_by_is_found_whatever_the_order_of_facts():
    """A site remembered for a lock that was not added (a third of one class) does not hide
    the lock that was: the answer does not depend on how a set happens to iterate."""
    from patchlint.extract.facts import Held, InstFact, Variant

    first = Held("zone->lock", "spinlock", "lock", "mm/x.c", 5, "f", True)
    v = Variant((first,), frozenset({InstFact("a", "zone->lock", "&a->lock", ("mm/x.c", 5)),
                                     InstFact("a", "zone->lock", "&a->lock", ("mm/x.c", 8))}))
    assert v.holder("zone->lock", "&a->lock") is first


WAIT_FOR_FIRST = """\
struct zspage {
	int inuse;
};

static struct page *first_page(struct zspage *zspage);

void lock_first(struct zspage *zspage, int tries)
{
	struct page *page;

	while (1) {
		page = first_page(zspage);
		if (trylock_page(page))
			break;
		wait_on_page_locked(page);
	}
}
"""


def _returns_holding(tmp_path: Path, source: str, root: str) -> list[tuple[str, ...]]:
    engine = _walked(tmp_path, source, root)
    return sorted(tuple(h.cls for h in x.variant.held) for x in engine.obs.returns if x.function.name == root)


def test_a_loop_on_a_constant_true_condition_is_left_only_by_break(tmp_path: Path):
    """`while (1)` leaves only where the trylock succeeded: every return holds the page lock."""
    assert _returns_holding(tmp_path, WAIT_FOR_FIRST, "lock_first") == [("page_lock",)]
    for counted in ("while (tries--) {", "while (0x0) {"):
        assert () in _returns_holding(tmp_path, WAIT_FOR_FIRST.replace("while (1) {", counted), "lock_first")
    assert _returns_holding(tmp_path, WAIT_FOR_FIRST.replace("while (1) {", "while (1UL) {"),
                            "lock_first") == [("page_lock",)]


ITERATOR_LOOPS = {
    # iterator macros are read as loops over their arguments: `while (slot, root, &iter, 0)`
    "kill_all": """\
void kill_all(struct radix_tree_root *root, spinlock_t *l)
{
	struct radix_tree_iter iter;
	void **slot;

	spin_lock(l);
	radix_tree_for_each_slot(slot, root, &iter, 0)
		cond_resched();
	spin_unlock(l);
}
""",
    "after_bits": """\
void after_bits(unsigned long *mask, spinlock_t *l)
{
	int i;

	spin_lock(l);
	for_each_set_bit(i, mask, 64) {
		cpu_relax();
	}
	cond_resched();
	spin_unlock(l);
}
""",
    "brace": """\
void brace(spinlock_t *l)
{
	int i;

	spin_lock(l);
	my_iter(i, 0) {
		cond_resched();
	}
	spin_unlock(l);
}
""",
}


def test_a_constant_among_an_iterator_macros_arguments_decides_nothing(tmp_path: Path):
    """The body of `radix_tree_for_each_slot(..., 0)` is walked, and the code after
    `for_each_set_bit(i, mask, 64)` is reached: the sleep under the spinlock is found in each."""
    for root, source in ITERATOR_LOOPS.items():
        # the lock is the caller's, named by the parameter that points at it
        assert {(f, what, len(held)) for f, what, held in _sleeps(tmp_path, source, root)} == \
            {(root, "cond_resched", 1)}, root
        unlocked = source.replace("\tspin_lock(l);\n", "").replace("\tspin_unlock(l);\n", "")
        assert _sleeps(tmp_path, unlocked, root) == set(), root


MOVE_PTES = """\
void move_range(struct mm_struct *mm, pmd_t *old_pmd, pmd_t *new_pmd, unsigned long old_addr,
		unsigned long new_addr)
{
	spinlock_t *old_ptl, *new_ptl;
	pte_t *old_pte, *new_pte;

	old_pte = pte_offset_map_lock(mm, old_pmd, old_addr, &old_ptl);
	if (!old_pte)
		return;
	new_pte = pte_offset_map_nolock(mm, new_pmd, new_addr, &new_ptl);
	if (!new_pte) {
		pte_unmap_unlock(old_pte, old_ptl);
		return;
	}
	if (new_ptl != old_ptl)
		spin_lock_nested(new_ptl, SINGLE_DEPTH_NESTING);
	set_pte_at(mm, new_addr, new_pte, ptep_get(old_pte));
	if (new_ptl != old_ptl)
		spin_unlock(new_ptl);
	pte_unmap(new_pte);
	pte_unmap_unlock(old_pte, old_ptl);
	cond_resched();
}
"""


def test_a_ptl_named_through_an_out_parameter_and_tested_twice_is_released(tmp_path: Path):
    """move_ptes()' shape: pte_offset_map_nolock() says which lock is the new table's PTL, the
    caller takes it only when it is not the old one, and the second test of the same two locals
    takes the same branch: every path returns with nothing held, and cond_resched() is safe."""
    assert set(_returns_holding(tmp_path, MOVE_PTES, "move_range")) == {()}
    assert _sleeps(tmp_path, MOVE_PTES, "move_range") == set()
    # old_ptl pointed elsewhere between the tests: the branches no longer go together, and the
    # lock left held is a PTL
    moved = MOVE_PTES.replace("\tif (new_ptl != old_ptl)\n\t\tspin_unlock(new_ptl);",
                              "\told_ptl = pmd_lockptr(mm, old_pmd);\n\tif (new_ptl != old_ptl)\n"
                              "\t\tspin_unlock(new_ptl);")
    assert ("pte_lock",) in _returns_holding(tmp_path, moved, "move_range")
    assert _sleeps(tmp_path, moved, "move_range") == {("move_range", "cond_resched", ("pte_lock",))}
    # a helper not in the table: the lock is only known by its variable's name
    unnamed = moved.replace("pte_offset_map_nolock(mm, new_pmd, new_addr, &new_ptl)",
                            "my_map(mm, new_pmd, new_addr, &new_ptl)")
    assert ("new_ptl",) in _returns_holding(tmp_path, unnamed, "move_range")
