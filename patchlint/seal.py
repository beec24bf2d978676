"""Cache entries sealed with a per-user secret key: nothing read back from a cache directory is
unpickled or printed unless it carries an HMAC-SHA256 of its bytes under that key.

A cache directory can be shared, or restored from a CI cache an untrusted pull request wrote:
a pickle from it could run code, and a remembered answer could print a forged report.  The key
is kept outside the cache ($XDG_CONFIG_HOME/patchlint/cache.key, else
~/.config/patchlint/cache.key), 32 random bytes made on first use, readable by its owner only.
When it cannot be made or read, or is not a regular file of this user's that only they can
read, there is no key and the caches are off for the run: an entry is never trusted unsealed.
The MAC is the entry's checksum too: a flipped bit is a miss, rebuilt silently.

Only the standard library's basics are imported: a check answered from the cache
(patchlint.answers) reads its key before anything else is loaded.
"""

from __future__ import annotations

import errno
import hmac
import os
import stat
from pathlib import Path

KEY_FILE = "cache.key"
KEY_SIZE = 32
MAC_SIZE = 32  # HMAC-SHA256

# path of the key file -> (the key, or None and why not): read once a run, since every cache
# entry of the run is checked with it
_KEYS: dict[str, tuple[bytes | None, str | None]] = {}


def key_path(env: dict[str, str] | None = None) -> Path:
    """Where the key lives: beside the user's configuration, never in the cache it protects.
    As for config.toml, a relative $XDG_CONFIG_HOME is ignored (the XDG spec)."""
    env = os.environ if env is None else env
    base = env.get("XDG_CONFIG_HOME")
    if not base or not os.path.isabs(base):
        base = str(Path(env.get("HOME") or Path.home()) / ".config")
    return Path(base) / "patchlint" / KEY_FILE


def secret() -> bytes | None:
    """This user's cache key, made on first use; None when there is none to trust."""
    return _load()[0]


def unavailable() -> str | None:
    """Why there is no key (for `patchlint doctor`), or None when there is one."""
    return _load()[1]


def _load() -> tuple[bytes | None, str | None]:
    try:
        path = key_path()
    except (RuntimeError, KeyError, OSError) as exc:  # no home directory to look in
        return None, f"no place for the cache key: {exc}"
    found = _KEYS.get(str(path))
    if found is None:
        try:
            found = (_read(path), None)
        except FileNotFoundError:
            try:
                found = (_create(path), None)
            except (OSError, ValueError) as exc:
                found = (None, f"cannot create {path}: {exc}")
        except (OSError, ValueError) as exc:
            found = (None, f"{path}: {exc}")
        _KEYS[str(path)] = found
    return found


def _read(path: Path) -> bytes:
    """The key, from a regular file (not followed through a symlink, and never a FIFO that
    would block the open) owned by this user and closed to everyone else: a key another user
    could read or write would let them forge entries."""
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC)
    except OSError as exc:
        if exc.errno == errno.ELOOP:  # what O_NOFOLLOW makes of a symlink: say so plainly
            raise ValueError("a symbolic link, not a regular file") from None
        raise
    try:
        st = os.fstat(fd)
        if not stat.S_ISREG(st.st_mode):
            raise ValueError("not a regular file")
        if st.st_uid != os.geteuid():
            raise ValueError("not owned by this user")
        if st.st_mode & 0o077:
            raise ValueError(f"open to other users (mode {stat.S_IMODE(st.st_mode):04o}; chmod 600 it)")
        data = os.read(fd, KEY_SIZE + 1)
    finally:
        os.close(fd)
    if len(data) != KEY_SIZE:
        raise ValueError(f"not a {KEY_SIZE}-byte key (delete it to have a new one made)")
    return data


def _create(path: Path) -> bytes:
    """A new key, written whole under a temporary name (0600, as mkstemp makes it) and linked
    into place: a run that reads it never sees half a key, and of two runs making one at once
    the second takes the first's instead of replacing it (which would void its entries)."""
    import tempfile

    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{KEY_FILE}-")
    try:
        key = os.urandom(KEY_SIZE)
        with os.fdopen(fd, "wb") as fh:
            fh.write(key)
            fh.flush()
            os.fsync(fh.fileno())
        try:
            os.link(tmp, path)
        except FileExistsError:
            return _read(path)
        return key
    finally:
        os.unlink(tmp)


def mac(key: bytes, name: str, payload: bytes | memoryview) -> bytes:
    """The MAC of an entry's bytes, bound to the name it is stored under: a sealed entry copied
    under another name (another request's answer, another file's summary) does not verify."""
    h = hmac.new(key, name.encode("utf-8", "surrogateescape") + b"\0", "sha256")
    h.update(payload)  # not concatenated: an entry can be megabytes
    return h.digest()


def unseal(key: bytes, name: str, blob: bytes) -> memoryview | None:
    """The payload of an entry stored as its MAC then its bytes, or None when the MAC does not
    match (corrupt, truncated, forged, or sealed under another key): checked before anything
    looks inside the payload.  A view, not a copy: an entry can be megabytes."""
    if len(blob) < MAC_SIZE:
        return None
    payload = memoryview(blob)[MAC_SIZE:]
    return payload if hmac.compare_digest(blob[:MAC_SIZE], mac(key, name, payload)) else None
