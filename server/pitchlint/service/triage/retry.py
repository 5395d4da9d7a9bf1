"""Retries for calls to Google and Microsoft: 429 and 5xx are tried again after the
provider's Retry-After (seconds or an HTTP date) or, without one, after an exponential
back-off; past a few tries, or a wait too long to spend inside a job, the call gives up with
Throttled and the mailbox's work is put off for that long instead."""
from __future__ import annotations

import email.utils
import time

from .errors import Throttled

ATTEMPTS = 4
FIRST_BACKOFF_SECONDS = 1.0
LONGEST_WAIT_IN_JOB_SECONDS = 30.0
RETRY_STATUSES = {429, 500, 502, 503, 504}


def retry_after_seconds(value: str | None) -> float | None:
    """Retry-After as seconds from now: a number of seconds or an HTTP date."""
    if not value:
        return None
    value = value.strip()
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when is None:
        return None
    return max(0.0, when.timestamp() - time.time())


class Backoff:
    """Decides, after each failed try, whether to wait and try again (and for how long) or
    to give up with Throttled. `sleep` is time.sleep unless a test records it instead."""

    def __init__(self, provider: str, sleep=time.sleep, attempts: int = ATTEMPTS):
        self.provider = provider
        self.sleep = sleep
        self.attempts = attempts
        self.tries = 0

    def wait_or_give_up(self, status: int | None, retry_after: float | None) -> None:
        self.tries += 1
        wait = retry_after if retry_after is not None else FIRST_BACKOFF_SECONDS * 2 ** (self.tries - 1)
        what = (f"{self.provider} is limiting requests" if status == 429 else
                f"{self.provider} answered with an error ({status})" if status else
                f"{self.provider} could not be reached")
        if self.tries >= self.attempts or wait > LONGEST_WAIT_IN_JOB_SECONDS:
            raise Throttled(what, max(wait, FIRST_BACKOFF_SECONDS))
        self.sleep(wait)
