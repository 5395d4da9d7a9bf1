"""The add-ins' settings, each read from a PITCHLINT_* environment variable.

A test config passed to create_app wins: values are only filled in where the key is missing.
"""
from __future__ import annotations

import os
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[4]


def _list(raw: str | None) -> list[str]:
    return [v.strip() for v in (raw or "").split(",") if v.strip()]


def _float(name: str, default: float) -> float:
    raw = os.environ.get(name)
    if raw in (None, ""):
        return default
    try:
        return float(raw)
    except ValueError:
        raise SystemExit(f"{name} must be a number, got {raw!r}") from None


def from_environment() -> dict:
    env = os.environ.get
    return {
        # The public https:// base URL of this service, as Outlook and Google reach it.
        "PUBLIC_URL": (env("PITCHLINT_PUBLIC_URL") or "").rstrip("/") or None,
        # --- Outlook add-in: Office single sign-on (Microsoft identity platform) ---
        # The add-in's app registration (application/client id) in Microsoft Entra ID.
        "MS_CLIENT_ID": env("PITCHLINT_MS_CLIENT_ID") or None,
        # A tenant id (GUID) to accept only that organisation, or "common"/"organizations".
        "MS_TENANT": env("PITCHLINT_MS_TENANT") or "organizations",
        "MS_AUTHORITY_HOST": (env("PITCHLINT_MS_AUTHORITY_HOST")
                              or "https://login.microsoftonline.com").rstrip("/"),
        # Extra accepted audiences; the client id and api://<host>/<client id> always are.
        "MS_AUDIENCES": _list(env("PITCHLINT_MS_AUDIENCE")),
        # None: discovered from the authority's OpenID metadata (through msal).
        "MS_JWKS_URL": env("PITCHLINT_MS_JWKS_URL") or None,
        "MS_REQUIRED_SCOPE": env("PITCHLINT_MS_REQUIRED_SCOPE") or "access_as_user",
        # Only for on-behalf-of calls to Microsoft Graph (inbox scanning); not for sign-in.
        "MS_CLIENT_SECRET": env("PITCHLINT_MS_CLIENT_SECRET") or None,
        # --- Gmail add-on (Google Workspace add-on, HTTP runtime) ---
        # Accepted `aud` of Google's ID token; the endpoint's own URL is accepted as well.
        "GOOGLE_AUDIENCES": _list(env("PITCHLINT_GOOGLE_AUDIENCE")),
        "GOOGLE_CERTS_URL": env("PITCHLINT_GOOGLE_CERTS_URL")
        or "https://www.googleapis.com/oauth2/v1/certs",
        "GOOGLE_ISSUERS": _list(env("PITCHLINT_GOOGLE_ISSUERS"))
        or ["https://accounts.google.com", "accounts.google.com"],
        # The add-on's service account (service-<project number>@gcp-sa-gsuiteaddons...).
        "GOOGLE_ADDON_EMAIL": env("PITCHLINT_GOOGLE_ADDON_EMAIL") or None,
        "GMAIL_TIMEOUT_SECONDS": _float("PITCHLINT_GMAIL_TIMEOUT_SECONDS", 10.0),
        # Where the Outlook add-in's web files are (the repository's addin/outlook).
        "OUTLOOK_ADDIN_DIR": env("PITCHLINT_OUTLOOK_ADDIN_DIR") or str(REPO_ROOT / "addin" / "outlook"),
    }


def init_app(app) -> None:
    for key, value in from_environment().items():
        app.config.setdefault(key, value)
