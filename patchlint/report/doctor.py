"""`patchlint doctor` as text."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

from patchlint.cparse.survey import Comparison, PeakMemory, Survey


def _origin(source: str) -> str:
    """The kind of place an option's value came from, for the summary line."""
    if source.startswith("profile "):
        return "the profile"
    if source.startswith("--define"):
        return "--define"
    if "(Kconfig" in source or "(selected by" in source:
        return "Kconfig"
    if "(a feature macro)" in source:
        return "arch headers"
    return "the defconfig"


def render_doctor(tree: dict, profile: str, paths: list[str], s: Survey, cache_dir: Path | None,
                  cache_size: tuple[int, int], comparison: Comparison | None = None,
                  cache_off_reason: str | None = None, config: bool = False,
                  memory: PeakMemory | None = None) -> str:
    out = []
    rev = f" at {tree['revision'][:12]}" if tree.get("revision") else ""
    out.append(f"tree: {tree['path']}{rev} (Linux {tree['kernel_version']}), profile {profile}")
    out.append(f"paths: {' '.join(paths) if paths else '(whole tree)'}")
    out.append(f"files: {s.files} C files, {s.bytes / 1e6:.1f} MB")
    out.append(f"functions: {s.functions} in the profile's #if branches; {s.clean} parse cleanly "
               f"({s.clean_share:.2f}%), {s.functions - s.clean} with a parse error in the body")
    if s.worst:
        out.append("constructs at the first parse error, most frequent first (add macros to grammars/dialect.toml):")
        width = max(len(k) for k, _, _ in s.worst)
        for construct, count, example in s.worst:
            out.append(f"  {count:>5}  {construct:<{width}}  e.g. {example}")
    for path, reason in s.not_analysed:
        out.append(f"not analysed: {path}: {reason}")
    origins = Counter(_origin(source) for _, source in s.config_sources if source is not None)
    out.append(f"config: {s.config_tested} CONFIG_ options tested by #if, {s.config_set} on "
               f"({', '.join(f'{n} from {o}' for o, n in sorted(origins.items())) or 'none'}), "
               f"{s.config_tested - s.config_set} taken as off (undefined is 0, as in C)")
    if config:
        width = max((len(name) for name, _ in s.config_sources), default=0)
        out.extend(f"  {name:<{width}}  {'on   ' + source if source else 'off'}" for name, source in s.config_sources)
    if cache_dir is None:
        # a cache key that cannot be used turns the cache off: say why, or it looks like a slow machine
        out.append(f"cache: off (no usable key: {cache_off_reason})" if cache_off_reason else "cache: off")
    else:
        entries, size = cache_size
        out.append(f"cache: {cache_dir} ({entries} entries, {size / 1e6:.1f} MB); this run: {s.cache_hits} hits, "
                   f"{s.cache_misses} misses, {s.cache_rebuilt} rebuilt")
    rate = s.bytes / 1e6 / s.seconds if s.seconds else 0.0
    out.append(f"throughput: {s.bytes / 1e6:.1f} MB in {s.seconds:.2f} s ({rate:.1f} MB/s)")
    if comparison is not None:
        c = comparison
        bare_share = 100.0 * c.clean_bare / c.functions_bare if c.functions_bare else 100.0
        out.append(f"compared with bare tree-sitter-c (best of 3, no cache): bare {c.seconds_bare:.2f} s, "
                   f"{bare_share:.2f}% of {c.functions_bare} functions clean; front-end {c.seconds:.2f} s, "
                   f"{100.0 * c.clean / max(c.functions, 1):.2f}% of {c.functions} clean; "
                   f"{c.ratio:.2f}x the bare time")
    if memory is not None:
        # measured after the work above: what reading these files took, imports included
        out.append(memory.describe())
    return "\n".join(out) + "\n"
