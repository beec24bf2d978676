"""Apply a series in memory, patch by patch, the way `git apply` would.

Exact context first at the expected line, then the nearest offset where it
matches; no fuzz.  A patch applies whole or not at all (like git apply), and
a failed patch leaves the state as it was for the next one.  Every post-image
line keeps its origin, so later stages can say "this line came from hunk N of
patch M".
"""

from __future__ import annotations

from dataclasses import dataclass, field

from patchlint.records import ADDED, CONTEXT, REMOVED, FileChange, Hunk, LineMap, LineOrigin, Patch, Series
from patchlint.source.recover import recover_hunk
from patchlint.source.tree import Tree


@dataclass(frozen=True)
class FileImage:
    path: str
    lines: tuple[str, ...]
    origins: tuple[LineOrigin, ...]
    base_lines: int  # how many lines the file had in the base tree (0 if new)

    def text(self) -> str:
        return "".join(ln + "\n" for ln in self.lines)

    def line_map(self) -> LineMap:
        old_to_new: list[int | None] = [None] * self.base_lines
        for new, origin in enumerate(self.origins, 1):
            if origin.base_line is not None:
                old_to_new[origin.base_line - 1] = new
        return LineMap(tuple(old_to_new), self.origins)


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
        for state in reversed(self._states[:upto]):
            if path in state:
                return state[path]
        return self.base_image(path)

    def touched(self) -> list[str]:
        return sorted({p for state in self._states for p in state})


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
        applied._states.append(state if result.applied else {})
        applied.results.append(result)
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
            raise _fail(patch_no, fc, None, f"{fc.new_path} already exists in the tree")
        image = FileImage(fc.new_path, (), (), 0)
    else:
        image = current(fc.old_path)
        if image is None:
            raise _fail(patch_no, fc, None, f"{fc.old_path} does not exist in the tree")
        if fc.status == "renamed" and current(fc.new_path) is not None:
            raise _fail(patch_no, fc, None, f"rename target {fc.new_path} already exists in the tree")
    lines = list(image.lines)
    origins = list(image.origins)
    delta = 0  # how far earlier hunks moved the lines below them
    floor = 0  # hunks apply in order and never overlap
    for hunk in fc.hunks:
        pre = list(hunk.old_lines)
        if hunk.damage is not None:
            placed = recover_hunk(lines, hunk, max(hunk.old_start - 1 + delta, 0), floor)
            if placed is None:
                raise _fail(patch_no, fc, hunk, f"damaged hunk {hunk.index} of {fc.path} could not be located "
                                                f"through its removed lines")
            start, end, new_lines, kept = placed
            new_origins = [origins[i] if i is not None else LineOrigin(patch_no, hunk.index, None) for i in kept]
            status = "recovered"
        else:
            expected = (hunk.old_start - 1 if hunk.old_count else hunk.old_start) + delta
            start = _find(lines, pre, expected, floor)
            if start is None:
                raise _fail(patch_no, fc, hunk, _why_not(lines, hunk, expected, fc.path))
            end = start + len(pre)
            new_lines, new_origins = _splice(hunk, origins[start:end], patch_no)
            status = "applied" if start == expected else "offset"
        results.append(HunkResult(patch_no, fc.path, hunk.index, hunk.header, status, start + 1,
                                  start - (hunk.old_start - 1 if hunk.old_count else hunk.old_start) - delta))
        lines[start:end] = new_lines
        origins[start:end] = new_origins
        delta += len(new_lines) - (end - start)
        floor = start + len(new_lines)
    if fc.status == "deleted":
        if lines:
            raise _fail(patch_no, fc, fc.hunks[-1] if fc.hunks else None,
                        f"{fc.old_path} is deleted but the patch leaves {len(lines)} line(s) in it")
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


def _matches(lines: list[str], pre: list[str], at: int) -> bool:
    return 0 <= at and at + len(pre) <= len(lines) and lines[at:at + len(pre)] == pre


def _find(lines: list[str], pre: list[str], expected: int, floor: int) -> int | None:
    """Nearest position at or after `floor` where `pre` matches exactly; ties go to the earlier line."""
    if not pre:
        return min(max(expected, floor), len(lines))
    # Only positions where `pre` fits: the header's line number is untrusted and may be huge.
    lo, hi = max(floor, 0), len(lines) - len(pre)
    for at in sorted(range(lo, hi + 1), key=lambda a: (abs(a - expected), a)):
        if lines[at] == pre[0] and _matches(lines, pre, at):
            return at
    return None


def _why_not(lines: list[str], hunk: Hunk, expected: int, path: str) -> str:
    head = f"hunk {hunk.index} ({hunk.header.split(' @@')[0]} @@) of {path} does not apply"
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
