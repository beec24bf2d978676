"""Input-handling benchmark: `patchlint check` of one patch with many hunks to one file, and of a
series of many patches, on a copy of the bundled fixture tree (issue 15, item 5).

    python benchmarks/input_bench.py [--hunks 100000] [--patches 5000] [--baseline-src DIR]

Both inputs are made here, in a temporary directory:

- hunks: a file of N four-line blocks (`static int vK;` between two comments) and one patch
  changing the middle line of every block: N hunks, each at the line its header names;
- patches: a series of N patches, patch K adding lib/bench/fK.c with one small function, so every
  patch is analysed and the overlays of later patches hold every earlier patch's file.

Each is timed end to end as a user runs it (`python -m patchlint check --no-model --tree T X`,
cache off, output to /dev/null), and the command's exit status is checked (0: nothing found).
`--baseline-src DIR` runs the same commands with another patchlint source tree first on
PYTHONPATH (e.g. `git worktree add /tmp/base <rev>`), side by side.  The model is left out:
this measures reading, applying and the static checks' indexes, which the model's replay of
scenarios does not change.
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
FIXTURE_TREE = ROOT / "fixtures" / "trees" / "s390-3.0"
HEAD = ("From {sha} Mon Sep 17 00:00:00 2001\nFrom: Bench <bench@example.org>\n"
        "Date: Sat, 21 Apr 2012 10:00:00 +0100\nSubject: [PATCH {n}/{t}] {subject}\n\n"
        "Benchmark patch.\n\nSigned-off-by: Bench <bench@example.org>\n---\n")


def many_hunks(tree: Path, n: int, out: Path) -> Path:
    lines: list[str] = []
    for k in range(n):
        lines += [f"/* block {k} */", f"static int v{k};", f"/* end {k} */", ""]
    (tree / "lib").mkdir(exist_ok=True)
    (tree / "lib" / "bench_hunks.c").write_text("\n".join(lines) + "\n")
    body = ["diff --git a/lib/bench_hunks.c b/lib/bench_hunks.c", "--- a/lib/bench_hunks.c",
            "+++ b/lib/bench_hunks.c"]
    for k in range(n):
        body += [f"@@ -{4 * k + 1},3 +{4 * k + 1},3 @@", f" /* block {k} */", f"-static int v{k};",
                 f"+static long v{k};", f" /* end {k} */"]
    path = out / "hunks.mbox"
    path.write_text(HEAD.format(sha="1" * 40, n=1, t=1, subject="bench: many hunks") + "\n".join(body)
                    + "\n-- \n2.39.5\n")
    return path


def many_patches(n: int, out: Path) -> Path:
    parts = []
    for k in range(1, n + 1):
        body = [f"diff --git a/lib/bench/f{k}.c b/lib/bench/f{k}.c", "new file mode 100644", "--- /dev/null",
                f"+++ b/lib/bench/f{k}.c", "@@ -0,0 +1,4 @@", f"+static int bench_{k}(int x)", "+{",
                "+\treturn x;", "+}"]
        parts.append(HEAD.format(sha=f"{k:040d}", n=k, t=n, subject=f"bench: file {k}") + "\n".join(body)
                     + "\n-- \n2.39.5\n\n")
    path = out / "patches.mbox"
    path.write_text("".join(parts))
    return path


def timed(src: Path, tree: Path, mbox: Path) -> tuple[float, int]:
    env = {**os.environ, "PATCHLINT_CACHE_DIR": "off", "PYTHONPATH": str(src)}
    t0 = time.perf_counter()
    proc = subprocess.run([sys.executable, "-m", "patchlint", "check", "--no-model", "--tree", str(tree), str(mbox)],
                          stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, env=env)
    elapsed = time.perf_counter() - t0
    if proc.returncode not in (0, 1):
        raise SystemExit(f"{mbox.name}: exit {proc.returncode}: {proc.stderr.decode(errors='replace').strip()}")
    return elapsed, proc.returncode


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--hunks", type=int, default=100_000)
    ap.add_argument("--patches", type=int, default=5_000)
    ap.add_argument("--baseline-src", type=Path, help="another patchlint source tree, timed first")
    args = ap.parse_args()
    sources = ([("baseline", args.baseline_src)] if args.baseline_src else []) + [("this", ROOT)]
    with tempfile.TemporaryDirectory(prefix="patchlint-input-bench-") as tmp:
        work = Path(tmp)
        hunk_tree, series_tree = work / "tree-hunks", work / "tree-series"
        shutil.copytree(FIXTURE_TREE, hunk_tree)
        shutil.copytree(FIXTURE_TREE, series_tree)
        cases = [(f"{args.hunks} hunks to one file", hunk_tree, many_hunks(hunk_tree, args.hunks, work)),
                 (f"{args.patches}-patch series", series_tree, many_patches(args.patches, work))]
        print(f"python {sys.version.split()[0]}, {os.cpu_count()} cpu(s); check --no-model, cache off")
        for label, tree, mbox in cases:
            row = [f"{label:>28}:"]
            for name, src in sources:
                seconds, code = timed(src, tree, mbox)
                row.append(f"{name} {seconds:7.1f} s (exit {code})")
            print("  ".join(row), flush=True)


if __name__ == "__main__":
    main()
