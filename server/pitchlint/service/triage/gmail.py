"""A connected Gmail mailbox, through google-api-python-client and google-auth.

The refresh token (scope gmail.modify) is turned into access tokens by google-auth's
Credentials, which AuthorizedHttp refreshes when they expire or when Gmail answers 401. Calls
are made with our own retries (retry.py) so that a 429's Retry-After is honoured.

    messages.list / history.list     which messages are new
    messages.get (format=full)       headers and text parts; attachments are never fetched
    threads.get (format=minimal)     whether the user wrote in the thread
    labels.list / labels.create      the Pitchlint/... labels
    messages.modify                  add the labels
    users.watch                      Pub/Sub push, when configured
"""
from __future__ import annotations

import datetime as dt
import time

from ...mail import html_to_text  # noqa: F401  (payload_text converts HTML parts with it)
from ..addins.gmail_api import payload_text
from .errors import CursorExpired, GrantRevoked, MessageGone, ProviderError
from .message import Incoming, address_of
from .models import LABELS
from .retry import RETRY_STATUSES, Backoff, retry_after_seconds

SCOPE = "https://www.googleapis.com/auth/gmail.modify"
TIMEOUT_SECONDS = 20.0
LABEL_PREFIX = "Pitchlint/"


def label_name(key: str) -> str:
    return LABEL_PREFIX + LABELS[key]


