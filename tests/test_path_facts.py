"""What a path knows of a local's value -- two locals compared, a returned pointer tested,
set to ERR_PTR() or found IS_ERR() -- holds only until the local changes, and a change the walk
does not see (an address kept, an assignment inside a condition or a comma, an iterator macro's
variable, a macro that assigns) means nothing is known of it at all.  Each fixture below is one
such change; the verdict it must keep is the one without any path facts (a sleep under the lock
found, an imbalance reported).  Written from the second review of session 4.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from patchlint.checks.kinds import LockImbalance
from patchlint.checks.scope import analyse_scope
from patchlint.cparse import load_profile
from patchlint.cparse.cache import SummaryCache
from patchlint.cparse.index import FunctionIndex
from patchlint.source.tree import open_tree

from .conftest import TREE, check_series, git
from .test_checks import ERROR_RETURN
from .test_engine_precision import _returns_holding, _sleeps

LOOPITER = """\
struct item { struct list_head list; };

void each(struct list_head *head, struct item *target, spinlock_t *l)
{
	struct item *pos;

	list_for_each_entry(pos, head, list) {
		if (pos == target)
			spin_lock(l);
		if (pos != target)
			cond_resched();
	}
	spin_unlock(l);
}
"""

COMMA = """\
struct item *next_item(struct item *pos);

void comma(struct item *pos, struct item *target, spinlock_t *l, int n)
{
	int i;

	for (i = 0; i < n; pos = next_item(pos), i++) {
		if (pos == target)
			spin_lock(l);
		if (pos != target)
			cond_resched();
	}
	spin_unlock(l);
}
"""

CONDASSIGN = """\
struct item *next_item(struct item *pos);

void cond_assign(struct item *pos, struct item *target, spinlock_t *l)
{
	if (pos == target)
		spin_lock(l);
	if ((pos = next_item(pos)) == target)
		cpu_relax();
	if (pos != target)
		cond_resched();
	if (pos == target)
		spin_unlock(l);
}
"""

ALIAS = """\
void alias(struct item *a, struct item *b, spinlock_t *l, struct item *c)
{
	struct item **pp = &a;

	if (a == b)
		spin_lock(l);
	*pp = c;
	if (a != b)
		cond_resched();
	if (a == b)
		spin_unlock(l);
}
"""

CAST = """\
void get_thing(void **out);

void cast(struct item *a, struct item *b, spinlock_t *l)
{
	if (a == b)
		spin_lock(l);
	get_thing((void **)&a);
	if (a != b)
		cond_resched();
	if (a == b)
		spin_unlock(l);
}
"""

MACRO = """\
void macro(unsigned long a, unsigned long b, spinlock_t *l, unsigned long __user *p)
{
	if (a == b)
		spin_lock(l);
	get_user(a, p);
	if (a != b)
		cond_resched();
	if (a == b)
		spin_unlock(l);
}
"""

PRIMSTORE = """\
void prim_store(struct mm_struct *mm, pmd_t *pmd, unsigned long addr, spinlock_t *other, spinlock_t *l)
{
	spinlock_t *ptl = other;
	pte_t *pte;

	if (ptl == other)
		spin_lock(l);
	pte = pte_offset_map_lock(mm, pmd, addr, &ptl);
	if (!pte)
		return;
	pte_unmap_unlock(pte, ptl);
	if (ptl != other)
		cond_resched();
	if (ptl == other)
		spin_unlock(l);
}
"""

SLEEPADDR = """\
void sleep_addr(unsigned long a, unsigned long b, spinlock_t *l, void __user *p)
{
	if (a == b)
		spin_lock(l);
	copy_from_user(&a, p, sizeof(a));
	if (a == b)
		spin_unlock(l);
}
"""

IMB1 = """\
struct item { int x; };
struct table { struct item *cached; spinlock_t lock; };
void alloc_item(struct table *t, struct item **out)
{
	*out = t->cached;
}

struct item *get_item(struct table *t)
{
	struct item *it = t->cached;

	if (!it) {
		alloc_item(t, &it);
		return it;
	}
	spin_lock(&t->lock);
	return it;
}
"""

IMB2 = """\
struct item { int x; };
struct table { struct item *cached; spinlock_t lock; };
struct item *try_alloc(struct table *t)
{
	return t->cached;
}

struct item *get_item(struct table *t)
{
	struct item *it = t->cached;

	if (!it) {
		if ((it = try_alloc(t)) != NULL)
			t->cached = it;
		return it;
	}
	spin_lock(&t->lock);
	return it;
}
"""

IMB3 = """\
static inline bool IS_ERR(const void *ptr)
{
	return (unsigned long)ptr >= (unsigned long)-4095;
}
struct item { int x; };
struct table { struct item *cached; spinlock_t lock; };
void fixup(struct table *t, struct item **out)
{
	*out = t->cached;
}

struct item *get_item(struct table *t, struct item *it)
{
	if (IS_ERR(it)) {
		fixup(t, &it);
		return it;
	}
	spin_lock(&t->lock);
	return it;
}
"""

IMB4 = """\
struct item { int x; };
struct table { struct item *cached; spinlock_t lock; };

