"""The Triage page: connect a Gmail or Outlook mailbox, choose labels, see what was done.

    GET  /triage                           mailboxes, last sync, this week's counts, errors
    GET  /triage/connect/google            -> Google (gmail.modify, offline access, PKCE)
    GET  /triage/callback/google           <- Google; the refresh token is stored encrypted
    GET  /triage/connect/microsoft         -> Microsoft (Mail.ReadWrite, offline access; msal)
    GET  /triage/callback/microsoft        <- Microsoft
    POST /triage/<id>/settings             labels, minimum confidence, own domain
    POST /triage/<id>/run                  "Run now": a sync right away
    POST /triage/<id>/disconnect           delete the tokens (and what was recorded); Google's
                                           grant is withdrawn at Google too

Every signed-in user has the page. When the service has no job queue (no Redis, or none
reachable) or no key to encrypt tokens with, the page says triage is off and why.
"""
from __future__ import annotations

import datetime as dt
import secrets
import time
from collections import Counter
from urllib.parse import urlencode

import requests
from flask import (Blueprint, current_app, flash, get_flashed_messages, redirect, render_template,
                   request, session, url_for)
from sqlalchemy import func, select

from ..db import session as db_session
from ..db import utcnow
from ..errors import APIError
from ..web import pages
from ..web.session import check_csrf, csrf_token, require_user
from . import crypto, engine
from .models import ACTIVE, GONE, LABELLED, LABELS, SKIPPED, Mailbox, TriagedMessage
from .queue import QueueUnavailable, get_queue
from .rules import REASONS

bp = Blueprint("triage", __name__, template_folder="templates")
bp.register_error_handler(APIError, pages._page_error)
bp.after_request(pages._headers)

FLOW_KEY = "triage_flow"
FLOW_MAX_AGE_SECONDS = 15 * 60
GOOGLE_SCOPES = "openid email https://www.googleapis.com/auth/gmail.modify"


@bp.context_processor
def _globals():
    return {"csrf_token": csrf_token, "ROLE_NAMES": pages.ROLE_NAMES, "when": pages._when,
            "LABELS": LABELS, "REASONS": REASONS}


# --- is triage on? -------------------------------------------------------------------------

def availability() -> tuple[bool, str | None, int]:
    """(on, why not, workers): triage needs an encryption key and a reachable job queue."""
    cfg = current_app.config
    if not crypto.key_ok(cfg):
        return False, ("Inbox triage is off on this service: it needs PITCHLINT_TRIAGE_KEY (a key "
                       "to store mailbox permissions encrypted)."), 0
    try:
        queue = get_queue(current_app)
    except QueueUnavailable:
        return False, ("Inbox triage is off on this service: it needs a job queue "
                       "(PITCHLINT_REDIS_URL) and `pitchlint worker` running."), 0
    if not queue.ping():
        return False, "Inbox triage is off right now: the job queue (Redis) can't be reached.", 0
    return True, None, queue.workers()


def _providers() -> dict:
    cfg = current_app.config
    return {"google": bool(cfg.get("GOOGLE_CLIENT_ID") and cfg.get("GOOGLE_CLIENT_SECRET")),
            "microsoft": bool(cfg.get("MS_CLIENT_ID") and cfg.get("MS_CLIENT_SECRET"))}


def week_start(now: dt.datetime | None = None) -> dt.datetime:
    now = now or utcnow()
    return (now - dt.timedelta(days=now.weekday())).replace(hour=0, minute=0, second=0, microsecond=0)


