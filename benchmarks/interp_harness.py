"""The interpret-everything harness: every function of a directory, run alone in the model.

    python benchmarks/interp_harness.py TREE [DIR ...] [--profile s390] [--limit N]

Each function defined in the .c files of DIR (default: mm) becomes a one-thread scenario
whose thread is the function's own body: parameters named `page` are the model's page, every
other parameter and global is an unknown value.  The explorer runs it under a small budget.
Nothing may raise out of the model: a construct the interpreter cannot follow must be a cut
of that path (file, line, cause).  The script prints the cuts by cause, most frequent first
(as `patchlint doctor` lists what stops the parser), then how many runs completed, were cut
or hit their budget, and how many exceptions escaped (the target is 0).  It asserts nothing:
it is a measurement, run by hand on real trees (see BENCHMARKS.md).
"""

from __future__ import annotations

import argparse
import collections
import os
import platform
import re
import sys
import time
import traceback
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from patchlint.cparse import load_profile  # noqa: E402
from patchlint.cparse.cache import SummaryCache  # noqa: E402
from patchlint.cparse.index import FunctionIndex  # noqa: E402
from patchlint.explore.explorer import explore  # noqa: E402
from patchlint.explore.scenario import _initial  # noqa: E402
from patchlint.model.state import Scenario  # noqa: E402
from patchlint.source.tree import open_tree  # noqa: E402

BUDGET = dict(max_states=2000, max_steps=60000, max_seconds=5.0)


def cause_class(cause: str) -> str:
    """A cut's cause without the names in it: one row per kind of construct."""
    cause = re.sub(r"goto \w+:", "goto LABEL:", cause)
    cause = re.sub(r"\(.*\)", "(...)", cause)
    return cause


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("tree")
    ap.add_argument("dirs", nargs="*", default=["mm"])
    ap.add_argument("--profile", default="s390")
    ap.add_argument("--limit", type=int, default=0, help="at most N functions (0: all)")
    args = ap.parse_args()
    print(f"machine: {platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}")
    tree = open_tree(args.tree)
    index = FunctionIndex(tree, load_profile(args.profile), SummaryCache())
    files = sorted(p for d in args.dirs for p in tree.list_files(d) if p.endswith(".c"))
    state, _ = _initial({"page.flags": "anon uptodate", "page.mapcount": "1", "page.pte": "present"}, "harness")
    causes: collections.Counter[str] = collections.Counter()
    example: dict[str, str] = {}
    outcome: collections.Counter[str] = collections.Counter()
    escaped: list[str] = []
    start = time.monotonic()
    n = 0
    for path in files:
        parsed = index.parsed(path)
        for fn in parsed.functions if parsed is not None else ():
            if args.limit and n >= args.limit:
                break
            n += 1
            body = index.body(fn)
            if body is None:
                outcome["no body"] += 1
                continue
            params = tuple(p.name for p in fn.params() if p.name)
            sc = Scenario(f"harness-{fn.name}", args.profile, state, ((fn.name, body, params),), ())
            try:
                r = explore(index, sc, 0, **BUDGET)
            except Exception as exc:  # noqa: BLE001 - what the harness counts
                escaped.append(f"{fn.file}:{fn.start_line} {fn.name}: {type(exc).__name__}: {exc}")
                if len(escaped) <= 3:
                    traceback.print_exc()
                continue
            for c in r.cuts:
                k = cause_class(c.cause)
                causes[k] += 1
                example.setdefault(k, f"{c.function}() {c.file}:{c.line}")
            if r.complete:
                outcome["complete"] += 1
            elif r.cuts:
                outcome["cut"] += 1
            else:
                outcome["budget"] += 1
    seconds = time.monotonic() - start
    print(f"{args.tree} {' '.join(args.dirs)} (profile {args.profile}): {n} functions in {len(files)} files, "
          f"{seconds:.1f} s")
    print(f"{'cuts':>7}  cause (first seen at)")
    for k, c in causes.most_common():
        print(f"{c:>7}  {k}  ({example[k]})")
    print("runs: " + ", ".join(f"{k} {v}" for k, v in sorted(outcome.items())))
    print(f"exceptions out of the model: {len(escaped)}")
    for e in escaped[:20]:
        print(f"  {e}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
