"""Per-key rate limits over a sliding 60-second window, in memory or in Redis (shared by workers).

A sliding window counts exactly the accepted requests of the last 60 seconds, so a burst that
straddles a minute boundary cannot get twice the limit through (a fixed window lets it), and
Retry-After says when the oldest counted request leaves the window. Refused requests are not
counted: a client that waits as told gets in.

Why not Flask-Limiter (or the `limits` package under it), which has a moving window on Redis
and an in-memory fallback: the limit here is checked inside the API's own hook, after the key is
authenticated (the identity is the key), for the contract's error shape and a Retry-After from
the window; the sign-in throttle reuses the same class with other identities; and every rule is
tested with the clock given (tests/test_limits.py), which limits' storages (wall clock, a
background expiry thread) do not allow. The whole algorithm is the 10-line Lua script below and
its in-memory twin.
"""
from __future__ import annotations

import logging
import math
import threading
import time
import uuid
from collections import deque

from .errors import APIError

PERIOD = 60.0


class MemoryLog:
    """Timestamps of accepted requests per identity, for one process."""

    def __init__(self):
        self._lock = threading.Lock()
        self._log: dict[str, deque[float]] = {}

    def hit(self, identity: str, now: float, limit: int) -> tuple[bool, float]:
        """Count a request at `now` if fewer than `limit` were accepted in the window.
        Returns (accepted, the oldest accepted time still in the window)."""
        with self._lock:
            if len(self._log) > 100_000:  # bounded memory: forget identities that went quiet
                self._log = {k: v for k, v in self._log.items() if v and v[-1] > now - PERIOD}
            times = self._log.setdefault(identity, deque())
            while times and times[0] <= now - PERIOD:
                times.popleft()
            if len(times) >= limit:
                return False, times[0]
            times.append(now)
            return True, times[0]


# Atomic in Redis: drop what left the window, refuse at the limit, otherwise record this request.
_REDIS_HIT = """
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', ARGV[1] - ARGV[2])
local n = redis.call('ZCARD', KEYS[1])
local accepted = 0
if n < tonumber(ARGV[3]) then
  redis.call('ZADD', KEYS[1], ARGV[1], ARGV[4])
  accepted = 1
end
redis.call('EXPIRE', KEYS[1], math.ceil(tonumber(ARGV[2])) + 1)
local oldest = redis.call('ZRANGE', KEYS[1], 0, 0, 'WITHSCORES')
return {accepted, oldest[2] or ARGV[1]}
"""


class RedisLog:
    def __init__(self, url: str):
        import redis

        self.client = redis.Redis.from_url(url, socket_timeout=0.5, socket_connect_timeout=0.5)
        self._script = self.client.register_script(_REDIS_HIT)

    def hit(self, identity: str, now: float, limit: int) -> tuple[bool, float]:
        accepted, oldest = self._script(keys=[f"pitchlint:rate:{identity}"],
                                        args=[repr(now), repr(PERIOD), limit,
                                              f"{now!r}:{uuid.uuid4().hex[:12]}"])
        return bool(int(accepted)), float(oldest)


# After Redis fails, count in the process for this long before trying Redis again, so that an
# unreachable Redis costs one timeout every few seconds rather than one per request.
REDIS_RETRY_SECONDS = 2.0


class RateLimiter:
    """Counts in Redis when it is configured (shared by workers); while Redis cannot be reached,
    each process counts for itself (limits still hold per worker), and says so in the log."""

    def __init__(self, per_minute: int, redis_url: str | None = None):
        self.per_minute = per_minute
        self.log = RedisLog(redis_url) if redis_url else MemoryLog()
        self.fallback = MemoryLog() if redis_url else None
        self._warned_at = 0.0
        self._failed_at = -1e9

    def state(self) -> str:
        """For /readyz: where requests are counted now."""
        if self.fallback is None:
            return "off" if self.per_minute <= 0 else "in memory (no Redis configured)"
        import redis

        try:
            self.log.client.ping()
        except redis.RedisError as e:
            self._failed_at = time.monotonic()
            return f"per worker: Redis unreachable ({type(e).__name__})"
        return "redis"

    def _hit(self, identity: str, now: float) -> tuple[bool, float]:
        if self.fallback is None:
            return self.log.hit(identity, now, self.per_minute)
        import redis

        if time.monotonic() - self._failed_at >= REDIS_RETRY_SECONDS:
            try:
                return self.log.hit(identity, now, self.per_minute)
            except redis.RedisError as e:
                self._failed_at = time.monotonic()
                if time.monotonic() - self._warned_at > 60:  # at most one warning a minute
                    self._warned_at = time.monotonic()
                    logging.getLogger("pitchlint").warning(
                        "rate limits: Redis unreachable (%s); counting in this process until it is back",
                        type(e).__name__)
        return self.fallback.hit(identity, now, self.per_minute)

    def check(self, identity: str, now: float | None = None) -> None:
        if self.per_minute <= 0:
            return
        now = time.time() if now is None else now
        accepted, oldest = self._hit(identity, now)
        if not accepted:
            from . import metrics

            metrics.rate_limited()
            retry = max(1, math.ceil(oldest + PERIOD - now))
            raise APIError(429, "rate_limited",
                           f"more than {self.per_minute} requests a minute; retry in {retry} s",
                           {"Retry-After": str(retry)})


def init_app(app) -> None:
    app.extensions["pitchlint_limiter"] = RateLimiter(app.config["RATE_LIMIT_PER_MINUTE"],
                                                      app.config.get("REDIS_URL"))
