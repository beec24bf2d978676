"""Run the analyses over a series, patch by patch, and class each finding.

For patch k the analyses see the tree after patches 1..k-1 (before) and
after 1..k (after).  A finding present after but not before is `new` (it
belongs to patch k), present before but not after is `fixed`, present in
both is `existing`.  Findings are matched by their identity (kind, function,
locks, what), never by line numbers, which a patch moves.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, replace

from patchlint.cparse.cache import SummaryCache
from patchlint.cparse.index import FunctionIndex
from patchlint.cparse.profile import Profile, load_profile
from patchlint.extract.vocab import Vocabulary, load_vocabulary
from patchlint.findings import LEVELS, Finding, SafeDirty, gates
from patchlint.printable import quote_path
from patchlint.source.apply import AppliedSeries
from patchlint.source.findings import apply_findings


@dataclass(frozen=True)
class SafeSite:
    """A set_page_dirty() site the checks found safe, and the rule that made it so (--explain)."""

    patch: int
    file: str
    line: int
    function: str
    rule: str


def analyse_series(applied: AppliedSeries, profile: Profile | None = None,
                   cache: SummaryCache | None = None, progress=None,
                   explanations: list[SafeSite] | None = None) -> list[Finding]:
    """Every finding of the series: the input's own (damage, hunks that did not apply) and,
    per applied patch, the static checks before and after it, classed new/fixed/existing.
    `explanations`, when given, collects the sites found safe after each patch, with why."""
    findings = list(apply_findings(applied))
    profile = profile or load_profile()
    cache = cache if cache is not None else SummaryCache()
    vocab = load_vocabulary()
    for patch in applied.series.patches:
        result = applied.results[patch.index - 1]
        if not result.applied:
            continue
        if progress:
            progress(f"patch {patch.index}/{len(applied.series.patches)}: {patch.subject.text}")
        before_overlay, after_overlay = overlays(applied, patch.index)
        findings.extend(unread_files(applied, patch.index, profile, cache, after_overlay))
        mine = _patch_findings(applied, patch.index, profile, cache, vocab, explanations)
        findings.extend(mine)
        findings.extend(_compiled_out(applied, patch.index, profile, cache, vocab, after_overlay, mine))
    return sorted(findings, key=Finding.sort_key)


def _patch_findings(applied: AppliedSeries, k: int, profile: Profile, cache: SummaryCache, vocab,
                    explanations: list[SafeSite] | None = None) -> list[Finding]:
    """The static checks before and after patch k, classed new/fixed/existing."""
    before_overlay, after_overlay = overlays(applied, k)
    touched = touched_functions(applied, k, profile, cache, before_overlay, after_overlay)
    if not touched:
        return []
    before_index, after_index = (FunctionIndex(applied.tree, profile, cache, overlay=overlay)
                                 for overlay in (before_overlay, after_overlay))
    before = analyse_state(before_index, touched, vocab, cache)
    after = analyse_state(after_index, touched, vocab, cache)
    if explanations is not None:
        explanations.extend(SafeSite(k, s.file, s.line, s.function, s.rule) for s in after.safe)

    def moved_away(path: str, function: str, index: FunctionIndex = after_index) -> bool:
        parsed = index.parsed(path)
        return parsed is None or all(f.name != function for f in parsed.functions)

    return classify(k, list(before.findings), list(after.findings), moved_away)


def _compiled_out(applied: AppliedSeries, k: int, profile: Profile, cache: SummaryCache, vocab,
                  after_overlay: dict[str, bytes | None], found: list[Finding]) -> list[Finding]:
    """What patch k brings in code its profile compiles out: checked again with the options
    that build it (checks/configs.py), or said to be unread."""
    from patchlint.checks import configs

    regions = configs.left_out(applied, k, profile, cache, after_overlay)
    if not regions:
        return []
    index = FunctionIndex(applied.tree, profile, cache, overlay=after_overlay)
    flip, said = configs.flipped(profile, index, regions)
    out = [configs.incomplete(r, profile) for r in configs.still_left_out(applied, flip, cache, after_overlay, regions)]
    if len(out) == len(regions):
        return out
    known = {f.identity for f in found}
    out.extend(configs.marked(f, said, profile) for f in _patch_findings(applied, k, flip, cache, vocab)
               if f.identity not in known and f.status != "existing")
    return out


@dataclass(frozen=True)
class StateResult:
    """What the static checks found in one state of the tree for one set of touched functions,
    and the set_page_dirty() sites they found safe."""

    findings: tuple[Finding, ...]
    safe: tuple[SafeDirty, ...]


def analyse_state(index: FunctionIndex, touched: set[str], vocab: Vocabulary, cache: SummaryCache) -> StateResult:
    """The static checks on one state, kept in the cache under everything they read: the tree's
    identity, the overlay's bytes, the profile, the lock table, the touched functions and
    patchlint's own code.  A patch's before state is the tree as it was, so re-checking a
    series (or a new version of a patch touching the same functions) walks only what changed."""
    key = index.state_key("state", sorted(touched), vocab.fingerprint)
    if key is not None:
        found = cache.get(key, StateResult, counted=False)
        if found is not None:
            return found
    # the analyses themselves are imported only when a state is not in the cache
    from patchlint.checks.docorder import load_documented_order
    from patchlint.checks.kinds import UnsafeSetPageDirty
    from patchlint.checks.scope import analyse_scope

    scope = analyse_scope(index, touched, vocab)
    docs = load_documented_order(index.read, vocab)
    result = StateResult(tuple(static_findings(scope, docs)),
                         tuple(UnsafeSetPageDirty().safe_sites(scope)))
    if key is not None:
        cache.put(key, result)
    return result




def static_findings(scope, docs) -> list[Finding]:
    """Every registered checker's findings on the scope (patchlint.checks.kinds.CHECKERS)."""
    from patchlint.checks.kinds import CHECKERS

    return [f for checker in CHECKERS for f in checker(docs).findings(scope)]