struct item *get_item(struct table *t, struct item *it, int flag)
{
	if (flag)
		return it;
	if (!it)
		return NULL;
	spin_lock(&t->lock);
	return it;
}
"""


@pytest.mark.parametrize("source,root", [
    (LOOPITER, "each"),
    (COMMA, "comma"),
    (CONDASSIGN, "cond_assign"),
    (ALIAS, "alias"),
    (CAST, "cast"),
    (MACRO, "macro"),
    (PRIMSTORE, "prim_store"),
])
def test_a_compared_local_that_changes_unseen_is_not_taken_to_compare_the_same(tmp_path: Path, source: str,
                                                                               root: str):
    assert any(what == "cond_resched" for _, what, _ in _sleeps(tmp_path, source, root))


def test_a_sleeping_call_given_an_address_forgets_the_comparison(tmp_path: Path):
    # copy_from_user(&a, ...) may store a: both ways out of the second test stay possible
    assert len(set(_returns_holding(tmp_path, SLEEPADDR, "sleep_addr"))) == 2


@pytest.mark.parametrize("source", [IMB1, IMB2, IMB3, IMB4])
def test_a_returned_pointer_that_changed_unseen_does_not_tell_the_caller(tmp_path: Path, source: str):
    """Each fixture returns a non-NULL pointer both with and without the lock on some path."""
    tree = tmp_path / "linux"
    shutil.copytree(TREE, tree)
    (tree / "mm" / "cluster.c").write_text(source)
    index = FunctionIndex(open_tree(str(tree)), load_profile(), SummaryCache(enabled=False))
    assert [f.function for f in LockImbalance().findings(analyse_scope(index, {"get_item"}))] == ["get_item"]


CALLER = """
void use_bump(struct counter *c)
{
	bump(c, 3);
}
"""


def _moved(tree_repo: Path, tmp_path: Path, change) -> list:
    (tree_repo / "mm" / "a.c").write_text(ERROR_RETURN + CALLER)
    (tree_repo / "mm" / "b.c").write_text("/* b */\n")
    git(tree_repo, "add", "-A")
    git(tree_repo, "commit", "-q", "-m", "base with an imbalance in bump()")
    change(tree_repo)
    git(tree_repo, "add", "-A")
    git(tree_repo, "commit", "-q", "-m", "mm: move bump()")
    patch = tmp_path / "0001.patch"
    patch.write_text(git(tree_repo, "format-patch", "-1", "--stdout"))
    return [f for f in check_series(tree_repo, [patch], base="HEAD~1").findings if f.kind == "lock-imbalance"]


def test_a_finding_in_a_function_moved_to_another_file_is_existing(tree_repo: Path, tmp_path: Path):
    def move(repo: Path) -> None:
        (repo / "mm" / "a.c").write_text(ERROR_RETURN.split("int bump(")[0] + CALLER)
        (repo / "mm" / "b.c").write_text("/* b */\n" + ERROR_RETURN)

    assert [(f.status, f.file) for f in _moved(tree_repo, tmp_path, move)] == [("existing", "mm/b.c")]


def test_a_finding_in_a_renamed_file_is_existing(tree_repo: Path, tmp_path: Path):
    def rename(repo: Path) -> None:
        git(repo, "mv", "mm/a.c", "mm/c.c")
        path = repo / "mm" / "c.c"
        path.write_text(path.read_text().replace("\tc->n++;", "\tc->n += 1;"))

    assert [(f.status, f.file) for f in _moved(tree_repo, tmp_path, rename)] == [("existing", "mm/c.c")]


def test_a_static_function_called_only_in_another_file_by_its_name_is_still_a_root(tmp_path: Path):
    """mm/b.c's use_bump() calls mm/b.c's own static bump(), not mm/a.c's, which only an
    operations table reaches: mm/a.c's bump() is walked, and its imbalance reported."""
    tree = tmp_path / "linux"
    shutil.copytree(TREE, tree)
    static = ERROR_RETURN.replace("int bump(", "static int bump(")
    (tree / "mm" / "a.c").write_text(static + "\nstruct counter_ops {\n\tint (*op)(struct counter *, int);\n};\n"
                                     "\nstatic const struct counter_ops a_ops = {\n\t.op = bump,\n};\n")
    fixed = static.replace("\t\treturn -EINVAL;", "\t{\n\t\tspin_unlock(&c->lock);\n\t\treturn -EINVAL;\n\t}")
    fixed = fixed.replace("if (c->n >= limit)\n\t{", "if (c->n >= limit) {")
    (tree / "mm" / "b.c").write_text(fixed + "\nvoid use_bump(struct counter *c)\n{\n\tbump(c, 3);\n}\n")
    index = FunctionIndex(open_tree(str(tree)), load_profile(), SummaryCache(enabled=False))
    scope = analyse_scope(index, {"bump"})
    assert ("bump", "mm/a.c") in [(r.name, r.file) for r in scope.roots]
    assert sorted((f.file, f.function) for f in LockImbalance().findings(scope)) == [("mm/a.c", "bump")]


