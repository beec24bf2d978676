"""Apply a series in memory, patch by patch, the way `git apply` would.

Exact context first at the expected line, then the nearest offset where it
matches; no fuzz.  A patch applies whole or not at all (like git apply), and
a failed patch leaves the state as it was for the next one.  Every post-image
line keeps its origin, so later stages can say "this line came from hunk N of
patch M".
"""

from __future__ import annotations

from bisect import bisect_right
from collections.abc import Sequence
from dataclasses import dataclass, field
from functools import cached_property

from patchlint.printable import quote_path
from patchlint.records import ADDED, CONTEXT, REMOVED, FileChange, Hunk, LineMap, LineOrigin, Patch, Series
from patchlint.source.recover import normalised, recover_hunk
from patchlint.source.tree import Tree


@dataclass(frozen=True)
class FileImage:
    path: str
    lines: tuple[str, ...]
    origins: tuple[LineOrigin, ...]
    base_lines: int  # how many lines the file had in the base tree (0 if new)

    def text(self) -> str:
        return "".join(ln + "\n" for ln in self.lines)

    @cached_property
    def data(self) -> bytes:
        """The file's bytes, made once: every later state that leaves the file alone shares them
        (and the hash a bytes object keeps, which the per-content memos of cparse.index key on)."""
        return self.text().encode("utf-8", "surrogateescape")

    def line_map(self) -> LineMap:
        old_to_new: list[int | None] = [None] * self.base_lines
        for new, origin in enumerate(self.origins, 1):
            if origin.base_line is not None:
                old_to_new[origin.base_line - 1] = new
        return LineMap(tuple(old_to_new), self.origins)


class Overlay(dict[str, bytes | None]):
    """Post-image files by path (None: deleted), as the indexes of one state of a series read
    them, made from the overlay of the state before (`parent`) by the paths in `changed`.

    Readers keep what they work out from an overlay in `memo` and work out the next one's from
    it and `changed`, so a long series costs each state its own changes, not every earlier
    patch's files again.  Treat it as read-only: memos describe the contents it was made with."""

    def __init__(self, files: dict[str, bytes | None], parent: Overlay | None = None,
                 changed: tuple[str, ...] = ()):
        super().__init__(files)
        self.parent = parent
        self.changed = changed
        self.memo: dict[str, object] = {}


@dataclass(frozen=True)
class HunkResult:
    patch: int
    file: str
    hunk: int
    header: str
    status: str  # "applied", "offset", "recovered", "failed", "skipped"
    line: int | None  # 1-based line of the file before this patch where the hunk was placed
    offset: int = 0
    reason: str | None = None


@dataclass(frozen=True)
class PatchResult:
    patch: int
    applied: bool
    hunks: tuple[HunkResult, ...]
    reason: str | None = None  # first failure, when not applied


class ApplyFailed(Exception):
    def __init__(self, result: HunkResult):
        super().__init__(result.reason)
        self.result = result
        self.results = [result]  # with the hunks of the same file placed before it


