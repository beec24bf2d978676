"""Replay as the judge of static findings: each verdict comes from the fixture's code, and
changing only the fixture's code flips it."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from patchlint import analysis
from patchlint.workflow.config import load_config

from .conftest import TREE, run_patchlint

HEAD = """\
#include <linux/spinlock.h>

struct pair {
	spinlock_t a_lock;
	spinlock_t b_lock;
	int state;
};

#define PAIR_TAKE_B	0x1

void pair_forward(struct pair *p)
{
	spin_lock(&p->a_lock);
	spin_lock(&p->b_lock);
	p->state = 1;
	spin_unlock(&p->b_lock);
	spin_unlock(&p->a_lock);
}
"""

# b_lock then a_lock, but only for a caller that asks with a flag: pair_touch() never does
FLAG = HEAD + """
static void pair_update(struct pair *p, unsigned int flags)
{
	spin_lock(&p->b_lock);
	if (flags & PAIR_TAKE_B) {
		spin_lock(&p->a_lock);
		p->state++;
		spin_unlock(&p->a_lock);
	}
	spin_unlock(&p->b_lock);
}

void pair_touch(struct pair *p)
{
	pair_update(p, 0);
}
"""

# b_lock is taken only without q, and the callee taking a_lock returns at once without q
CORRELATED = HEAD + """
static void pair_settle(struct pair *p, struct pair *q)
{
	if (!q)
		return;
	spin_lock(&p->a_lock);
	p->state = 2;
	spin_unlock(&p->a_lock);
}

void pair_settle_all(struct pair *p, struct pair *q)
{
	if (!q)
		spin_lock(&p->b_lock);
	pair_settle(p, q);
	if (!q)
		spin_unlock(&p->b_lock);
}
"""

# a callee that drops the caller's lock before it takes the other one
DROPPED = HEAD + """
static void pair_relock(struct pair *p)
{
	spin_unlock(&p->b_lock);
	spin_lock(&p->a_lock);
	p->state = 3;
	spin_unlock(&p->a_lock);
	spin_lock(&p->b_lock);
}

