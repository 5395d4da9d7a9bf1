"""Reading emails for `pitchlint analyze`: JSON Lines, a .json document, .eml, mbox, or one
plain-text email, from a file or standard input ('-').

JSON Lines are read line by line as they arrive, so a file of any size starts giving answers at
once and is never held whole; the other shapes hold one email (or one request's worth) at most.
A problem with the input as a whole (a directory, a binary file, an empty input, a plain-text
email over the limit, a .json file that is not JSON) raises InputError before any model loads;
a problem with one email of many becomes that email's `_error` and the run goes on.
"""
from __future__ import annotations

import email.parser
import email.policy
import json
import mailbox
import os
import re
import shutil
import sys
import tempfile
from pathlib import Path
from typing import BinaryIO, Iterator

from . import sizes

SHAPES = ("JSON Lines with \"id\" and \"text\", a .json file (one email or a list), an .eml file, "
          "an mbox, or one plain-text email")

_MBOX_FIRST_LINE = re.compile(rb"From \S+ .*\d\d:\d\d")
_HEADER_LINE = re.compile(rb"([!-9;-~]+):[ \t]")          # an RFC 5322 field name and its colon
# Fields that say "this is a whole message", not a plain-text email that starts with a subject.
_MESSAGE_FIELDS = {b"from", b"to", b"cc", b"date", b"message-id", b"mime-version", b"received",
                   b"return-path", b"delivered-to", b"reply-to", b"content-type", b"x-mailer"}
_SUBJECT_LINE = re.compile(r"subject:[ \t]*([^\r\n]*?)[ \t]*(?:\r?\n|\Z)(?:[ \t]*\r?\n)?", re.IGNORECASE)
# Files that announce themselves: a binary file may start with a line that decodes as text.
_BINARY_MAGIC = (b"\x7fELF", b"%PDF-", b"PK\x03\x04", b"\x89PNG", b"GIF87a", b"GIF89a",
                 b"\xff\xd8\xff", b"\x1f\x8b", b"BZh", b"\xfd7zXZ", b"7z\xbc\xaf", b"\xca\xfe\xba\xbe")


class InputError(Exception):
    """The input as a whole can't be analysed; the message says why and what to give instead."""


def line_limit(max_chars: int) -> int:
    """The longest JSON Lines line read: room for an email of max_chars characters however it
    is escaped, and never less than one request body. A longer line is skipped unread."""
    return max(sizes.MAX_BODY_BYTES, 12 * max_chars + sizes.MAX_SUBJECT_CHARS * 12 + 4096)


def document_limit(max_chars: int) -> int:
    """The largest .json document, which is read whole: as large as one request to the service."""
    return line_limit(max_chars)


