"""A connected Outlook mailbox, through Microsoft Graph (requests) with tokens from msal.

msal turns the stored refresh token (Mail.ReadWrite, offline access) into access tokens
(acquire_token_by_refresh_token); Microsoft may hand back a new refresh token, which the caller
stores (`on_refresh_token`). A 401 from Graph (the access token expired) gets a fresh token and
one more try. 429 and 5xx are retried after Retry-After (retry.py). A job's calls for many
messages go in Graph's JSON batches (POST /$batch, up to BATCH_MAX requests each), each request
of a batch answered, and retried, on its own.

    GET  /me                                           the mailbox's address
    GET  /me/mailFolders/inbox/messages/delta          what is new (a delta link is the cursor)
    GET  /me/messages/{id}                             headers, text, conversation, categories
    GET  /me/mailFolders/sentitems/messages            whether the user wrote to / in it
    PATCH /me/messages/{id}                            categories
    POST /me/outlook/masterCategories                  the Pitchlint categories, once
    POST /subscriptions                                change notifications, when configured
    POST /$batch                                       several of the above in one request
"""
from __future__ import annotations

import base64
import datetime as dt
import time
from urllib.parse import quote, urlencode

import requests

from ...mail import html_to_text
from .errors import CursorExpired, GrantRevoked, MessageGone, ProviderError, Throttled
from .gmail import label_name
from .message import Incoming, address_of
from .models import LABELS
from .retry import RETRY_STATUSES, Backoff, retry_after_seconds

SCOPES = ["Mail.ReadWrite", "User.Read"]
TIMEOUT_SECONDS = 20.0
PAGE_SIZE = 100
BATCH_MAX = 20   # requests in one JSON batch (Graph's limit)
FIRST_CONVERSATION_INDEX_BYTES = 22  # a reply adds 5 bytes to its conversation's index
CATEGORY_COLOURS = {"me_talk": "preset1", "desperate": "preset3", "threatening": "preset0",
                    "reader_centred": "preset4"}
SELECT = ("id,subject,body,from,receivedDateTime,conversationId,conversationIndex,categories,"
          "internetMessageHeaders,isDraft")


class _Session(requests.Session):
    """requests.Session that verifies with the configured CA bundle on every request: a
    session's own `verify` loses to REQUESTS_CA_BUNDLE in the environment, and msal passes none."""

    def __init__(self, ca_bundle: str | None):
        super().__init__()
        self.ca_bundle = ca_bundle

    def request(self, method, url, **kwargs):
        if self.ca_bundle and kwargs.get("verify") is None:
            kwargs["verify"] = self.ca_bundle
        return super().request(method, url, **kwargs)


def http_session(config: dict) -> requests.Session:
    return _Session(config.get("TRIAGE_CA_BUNDLE"))


def msal_app(config: dict, http: requests.Session):
    import msal
    from msal.authority import WELL_KNOWN_AUTHORITY_HOSTS
    from urllib.parse import urlsplit

    host = config["MS_AUTHORITY_HOST"].rstrip("/")
    return msal.ConfidentialClientApplication(
        config["MS_CLIENT_ID"], client_credential=config["MS_CLIENT_SECRET"],
        authority=f"{host}/{config['MS_TENANT']}", http_client=http,
        # Instance discovery asks Microsoft whether the authority is one of theirs; an authority
        # that is not (a sovereign cloud set by hand, the local fake) is taken as configured.
        instance_discovery=None if urlsplit(host).hostname in WELL_KNOWN_AUTHORITY_HOSTS else False)


def refresh_error(result: dict) -> Exception:
    """msal's error answer as ours: invalid_grant (and consent or interaction needed) means the
    grant is gone; anything else is Microsoft being unavailable."""
    error = str(result.get("error") or "")
    if error in ("invalid_grant", "interaction_required", "consent_required", "invalid_client",
                 "unauthorized_client"):
        return GrantRevoked("Microsoft no longer accepts Pitchlint's access to this mailbox (it was "
                            "revoked or has expired). Connect it again.")
    return Throttled(f"Microsoft sign-in is unavailable ({error or 'no answer'})", 30.0)


