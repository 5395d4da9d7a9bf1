"""Per-key rate limits: a fixed one-minute window, in memory or in Redis (shared by workers)."""
from __future__ import annotations

import threading
import time

from .errors import APIError


class MemoryCounter:
    def __init__(self):
        self._lock = threading.Lock()
        self._counts: dict[tuple[str, int], int] = {}

    def hit(self, identity: str, window: int) -> int:
        with self._lock:
            if len(self._counts) > 100_000:  # drop old windows; bounded memory
                self._counts = {k: v for k, v in self._counts.items() if k[1] >= window}
            key = (identity, window)
            self._counts[key] = self._counts.get(key, 0) + 1
            return self._counts[key]


class RedisCounter:
    def __init__(self, url: str):
        import redis

        self.client = redis.Redis.from_url(url, socket_timeout=0.5, socket_connect_timeout=0.5)

    def hit(self, identity: str, window: int) -> int:
        key = f"pitchlint:rate:{identity}:{window}"
        pipe = self.client.pipeline()
        pipe.incr(key)
        pipe.expire(key, 120)
        count, _ = pipe.execute()
        return int(count)


class RateLimiter:
    def __init__(self, per_minute: int, redis_url: str | None = None):
        self.per_minute = per_minute
        self.counter = RedisCounter(redis_url) if redis_url else MemoryCounter()

    def check(self, identity: str, now: float | None = None) -> None:
        if self.per_minute <= 0:
            return
        now = time.time() if now is None else now
        window = int(now // 60)
        count = self.counter.hit(identity, window)
        if count > self.per_minute:
            retry = max(1, int((window + 1) * 60 - now + 0.999))
            raise APIError(429, "rate_limited",
                           f"more than {self.per_minute} requests this minute; retry in {retry} s",
                           {"Retry-After": str(retry)})


def init_app(app) -> None:
    app.extensions["pitchlint_limiter"] = RateLimiter(app.config["RATE_LIMIT_PER_MINUTE"],
                                                      app.config.get("REDIS_URL"))