def overlays(applied: AppliedSeries, k: int) -> tuple[dict[str, bytes | None], dict[str, bytes | None]]:
    """The files patches 1..k change, as they are before and after patch k.

    Files only later patches change are left out: they are the tree's own there, and
    an overlay of every file of a long series made each patch's indexes scan it all."""
    return applied.overlay_before(k), applied.overlay(k)


def unread_files(applied: AppliedSeries, k: int, profile: Profile, cache: SummaryCache,
                 after_overlay: dict[str, bytes | None]) -> list[Finding]:
    """An analysis-incomplete finding for each C file patch k leaves changed that the front-end
    did not read (over the size limit, a front-end failure) or read past a bound (an #if whose
    expansion was cut short): the patch's changes there have no verdict, and the report says so
    instead of passing them in silence."""
    out = []
    index = FunctionIndex(applied.tree, profile, cache, overlay=after_overlay)
    for path in applied.changed_by(k):
        if not path.endswith((".c", ".h")) or after_overlay.get(path) is None:
            continue
        parsed = index.parsed(path)
        if parsed is None:
            continue
        if parsed.not_analysed:
            message = (f"{quote_path(path)} is not analysed, so what patch {k} changes there has no verdict: "
                       f"{parsed.not_analysed}")
        elif parsed.bounds:
            message = (f"{quote_path(path)} is analysed only in part, so the verdicts on what patch {k} changes "
                       f"there may rest on a branch the compiler would not take: {'; '.join(parsed.bounds)}")
        else:
            continue
        out.append(Finding(
            kind="analysis-incomplete", status="new", severity=LEVELS["analysis-incomplete"], patch=k, file=path,
            line=None, function=None, message=message,
            identity=f"analysis-incomplete|{path}|{'unread' if parsed.not_analysed else 'bounded'}",
        ))
    return out


