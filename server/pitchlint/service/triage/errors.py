"""What can go wrong talking to a mailbox, in the terms the jobs act on."""
from __future__ import annotations


class ProviderError(Exception):
    """A failure worth showing on the Triage page (`message` is in plain words)."""

    def __init__(self, message: str):
        super().__init__(message)
        self.message = message


class Throttled(ProviderError):
    """429, 5xx or no answer, still so after the retries a job makes itself: the mailbox's
    work waits `retry_after` seconds (the provider's Retry-After when it sent one)."""

    def __init__(self, message: str, retry_after: float):
        super().__init__(message)
        self.retry_after = retry_after


class GrantRevoked(ProviderError):
    """The refresh token was refused (revoked, expired, password changed, consent withdrawn):
    nothing more can be done for this mailbox until its owner connects it again."""


class CursorExpired(ProviderError):
    """Gmail's historyId or Graph's delta link is too old: sync again from a date."""


class MessageGone(ProviderError):
    """The message was deleted (or moved out of reach) before its job ran."""
