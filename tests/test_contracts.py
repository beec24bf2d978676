"""Kernel rules kept as data in grammars/locks.toml and read from the tree: callbacks the kernel
calls with the page locked ([[contract]]), and the locks that pin a page for marking it dirty in
the tree's kernel version ([[dirtying.pins]]).  Each flips when only the fixture's code does."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

AOPS = """\
#include <linux/mm.h>

static int foo_writepage(struct page *page, struct writeback_control *wbc)
{{
	set_page_dirty(page);
	unlock_page(page);
	return 0;
}}

static const struct address_space_operations foo_aops = {{
	{binding}
}};
"""

PTL = """\
#include <linux/mm.h>

void foo_zap_one(struct mm_struct *mm, struct folio *folio)
{
	spin_lock(&mm->page_table_lock);
	folio_mark_dirty(folio);
	spin_unlock(&mm->page_table_lock);
}
"""


def _scan(tmp_path: Path, version: tuple[int, int], files: dict[str, str]) -> list[dict]:
    root = tmp_path / "linux"
    (root / "mm").mkdir(parents=True)
    (root / "Makefile").write_text(f"VERSION = {version[0]}\nPATCHLEVEL = {version[1]}\nSUBLEVEL = 0\n")
    for path, text in files.items():
        (root / path).write_text(text)
    proc = subprocess.run([sys.executable, "-m", "patchlint", "scan", "--no-model", "--format", "json",
                           "--fail-on", "never", "--tree", str(root), "mm"], capture_output=True, timeout=300)
    assert proc.returncode == 0, proc.stderr.decode()
    return json.loads(proc.stdout)["findings"]


def _unsafe(findings: list[dict]) -> list[str]:
    return [f["function"] for f in findings if f["kind"] == "unsafe-set-page-dirty"]


def test_a_writepage_callback_receives_its_page_locked(tmp_path):
    bound = _scan(tmp_path / "a", (3, 3), {"mm/foo.c": AOPS.format(binding=".writepage\t= foo_writepage,")})
    assert _unsafe(bound) == []
    # the same function put in a member with no such contract: nothing says the page is locked
    loose = _scan(tmp_path / "b", (3, 3), {"mm/foo.c": AOPS.format(binding=".swap_deactivate = foo_writepage,")})
    assert _unsafe(loose) == ["foo_writepage"]


def test_the_ptl_pins_a_folio_for_dirtying_from_5_16_not_before(tmp_path):
    assert _unsafe(_scan(tmp_path / "new", (6, 12), {"mm/zap.c": PTL})) == []
    assert _unsafe(_scan(tmp_path / "old", (3, 3), {"mm/zap.c": PTL})) == ["foo_zap_one"]
