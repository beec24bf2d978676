"""sparse's context rules on the walk's paths (issue 16): lock-imbalance's three cases, the
annotations, the conditional-acquire convention, double-unlock, calls nobody can read, and the
walk's reading of the code they rest on -- correlated conditions, trylocks inside expressions,
lock tests, lockdep's nesting and scope-based guards.

Each test writes a small file into a copy of the fixture tree, then changes only that C code and
shows the verdict follow it.
"""

from __future__ import annotations

import shutil
from pathlib import Path

from patchlint.checks.scope import analyse_scope
from patchlint.checks.series import static_findings
from patchlint.cparse import load_profile
from patchlint.cparse.cache import SummaryCache
from patchlint.cparse.index import FunctionIndex
from patchlint.extract.engine import Engine
from patchlint.findings import Finding
from patchlint.source.tree import open_tree

from .conftest import TREE

KINDS = ("lock-imbalance", "double-unlock", "analysis-incomplete")


def _index(tmp_path: Path, source: str) -> FunctionIndex:
    tree = tmp_path / "linux"
    if not tree.exists():
        shutil.copytree(TREE, tree)
    (tree / "mm" / "locks.c").write_text(source)
    return FunctionIndex(open_tree(str(tree)), load_profile(), SummaryCache(enabled=False))


def _findings(tmp_path: Path, source: str, *touched: str) -> list[Finding]:
    """The static findings of the kinds above on the touched functions of mm/locks.c."""
    scope = analyse_scope(_index(tmp_path, source), set(touched))
    return [f for f in static_findings(scope, None) if f.kind in KINDS and f.file == "mm/locks.c"]


def _verdicts(tmp_path: Path, source: str, *touched: str) -> list[tuple[str, str | None, tuple[str, ...]]]:
    return sorted((f.kind, f.function, f.locks) for f in _findings(tmp_path, source, *touched))


def _engine(tmp_path: Path, source: str, root: str) -> Engine:
    index = _index(tmp_path, source)
    engine = Engine(index)
    engine.run(index.definitions(root)[0])
    return engine


COUNTER = """\
struct counter {
	spinlock_t lock;
	struct page *page;
	int n;
	int busy;
};

"""

# -- wrong count at exit --------------------------------------------------------------------------
LOCK_HELPER = COUNTER + """\
void counter_lock(struct counter *c)
{
	spin_lock(&c->lock);
	c->busy = 1;
}
"""


def test_a_function_returning_with_the_lock_on_every_path_is_a_wrong_count_at_exit(tmp_path: Path):
    found = _findings(tmp_path, LOCK_HELPER, "counter_lock")
    assert [(f.kind, f.function, f.locks) for f in found] == [("lock-imbalance", "counter_lock",
                                                               ("counter->lock",))]
    assert "held on every path" in found[0].message and "wrong count at exit" in found[0].message
    # saying so with sparse's annotation is the kernel's way of writing a lock helper
    annotated = LOCK_HELPER.replace("struct counter *c)\n{", "struct counter *c)\n\t__acquires(&c->lock)\n{")
    assert _verdicts(tmp_path, annotated, "counter_lock") == []
    # and unlocking before returning is no hand-off at all
    balanced = LOCK_HELPER.replace("\tc->busy = 1;\n", "\tc->busy = 1;\n\tspin_unlock(&c->lock);\n")
    assert _verdicts(tmp_path, balanced, "counter_lock") == []


def test_a_helpers_annotation_counts_for_its_caller(tmp_path: Path):
    """counter_lock() says `__acquires`: its caller holds the lock after calling it, and returning
    without the unlock is the caller's wrong count at exit (the helper's is said, so not one)."""
    source = LOCK_HELPER.replace("struct counter *c)\n{", "struct counter *c)\n\t__acquires(&c->lock)\n{") + """
void counter_bump(struct counter *c)
{
	counter_lock(c);
	c->n++;
	spin_unlock(&c->lock);
}
"""
    assert _verdicts(tmp_path, source, "counter_lock", "counter_bump") == []
    leaky = source.replace("\tc->n++;\n\tspin_unlock(&c->lock);\n", "\tc->n++;\n")
    assert _verdicts(tmp_path, leaky, "counter_lock", "counter_bump") == [
        ("lock-imbalance", "counter_bump", ("counter->lock",))]