# -- from the third review: changes the walk cannot see at all -----------------------------------

SECOND_TEST = """\
int refresh(struct item **pp);
void watch(struct item **slot);
void poll_all(void);

void second_test(struct item *a, struct item *b, spinlock_t *l)
{
	if (a == b)
		spin_lock(l);
	CHANGE;
	if (a != b)
		cond_resched();
	if (a == b)
		spin_unlock(l);
}
"""


@pytest.mark.parametrize("change", [
    "do_div(a, 3)", "sector_div(a, 3)", "rcu_assign_pointer(a, b)", "smp_store_mb(a, 0)",
    'asm volatile("lghi %0,0" : "=d" (a))', "b = ({ a = next_val(a); a + 1; })", "poll_all()",
])
def test_a_comparison_outlives_nothing_the_walk_cannot_see(tmp_path: Path, change: str):
    """A macro that assigns, inline asm, a statement expression, or a callee given the address
    earlier (`watch(&a)`, then `poll_all()`): the second test of a == b may go the other way."""
    source = SECOND_TEST.replace("CHANGE", change)
    if change == "poll_all()":
        source = source.replace("\tif (a == b)\n\t\tspin_lock(l);", "\twatch(&a);\n\tif (a == b)\n\t\tspin_lock(l);", 1)
    assert any(what == "cond_resched" for _, what, _ in _sleeps(tmp_path, source, "second_test"))
    # the same with nothing in between: the tests go together, and nothing sleeps under the lock
    assert _sleeps(tmp_path, SECOND_TEST.replace("\tCHANGE;\n", ""), "second_test") == set()


def test_a_call_in_a_condition_given_the_address_may_change_what_it_compares(tmp_path: Path):
    source = SECOND_TEST.replace("\tif (a == b)\n\t\tspin_lock(l);\n\tCHANGE;\n",
                                 "\tif (a == b && refresh(&a))\n\t\tspin_lock(l);\n")
    assert any(what == "cond_resched" for _, what, _ in _sleeps(tmp_path, source, "second_test"))


HANDOFFS = """\
struct item {
	int x;
};

struct table {
	struct item *cached;
	spinlock_t lock;
	int ready;
	int bad;
};

static struct item *cached;

static inline void *ERR_PTR(long error)
{
	return (void *)error;
}

void refill(struct table *t)
{
	cached = t->cached;
}

"""


@pytest.mark.parametrize("body", [
    # a global the callee changes: what the path tested of it is gone
    """struct item *get_item(struct table *t)
{
	if (!cached) {
		refill(t);
		return cached;
	}
	spin_lock(&t->lock);
	return cached;
}
""",
    # an ERR_PTR() returned still holding the lock is a leak, whatever the caller tests
    """struct item *get_item(struct table *t)
{
	struct item *it;

	if (!t->ready)
		return NULL;
	spin_lock(&t->lock);
	if (t->bad)
		return ERR_PTR(-EINVAL);
	it = t->cached;
	return it;
}
""",
    # true with the lock on one path and false with it on another tells the caller nothing
    """bool get_item(struct table *t, int key)
{
	if (t->ready) {
		spin_lock(&t->lock);
		return true;
	}
	if (t->bad) {
		spin_lock(&t->lock);
		return false;
	}
	return key > 3;
}
""",
])
def test_a_result_that_does_not_tell_the_caller_is_an_imbalance(tmp_path: Path, body: str):
    tree = tmp_path / "linux"
    shutil.copytree(TREE, tree)
    (tree / "mm" / "handoff.c").write_text(HANDOFFS + body)
    index = FunctionIndex(open_tree(str(tree)), load_profile(), SummaryCache(enabled=False))
    assert [f.function for f in LockImbalance().findings(analyse_scope(index, {"get_item"}))] == ["get_item"]


def test_a_static_function_fixed_in_one_file_and_broken_in_another_is_fixed_and_new():
    """The same hazard in two files' `probe_irq()`: only a function the patch took out of its
    file is paired with one that appeared in another."""
    from patchlint.checks.series import classify
    from patchlint.findings import Finding

    def finding(file: str) -> Finding:
        return Finding(kind="lock-imbalance", status="new", severity="warning", patch=None, file=file, line=3,
                       function="probe_irq", message="m", locks=("irq_lock",),
                       identity=f"lock-imbalance|{file}:probe_irq|irq_lock")

    before, after = [finding("drivers/a.c")], [finding("drivers/b.c")]
    still_there = classify(1, before, after, lambda path, function: False)
    assert sorted((f.status, f.file) for f in still_there) == [("fixed", "drivers/a.c"), ("new", "drivers/b.c")]
    moved = classify(1, before, after, lambda path, function: path == "drivers/a.c")
    assert [(f.status, f.file) for f in moved] == [("existing", "drivers/b.c")]