void pair_cycle(struct pair *p)
{
	spin_lock(&p->b_lock);
	pair_relock(p);
	spin_unlock(&p->b_lock);
}
"""


def _scan(tmp_path: Path, source: str, model: bool = True) -> list:
    tree = tmp_path / "linux"
    if not tree.exists():
        shutil.copytree(TREE, tree)
    (tree / "mm" / "pair.c").write_text(source)
    report = analysis.scan(str(tree), ["mm/pair.c"], load_config(str(tree), {"model": model}))
    return [f for f in report.findings if f.kind == "lock-order-inversion"]


def _one(tmp_path: Path, source: str):
    found = _scan(tmp_path, source)
    assert len(found) == 1, found
    return found[0]


def test_a_constant_flag_that_skips_the_lock_refutes_and_one_that_takes_it_confirms(tmp_path):
    refuted = _one(tmp_path, FLAG)
    assert refuted.replay.verdict == "refuted" and refuted.severity == "check"
    assert "mm/pair.c:23: `flags & PAIR_TAKE_B` is false (flags = 0)" in refuted.replay.reason
    confirmed = _one(tmp_path, FLAG.replace("pair_update(p, 0);", "pair_update(p, PAIR_TAKE_B);"))
    assert confirmed.replay.verdict == "confirmed" and confirmed.severity == "error"
    events = [(s.cpu, s.event) for s in confirmed.replay.trace]
    assert (0, "lock(pair->a_lock)") in events or (1, "lock(pair->a_lock)") in events
    assert {s.cpu for s in confirmed.replay.trace} == {0, 1}
    # every step is a line of the tree's code
    assert all(s.file == "mm/pair.c" and s.line for s in confirmed.replay.trace)


def test_a_correlated_condition_refutes_and_an_independent_one_confirms(tmp_path):
    refuted = _one(tmp_path, CORRELATED)
    assert refuted.replay.verdict == "refuted", refuted.replay
    assert "pair_settle" in refuted.replay.reason
    independent = CORRELATED.replace("\tpair_settle(p, q);", "\tpair_settle(p, p);")
    assert _one(tmp_path, independent).replay.verdict == "confirmed"


def test_a_callee_that_drops_the_held_lock_refutes(tmp_path):
    refuted = _one(tmp_path, DROPPED)
    assert refuted.replay.verdict == "refuted", refuted.replay
    assert "without holding pair->b_lock" in refuted.replay.reason and "released at mm/pair.c:" in refuted.replay.reason
    kept = DROPPED.replace("\tspin_unlock(&p->b_lock);\n\tspin_lock(&p->a_lock);", "\tspin_lock(&p->a_lock);")
    kept = kept.replace("\tspin_unlock(&p->a_lock);\n\tspin_lock(&p->b_lock);\n}", "\tspin_unlock(&p->a_lock);\n}")
    assert _one(tmp_path, kept).replay.verdict == "confirmed"


def test_without_the_model_nothing_is_replayed(tmp_path):
    (found,) = _scan(tmp_path, FLAG, model=False)
    assert found.replay is None and found.severity == "error"


def test_reports_carry_the_verdict(tmp_path):
    _scan(tmp_path, FLAG)  # writes the tree
    tree = str(tmp_path / "linux")
    text = run_patchlint("scan", "--tree", tree, "mm/pair.c").stdout.decode()
    assert "LOCK_ORDER_INVERSION" not in text and "1 refuted by replay" in text
    shown = run_patchlint("scan", "--tree", tree, "--show-refuted", "mm/pair.c").stdout.decode()
    assert "LOCK_ORDER_INVERSION" in shown and "replayed: refuted: " in shown

    import json

    doc = json.loads(run_patchlint("scan", "--tree", tree, "--format", "json", "mm/pair.c").stdout)
    (inv,) = [f for f in doc["findings"] if f["kind"] == "lock-order-inversion"]
    assert inv["replay"]["verdict"] == "refuted" and inv["replay"]["reason"] and inv["replay"]["trace"] == []
    assert "witnesses" not in inv
    sarif = json.loads(run_patchlint("scan", "--tree", tree, "--format", "sarif", "mm/pair.c").stdout)
    (res,) = [r for r in sarif["runs"][0]["results"] if r["ruleId"] == "lock-order-inversion"]
    assert res["suppressions"][0]["kind"] == "external" and "refuted" in res["suppressions"][0]["justification"]


def test_a_patch_whose_new_inversion_is_refuted_passes_the_gate(tmp_path):
    """check: the patch adds pair_touch(), which asks pair_update() for no b_lock: the new
    inversion is refuted, so it neither fails the check nor shows in the gate formats."""
    import difflib

    tree = tmp_path / "linux"
    shutil.copytree(TREE, tree)
    before = FLAG.split("void pair_touch(")[0]
    (tree / "mm" / "pair.c").write_text(before)
    diff = difflib.unified_diff(before.splitlines(True), FLAG.splitlines(True), "a/mm/pair.c", "b/mm/pair.c")
    patch = tmp_path / "0001-pair.patch"
    patch.write_text("From: T <t@example.org>\nSubject: [PATCH] mm: pair_touch\n\nx\n\n"
                     "Signed-off-by: T <t@example.org>\n---\n" + "".join(diff))
    args = ("check", "--tree", str(tree), "--fail-on", "new")
    for fmt in ("terse", "github"):
        proc = run_patchlint(*args, "--format", fmt, str(patch))
        assert b"LOCK_ORDER_INVERSION" not in proc.stdout and proc.returncode == 0, proc.stdout
    import json

    doc = json.loads(run_patchlint(*args, "--format", "json", str(patch)).stdout)
    (inv,) = [f for f in doc["findings"] if f["kind"] == "lock-order-inversion"]
    assert inv["status"] == "new" and inv["replay"]["verdict"] == "refuted" and inv["severity"] == "check"
    # the same patch asking for b_lock: confirmed, an error, and the gate fails
    confirmed = FLAG.replace("pair_update(p, 0);", "pair_update(p, PAIR_TAKE_B);")
    diff = difflib.unified_diff(before.splitlines(True), confirmed.splitlines(True), "a/mm/pair.c", "b/mm/pair.c")
    patch.write_text("From: T <t@example.org>\nSubject: [PATCH] mm: pair_touch\n\nx\n\n"
                     "Signed-off-by: T <t@example.org>\n---\n" + "".join(diff))
    proc = run_patchlint(*args, "--format", "terse", str(patch))
    assert b"ERROR: LOCK_ORDER_INVERSION" in proc.stdout and proc.returncode == 1, proc.stdout


def test_a_refuted_finding_fails_the_check_at_no_level():
    """fail-on any is "everything not fixed" -- but a finding no run of whose paths can happen is
    not one to stop a series for: the exit status and the gate formats agree on that."""
    from patchlint.checks import fails
    from patchlint.findings import Finding, Replay

    found = Finding(kind="lock-order-inversion", status="existing", severity="error", patch=1, file="mm/pair.c",
                    line=3, function="pair_touch", message="m")
    assert fails([found], "any") and not fails([found], "new")
    refuted = found.judged(Replay("refuted", "mm/pair.c:9: `flags & PAIR_TAKE_B` is false"))
    assert not any(fails([refuted], level) for level in ("new-error", "new", "any", "never"))
    assert fails([found.judged(Replay("unknown", "budget"))], "any")


@pytest.mark.parametrize("source", [FLAG, CORRELATED, DROPPED])
def test_replay_is_deterministic(tmp_path, source):
    first = _scan(tmp_path, source)
    assert first == _scan(tmp_path, source)


KTREE = __import__("os").environ.get("PATCHLINT_KERNEL_TREE")
real_tree = pytest.mark.skipif(not KTREE, reason="PATCHLINT_KERNEL_TREE is not set (.ci/run sets it to a 6.12 tree)")


@real_tree
def test_on_6_12_a_folio_lock_under_the_ptl_is_confirmed_with_the_trees_own_paths(tmp_path):
    """zap_present_folio_ptes() taking folio_lock() under the PTL: the inversion against code
    that holds a folio lock and takes the PTL is replayed over 6.12's own functions."""
    import difflib

    from .conftest import check_series

    root = Path(KTREE)
    old = (root / "mm" / "memory.c").read_text()
    anchor = "\t\tclear_full_ptes(mm, addr, pte, nr, tlb->fullmm);\n"
    new = old.replace(anchor, "\t\tfolio_lock(folio);\n" + anchor + "\t\tfolio_unlock(folio);\n")
    diff = difflib.unified_diff(old.splitlines(True), new.splitlines(True), "a/mm/memory.c", "b/mm/memory.c")
    patch = tmp_path / "lock.patch"
    patch.write_text("From: T <t@example.org>\nSubject: [PATCH] mm: lock\n\nx\n\nSigned-off-by: T <t@example.org>\n"
                     "---\n" + "".join(diff))
    report = check_series(root, [patch], model=True, cache_dir=tmp_path / "cache")
    (inv,) = [f for f in report.findings if f.kind == "lock-order-inversion" and f.status == "new"]
    assert inv.replay.verdict == "confirmed" and inv.severity == "error", inv.replay
    assert inv.replay.trace[-2:][0].function == "zap_present_folio_ptes" or \
        any(s.function == "zap_present_folio_ptes" and s.cpu == 0 for s in inv.replay.trace)
    assert {s.cpu for s in inv.replay.trace} == {0, 1}