# -- different lock contexts, and the conditional-acquire convention ------------------------------
LITERALS = COUNTER + """\
int counter_enter(struct counter *c)
{
	spin_lock(&c->lock);
	if (c->busy)
		return -1;
	spin_unlock(&c->lock);
	return 0;
}

void counter_user(struct counter *c)
{
	counter_enter(c);
}
"""


def test_literal_results_alone_do_not_make_a_conditional_acquire(tmp_path: Path):
    """`return -1` holding the lock beside `return 0` without: an imbalance while no caller tests
    the result; a convention once every caller does (`if (counter_enter(c))`)."""
    found = _findings(tmp_path, LITERALS, "counter_enter")
    assert [(f.kind, f.function) for f in found] == [("lock-imbalance", "counter_enter")]
    assert "different lock contexts" in found[0].message
    tested = LITERALS.replace("\tcounter_enter(c);\n", "\tif (counter_enter(c))\n\t\tspin_unlock(&c->lock);\n")
    assert _verdicts(tmp_path, tested, "counter_enter") == []
    kept = LITERALS.replace("\tcounter_enter(c);\n", "\tint busy = counter_enter(c);\n\n"
                            "\tif (busy)\n\t\tspin_unlock(&c->lock);\n")
    assert _verdicts(tmp_path, kept, "counter_enter") == []
    # __cond_acquires says it without any caller
    annotated = LITERALS.replace("int counter_enter(struct counter *c)\n{",
                                 "int counter_enter(struct counter *c)\n\t__cond_acquires(&c->lock)\n{")
    assert _verdicts(tmp_path, annotated, "counter_enter") == []


# -- unexpected unlock, double unlock ---------------------------------------------------------------
FAILED_TRYLOCK = COUNTER + """\
int counter_page_work(struct counter *c)
{
	struct page *page = c->page;
	int rc = 0;

	if (!trylock_page(page)) {
		rc = -EAGAIN;
		goto out;
	}
	c->n++;
out:
	unlock_page(page);
	return rc;
}
"""


def test_unlocking_a_page_whose_trylock_failed_is_an_unexpected_unlock(tmp_path: Path):
    found = _findings(tmp_path, FAILED_TRYLOCK, "counter_page_work")
    assert [(f.kind, f.function, f.locks) for f in found] == [("lock-imbalance", "counter_page_work",
                                                               ("page_lock",))]
    assert "failed" in found[0].message and "unexpected unlock" in found[0].message
    assert [(s.event, s.line) for s in found[0].chain] == [("trylock(page_lock) fails", 13),
                                                           ("unlock(page_lock)", 19)]
    fixed = FAILED_TRYLOCK.replace("\tc->n++;\nout:\n\tunlock_page(page);\n", "\tc->n++;\n\tunlock_page(page);\nout:\n")
    assert _verdicts(tmp_path, fixed, "counter_page_work") == []


DOUBLE = COUNTER + """\
int counter_drain(struct counter *c)
{
	int err = 0;

	spin_lock(&c->lock);
	if (c->busy) {
		spin_unlock(&c->lock);
		err = -EBUSY;
		goto out;
	}
	c->n = 0;
out:
	spin_unlock(&c->lock);
	return err;
}
"""


def test_an_error_path_unlocking_before_the_label_that_unlocks_is_a_double_unlock(tmp_path: Path):
    found = _findings(tmp_path, DOUBLE, "counter_drain")
    assert [(f.kind, f.function, f.locks) for f in found] == [("double-unlock", "counter_drain",
                                                               ("counter->lock",))]
    assert [(s.event, s.line) for s in found[0].chain] == [("unlock(counter->lock)", 14),
                                                           ("unlock(counter->lock) again", 20)]
    assert _verdicts(tmp_path, DOUBLE.replace("\t\tspin_unlock(&c->lock);\n\t\terr", "\t\terr"), "counter_drain") == []


