"""Reading email files with the standard library: .eml, mbox, HTML bodies as text."""
from __future__ import annotations

import email
import email.header
import email.policy
import mailbox
import re
from html.parser import HTMLParser
from pathlib import Path

_BLOCK_TAGS = {"p", "div", "br", "li", "tr", "h1", "h2", "h3", "h4", "h5", "h6", "blockquote",
               "ul", "ol", "table", "hr", "pre", "section", "article", "header", "footer"}
_SKIP_TAGS = {"script", "style", "head", "title", "noscript"}


class _TextExtractor(HTMLParser):
    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []
        self.skip = 0
        self.quote_depth = 0

    def handle_starttag(self, tag, attrs):
        if tag in _SKIP_TAGS:
            self.skip += 1
        if tag == "blockquote":
            self.quote_depth += 1
        if tag in _BLOCK_TAGS:
            self.parts.append("\n")
        if tag == "li":
            self.parts.append("• ")

    def handle_endtag(self, tag):
        if tag in _SKIP_TAGS and self.skip:
            self.skip -= 1
        if tag == "blockquote" and self.quote_depth:
            self.quote_depth -= 1
        if tag in _BLOCK_TAGS:
            self.parts.append("\n")

    def handle_data(self, data):
        if self.skip:
            return
        data = re.sub(r"[ \t\r\n\xa0]+", " ", data)
        if self.quote_depth and data.strip():
            data = "> " + data.strip()
        self.parts.append(data)


def html_to_text(markup: str) -> str:
    """Readable plain text from an HTML body: blocks become lines, quotes become '> ' lines."""
    parser = _TextExtractor()
    parser.feed(markup)
    parser.close()
    text = "".join(parser.parts)
    lines = [ln.strip() for ln in text.split("\n")]
    out = "\n".join(lines)
    return re.sub(r"\n{3,}", "\n\n", out).strip()


def message_text(msg: email.message.Message) -> str:
    """The body as text: the text/plain part, else the HTML part converted."""
    plain, markup = None, None
    for part in msg.walk() if msg.is_multipart() else [msg]:
        if part.get_content_maintype() == "multipart":
            continue
        if part.get_content_disposition() == "attachment":
            continue
        ctype = part.get_content_type()
        if ctype not in ("text/plain", "text/html"):
            continue
        payload = part.get_payload(decode=True) or b""
        charset = part.get_content_charset() or "utf-8"
        try:
            body = payload.decode(charset, errors="replace")
        except LookupError:
            body = payload.decode("utf-8", errors="replace")
        if ctype == "text/plain" and plain is None:
            plain = body
        elif ctype == "text/html" and markup is None:
            markup = body
    if plain is not None and plain.strip():
        return plain.replace("\r\n", "\n").strip()
    if markup is not None:
        return html_to_text(markup)
    return ""


def message_record(msg, ident: str) -> dict:
    """One email for the analyzer (read mode): id, decoded subject and the body as text."""
    subject = msg.get("Subject", "")
    try:
        subject = str(email.header.make_header(email.header.decode_header(subject)))
    except Exception:  # malformed encoded words: keep the raw header
        subject = str(subject)
    return {"id": ident, "subject": subject, "text": message_text(msg), "mode": "read"}


def read_eml(path: Path) -> dict:
    with open(path, "rb") as f:
        msg = email.message_from_binary_file(f, policy=email.policy.compat32)
    return message_record(msg, msg.get("Message-ID") or Path(path).name)


def iter_mbox(path: Path):
    box = mailbox.mbox(str(path), create=False)
    for n, msg in enumerate(box, 1):
        yield message_record(msg, msg.get("Message-ID") or f"{Path(path).name}#{n}")
