"""A patch that changes code its profile compiles out is checked in a configuration that has it.

A profile is one build (its options from the tree's defconfig and Kconfig, see
cparse/kconfig.py); code under `#ifdef CONFIG_DEBUG_VM` is not in s390's.  A patch
that changes such code must not pass because nothing read it: the lines it adds in
a branch the profile does not take are found from the preprocessor's record of what
it left out, the options that branch's `#if` tests are flipped (an option off is
defined, one on is undefined), and if that brings the lines in, the patch is checked
again under the flipped options; what that check finds and the first did not is
reported, saying which options it needed.  Lines no flip brings in (a nested or
arithmetic condition) are an analysis-incomplete finding naming the `#if`.
"""

from __future__ import annotations

from dataclasses import dataclass

from patchlint.cparse.cache import SummaryCache
from patchlint.cparse.index import FunctionIndex
from patchlint.cparse.preproc import CompiledOut
from patchlint.cparse.profile import Profile
from patchlint.findings import LEVELS, Finding
from patchlint.printable import quote_path
from patchlint.source.apply import AppliedSeries


@dataclass(frozen=True)
class LeftOut:
    """Lines patch `patch` adds to `path` that the profile compiles out, and the #if that does."""

    patch: int
    path: str
    lines: tuple[int, ...]
    region: CompiledOut


def left_out(applied: AppliedSeries, k: int, profile: Profile, cache: SummaryCache,
             after_overlay: dict[str, bytes | None]) -> list[LeftOut]:
    out = []
    index = FunctionIndex(applied.tree, profile, cache, overlay=after_overlay)
    for path in applied.changed_by(k):
        if not path.endswith((".c", ".h")) or after_overlay.get(path) is None:
            continue
        added = applied.added_lines(k, path)
        parsed = index.parsed(path) if added else None
        if parsed is None:
            continue
        for region in parsed.compiled_out:
            lines = tuple(n for n in sorted(added) if region.first <= n <= region.last)
            if lines:
                out.append(LeftOut(k, path, lines, region))
    return out


def flipped(profile: Profile, index: FunctionIndex, regions: list[LeftOut]) -> tuple[Profile, tuple[str, ...]]:
    """The profile with every option the regions' #ifs test flipped, and a description of the
    flips ("CONFIG_DEBUG_VM", "no CONFIG_X")."""
    defines = index.defines()
    on: dict[str, str] = {}
    off: list[str] = []
    for r in regions:
        for option in r.region.options:
            if option in defines:
                off.append(option)
            else:
                on[option] = "1"
    kept = tuple((k, v) for k, v in profile.defines if k not in off)
    flip = Profile(profile.name, profile.arch, tuple(sorted(dict(kept, **on).items())), profile.defconfigs,
                   profile.kconfigs, tuple(sorted(set(profile.remove) | set(off))), profile.overrides)
    said = tuple(sorted(on)) + tuple(f"no {o}" for o in sorted(set(off)))
    return flip, said


def still_left_out(applied: AppliedSeries, profile: Profile, cache: SummaryCache,
                   after_overlay: dict[str, bytes | None], regions: list[LeftOut]) -> list[LeftOut]:
    """The regions whose lines the flipped profile still compiles out."""
    index = FunctionIndex(applied.tree, profile, cache, overlay=after_overlay)
    out = []
    for r in regions:
        parsed = index.parsed(r.path)
        if parsed is None or any(c.first <= n <= c.last for c in parsed.compiled_out for n in r.lines):
            out.append(r)
    return out


def incomplete(r: LeftOut, profile: Profile) -> Finding:
    first, last = r.lines[0], r.lines[-1]
    where = f"{quote_path(r.path)}:{first}" + (f"-{last}" if last != first else "")
    return Finding(
        kind="analysis-incomplete", status="new", severity=LEVELS["analysis-incomplete"], patch=r.patch,
        file=r.path, line=first, function=None,
        message=(f"patch {r.patch} changes {where}, which the {profile.name} profile compiles out "
                 f"(`{r.region.condition}` at line {r.region.line}) and no flip of the options it tests "
                 "brings in: no verdict there (--define the options that build it)"),
        identity=f"analysis-incomplete|{r.path}|compiled-out|{r.region.line}",
    )


def marked(f: Finding, said: tuple[str, ...], profile: Profile) -> Finding:
    """A finding of the flipped check: it says the configuration it needed."""
    from dataclasses import replace

    options = ", ".join(said)
    return replace(f, message=f"{f.message} (with {options}, which the {profile.name} profile builds otherwise)",
                   identity=f"{f.identity}|with {options}")
