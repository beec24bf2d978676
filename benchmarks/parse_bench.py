"""Front-end benchmark: parse quality and throughput of patchlint's C front-end
against bare tree-sitter-c, on the same files, in the same process.

    python benchmarks/parse_bench.py [TREE] [--repeat N]

TREE defaults to $PATCHLINT_KERNEL_TREE.  Prints, per directory (mm/,
fs/ext4/, kernel/locking/): files, MB, functions, the share of function
bodies free of ERROR/MISSING nodes with and without the dialect pass, and
the time of bare tree-sitter parsing against the front-end's (dialect pass +
parse + records), best of N runs, with their ratio.
"""

from __future__ import annotations

import argparse
import os
import platform
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from patchlint.cparse import (  # noqa: E402
    load_profile,
    parse_source,
    tsapi,  # noqa: E402
)

DIRS = ["mm", "fs/ext4", "kernel/locking"]


def bare(files: list[tuple[str, bytes]]) -> tuple[float, int, int]:
    parser = tsapi.new_parser()
    q = tsapi.query("functions")
    t0 = time.perf_counter()
    total = bad = 0
    for _, data in files:
        tree = parser.parse(data)
        for m in tsapi.matches(q, tree.root_node):
            total += 1
            bad += m["function.body"][0].has_error
    return time.perf_counter() - t0, total, bad


def frontend(files: list[tuple[str, bytes]]) -> tuple[float, int, int]:
    profile = load_profile("s390")
    defines = profile.define_map()
    t0 = time.perf_counter()
    total = bad = 0
    for name, data in files:
        parsed = parse_source(name, data, profile, defines)
        total += len(parsed.functions)
        bad += sum(not f.parse_ok for f in parsed.functions)
    return time.perf_counter() - t0, total, bad


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
    print(f"tree: {root}")
    print(f"{'dir':<16}{'files':>6}{'MB':>6}{'fns bare':>9}{'ok bare':>9}{'fns':>7}{'ok':>8}"
          f"{'bare s':>8}{'ours s':>8}{'ratio':>7}")
    for d in DIRS:
        files = [(str(p.relative_to(root)), p.read_bytes()) for p in sorted((root / d).rglob("*.c"))]
        if not files:
            print(f"{d:<16} (missing)")
            continue
        mb = sum(len(x) for _, x in files) / 1e6
        tb = min(bare(files)[0] for _ in range(args.repeat))
        _, nb, eb = bare(files)
        tf = min(frontend(files)[0] for _ in range(args.repeat))
        _, nf, ef = frontend(files)
        print(f"{d:<16}{len(files):>6}{mb:>6.1f}{nb:>9}{100 * (nb - eb) / nb:>8.2f}%{nf:>7}"
              f"{100 * (nf - ef) / nf:>7.2f}%{tb:>8.2f}{tf:>8.2f}{tf / tb:>6.2f}x")
    cache_bench(root)
    return 0


def cache_bench(root: Path) -> None:
    """`patchlint doctor mm` cold (empty cache) against warm (second run), same process."""
    import tempfile

    from patchlint.cparse.cache import SummaryCache
    from patchlint.cparse.index import FunctionIndex
    from patchlint.cparse.survey import c_files, survey
    from patchlint.source.tree import open_tree

    with tempfile.TemporaryDirectory() as tmp:
        tree = open_tree(str(root))
        profile = load_profile("s390")
        cold_index = FunctionIndex(tree, profile, SummaryCache(Path(tmp)))
        files = c_files(cold_index, ["mm"])
        cold = survey(cold_index, files)
        warm = survey(FunctionIndex(open_tree(str(root)), profile, SummaryCache(Path(tmp))), files)
    print(f"doctor mm/: cold {cold.seconds:.2f} s ({cold.cache_misses} parsed), warm {warm.seconds:.2f} s "
          f"({warm.cache_hits} from cache): {cold.seconds / warm.seconds:.1f}x faster")


if __name__ == "__main__":
    sys.exit(main())