def looks_binary(data: bytes) -> bool:
    """Not text: a known binary signature, a NUL byte, or more than 5% of the characters are
    not UTF-8 or are control characters (a Latin-1 letter here and there is still text)."""
    if data.startswith(_BINARY_MAGIC) or b"\x00" in data:
        return True
    text = data.decode("utf-8", errors="replace")
    odd = sum(1 for c in text if c == "\ufffd" or (c < " " and c not in "\t\n\r\f\v") or c == "\x7f")
    return odd > max(2, len(text) // 20)


class _Lines:
    """Lines of a binary stream, each at most `limit` bytes; a longer line is read past (never
    held) and reported by its size. Lines read ahead to guess the format are given back first."""

    def __init__(self, stream: BinaryIO, limit: int):
        self.stream, self.limit = stream, limit
        self.ahead: list[tuple[bytes | None, int]] = []

    def _read(self) -> tuple[bytes | None, int] | None:
        line = self.stream.readline(self.limit + 1)
        if not line:
            return None
        if len(line) <= self.limit or line.endswith(b"\n"):
            return line, len(line)
        size = len(line)
        while True:
            more = self.stream.readline(1 << 20)
            size += len(more)
            if not more or more.endswith(b"\n"):
                return None, size

    def first_text_line(self) -> tuple[bytes | None, int] | None:
        """The first line that is not blank (read ahead and kept), or None: the input is blank."""
        while True:
            got = self._read()
            if got is None:
                return None
            self.ahead.append(got)
            if got[0] is None or got[0].strip():
                return got

    def __iter__(self) -> Iterator[tuple[bytes | None, int]]:
        while self.ahead:
            yield self.ahead.pop(0)
        while (got := self._read()) is not None:
            yield got

    def rest(self, limit: int) -> tuple[bytes, bool]:
        """Everything not yet read, up to `limit` bytes, and whether there was more."""
        head = b"".join(b"" if data is None else data for data, _ in self.ahead)
        if any(data is None for data, _ in self.ahead):
            return head, True
        self.ahead = []
        data = head + self.stream.read(max(0, limit - len(head)) + 1)
        return data[:limit], len(data) > limit


def read_emails(source: str, max_chars: int = sizes.MAX_TEXT_CHARS) -> Iterator[dict]:
    """The emails in SOURCE (a path or '-'), lazily: dicts with id, text and optionally subject
    and mode, or {"id", "_error": (code, message)} for one that can't be read. Raises InputError
    at once (before the first email is asked for) when the input as a whole can't be used."""
    if source == "-":
        stream, path, name, what = sys.stdin.buffer, None, "stdin", "standard input"
    else:
        path = Path(source)
        if path.is_dir():
            raise InputError(f"{source} is a directory; give one file ({SHAPES}), or '-' for "
                             "standard input")
        if not path.exists():
            raise InputError(f"{source}: no such file")
        try:
            stream = open(path, "rb")  # noqa: SIM115 (closed by the reader it is handed to)
        except OSError as e:
            raise InputError(f"{source}: {e.strerror or e}") from None
        name, what = path.name, source
    try:
        return _dispatch(stream, path, name, what, max_chars)
    except BaseException:
        if path is not None:
            stream.close()
        raise


def _dispatch(stream: BinaryIO, path: Path | None, name: str, what: str, max_chars: int):
    suffix = path.suffix.lower() if path else ""
    lines = _Lines(stream, line_limit(max_chars))
    first = lines.first_text_line()
    if first is None:
        raise InputError(f"{what} is empty: there is no email in it to analyse")
    head, first_size = first
    if head is not None and looks_binary(head):
        raise InputError(f"{what} is not text (a binary file?); pitchlint analyze reads {SHAPES}")

    if suffix in (".mbox", ".mbx") or (path is not None and path.name == "mbox") \
            or (head is not None and _MBOX_FIRST_LINE.match(head)):
        return _mbox(lines, stream, path, name)
    if suffix in (".jsonl", ".ndjson") or (suffix != ".json" and head is not None and _is_json_object(head)):
        return _json_lines(lines, stream, path, max_chars)
    if suffix == ".json":
        return _json_document(lines, stream, path, name, what, max_chars, strict=True)
    if head is None:  # one line longer than any email can be, and not JSON Lines
        if path is not None:
            raise _too_long(what, max_chars, size=path.stat().st_size)
        raise InputError(f"{what} starts with a line of {first_size:,} bytes, longer than an email "
                         f"within the limit of {max_chars:,} characters (raise it with --max-chars)")
    if suffix == ".eml" or _is_message(lines):
        return iter([_message(lines, stream, path, name, what, max_chars)])
    if head.lstrip().startswith((b"[", b"{")):
        items = _json_document(lines, stream, path, name, what, max_chars, strict=False)
        if items is not None:
            return items
    return iter([_plain_text(lines, stream, path, name, what, max_chars)])


def _close(stream: BinaryIO, path: Path | None) -> None:
    if path is not None:
        stream.close()


def _is_json_object(line: bytes) -> bool:
    try:
        return isinstance(json.loads(line), dict)
    except ValueError:
        return False


def _is_message(lines: _Lines) -> bool:
    """An internet message (an .eml without its suffix): it starts with a block of header
    fields, one of which only a whole message has (From, To, Date, ...), then a blank line.
    A plain-text email that starts with "Subject: ..." alone is not one."""
    fields = []
    for data, _ in _header_block(lines):
        match = _HEADER_LINE.match(data)
        if match:
            fields.append(match.group(1).lower())
        elif data[:1] not in (b" ", b"\t") or not fields:  # not a field or its continuation
            return False
    return any(f in _MESSAGE_FIELDS for f in fields)


def _header_block(lines: _Lines, most: int = 200):
    """The lines up to the first blank one (read ahead and kept), at most `most` of them."""
    start = next(i for i, (data, _) in enumerate(lines.ahead) if data is None or data.strip())
    i = start
    while i - start < most:
        if i == len(lines.ahead):
            got = lines._read()
            if got is None:
                return
            lines.ahead.append(got)
        data, _ = lines.ahead[i]
        if data is None or not data.strip():
            return
        yield data, i
        i += 1


def _json_lines(lines: _Lines, stream: BinaryIO, path: Path | None, max_chars: int) -> Iterator[dict]:
    def items():
        try:
            for n, (data, size) in enumerate(lines, 1):
                ident = f"line-{n}"
                if data is None:
                    yield {"id": ident, "_error": (
                        "line_too_long", f"line {n} is {size:,} bytes, longer than an email within the "
                        f"limit of {max_chars:,} characters; it was skipped (raise the limit with --max-chars)")}
                    continue
                if not data.strip():
                    continue
                try:
                    obj = json.loads(data)
                except UnicodeDecodeError:
                    yield {"id": ident, "_error": ("invalid_utf8", f"line {n} is not UTF-8 text")}
                    continue
                except ValueError as e:
                    yield {"id": ident, "_error": ("invalid_json", f"line {n} is not JSON: {e}")}
                    continue
                if not isinstance(obj, dict):
                    yield {"id": ident, "_error": ("invalid_item", f"line {n} is not a JSON object")}
                    continue
                if "text" not in obj and isinstance(obj.get("emails"), list):  # a batch request's body
                    for k, each in enumerate(obj["emails"], 1):
                        if isinstance(each, dict):
                            yield {"id": f"{ident}.{k}", **each}
                        else:
                            yield {"id": f"{ident}.{k}", "_error": (
                                "invalid_item", f"email {k} on line {n} is not a JSON object")}
                    continue
                obj.setdefault("id", ident)
                yield obj
        finally:
            _close(stream, path)
    return items()


def _mbox(lines: _Lines, stream: BinaryIO, path: Path | None, name: str) -> Iterator[dict]:
    from . import mail

    def items():
        copy = None
        try:
            if path is None:  # the mailbox module reads files: copy standard input to one
                with tempfile.NamedTemporaryFile("wb", suffix=".mbox", delete=False) as f:
                    copy = Path(f.name)
                    for data, _ in lines.ahead:
                        f.write(data or b"")
                    shutil.copyfileobj(stream, f, 1 << 20)
            else:
                stream.close()
            box_path = copy or path
            box = mailbox.mbox(str(box_path), create=False)
            try:
                for n, msg in enumerate(box, 1):
                    yield mail.message_record(msg, msg.get("Message-ID") or f"{name}#{n}")
            finally:
                box.close()
        finally:
            _close(stream, path)
            if copy is not None:
                os.unlink(copy)
    return items()


def _too_long(what: str, max_chars: int, chars: int | None = None, size: int | None = None) -> InputError:
    hint = " (raise it with --max-chars)"
    if chars is not None:
        return InputError(sizes.too_long(what, chars, max_chars) + hint)
    if size is not None:
        return InputError(f"{what} is {size:,} bytes, over the limit of {max_chars:,} characters{hint}")
    return InputError(f"{what} holds more than {max_chars:,} characters; the limit is {max_chars:,}{hint}")


def _message(lines: _Lines, stream: BinaryIO, path: Path | None, name: str, what: str,
             max_chars: int) -> dict:
    """One internet message (.eml), parsed as it is read; its text must be within the limit."""
    from . import mail

    parser = email.parser.BytesFeedParser(policy=email.policy.compat32)
    try:
        for data, _ in lines:
            parser.feed(data or b"")
    finally:
        _close(stream, path)
    msg = parser.close()
    record = mail.message_record(msg, msg.get("Message-ID") or name)
    if len(record["text"]) > max_chars:
        raise _too_long(f"the text of {what}", max_chars, chars=len(record["text"]))
    return record


def _json_document(lines: _Lines, stream: BinaryIO, path: Path | None, name: str, what: str,
                   max_chars: int, strict: bool) -> Iterator[dict] | None:
    """A .json file: one email object, a list of them, or a batch request ({"emails": [...]}).
    None when it is not JSON and `strict` is off (then it is read as plain text)."""
    limit = document_limit(max_chars)
    data, more = lines.rest(limit)
    if more:
        _close(stream, path)
        raise InputError(f"{what} is more than {limit:,} bytes, and a .json document is read whole; "
                         "write the emails as JSON Lines (one object a line), which are read as they come")
    try:
        doc = json.loads(data)
    except ValueError as e:
        if strict:
            _close(stream, path)
            raise InputError(f"{what} is not valid JSON ({e}); pitchlint analyze reads {SHAPES}") from None
        lines.ahead = [(data, len(data))]  # give it all back to the plain-text reader
        return None
    _close(stream, path)
    if isinstance(doc, dict) and isinstance(doc.get("emails"), list) and "text" not in doc:
        doc = doc["emails"]
    if isinstance(doc, dict):
        doc.setdefault("id", name)
        return iter([doc])
    if not isinstance(doc, list):
        kind = {str: "a string", int: "a number", float: "a number", bool: "true or false"}.get(type(doc), "null")
        raise InputError(f"{what} holds {kind}, not an email: give an object with \"text\" (and \"id\"), "
                         "or a list of them")

    def items():
        for n, obj in enumerate(doc, 1):
            if not isinstance(obj, dict):
                yield {"id": f"item-{n}", "_error": ("invalid_item", f"item {n} of the list is not a JSON object")}
                continue
            obj.setdefault("id", f"item-{n}")
            yield obj
    return items()


def _plain_text(lines: _Lines, stream: BinaryIO, path: Path | None, name: str, what: str,
                max_chars: int) -> dict:
    """One plain-text email. A first line "Subject: ..." is its subject, not part of the text."""
    # UTF-8 takes at most 4 bytes a character; the subject line may come on top.
    limit = 4 * max_chars + 4 * sizes.MAX_SUBJECT_CHARS + 64
    try:
        data, more = lines.rest(limit)
    finally:
        _close(stream, path)
    if more:
        size = path.stat().st_size if path is not None else None
        raise _too_long(what, max_chars, size=size)
    if looks_binary(data):
        raise InputError(f"{what} is not text (a binary file?); pitchlint analyze reads {SHAPES}")
    text = data.decode("utf-8", errors="replace")
    record = {"id": name, "text": text}
    subject = _SUBJECT_LINE.match(text)
    if subject:
        record = {"id": name, "subject": subject.group(1), "text": text[subject.end():],
                  "_lines_before": subject.group(0).count("\n")}  # for line numbers in the file
    if len(record["text"]) > max_chars:
        raise _too_long(what, max_chars, chars=len(record["text"]))
    return record