def summary(s, mb: Mailbox, since: dt.datetime) -> dict:
    """This week's labels and skips, and what is waiting, for one mailbox."""
    labels, reasons = Counter(), Counter()
    for state, keys, reason in s.execute(
            select(TriagedMessage.state, TriagedMessage.labels, TriagedMessage.reason)
            .where(TriagedMessage.mailbox_id == mb.id, TriagedMessage.done_at >= since)):
        if state == LABELLED:
            labels.update(k for k in (keys or "").split(",") if k)
            labels["_messages"] += 1
        elif state in (SKIPPED, GONE):
            reasons[reason or "not_flagged"] += 1
    waiting = s.scalar(select(func.count()).select_from(TriagedMessage).where(
        TriagedMessage.mailbox_id == mb.id, TriagedMessage.done_at.is_(None))) or 0
    return {"labels": labels, "reasons": reasons, "skipped": sum(reasons.values()), "waiting": waiting}


def _own(s, user, mailbox_id: int) -> Mailbox:
    mb = s.get(Mailbox, mailbox_id)
    if mb is None or mb.user_id != user.id:
        raise APIError(404, "no_mailbox", f"no mailbox {mailbox_id} is connected to your account")
    return mb


# --- the page ------------------------------------------------------------------------------

@bp.get("/triage")
def page():
    user = require_user()
    s = db_session()
    on, why_off, workers = availability()
    mailboxes = list(s.scalars(select(Mailbox).where(Mailbox.user_id == user.id).order_by(Mailbox.id)))
    since = week_start()
    return render_template("triage/triage.html", user=user, team=None, active="triage", on=on,
                           why_off=why_off, workers=workers, providers=_providers(),
                           mailboxes=[(mb, summary(s, mb, since)) for mb in mailboxes],
                           since=since, notices=get_flashed_messages(category_filter=["info"]),
                           errors=get_flashed_messages(category_filter=["error"]))


def _back(message: str, category: str = "info"):
    flash(message, category)
    return redirect(url_for("triage.page"), 303)


@bp.post("/triage/<int:mailbox_id>/settings")
def save_settings(mailbox_id: int):
    check_csrf()
    user = require_user()
    s = db_session()
    mb = _own(s, user, mailbox_id)
    chosen = [k for k in LABELS if request.form.get(f"label_{k}") == "on"]
    raw = (request.form.get("min_confidence") or "").strip().rstrip("%")
    try:
        confidence = float(raw) / (100 if float(raw) > 1 else 1)
    except ValueError:
        return _back("The minimum confidence must be a number from 0 to 100 (per cent).", "error")
    if not 0 <= confidence <= 1:
        return _back("The minimum confidence must be from 0 to 100 per cent.", "error")
    mb.labels = ",".join(chosen)
    mb.min_confidence = round(confidence, 3)
    mb.label_own_domain = request.form.get("label_own_domain") == "on"
    s.commit()
    names = ", ".join(LABELS[k] for k in chosen) or "no labels (triage records but labels nothing)"
    return _back(f"Saved for {mb.address}: {names}; at least {mb.min_confidence:.0%} confident; "
                 f"mail from your own domain {'is' if mb.label_own_domain else 'is not'} labelled.")


@bp.post("/triage/<int:mailbox_id>/run")
def run_now(mailbox_id: int):
    check_csrf()
    user = require_user()
    mb = _own(db_session(), user, mailbox_id)
    on, why_off, _ = availability()
    if not on:
        return _back(why_off, "error")
    if mb.status != ACTIVE:
        return _back(f"{mb.address} needs connecting again before it can run.", "error")
    get_queue(current_app).enqueue_sync(mb.id)
    return _back(f"{mb.address}: checking for new mail now.")


@bp.post("/triage/<int:mailbox_id>/disconnect")
def disconnect(mailbox_id: int):
    check_csrf()
    user = require_user()
    s = db_session()
    mb = _own(s, user, mailbox_id)
    address, provider, stored = mb.address, mb.provider, mb.refresh_token
    s.delete(mb)  # the encrypted token with it; its queued jobs find no mailbox and stop
    s.commit()
    engine.forget_client(mailbox_id)
    done = f"Disconnected {address}: Pitchlint's access to it is deleted here"
    if provider == "gmail":
        # Withdrawn at Google too, after the token is gone from here (so that a failure there
        # leaves nothing behind here).
        from .gmail import revoke

        try:
            revoked = revoke(current_app.config, crypto.decrypt(current_app.config, stored))
        except crypto.TokenKeyError:
            revoked = False
        done += (" and withdrawn at Google." if revoked else
                 ", but Google could not be told: remove Pitchlint at "
                 "https://myaccount.google.com/permissions to withdraw it there too.")
    else:  # Microsoft has no endpoint for an app to withdraw one grant of its own
        done += (". To withdraw it at Microsoft too, remove Pitchlint at https://myapps.microsoft.com "
                 "(work or school) or https://account.live.com/consent/Manage (personal).")
    return _back(done + " Labels already applied stay in the mailbox.")


