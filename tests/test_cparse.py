"""The C front-end: dialect pass, #if profiles, records, queries, cache, index, doctor."""

from __future__ import annotations

import os
import pickle
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from patchlint.cparse import load_profile, parse_source, tsapi
from patchlint.cparse.cache import SummaryCache
from patchlint.cparse.defs import FunctionDef
from patchlint.cparse.dialect import rewrite
from patchlint.cparse.index import FunctionIndex
from patchlint.cparse.preproc import MacroDef
from patchlint.cparse.preproc import run as preprocess
from patchlint.resources import grammars_dir
from patchlint.source.tree import open_tree

from .conftest import ROOT, TREE, run_patchlint

S390 = load_profile("s390")
X86 = load_profile("x86_64")

KERNEL_C = b"""\
static DEFINE_SPINLOCK(lock);

SYSCALL_DEFINE2(fixture, unsigned long, start, size_t, len)
{
	return do_fixture(start, len);
}

static void __init walk(struct list_head *head)
	__releases(&zone->lock)
	__acquires(&zone->lock)
{
	struct page *page, *next;
	int __maybe_unused n;

	list_for_each_entry_safe(page, next, head, lru) {
		struct folio *folio = container_of(page, struct folio, page);
		touch(folio, min_t(unsigned int, n, 3));
	}
	for_each_online_node(n)
		visit_node(n);
	my_walk_things(page) {
		visit(page);
	}
	printk(KERN_INFO "done %d\\n", n);
}
"""


def test_queries_compile_and_name_their_captures():
    q = tsapi.query("functions", "calls")
    names = {q.capture_name(i) for i in range(q.capture_count)}
    assert names == {"function.definition", "function.body", "call.expression", "call.function"}
    for scm in (grammars_dir() / "queries").glob("*.scm"):
        tsapi.query(scm.stem)


def test_dialect_pass_makes_kernel_idioms_parse_and_keeps_every_call():
    with_pass = parse_source("x.c", KERNEL_C, S390)
    without = parse_source("x.c", KERNEL_C, S390, dialect_pass=False)
    walk = with_pass.function("walk")
    assert walk is not None and walk.parse_ok
    calls = [c.callee for c in walk.calls]
    for name in ("container_of", "touch", "min_t", "visit_node", "visit", "printk"):
        assert name in calls
    # the iterator macros became loops: no longer calls, but remembered with their arguments
    assert "list_for_each_entry_safe" not in calls and "for_each_online_node" not in calls
    assert "my_walk_things" not in calls  # a call followed by '{' is a loop macro
    assert [(m.name, m.argument) for m in walk.loop_macros] == [
        ("list_for_each_entry_safe", "page, next, head, lru"), ("for_each_online_node", "n"),
        ("my_walk_things", "page")]
    old = parse_source("x.c", KERNEL_C, S390, dialect_pass=False)
    assert old.function("walk") is None or not old.function("walk").parse_ok
    kept = {c.callee for f in without.functions for c in f.calls}
    assert kept - set(calls) - {"list_for_each_entry_safe", "for_each_online_node", "my_walk_things",
                                "__releases", "__acquires", "SYSCALL_DEFINE2", "do_fixture"} == set()


def test_positions_point_into_the_real_file():
    parsed = parse_source("x.c", KERNEL_C, S390)
    lines = KERNEL_C.decode().split("\n")
    walk = parsed.function("walk")
    assert lines[walk.start_line - 1].startswith("static void __init walk(")
    for call in walk.calls:
        assert call.callee in lines[call.line - 1]
        assert KERNEL_C[call.offset:call.offset + len(call.callee)].decode() == call.callee


def test_macro_defined_function_headers_and_lock_annotations():
    parsed = parse_source("x.c", KERNEL_C, S390)
    sys_fn = parsed.function("sys_fixture")
    assert sys_fn is not None and [p.name for p in sys_fn.params()] == ["start", "len"]
    walk = parsed.function("walk")
    assert [(a.name, a.argument) for a in walk.annotations] == [("__releases", "&zone->lock"),
                                                                ("__acquires", "&zone->lock")]
    assert walk.static


@given(st.binary(max_size=2000))
@settings(max_examples=150, deadline=None)
def test_rewrites_keep_length_and_lines(data):
    buf = bytearray(data)
    preprocess(buf, S390.define_map())
    rewrite(buf)
    assert len(buf) == len(data) and buf.count(b"\n") == data.count(b"\n")


