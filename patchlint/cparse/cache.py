"""Parsed summaries cached by content: git blob id (or the same hash of the bytes).

The cache lives in the user's cache directory ($PATCHLINT_CACHE_DIR, else
$XDG_CACHE_HOME/patchlint, else ~/.cache/patchlint), one file per summary,
written to a temporary name and renamed into place, so two patchlint
processes sharing it never see half a file.  A file that does not load —
corrupt, truncated, from another patchlint version — is ignored and
rebuilt, never reported as an error.

Every file is sealed (patchlint.seal): an HMAC-SHA256 of its bytes under the user's key, kept
outside the cache, is checked before the pickle is loaded, so an entry someone else wrote (a
shared directory, a CI cache restored from a pull request) cannot run code, and a flipped bit
is a miss.  Without a usable key the cache is off.
"""

from __future__ import annotations

import os
import pickle
import tempfile
from dataclasses import dataclass
from pathlib import Path

from patchlint import __version__
from patchlint.cparse.defs import ParsedFile
from patchlint.resources import default_cache_dir
from patchlint.seal import mac, secret, unavailable, unseal

_MAGIC = "patchlint-summary"
# Bumped whenever the summary records change shape, so old entries are rebuilt
# (the directory also carries patchlint's version).  5: entries sealed with the user's key;
# 6: statement expressions are IR nodes (a summary's bindings may come from inside one);
# 7: ParsedFile.bounds (what the #if evaluator stopped at); 8: extract.summary.HeldCall (was CallSite);
# 9: a summary's locks are extract.facts.Held (was extract.walker.Held); 10: ParsedFile.compiled_out.
SUMMARY_FORMAT = 10


@dataclass
class CacheStats:
    hits: int = 0
    misses: int = 0
    rebuilt: int = 0  # entries that existed but did not load
    write_errors: int = 0


class SummaryCache:
    def __init__(self, root: Path | None = None, enabled: bool = True):
        self.root = (root if root is not None else default_cache_dir()) if enabled else None
        # no key, no cache: an entry that cannot be authenticated is never loaded
        self.secret = secret() if self.root is not None else None
        self.off_reason = unavailable() if self.root is not None and self.secret is None else None
        if self.secret is None:
            self.root = None
        self.stats = CacheStats()
        # summaries already loaded, for the several indexes one run builds over one cache (the
        # before and after states of each patch share every file the patch does not change)
        self.memory: dict[str, ParsedFile] = {}
        # the same for the tables later stages keep in this cache (extract.summary's lock
        # summaries, per file): loaded or built once a run, owned by the run's cache, not the process
        self.tables: dict[str, dict] = {}
        # and for what cparse.index keeps: the tree-wide name -> files indexes, by kind and tree
        # identity, and the IR bodies of a file, by (content id, configuration)
        self.tree_indexes: dict[str, object] = {}
        self.bodies: dict[tuple[str, str], dict] = {}

    @property
    def directory(self) -> Path | None:
        return None if self.root is None else self.root / f"v{__version__}-s{SUMMARY_FORMAT}"

    def _path(self, key: str) -> Path | None:
        d = self.directory
        return None if d is None else d / key[:2] / f"{key}.pickle"

    def get(self, key: str, kind: type = ParsedFile, counted: bool = True):
        """The entry, or None; `counted` entries show in stats (summaries do, helper tables don't)."""
        before = (self.stats.hits, self.stats.misses, self.stats.rebuilt)
        value = self._get(key, kind)
        if not counted:
            self.stats.hits, self.stats.misses, self.stats.rebuilt = before
        return value

    def _get(self, key: str, kind: type):
        path = self._path(key)
        if path is None or self.secret is None:
            return None
        try:
            with open(path, "rb") as fh:
                payload = unseal(self.secret, key, fh.read())
            if payload is None:
                raise ValueError("not sealed with this user's key")  # never unpickled
            magic, version, stored_key, value = pickle.loads(payload)
            if magic != _MAGIC or version != __version__ or stored_key != key or not isinstance(value, kind):
                raise ValueError("stale entry")
        except FileNotFoundError:
            self.stats.misses += 1
            return None
        except Exception:  # noqa: BLE001 - any broken entry is rebuilt silently
            self.stats.misses += 1
            self.stats.rebuilt += 1
            return None
        self.stats.hits += 1
        return value

    def put(self, key: str, value: object) -> None:
        path = self._path(key)
        if path is None or self.secret is None:
            return
        payload = pickle.dumps((_MAGIC, __version__, key, value), protocol=pickle.HIGHEST_PROTOCOL)
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".tmp-", suffix=".pickle")
            try:
                with os.fdopen(fd, "wb") as fh:
                    fh.write(mac(self.secret, key, payload))
                    fh.write(payload)
                os.replace(tmp, path)
            except BaseException:
                os.unlink(tmp)
                raise
        except OSError:
            self.stats.write_errors += 1  # a read-only or full cache slows us down, nothing more

    def size(self) -> tuple[int, int]:
        """(entries, bytes) in this version's directory."""
        d = self.directory
        if d is None or not d.is_dir():
            return 0, 0
        entries = total = 0
        for p in d.rglob("*.pickle"):
            entries += 1
            total += p.stat().st_size
        return entries, total
