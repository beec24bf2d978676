"""The input fuzz property of tests/test_fuzz_input.py, run long: N cases (default 10,000),
then the number of cases run and the time taken.

    python tests/fuzz/run_input_fuzz.py [N] [--seed S]

Each case is one mail (built from hostile parts, or a fixture series with bytes flipped, lines
dropped or doubled) through `patchlint check` or `show` in one of the formats, in this process.
A failing case stops the run with hypothesis's minimal example and the assertion that failed.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("cases", nargs="?", type=int, default=10_000)
    ap.add_argument("--seed", type=int, default=None, help="hypothesis seed (default: random)")
    args = ap.parse_args()
    os.environ["PATCHLINT_FUZZ_EXAMPLES"] = str(args.cases)  # read when the test module loads
    sys.path.insert(0, str(ROOT))
    from hypothesis import seed

    from tests import test_fuzz_input as fuzz

    test = fuzz.test_any_mail_ends_in_a_report_or_one_line_naming_the_input
    if args.seed is not None:
        test = seed(args.seed)(test)
    t0 = time.perf_counter()
    try:
        test()
    finally:
        elapsed = time.perf_counter() - t0
        print(f"{fuzz.COUNT[0]} cases in {elapsed:.0f} s ({elapsed / max(fuzz.COUNT[0], 1) * 1000:.0f} ms each)",
              flush=True)


if __name__ == "__main__":
    main()
