"""cparse: kernel C read through a dialect pass and tree-sitter, out as frozen records."""

from patchlint.cparse.defs import CallSite, FunctionDef, Param, ParsedFile
from patchlint.cparse.parse import content_id, parse_source
from patchlint.cparse.profile import Profile, load_profile

__all__ = ["CallSite", "FunctionDef", "Param", "ParsedFile", "Profile", "content_id", "load_profile",
           "parse_source"]
