"""Split input bytes into mail messages and decode each one to text.

The stdlib `mailbox` module needs a file on disk and splits on any line that
starts with "From ", which a commit message may contain.  Here a message
starts only at a `From ` line with an asctime-style date (what git
format-patch, b4 and MTAs write), and mboxrd `>From ` quoting is undone.
"""

from __future__ import annotations

import codecs
import email
import email.errors
import email.header
import email.policy
import email.utils
import re
from dataclasses import dataclass
from email.message import Message

from patchlint.errors import PatchlintError

_FROM_LINE = re.compile(
    rb"^From \S+ +(?:Mon|Tue|Wed|Thu|Fri|Sat|Sun) (?:Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec) "
)
_FROM_COMMIT = re.compile(rb"^From ([0-9a-f]{40}) ")
_MBOXRD_QUOTED = re.compile(rb"^>(>*From )")
_HEADER_LINE = re.compile(rb"^[A-Za-z0-9][A-Za-z0-9-]*:[ \t]")
_PATCH_FILE_TYPES = ("text/x-patch", "text/x-diff", "text/x-patch; ", "application/x-patch")


@dataclass(frozen=True)
class RawMessage:
    data: bytes  # the message, "\n" line ends, mboxrd quoting undone
    start_line: int  # 1-based line of the input where it starts


@dataclass(frozen=True)
class MailText:
    """One message as text: headers, decoded body, and how lines map back."""

    headers: dict[str, str]  # lower-case name -> decoded value (first occurrence)
    text: str  # "raw header lines + blank line + decoded body"; mail lines count in this
    body_start: int  # 1-based mail line where the body starts
    start_line: int  # input line of the message's first line
    identity: bool  # body is not transfer-encoded: mail line n is input line start_line + n - 1
    has_headers: bool  # False for a bare diff or a web-archive text
    commit: str | None = None  # from git format-patch's "From <sha> Mon Sep 17 ..." line


def split_messages(data: bytes, source: str) -> list[RawMessage]:
    data = data.replace(b"\r\n", b"\n")
    lines = data.split(b"\n")
    starts = [i for i, ln in enumerate(lines) if _FROM_LINE.match(ln) and (i == 0 or lines[i - 1] == b"")]
    if not starts or starts[0] != _first_content_line(lines):
        # Not an mbox: the whole input is one message (or a bare patch).
        return [RawMessage(data, 1)]
    out = []
    for k, start in enumerate(starts):
        end = starts[k + 1] if k + 1 < len(starts) else len(lines)
        body = [_MBOXRD_QUOTED.sub(rb"\1", ln) for ln in lines[start:end]]
        out.append(RawMessage(b"\n".join(body), start + 1))
    return out


def _first_content_line(lines: list[bytes]) -> int:
    for i, ln in enumerate(lines):
        if ln.strip():
            return i
    return len(lines)


def decode_message(raw: RawMessage, source: str) -> MailText:
    lines = raw.data.split(b"\n")
    first = _first_content_line(lines)
    looks_like_mail = first < len(lines) and (
        _FROM_LINE.match(lines[first]) or _HEADER_LINE.match(lines[first])
    )
    if not looks_like_mail:
        return _plain_text(raw, source)
    msg = email.message_from_bytes(raw.data, policy=email.policy.compat32)
    head_end = raw.data.find(b"\n\n")
    header_block = raw.data if head_end < 0 else raw.data[:head_end]
    header_text = header_block.decode("latin-1")
    body_start = header_text.count("\n") + 3 if head_end >= 0 else header_text.count("\n") + 2
    headers = _decoded_headers(msg)
    parts = list(_text_parts(msg))
    identity = not msg.is_multipart() and (_header(msg, "content-transfer-encoding").strip().lower()
                                           in ("", "7bit", "8bit", "binary"))
    bodies = []
    for part in parts:
        payload = part.get_payload(decode=True)
        if payload is None:
            continue
        payload = payload.replace(b"\r\n", b"\n")
        line_base = raw.start_line + body_start - 1 if identity else None
        bodies.append(_decode_text(payload, part.get_content_charset(), source, line_base, raw.start_line))
    body = "\n".join(bodies)
    unixfrom = _FROM_COMMIT.match(lines[first])
    return MailText(
        headers=headers,
        text=header_text + "\n\n" + body,
        body_start=body_start,
        start_line=raw.start_line,
        identity=identity,
        has_headers=True,
        commit=unixfrom.group(1).decode() if unixfrom and unixfrom.group(1).strip(b"0") else None,
    )


def _decoded_headers(msg: Message) -> dict[str, str]:
    out: dict[str, str] = {}
    for name, value in msg.items():
        key = name.lower()
        if key in out:
            continue
        try:
            parts = email.header.decode_header(value)
            if any(charset and _codec(charset.lower()) is None for _, charset in parts):
                text = str(value)  # an encoded word in no mail charset (punycode, base64...): as written
            else:
                text = str(email.header.make_header(parts))
        except (LookupError, UnicodeError, ValueError, email.errors.HeaderParseError):
            text = str(value)
        out[key] = " ".join(text.split())
    return out


