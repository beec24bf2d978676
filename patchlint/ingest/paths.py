"""Paths named by a diff are untrusted: they must stay inside the tree."""

from __future__ import annotations

import re

from patchlint.errors import PatchlintError

_QUOTED = re.compile(r'^"((?:[^"\\]|\\.)*)"')
_ESCAPES = {"n": "\n", "t": "\t", '"': '"', "\\": "\\", "a": "\a", "b": "\b", "f": "\f", "r": "\r", "v": "\v"}


def unquote(path: str) -> str:
    """git's C-style quoting of unusual file names ("a/tab\\there")."""
    m = _QUOTED.match(path)
    if not m:
        return path
    body = m.group(1)
    out = bytearray()
    i = 0
    while i < len(body):
        ch = body[i]
        if ch == "\\" and i + 1 < len(body):
            nxt = body[i + 1]
            if nxt in "01234567" and i + 3 < len(body) + 1 and re.match(r"[0-7]{3}", body[i + 1:i + 4]):
                out.append(int(body[i + 1:i + 4], 8))
                i += 4
                continue
            out.extend(_ESCAPES.get(nxt, nxt).encode())
            i += 2
            continue
        out.extend(ch.encode())
        i += 1
    return out.decode("utf-8", "surrogateescape")


def diff_path(raw: str, source: str, line: int) -> str | None:
    """The tree-relative path for a `---`/`+++` name, stripping one component (-p1).

    None means /dev/null.  Anything that could leave the tree is refused here,
    before any stage can read or write it.
    """
    raw = raw.split("\t", 1)[0].rstrip()
    if raw == "/dev/null":
        return None
    name = unquote(raw)
    if name.startswith("/"):
        raise PatchlintError(source, f"diff names the absolute path {name!r}", line,
                             "patchlint only reads paths inside the tree; fix the diff headers")
    parts = name.split("/")
    if len(parts) > 1:
        parts = parts[1:]
    return check_tree_path("/".join(parts), source, line)


def check_tree_path(path: str, source: str, line: int | None) -> str:
    parts = path.split("/")
    bad = (
        not path
        or path.startswith("/")
        or "\0" in path
        or "\\" in path
        or any(p in ("", ".", "..") for p in parts)
        or any(p.lower() == ".git" for p in parts)  # as git apply: no .git component anywhere
    )
    if bad:
        raise PatchlintError(source, f"diff names the path {path!r}, which is not a plain path inside the tree",
                             line, "refusing to read or write it; fix the diff headers")
    return path
