"""Run patchlint on the peer tools' own locking test suites and compare with what they expect.

    python benchmarks/peer_suites.py [--sparse PATH] [--smatch PATH] [--verbose]

PATH is a local copy of the suite: sparse's `validation/context.c` (or a sparse checkout, whose
validation/context.c is used), smatch's `validation/sm_locking*.c` (a file, or a checkout whose
validation/sm_locking*.c are all used).  Nothing of the suites is kept in this repository: the
files are read from where they are, mapped onto the kernel's lock primitives in a temporary
tree (every line kept in place, so line numbers match the suite's expectations), scanned with
`patchlint scan --no-model`, and the findings compared function by function with the
expectations written at the bottom of each file (sparse's `check-error-start` block, smatch's
`check-output-start` block).

The mapping, as issue 16 describes it:
- sparse: `__context__(1)` is `spin_lock(&lock)`, `__context__(-1)` is `spin_unlock(&lock)` of
  one lock, `__attribute__((context(0,1)))` is `__acquires(lock)`, `context(1,0)` is
  `__releases(lock)`, `context(1,1)` is `__must_hold(lock)`;
- smatch: the 2.6-era `_spin_lock(x)`, `_spin_unlock(x)`, `_spin_trylock(x)` and
  `_spin_unlock_irqrestore(x, f)` are `spin_lock(&x)`, ... of the lock variable x.

How a finding meets an expectation: sparse's "context imbalance in 'f'" (any of its three
messages) is met by a lock-imbalance or double-unlock finding on f (sparse reports a second
unlock as "unexpected unlock"; patchlint as double-unlock); smatch's "double unlocked 'x'" by a
double-unlock finding on x in that function, its "inconsistent returns 'x'" by a lock-imbalance
finding on x.  Out of scope: smatch's `flags` of an irqsave trylock tracked as a lock of its
own (patchlint keeps the irq state as a context, not a lock named by its flags variable).
A finding no expectation asks for is listed as extra, with its message.
"""

from __future__ import annotations

import argparse
import re
import shutil
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from patchlint.checks.tree import scan  # noqa: E402
from patchlint.cparse import load_profile  # noqa: E402
from patchlint.cparse.cache import SummaryCache  # noqa: E402
from patchlint.cparse.index import FunctionIndex  # noqa: E402
from patchlint.findings import Finding  # noqa: E402
from patchlint.source.tree import open_tree  # noqa: E402

KINDS = ("lock-imbalance", "double-unlock")
OUT_OF_SCOPE = {"flags"}  # smatch's irq flags variable, tracked as a lock


@dataclass(frozen=True)
class Expected:
    line: int
    function: str
    lock: str | None  # smatch names the lock; sparse does not
    what: str  # the suite's own words


@dataclass(frozen=True)
class Result:
    expected: list[Expected]
    met: list[tuple[Expected, Finding]]
    missed: list[Expected]
    out_of_scope: list[Expected]
    extra: list[Finding]


def map_sparse(text: str) -> str:
    text = re.sub(r"__attribute__\(\(context\(0\s*,\s*1\)\)\)", "__acquires(lock)", text)
    text = re.sub(r"__attribute__\(\(context\(1\s*,\s*0\)\)\)", "__releases(lock)", text)
    text = re.sub(r"__attribute__\(\(context\(1\s*,\s*1\)\)\)", "__must_hold(lock)", text)
    text = re.sub(r"__context__\(\s*1\s*\)", "spin_lock(&lock)", text)
    text = re.sub(r"__context__\(\s*-1\s*\)", "spin_unlock(&lock)", text)
    return text + "\nspinlock_t lock;\n"


def map_smatch(text: str) -> str:
    for old, new in (("_spin_unlock_irqrestore", "spin_unlock_irqrestore"), ("_spin_trylock", "spin_trylock"),
                     ("_spin_unlock", "spin_unlock"), ("_spin_lock", "spin_lock")):
        # a call's first argument is the lock variable: `_spin_lock(x)` -> `spin_lock(&x)`
        text = re.sub(rf"(?<![\w]){old}\(\s*(\w+)", rf"{new}(&\1", text)
    return text


def sparse_expected(text: str) -> list[Expected]:
    block = text.split("check-error-start", 1)[-1].split("check-error-end", 1)[0]
    return [Expected(int(m.group(1)), m.group(2), None, m.group(3).strip())
            for m in re.finditer(r":(\d+):\d+: warning: context imbalance in '(\w+)' - (.*)", block)]


def smatch_expected(text: str) -> list[Expected]:
    block = text.split("check-output-start", 1)[-1].split("check-output-end", 1)[0]
    out = []
    for m in re.finditer(r":(\d+) (\w+)\(\) (?:error|warn): (double unlocked|inconsistent returns) '(\w+)'", block):
        out.append(Expected(int(m.group(1)), m.group(2), m.group(4), m.group(3)))
    return out


