"""Finding the data under grammars/: inside the installed package, or the source tree."""

from __future__ import annotations

import os
from pathlib import Path


def grammars_dir() -> Path:
    # the package's own directory, as importlib.resources would name it for an installed wheel
    # (not imported: it costs a warm check 20 ms of its start)
    here = Path(__file__).resolve().parent
    installed = here / "grammars"
    if installed.is_dir():
        return installed
    source_tree = here.parent / "grammars"
    if source_tree.is_dir():
        return source_tree
    raise FileNotFoundError("patchlint's grammars/ data is missing from this installation")


def grammar_file(name: str) -> Path:
    """grammars/NAME; a file of the same name under $PATCHLINT_GRAMMARS takes its place,
    so a user can extend a table (a new iterator macro, say) without editing the install."""
    override = os.environ.get("PATCHLINT_GRAMMARS")
    if override and (Path(override) / name).is_file():
        return Path(override) / name
    path = grammars_dir() / name
    if not path.is_file():
        raise FileNotFoundError(f"grammars/{name} is missing from this installation")
    return path


def default_cache_dir() -> Path | None:
    """$PATCHLINT_CACHE_DIR ("", "off" or "none": no cache), else $XDG_CACHE_HOME/patchlint,
    else ~/.cache/patchlint."""
    env = os.environ.get("PATCHLINT_CACHE_DIR")
    if env is not None:
        return None if env in ("", "off", "none") else Path(env)
    xdg = os.environ.get("XDG_CACHE_HOME")
    base = Path(xdg) if xdg else Path.home() / ".cache"
    return base / "patchlint"