class GmailClient:
    provider = "Gmail"

    def __init__(self, config: dict, refresh_token: str, sleep=time.sleep, access_token: str | None = None):
        import google.oauth2.credentials
        import google_auth_httplib2
        import httplib2
        from googleapiclient.discovery import build

        self.sleep = sleep
        self.creds = google.oauth2.credentials.Credentials(
            access_token, refresh_token=refresh_token, token_uri=config["GOOGLE_TOKEN_URI"],
            client_id=config.get("GOOGLE_CLIENT_ID"), client_secret=config.get("GOOGLE_CLIENT_SECRET"),
            scopes=[SCOPE])
        http = httplib2.Http(timeout=config.get("GMAIL_TIMEOUT_SECONDS") or TIMEOUT_SECONDS,
                             ca_certs=config.get("TRIAGE_CA_BUNDLE"))
        self.http = google_auth_httplib2.AuthorizedHttp(self.creds, http=http)
        self.api = build("gmail", "v1", http=self.http, cache_discovery=False, static_discovery=True,
                         client_options={"api_endpoint": config["GMAIL_API_URL"]})
        self.users = self.api.users()

    # --- one call, with retries ----------------------------------------------------------

    def call(self, request):
        import httplib2
        from google.auth.exceptions import RefreshError, TransportError
        from googleapiclient.errors import HttpError

        backoff = Backoff(self.provider, self.sleep)
        while True:
            try:
                return request.execute(num_retries=0)
            except HttpError as e:
                status = int(getattr(e.resp, "status", 0) or 0)
                reason = _reason(e)
                if status in RETRY_STATUSES or (status == 403 and reason in (
                        "rateLimitExceeded", "userRateLimitExceeded")):
                    backoff.wait_or_give_up(status, retry_after_seconds(e.resp.get("retry-after")))
                    continue
                if status == 404:
                    raise MessageGone("Gmail has no such message") from None
                if status == 401:
                    raise GrantRevoked("Google no longer accepts Pitchlint's access to this "
                                       "mailbox. Connect it again.") from None
                if status == 403:
                    raise GrantRevoked("Google refused Pitchlint access to this mailbox (was the "
                                       "permission to manage labels removed?). Connect it again.") from None
                raise ProviderError(f"Gmail answered with an error ({status}).") from None
            except RefreshError as e:
                if getattr(e, "retryable", False):
                    backoff.wait_or_give_up(None, None)
                    continue
                raise GrantRevoked("Google no longer accepts Pitchlint's access to this mailbox "
                                   "(it was revoked or has expired). Connect it again.") from None
            except (OSError, TimeoutError, httplib2.HttpLib2Error, TransportError):
                backoff.wait_or_give_up(None, None)

    # --- the mailbox ---------------------------------------------------------------------

    def profile(self) -> dict:
        return self.call(self.users.getProfile(userId="me"))

    def address(self) -> str:
        return (self.profile().get("emailAddress") or "").strip().lower()

    def start_cursor(self) -> str:
        return str(self.profile()["historyId"])

    def first_sync(self, days: float) -> tuple[list[str], str]:
        """The inbox's messages of the last `days` days, and the cursor to go on from (taken
        first, so that a message arriving meanwhile is found by the next sync, not lost)."""
        cursor = self.start_cursor()
        return self.since(days), cursor

    def since(self, days: float) -> list[str]:
        """Ids of the inbox's messages of the last `days` days, oldest first."""
        after = int(time.time() - days * 86400)
        ids, token = [], None
        while True:
            page = self.call(self.users.messages().list(
                userId="me", labelIds=["INBOX"], q=f"after:{after}", maxResults=500, pageToken=token))
            ids += [m["id"] for m in page.get("messages") or []]
            token = page.get("nextPageToken")
            if not token:
                return ids[::-1]

    def changes(self, cursor: str) -> tuple[list[str], str]:
        """Messages added to the inbox since `cursor` (a historyId), and the new cursor."""
        ids, seen, token, latest = [], set(), None, cursor
        while True:
            try:
                page = self.call(self.users.history().list(
                    userId="me", startHistoryId=cursor, historyTypes=["messageAdded"],
                    labelId="INBOX", maxResults=500, pageToken=token))
            except MessageGone:
                raise CursorExpired("Gmail's history from this point is no longer available") from None
            for record in page.get("history") or []:
                for added in record.get("messagesAdded") or []:
                    msg = added.get("message") or {}
                    labels = msg.get("labelIds") or []
                    if msg.get("id") and msg["id"] not in seen and "INBOX" in labels \
                            and "SENT" not in labels and "DRAFT" not in labels:
                        seen.add(msg["id"])
                        ids.append(msg["id"])
            latest = str(page.get("historyId") or latest)
            token = page.get("nextPageToken")
            if not token:
                return ids, latest

    def labels(self, existing: dict | None) -> dict:
        """Our labels' ids by key, creating the missing ones."""
        found = {lab["name"]: lab["id"] for lab in self.call(self.users.labels().list(userId="me")).get("labels") or []}
        out = {}
        for key in LABELS:
            name = label_name(key)
            if name not in found:
                made = self.call(self.users.labels().create(userId="me", body={
                    "name": name, "labelListVisibility": "labelShow", "messageListVisibility": "show"}))
                found[name] = made["id"]
            out[key] = found[name]
        return out

    def get(self, message_id: str, label_ids: dict, own_address: str) -> Incoming:
        msg = self.call(self.users.messages().get(userId="me", id=message_id, format="full"))
        payload = msg.get("payload") or {}
        headers = {h.get("name", "").lower(): h.get("value", "") for h in payload.get("headers") or []}
        labels = set(msg.get("labelIds") or [])
        sender = address_of(headers.get("from"))
        received = None
        if str(msg.get("internalDate") or "").isdigit():
            received = dt.datetime.fromtimestamp(int(msg["internalDate"]) / 1000, dt.timezone.utc).replace(tzinfo=None)
        by_id = {v: k for k, v in (label_ids or {}).items()}
        return Incoming(
            id=msg["id"], sender=sender, subject=headers.get("subject"), text=payload_text(payload),
            received_at=received, thread_id=msg.get("threadId"),
            is_reply=bool(msg.get("threadId")) and msg.get("threadId") != msg["id"],
            headers=headers, own=bool(labels & {"SENT", "DRAFT"}) or (bool(sender) and sender == own_address),
            applied={by_id[i] for i in labels if i in by_id})

    def user_in_thread(self, message: Incoming) -> bool:
        """Whether the user started, or wrote in, the message's thread (a SENT message in it)."""
        thread = self.call(self.users.threads().get(userId="me", id=message.thread_id, format="minimal"))
        return any("SENT" in (m.get("labelIds") or []) for m in thread.get("messages") or []
                   if m.get("id") != message.id)

    def wrote_to(self, address: str) -> bool:
        page = self.call(self.users.messages().list(userId="me", q=f"in:sent to:{address}", maxResults=1))
        return bool(page.get("messages"))

    def apply(self, message: Incoming, keys: list[str], label_ids: dict) -> None:
        self.call(self.users.messages().modify(userId="me", id=message.id, body={
            "addLabelIds": [label_ids[k] for k in keys]}))

    def watch(self, topic: str) -> dt.datetime | None:
        """users.watch: Gmail publishes the inbox's changes to `topic`; returns when it ends."""
        answer = self.call(self.users.watch(userId="me", body={
            "topicName": topic, "labelIds": ["INBOX"], "labelFilterBehavior": "include"}))
        ms = str(answer.get("expiration") or "")
        return dt.datetime.fromtimestamp(int(ms) / 1000, dt.timezone.utc).replace(tzinfo=None) if ms.isdigit() else None

    def close(self) -> None:
        try:
            self.api.close()
        except Exception:
            pass


def _reason(error) -> str | None:
    import json

    try:
        body = json.loads(error.content.decode("utf-8", "replace"))
        return ((body.get("error") or {}).get("errors") or [{}])[0].get("reason")
    except (ValueError, AttributeError, IndexError, TypeError):
        return None