@dataclass
class AppliedSeries:
    """The base tree and the state after each patch; untouched files read from the tree."""

    tree: Tree
    series: Series
    results: list[PatchResult] = field(default_factory=list)
    _states: list[dict[str, FileImage | None]] = field(default_factory=list)
    _base: dict[str, FileImage | None] = field(default_factory=dict)
    # path -> the patches (1-based, ascending) whose state changes it: image() is a bisect, not
    # a walk back through every state (which made a long series quadratic)
    _history: dict[str, list[int]] = field(default_factory=dict)
    # the last few overlays built (after patch k), each made from the one before it
    _overlays: dict[int, Overlay] = field(default_factory=dict)

    def record(self, state: dict[str, FileImage | None], result: PatchResult) -> None:
        """The next patch's outcome and the files it leaves changed ({} when it did not apply)."""
        self._states.append(state)
        self.results.append(result)
        for path in state:
            self._history.setdefault(path, []).append(len(self._states))

    def base_image(self, path: str) -> FileImage | None:
        if path not in self._base:
            data = self.tree.read(path)
            if data is None:
                self._base[path] = None
            else:
                lines = tuple(_split_lines(data.decode("utf-8", "surrogateescape")))
                self._base[path] = FileImage(path, lines, tuple(LineOrigin(0, 0, i) for i in
                                                              range(1, len(lines) + 1)), len(lines))
        return self._base[path]

    def image(self, path: str, after: int | None = None) -> FileImage | None:
        """The file after patch `after` (1-based; 0 = base; None = whole series)."""
        upto = len(self._states) if after is None else after
        changed = self._history.get(path)
        if changed:
            i = bisect_right(changed, upto)
            if i:
                return self._states[changed[i - 1] - 1][path]
        return self.base_image(path)

    def touched(self) -> list[str]:
        return sorted(self._history)

    def changed_by(self, patch: int) -> list[str]:
        """The paths patch `patch` (1-based) changes; none when it did not apply."""
        return list(self._states[patch - 1]) if 0 < patch <= len(self._states) else []

    def data(self, path: str, after: int | None = None) -> bytes | None:
        image = self.image(path, after)
        return None if image is None else image.data

    def overlay(self, after: int) -> Overlay:
        """The files patches 1..`after` change, as bytes after patch `after` (None: deleted).

        Made from the overlay of the patch before by adding what this patch changes, so
        asking for patches 1, 2, ... n in turn (as the checks do) is linear in the series."""
        after = max(min(after, len(self._states)), 0)
        built = self._overlays.get(after)
        if built is not None:
            return built
        previous = self._overlays.get(after - 1)
        if after == 0:
            built = Overlay({})
        elif previous is None:  # asked out of turn: from the history
            built = Overlay({path: self.data(path, after) for path, changed in self._history.items()
                             if changed[0] <= after})
        else:
            changed = tuple(self._states[after - 1])
            built = Overlay(previous | {path: self.data(path, after) for path in changed}, previous, changed)
        if len(self._overlays) >= 4:
            self._overlays.pop(next(iter(self._overlays)))
        self._overlays[after] = built
        return built

    def added_lines(self, patch: int, path: str) -> frozenset[int]:
        """The lines of `path` after patch `patch` that the patch wrote (its `+` lines)."""
        if path not in self.changed_by(patch):
            return frozenset()
        image = self.image(path, after=patch)
        if image is None:
            return frozenset()
        return frozenset(n for n, o in enumerate(image.origins, 1) if o.patch == patch)

    def removed_lines(self, patch: int, path: str) -> frozenset[int]:
        """The lines of `path` before patch `patch` that the patch removes (its `-` lines).  A
        hunk's recorded placement is its first line after the hunks above it in the same file,
        so their growth is subtracted; a recovered hunk's text is rebuilt, so lines below it
        are not known and none are claimed."""
        if not 0 < patch <= len(self.results) or not self.results[patch - 1].applied:
            return frozenset()
        placed = {(h.file, h.hunk): h for h in self.results[patch - 1].hunks}
        out: set[int] = set()
        for fc in self.series.patches[patch - 1].files:
            if path != (fc.old_path or fc.path):
                continue
            growth = 0
            for h in fc.hunks:
                r = placed.get((fc.path, h.index))
                if r is None or r.line is None or r.status not in ("applied", "offset"):
                    break
                line = r.line - growth
                for ln in h.lines:
                    if ln.kind == REMOVED:
                        out.add(line)
                    if ln.kind != ADDED:
                        line += 1
                growth += sum(1 for ln in h.lines if ln.kind == ADDED) - sum(1 for ln in h.lines if ln.kind == REMOVED)
        return frozenset(out)

    def overlay_before(self, patch: int) -> Overlay:
        """The files patches 1..`patch` change, as they are before it (the files it is the
        first to change as the tree has them, or None)."""
        previous = self.overlay(patch - 1)
        new = tuple(p for p in self.changed_by(patch) if p not in previous)
        if not new:
            return previous
        return Overlay(previous | {p: self.data(p, patch - 1) for p in new}, previous, new)


def _split_lines(text: str) -> list[str]:
    """Lines as git and diff see them: split at "\n" only (str.splitlines() also splits at
    form feeds, which kernel sources contain, and at other Unicode line breaks).  A CR before the
    "\n" is dropped, because ingest reads mail with CRLF line ends as LF."""
    lines = text.split("\n")
    if lines[-1] == "":
        lines.pop()
    return [ln[:-1] if ln.endswith("\r") else ln for ln in lines]


