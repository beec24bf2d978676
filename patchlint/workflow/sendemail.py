"""Which mails git send-email's sendemail-validate hook checks together, and which of their
patches decide whether the mail it was called for may go.

git send-email calls the hook once per mail, before it sends any, with the mail's path as
`$1`.  A patch is only judged right in its series: patch 3 of 5 may not even apply without
patches 1 and 2, and a hazard may need two patches to exist.  Two ways to see the series:

- git 2.41 and later set GIT_SENDEMAIL_FILE_COUNTER (1-based) and GIT_SENDEMAIL_FILE_TOTAL:
  the mails of one run are collected (in the repository's `patchlint-sendemail` directory,
  emptied at the first) and checked together at the last, every patch judged.
- Older git (Debian 12 ships 2.39) passes nothing but the path.  But git send-email validates
  files as it was given them: the files of a directory it was given (`git send-email
  outgoing/`), the files named on its command line, or, given revisions, the output of its
  own `git format-patch -o <temporary directory>`.  In every case the mail's series sits
  beside it, as `git format-patch` wrote it: the mails of the directory with the same subject
  prefix and the same total (`[PATCH v2 n/N]`), one per number, whose `From <sha>` lines chain
  commit to parent where the repository has the commits.  The hook checks that series (so
  each patch is applied on the ones before it) and judges the mail's own patch: the findings
  a patch brings depend only on it and the patches before it, so the mail is judged exactly
  as a whole-series check would judge it, and a mail sent alone from a directory (a resend
  of patch 3) is not held back by its neighbours.  Every mail of a run asks about the same
  series, whose analysis is cached after the first.

A cover letter (`[PATCH 0/N]`) has nothing to check on its own.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from patchlint.errors import PatchlintError
from patchlint.ingest.mailbox import RawMessage, decode_message
from patchlint.ingest.subject import parse_subject

RUN_DIR = "patchlint-sendemail"  # `git rev-parse --git-path` name of the collected mails
HEAD_BYTES = 64 * 1024  # a mail's headers are read from its first bytes, never the whole file
MAX_SIBLINGS = 2000  # a directory with more entries is not a format-patch directory


@dataclass(frozen=True)
class Plan:
    """What to check for one call of the hook: the series' mails in order, and the mail whose
    patch is judged (None: every patch of the series)."""

    files: tuple[Path, ...]
    judged: Path | None
    collected: bool = False  # the mails a git 2.41+ run collected: forgotten once checked


@dataclass(frozen=True)
class MailHead:
    """What a mail's headers say about its place in a series."""

    path: Path
    prefixes: tuple[str, ...]  # casefolded subject prefixes: ("patch",), ("rfc", "patch")
    version: int
    number: int | None
    total: int | None
    commit: str | None  # the commit git format-patch's `From <sha>` line names
    reply: bool


def read_head(path: Path) -> MailHead | None:
    """The mail's series position, from its headers alone; None for what is not a mail."""
    try:
        with path.open("rb") as fh:
            data = fh.read(HEAD_BYTES)
    except OSError:
        return None
    data = data.replace(b"\r\n", b"\n")
    end = data.find(b"\n\n")
    if end < 0:
        return None
    try:
        mail = decode_message(RawMessage(data[:end] + b"\n\n", 1), str(path))
    except (PatchlintError, ValueError, LookupError):
        return None
    if not mail.has_headers or "subject" not in mail.headers:
        return None
    subject = parse_subject(mail.headers["subject"])
    return MailHead(path, tuple(p.casefold() for p in subject.prefixes), subject.version, subject.number,
                    subject.total, mail.commit, subject.is_reply)


def plan(mail: Path, env: Mapping[str, str], top: Path) -> Plan | None:
    """What the hook checks for `mail` (None: nothing, let it go), with git's environment `env`
    and the repository's work tree at `top`."""
    mail = Path(os.path.abspath(mail))  # its directory's entries are compared with it
    counter, total = env.get("GIT_SENDEMAIL_FILE_COUNTER", ""), env.get("GIT_SENDEMAIL_FILE_TOTAL", "")
    if counter.isdigit() and total.isdigit() and 0 < int(counter) <= int(total):
        return _collected(mail, int(counter), int(total), top)
    head = read_head(mail)
    if head is not None and head.number == 0:
        return None  # a cover letter
    if head is None or head.number is None or head.total is None or head.reply:
        return Plan((mail,), None)
    return Plan(series_beside(head, top), mail)