_PIECES = list("abc_ (){};#\n\"'*,/\\") + ["if", "list_for_each(", "#if 1\n", "#else\n", "#endif\n", "__user",
                                           "void f(void)\n{\n", "}\n", "__acquires(x)", "SYSCALL_DEFINE1("]


@given(st.lists(st.sampled_from(_PIECES), max_size=120))
@settings(max_examples=150, deadline=None)
def test_any_text_parses_to_records_or_nothing(pieces):
    parsed = parse_source("t.c", "".join(pieces).encode(), S390)
    for f in parsed.functions:
        assert 1 <= f.start_line <= f.end_line


def test_if_selection_follows_the_profile():
    src = b"""#ifdef CONFIG_S390
int on_s390(void) { return 1; }
#elif defined(CONFIG_X86) && CONFIG_PGTABLE_LEVELS > 3
int on_x86(void) { return 2; }
#else
int elsewhere(void) { return 3; }
#endif
#if IS_ENABLED(CONFIG_NOT_IN_ANY_PROFILE)
int unknown_option(void) { return 4; }
#endif
"""
    assert [f.name for f in parse_source("a.c", src, S390).functions] == ["on_s390"]
    assert [f.name for f in parse_source("a.c", src, X86).functions] == ["on_x86"]
    assert "CONFIG_NOT_IN_ANY_PROFILE" in parse_source("a.c", src, S390).config_tested


def test_arch_header_resolves_page_test_and_clear_dirty_per_profile():
    tree = open_tree(str(TREE))
    s390 = FunctionIndex(tree, S390, SummaryCache(enabled=False)).resolve("page_test_and_clear_dirty")
    generic = FunctionIndex(tree, X86, SummaryCache(enabled=False)).resolve("page_test_and_clear_dirty")
    assert [type(d) for d in s390] == [FunctionDef]
    assert s390[0].file == "arch/s390/include/asm/pgtable.h"
    assert [(type(d), d.body) for d in generic] == [(MacroDef, "(0)")]


def test_arch_resolution_follows_the_header_not_the_name(tmp_path):
    """Change only the fixture: without the arch's feature macro, s390 gets the generic constant."""
    tree_dir = tmp_path / "linux"
    shutil.copytree(TREE, tree_dir)
    header = tree_dir / "arch" / "s390" / "include" / "asm" / "pgtable.h"
    header.write_text(header.read_text().replace("#define __HAVE_ARCH_PAGE_TEST_AND_CLEAR_DIRTY\n", ""))
    found = FunctionIndex(open_tree(str(tree_dir)), S390, SummaryCache(enabled=False)).resolve(
        "page_test_and_clear_dirty")
    assert MacroDef in {type(d) for d in found}


def test_index_answers_definitions_and_callers_from_grep():
    index = FunctionIndex(open_tree(str(TREE)), S390, SummaryCache(enabled=False))
    callers = sorted((f.name, f.file) for f, _ in index.callers("page_remove_rmap"))
    assert callers == [("try_to_unmap_one", "mm/rmap.c"), ("zap_pte_range", "mm/memory.c")]
    assert set(index._parsed) <= {p for p, _, _ in index.tree.grep("page_remove_rmap")} | {
        p for p, _, _ in index.tree.grep("page_test_and_clear_dirty")}
    (spd,) = index.definitions("set_page_dirty")
    assert spd.file == "mm/page-writeback.c"
    assert any(c.indirect and "spd" in c.callee for c in spd.calls)


def test_index_overlay_replaces_tree_files():
    tree = open_tree(str(TREE))
    overlay = {"mm/extra.c": b"void zap_more(struct page *page)\n{\n\tpage_remove_rmap(page);\n}\n",
               "mm/memory.c": None}
    index = FunctionIndex(tree, S390, SummaryCache(enabled=False), overlay=overlay)
    assert sorted(f.name for f, _ in index.callers("page_remove_rmap")) == ["try_to_unmap_one", "zap_more"]