@real_tree
def test_on_6_12_a_constant_flag_refutes_the_sleep_and_the_inversion_through_filemap_get_folio():
    """madvise_free_pte_range() reaches __filemap_get_folio() under the PTL, but
    filemap_get_folio() passes fgp_flags = 0: folio_lock() there is never called."""
    report = analysis.scan(KTREE, ["mm/madvise.c", "mm/filemap.c"], load_config(KTREE, {"model": True}))
    judged = {(f.kind, f.line): f.replay for f in report.findings if f.replay is not None}
    sleep = judged[("sleep-in-atomic", next(line for kind, line in judged if kind == "sleep-in-atomic"))]
    assert sleep.verdict == "refuted"
    assert "`fgp_flags & FGP_LOCK` is false (fgp_flags = 0)" in sleep.reason


# the lock a helper took is handed back through a struct member and released by another helper:
# the interpreter cannot follow the store, so it cannot tell the release is of the lock held
HANDED = """\
#include <linux/spinlock.h>

struct table {
	spinlock_t lock;
};

struct walk_args {
	spinlock_t *lock;
	int found;
};

static void walk_start(struct table *t, struct walk_args *args)
{
	spin_lock(&t->lock);
	args->lock = &t->lock;
}

static void walk_end(struct walk_args *args)
{
	if (args->lock)
		spin_unlock(args->lock);
}

void table_scan(struct table *t)
{
	struct walk_args args = { .found = 0 };

	walk_start(t, &args);
	walk_end(&args);
	msleep(1);
}
"""


def test_a_release_through_a_struct_member_is_never_a_confirmation(tmp_path):
    """6.12's generic_access_phys(): follow_pfnmap_start() keeps the PTL in args.lock and
    follow_pfnmap_end() releases it; a run that reads args.lock as its initializer's zero would
    confirm a sleep under the PTL that cannot happen."""
    def sleeps(source: str):
        tree = tmp_path / "linux"
        if not tree.exists():
            shutil.copytree(TREE, tree)
        (tree / "mm" / "pair.c").write_text(source)
        report = analysis.scan(str(tree), ["mm/pair.c"], load_config(str(tree), {"model": True}))
        (found,) = [f for f in report.findings if f.kind == "sleep-in-atomic"]
        return found

    handed = sleeps(HANDED)
    assert handed.replay.verdict == "unknown", handed.replay
    assert "`args->lock`" in handed.replay.reason  # the release the run cannot tie to the lock
    kept = sleeps(HANDED.replace("\twalk_end(&args);\n", ""))
    assert kept.replay.verdict == "confirmed", kept.replay
