"""Real locking bugs of the 3.0 -> 3.3 era, put back on a Linux 3.3 tree as an unaware developer
would, each as a one-patch series (issue 16).  The patches are made here, at test time, from the
tree named by PATCHLINT_KERNEL_TREE_3X (a 3.3.x checkout): no kernel text is kept in this
repository.  Each must be a new finding of its kind at the function."""

from __future__ import annotations

import difflib
import os
from dataclasses import dataclass
from pathlib import Path

import pytest

TREE_3X = os.environ.get("PATCHLINT_KERNEL_TREE_3X")
pytestmark = pytest.mark.skipif(not TREE_3X, reason="PATCHLINT_KERNEL_TREE_3X is not set (a Linux 3.3.x tree)")


@dataclass(frozen=True)
class Bug:
    name: str
    path: str
    edits: tuple[tuple[str, str], ...]  # (text of the 3.3 file, what the patch makes of it)
    kind: str
    function: str


BUGS = [
    # kvm: the stop intercept stores the vcpu's status (copy_to_guest: may fault, sleeps) with
    # the local interrupt lock held, as 3.1 did before the lock was dropped around it
    Bug("stop", "arch/s390/kvm/intercept.c",
        (("\t\t/* store status must be called unlocked. Since local_int.lock\n"
          "\t\t * only protects local_int.* and not guest memory we can give\n"
          "\t\t * up the lock here */\n"
          "\t\tspin_unlock_bh(&vcpu->arch.local_int.lock);\n", ""),),
        "sleep-in-atomic", "__copy_to_guest_fast"),
    # memcg: a GFP_KERNEL allocation in the bad-page report, which zap_pte_range() reaches under
    # the PTL through print_bad_pte() -> dump_page(); the function is built only with DEBUG_VM
    Bug("memcg", "mm/memcontrol.c",
        (("\t\tprintk(KERN_ALERT \"pc:%p pc->flags:%lx pc->mem_cgroup:%p\\n\",\n"
          "\t\t       pc, pc->flags, pc->mem_cgroup);\n",
          "\t\tchar *path = kmalloc(PATH_MAX, GFP_KERNEL);\n\n"
          "\t\tprintk(KERN_ALERT \"pc:%p pc->flags:%lx pc->mem_cgroup:%p\\n\",\n"
          "\t\t       pc, pc->flags, pc->mem_cgroup);\n"
          "\t\tkfree(path);\n"),),
        "sleep-in-atomic", "mem_cgroup_print_bad_page"),
    # migrate: an error path moved so that a page whose trylock failed is unlocked (3.3's
    # hugepage migration once jumped past its unlock; this jumps onto it): sparse's "unexpected
    # unlock", a lock-imbalance (a second unlock of a page the path had locked is double-unlock)
    Bug("huge", "mm/migrate.c",
        (("\t\tif (!force || mode != MIGRATE_SYNC)\n\t\t\tgoto out;\n\t\tlock_page(hpage);\n",
          "\t\tif (!force || mode != MIGRATE_SYNC)\n\t\t\tgoto unlock;\n\t\tlock_page(hpage);\n"),
         ("\t\tput_anon_vma(anon_vma);\n\tunlock_page(hpage);\n\nout:\n\tif (rc != -EAGAIN) {\n",
          "\t\tput_anon_vma(anon_vma);\nunlock:\n\tunlock_page(hpage);\n\n\tif (rc != -EAGAIN) {\n")),
        "lock-imbalance", "unmap_and_move_huge_page"),
]


def _patch(tmp_path: Path, bug: Bug) -> Path:
    root = Path(TREE_3X)
    old = new = (root / bug.path).read_text()
    for before, after in bug.edits:
        assert new.count(before) == 1, f"{bug.path} is not the 3.3 text this test expects"
        new = new.replace(before, after)
    diff = difflib.unified_diff(old.splitlines(True), new.splitlines(True), f"a/{bug.path}", f"b/{bug.path}")
    patch = tmp_path / f"{bug.name}.patch"
    patch.write_text(f"From: T <t@example.org>\nSubject: [PATCH] {bug.name}\n\nx\n\n"
                     "Signed-off-by: T <t@example.org>\n---\n" + "".join(diff))
    return patch


@pytest.mark.parametrize("bug", BUGS, ids=["stop", "memcg", "huge"])
def test_a_real_3x_bug_put_back_is_a_new_finding_of_its_kind(tmp_path, bug):
    from patchlint import analysis
    from patchlint.workflow.config import load_config

    inputs = analysis.load([str(_patch(tmp_path, bug))], tree=TREE_3X)
    report = analysis.check(inputs, load_config(None, {"model": False}))
    new = [f for f in report.findings if f.status == "new" and f.kind == bug.kind]
    assert any(f.function == bug.function for f in new), [(f.kind, f.function, f.message) for f in report.findings]
