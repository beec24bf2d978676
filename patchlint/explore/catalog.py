"""Where scenario files are: the shipped catalog (grammars/scenarios) and the user's
directories.  Kept apart from the scenario parser, so that finding the files costs a
check answered from the cache nothing more than a directory listing."""

from __future__ import annotations

from pathlib import Path

from patchlint.errors import PatchlintError
from patchlint.resources import grammars_dir


def catalog(extra: list[str] | tuple[str, ...] = ()) -> list[Path]:
    """The shipped scenarios, then those of each extra directory (the `scenarios` setting)."""
    out = sorted((grammars_dir() / "scenarios").glob("*.litmus"))
    for d in extra:
        out.extend(sorted(Path(d).glob("*.litmus")))
    return out


def scenario_path(name: str, extra: list[str] | tuple[str, ...] = ()) -> Path:
    """A scenario file given by path, or by its name in the catalog or an extra directory."""
    path = Path(name)
    if path.is_file():
        return path
    for candidate in catalog(extra):
        if candidate.stem == name or candidate.name == name:
            return candidate
    names = ", ".join(p.stem for p in catalog(extra))
    raise PatchlintError(name, "no such scenario file or catalog scenario", None, f"the catalog has: {names}")
