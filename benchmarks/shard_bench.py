"""Sharded scan benchmark, on a real tree (PATCHLINT_KERNEL_TREE: Linux 6.12 as CI extracts).

One `patchlint scan --format sarif` of the paths, then each of its N shards (`--shard K/N`), one
after the other (a CI matrix runs them side by side on N machines), then `sarif-merge` of the
shards' SARIF, compared byte for byte with the unsharded scan's.  Each run is a `patchlint`
process of its own, timed on the wall clock, with its peak resident memory (wait4's rusage of
that child).  The unsharded scan runs on a copy of the cache as it was before it (the parse of the
tree, when `--cache` names a warm one), and so does each shard, so no run reuses the model's
verdicts another one computed, as N separate CI machines would not.

    python benchmarks/shard_bench.py [--tree DIR] [--shards 3] [--no-model] [--cache DIR] mm fs kernel lib
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


@dataclass(frozen=True)
class Run:
    name: str
    seconds: float
    peak_bytes: int  # the child's resident set high-water mark
    results: int
    sarif: bytes


def _patchlint(name: str, args: list[str], cache: Path, work: Path) -> Run:
    env = {**os.environ, "PATCHLINT_CACHE_DIR": str(cache), "PYTHONPATH": str(ROOT)}
    out, err = work / f"{name.replace('/', '-')}.out", work / f"{name.replace('/', '-')}.err"
    start = time.perf_counter()
    with open(out, "wb") as stdout, open(err, "wb") as stderr:
        proc = subprocess.Popen([sys.executable, "-m", "patchlint", *args], env=env, stdout=stdout, stderr=stderr)
        # wait4: this child's own resource use, its peak memory among it
        _, status, usage = os.wait4(proc.pid, 0)
    seconds = time.perf_counter() - start
    code = os.waitstatus_to_exitcode(status)
    if code not in (0, 1):
        raise SystemExit(f"shard_bench: {name}: patchlint exited {code}: {err.read_text()[-400:]}")
    sarif = out.read_bytes()
    results = len(json.loads(sarif)["runs"][0]["results"])
    return Run(name, seconds, usage.ru_maxrss * 1024, results, sarif)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tree", default=os.environ.get("PATCHLINT_KERNEL_TREE"))
    parser.add_argument("--shards", type=int, default=3)
    parser.add_argument("--no-model", action="store_true")
    parser.add_argument("--cache", help="a warm cache directory to start every run from (copied, not changed)")
    parser.add_argument("paths", nargs="*", default=["mm"])
    args = parser.parse_args()
    if not args.tree:
        print("shard_bench: no tree (set PATCHLINT_KERNEL_TREE or --tree); skipped")
        return 0
    model = ["--no-model"] if args.no_model else []
    print(f"shard benchmark: {platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}, "
          f"tree {args.tree}, scan {' '.join(args.paths)}, {args.shards} shards, model {'off' if model else 'on'}")
    with tempfile.TemporaryDirectory() as work:
        def cache(name: str) -> Path:
            path = Path(work) / name
            if args.cache:
                shutil.copytree(args.cache, path)
            return path

        scan = ["scan", "--tree", args.tree, "--format", "sarif", *model, *args.paths]
        runs = [_patchlint("unsharded", scan, cache("whole"), Path(work))]
        shards = []
        for k in range(1, args.shards + 1):
            shards.append(_patchlint(f"shard {k}/{args.shards}", [*scan, "--shard", f"{k}/{args.shards}"],
                                     cache(f"shard-{k}"), Path(work)))
            (Path(work) / f"{k}.sarif").write_bytes(shards[-1].sarif)
        merged = _patchlint("sarif-merge", ["sarif-merge", *(str(Path(work) / f"{k}.sarif")
                                                            for k in range(1, args.shards + 1))],
                            Path(work) / "m", Path(work))
        for run in runs + shards + [merged]:
            print(f"  {run.name:<12} {run.seconds:8.1f} s   results {run.results:5d}   "
                  f"peak memory {run.peak_bytes / 1e9:5.2f} GB")
        slowest = max(s.seconds for s in shards)
        print(f"slowest shard {slowest:.1f} s: {slowest / runs[0].seconds:.2f}x the unsharded scan "
              f"({runs[0].seconds:.1f} s); all shards together {sum(s.seconds for s in shards):.1f} s")
        same = merged.sarif == runs[0].sarif
        print(f"merged SARIF of {args.shards} shards {'IDENTICAL to' if same else 'DIFFERS from'} the unsharded "
              f"scan's ({len(runs[0].sarif)} bytes, {runs[0].results} results)")
        return 0 if same else 1


if __name__ == "__main__":
    sys.exit(main())