def test_a_function_dropping_and_retaking_its_callers_lock_is_balanced(tmp_path: Path):
    """Unlocking a lock no path of it holds is releasing its caller's (an operations table points
    to it; no caller is in sight): it is balanced when it takes it back on every path, an
    imbalance when one path returns with it dropped (smatch's "inconsistent returns")."""
    source = COUNTER + """\
struct counter_ops {
	void (*wait)(struct counter *c);
};

static void counter_wait(struct counter *c)
{
	spin_unlock(&c->lock);
	cond_resched();
	spin_lock(&c->lock);
}

static const struct counter_ops counter_ops = {
	.wait = counter_wait,
};
"""
    assert _verdicts(tmp_path, source, "counter_wait") == []
    early = source.replace("\tspin_unlock(&c->lock);\n\tcond_resched();\n",
                           "\tspin_unlock(&c->lock);\n\tif (c->busy)\n\t\treturn;\n\tcond_resched();\n")
    assert _verdicts(tmp_path, early, "counter_wait") == [("lock-imbalance", "counter_wait", ("counter->lock",))]


# -- calls nobody can read ------------------------------------------------------------------------
def test_an_undefined_call_makes_only_its_own_paths_unknown(tmp_path: Path):
    """counter_flush_page() hands its locked page to write_out_page(), which the tree does not
    define (it may unlock it, as pageout() does): that path is not judged, and a note says so;
    the error path that keeps the lock without any such call is an imbalance all the same."""
    source = COUNTER + """\
int counter_flush_page(struct counter *c)
{
	struct page *page = c->page;

	lock_page(page);
	if (c->busy) {
		write_out_page(page);
		return 1;
	}
	unlock_page(page);
	return 0;
}
"""
    found = _findings(tmp_path, source, "counter_flush_page")
    assert [(f.kind, f.severity) for f in found] == [("analysis-incomplete", "check")]
    assert "write_out_page() at line 14" in found[0].message and "no definition in the tree" in found[0].message
    # another path returning with the page locked, with no unknown call on it, is judged
    leak = source.replace("\tunlock_page(page);\n\treturn 0;\n", "\tif (c->n)\n\t\treturn 2;\n"
                          "\tunlock_page(page);\n\treturn 0;\n")
    kinds = {(f.kind, f.function) for f in _findings(tmp_path, leak, "counter_flush_page")}
    assert ("lock-imbalance", "counter_flush_page") in kinds
    # and a call handed nothing cannot reach the lock: no note
    blind = source.replace("write_out_page(page);", "write_out_all();")
    assert [f.kind for f in _findings(tmp_path, blind, "counter_flush_page")] == ["lock-imbalance"]


def test_the_fixtures_pageout_leaves_shrink_page_list_unjudged_not_imbalanced(tmp_path: Path):
    """pageout() is not in the fixture tree and unlocks the page it starts writing: reclaim's
    return after it is unknown, so no lock-imbalance, and the note names it."""
    index = FunctionIndex(open_tree(str(TREE)), load_profile(), SummaryCache(enabled=False))
    found = [f for f in static_findings(analyse_scope(index, {"shrink_page_list"}), None)
             if f.function == "shrink_page_list"]
    assert [f.kind for f in found] == ["analysis-incomplete"]
    assert "pageout() at line 66" in found[0].message


# -- what the walk reads --------------------------------------------------------------------------
CORRELATED = COUNTER + """\
void counter_maybe_bump(struct counter *c, bool need)
{
	if (need)
		spin_lock(&c->lock);
	c->n++;
	if (need)
		spin_unlock(&c->lock);
}
"""


def test_a_condition_on_an_unchanged_local_takes_the_same_branch_twice(tmp_path: Path):
    assert _verdicts(tmp_path, CORRELATED, "counter_maybe_bump") == []
    for changed in ("\tneed = c->busy;\n", "\tneed = !need;\n"):
        source = CORRELATED.replace("\tc->n++;\n", "\tc->n++;\n" + changed)
        assert ("lock-imbalance", "counter_maybe_bump", ("counter->lock",)) in _verdicts(
            tmp_path, source, "counter_maybe_bump")
    # a field of an unchanged pointer too, until a call is handed the pointer
    field = CORRELATED.replace("if (need)", "if (c->busy)").replace(", bool need)", ")")
    assert _verdicts(tmp_path, field, "counter_maybe_bump") == []
    handed = field.replace("\tc->n++;\n", "\tcounter_update(c);\n")
    assert _verdicts(tmp_path, handed, "counter_maybe_bump") != []


