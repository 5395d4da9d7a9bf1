"""Refresh tokens at rest: Fernet (AES-128-CBC + HMAC-SHA256) with a key from the settings
(PITCHLINT_TRIAGE_KEY), never from the database. Several comma-separated keys rotate: the
first encrypts, any decrypts.

    python -c "from cryptography.fernet import Fernet; print(Fernet.generate_key().decode())"
"""
from __future__ import annotations

from cryptography.fernet import Fernet, InvalidToken, MultiFernet


class TokenKeyError(Exception):
    """No usable key, or a token that none of the keys opens (the key was changed)."""


def _fernet(config: dict) -> MultiFernet:
    raw = config.get("TRIAGE_KEY")
    if not raw:
        raise TokenKeyError("inbox triage needs PITCHLINT_TRIAGE_KEY (a Fernet key) to store "
                            "mailbox tokens encrypted")
    try:
        return MultiFernet([Fernet(k.strip().encode()) for k in raw.split(",") if k.strip()])
    except (ValueError, TypeError):
        raise TokenKeyError("PITCHLINT_TRIAGE_KEY is not a Fernet key (32 url-safe base64 bytes; "
                            "make one with cryptography's Fernet.generate_key())") from None


def key_ok(config: dict) -> bool:
    try:
        _fernet(config)
        return True
    except TokenKeyError:
        return False


def encrypt(config: dict, token: str) -> str:
    return _fernet(config).encrypt(token.encode()).decode()


def decrypt(config: dict, stored: str) -> str:
    try:
        return _fernet(config).decrypt(stored.encode()).decode()
    except InvalidToken:
        raise TokenKeyError("the stored token can't be opened with PITCHLINT_TRIAGE_KEY (was the "
                            "key changed?); connect the mailbox again") from None
