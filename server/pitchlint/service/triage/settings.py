"""Inbox triage's settings, each from a PITCHLINT_* environment variable (documented in
.env.example). A test config given to create_app wins: only missing keys are filled in."""
from __future__ import annotations

import os


def _int(name: str, default: int) -> int:
    raw = os.environ.get(name)
    if raw in (None, ""):
        return default
    try:
        return int(raw)
    except ValueError:
        raise SystemExit(f"{name} must be a whole number, got {raw!r}") from None


def from_environment() -> dict:
    env = os.environ.get
    return {
        # Fernet key(s), comma-separated (the first encrypts; all decrypt, for rotation).
        # Without one, triage is off: refresh tokens are never stored unencrypted.
        "TRIAGE_KEY": env("PITCHLINT_TRIAGE_KEY") or None,
        # How often each connected mailbox is polled for new mail (push, when set up, is faster).
        "TRIAGE_POLL_SECONDS": _int("PITCHLINT_TRIAGE_POLL_SECONDS", 120),
        # A message is taken back from a job that has not finished it after this long (a
        # worker that died mid-job) and queued again.
        "TRIAGE_LEASE_SECONDS": _int("PITCHLINT_TRIAGE_LEASE_SECONDS", 120),
        # The sweep leaves a queued message this long before asking Redis whether its job exists.
        "TRIAGE_SWEEP_GRACE_SECONDS": _int("PITCHLINT_TRIAGE_SWEEP_GRACE_SECONDS", 30),
        "TRIAGE_BACKFILL_DAYS": _int("PITCHLINT_TRIAGE_BACKFILL_DAYS", 7),
        "TRIAGE_BATCH": _int("PITCHLINT_TRIAGE_BATCH", 32),      # messages per job
        "TRIAGE_QUEUE": env("PITCHLINT_TRIAGE_QUEUE") or "pitchlint-triage",
        # Where the client libraries find Google and Microsoft (a local fake in tests).
        "GMAIL_API_URL": env("PITCHLINT_GMAIL_API_URL") or "https://gmail.googleapis.com/",
        "GRAPH_URL": (env("PITCHLINT_GRAPH_URL") or "https://graph.microsoft.com/v1.0").rstrip("/"),
        # Google's endpoint that withdraws a grant (a mailbox disconnected on the Triage page).
        "GOOGLE_REVOKE_URI": env("PITCHLINT_GOOGLE_REVOKE_URI") or "https://oauth2.googleapis.com/revoke",
        # An extra CA bundle for those endpoints (a proxy's, or the local fake's).
        "TRIAGE_CA_BUNDLE": env("PITCHLINT_TRIAGE_CA_BUNDLE") or None,
        # Gmail push: the Pub/Sub topic users.watch publishes to, and the service account whose
        # OIDC token signs the push requests to /triage/push/gmail.
        "TRIAGE_GMAIL_TOPIC": env("PITCHLINT_TRIAGE_GMAIL_TOPIC") or None,
        "TRIAGE_PUSH_SERVICE_ACCOUNT": env("PITCHLINT_TRIAGE_PUSH_SERVICE_ACCOUNT") or None,
        # Outlook push: Graph change notifications to PUBLIC_URL/triage/push/graph.
        "TRIAGE_GRAPH_NOTIFICATIONS": (env("PITCHLINT_TRIAGE_GRAPH_NOTIFICATIONS") or "").lower()
        in ("1", "true", "yes", "on"),
    }


def init_app(app) -> None:
    for key, value in from_environment().items():
        app.config.setdefault(key, value)
