"""source: kernel trees read lazily, and series applied to them in memory."""

from patchlint.source.apply import AppliedSeries, FileImage, HunkResult, PatchResult, apply_series
from patchlint.source.tree import DirTree, GitTree, Tree, open_tree

__all__ = [
    "AppliedSeries", "DirTree", "FileImage", "GitTree", "HunkResult", "PatchResult", "Tree",
    "apply_series", "open_tree",
]
