"""Reading the opened message or the saved draft through the Gmail API (google-api-python-client).

The add-on receives the user's OAuth token (authorizationEventObject.userOAuthToken) and, for
the opened message, a per-message token (gmail.accessToken) that Gmail wants in the
X-Goog-Gmail-Access-Token header. The compose trigger sees only To/Cc, so the draft is read
back from Gmail (drafts.get, or the thread's draft through threads.get).
"""
from __future__ import annotations

import base64
import binascii
import codecs
from dataclasses import dataclass

from flask import current_app

from ...mail import html_to_text

MAX_MESSAGE_BYTES = 5_000_000  # Gmail's sizeEstimate; beyond this we do not read the body


class GmailError(Exception):
    """A Gmail API failure, with a message fit to show the user on a card."""

    def __init__(self, code: str, message: str):
        super().__init__(message)
        self.code = code
        self.message = message


@dataclass
class MailText:
    text: str
    subject: str | None
    size_estimate: int | None = None


def _http(timeout: float):
    factory = current_app.config.get("GMAIL_HTTP_FACTORY")  # tests: an HttpMockSequence
    if factory is not None:
        return factory()
    import httplib2

    return httplib2.Http(timeout=timeout)


def gmail_service(user_oauth_token: str):
    """A Gmail API client acting with the user's token (no discovery fetch: the document ships)."""
    import google.oauth2.credentials
    import google_auth_httplib2
    from googleapiclient.discovery import build

    creds = google.oauth2.credentials.Credentials(user_oauth_token)
    http = google_auth_httplib2.AuthorizedHttp(
        creds, http=_http(current_app.config.get("GMAIL_TIMEOUT_SECONDS", 10.0)))
    return build("gmail", "v1", http=http, cache_discovery=False, static_discovery=True)


def _execute(req, message_token: str | None = None):
    import httplib2
    from google.auth.exceptions import RefreshError
    from googleapiclient.errors import HttpError

    if message_token:
        req.headers["X-Goog-Gmail-Access-Token"] = message_token
    try:
        return req.execute(num_retries=1)
    except HttpError as e:
        status = getattr(e.resp, "status", 0)
        if status in (401, 403):
            raise GmailError("gmail_forbidden", "Gmail refused access to this message (the add-on's "
                             "permission may have expired). Close and reopen the add-on to sign in again.") from None
        if status == 404:
            raise GmailError("gmail_not_found", "Gmail could not find this message or draft. If you "
                             "are writing it now, wait a few seconds for Gmail to save the draft and try again.") from None
        if status == 429:
            raise GmailError("gmail_rate_limited", "Gmail is limiting requests right now; try again in a minute.") from None
        raise GmailError("gmail_error", f"Gmail answered with an error ({status}); try again shortly.") from None
    except RefreshError:  # Gmail said 401 and the add-on's token cannot be renewed here
        raise GmailError("gmail_forbidden", "Gmail no longer accepts the add-on's permission. Close "
                         "and reopen the add-on to sign in again.") from None
    except (OSError, TimeoutError, httplib2.HttpLib2Error) as e:
        raise GmailError("gmail_unreachable", f"Gmail could not be reached ({type(e).__name__}); "
                         "try again shortly.") from None


def _decode_body(data: str, charset: str | None) -> str:
    try:
        raw = base64.urlsafe_b64decode(data + "=" * (-len(data) % 4))
    except (binascii.Error, ValueError):
        return ""
    enc = (charset or "utf-8").strip("\"' ").lower()
    try:
        codecs.lookup(enc)
    except LookupError:
        enc = "utf-8"
    return raw.decode(enc, errors="replace")


def _header(headers: list[dict], name: str) -> str | None:
    for h in headers or []:
        if h.get("name", "").lower() == name.lower():
            return h.get("value")
    return None


def _charset(part: dict) -> str | None:
    ctype = _header(part.get("headers", []), "Content-Type") or ""
    for piece in ctype.split(";")[1:]:
        k, _, v = piece.strip().partition("=")
        if k.lower() == "charset":
            return v.strip("\"' ")
    return None


def payload_text(payload: dict) -> str:
    """The body as text: the first text/plain part, else the first text/html part converted."""
    plain = markup = None
    stack = [payload]
    while stack:
        part = stack.pop(0)
        mime = (part.get("mimeType") or "").lower()
        if mime.startswith("multipart/"):
            stack[0:0] = part.get("parts", [])
            continue
        if part.get("filename"):  # an attachment
            continue
        data = (part.get("body") or {}).get("data")
        if not data:
            continue
        if mime == "text/plain" and plain is None:
            plain = _decode_body(data, _charset(part))
        elif mime == "text/html" and markup is None:
            markup = _decode_body(data, _charset(part))
    if plain is not None and plain.strip():
        return plain.replace("\r\n", "\n")
    if markup is not None:
        return html_to_text(markup)
    return ""


def _mail_text(message: dict) -> MailText:
    size = message.get("sizeEstimate")
    if size and size > MAX_MESSAGE_BYTES:
        raise GmailError("message_too_large", f"This message is about {size / 1e6:.1f} MB; "
                         f"Pitchlint reads messages up to {MAX_MESSAGE_BYTES / 1e6:.0f} MB.")
    payload = message.get("payload") or {}
    return MailText(text=payload_text(payload), subject=_header(payload.get("headers", []), "Subject"),
                    size_estimate=size)


def read_message(service, message_id: str, message_token: str | None) -> MailText:
    req = service.users().messages().get(userId="me", id=message_id, format="full")
    return _mail_text(_execute(req, message_token))


def read_draft(service, draft_id: str | None = None, thread_id: str | None = None,
               message_token: str | None = None) -> MailText:
    """The draft being written: by draft id, else the thread's newest draft, else the newest draft."""
    if draft_id:
        draft = _execute(service.users().drafts().get(userId="me", id=draft_id, format="full"),
                         message_token)
        return _mail_text(draft.get("message") or {})
    if thread_id:
        thread = _execute(service.users().threads().get(userId="me", id=thread_id, format="full"),
                          message_token)
        drafts = [m for m in thread.get("messages", []) if "DRAFT" in (m.get("labelIds") or [])]
        if drafts:
            return _mail_text(drafts[-1])
    listing = _execute(service.users().drafts().list(userId="me", maxResults=1), message_token)
    found = listing.get("drafts") or []
    if not found:
        raise GmailError("no_draft", "Gmail has not saved this draft yet. Type a few words, wait a "
                         "few seconds, then press Analyse again.")
    draft = _execute(service.users().drafts().get(userId="me", id=found[0]["id"], format="full"),
                     message_token)
    return _mail_text(draft.get("message") or {})


def mailbox_address(service) -> str:
    """The address of the mailbox the user's token opens (users.getProfile; gmail.compose covers it)."""
    profile = _execute(service.users().getProfile(userId="me"))
    address = (profile.get("emailAddress") or "").strip()
    if not address:
        raise GmailError("gmail_no_profile", "Gmail did not say whose mailbox this is.")
    return address
