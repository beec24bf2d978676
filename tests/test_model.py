"""The mm model: state fingerprints, the primitive registry, the interpreter on fixture code."""

from __future__ import annotations

import os
import subprocess
import sys

from patchlint.cparse import load_profile
from patchlint.cparse.cache import SummaryCache
from patchlint.cparse.index import FunctionIndex
from patchlint.model import primitives as P
from patchlint.model.machine import Machine
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


def test_xarray_marks_a_present_entry_and_leaves_a_missing_one_alone():
    s = _state()
    xa = P.Addr(Obj("space", "swapper_space"), "i_pages")
    marked = P.lookup("__xa_set_mark").impl(s, 0, (xa, 42, P.Sym("PAGECACHE_TAG_DIRTY")), P.Ctx())
    assert marked.bug is None and marked.state.space("swapper_space").tags == ((42, "PAGECACHE_TAG_DIRTY"),)
    missing = P.lookup("__xa_set_mark").impl(s, 0, (xa, 7, P.Sym("PAGECACHE_TAG_DIRTY")), P.Ctx())
    assert missing.bug is None and missing.state == s
    erased = P.lookup("__xa_erase").impl(marked.state, 0, (xa, 42), P.Ctx())
    assert erased.value == Obj("page", "page") and erased.state.space("swapper_space").radix == ()
    assert P.lookup("xa_load").impl(erased.state, 0, (xa, 42), P.Ctx()).value == 0
    assert P.lookup("page_folio").impl((Obj("page", "page"),), P.Ctx()) == Obj("page", "page")
    assert P.lookup("folio_test_swapcache").impl(s, 0, (Obj("page", "page"),), P.Ctx()).value == 1
    assert P.lookup("folio_test_swapbacked").impl(s, 0, (Obj("page", "page"),), P.Ctx()).value == 1


XA_TREE = {
    "Makefile": "VERSION = 6\nPATCHLEVEL = 12\nSUBLEVEL = 0\n",
    "include/linux/xarray.h": "#define xa_lock_irq(xa)\tspin_lock_irq(&(xa)->xa_lock)\n"
                              "#define xa_unlock_irq(xa)\tspin_unlock_irq(&(xa)->xa_lock)\n",
    "mm/order.c": "#include <linux/xarray.h>\n\n"
                  "void mark_then_lock(struct address_space *mapping, struct page *page)\n{\n"
                  "\txa_lock_irq(&mapping->i_pages);\n\tlock_page(page);\n\tunlock_page(page);\n"
                  "\txa_unlock_irq(&mapping->i_pages);\n}\n\n"
                  "void lock_then_mark(struct address_space *mapping, struct page *page)\n{\n"
                  "\tlock_page(page);\n\tspin_lock_irq(&mapping->i_pages.xa_lock);\n"
                  "\tspin_unlock_irq(&mapping->i_pages.xa_lock);\n\tunlock_page(page);\n}\n",
}
XA_SCENARIO = b"""C xa-lock-order

{
\tprofile = s390;
\tpage.flags = uptodate;
\tpage.mapping = mapping;
}

P0(struct page *page, struct address_space *mapping)
{
\tmark_then_lock(mapping, page);
}

P1(struct page *page, struct address_space *mapping)
{
\tlock_then_mark(mapping, page);
}

exists (deadlock)
"""


def test_the_xarray_lock_is_one_lock_however_the_code_spells_it(tmp_path):
    """xa_lock_irq(&mapping->i_pages) (6.x's macro) and spin_lock_irq(&mapping->i_pages.xa_lock)
    take the same lock, so the two orders against the page lock deadlock."""
    from patchlint.explore.explorer import explore
    from patchlint.explore.scenario import parse

    for path, text in XA_TREE.items():
        (tmp_path / path).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / path).write_text(text)
    index = FunctionIndex(open_tree(str(tmp_path)), load_profile("s390"), SummaryCache(enabled=False))
    r = explore(index, parse(XA_SCENARIO, "xa.litmus"))
    assert r.complete and "deadlock" in r.kinds(), r.hazards
    assert "mapping.i_pages.xa_lock" in r.first("deadlock").message
    assert not r.unresolved