def test_a_trylock_is_found_in_any_expression(tmp_path: Path):
    """A statement expression's last value, a ternary's test, the right side of && bound to a
    local: each takes the lock where it is true, so the unlock under the same test balances."""
    forms = {
        "if (({ c->n++; spin_trylock(&c->lock); })) {": "stmt-expr",
        "if (spin_trylock(&c->lock) ? 1 : 0) {": "ternary",
        "if ((c->busy ? spin_trylock(&c->lock) : 0)) {": "nested ternary",
    }
    for head in forms:
        source = COUNTER + f"void counter_try(struct counter *c)\n{{\n\t{head}\n\t\tc->n++;\n" \
                           "\t\tspin_unlock(&c->lock);\n\t}\n}\n"
        assert _verdicts(tmp_path, source, "counter_try") == [], forms[head]
        # the unlock outside the test: the path whose trylock failed unlocks a lock it never took
        wrong = source.replace("\t\tc->n++;\n\t\tspin_unlock(&c->lock);\n\t}\n", "\t\tc->n++;\n\t}\n"
                               "\tspin_unlock(&c->lock);\n")
        assert _verdicts(tmp_path, wrong, "counter_try") == [("lock-imbalance", "counter_try",
                                                              ("counter->lock",))], forms[head]
    bound = COUNTER + "void counter_try(struct counter *c)\n{\n\tbool locked = !c->busy && " \
        "spin_trylock(&c->lock);\n\n\tc->n++;\n\tif (locked)\n\t\tspin_unlock(&c->lock);\n}\n"
    assert _verdicts(tmp_path, bound, "counter_try") == []
    assert _verdicts(tmp_path, bound.replace("\tif (locked)\n", ""), "counter_try") != []


def test_a_lock_test_is_not_an_acquisition_but_an_assertion_of_one_is(tmp_path: Path):
    """`folio_test_locked()` and `spin_is_locked()` say somebody holds the lock; inside a
    VM_BUG_ON_FOLIO()/BUG_ON() they say this path does -- then taking another lock orders it."""
    for test, asserted in (("folio_test_locked(folio)", "VM_BUG_ON_FOLIO(!folio_test_locked(folio), folio);"),
                           ("spin_is_locked(&c->lock)", "BUG_ON(!spin_is_locked(&c->lock));")):
        plain = COUNTER + f"void counter_note(struct counter *c, struct folio *folio)\n{{\n" \
                          f"\tif ({test})\n\t\tspin_lock(&counters_lock);\n\telse\n\t\tspin_lock(&counters_lock);" \
                          "\n\tspin_unlock(&counters_lock);\n}\n"
        engine = _engine(tmp_path, plain, "counter_note")
        assert not engine.obs.edges, test
        claimed = plain.replace(f"\tif ({test})\n\t\tspin_lock(&counters_lock);\n\telse\n", f"\t{asserted}\n")
        engine = _engine(tmp_path, claimed, "counter_note")
        assert {e.held.how for e in engine.obs.edges.values()} == {"assert"}, test


def test_lockdep_nesting_is_no_recursion(tmp_path: Path):
    """The same lock taken again is recursive locking; told to lockdep as a nested acquisition
    (a subclass), or two locks of one class taken in address order, it is what lockdep accepts."""
    source = COUNTER + """\
void counter_pair(struct counter *a, struct counter *b)
{
	spin_lock(&a->lock);
	spin_lock_nested(&a->lock, SINGLE_DEPTH_NESTING);
	spin_unlock(&a->lock);
	spin_unlock(&a->lock);
}
"""
    assert not _engine(tmp_path, source, "counter_pair").obs.recursive
    plain = source.replace("spin_lock_nested(&a->lock, SINGLE_DEPTH_NESTING)", "spin_lock(&a->lock)")
    assert [r.instance for r in _engine(tmp_path, plain, "counter_pair").obs.recursive.values()] == ["&a->lock"]
    ordered = COUNTER + """\
static void counter_lock_two(struct counter *a, struct counter *b)
	__acquires(&a->lock) __acquires(&b->lock)
{
	if (a < b) {
		spin_lock(&a->lock);
		spin_lock_nested(&b->lock, SINGLE_DEPTH_NESTING);
	} else {
		spin_lock(&b->lock);
		spin_lock_nested(&a->lock, SINGLE_DEPTH_NESTING);
	}
}

void counter_move(struct counter *a, struct counter *b)
{
	counter_lock_two(a, b);
	a->n += b->n;
	b->n = 0;
	spin_unlock(&b->lock);
	spin_unlock(&a->lock);
}
"""
    engine = _engine(tmp_path, ordered, "counter_move")
    assert not engine.obs.recursive and not engine.obs.edges
    assert _verdicts(tmp_path, ordered, "counter_lock_two", "counter_move") == []


