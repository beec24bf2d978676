"""Where series come from: files, format-patch directories, stdin, git ranges."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import BinaryIO

from patchlint.errors import PatchlintError
from patchlint.ingest.series import Input, build_series
from patchlint.records import Series


def load_inputs(names: list[str], stdin: BinaryIO | None = None) -> list[Input]:
    inputs: list[Input] = []
    for name in names:
        if name == "-":
            stream = stdin if stdin is not None else sys.stdin.buffer
            inputs.append(Input("-", stream.read()))
            continue
        path = Path(name)
        if path.is_dir():
            files = sorted(p for p in path.iterdir()
                           if p.suffix in (".patch", ".diff", ".mbox", ".eml") and p.is_file())
            if not files:
                raise PatchlintError(name, "directory holds no .patch files", None,
                                     "give the directory git format-patch -o wrote, or the files themselves")
            inputs.extend(Input(str(p), _read(p)) for p in files)
        else:
            inputs.append(Input(name, _read(path)))
    return inputs


def _read(path: Path) -> bytes:
    try:
        return path.read_bytes()
    except FileNotFoundError:
        raise PatchlintError(str(path), "no such file", None, "check the path") from None
    except IsADirectoryError:
        raise PatchlintError(str(path), "is a directory", None, "give an mbox or patch file, or a format-patch "
                             "directory holding .patch files") from None
    except OSError as exc:
        raise PatchlintError(str(path), f"cannot read: {exc.strerror}", None,
                             "check the file's permissions") from None


def read_series(names: list[str], lenient: bool = False, stdin: BinaryIO | None = None) -> Series:
    return build_series(load_inputs(names, stdin), lenient=lenient)
