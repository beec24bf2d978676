"""Replay-as-judge benchmark, on a real tree (PATCHLINT_KERNEL_TREE: Linux 6.12 as CI extracts).

1. `scan mm` without the model and with it (each on an empty cache), side by side: seconds,
   and the ratio (goal: with replay <= 2x without).
2. Each static finding the model judges, replayed alone: seconds (goal: <= 1 s each), its
   verdict; the counts per kind and verdict, and the findings a reader sees before and after
   (refuted ones are hidden from the text report).

    python benchmarks/replay_bench.py [--tree DIR] [--paths mm]
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from patchlint import analysis  # noqa: E402
from patchlint.workflow.config import load_config  # noqa: E402


def _scan(tree: str, paths: list[str], model: bool) -> tuple[float, list]:
    with tempfile.TemporaryDirectory() as cache:
        os.environ["PATCHLINT_CACHE_DIR"] = cache
        start = time.perf_counter()
        report = analysis.scan(tree, paths, load_config(tree, {"model": model}))
        return time.perf_counter() - start, list(report.findings)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tree", default=os.environ.get("PATCHLINT_KERNEL_TREE"))
    parser.add_argument("--paths", default="mm")
    args = parser.parse_args()
    if not args.tree:
        print("replay_bench: no tree (set PATCHLINT_KERNEL_TREE or --tree); skipped")
        return 0
    paths = args.paths.split(",")
    saved = os.environ.get("PATCHLINT_CACHE_DIR")
    print(f"replay benchmark: {platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}, "
          f"tree {args.tree}, scan {' '.join(paths)}")
    plain_s, plain = _scan(args.tree, paths, model=False)
    judged_s, judged = _scan(args.tree, paths, model=True)
    if saved is not None:
        os.environ["PATCHLINT_CACHE_DIR"] = saved
    print(f"scan without replay {plain_s:7.1f} s, with replay {judged_s:7.1f} s: ratio {judged_s / plain_s:.2f}x "
          f"(goal <= 2x)")

    from patchlint.explore.judge import JUDGED, judge_one

    index = analysis.tree_index(args.tree, None, load_config(args.tree, {}))
    times: list[float] = []
    verdicts: Counter[tuple[str, str]] = Counter()
    for f in plain:
        if f.kind not in JUDGED or not f.witnesses:
            continue
        start = time.perf_counter()
        replay = judge_one(index, f)
        took = time.perf_counter() - start
        times.append(took)
        verdicts[(f.kind, replay.verdict)] += 1
        print(f"  {took:5.2f} s  {replay.verdict:9} {f.kind:20} {f.file}:{f.line}  {replay.reason[:110]}")
    if times:
        print(f"replay of one finding: median {statistics.median(times):.2f} s, max {max(times):.2f} s, "
              f"{sum(1 for t in times if t > 1.0)} of {len(times)} over 1 s (goal <= 1 s)")
    print("kind                  findings  confirmed  refuted  unknown  shown after replay")
    for kind in sorted({k for k, _ in verdicts}):
        n = sum(v for (k, _), v in verdicts.items() if k == kind)
        c, r, u = (verdicts[(kind, v)] for v in ("confirmed", "refuted", "unknown"))
        print(f"{kind:21} {n:9} {c:10} {r:8} {u:8} {n - r:19}")
    same = sorted(f.identity for f in judged) == sorted(f.identity for f in plain)
    print(f"the same findings with and without replay (only their verdicts differ): {same}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
