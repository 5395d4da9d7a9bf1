"""The expiring cache behind Google's certificates and the Gmail mailbox lookup: cachetools'
TTLCache (bounded; the least recently used entry goes first when full), behind a lock, since
cachetools' caches are not thread-safe."""
from __future__ import annotations

import threading
import time

import cachetools


class TTLCache:
    def __init__(self, seconds: float, max_entries: int = 10_000, clock=time.monotonic):
        self.seconds = seconds
        self.max_entries = max_entries
        self._lock = threading.Lock()
        self._cache = cachetools.TTLCache(maxsize=max_entries, ttl=seconds, timer=clock)

    def get(self, key):
        """The value kept for `key`, or None when there is none or it has expired."""
        with self._lock:
            return self._cache.get(key)

    def put(self, key, value) -> None:
        with self._lock:
            self._cache[key] = value

    def __len__(self) -> int:
        with self._lock:
            self._cache.expire()
            return len(self._cache)
