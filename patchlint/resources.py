"""Finding the data under grammars/: inside the installed package, or the source tree."""

from __future__ import annotations

import os
from importlib import resources
from pathlib import Path


def grammars_dir() -> Path:
    installed = resources.files("patchlint").joinpath("grammars")
    if installed.is_dir():
        return Path(str(installed))
    source_tree = Path(__file__).resolve().parent.parent / "grammars"
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