class GraphClient:
    provider = "Microsoft Graph"

    def __init__(self, config: dict, refresh_token: str, sleep=time.sleep, on_refresh_token=None):
        self.config = config
        self.base = config["GRAPH_URL"].rstrip("/")
        self.refresh_token = refresh_token
        self.on_refresh_token = on_refresh_token
        self.sleep = sleep
        self.http = http_session(config)
        self.token: str | None = None
        self.token_expires = 0.0
        self._msal = None

    # --- tokens ----------------------------------------------------------------------------

    def _access_token(self, force: bool = False) -> str:
        if self.token and not force and time.time() < self.token_expires - 60:
            return self.token
        if self._msal is None:
            self._msal = msal_app(self.config, self.http)
        backoff = Backoff("Microsoft sign-in", self.sleep)
        while True:
            try:
                result = self._msal.acquire_token_by_refresh_token(self.refresh_token, SCOPES)
                break
            except (requests.RequestException, ValueError):
                backoff.wait_or_give_up(None, None)
        if "access_token" not in result:
            raise refresh_error(result)
        self.token = result["access_token"]
        self.token_expires = time.time() + float(result.get("expires_in") or 3600)
        new_rt = result.get("refresh_token")
        if new_rt and new_rt != self.refresh_token:
            self.refresh_token = new_rt
            if self.on_refresh_token:
                self.on_refresh_token(new_rt)
        return self.token

    # --- one call, with retries ------------------------------------------------------------

    def call(self, method: str, url: str, *, json_body=None, headers=None, params=None) -> dict:
        if not url.startswith("http"):
            url = self.base + url
        backoff = Backoff(self.provider, self.sleep)
        refreshed = False
        while True:
            hdrs = {"Authorization": f"Bearer {self._access_token()}", "Accept": "application/json"}
            hdrs.update(headers or {})
            try:
                resp = self.http.request(method, url, json=json_body, headers=hdrs, params=params,
                                         timeout=TIMEOUT_SECONDS)
            except requests.RequestException:
                backoff.wait_or_give_up(None, None)
                continue
            if resp.status_code == 401 and not refreshed:  # the access token expired early
                refreshed = True
                self._access_token(force=True)
                continue
            if resp.status_code in RETRY_STATUSES:
                backoff.wait_or_give_up(resp.status_code, retry_after_seconds(resp.headers.get("Retry-After")))
                continue
            if resp.status_code == 404:
                raise MessageGone("Outlook has no such message")
            if resp.status_code == 410:
                raise CursorExpired("Outlook's delta link has expired")
            if resp.status_code in (401, 403):
                raise GrantRevoked("Microsoft refused Pitchlint access to this mailbox. Connect it again.")
            if resp.status_code >= 400:
                raise ProviderError(f"Microsoft Graph answered with an error ({resp.status_code}).")
            if resp.status_code == 204 or not resp.content:
                return {}
            return resp.json()

    # --- the mailbox -----------------------------------------------------------------------

    def address(self) -> str:
        me = self.call("GET", "/me", params={"$select": "mail,userPrincipalName"})
        return (me.get("mail") or me.get("userPrincipalName") or "").strip().lower()

    def _delta(self, url: str, params: dict | None) -> tuple[list[str], str]:
        ids, seen = [], set()
        prefer = {"Prefer": f"odata.maxpagesize={PAGE_SIZE}"}
        while True:
            page = self.call("GET", url, headers=prefer, params=params)
            params = None  # next and delta links carry the query themselves
            for item in page.get("value") or []:
                if "@removed" in item or not item.get("id") or item["id"] in seen:
                    continue
                seen.add(item["id"])
                ids.append(item["id"])
            if page.get("@odata.nextLink"):
                url = page["@odata.nextLink"]
                continue
            return ids, page.get("@odata.deltaLink") or url

    def first_sync(self, days: float) -> tuple[list[str], str]:
        """The inbox's messages of the last `days` days (a first delta round), and the delta link."""
        start = (dt.datetime.now(dt.timezone.utc) - dt.timedelta(days=days)).strftime("%Y-%m-%dT%H:%M:%SZ")
        return self._delta("/me/mailFolders/inbox/messages/delta",
                           {"$select": "id,receivedDateTime", "$filter": f"receivedDateTime ge {start}"})

    def changes(self, cursor: str) -> tuple[list[str], str]:
        return self._delta(cursor, None)

    def labels(self, existing: dict | None) -> dict:
        """Creates the Pitchlint categories in the user's list, with colours (best effort:
        a message can carry a category that is not in the list)."""
        for key in LABELS:
            try:
                self.call("POST", "/me/outlook/masterCategories",
                          json_body={"displayName": label_name(key), "color": CATEGORY_COLOURS[key]})
            except GrantRevoked:  # 403: MailboxSettings.ReadWrite not granted; categories still work
                break
            except ProviderError:  # 409: it exists already
                continue
        return {k: label_name(k) for k in LABELS}

    def get(self, message_id: str, label_ids: dict, own_address: str) -> Incoming:
        method, url, params, headers = self._get_call(message_id)
        return self._incoming(self.call(method, url, params=params, headers=headers), label_ids, own_address)

    @staticmethod
    def _get_call(message_id: str) -> tuple:
        return ("GET", f"/me/messages/{quote(message_id, safe='')}", {"$select": SELECT},
                {"Prefer": 'outlook.body-content-type="text"'})

    @staticmethod
    def _thread_call(message: Incoming) -> tuple:
        cid = (message.thread_id or "").replace("'", "''")
        return ("GET", "/me/mailFolders/sentitems/messages",
                {"$filter": f"conversationId eq '{cid}'", "$select": "id", "$top": "1"}, None)

    @staticmethod
    def _sent_to_call(address: str) -> tuple:
        return ("GET", "/me/mailFolders/sentitems/messages",
                {"$search": f'"to:{address}"', "$select": "id", "$top": "1"}, None)

    def _incoming(self, msg: dict, label_ids: dict, own_address: str) -> Incoming:
        body = msg.get("body") or {}
        text = body.get("content") or ""
        if (body.get("contentType") or "").lower() == "html":
            text = html_to_text(text)
        headers = {(h.get("name") or "").lower(): h.get("value") or ""
                   for h in msg.get("internetMessageHeaders") or []}
        sender = ((msg.get("from") or {}).get("emailAddress") or {}).get("address") or ""
        sender = address_of(sender) or sender.lower()
        received = None
        if msg.get("receivedDateTime"):
            try:
                received = dt.datetime.fromisoformat(msg["receivedDateTime"].replace("Z", "+00:00"))
                received = received.astimezone(dt.timezone.utc).replace(tzinfo=None)
            except ValueError:
                pass
        try:
            index_len = len(base64.b64decode(msg.get("conversationIndex") or ""))
        except ValueError:
            index_len = 0
        by_name = {v: k for k, v in (label_ids or {}).items()}
        return Incoming(
            id=msg["id"], sender=sender, subject=msg.get("subject"), text=text.replace("\r\n", "\n"),
            received_at=received, thread_id=msg.get("conversationId"),
            is_reply=index_len > FIRST_CONVERSATION_INDEX_BYTES, headers=headers,
            own=bool(msg.get("isDraft")) or (bool(sender) and sender == own_address),
            applied={by_name[c] for c in msg.get("categories") or [] if c in by_name},
            categories=list(msg.get("categories") or []))

    def user_in_thread(self, message: Incoming) -> bool:
        method, url, params, _ = self._thread_call(message)
        return bool(self.call(method, url, params=params).get("value"))

    def wrote_to(self, address: str) -> bool:
        method, url, params, _ = self._sent_to_call(address)
        return bool(self.call(method, url, params=params).get("value"))

    def get_many(self, ids: list[str], label_ids: dict, own_address: str) -> dict:
        """The messages by id, in batches; None for one that is gone."""
        answers = self.call_many({m: self._get_call(m) for m in ids})
        return {m: None if isinstance(a, MessageGone) else self._incoming(_answer(a), label_ids, own_address)
                for m, a in answers.items()}

    def lookups(self, in_threads: list[Incoming], senders: list[str]) -> tuple[dict, dict]:
        """In batches: whether the user wrote in each message's conversation (message id ->
        bool), and whether the user has written to each sender."""
        calls = {f"t{i}": self._thread_call(m) for i, m in enumerate(in_threads)}
        calls.update({f"s{i}": self._sent_to_call(a) for i, a in enumerate(senders)})
        answers = self.call_many(calls)
        return ({m.id: bool(_answer(answers[f"t{i}"]).get("value")) for i, m in enumerate(in_threads)},
                {a: bool(_answer(answers[f"s{i}"]).get("value")) for i, a in enumerate(senders)})

    def apply_many(self, items: list[tuple[Incoming, list[str]]], label_ids: dict) -> dict:
        """Add categories to many messages, in batches: message id -> None (done) or the
        error for it (MessageGone)."""
        answers = self.call_many({msg.id: self._apply_call(msg, keys, label_ids) for msg, keys in items})
        return {m: a if isinstance(a, ProviderError) else None for m, a in answers.items()}

    def call_many(self, calls: dict) -> dict:
        """Many calls (key -> (method, url, params, headers[, json body])) in JSON batches. Returns
        key -> the call's answer, or the error that call alone met (MessageGone for a 404,
        ProviderError for another 4xx). Calls answered 429 or 5xx are made again, in a new
        batch, after the longest Retry-After among them (or a back-off); a call answered 401
        gets a fresh access token and one more try; a 401 after that, or a 403, is raised
        (the grant is gone). The batch request itself is retried as call() retries one call."""
        out: dict = {}
        todo = dict(calls)
        backoff = Backoff(self.provider, self.sleep)
        refreshed = False
        while todo:
            keys = list(todo)
            answers: dict = {}
            for i in range(0, len(keys), BATCH_MAX):
                chunk = keys[i:i + BATCH_MAX]
                requests_ = []
                for n, key in enumerate(chunk):
                    method, url, params, headers, *body = todo[key]
                    item = {"id": str(n), "method": method,
                            "url": url + ("?" + urlencode(params) if params else "")}
                    if headers:
                        item["headers"] = dict(headers)
                    if body:
                        item["body"] = body[0]
                        item.setdefault("headers", {})["Content-Type"] = "application/json"
                    requests_.append(item)
                page = self.call("POST", "/$batch", json_body={"requests": requests_})
                for answer in page.get("responses") or []:
                    if str(answer.get("id", "")).isdigit() and int(answer["id"]) < len(chunk):
                        answers[chunk[int(answer["id"])]] = answer
            again, status, wait, expired = {}, None, None, False
            for key in keys:
                answer = answers.get(key)
                code = int(answer.get("status") or 0) if answer else 0
                if answer is None:
                    again[key] = todo[key]  # no answer for it: ask again
                elif code < 300:
                    out[key] = answer.get("body") or {}
                elif code == 401 and not refreshed:
                    expired = True
                    again[key] = todo[key]
                elif code in RETRY_STATUSES:
                    status = code
                    again[key] = todo[key]
                    headers = {k.lower(): v for k, v in (answer.get("headers") or {}).items()}
                    retry_after = retry_after_seconds(headers.get("retry-after"))
                    if retry_after is not None:
                        wait = max(wait or 0.0, retry_after)
                elif code == 404:
                    out[key] = MessageGone("Outlook has no such message")
                elif code in (401, 403):
                    raise GrantRevoked("Microsoft refused Pitchlint access to this mailbox. Connect it again.")
                else:
                    out[key] = ProviderError(f"Microsoft Graph answered with an error ({code}).")
            todo = again
            if expired:  # the access token expired early: a fresh one, and no wait
                refreshed = True
                self._access_token(force=True)
                if status is None:
                    continue
            if todo:
                backoff.wait_or_give_up(status, wait)
        return out

    def apply(self, message: Incoming, keys: list[str], label_ids: dict) -> None:
        method, url, params, headers, body = self._apply_call(message, keys, label_ids)
        self.call(method, url, json_body=body)

    @staticmethod
    def _apply_call(message: Incoming, keys: list[str], label_ids: dict) -> tuple:
        # PATCH replaces the list: the message's own categories are kept, ours added.
        current = message.categories
        wanted = current + [label_ids[k] for k in keys if label_ids[k] not in current]
        return ("PATCH", f"/me/messages/{quote(message.id, safe='')}", None, None, {"categories": wanted})

    def subscribe(self, notification_url: str, client_state: str) -> dt.datetime:
        """Graph change notifications for new inbox messages (they last about three days)."""
        expires = dt.datetime.now(dt.timezone.utc) + dt.timedelta(minutes=4230)
        self.call("POST", "/subscriptions", json_body={
            "changeType": "created", "notificationUrl": notification_url,
            "resource": "me/mailFolders('inbox')/messages", "clientState": client_state,
            "expirationDateTime": expires.strftime("%Y-%m-%dT%H:%M:%SZ")})
        return expires.replace(tzinfo=None)

    def close(self) -> None:
        self.http.close()


def _answer(value):
    """A call_many answer, raising the error it holds."""
    if isinstance(value, ProviderError):
        raise value
    return value