# --- connecting ----------------------------------------------------------------------------

def _redirect_uri(endpoint: str) -> str:
    public = (current_app.config.get("PUBLIC_URL") or "").rstrip("/")
    return public + url_for(endpoint) if public else url_for(endpoint, _external=True)


def _store_flow(provider: str, flow: dict) -> None:
    session[FLOW_KEY] = {"p": provider, "flow": flow, "t": int(time.time())}


def _take_flow(provider: str) -> dict | None:
    pending = session.pop(FLOW_KEY, None)
    if not isinstance(pending, dict) or pending.get("p") != provider:
        return None
    if not isinstance(pending.get("t"), int) or abs(time.time() - pending["t"]) > FLOW_MAX_AGE_SECONDS:
        return None
    return pending.get("flow") if isinstance(pending.get("flow"), dict) else None


def _ready_to_connect(provider: str) -> None:
    if not _providers()[provider]:
        name = "Google" if provider == "google" else "Microsoft"
        raise APIError(404, "signin_not_configured", f"connecting a mailbox with {name} is not set "
                       "up on this service")
    on, why_off, _ = availability()
    if not on:
        raise APIError(409, "triage_off", why_off)


def _save_mailbox(user, provider: str, address: str, refresh_token: str) -> Mailbox:
    cfg = current_app.config
    s = db_session()
    mb = s.scalars(select(Mailbox).where(Mailbox.user_id == user.id, Mailbox.provider == provider,
                                         Mailbox.address == address)).first()
    if mb is None:
        mb = Mailbox(user_id=user.id, provider=provider, address=address,
                     backfill_days=cfg["TRIAGE_BACKFILL_DAYS"])
        s.add(mb)
    mb.refresh_token = crypto.encrypt(cfg, refresh_token)
    mb.status, mb.error, mb.error_at, mb.backoff_until = ACTIVE, None, None, None
    s.commit()
    engine.forget_client(mb.id)
    get_queue(current_app).enqueue_sync(mb.id)
    return mb


@bp.get("/triage/connect/google")
def connect_google():
    require_user()
    _ready_to_connect("google")
    import base64
    import hashlib

    cfg = current_app.config
    flow = {"state": secrets.token_urlsafe(24), "cv": secrets.token_urlsafe(64),
            "ru": _redirect_uri("triage.google_callback")}
    challenge = base64.urlsafe_b64encode(hashlib.sha256(flow["cv"].encode()).digest()).rstrip(b"=").decode()
    _store_flow("google", flow)
    return redirect(cfg["GOOGLE_AUTH_URI"] + "?" + urlencode({
        "response_type": "code", "client_id": cfg["GOOGLE_CLIENT_ID"], "redirect_uri": flow["ru"],
        "scope": GOOGLE_SCOPES, "state": flow["state"], "access_type": "offline",
        "prompt": "consent", "include_granted_scopes": "true",
        "code_challenge": challenge, "code_challenge_method": "S256"}))