def _changed_files(applied: AppliedSeries, k: int, profile: Profile, cache: SummaryCache,
                   before_overlay, after_overlay):
    """(parsed file, lines patch k adds there) after it, and (parsed file, lines it removes) before
    it, for each C file it changes."""
    patch = applied.series.patches[k - 1]
    for fc in patch.files:
        for path, overlay, state in ((fc.new_path, after_overlay, k), (fc.old_path, before_overlay, k - 1)):
            if not path or not path.endswith((".c", ".h")):
                continue
            image = applied.image(path, after=state)
            if image is None:
                continue
            other = applied.image(path, after=k - 1 if state == k else k)
            other_origins = set(other.origins) if other is not None else set()
            changed = [n for n, o in enumerate(image.origins, 1) if o not in other_origins]
            if not changed:
                continue
            parsed = FunctionIndex(applied.tree, profile, cache, overlay=overlay).parsed(path)
            if parsed is not None:
                yield parsed, changed


def touched_functions(applied: AppliedSeries, k: int, profile: Profile, cache: SummaryCache,
                      before_overlay, after_overlay) -> set[str]:
    """Functions whose lines patch k adds (after) or removes (before)."""
    return touched_names(applied, k, profile, cache, before_overlay, after_overlay)[0]


def touched_names(applied: AppliedSeries, k: int, profile: Profile, cache: SummaryCache,
                  before_overlay, after_overlay) -> tuple[set[str], set[str]]:
    """touched_functions(), and the names a designated initializer patch k changes puts in, or
    took out of, a table (`.set_page_dirty = __set_page_dirty_no_writeback,` in swap_aops): code
    that reaches that member through a pointer reaches the patch, though no function body changed."""
    functions: set[str] = set()
    entries: set[str] = set()
    for parsed, changed in _changed_files(applied, k, profile, cache, before_overlay, after_overlay):
        for fn in parsed.functions:
            if any(fn.start_line <= n <= fn.end_line for n in changed):
                functions.add(fn.name)
        lines = set(changed)
        for init in parsed.initializers:
            if init.line in lines:
                entries.update(re.findall(r"[A-Za-z_]\w*", init.value))
    return functions, entries


def classify(patch: int, before: list[Finding], after: list[Finding],
             moved_away: Callable[[str, str], bool] | None = None) -> list[Finding]:
    """new / fixed / existing for one patch, matching findings by identity; then a finding
    left over on each side that differs only in its function's file is the same one, where
    the patch took that function out of the file it was in (moved it, renamed or deleted the
    file: `moved_away(file, function)`) and the pairing is unambiguous.  A same-named static
    function fixed in one file and broken in another stays fixed and new."""
    seen_before = {f.identity or _identity(f): f for f in before}
    seen_after = {f.identity or _identity(f): f for f in after}
    gone = {key: f for key, f in seen_before.items() if key not in seen_after and moved_away is not None and
            f.file is not None and f.function is not None and moved_away(f.file, f.function)}
    came = {key: f for key, f in seen_after.items() if key not in seen_before}
    moved = _pair_moved(gone, came)
    out = []
    for key, f in seen_after.items():
        status = "existing" if key in seen_before or key in moved else "new"
        out.append(replace(f, status=status, patch=patch, identity=key))
    paired = set(moved.values())
    for key, f in seen_before.items():
        if key not in seen_after and key not in paired:
            out.append(replace(f, status="fixed", patch=patch, identity=key))
    return out


def _pair_moved(gone: dict[str, Finding], came: dict[str, Finding]) -> dict[str, str]:
    """After-identity -> before-identity for findings that match once the file is left out."""
    def loose(key: str, f: Finding) -> str:
        return key.replace(f"|{f.file}:", "|", 1) if f.file else key

    def unique(side: dict[str, Finding]) -> dict[str, str]:
        by: dict[str, list[str]] = {}
        for key, f in side.items():
            by.setdefault(loose(key, f), []).append(key)
        return {k: keys[0] for k, keys in by.items() if len(keys) == 1}

    before, after = unique(gone), unique(came)
    return {after[k]: before[k] for k in after.keys() & before.keys() if after[k] != before[k]}


def _identity(f: Finding) -> str:
    return "|".join([f.kind, f.file or "", f.function or "", ",".join(f.locks), f.message])


def fails(findings: list[Finding], fail_on: str) -> bool:
    """Whether the run should exit 1: by default only new errors and warnings fail it."""
    return any(gates(f.status, f.severity, f.replay.verdict if f.replay else None, fail_on) for f in findings)