def test_cache_hits_rebuilds_corrupt_entries_and_survives_two_writers(tmp_path):
    tree = open_tree(str(TREE))
    cache = SummaryCache(tmp_path / "cache")
    first = FunctionIndex(tree, S390, cache).parsed("mm/rmap.c")
    assert cache.stats.misses == 1
    again = FunctionIndex(tree, S390, SummaryCache(tmp_path / "cache"))
    assert again.parsed("mm/rmap.c") == first and again.cache.stats.hits == 1
    for entry in (tmp_path / "cache").rglob("*.pickle"):
        entry.write_bytes(b"\x80\x05garbage")
    broken = FunctionIndex(tree, S390, SummaryCache(tmp_path / "cache"))
    assert broken.parsed("mm/rmap.c") == first and broken.cache.stats.rebuilt == 1
    for entry in (tmp_path / "cache").rglob("*.pickle"):
        entry.write_bytes(pickle.dumps(("patchlint-summary", "0.0.0-other", "k", first)))
    other = FunctionIndex(tree, S390, SummaryCache(tmp_path / "cache"))
    assert other.parsed("mm/rmap.c") == first and other.cache.stats.rebuilt == 1
    env = {**os.environ, "PATCHLINT_CACHE_DIR": str(tmp_path / "shared")}
    procs = [subprocess.Popen([sys.executable, "-m", "patchlint", "doctor", "--tree", str(TREE)], env=env,
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, cwd=ROOT) for _ in range(2)]
    outs = [p.communicate(timeout=120) for p in procs]
    assert all(p.returncode == 0 for p in procs), outs
    assert not list((tmp_path / "shared").rglob(".tmp-*"))


def test_bad_c_is_marked_not_crashed(tmp_path):
    deep = b"void deep(void)\n{\n" + b"{" * 5000 + b"x();" + b"}" * 5000 + b"\n}\n"
    parsed = parse_source("deep.c", deep, S390)
    assert parsed.function("deep") is not None
    garbage = parse_source("junk.c", b"}}}{{{ int ( ; \xff\xfe void f(void) { if ( }", S390)
    assert all(not f.parse_ok for f in garbage.functions) or garbage.functions == ()
    huge = parse_source("huge.c", b"/* big */\n" * (6 * 1024 * 1024), S390)
    assert huge.not_analysed and "limit" in huge.not_analysed and huge.functions == ()
    latin1 = parse_source("l.c", "void f(void)\n{\n\tprintk(\"caf\xe9\");\n}\n".encode("latin-1"), S390)
    assert latin1.function("f").parse_ok


def test_doctor_on_the_fixture_tree(tmp_path):
    env_dir = tmp_path / "cache"
    os.environ["PATCHLINT_CACHE_DIR"] = str(env_dir)
    try:
        proc = run_patchlint("doctor", "--tree", str(TREE))
        second = run_patchlint("doctor", "--tree", str(TREE), "mm")
    finally:
        del os.environ["PATCHLINT_CACHE_DIR"]
    assert proc.returncode == 0, proc.stderr
    out = proc.stdout.decode()
    assert "parse cleanly (100.00%)" in out and "profile s390" in out and "0 hits" in out
    assert "hits" in second.stdout.decode() and " 0 misses" in second.stdout.decode()


def test_a_macro_added_to_a_table_is_picked_up(tmp_path):
    src = b"void f(struct dev *d)\n{\n\tfor_every_port(d, port)\n\t\tkick(port);\n}\n"
    assert not parse_source("p.c", src, S390).function("f").parse_ok
    grammars = tmp_path / "grammars"
    grammars.mkdir()
    table = (grammars_dir() / "dialect.toml").read_text()
    (grammars / "dialect.toml").write_text(table.replace('names = [\n', 'names = [\n  "for_every_port",\n', 1))
    code = ("from patchlint.cparse import load_profile, parse_source;"
            "f = parse_source('p.c', open('p.c','rb').read(), load_profile()).function('f');"
            "print(f.parse_ok, [c.callee for c in f.calls])")
    (tmp_path / "p.c").write_bytes(src)
    proc = subprocess.run([sys.executable, "-c", code], cwd=tmp_path, capture_output=True, text=True,
                          env={**os.environ, "PATCHLINT_GRAMMARS": str(grammars), "PYTHONPATH": str(ROOT)})
    assert proc.stdout.strip() == "True ['kick']", proc.stderr


def test_vanishing_file_is_not_analysed(tmp_path):
    tree_dir = tmp_path / "linux"
    shutil.copytree(TREE, tree_dir)
    index = FunctionIndex(open_tree(str(tree_dir)), S390, SummaryCache(enabled=False))
    (tree_dir / "mm" / "rmap.c").unlink()
    assert index.parsed("mm/rmap.c") is None


# --- real kernel trees ---------------------------------------------------------------------------

KTREE = os.environ.get("PATCHLINT_KERNEL_TREE")
needs_tree = pytest.mark.skipif(not KTREE, reason="PATCHLINT_KERNEL_TREE is not set (.ci/run sets it to a "
                                                  "Linux 6.12 tree)")