def apply_series(tree: Tree, series: Series) -> AppliedSeries:
    applied = AppliedSeries(tree, series)
    for patch in series.patches:
        state, result = _apply_patch(applied, patch)
        applied.record(state if result.applied else {}, result)
    return applied


def _apply_patch(applied: AppliedSeries, patch: Patch) -> tuple[dict[str, FileImage | None], PatchResult]:
    state: dict[str, FileImage | None] = {}
    results: list[HunkResult] = []
    failure: str | None = None
    for fc in patch.files:
        def current(path: str) -> FileImage | None:
            return state[path] if path in state else applied.image(path, patch.index - 1)

        try:
            new_image, hunk_results = _apply_file(current, fc, patch.index)
        except ApplyFailed as exc:
            results.extend(exc.results)
            failure = failure or exc.result.reason
            continue
        results.extend(hunk_results)
        if fc.old_path and fc.old_path != fc.new_path:
            state[fc.old_path] = None
        if fc.new_path:
            state[fc.new_path] = new_image
    return state, PatchResult(patch.index, failure is None, tuple(results), failure)


def _fail(patch: int, fc: FileChange, hunk: Hunk | None, reason: str) -> ApplyFailed:
    return ApplyFailed(HunkResult(patch, fc.path, hunk.index if hunk else 0, hunk.header if hunk else "",
                                  "failed", None, 0, reason))


def _apply_file(current, fc: FileChange, patch_no: int) -> tuple[FileImage | None, list[HunkResult]]:
    done: list[HunkResult] = []
    try:
        return _apply_hunks(current, fc, patch_no, done)
    except ApplyFailed as exc:
        exc.results = done + [exc.result]
        raise


def _apply_hunks(current, fc: FileChange, patch_no: int,
                 results: list[HunkResult]) -> tuple[FileImage | None, list[HunkResult]]:
    if fc.status == "added":
        if current(fc.new_path) is not None:
            raise _fail(patch_no, fc, None, f"{quote_path(fc.new_path)} already exists in the tree")
        image = FileImage(fc.new_path, (), (), 0)
    else:
        image = current(fc.old_path)
        if image is None:
            raise _fail(patch_no, fc, None, f"{quote_path(fc.old_path)} does not exist in the tree")
        if fc.status == "renamed" and current(fc.new_path) is not None:
            raise _fail(patch_no, fc, None, f"rename target {quote_path(fc.new_path)} already exists in the tree")
    # The hunks are placed in the file as it was and the result is built front to back: hunks
    # apply in order and never overlap, so the lines at and after the end of the last hunk placed
    # are the old ones, and searching them with every position shifted by `delta` is the same
    # as searching the file the earlier hunks changed (a splice into that file per hunk made a
    # patch of many hunks quadratic).
    lines = image.lines
    origins = image.origins
    out_lines: list[str] = []
    out_origins: list[LineOrigin] = []
    delta = 0  # how far earlier hunks moved the lines below them
    floor = 0  # in the old file: hunks apply in order and never overlap
    norm: list[str] | None = None  # the old file without whitespace, for damaged hunks
    for hunk in fc.hunks:
        pre = list(hunk.old_lines)
        if hunk.damage is not None:
            if norm is None:
                norm = normalised(lines)
            placed = recover_hunk(lines, hunk, max(hunk.old_start - 1, 0), floor, norm)
            if placed is None:
                raise _fail(patch_no, fc, hunk, f"damaged hunk {hunk.index} of {quote_path(fc.path)} could not be "
                                                f"located through its removed lines")
            start, end, new_lines, kept = placed
            new_origins = [origins[i] if i is not None else LineOrigin(patch_no, hunk.index, None) for i in kept]
            status = "recovered"
        else:
            expected = hunk.old_start - 1 if hunk.old_count else hunk.old_start
            start = _find(lines, pre, expected, floor)
            if start is None:
                raise _fail(patch_no, fc, hunk, _why_not(_spliced(out_lines, lines, floor), hunk, expected + delta,
                                                         fc.path))
            end = start + len(pre)
            new_lines, new_origins = _splice(hunk, origins[start:end], patch_no)
            status = "applied" if start == expected else "offset"
        # the line and offset as in the file the earlier hunks of this patch changed
        results.append(HunkResult(patch_no, fc.path, hunk.index, hunk.header, status, start + delta + 1,
                                  start - (hunk.old_start - 1 if hunk.old_count else hunk.old_start)))
        out_lines.extend(lines[floor:start])
        out_origins.extend(origins[floor:start])
        out_lines.extend(new_lines)
        out_origins.extend(new_origins)
        delta += len(new_lines) - (end - start)
        floor = end
    out_lines.extend(lines[floor:])
    out_origins.extend(origins[floor:])
    lines = out_lines
    origins = out_origins
    if fc.status == "deleted":
        if lines:
            raise _fail(patch_no, fc, fc.hunks[-1] if fc.hunks else None,
                        f"{quote_path(fc.old_path or '')} is deleted but the patch leaves {len(lines)} line(s) in it")
        return None, results
    path = fc.new_path or fc.old_path or ""
    return FileImage(path, tuple(lines), tuple(origins), image.base_lines), results


