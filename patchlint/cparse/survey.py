"""Parse quality of a set of files: what `patchlint doctor` reports."""

from __future__ import annotations

import re
import sys
import time
from collections import Counter
from dataclasses import dataclass, field

from patchlint.cparse.index import FunctionIndex

_CONSTRUCT = re.compile(rb"([A-Za-z_]\w*)\s*\(")


@dataclass
class Survey:
    files: int = 0
    bytes: int = 0
    functions: int = 0
    clean: int = 0
    not_analysed: list[tuple[str, str]] = field(default_factory=list)
    worst: list[tuple[str, int, str]] = field(default_factory=list)  # (construct, count, example path:line)
    config_tested: int = 0
    config_set: int = 0
    # each CONFIG_ option the files test: where its value comes from, None when it is off
    config_sources: list[tuple[str, str | None]] = field(default_factory=list)
    seconds: float = 0.0
    cache_hits: int = 0
    cache_misses: int = 0
    cache_rebuilt: int = 0

    @property
    def clean_share(self) -> float:
        return 100.0 * self.clean / self.functions if self.functions else 100.0


@dataclass(frozen=True)
class PeakMemory:
    """The most memory held at once, as the kernel counts it (getrusage's ru_maxrss): patchlint's
    own process, and the largest of the child processes it waited for (git, scan --jobs workers)."""

    own: int  # bytes
    children: int  # bytes; 0 when it started none

    def describe(self) -> str:
        text = f"peak memory: {self.own / 1e6:.1f} MB resident"
        if self.children:
            text += f" (largest child process: {self.children / 1e6:.1f} MB)"
        return text


def peak_memory() -> PeakMemory | None:
    """This process's peak memory so far; None where the platform has no getrusage (Windows)."""
    try:
        import resource
    except ImportError:
        return None
    scale = 1 if sys.platform == "darwin" else 1024  # ru_maxrss: bytes on macOS, KiB on Linux and the BSDs
    return PeakMemory(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * scale,
                      resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss * scale)


def c_files(index: FunctionIndex, paths: list[str]) -> list[str]:
    out: set[str] = set()
    for p in paths or [""]:
        p = p.strip("/")
        if p.endswith((".c", ".h")) and index.read(p) is not None:
            out.add(p)
            continue
        out.update(f for f in index.tree.list_files(p) if f.endswith(".c"))
    return sorted(out)


def survey(index: FunctionIndex, files: list[str], worst: int = 10) -> Survey:
    result = Survey()
    before = (index.cache.stats.hits, index.cache.stats.misses, index.cache.stats.rebuilt)
    constructs: Counter[str] = Counter()
    examples: dict[str, str] = {}
    tested: set[str] = set()
    t0 = time.perf_counter()
    for path in files:
        parsed = index.parsed(path)
        if parsed is None:
            result.not_analysed.append((path, "vanished before it could be read"))
            continue
        result.files += 1
        result.bytes += parsed.size
        tested.update(parsed.config_tested)
        if parsed.not_analysed:
            result.not_analysed.append((path, parsed.not_analysed))
            continue
        for f in parsed.functions:
            result.functions += 1
            if f.parse_ok:
                result.clean += 1
                continue
            key = _construct(index, path, f.error_line)
            constructs[key] += 1
            examples.setdefault(key, f"{path}:{f.error_line}")
    result.seconds = time.perf_counter() - t0
    stats = index.cache.stats
    result.cache_hits, result.cache_misses, result.cache_rebuilt = (
        stats.hits - before[0], stats.misses - before[1], stats.rebuilt - before[2])
    result.config_tested = len(tested)
    result.config_sources = [(name, index.config_source(name)) for name in sorted(tested)]
    result.config_set = sum(1 for _, source in result.config_sources if source is not None)
    result.worst = [(k, n, examples[k]) for k, n in sorted(constructs.items(), key=lambda kv: (-kv[1], kv[0]))[:worst]]
    return result


def _construct(index: FunctionIndex, path: str, line: int | None) -> str:
    """Name the construct at an error line: the first call-like identifier there."""
    data = index.read(path) or b""
    if line is None:
        return "?"
    text = data.split(b"\n")[line - 1] if line - 1 < data.count(b"\n") + 1 else b""
    m = _CONSTRUCT.search(text)
    if m:
        return m.group(1).decode("utf-8", "replace") + "(...)"
    return " ".join(text.decode("utf-8", "replace").split())[:40] or "?"


@dataclass
class Comparison:
    """Bare tree-sitter-c against the front-end on the same bytes, same process, best of N."""

    functions_bare: int
    clean_bare: int
    seconds_bare: float
    functions: int
    clean: int
    seconds: float

    @property
    def ratio(self) -> float:
        return self.seconds / self.seconds_bare if self.seconds_bare else 0.0


def compare_with_bare(index: FunctionIndex, files: list[str], repeat: int = 3) -> Comparison:
    from patchlint.cparse import tsapi
    from patchlint.cparse.parse import parse_source

    contents = [(p, d) for p in files if (d := index.read(p)) is not None]
    defines = index.defines()
    parser = tsapi.new_parser()
    q = tsapi.query("functions")

    def bare() -> tuple[float, int, int]:
        t0 = time.perf_counter()
        total = clean = 0
        for _, data in contents:
            caps = tsapi.captures(q, parser.parse(data).root_node)
            for body in caps.get("function.body", []):
                total += 1
                clean += not body.has_error
        return time.perf_counter() - t0, total, clean

    def ours() -> tuple[float, int, int]:
        t0 = time.perf_counter()
        total = clean = 0
        for path, data in contents:
            parsed = parse_source(path, data, index.profile, defines)
            total += len(parsed.functions)
            clean += sum(f.parse_ok for f in parsed.functions)
        return time.perf_counter() - t0, total, clean

    tb = min(bare()[0] for _ in range(repeat))
    _, nb, cb = bare()
    tf = min(ours()[0] for _ in range(repeat))
    _, nf, cf = ours()
    return Comparison(nb, cb, tb, nf, cf, tf)
