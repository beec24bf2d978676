"""smatch's locking tests (validation/sm_locking*.c of smatch), mirrored: each expectation of
those files has a counterpart here, written from scratch in kernel style, that does to its lock
what the smatch function does; the comment above each names the file and the expectation it
mirrors.  smatch's "double unlocked 'x'" is a double-unlock finding on x, its "inconsistent
returns 'x'" a lock-imbalance finding on x whose evidence is a return holding x and one
without.  benchmarks/peer_suites.py runs smatch's own files, given a copy of them.
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

DEVICE = """\
/* drivers/example/queue.c - a device queue with two locks */
struct queue_dev {
	spinlock_t qlock;
	spinlock_t stat_lock;
	unsigned long flags;
	int depth;
};

extern int queue_stopped;
extern void queue_kick(void);
extern void queue_account(struct queue_dev *d);

/* try the queue lock with interrupts saved; on failure they are restored */
#define queue_trylock_irqsave(d, fl)				\\
({								\\
	local_irq_save(fl);					\\
	spin_trylock(&(d)->qlock) ? 1 : ({ local_irq_restore(fl); 0; });	\\
})

/* sm_locking2.c: "double unlocked 'mylock'" -- released once after the trylock, then again
 * under a condition on the same path */
void queue_flush(struct queue_dev *d)
{
	if (!spin_trylock(&d->qlock))
		return;
	d->depth = 0;
	spin_unlock(&d->qlock);
	if (queue_stopped)
		spin_unlock(&d->qlock);
}

/* sm_locking3.c: "double unlocked 'mylock'" and "inconsistent returns 'mylock'" -- a trylock
 * as a statement expression's value, then one inside two ternaries */
void queue_poll(struct queue_dev *d)
{
	if (!({ queue_kick(); queue_kick(); spin_trylock(&d->qlock); }))
		return;
	queue_kick();
	spin_unlock(&d->qlock);

	if ((spin_trylock(&d->qlock) ? 1 : 0) ? 1 : 0)
		return;
	queue_kick();
	spin_unlock(&d->qlock);
}

/* sm_locking4.c: "inconsistent returns 'mylock'" -- conditions that are constants decide: the
 * caller's lock is dropped, one return leaves it dropped, the others take it back */
void queue_requeue(struct queue_dev *d)
{
	if (1)
		spin_unlock(&d->qlock);
	queue_kick();
	if (queue_stopped)
		return;
	if (!0)
		spin_lock(&d->qlock);
	if (0)
		spin_unlock(&d->qlock);
	if (d->depth)
		return;
	if (!1)
		spin_lock(&d->qlock);
}

/* sm_locking6.c: "inconsistent returns 'lock'" -- a trylock macro that saves interrupts,
 * succeeding on the last return only */
void queue_restart(struct queue_dev *d)
{
	unsigned long fl;

	if (!queue_trylock_irqsave(d, fl))
		return;
	spin_unlock_irqrestore(&d->qlock, fl);
	if (queue_stopped)
		return;
	if (queue_trylock_irqsave(d, fl))
		return;
	return;
}
"""


@pytest.fixture(scope="module")
def findings(tmp_path_factory: pytest.TempPathFactory) -> list[Finding]:
    tree = tmp_path_factory.mktemp("smatch") / "linux"
    shutil.copytree(TREE, tree)
    (tree / "mm" / "queue.c").write_text(DEVICE)
    index = FunctionIndex(open_tree(str(tree)), load_profile(), SummaryCache(enabled=False))
    names = {f.name for f in index.parsed("mm/queue.c").functions}
    return [f for f in static_findings(analyse_scope(index, names), None)
            if f.kind in ("lock-imbalance", "double-unlock") and f.file == "mm/queue.c"]


def _of(findings: list[Finding], function: str) -> list[Finding]:
    return [f for f in findings if f.function == function and "queue_dev->qlock" in f.locks]


def test_sm_locking2_double_unlock_after_a_trylock(findings: list[Finding]):
    double = [f for f in _of(findings, "queue_flush") if f.kind == "double-unlock"]
    assert [(s.event, s.line) for s in double[0].chain] == [("unlock(queue_dev->qlock)", 27),
                                                           ("unlock(queue_dev->qlock) again", 29)]


def test_sm_locking3_trylocks_in_a_statement_expression_and_nested_ternaries(findings: list[Finding]):
    mine = _of(findings, "queue_poll")
    double = [f for f in mine if f.kind == "double-unlock"]
    # the second trylock failed: its unlock at the end is the second of the path's first lock
    assert [(s.line) for s in double[0].chain] == [39, 44]
    returns = [f for f in mine if f.kind == "lock-imbalance"]
    assert [(s.event, s.line) for s in returns[0].chain][1:] == [("return holding queue_dev->qlock", 42),
                                                                 ("return without queue_dev->qlock", 37)]


def test_sm_locking4_constant_conditions_decide_which_returns_hold_the_lock(findings: list[Finding]):
    returns = [f for f in _of(findings, "queue_requeue") if f.kind == "lock-imbalance" and
               not (f.identity or "").endswith("|unlock")]
    assert len(returns) == 1
    events = {(s.event, s.line) for s in returns[0].chain}
    assert ("return without queue_dev->qlock", 55) in events and ("return holding queue_dev->qlock", 61) in events


def test_sm_locking6_a_trylock_macro_with_interrupts_saved(findings: list[Finding]):
    returns = [f for f in _of(findings, "queue_restart") if f.kind == "lock-imbalance"]
    assert len(returns) == 1
    events = {(s.event, s.line) for s in returns[0].chain}
    assert ("return holding queue_dev->qlock", 78) in events
    assert not [f for f in findings if f.function == "queue_restart" and f.kind == "double-unlock"]


def test_no_finding_smatch_does_not_expect_on_the_lock_it_checks(findings: list[Finding]):
    """Besides the expectations above, nothing on the lock smatch checks: the stat lock is never
    touched, and queue_requeue()'s dropping of its caller's lock is judged from the caller's
    side, not as a lock it took (sparse would add "unexpected unlock" where nothing calls it)."""
    assert not [f for f in findings if "queue_dev->stat_lock" in f.locks]
    kinds = sorted((f.function, f.kind) for f in findings if "queue_dev->qlock" in f.locks and
                   not (f.identity or "").endswith("|unlock"))
    assert kinds == [("queue_flush", "double-unlock"), ("queue_poll", "double-unlock"),
                     ("queue_poll", "lock-imbalance"), ("queue_requeue", "lock-imbalance"),
                     ("queue_restart", "lock-imbalance")]