def _splice(hunk: Hunk, old_origins: list[LineOrigin], patch_no: int) -> tuple[list[str], list[LineOrigin]]:
    new_lines: list[str] = []
    new_origins: list[LineOrigin] = []
    k = 0
    for ln in hunk.lines:
        if ln.kind == CONTEXT:
            new_lines.append(ln.text)
            new_origins.append(old_origins[k])
            k += 1
        elif ln.kind == REMOVED:
            k += 1
        elif ln.kind == ADDED:
            new_lines.append(ln.text)
            new_origins.append(LineOrigin(patch_no, hunk.index, None))
    return new_lines, new_origins


def _spliced(done: list[str], lines: Sequence[str], floor: int) -> list[str]:
    """The file as the earlier hunks of a patch left it: for the message of a hunk that fails."""
    return [*done, *lines[floor:]]


def _matches(lines: Sequence[str], pre: list[str], at: int) -> bool:
    return 0 <= at and at + len(pre) <= len(lines) and list(lines[at:at + len(pre)]) == pre


def _find(lines: Sequence[str], pre: list[str], expected: int, floor: int) -> int | None:
    """Nearest position at or after `floor` where `pre` matches exactly; ties go to the earlier line.

    Searched outwards from `expected`, so a hunk found where its header says costs its own
    length and one found at an offset costs the offset, not a sort of every position."""
    if not pre:
        return min(max(expected, floor), len(lines))
    # Only positions where `pre` fits: the header's line number is untrusted and may be huge.
    lo, hi = max(floor, 0), len(lines) - len(pre)
    if lo > hi:
        return None
    first = pre[0]
    # the first distance at which a position in [lo, hi] exists
    d = max(lo - expected, expected - hi, 0)
    while expected - d >= lo or expected + d <= hi:
        for at in (expected - d, expected + d) if d else (expected,):
            if lo <= at <= hi and lines[at] == first and _matches(lines, pre, at):
                return at
        d += 1
    return None


def _why_not(lines: Sequence[str], hunk: Hunk, expected: int, path: str) -> str:
    head = f"hunk {hunk.index} ({hunk.header.split(' @@')[0]} @@) of {quote_path(path)} does not apply"
    post = list(hunk.new_lines)
    if post != list(hunk.old_lines) and _find(lines, post, expected, 0) is not None:
        return f"{head}: its result is already there (patch already applied?)"
    norm = [" ".join(x.split()) for x in lines]
    pre_norm = [" ".join(x.split()) for x in hunk.old_lines]
    ws = _find(norm, pre_norm, expected, 0)
    if ws is not None:
        return f"{head}: it matches at line {ws + 1} only when whitespace is ignored (whitespace-damaged?)"
    pre = list(hunk.old_lines)
    if 0 <= expected < len(lines):
        for i, want in enumerate(pre):
            have = lines[expected + i] if expected + i < len(lines) else "<end of file>"
            if have != want:
                return f"{head}: at line {expected + i + 1} the tree has {have.strip()[:60]!r}, " \
                       f"the patch expects {want.strip()[:60]!r}"
    return f"{head}: line {expected + 1} is past the end of the file ({len(lines)} lines)"