def test_a_thread_that_branches_on_nothing_it_can_decide_is_bounded_and_said_so(tmp_path):
    """Fourteen conditions in a row on values the model does not know, with no visible event
    between them, would be 16384 paths to the next event: like a loop's bound, the conditions
    beyond MAX_UNDECIDED are followed one way, the notes say where, and the path still reaches
    the lock after them."""
    from patchlint.explore.explorer import MAX_UNDECIDED, explore
    from patchlint.explore.scenario import parse

    # need_resched() in the branch: not two branches that only change locals (those are joined)
    conds = "".join(f"\tif (flags & {1 << i})\n\t\tn += need_resched();\n" for i in range(MAX_UNDECIDED + 2))
    (tmp_path / "Makefile").write_text("VERSION = 6\nPATCHLEVEL = 12\n")
    (tmp_path / "mm").mkdir()
    (tmp_path / "mm" / "many.c").write_text("void many(struct page *page, unsigned long flags)\n{\n\tint n = 0;\n\n"
                                            f"{conds}\tlock_page(page);\n\tunlock_page(page);\n}}\n")
    scenario = (b"C many\n\n{\n\tpage.flags = uptodate;\n}\n\nP0(struct page *page)\n{\n\tmany(page, flags);\n}\n\n"
                b"exists (deadlock)\n")
    index = FunctionIndex(open_tree(str(tmp_path)), load_profile("s390"), SummaryCache(enabled=False))
    r = explore(index, parse(scenario, "many.litmus"))
    assert r.complete and not r.hazards, r.incomplete
    assert any("followed one way from many() (mm/many.c:" in n for n in r.notes), r.notes
    assert r.transitions >= 2  # lock_page and unlock_page after the conditions are still run


def test_an_undecided_if_whose_branches_only_change_locals_is_joined_not_forked(tmp_path):
    """`if (flags & 1) n++;` fourteen times: both branches run to their end with nothing to show,
    so the thread does not fork (no note, one path); a local the branches set differently is
    unknown after the join, and a condition on it forks where a visible event follows."""
    from patchlint.explore.explorer import explore
    from patchlint.explore.scenario import parse

    conds = "".join(f"\tif (flags & {1 << i})\n\t\tn++;\n" for i in range(14))
    (tmp_path / "Makefile").write_text("VERSION = 6\nPATCHLEVEL = 12\n")
    (tmp_path / "mm").mkdir()
    (tmp_path / "mm" / "many.c").write_text(
        "void many(struct page *page, unsigned long flags)\n{\n\tint n = 0, x;\n\n"
        f"{conds}\tif (flags & 0x8000)\n\t\tx = 1;\n\telse\n\t\tx = 0;\n"
        "\tif (x)\n\t\tlock_page(page);\n}\n")
    scenario = (b"C many\n\n{\n\tpage.flags = uptodate;\n}\n\nP0(struct page *page)\n{\n\tmany(page, flags);\n}\n\n"
                b"exists (deadlock)\n")
    index = FunctionIndex(open_tree(str(tmp_path)), load_profile("s390"), SummaryCache(enabled=False))
    r = explore(index, parse(scenario, "many.litmus"))
    assert r.complete and not r.hazards, r.incomplete
    assert not any("followed one way" in n for n in r.notes), r.notes
    # x is unknown after the join: one path takes the page lock, one does not
    assert r.transitions == 1 and r.states == 3


def test_the_xarray_primitives_store_load_mark_and_erase_one_entry():
    """6.x's swap cache and page cache: XA_STATE(xas, &mapping->i_pages, 42), then xas_store(),
    xas_load(), xas_set_mark() and xa_store(NULL) on the model's space, as the tree calls them."""
    from patchlint.model import primitives as P
    from patchlint.model.state import Addr, Obj, Page, Space, State, Sym

    state = State((Page("page"),), (Space("swapper_space", "swap_aops"),))
    xas = P.DECLARES["XA_STATE"]((None, Addr(Obj("space", "swapper_space"), "i_pages"), 42))
    assert xas == Obj("xas", "swapper_space:42")
    ctx = P.Ctx()

    def run(name, *args):
        nonlocal state
        eff = P.REGISTRY[name].impl(state, 0, args, ctx)
        state = eff.state
        return eff.value

    assert run("xas_load", xas) == 0
    assert run("xas_store", xas, Obj("page", "page")) == 0
    assert run("xas_load", xas) == Obj("page", "page")
    run("xas_set_mark", xas, Sym("PAGECACHE_TAG_DIRTY"))
    assert state.space("swapper_space").tags == ((42, "PAGECACHE_TAG_DIRTY"),)
    assert P.lock_id(xas) == "swapper_space.i_pages.xa_lock"  # xas_lock_irq(&xas)
    space = Addr(Obj("space", "swapper_space"), "i_pages")
    assert run("xa_store", space, 42, 0) == Obj("page", "page")  # erased, with its mark
    assert state.space("swapper_space").radix == () and state.space("swapper_space").tags == ()
    assert run("xas_store", Obj("xas", "swapper_space:?"), Obj("page", "page")) is P.UNKNOWN
