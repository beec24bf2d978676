"""sparse's context test suite (validation/context.c of sparse), mirrored: every function that
suite checks has a counterpart here, written from scratch in kernel style -- a statistics block
under a spinlock, its lock helpers annotated as sparse asks -- that does what the suite's
function does to the lock.  The comment above each names the suite function it mirrors.
Where sparse expects "context imbalance" patchlint must report the function (lock-imbalance,
or double-unlock where sparse's "unexpected unlock" is a second unlock); where sparse expects
nothing, nothing.  benchmarks/peer_suites.py runs the suite itself, given a copy of it.
"""

from __future__ import annotations

import shutil

import pytest

from patchlint.checks.scope import analyse_scope
from patchlint.checks.series import static_findings
from patchlint.cparse import load_profile
from patchlint.cparse.cache import SummaryCache
from patchlint.cparse.index import FunctionIndex
from patchlint.findings import Finding
from patchlint.source.tree import open_tree

from .conftest import TREE

STATS = """\
/* mm/stats.c - a statistics block under one spinlock */
struct stats_block {
	spinlock_t lock;
	unsigned long events;
	unsigned long drops;
};

static struct stats_block stats;
extern int stats_pending, stats_urgent;
extern int stats_poll(int how);

/* take the block's lock only where @c holds, as __cond_lock() does */
#define stats_lock_if(c)	((c) ? ({ spin_lock(&stats.lock); 1; }) : 0)
#define stats_trylock(how)	stats_lock_if(stats_poll(how))

static void stats_lock(void)
	__acquires(&stats.lock)
{
	spin_lock(&stats.lock);
}

static void stats_unlock(void)
	__releases(&stats.lock)
{
	spin_unlock(&stats.lock);
}

/* good_paired1 */
static void stats_count(void)
{
	stats_lock();
	stats.events++;
	stats_unlock();
}

/* good_paired2 */
static void stats_count_twice(void)
{
	stats_lock();
	stats.events++;
	stats_unlock();
	stats_lock();
	stats.drops++;
	stats_unlock();
}

/* good_paired3 */
static void stats_count_nested(void)
{
	stats_lock();
	stats_lock();
	stats.events += 2;
	stats_unlock();
	stats_unlock();
}

/* good_lock1 */
static void stats_enter(void)
	__acquires(&stats.lock)
{
	stats_lock();
}

/* good_lock2 */
static void stats_enter_fresh(void)
	__acquires(&stats.lock)
{
	stats_lock();
	stats.drops = 0;
	stats_unlock();
	stats_lock();
}

/* good_lock3 */
static void stats_enter_deep(void)
	__acquires(&stats.lock)
{
	stats_lock();
	stats_lock();
	stats_unlock();
}

/* good_unlock1 */
static void stats_leave(void)
	__releases(&stats.lock)
{
	stats_unlock();
}

/* good_unlock2 */
static void stats_leave_after(void)
	__releases(&stats.lock)
{
	stats_lock();
	stats.events++;
	stats_unlock();
	stats_unlock();
}

/* warn_lock1 */
static void stats_forget(void)
{
	stats_lock();
}

/* warn_lock2 */
static void stats_forget_second(void)
{
	stats_lock();
	stats.events++;
	stats_unlock();
	stats_lock();
}

/* warn_lock3 */
static void stats_forget_inner(void)
{
	stats_lock();
	stats_lock();
	stats_unlock();
}

/* warn_unlock1 */
static void stats_drop_unowned(void)
{
	stats_unlock();
}

/* warn_unlock2 */
static void stats_drop_twice(void)
{
	stats_lock();
	stats.events++;
	stats_unlock();
	stats_unlock();
}

/* good_if1 */
static int stats_check(void)
{
	stats_lock();
	if (stats_pending) {
		stats_unlock();
		return -EAGAIN;
	}
	stats_unlock();
	return 0;
}

/* good_if2 */
static void stats_maybe_count(void)
{
	if (stats_pending) {
		stats_lock();
		stats.events++;
		stats_unlock();
	}
}

/* good_if3 */
static void stats_count_more(void)
{
	stats_lock();
	if (stats_pending) {
		stats_lock();
		stats.events++;
		stats_unlock();
	}
	stats_unlock();
}

/* warn_if1 */
static int stats_check_leaky(void)
{
	stats_lock();
	if (stats_pending)
		return -EAGAIN;
	stats_unlock();
	return 0;
}

/* warn_if2 */
static int stats_check_backwards(void)
{
	stats_lock();
	if (stats_pending) {
		stats_unlock();
		return -EAGAIN;
	}
	return 0;
}

/* good_while1 */
static void stats_wait_locked(void)
{
	stats_lock();
	while (stats_pending)
		cpu_relax();
	stats_unlock();
}

/* good_while2 */
static void stats_drain(void)
{
	while (stats_pending) {
		stats_lock();
		stats.drops++;
		stats_unlock();
	}
}

/* good_while3 */
static void stats_drain_twice(void)
{
	while (stats_pending) {
		stats_lock();
		stats.drops++;
		stats_unlock();
		if (stats_urgent)
			break;
		stats_lock();
		stats.events++;
		stats_unlock();
	}
}

/* good_while4 */
static void stats_spin_until(void)
{
	stats_lock();
	for (;;) {
		if (stats_urgent) {
			stats_unlock();
			break;
		}
	}
}

/* good_while5 */
static void stats_cycle(void)
{
	stats_lock();
	for (;;) {
		stats_unlock();
		if (stats_urgent)
			break;
		stats_lock();
	}
}

/* warn_while1 */
static void stats_grab_each(void)
{
	while (stats_pending) {
		stats_lock();
	}
}

/* warn_while2 */
static void stats_release_each(void)
{
	while (stats_pending) {
		stats_unlock();
	}
}

/* warn_while3 */
static void stats_grab_break(void)
{
	while (stats_pending) {
		stats_lock();
		if (stats_urgent)
			break;
		stats_unlock();
	}
}

/* good_goto1 */
static void stats_jump(void)
{
	stats_lock();
	goto out;
out:
	stats_unlock();
}

/* good_goto2 */
static void stats_jump_over(void)
{
	stats_lock();
	goto out;
	stats_lock();
	stats_unlock();
out:
	stats_unlock();
}

/* good_goto3 */
static void stats_jump_maybe(void)
{
	stats_lock();
	if (stats_pending)
		goto out;
	stats_lock();
	stats_unlock();
out:
	stats_unlock();
}

/* good_goto4 */
static void stats_skip(void)
{
	if (stats_pending)
		goto out;
	stats_lock();
	stats_unlock();
out:
	;
}

/* good_goto5 */
static void stats_jump_late(void)
{
	stats_lock();
	if (stats_pending)
		goto out;
	stats_unlock();
	return;
out:
	stats_unlock();
}

/* warn_goto1 */
static void stats_jump_past_unlock(void)
{
	stats_lock();
	goto out;
	stats_unlock();
out:
	;
}

/* warn_goto2 */
static void stats_jump_relock(void)
{
	stats_lock();
	goto out;
	stats_unlock();
out:
	stats_lock();
	stats_unlock();
}

/* warn_goto3 */
static void stats_jump_unlock_twice(void)
{
	stats_lock();
	if (stats_pending)
		goto out;
	stats_unlock();
out:
	stats_unlock();
}

/* good_cond_lock1 */
static void stats_try_count(void)
{
	if (stats_trylock(stats_pending)) {
		stats.events++;
		stats_unlock();
	}
}

/* warn_cond_lock1 */
static void stats_try_count_wrong(void)
{
	if (stats_trylock(stats_pending))
		stats.events++;
	stats_unlock();
}
"""

