"""A connected Gmail mailbox, through google-api-python-client and google-auth.

The refresh token (scope gmail.modify) is turned into access tokens by google-auth's
Credentials, which AuthorizedHttp refreshes when they expire or when Gmail answers 401. Calls
are made with our own retries (retry.py) so that a 429's Retry-After is honoured. A job's calls
for many messages go in Gmail's batch requests (POST /batch/gmail/v1, up to BATCH_MAX calls in
one HTTP request; googleapiclient's BatchHttpRequest): a job of 32 messages makes three HTTP
requests instead of about eighty, each call of a batch still answered, and retried, on its own.

    messages.list / history.list     which messages are new
    messages.get (format=full)       headers and text parts; attachments are never fetched
    threads.get (format=minimal)     whether the user wrote in the thread
    labels.list / labels.create      the Pitchlint/... labels
    messages.modify                  add the labels
    users.watch                      Pub/Sub push, when configured
    oauth2.googleapis.com/revoke     the grant withdrawn when the mailbox is disconnected
"""
from __future__ import annotations

import datetime as dt
import functools
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
BATCH_MAX = 50   # calls in one batch request (Gmail takes 100; Google advises 50 or fewer)
REVOKE_TIMEOUT_SECONDS = 5.0


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
        self.token_request = google_auth_httplib2.Request(http)  # refreshes with our CA and timeout
        self.api = build("gmail", "v1", http=self.http, cache_discovery=False, static_discovery=True,
                         client_options={"api_endpoint": config["GMAIL_API_URL"]})
        # The resources are made once: making one builds its methods from the discovery
        # document (about 3 ms, as much as a call to the local fake takes).
        self.users = self.api.users()
        self.messages = self.users.messages()
        self.threads = self.users.threads()
        self.history = self.users.history()
        self.labels_api = self.users.labels()
        # The API's own batch path under the configured endpoint (the discovery document's
        # rootUrl is Google's whatever the endpoint).
        self.batch_uri = config["GMAIL_API_URL"].rstrip("/") + "/batch/gmail/v1"

    # --- one call, with retries ----------------------------------------------------------

    def call(self, request):
        """One call (an HttpRequest), with retries."""
        from googleapiclient.errors import HttpError

        backoff = Backoff(self.provider, self.sleep)
        while True:
            try:
                return self._attempt(lambda: request.execute(num_retries=0), backoff)
            except HttpError as e:
                status, retry_after = _retryable(e)
                backoff.wait_or_give_up(status, retry_after)

    def _attempt(self, run, backoff: Backoff):
        """run() once, retrying what went wrong below the HTTP answer (no connection, a timeout,
        a token refresh Google could not answer); an HTTP error is raised as HttpError."""
        import httplib2
        from google.auth.exceptions import RefreshError, TransportError

        while True:
            try:
                return run()
            except RefreshError as e:
                if getattr(e, "retryable", False):
                    backoff.wait_or_give_up(None, None)
                    continue
                raise GrantRevoked("Google no longer accepts Pitchlint's access to this mailbox "
                                   "(it was revoked or has expired). Connect it again.") from None
            except (OSError, TimeoutError, httplib2.HttpLib2Error, TransportError):
                backoff.wait_or_give_up(None, None)

    def call_many(self, requests: dict) -> dict:
        """Many calls (key -> HttpRequest) in batch requests. Returns key -> the call's answer,
        or the error that call alone met (MessageGone for a 404, ProviderError for another 4xx).
        Calls answered 429, 5xx or a rate-limit 403 are made again, in a new batch, after the
        longest Retry-After among them (or a back-off); a 401 or 403 (the grant is gone) is
        raised. A whole batch request that fails is retried as call() retries one call."""
        from googleapiclient.errors import HttpError

        out: dict = {}
        todo = dict(requests)
        backoff = Backoff(self.provider, self.sleep)
        while todo:
            answers: dict = {}

            def collect(key, response, exception):
                answers[key] = (response, exception)

            keys = list(todo)
            for i in range(0, len(keys), BATCH_MAX):
                def run(chunk=keys[i:i + BATCH_MAX]):
                    if not self.creds.valid:
                        self.creds.refresh(self.token_request)
                    batch = _batch_class()(self, callback=collect, batch_uri=self.batch_uri)
                    for key in chunk:
                        batch.add(todo[key], request_id=key)
                    batch.execute(http=self.http)

                while True:
                    try:
                        self._attempt(run, backoff)
                        break
                    except HttpError as e:  # the batch request itself
                        backoff.wait_or_give_up(*_retryable(e))
            again, status, wait = {}, None, None
            for key in keys:
                response, error = answers.get(key, (None, None))
                if key not in answers:
                    again[key] = todo[key]  # no answer for it in the batch: ask again
                elif error is None:
                    out[key] = response
                else:
                    try:
                        status, retry_after = _retryable(error)
                    except GrantRevoked:
                        raise
                    except ProviderError as e:
                        if status_of(error) in (404, 400, 409, 412):
                            out[key] = e  # this call's own failure
                            continue
                        raise
                    again[key] = todo[key]
                    if retry_after is not None:
                        wait = max(wait or 0.0, retry_after)
            todo = again
            if todo:
                backoff.wait_or_give_up(status, wait)
        return out

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
            page = self.call(self.messages.list(
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
                page = self.call(self.history.list(
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
        found = {lab["name"]: lab["id"] for lab in self.call(self.labels_api.list(userId="me")).get("labels") or []}
        out = {}
        for key in LABELS:
            name = label_name(key)
            if name not in found:
                made = self.call(self.labels_api.create(userId="me", body={
                    "name": name, "labelListVisibility": "labelShow", "messageListVisibility": "show"}))
                found[name] = made["id"]
            out[key] = found[name]
        return out

    def get(self, message_id: str, label_ids: dict, own_address: str) -> Incoming:
        return self._incoming(self.call(self.messages.get(userId="me", id=message_id, format="full")),
                              label_ids, own_address)

    def get_many(self, ids: list[str], label_ids: dict, own_address: str) -> dict:
        """The messages by id, in batches; None for one that is gone."""
        answers = self.call_many({m: self.messages.get(userId="me", id=m, format="full") for m in ids})
        return {m: None if isinstance(a, MessageGone) else self._incoming(_answer(a), label_ids, own_address)
                for m, a in answers.items()}

    def _incoming(self, msg: dict, label_ids: dict, own_address: str) -> Incoming:
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
        return _wrote_in(self.call(self.threads.get(userId="me", id=message.thread_id, format="minimal")), message.id)

    def wrote_to(self, address: str) -> bool:
        return bool(self.call(self._sent_to(address)).get("messages"))

    def _sent_to(self, address: str):
        return self.messages.list(userId="me", q=f"in:sent to:{address}", maxResults=1)

    def lookups(self, in_threads: list[Incoming], senders: list[str]) -> tuple[dict, dict]:
        """In one batch: whether the user wrote in each message's thread (message id -> bool,
        or None when the thread is gone), and whether the user has written to each sender."""
        calls = {f"t{i}": self.threads.get(userId="me", id=m.thread_id, format="minimal")
                 for i, m in enumerate(in_threads)}
        calls.update({f"s{i}": self._sent_to(a) for i, a in enumerate(senders)})
        answers = self.call_many(calls)
        threads = {}
        for i, m in enumerate(in_threads):
            a = answers[f"t{i}"]
            threads[m.id] = None if isinstance(a, MessageGone) else _wrote_in(_answer(a), m.id)
        wrote = {a: bool(_answer(answers[f"s{i}"]).get("messages")) for i, a in enumerate(senders)}
        return threads, wrote

    def apply(self, message: Incoming, keys: list[str], label_ids: dict) -> None:
        self.call(self.messages.modify(userId="me", id=message.id, body={
            "addLabelIds": [label_ids[k] for k in keys]}))

    def apply_many(self, items: list[tuple[Incoming, list[str]]], label_ids: dict) -> dict:
        """Add labels to many messages, in batches: message id -> None (done), or the error for
        it (MessageGone; ProviderError when a label no longer exists)."""
        out = {}
        calls = {}
        for msg, keys in items:
            if any(k not in (label_ids or {}) for k in keys):
                out[msg.id] = ProviderError("a Pitchlint label is missing")
            else:
                calls[msg.id] = self.messages.modify(userId="me", id=msg.id, body={
                    "addLabelIds": [label_ids[k] for k in keys]})
        for key, answer in self.call_many(calls).items():
            out[key] = answer if isinstance(answer, ProviderError) else None
        return out

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


def revoke(config: dict, refresh_token: str) -> bool:
    """Withdraw the mailbox's grant at Google (its OAuth revoke endpoint: the refresh token and
    every access token made from it stop working), through the same transport as the client's
    calls. True when Google withdrew it or no longer knew it; False when Google could not be
    reached or answered otherwise (the token is deleted here all the same)."""
    import json
    from urllib.parse import urlencode

    import google_auth_httplib2
    import httplib2

    request = google_auth_httplib2.Request(httplib2.Http(
        timeout=REVOKE_TIMEOUT_SECONDS, ca_certs=config.get("TRIAGE_CA_BUNDLE")))
    try:
        resp = request(config["GOOGLE_REVOKE_URI"], method="POST", body=urlencode({"token": refresh_token}),
                       headers={"Content-Type": "application/x-www-form-urlencoded"})
    except Exception:  # google.auth TransportError, and anything below it
        return False
    if resp.status == 200:
        return True
    try:
        return resp.status == 400 and json.loads(resp.data or b"{}").get("error") == "invalid_token"
    except ValueError:
        return False


def _wrote_in(thread: dict, message_id: str) -> bool:
    return any("SENT" in (m.get("labelIds") or []) for m in thread.get("messages") or []
               if m.get("id") != message_id)


def _retryable(error) -> tuple[int, float | None]:
    """For an HttpError worth another try (429, 5xx, a rate-limit 403): its status and
    Retry-After. Any other error is raised in our terms."""
    status = status_of(error)
    reason = _reason(error)
    if status in RETRY_STATUSES or (status == 403 and reason in ("rateLimitExceeded", "userRateLimitExceeded")):
        return status, retry_after_seconds(error.resp.get("retry-after"))
    if status == 404:
        raise MessageGone("Gmail has no such message") from None
    if status == 401:
        raise GrantRevoked("Google no longer accepts Pitchlint's access to this "
                           "mailbox. Connect it again.") from None
    if status == 403:
        raise GrantRevoked("Google refused Pitchlint access to this mailbox (was the "
                           "permission to manage labels removed?). Connect it again.") from None
    raise ProviderError(f"Gmail answered with an error ({status}).") from None


@functools.cache
def _batch_class():
    from googleapiclient.http import BatchHttpRequest

    class Batch(BatchHttpRequest):
        """BatchHttpRequest whose calls answered 401 (the access token expired before its time)
        get a token refreshed through the client's own transport (its CA bundle and timeout),
        not the library's new httplib2.Http() with neither."""

        def __init__(self, client, **kwargs):
            super().__init__(**kwargs)
            self._client = client

        def _refresh_and_apply_credentials(self, request, http):
            creds = self._client.creds
            if id(creds) not in self._refreshed_credentials:
                creds.refresh(self._client.token_request)
                self._refreshed_credentials[id(creds)] = 1
            if request.http is None:
                creds.apply(request.headers)

    return Batch


def status_of(error) -> int:
    return int(getattr(error.resp, "status", 0) or 0)


def _answer(value):
    """A call_many answer, raising the error it holds (a 404 is MessageGone)."""
    if isinstance(value, ProviderError):
        raise value
    return value


def _reason(error) -> str | None:
    import json

    try:
        body = json.loads(error.content.decode("utf-8", "replace"))
        return ((body.get("error") or {}).get("errors") or [{}])[0].get("reason")
    except (ValueError, AttributeError, IndexError, TypeError):
        return None
