"""Model benchmark: each catalog scenario on the fixture tree, before and after the
storage-key RFC, at preemption bounds K = 0..3: states explored, time, states/s.

    python benchmarks/model_bench.py [--bounds 0,1,2,3]

The fixture tree and series ship with patchlint, so this needs no kernel tree.
"""

from __future__ import annotations

import argparse
import os
import platform
import sys
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
        for label, overlay in (("base", {}), ("+rfc", after)):
            for k in bounds:
                index = FunctionIndex(tree, profile, cache, overlay=overlay)
                r = explore(index, sc, k)
                rate = r.states / r.seconds if r.seconds else 0.0
                done = "" if r.complete else f" INCOMPLETE ({r.incomplete})"
                print(f"{sc.name:<28}{label:<8}{k:>3}{r.states:>9}{r.seconds:>9.2f}{rate:>10.0f}  "
                      f"{','.join(sorted(r.kinds())) or '-'}{done}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
