"""Assemble a Series from mail messages: cover letter aside, patches in n/N order,
replies and other mail noted and skipped."""

from __future__ import annotations

from dataclasses import dataclass, replace

from patchlint.errors import DamagedHunk, DamagedPatchError, NoPatchError, PatchlintError
from patchlint.ingest.diff import parse_diff
from patchlint.ingest.mailbox import MailText, decode_message, parse_date, split_messages
from patchlint.ingest.message import split_body
from patchlint.ingest.subject import parse_subject
from patchlint.records import Note, Patch, Series


@dataclass(frozen=True)
class Input:
    name: str  # what errors call it: a path, or "-"
    data: bytes


def build_series(inputs: list[Input], lenient: bool = False, base_commit: str | None = None) -> Series:
    """Parse every input into one Series; `base_commit` overrides what the mails say."""
    candidates: list[Patch] = []
    covers: list[Patch] = []
    notes: list[Note] = []
    damaged: list[DamagedHunk] = []
    damaged_at: list[tuple[str, int]] = []  # (input name, input line) of each damaged hunk
    no_diff: list[Patch] = []
    position = 0
    for inp in inputs:
        if not inp.data.strip():
            raise PatchlintError(inp.name, "empty input", None,
                                 "give an mbox, a .patch file, or a format-patch directory")
        for raw in split_messages(inp.data, inp.name):
            mail = decode_message(raw, inp.name)
            position += 1
            patch, dmg = _patch_from_mail(mail, inp.name, position, lenient)
            damaged.extend(dmg)
            damaged_at.extend((inp.name, _input_line(mail, d.mail_line)) for d in dmg)
            subj = patch.subject
            if subj.is_reply:
                notes.append(Note(inp.name, raw.start_line, f"reply ignored: {subj.raw!r}"))
            elif patch.files or dmg:
                candidates.append(patch)
            elif subj.number == 0:
                covers.append(patch)
            else:
                no_diff.append(patch)
                notes.append(Note(inp.name, raw.start_line,
                                  f"mail without a diff ignored: {subj.raw or '(no subject)'!r}"))
    if damaged and not lenient:
        raise _damaged_error(damaged, damaged_at)
    patches = candidates
    if not patches:
        where = (no_diff or covers or [None])[0]
        src = where.source if where else inputs[0].name
        line = where.input_line if where else None
        raise NoPatchError(src, "no diff found in the input (a mail with no patch in it?)", line,
                             "give the mail that carries the patch, or the git format-patch output")
    patches, version_notes = _pick_version(patches)
    notes.extend(version_notes)
    patches = _order(patches, notes)
    cover = max(covers, key=lambda c: c.subject.version) if covers else None
    base = (base_commit or (cover.base_commit if cover else None)
            or next((p.base_commit for p in patches if p.base_commit), None))
    renumbered = tuple(_with_index(p, i) for i, p in enumerate(patches, 1))
    return Series(renumbered, cover, tuple(notes), tuple(i.name for i in inputs), base)


def _patch_from_mail(mail: MailText, source: str, position: int, lenient: bool) -> tuple[Patch, list[DamagedHunk]]:
    lines = mail.text.split("\n")
    body = lines[mail.body_start - 1:]
    parts = split_body(body)
    files: tuple = ()
    damaged: list[DamagedHunk] = []
    patchset = None
    subject = parse_subject(mail.headers.get("subject", ""))
    if parts.diff_start is not None and not subject.is_reply:
        try:
            files, damaged, patchset = parse_diff(
                body[parts.diff_start:], mail.body_start + parts.diff_start, source, position, lenient
            )
        except PatchlintError as exc:
            # parse_diff counts lines of the decoded mail; the user needs lines of the input.
            if exc.line is None or exc.source != source:
                raise
            message = exc.message if mail.identity else f"{exc.message} (line {exc.line} of the decoded message)"
            raise PatchlintError(source, message, _input_line(mail, exc.line), exc.hint) from None
    patch = Patch(
        index=position,
        subject=subject,
        author=mail.headers.get("from", ""),
        date=parse_date(mail.headers["date"]) if "date" in mail.headers else "",
        message_id=mail.headers.get("message-id", "").strip("<> "),
        trailers=parts.trailers,
        base_commit=parts.base_commit,
        files=files,
        source=source,
        input_line=mail.start_line,
        body_offset=mail.start_line - 1 if mail.identity else None,
        commit=mail.commit,
        patchset=patchset,
    )
    return patch, damaged


def _input_line(mail: MailText, mail_line: int) -> int:
    """The input line of a line of the decoded mail; the message's first line when the
    body is transfer-encoded (base64, quoted-printable, MIME parts) and lines do not correspond."""
    return mail.start_line - 1 + mail_line if mail.identity else mail.start_line


def _damaged_error(damaged: list[DamagedHunk], damaged_at: list[tuple[str, int]]) -> DamagedPatchError:
    first = damaged[0]
    source, line = damaged_at[0]
    whitespace = any("prefix" in r or "tabs" in r for d in damaged for r in d.reasons)
    what = ("whitespace-damaged patch (tabs collapsed and context lost, as web archives render mail)"
            if whitespace else "corrupt patch: hunk line counts do not add up")
    total = len(damaged)
    message = (f"{what}: {total} damaged hunk(s), first hunk {first.hunk} of {first.file} "
               f"({first.header.split(' @@')[0]} @@): {', '.join(first.reasons)}")
    return DamagedPatchError(
        source, message, line,
        "get the original mail (e.g. b4 am MSGID) or try --lenient --tree DIR to recover it", damaged,
    )


def _pick_version(patches: list[Patch]) -> tuple[list[Patch], list[Note]]:
    versions = {p.subject.version for p in patches}
    if len(versions) <= 1:
        return patches, []
    newest = max(versions)
    notes = [Note(p.source, p.input_line, f"older version v{p.subject.version} ignored: {p.subject.raw!r}")
             for p in patches if p.subject.version != newest]
    return [p for p in patches if p.subject.version == newest], notes


def _order(patches: list[Patch], notes: list[Note]) -> list[Patch]:
    numbered = [p for p in patches if p.subject.number is not None]
    if len(numbered) != len(patches):
        return patches  # mixed or unnumbered: keep input order
    seen: dict[int, Patch] = {}
    for p in patches:
        n = p.subject.number
        if n in seen:
            raise PatchlintError(p.source, f"two patches numbered {n}/{p.subject.total}", p.input_line,
                                 f"the other starts at line {seen[n].input_line}; give one version of the series")
        seen[n] = p
    ordered = sorted(patches, key=lambda p: p.subject.number or 0)
    total = ordered[-1].subject.total or len(ordered)
    missing = _missing(sorted(seen), total)
    if missing:
        notes.append(Note(ordered[0].source, 0, f"patch(es) {missing} missing from the series"))
    return ordered


def _missing(present: list[int], total: int) -> str:
    """The numbers 1..total not in `present` (sorted), as ranges ("2/9, 4-8/9"): a subject
    claiming 999999 patches makes one short note, not a list of a million."""
    gaps = []
    nxt = 1
    for n in [*(p for p in present if p <= total), total + 1]:
        if n > nxt:
            gaps.append(f"{nxt}/{total}" if n - 1 == nxt else f"{nxt}-{n - 1}/{total}")
        nxt = max(nxt, n + 1)
    return ", ".join(gaps[:20]) + (f", and {len(gaps) - 20} more gap(s)" if len(gaps) > 20 else "")


def _with_index(p: Patch, index: int) -> Patch:
    return replace(p, index=index)
