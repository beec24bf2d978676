"""Turn the diff part of one mail into FileChange records."""

from __future__ import annotations

import re

import unidiff

from patchlint.errors import DamagedHunk, PatchlintError
from patchlint.ingest.diffscan import MAX_DIGITS, UNPREFIXED, HeaderNumberTooLong, RawFile, RawHunk, scan
from patchlint.ingest.paths import diff_path
from patchlint.records import ADDED, CONTEXT, REMOVED, FileChange, Hunk, HunkDamage, HunkLine

_C_KEYWORDS = {"if", "for", "while", "switch", "return", "sizeof", "do", "else", "case", "goto"}
# A function definition's first line: a return type, a name, "(", and no ";".
_DEFINITION = re.compile(r"^[A-Za-z_][\w \t\*]*?[ \t\*]([A-Za-z_]\w*)\s*\([^;]*$")
_CALLISH = re.compile(r"([A-Za-z_]\w*)\s*\(")


def touched_functions(section: str, texts: list[str]) -> tuple[str, ...]:
    """Best-effort function names: git's hunk-header context plus definitions in the hunk.

    This is the stand-in the C front-end replaces; it only names functions, it
    decides nothing.
    """
    names: list[str] = []
    m = _CALLISH.search(section)
    if m and m.group(1) not in _C_KEYWORDS and not section.rstrip().endswith(";"):
        names.append(m.group(1))
    for text in texts:
        d = _DEFINITION.match(text)
        if d and d.group(1) not in _C_KEYWORDS and text.split()[0] not in _C_KEYWORDS:
            names.append(d.group(1))
    return tuple(dict.fromkeys(names))


def parse_diff(lines: list[str], first_mail_line: int, source: str, patch_no: int,
               lenient: bool) -> tuple[tuple[FileChange, ...], list[DamagedHunk], object]:
    """Return the file changes, the damaged hunks found, and the unidiff PatchSet.

    A damaged hunk raises nothing here: the caller collects them over the whole
    input so the error can name them all.  With `lenient`, damaged files are
    built from the scan and marked; otherwise they are left out.
    """
    try:
        raw_files = scan(lines, first_mail_line)
    except HeaderNumberTooLong as exc:
        raise PatchlintError(source, f"hunk header with a number of {exc.digits} digits", exc.line,
                             f"line numbers and counts have at most {MAX_DIGITS} digits; "
                             "regenerate the patch with git format-patch") from None
    damaged: list[DamagedHunk] = []
    for rf in raw_files:
        if rf.binary:
            raise PatchlintError(
                source, f"binary diff for {_display(rf)}", rf.mail_line,
                "patchlint checks C source; leave binary changes out of the series (git format-patch -- ':!PATH')",
            )
        if rf.old_name is None and rf.hunks:
            raise PatchlintError(source, "hunk without ---/+++ file names", rf.hunks[0].mail_line,
                                 "the diff headers are missing; regenerate the patch with git format-patch")
        for k, h in enumerate(rf.hunks, 1):
            if h.truncated():
                old, new = h.counts()
                raise PatchlintError(
                    source,
                    f"hunk {h.header.split(' @@')[0]} @@ of {_display(rf)} is truncated: the header promises "
                    f"{h.old_count} old and {h.new_count} new lines, the input ends after {old} and {new}",
                    h.mail_line, "the patch was cut short; save the whole mail again",
                )
            if h.damaged():
                damaged.append(DamagedHunk(patch_no, _display(rf), k, h.header, h.mail_line,
                                           _damage(h).reasons()))
    if damaged:
        if not lenient:
            return (), damaged, None
        return tuple(_from_scan(rf, source) for rf in raw_files), damaged, None
    text = "\n".join(lines) + "\n"
    try:
        patchset = unidiff.PatchSet(text)
    except unidiff.UnidiffParseError as exc:
        raise PatchlintError(source, f"the diff does not parse: {exc}", first_mail_line,
                             "regenerate the patch with git format-patch") from None
    # The scan saw the same files in the same order; its lines name where each file's names are.
    name_lines = ([rf.names_line or rf.mail_line for rf in raw_files] if len(raw_files) == len(patchset)
                  else [None] * len(patchset))
    changes = tuple(_from_unidiff(pf, source, first_mail_line, lines, at)
                    for pf, at in zip(patchset, name_lines, strict=True))
    return changes, [], patchset


def _display(rf: RawFile) -> str:
    for name in (rf.new_name, rf.old_name):
        if name and name.split("\t")[0] != "/dev/null":
            return name.split("\t")[0].split("/", 1)[-1]
    if rf.git_header:
        return rf.git_header.split(" b/", 1)[-1]
    return "?"