@needs_tree
@pytest.mark.parametrize("subdir", ["mm", "fs/ext4", "kernel/locking"])
def test_parse_quality_floor_on_a_real_tree(subdir):
    index = FunctionIndex(open_tree(KTREE), S390, SummaryCache(enabled=False))
    from patchlint.cparse.survey import c_files, survey

    result = survey(index, c_files(index, [subdir]))
    assert result.functions > 400
    assert result.clean_share >= 99.0, result.worst


@needs_tree
def test_the_pass_never_loses_a_call_on_a_real_tree():
    root = Path(KTREE)
    from patchlint.cparse.dialect import load_dialect

    dialect = load_dialect()
    rewritten = {k.decode() for k, v in dialect.kinds.items() if v in ("it", "wa", "w")}
    lost_total = 0
    for path in sorted((root / "mm").glob("*.c")):
        data = path.read_bytes()
        with_pass = {(f.name, f.start_line): f for f in parse_source(str(path), data, S390).functions}
        for f in parse_source(str(path), data, S390, dialect_pass=False).functions:
            g = with_pass.get((f.name, f.start_line))
            if g is None:
                continue
            # without the pass a body can run on into the next function: compare within the real span
            lost = {c.callee for c in f.calls if c.line in g.span_lines()} - {c.callee for c in g.calls}
            as_loops = {m.name for m in g.loop_macros}  # deliberately read as loops, and remembered
            lost = {c for c in lost if c not in rewritten and c not in as_loops
                    and not (set(re.findall(r"\w+", c)) & rewritten)}  # "(__force int)(x)" was a cast
            lost_total += len(lost)
            assert not lost, f"{path.name}:{f.start_line} {f.name} lost {lost}"
    assert lost_total == 0


def test_body_ir_from_the_fixture_tree():
    from patchlint.cparse import ir

    index = FunctionIndex(open_tree(str(TREE)), S390, SummaryCache(enabled=False))
    (zap,) = index.definitions("zap_pte_range")
    body = index.body(zap)
    assert body.complete
    calls = sorted((n for n in _walk(body.block) if isinstance(n, ir.Call)), key=lambda c: c.line)
    names = [c.name for c in calls]
    assert names.index("pte_offset_map_lock") < names.index("page_remove_rmap") < names.index("pte_unmap_unlock")
    loops = [n for n in _walk(body.block) if isinstance(n, ir.Loop)]
    assert [lp.kind for lp in loops] == ["do"]
    (anon,) = index.definitions("try_to_unmap_anon")
    (loop,) = [n for n in _walk(index.body(anon).block) if isinstance(n, ir.Loop)]
    assert loop.macro == "list_for_each_entry"
    (spd_fn,) = index.definitions("set_page_dirty")
    indirect = [c for c in _walk(index.body(spd_fn).block) if isinstance(c, ir.Call) and c.name is None]
    assert indirect and isinstance(indirect[0].func, ir.Unary) and indirect[0].func.op == "*"


def test_body_ir_marks_deep_nesting_incomplete(tmp_path):
    tree_dir = tmp_path / "linux"
    shutil.copytree(TREE, tree_dir)
    (tree_dir / "mm" / "deep.c").write_bytes(b"void deep(void)\n{\n" + b"{" * 3000 + b"x();" + b"}" * 3000 + b"\n}\n")
    index = FunctionIndex(open_tree(str(tree_dir)), S390, SummaryCache(enabled=False))
    (deep,) = index.definitions("deep")
    body = index.body(deep)
    assert body is not None and not body.complete


def _walk(node):
    """Every IR node under node, iteratively."""
    from dataclasses import fields, is_dataclass

    stack = [node]
    while stack:
        n = stack.pop()
        yield n
        for f in fields(n):
            v = getattr(n, f.name)
            items = v if isinstance(v, tuple) else (v,)
            for item in items:
                if isinstance(item, tuple):
                    stack.extend(x for x in item if is_dataclass(x))
                elif is_dataclass(item):
                    stack.append(item)


@needs_tree
def test_body_ir_builds_for_every_function_of_mm():
    index = FunctionIndex(open_tree(KTREE), S390, SummaryCache(enabled=False))
    from patchlint.cparse.survey import c_files

    total = complete = 0
    for path in c_files(index, ["mm"]):
        parsed = index.parsed(path)
        for f in parsed.functions:
            body = index.body(f)
            assert body is not None, f"{path}: {f.name}"
            total += 1
            complete += body.complete
    assert total > 5000 and complete / total >= 0.97