@bp.get("/triage/callback/google")
def google_callback():
    user = require_user()
    flow = _take_flow("google")
    if flow is None or not secrets.compare_digest(str(request.args.get("state") or ""), flow["state"]):
        return _back("That Google connection was not started here or took too long; try again.", "error")
    if request.args.get("error"):
        return _back("Google did not give Pitchlint access to the mailbox "
                     f"({request.args['error'][:80]}).", "error")
    cfg = current_app.config
    from .graph import http_session

    try:
        with http_session(cfg) as http:
            resp = http.post(cfg["GOOGLE_TOKEN_URI"], timeout=15, data={
                "grant_type": "authorization_code", "code": request.args.get("code", ""),
                "client_id": cfg["GOOGLE_CLIENT_ID"], "client_secret": cfg["GOOGLE_CLIENT_SECRET"],
                "redirect_uri": flow["ru"], "code_verifier": flow["cv"]})
        body = resp.json() if resp.content else {}
    except (requests.RequestException, ValueError):
        return _back("Google could not be reached; try again shortly.", "error")
    if resp.status_code != 200 or not isinstance(body, dict):
        return _back(f"Google refused the connection ({str(body.get('error') if isinstance(body, dict) else resp.status_code)[:80]}).", "error")
    granted = set(str(body.get("scope") or "").split())
    if "https://www.googleapis.com/auth/gmail.modify" not in granted:
        return _back("Google did not grant the permission to label mail (gmail.modify); connect "
                     "again and allow it.", "error")
    if not body.get("refresh_token"):
        return _back("Google gave no lasting permission (no refresh token); connect again.", "error")
    from .errors import ProviderError
    from .gmail import GmailClient

    try:
        client = GmailClient(cfg, body["refresh_token"], access_token=body.get("access_token"))
        address = client.address()
    except ProviderError as e:
        return _back(f"Gmail could not be read: {e.message}", "error")
    mb = _save_mailbox(user, "gmail", address, body["refresh_token"])
    return _back(f"Connected {mb.address}. Pitchlint reads the last {mb.backfill_days} days of "
                 "its inbox now, then new mail as it arrives.")


@bp.get("/triage/connect/microsoft")
def connect_microsoft():
    require_user()
    _ready_to_connect("microsoft")
    from .graph import SCOPES, http_session, msal_app

    cca = msal_app(current_app.config, http_session(current_app.config))
    flow = cca.initiate_auth_code_flow(SCOPES, redirect_uri=_redirect_uri("triage.microsoft_callback"),
                                       prompt="select_account")
    _store_flow("microsoft", flow)
    return redirect(flow["auth_uri"])


@bp.get("/triage/callback/microsoft")
def microsoft_callback():
    user = require_user()
    flow = _take_flow("microsoft")
    if flow is None:
        return _back("That Microsoft connection was not started here or took too long; try again.", "error")
    cfg = current_app.config
    from .errors import ProviderError
    from .graph import GraphClient, http_session, msal_app

    try:
        cca = msal_app(cfg, http_session(cfg))
        result = cca.acquire_token_by_auth_code_flow(flow, request.args.to_dict())
    except (ValueError, RuntimeError):
        return _back("Microsoft's answer could not be used; connect again.", "error")
    except requests.RequestException:
        return _back("Microsoft could not be reached; try again shortly.", "error")
    if "error" in result:
        return _back(f"Microsoft did not give Pitchlint access ({str(result['error'])[:80]}).", "error")
    if not result.get("refresh_token"):
        return _back("Microsoft gave no lasting permission (no refresh token); connect again.", "error")
    granted = {s.lower() for s in str(result.get("scope") or "").split()}
    if not any(s.endswith("mail.readwrite") for s in granted):
        return _back("Microsoft did not grant the permission to categorise mail (Mail.ReadWrite); "
                     "connect again and allow it.", "error")
    try:
        client = GraphClient(cfg, result["refresh_token"])
        client.token, client.token_expires = result["access_token"], time.time() + 300
        address = client.address()
    except ProviderError as e:
        return _back(f"Outlook could not be read: {e.message}", "error")
    mb = _save_mailbox(user, "outlook", address, client.refresh_token)
    return _back(f"Connected {mb.address}. Pitchlint reads the last {mb.backfill_days} days of "
                 "its inbox now, then new mail as it arrives.")
