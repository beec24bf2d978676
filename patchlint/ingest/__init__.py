"""ingest: patch series from mail, files, directories, stdin or a git range."""

from patchlint.ingest.reader import read_series
from patchlint.ingest.series import Input, build_series

__all__ = ["Input", "build_series", "read_series"]