# sparse's expectation for each mirrored function: the message it prints, or None for none
EXPECTED = {
    "stats_count": None, "stats_count_twice": None, "stats_count_nested": None,  # good_paired1-3
    "stats_enter": None, "stats_enter_fresh": None, "stats_enter_deep": None,  # good_lock1-3
    "stats_leave": None, "stats_leave_after": None,  # good_unlock1-2
    "stats_forget": "wrong count at exit",  # warn_lock1
    "stats_forget_second": "wrong count at exit",  # warn_lock2
    "stats_forget_inner": "wrong count at exit",  # warn_lock3
    "stats_drop_unowned": "unexpected unlock",  # warn_unlock1
    "stats_drop_twice": "unexpected unlock",  # warn_unlock2
    "stats_check": None, "stats_maybe_count": None, "stats_count_more": None,  # good_if1-3
    "stats_check_leaky": "wrong count at exit",  # warn_if1
    "stats_check_backwards": "different lock contexts for basic block",  # warn_if2
    "stats_wait_locked": None, "stats_drain": None, "stats_drain_twice": None,  # good_while1-3
    "stats_spin_until": None, "stats_cycle": None,  # good_while4-5
    "stats_grab_each": "different lock contexts for basic block",  # warn_while1
    "stats_release_each": "unexpected unlock",  # warn_while2
    "stats_grab_break": "wrong count at exit",  # warn_while3
    "stats_jump": None, "stats_jump_over": None, "stats_jump_maybe": None,  # good_goto1-3
    "stats_skip": None, "stats_jump_late": None,  # good_goto4-5
    "stats_jump_past_unlock": "wrong count at exit",  # warn_goto1
    "stats_jump_relock": "wrong count at exit",  # warn_goto2
    "stats_jump_unlock_twice": "different lock contexts for basic block",  # warn_goto3
    "stats_try_count": None,  # good_cond_lock1
    "stats_try_count_wrong": "different lock contexts for basic block",  # warn_cond_lock1
}


@pytest.fixture(scope="module")
def findings(tmp_path_factory: pytest.TempPathFactory) -> list[Finding]:
    tree = tmp_path_factory.mktemp("sparse") / "linux"
    shutil.copytree(TREE, tree)
    (tree / "mm" / "stats.c").write_text(STATS)
    index = FunctionIndex(open_tree(str(tree)), load_profile(), SummaryCache(enabled=False))
    names = {f.name for f in index.parsed("mm/stats.c").functions}
    return [f for f in static_findings(analyse_scope(index, names), None)
            if f.kind in ("lock-imbalance", "double-unlock") and f.file == "mm/stats.c"]


@pytest.mark.parametrize("function", sorted(EXPECTED))
def test_each_function_of_sparses_context_suite(findings: list[Finding], function: str):
    mine = [f for f in findings if f.function == function]
    if EXPECTED[function] is None:
        assert mine == [], f"sparse finds {function}() balanced"
    else:
        assert mine, f"sparse: context imbalance in '{function}' - {EXPECTED[function]}"


def test_the_suites_three_messages_are_said_as_sparse_says_them(findings: list[Finding]):
    """Where patchlint reports what sparse reports the same way, it says it in sparse's words."""
    said = {f.function: f.message for f in findings if f.kind == "lock-imbalance"}
    assert "wrong count at exit" in said["stats_forget"]
    assert "different lock contexts" in said["stats_check_backwards"]
    assert "unexpected unlock" in said["stats_drop_unowned"]
    # a second unlock of the same lock is its own kind (sparse calls it an unexpected unlock too)
    assert {f.kind for f in findings if f.function == "stats_drop_twice"} == {"double-unlock"}