def run_file(source: Path, mapped: str) -> list[Finding]:
    """patchlint scan --no-model of one mapped suite file, in a temporary tree of its own."""
    with tempfile.TemporaryDirectory() as tmp:
        tree = Path(tmp) / "linux"
        (tree / "mm").mkdir(parents=True)
        (tree / "Makefile").write_text("VERSION = 6\nPATCHLEVEL = 12\nSUBLEVEL = 0\n")
        (tree / "mm" / source.name).write_text(mapped)
        index = FunctionIndex(open_tree(str(tree)), load_profile(), SummaryCache(enabled=False))
        parsed = index.parsed(f"mm/{source.name}")
        functions = list(parsed.functions) if parsed is not None else []
        findings, _ = scan(index, functions)
        shutil.rmtree(tree, ignore_errors=True)
    return [f for f in findings if f.kind in KINDS]


def compare(expected: list[Expected], found: list[Finding], by_lock: bool) -> Result:
    met, missed, skipped = [], [], []
    used: set[int] = set()
    for e in expected:
        if e.lock in OUT_OF_SCOPE:
            skipped.append(e)
            continue
        want = "double-unlock" if e.what == "double unlocked" else "lock-imbalance" if by_lock else None
        # smatch's "inconsistent returns" is about returns, not about an unlock of a lock never taken
        hit = next((i for i, f in enumerate(found) if f.function == e.function and i not in used and
                    (want is None or f.kind == want) and (not by_lock or e.lock in f.locks) and
                    not (e.what == "inconsistent returns" and (f.identity or "").endswith("|unlock"))), None)
        if hit is None:
            missed.append(e)
        else:
            used.add(hit)
            met.append((e, found[hit]))
    if not by_lock:  # sparse: one expectation per function; every finding on it belongs to it
        wanted = {e.function for e in expected}
        used |= {i for i, f in enumerate(found) if f.function in wanted}
    extra = [f for i, f in enumerate(found) if i not in used]
    return Result(expected, met, missed, skipped, extra)


def report(title: str, r: Result, verbose: bool) -> None:
    asked = len(r.expected) - len(r.out_of_scope)
    print(f"{title}: {len(r.met)} of {asked} expectations met"
          + (f" ({len(r.out_of_scope)} out of scope)" if r.out_of_scope else "")
          + f", {len(r.extra)} finding(s) no expectation asks for")
    for e, f in r.met:
        print(f"  met     {e.function}:{e.line} {e.what}{' ' + repr(e.lock) if e.lock else ''}"
              f"  <- {f.kind} line {f.line}{': ' + f.message if verbose else ''}")
    for e in r.missed:
        print(f"  MISSED  {e.function}:{e.line} {e.what}{' ' + repr(e.lock) if e.lock else ''}")
    for e in r.out_of_scope:
        print(f"  skipped {e.function}:{e.line} {e.what} {e.lock!r} (out of scope)")
    for f in r.extra:
        print(f"  extra   {f.function}:{f.line} {f.kind} {list(f.locks)}: {f.message}")


def sparse_files(path: Path) -> list[Path]:
    return [path / "validation" / "context.c"] if path.is_dir() else [path]


def smatch_files(path: Path) -> list[Path]:
    return sorted((path / "validation").glob("sm_locking*.c")) if path.is_dir() else [path]


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--sparse", type=Path, help="sparse's validation/context.c, or a sparse checkout")
    ap.add_argument("--smatch", type=Path, help="a smatch validation/sm_locking*.c, or a smatch checkout")
    ap.add_argument("--verbose", action="store_true", help="print each met finding's message")
    args = ap.parse_args()
    if args.sparse is None and args.smatch is None:
        ap.error("give --sparse and/or --smatch")
    for path in sparse_files(args.sparse) if args.sparse else []:
        text = path.read_text()
        r = compare(sparse_expected(text), run_file(path, map_sparse(text)), by_lock=False)
        report(f"sparse {path.name}", r, args.verbose)
        good = [f for f in r.extra if f.function and f.function.startswith("good_")]
        print(f"  findings on the suite's correct (good_*) functions: {len(good)}")
    total = Result([], [], [], [], [])
    for path in smatch_files(args.smatch) if args.smatch else []:
        text = path.read_text()
        r = compare(smatch_expected(text), run_file(path, map_smatch(text)), by_lock=True)
        report(f"smatch {path.name}", r, args.verbose)
        total = Result(total.expected + r.expected, total.met + r.met, total.missed + r.missed,
                       total.out_of_scope + r.out_of_scope, total.extra + r.extra)
    if args.smatch:
        print(f"smatch in all: {len(total.met)} of {len(total.expected) - len(total.out_of_scope)} in-scope "
              f"expectations met, {len(total.out_of_scope)} out of scope, {len(total.extra)} extra")
    return 0


if __name__ == "__main__":
    sys.exit(main())