def _collected(mail: Path, counter: int, total: int, top: Path) -> Plan | None:
    """git 2.41+: keep this run's mails; at the last, the whole run is the series."""
    run = _git_path(top, RUN_DIR)
    try:
        if counter == 1 and run.exists():
            shutil.rmtree(run)  # a run aborted before its last mail left it behind
        run.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(mail, run / f"{counter:06d}.eml")
    except OSError as exc:
        raise PatchlintError(str(run), f"cannot keep the mails of this run: {exc.strerror}", None,
                             "check the permissions of the repository's git directory") from None
    if counter < total:
        return None
    files = tuple(sorted(run.glob("*.eml")))
    if all((h := read_head(f)) is not None and h.number == 0 for f in files):
        return None  # only a cover letter was sent
    return Plan(files, None, collected=True)


def finish(top: Path) -> None:
    """Forget the mails a git 2.41+ run collected (after its last mail was checked)."""
    run = _git_path(top, RUN_DIR)
    shutil.rmtree(run, ignore_errors=True)


def series_beside(head: MailHead, top: Path) -> tuple[Path, ...]:
    """The mails of the `git format-patch` run `head` came from, in order: its own directory's
    mails of the same prefix, version and total, from 1 up to the mail and on while they
    continue.  Just the mail when its predecessors cannot be told apart or are missing."""
    assert head.number is not None and head.total is not None
    try:
        entries = list(os.scandir(head.path.parent))
    except OSError:
        return (head.path,)
    if len(entries) > MAX_SIBLINGS:
        return (head.path,)
    by_number: dict[int, list[MailHead]] = {}
    for entry in entries:
        try:
            # hidden files and editor backups (`0001-x.patch~`) are no mails of the series
            if not entry.is_file() or entry.name.startswith(".") or entry.name.endswith("~"):
                continue
        except OSError:
            continue
        path = Path(entry.path)
        other = head if path == head.path else read_head(path)
        if (other is None or other.reply or other.number is None or other.total != head.total
                or other.prefixes != head.prefixes or other.version != head.version):
            continue
        by_number.setdefault(other.number, []).append(other)
    parents = _Parents(top)
    chosen: dict[int, MailHead] = {head.number: head}
    for k in range(head.number - 1, 0, -1):  # down to patch 1: all of them are needed
        pick = _pick(by_number.get(k, []), child=chosen[k + 1], parents=parents)
        if pick is None:
            return (head.path,)
        chosen[k] = pick
    for k in range(head.number + 1, head.total + 1):  # on while the series continues
        pick = _pick(by_number.get(k, []), parent=chosen[k - 1], parents=parents)
        if pick is None:
            break
        chosen[k] = pick
    return tuple(chosen[k].path for k in sorted(chosen))


def _pick(candidates: list[MailHead], *, parents: _Parents, child: MailHead | None = None,
          parent: MailHead | None = None) -> MailHead | None:
    """The one candidate that belongs next to `child` (before it) or `parent` (after it): where
    the repository has the commits, the one whose commit is the child's parent (or whose parent
    is the parent's commit); else the only candidate."""
    linked = []
    for c in candidates:
        lower, upper = (c, child) if child is not None else (parent, c)
        assert lower is not None and upper is not None
        verdict = parents.linked(lower.commit, upper.commit)
        if verdict is False:
            continue  # the repository says these two commits are not one series
        linked.append((verdict, c))
    proven = [c for verdict, c in linked if verdict]
    if len(proven) == 1:
        return proven[0]
    return linked[0][1] if len(linked) == 1 else None


class _Parents:
    """A commit's first parent, asked of the repository once per commit."""

    def __init__(self, top: Path) -> None:
        self.top = top
        self.known: dict[str, str | None] = {}

    def parent(self, commit: str) -> str | None:
        if commit not in self.known:
            # the commit id comes from the mail: 40 hex digits (mailbox._FROM_COMMIT), never an option
            out = _git(self.top, "rev-parse", "-q", "--verify", f"{commit}^1^{{commit}}")
            self.known[commit] = out or None
        return self.known[commit]

    def linked(self, lower: str | None, upper: str | None) -> bool | None:
        """Whether `upper`'s commit was made on `lower`'s: True, False, or None (cannot tell)."""
        if not lower or not upper:
            return None
        parent = self.parent(upper)
        if parent is None:
            return None  # not a commit of this repository (mailed from another clone)
        return parent == lower


def _git_path(top: Path, name: str) -> Path:
    out = _git(top, "rev-parse", "--git-path", name)
    if not out:
        raise PatchlintError(str(top), "not a git repository", None,
                             "git send-email runs the hook from the top of the repository")
    path = Path(out)
    return path if path.is_absolute() else top / path


def _git(top: Path, *args: str) -> str:
    try:
        proc = subprocess.run(["git", *args], cwd=top, capture_output=True, text=True, timeout=60)
    except (OSError, subprocess.TimeoutExpired):
        return ""
    return proc.stdout.strip() if proc.returncode == 0 else ""
