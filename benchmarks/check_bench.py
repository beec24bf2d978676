"""Static-check benchmark on a real tree: `patchlint check` of a one-patch series
touching mm/rmap.c against scripts/checkpatch.pl on the same patch, side by
side in one run, then `patchlint scan mm/` with its numbers.

    python benchmarks/check_bench.py [TREE] [--repeat N]

TREE defaults to $PATCHLINT_KERNEL_TREE; it must be a kernel tree with
scripts/checkpatch.pl (and checkpatch's top-level files).  The patch is made
here, in a temporary directory, from the tree's own mm/rmap.c: it adds a loop
that retries folio_trylock() inside folio_referenced_one()'s page-table walk.
"""

from __future__ import annotations

import argparse
import collections
import difflib
import os
import platform
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from patchlint.checks import analyse_series  # noqa: E402
from patchlint.checks.tree import scan  # noqa: E402
from patchlint.cparse import load_profile  # noqa: E402
from patchlint.cparse.cache import SummaryCache  # noqa: E402
from patchlint.cparse.index import FunctionIndex  # noqa: E402
from patchlint.ingest import read_series  # noqa: E402
from patchlint.source.apply import apply_series  # noqa: E402
from patchlint.source.tree import open_tree  # noqa: E402

ANCHOR = "\twhile (page_vma_mapped_walk(&pvmw)) {\n\t\taddress = pvmw.address;\n"
ADDED = "\n\t\twhile (!folio_trylock(folio))\n\t\t\tcpu_relax();\n\t\tfolio_unlock(folio);\n"
# the next version of the same patch, as its author would send it after review: same function
ADDED_V2 = "\n\t\twhile (!folio_trylock(folio)) {\n\t\t\tcpu_relax();\n\t\t\tcond_resched();\n\t\t}\n" \
    "\t\tfolio_unlock(folio);\n"


def make_patch(root: Path, out: Path, added: str = ADDED, name: str = "0001-rmap-spin.patch") -> Path:
    old = (root / "mm" / "rmap.c").read_text()
    if ANCHOR not in old:
        raise SystemExit("mm/rmap.c has no folio_referenced_one() page-table walk to patch")
    new = old.replace(ANCHOR, ANCHOR + added, 1)
    diff = difflib.unified_diff(old.splitlines(True), new.splitlines(True), "a/mm/rmap.c", "b/mm/rmap.c")
    patch = out / name
    patch.write_text("From: Bench <bench@example.org>\nSubject: [PATCH] mm: rmap: wait for the folio lock\n\n"
                     "Benchmark patch.\n\nSigned-off-by: Bench <bench@example.org>\n---\n" + "".join(diff))
    return patch


def best(fn, repeat: int) -> float:
    times = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return min(times)


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("tree", nargs="?", default=os.environ.get("PATCHLINT_KERNEL_TREE"))
    ap.add_argument("--repeat", type=int, default=3)
    args = ap.parse_args()
    if not args.tree:
        print("give a kernel tree or set PATCHLINT_KERNEL_TREE", file=sys.stderr)
        return 2
    root = Path(args.tree)
    print(f"machine: {platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}")
    with tempfile.TemporaryDirectory() as tmp:
        patch = make_patch(root, Path(tmp))
        patch_v2 = make_patch(root, Path(tmp), ADDED_V2, "0001-rmap-spin-v2.patch")
        cache = SummaryCache(Path(tmp) / "cache")
        findings: list = []

        def patchlint_check(which: Path = patch) -> None:
            tree = open_tree(str(root))
            findings[:] = analyse_series(apply_series(tree, read_series([str(which)])), cache=cache)

        # An installed patchlint has its bytecode compiled at install time; a source checkout run
        # with PYTHONDONTWRITEBYTECODE would compile every module at every start instead.
        env = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
        env["PATCHLINT_CACHE_DIR"] = str(cache.root)

        def cli(which: Path, run_env: dict[str, str] = env) -> None:
            subprocess.run([sys.executable, "-m", "patchlint", "check", "--tree", str(root), str(which)],
                           capture_output=True, env=run_env)

        runs = iter(range(1_000_000))

        def cli_states(which: Path) -> None:
            # the request's environment is part of an answer's key (patchlint.answers): a fresh
            # variable each time makes a request asked for the first time, answered from the
            # state caches
            cli(which, {**env, "PATCHLINT_BENCH_RUN": str(next(runs))})

        t0 = time.perf_counter()
        patchlint_check()
        cold = time.perf_counter() - t0
        kinds = collections.Counter(f"{f.status} {f.kind}" for f in findings)
        warm = best(patchlint_check, args.repeat)
        cli(patch)  # the model's first run, and the bytecode
        cli_warm = best(lambda: cli(patch), args.repeat)
        cli_state = best(lambda: cli_states(patch), args.repeat)
        # a new version of the patch: the tree and the state before it are known, the state after
        # it is not: measured once, as a developer meets it
        t0 = time.perf_counter()
        patchlint_check(patch_v2)
        new_version = time.perf_counter() - t0
        checkpatch = root / "scripts" / "checkpatch.pl"
        if checkpatch.exists():
            cp = best(lambda: subprocess.run(["perl", str(checkpatch), "-q", str(patch)], cwd=root,
                                             capture_output=True), args.repeat)
            cp_text = f"{cp:.2f} s"
        else:
            cp, cp_text = None, "(no scripts/checkpatch.pl in the tree)"
        print("check of a one-patch series touching mm/rmap.c (best of "
              f"{args.repeat}): patchlint in-process cold {cold:.2f} s, re-check {warm:.3f} s; "
              f"patchlint CLI re-check {cli_warm:.3f} s (the same request: its answer), "
              f"{cli_state:.2f} s (a new request: the state caches); checkpatch.pl {cp_text}"
              + (f"; re-check / checkpatch = {warm / cp:.2f}x (in-process), {cli_warm / cp:.2f}x (CLI), "
                 f"{cli_state / cp:.2f}x (CLI, new request)" if cp else ""))
        print(f"  a new version of the same patch (same function, tree and before-state cached): "
              f"in-process {new_version:.2f} s" + (f" = {new_version / cp:.1f}x checkpatch" if cp else ""))
        print(f"  findings: {dict(sorted(kinds.items()))}")

        index = FunctionIndex(open_tree(str(root)), load_profile(), cache)
        files = [p for p in index.tree.list_files("mm") if p.endswith(".c")]
        functions = [f for parsed in index.parse_paths(files) for f in parsed.functions]
        t0 = time.perf_counter()
        found, _ = scan(index, functions)
        elapsed = time.perf_counter() - t0
        by_kind = collections.Counter(f.kind for f in found)
        print(f"scan mm/: {len(files)} files, {len(functions)} functions, {elapsed:.1f} s (summaries warm); "
              f"findings by kind: {dict(sorted(by_kind.items()))}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
