"""The fast path, when configured: the providers tell us a mailbox changed, and a sync is
queued at once instead of at the next poll.

    POST /triage/push/gmail    Pub/Sub push of users.watch's notifications ({"emailAddress",
                               "historyId"}); the request carries Google's OIDC token for the
                               push subscription's service account, which is verified
    POST /triage/push/graph    Graph change notifications; the subscription's validation
                               handshake, and clientState (an HMAC of the mailbox id) checked
"""
from __future__ import annotations

import base64
import hashlib
import hmac
import json

from flask import Blueprint, Response, current_app, request
from sqlalchemy import select

from ..db import session as db_session
from ..errors import APIError
from .models import ACTIVE, Mailbox
from .queue import QueueUnavailable, get_queue

bp = Blueprint("triage_push", __name__, url_prefix="/triage/push")


def client_state(mailbox_id: int) -> str:
    key = current_app.config["SECRET_KEY"].encode()
    mac = hmac.new(key, f"triage-graph:{mailbox_id}".encode(), hashlib.sha256).hexdigest()[:40]
    return f"{mailbox_id}.{mac}"


def _mailbox_of_state(state: str) -> int | None:
    mailbox_id, _, _ = (state or "").partition(".")
    if not mailbox_id.isdigit():
        return None
    return int(mailbox_id) if hmac.compare_digest(client_state(int(mailbox_id)), state) else None


def _queue_syncs(ids: set[int]) -> None:
    try:
        queue = get_queue(current_app)
    except QueueUnavailable:
        return
    s = db_session()
    for mailbox_id in ids:
        mb = s.get(Mailbox, mailbox_id)
        if mb is not None and mb.status == ACTIVE:
            queue.enqueue_sync(mb.id)


@bp.post("/gmail")
def gmail():
    cfg = current_app.config
    if not cfg.get("TRIAGE_GMAIL_TOPIC") or not cfg.get("TRIAGE_PUSH_SERVICE_ACCOUNT"):
        raise APIError(404, "push_not_configured", "Gmail push is not set up on this service")
    _verify_google_push(cfg)
    body = request.get_json(silent=True) or {}
    try:
        data = json.loads(base64.b64decode((body.get("message") or {}).get("data") or ""))
        address = str(data["emailAddress"]).strip().lower()
    except (ValueError, KeyError, TypeError):
        return Response(status=204)  # acknowledged: a malformed message is not retried
    ids = set(db_session().scalars(select(Mailbox.id).where(Mailbox.provider == "gmail",
                                                            Mailbox.address == address)))
    _queue_syncs(ids)
    return Response(status=204)


def _verify_google_push(cfg) -> None:
    """The push request's OIDC token: signed by Google (its certificates at GOOGLE_CERTS_URL,
    fetched through the add-on's caching transport), for this endpoint, unexpired, from Google,
    and minted for the push subscription's service account (any service account can mint a
    token for any audience, so the audience alone proves nothing)."""
    from google.oauth2 import id_token

    from ..addins.google_identity import CLOCK_SKEW_SECONDS, _transport

    auth = request.headers.get("Authorization", "")
    if not auth.startswith("Bearer "):
        raise APIError(401, "missing_token", "a Pub/Sub push must carry its OIDC token")
    audience = (cfg.get("PUBLIC_URL") or request.host_url).rstrip("/") + "/triage/push/gmail"
    try:
        claims = id_token.verify_token(auth[7:], _transport(), audience=audience,
                                       certs_url=cfg["GOOGLE_CERTS_URL"],
                                       clock_skew_in_seconds=CLOCK_SKEW_SECONDS)
    except Exception:  # any failure to verify is a refusal
        raise APIError(401, "invalid_token", "the push request's token could not be verified") from None
    if claims.get("iss") not in cfg["GOOGLE_ISSUERS"]:
        raise APIError(401, "invalid_token", "the push request's token was not issued by Google")
    if claims.get("email") != cfg["TRIAGE_PUSH_SERVICE_ACCOUNT"] or not claims.get("email_verified"):
        raise APIError(403, "wrong_sender", "the push request comes from another service account")


@bp.post("/graph")
def graph():
    if request.args.get("validationToken"):  # the subscription's handshake: echo it, as text
        return Response(request.args["validationToken"][:1000], mimetype="text/plain")
    if not current_app.config.get("TRIAGE_GRAPH_NOTIFICATIONS"):
        raise APIError(404, "push_not_configured", "Outlook change notifications are not set up")
    body = request.get_json(silent=True) or {}
    ids = set()
    for note in body.get("value") or []:
        mailbox_id = _mailbox_of_state(str((note or {}).get("clientState") or ""))
        if mailbox_id is not None:
            ids.add(mailbox_id)
    _queue_syncs(ids)
    return Response(status=202)