GUARDED = COUNTER + """\
static DEFINE_MUTEX(counter_mutex);

int counter_guarded(struct counter *c)
{
	guard(spinlock)(&c->lock);
	if (c->busy)
		return -EBUSY;
	c->n++;
	return 0;
}

void counter_scoped(struct counter *c)
{
	scoped_guard(spinlock, &c->lock) {
		if (c->busy)
			break;
		c->n++;
	}
	cond_resched();
}

void counter_sleepy(struct counter *c)
{
	guard(spinlock)(&c->lock);
	c->n++;
	cond_resched();
}
"""


def test_scope_guards_take_the_lock_at_the_statement_and_release_it_at_scope_exit(tmp_path: Path):
    """guard(spinlock)(&l) holds the spinlock to the end of its block, whichever return leaves it;
    scoped_guard() for its braces (a break leaves them): balanced, and a sleep inside the scope
    is a sleep under the spinlock while one after it is not."""
    assert _verdicts(tmp_path, GUARDED, "counter_guarded", "counter_scoped", "counter_sleepy") == []
    sleeps = {(s.site.function, tuple(h.cls for h in s.atomic))
              for root in ("counter_scoped", "counter_sleepy")
              for s in _engine(tmp_path, GUARDED, root).obs.sleeps.values()}
    assert sleeps == {("counter_sleepy", ("counter->lock",))}
    # the mutex guard sleeps itself and makes nothing atomic
    mutex = GUARDED.replace("guard(spinlock)(&c->lock);\n\tc->n++;\n\tcond_resched();",
                            "guard(mutex)(&counter_mutex);\n\tc->n++;\n\tcond_resched();")
    assert not _engine(tmp_path, mutex, "counter_sleepy").obs.sleeps
    # a class the guard table does not know takes no lock (and no call through a pointer is made)
    unknown = GUARDED.replace("guard(spinlock)(&c->lock);\n\tc->n++;", "guard(fd)(&c->lock);\n\tc->n++;")
    assert not _engine(tmp_path, unknown, "counter_sleepy").obs.sleeps


TRY_HELPER = COUNTER + """\
static int counter_trylock(struct counter *c)
{
	return spin_trylock(&c->lock);
}

void counter_poll(struct counter *c)
{
	if (c->busy || !counter_trylock(c)) {
		cond_resched();
		return;
	}
	c->n++;
	spin_unlock(&c->lock);
}
"""


def test_a_trylock_helper_on_the_right_of_or_runs_only_where_the_left_lets_it(tmp_path: Path):
    """`return spin_trylock(l)` makes counter_trylock() a trylock its callers test; on the right
    of `||` it runs only where c->busy is false, and the branch taken where the whole test is true
    holds no lock: no sleep under it, no imbalance, none in the helper."""
    assert not _engine(tmp_path, TRY_HELPER, "counter_poll").obs.sleeps
    assert _verdicts(tmp_path, TRY_HELPER, "counter_trylock", "counter_poll") == []
    inverted = TRY_HELPER.replace("!counter_trylock(c)", "counter_trylock(c)")
    sleeps = _engine(tmp_path, inverted, "counter_poll").obs.sleeps.values()
    assert {(s.what, tuple(h.cls for h in s.atomic)) for s in sleeps} == {("cond_resched", ("counter->lock",))}


FLAG = COUNTER + """\
void counter_page_done(struct counter *c)
{
	struct page *page = c->page;
	bool locked = true;

	lock_page(page);
	if (c->busy) {
		locked = false;
		unlock_page(page);
	}
	c->n++;
	if (locked)
		unlock_page(page);
}
"""


def test_a_local_flag_set_to_a_constant_decides_its_next_test(tmp_path: Path):
    """`locked = false; unlock_page(page);` then `if (locked) unlock_page(page);`: the flag says
    the second unlock is not reached where the first ran; without the flag it is a double unlock."""
    assert _verdicts(tmp_path, FLAG, "counter_page_done") == []
    unflagged = FLAG.replace("\tif (locked)\n\t\tunlock_page(page);\n", "\tunlock_page(page);\n")
    assert _verdicts(tmp_path, unflagged, "counter_page_done") == [("double-unlock", "counter_page_done",
                                                                     ("page_lock",))]
