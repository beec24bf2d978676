"""Model benchmark.

1. Each catalog scenario that applies to the fixture tree, before and after the storage-key
   RFC, at preemption bounds K = 0..3: states explored, time, states/s.
2. With PATCHLINT_KERNEL_TREE (a Linux 6.12 tree, as CI extracts): each catalog scenario that
   applies to it, at K = 2, beside the fixture's numbers: complete or not, states, seconds.
3. On that tree, the first check of a new version of a patch to zap_present_folio_ptes(),
   with the tree's summaries already cached (a developer's second version): `check --model`
   against `check --no-model`, side by side, and what the model adds.

    python benchmarks/model_bench.py [--bounds 0,1,2,3] [--tree DIR]
"""

from __future__ import annotations

import argparse
import difflib
import os
import platform
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from patchlint.cparse import load_profile  # noqa: E402
from patchlint.cparse.cache import SummaryCache  # noqa: E402
from patchlint.cparse.index import FunctionIndex  # noqa: E402
from patchlint.explore import scenario as scenarios  # noqa: E402
from patchlint.explore.explorer import explore  # noqa: E402
from patchlint.ingest import read_series  # noqa: E402
from patchlint.source.apply import apply_series  # noqa: E402
from patchlint.source.tree import open_tree  # noqa: E402

TREE = ROOT / "fixtures" / "trees" / "s390-3.0"
RFC = ROOT / "fixtures" / "series" / "storage-key-rfc.mbox"


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--bounds", default="0,1,2,3")
    ap.add_argument("--tree", default=os.environ.get("PATCHLINT_KERNEL_TREE"))
    args = ap.parse_args()
    bounds = [int(b) for b in args.bounds.split(",")]
    print(f"machine: {platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}")
    tree = open_tree(str(TREE))
    applied = apply_series(tree, read_series([str(RFC)]))
    after = {p: None if (i := applied.image(p)) is None else i.text().encode() for p in applied.touched()}
    profile = load_profile("s390")
    cache = SummaryCache(enabled=False)
    print(f"{'scenario':<28}{'tree':<8}{'K':>3}{'states':>9}{'seconds':>9}{'states/s':>10}  hazards")
    for path in scenarios.catalog():
        sc = scenarios.load(path)
        if scenarios.applies(sc, FunctionIndex(tree, profile, cache)) is not None:
            continue
        for label, overlay in (("base", {}), ("+rfc", after)):
            for k in bounds:
                index = FunctionIndex(tree, profile, cache, overlay=overlay)
                r = explore(index, sc, k)
                rate = r.states / r.seconds if r.seconds else 0.0
                done = "" if r.complete else f" INCOMPLETE ({r.incomplete})"
                print(f"{sc.name:<28}{label:<8}{k:>3}{r.states:>9}{r.seconds:>9.2f}{rate:>10.0f}  "
                      f"{','.join(sorted(r.kinds())) or '-'}{done}")
    if args.tree:
        real_tree(Path(args.tree), profile)
    else:
        print("\n(set PATCHLINT_KERNEL_TREE or --tree to a Linux 6.12 tree for the real-tree numbers)")
    return 0


def real_tree(root: Path, profile) -> None:
    """The catalog at K = 2 on a real tree, beside the fixture; then a check with and without the model."""
    print(f"\nreal tree {root.name}, preemption bound 2 (fixture at K = 2 beside it)")
    print(f"{'scenario':<32}{'complete':>9}{'states':>9}{'seconds':>9}  hazards  | fixture states, seconds")
    fixture = open_tree(str(TREE))
    tree = open_tree(str(root))
    cache = SummaryCache(enabled=False)
    catalog = [scenarios.load(path) for path in scenarios.catalog()]
    why_not = {sc.name: scenarios.applies(sc, FunctionIndex(tree, profile, cache)) for sc in catalog}
    # parse what the scenarios reach once, untimed: the rows are the model's time, not the parser's
    for sc in catalog:
        if why_not[sc.name] is None:
            explore(FunctionIndex(tree, profile, cache), sc, 0)
    for sc in catalog:
        if why_not[sc.name] is not None:
            print(f"{sc.name:<32}  does not apply: {why_not[sc.name]}")
            continue
        # a fresh index per row, as a check's state after a patch is
        r = explore(FunctionIndex(tree, profile, cache), sc, 2)
        side = "-"
        fixture_index = FunctionIndex(fixture, profile, cache)
        if scenarios.applies(sc, fixture_index) is None:
            f = explore(fixture_index, sc, 2)
            side = f"{f.states}, {f.seconds:.2f}"
        print(f"{sc.name:<32}{str(r.complete):>9}{r.states:>9}{r.seconds:>9.2f}  "
              f"{','.join(sorted(r.kinds())) or '-':<7}  | {side}")
    check_with_and_without(root)


def check_with_and_without(root: Path) -> None:
    memory = root / "mm" / "memory.c"
    old = memory.read_text()
    anchor = "\t\tclear_full_ptes(mm, addr, pte, nr, tlb->fullmm);\n"
    if old.count(anchor) != 1:
        print("(no zap_present_folio_ptes() anon branch to patch: not a 6.x tree)")
        return
    work = Path(tempfile.mkdtemp(prefix="model-bench-"))
    try:
        def patch(version: int, comment: str) -> Path:
            new = old.replace(anchor, f"\t\t/* {comment} */\n" + anchor)
            diff = difflib.unified_diff(old.splitlines(True), new.splitlines(True), "a/mm/memory.c", "b/mm/memory.c")
            p = work / f"v{version}.patch"
            p.write_text(f"From: Bench <bench@example.org>\nSubject: [PATCH v{version}] mm: note the anon zap\n\n"
                         "x\n\nSigned-off-by: Bench <bench@example.org>\n---\n" + "".join(diff))
            return p

        warm = work / "warm"
        env = dict(os.environ, PATCHLINT_CACHE_DIR=str(warm))
        pl = [sys.executable, "-m", "patchlint", "check", "--tree", str(root), "--format", "json",
              "--fail-on", "never", "-q"]
        # version 1 warms the tree's summaries (and the model's, with it): what a developer has
        subprocess.run([*pl, "--model", str(patch(1, "v1"))], env=env, cwd=ROOT, capture_output=True, check=False)
        v2 = patch(2, "v2: anon ptes need no dirty bit")
        print(f"\nfirst check of a new patch version on {root.name} (tree summaries cached)")
        times = {}
        for flag in ("--no-model", "--model"):
            cache = work / flag.strip("-")
            shutil.copytree(warm, cache)
            t0 = time.perf_counter()
            proc = subprocess.run([*pl, flag, str(v2)], env=dict(env, PATCHLINT_CACHE_DIR=str(cache)), cwd=ROOT,
                                  capture_output=True, check=False)
            times[flag] = time.perf_counter() - t0
            print(f"  check {flag:<11} {times[flag]:6.2f} s  exit {proc.returncode}")
        print(f"  the model adds {times['--model'] - times['--no-model']:.2f} s "
              f"({times['--model'] / times['--no-model']:.2f}x the check without it)")
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