def _header(msg: Message, name: str) -> str:
    """A header as str: compat32 returns an email.header.Header when the raw value has 8-bit bytes."""
    return str(msg.get(name) or "")


def _text_parts(msg: Message):
    """Body parts that carry the commit message or the patch, in mail order."""
    if not msg.is_multipart():
        yield msg
        return
    for part in msg.walk():
        if part.is_multipart():
            continue
        ctype = part.get_content_type()
        filename = (part.get_filename() or "").lower()
        disposition = _header(part, "content-disposition").lower()
        if ctype == "text/plain" and "attachment" not in disposition:
            yield part
        elif ctype in _PATCH_FILE_TYPES or filename.endswith((".patch", ".diff")):
            yield part


_CHARSET_NAME = re.compile(r"^[a-z0-9][a-z0-9_.:+-]{0,63}$")
# Python codecs that are not charsets a mail can be written in: decoding with them reads the
# body as something else (punycode and idna are for host names and fail, or take quadratic
# time, on a patch; the escape codecs turn "\n" in a patch into newlines)
_NOT_MAIL_CHARSETS = frozenset({"punycode", "idna", "unicode-escape", "raw-unicode-escape", "undefined",
                                "unicode-internal", "mbcs", "oem"})


def _codec(charset: str) -> str | None:
    """The Python codec for a declared charset, or None when it names none a mail can use."""
    if not _CHARSET_NAME.match(charset):
        return None  # a NUL, a space, a quote: no codec's name
    try:
        info = codecs.lookup(charset)
    except LookupError:
        return None
    # base64, hex, rot13, zlib... are bytes-to-bytes or str-to-str transforms, not text encodings
    if not getattr(info, "_is_text_encoding", True) or info.name.replace("_", "-") in _NOT_MAIL_CHARSETS:
        return None
    return info.name


def _decode_text(payload: bytes, charset: str | None, source: str, line_base: int | None, msg_line: int) -> str:
    charset = (charset or "utf-8").lower()
    if charset in ("us-ascii", "ascii", "utf8", "unknown-8bit", "x-unknown"):
        charset = "utf-8"
    codec = _codec(charset)
    if codec is None:
        raise PatchlintError(
            source, f"the message declares an unknown charset {charset!r}", msg_line,
            "re-send or save the patch as UTF-8",
        ) from None
    try:
        return payload.decode(codec)
    except UnicodeDecodeError as exc:
        bad_line = payload[: exc.start].count(b"\n")
        line = line_base + bad_line if line_base is not None else msg_line
        col = exc.start - (payload.rfind(b"\n", 0, exc.start) + 1) + 1
        raise PatchlintError(
            source,
            f"byte 0x{payload[exc.start]:02x} at column {col} is not valid {charset.upper()}",
            line,
            "save the patch as UTF-8 or declare its charset in a Content-Type header",
        ) from None
    except (UnicodeError, ValueError) as exc:  # a codec that fails other than by a bad byte (utf-7...)
        raise PatchlintError(
            source, f"the body does not decode as {charset.upper()}: {exc.__class__.__name__}", msg_line,
            "save the patch as UTF-8 or declare its charset in a Content-Type header",
        ) from None


_PSEUDO_HEADER = re.compile(r"^(From|Date|Subject|Message-I[Dd]):\s*(.*)$")
_SUBJECT_LINE = re.compile(r"^\s*\[[^\]]*PATCH[^\]]*\]", re.IGNORECASE)


def _plain_text(raw: RawMessage, source: str) -> MailText:
    """A bare diff, or mail text copied from a web archive (no real headers).

    Web archives print the subject as the first line and the From/Date
    headers as body lines; pick those up so the patch still has an author.
    """
    text = _decode_text(raw.data, None, source, raw.start_line, raw.start_line)
    headers: dict[str, str] = {}
    lines = text.split("\n")
    for i, ln in enumerate(lines[:12]):
        if i == _first_text_line(lines) and _SUBJECT_LINE.match(ln):
            headers["subject"] = ln.strip()
            continue
        m = _PSEUDO_HEADER.match(ln)
        if m and m.group(1).lower() not in headers:
            headers[m.group(1).lower()] = m.group(2).strip()
    return MailText(
        headers=headers, text=text, body_start=1, start_line=raw.start_line, identity=True, has_headers=False
    )


def _first_text_line(lines: list[str]) -> int:
    for i, ln in enumerate(lines):
        if ln.strip():
            return i
    return 0


def parse_date(value: str) -> str:
    """ISO 8601 for a parseable Date header; otherwise the header as written."""
    try:
        return email.utils.parsedate_to_datetime(value).isoformat()
    except (TypeError, ValueError, IndexError, OverflowError):  # e.g. a zone of +99999999999999999999
        return value