def _damage(h: RawHunk) -> HunkDamage:
    return HunkDamage(
        unprefixed=h.unprefixed(),
        collapsed_tabs=h.collapsed_tabs(),
        header_counts=(h.old_count, h.new_count),
        body_counts=h.counts(),
    )


def _status(old: str | None, new: str | None) -> str:
    if old is None:
        return "added"
    if new is None:
        return "deleted"
    return "modified" if old == new else "renamed"


def _paths(old_raw: str, new_raw: str, source: str, line: int) -> tuple[str | None, str | None]:
    old = diff_path(old_raw, source, line)
    new = diff_path(new_raw, source, line)
    if old is None and new is None:
        raise PatchlintError(source, "diff names /dev/null as both the old and the new file", line,
                             "fix the diff headers; one side must name a file in the tree")
    return old, new


def _from_unidiff(pf: unidiff.PatchedFile, source: str, first_mail_line: int, lines: list[str],
                  names_line: int | None = None) -> FileChange:
    def mail(diff_line_no: int) -> int:
        return first_mail_line + diff_line_no - 1

    first = mail(pf[0][0].diff_line_no) if pf and len(pf[0]) else first_mail_line
    old, new = _paths(pf.source_file, pf.target_file, source, names_line or first)
    hunks = []
    old_nl = new_nl = False
    for k, h in enumerate(pf, 1):
        hl = []
        last_kind = None
        for ln in h:
            if ln.line_type == "\\":
                if last_kind in (REMOVED, CONTEXT):
                    old_nl = True
                if last_kind in (ADDED, CONTEXT):
                    new_nl = True
                continue
            if ln.line_type not in (CONTEXT, REMOVED, ADDED) or ln.diff_line_no is None:
                continue  # unidiff keeps a blank line after the last hunk as a typeless line
            kind = ln.line_type
            hl.append(HunkLine(kind, ln.value.rstrip("\n"), ln.source_line_no, ln.target_line_no,
                               mail(ln.diff_line_no)))
            last_kind = kind
        header_line = hl[0].mail_line - 1 if hl else first
        header = lines[header_line - first_mail_line]  # as written, e.g. "@@ -1 +0,0 @@"
        hunks.append(Hunk(
            index=k, header=header, old_start=h.source_start, old_count=h.source_length,
            new_start=h.target_start, new_count=h.target_length, section=h.section_header,
            lines=tuple(hl), mail_line=header_line,
            functions=touched_functions(h.section_header, [x.text for x in hl]),
        ))
    return FileChange(old, new, _status(old, new), tuple(hunks), old_nl, new_nl)


def _git_header_names(rf: RawFile, source: str) -> tuple[str, str]:
    """Old and new names (as ---/+++ would write them) of a git diff with no ---/+++ lines:
    a pure rename or copy, a mode change, or an empty file added or deleted."""
    ext = rf.extended
    for a, b in (("rename from", "rename to"), ("copy from", "copy to")):
        if a in ext and b in ext:
            return _prefixed("a/", ext[a]), _prefixed("b/", ext[b])
    rest = (rf.git_header or "")[len("diff --git "):]
    name = rest[2:2 + (len(rest) - 5) // 2]
    if rest != f"a/{name} b/{name}":
        raise PatchlintError(source, f"cannot tell the file names from {rf.git_header!r}", rf.mail_line,
                             "regenerate the patch with git format-patch")
    old, new = f"a/{name}", f"b/{name}"
    if "new file mode" in ext:
        old = "/dev/null"
    if "deleted file mode" in ext:
        new = "/dev/null"
    return old, new


def _prefixed(prefix: str, name: str) -> str:
    return f'"{prefix}{name[1:]}' if name.startswith('"') else prefix + name


def _from_scan(rf: RawFile, source: str) -> FileChange:
    if rf.old_name is None and rf.new_name is None and rf.git_header:
        old_raw, new_raw = _git_header_names(rf, source)
    else:
        old_raw, new_raw = rf.old_name or "/dev/null", rf.new_name or "/dev/null"
    old, new = _paths(old_raw, new_raw, source, rf.names_line or rf.mail_line)
    hunks = []
    for k, h in enumerate(rf.hunks, 1):
        kinds = {" ": CONTEXT, UNPREFIXED: CONTEXT, "-": REMOVED, "+": ADDED}
        hl = tuple(HunkLine(kinds[kd], text, None, None, ml) for kd, text, ml in h.lines if kd in kinds)
        hunks.append(Hunk(
            index=k, header=h.header, old_start=h.old_start, old_count=h.old_count, new_start=h.new_start,
            new_count=h.new_count, section=h.section, lines=hl, mail_line=h.mail_line,
            functions=touched_functions(h.section, [x.text for x in hl]),
            damage=_damage(h) if h.damaged() else None,
        ))
    return FileChange(old, new, _status(old, new), tuple(hunks))
