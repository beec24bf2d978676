"""Re-checking a series: each state's analysis comes from the cache, keyed by everything it read.

A warm re-check must give the same findings as a cold one, and any change to the tree (a file
the series does not touch included) must be seen: both are shown by changing only a copy of
the fixture tree between runs that share one cache.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from patchlint.checks import analyse_series
from patchlint.cparse import load_profile
from patchlint.cparse.cache import SummaryCache
from patchlint.explore.series import model_findings
from patchlint.extract.engine import Engine
from patchlint.ingest import read_series
from patchlint.source.apply import apply_series
from patchlint.source.tree import open_tree

from .conftest import SERIES, TREE

RFC = SERIES / "storage-key-rfc.mbox"


def _applied(tree: Path):
    return apply_series(open_tree(str(tree)), read_series([str(RFC)]))


def _cpu1(findings) -> set[str]:
    inversion = next(f for f in findings if f.kind == "lock-order-inversion" and f.status == "new")
    return {step.function for step in inversion.trace if step.cpu == 1}


@pytest.fixture
def tree(tmp_path: Path) -> Path:
    copy = tmp_path / "linux"
    shutil.copytree(TREE, copy)
    return copy


def test_a_recheck_walks_nothing_and_a_change_anywhere_in_the_tree_is_seen(tree: Path, tmp_path: Path,
                                                                            monkeypatch):
    cache = SummaryCache(tmp_path / "cache")
    first = analyse_series(_applied(tree), cache=cache)
    assert "shrink_page_list" in _cpu1(first)

    with monkeypatch.context() as m:
        def no_walks(*args, **kwargs):
            raise AssertionError("a re-check of an unchanged tree walked a function")

        m.setattr(Engine, "run", no_walks)
        assert analyse_series(_applied(tree), cache=cache) == first

    # reclaim drops the page lock before unmapping: mm/vmscan.c is not in the series, and the
    # reverse path now comes from try_to_unmap()'s assertion instead
    vmscan = tree / "mm" / "vmscan.c"
    old = "\t\tif (page_mapped(page) && mapping) {"
    text = vmscan.read_text()
    assert old in text
    vmscan.write_text(text.replace(old, "\t\tunlock_page(page);\n" + old, 1))
    changed = analyse_series(_applied(tree), cache=cache)
    assert "shrink_page_list" not in _cpu1(changed) and "try_to_unmap" in _cpu1(changed)
    assert changed == analyse_series(_applied(tree), cache=SummaryCache(enabled=False))


def test_the_models_verdicts_are_kept_per_series_and_follow_the_tree(tree: Path, tmp_path: Path, monkeypatch):
    cache = SummaryCache(tmp_path / "cache")
    profile = load_profile("s390")
    # a run the clock cut short is not kept: the next run with time to finish decides
    cut = model_findings(_applied(tree), profile=profile, cache=cache, max_seconds=0.0)
    assert {f.kind for f in cut} == {"analysis-incomplete"}
    first = model_findings(_applied(tree), profile=profile, cache=cache)
    assert ("fixed", "kernel-bug") in {(f.status, f.kind) for f in first}
    with monkeypatch.context() as m:
        def no_selection(*args, **kwargs):
            raise AssertionError("a re-check of an unchanged series selected scenarios again")

        m.setattr("patchlint.explore.series.reach", no_selection)
        again = model_findings(_applied(tree), profile=profile, cache=cache, max_seconds=0.0)
    assert again == first

    # swap_aops that only set PG_dirty: no BUG before the RFC, so nothing for it to fix
    swap_state = tree / "mm" / "swap_state.c"
    old = ".set_page_dirty\t= __set_page_dirty_nobuffers,"
    text = swap_state.read_text()
    assert old in text
    swap_state.write_text(text.replace(old, ".set_page_dirty\t= __set_page_dirty_no_writeback,"))
    changed = model_findings(_applied(tree), profile=profile, cache=cache)
    assert "kernel-bug" not in {f.kind for f in changed}


def test_a_patch_deleting_an_arch_header_changes_the_configuration(tmp_path: Path):
    """The arch headers' feature macros are cached under the tree's identity: a header the
    patch deletes must not be answered with the macros it defined in the tree."""
    from patchlint.cparse.index import FunctionIndex

    header = "arch/s390/include/asm/pgtable.h"
    tree = open_tree(str(TREE))

    def defined(overlay: dict, cache: SummaryCache) -> bool:
        index = FunctionIndex(tree, load_profile("s390"), cache, overlay=overlay)
        return "__HAVE_ARCH_PAGE_TEST_AND_CLEAR_DIRTY" in index.defines()

    cache = SummaryCache(tmp_path / "cache")
    assert defined({}, cache)
    assert not defined({header: None}, cache)
    assert not defined({header: None}, SummaryCache(tmp_path / "cache"))
