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
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from patchlint.cparse import load_profile  # noqa: E402
from patchlint.cparse.cache import SummaryCache  # noqa: E402
from patchlint.cparse.index import FunctionIndex  # noqa: E402
from patchlint.cparse.survey import c_files, compare_with_bare, survey  # noqa: E402
from patchlint.source.tree import open_tree  # noqa: E402

DIRS = ["mm", "fs/ext4", "kernel/locking"]


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("tree", nargs="?", default=os.environ.get("PATCHLINT_KERNEL_TREE"))
    ap.add_argument("--repeat", type=int, default=3)
    args = ap.parse_args()
    if not args.tree:
        print("give a kernel tree or set PATCHLINT_KERNEL_TREE", file=sys.stderr)
        return 2
    root = Path(args.tree)
    tree = open_tree(str(root))
    profile = load_profile("s390")
    print(f"machine: {platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}")
    print(f"tree: {root}")
    print(f"{'dir':<16}{'files':>6}{'MB':>6}{'fns bare':>9}{'ok bare':>9}{'fns':>7}{'ok':>8}"
          f"{'bare s':>8}{'ours s':>8}{'ratio':>7}")
    for d in DIRS:
        index = FunctionIndex(tree, profile, SummaryCache(enabled=False))
        files = c_files(index, [d])
        if not files:
            print(f"{d:<16} (missing)")
            continue
        mb = sum(len(index.read(f) or b"") for f in files) / 1e6
        c = compare_with_bare(index, files, args.repeat)
        print(f"{d:<16}{len(files):>6}{mb:>6.1f}{c.functions_bare:>9}{100 * c.clean_bare / c.functions_bare:>8.2f}%"
              f"{c.functions:>7}{100 * c.clean / c.functions:>7.2f}%{c.seconds_bare:>8.2f}{c.seconds:>8.2f}"
              f"{c.ratio:>6.2f}x")
    cache_bench(root)
    return 0


def cache_bench(root: Path) -> None:
    """`patchlint doctor mm` cold (empty cache) against warm (second run), same process."""
    import tempfile

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
