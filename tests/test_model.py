"""The mm model: state fingerprints, the primitive registry, the interpreter on fixture code."""

from __future__ import annotations

import os
import subprocess
import sys

from patchlint.cparse import load_profile
from patchlint.cparse.cache import SummaryCache
from patchlint.cparse.index import FunctionIndex
from patchlint.model import primitives as P
from patchlint.model.interp import Machine
from patchlint.model.state import Obj, Page, Space, State, fingerprint
from patchlint.source.tree import open_tree

from .conftest import ROOT, TREE


def _state() -> State:
    page = Page("page", flags=("swapcache", "uptodate"), mapping=Obj("anon", "anon_vma"), private=42,
                mapcount=0, key_changed=1, pte="present")
    return State((page,), (Space("swapper_space", "swap_aops", ((42, "page"),)),))


def test_state_is_frozen_hashable_and_fingerprint_is_stable_across_processes():
    s = _state()
    assert hash(s) == hash(_state()) and s == _state()
    code = ("from tests.test_model import _state; print(_state().fingerprint())")
    other = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True,
                           env={**os.environ, "PYTHONHASHSEED": "123"}, check=True).stdout.strip()
    assert other == s.fingerprint() == fingerprint(_state())
    assert s.with_page(s.page("page").with_flag("dirty", True)).fingerprint() != s.fingerprint()


def test_every_primitive_is_documented_with_a_mode_and_kind():
    assert P.REGISTRY
    for prim in P.REGISTRY.values():
        assert prim.doc and prim.mode in ("override", "fallback") and prim.kind in ("pure", "shared", "choice")


def test_radix_tag_set_on_a_missing_slot_is_a_bug_and_on_a_present_one_a_tag():
    s = _state()
    slot = P.Addr(Obj("space", "swapper_space"), "page_tree")
    ok = P.lookup("radix_tree_tag_set").impl(s, 0, (slot, 42, P.Sym("PAGECACHE_TAG_DIRTY")), P.Ctx())
    assert ok.bug is None and (42, "PAGECACHE_TAG_DIRTY") in ok.state.space("swapper_space").tags
    gone = P.lookup("radix_tree_delete").impl(s, 0, (slot, 42), P.Ctx()).state
    bad = P.lookup("radix_tree_tag_set").impl(gone, 0, (slot, 42, P.Sym("PAGECACHE_TAG_DIRTY")), P.Ctx())
    assert bad.bug and "BUG_ON(slot == NULL)" in bad.bug


def test_trylock_fails_while_another_thread_holds_the_page_lock():
    s = _state()
    page = Obj("page", "page")
    locked = P.lookup("trylock_page").impl(s, 1, (page,), P.Ctx())
    assert locked.value == 1 and locked.state.owner("page_lock:page") == 1 and locked.state.page("page").has("locked")
    failed = P.lookup("trylock_page").impl(locked.state, 0, (page,), P.Ctx())
    assert failed.value == 0 and failed.spin_on == "page_lock:page"


def _machine(profile: str) -> Machine:
    return Machine(FunctionIndex(open_tree(str(TREE)), load_profile(profile), SummaryCache(enabled=False)))


def test_the_profile_decides_page_test_and_clear_dirty():
    """s390 resolves to the tree's storage-key function, the generic profile to asm-generic's (0)."""
    from patchlint.cparse.defs import FunctionDef
    from patchlint.cparse.preproc import MacroDef

    s390 = _machine("s390").resolve("page_test_and_clear_dirty")
    assert isinstance(s390, FunctionDef) and s390.file.startswith("arch/s390/")
    m = _machine("x86_64")
    generic = m.resolve("page_test_and_clear_dirty")
    assert isinstance(generic, MacroDef) and generic.file == "include/asm-generic/pgtable.h"
    from patchlint.cparse import ir
    expr = m.macro_expr(generic)
    assert isinstance(expr, ir.Literal) and expr.text == "0"


def test_function_pointers_are_read_from_the_trees_initializers():
    m = _machine("s390")
    ops = m.member(Obj("space", "swapper_space"), "a_ops")
    assert ops == Obj("ops", "swap_aops")
    assert m.member(ops, "set_page_dirty") == Obj("fn", "__set_page_dirty_nobuffers")
