"""A small thread-safe cache whose entries expire after a fixed time, with a bounded size."""
from __future__ import annotations

import threading
import time


class TTLCache:
    def __init__(self, seconds: float, max_entries: int = 10_000, clock=time.monotonic):
        self.seconds = seconds
        self.max_entries = max_entries
        self._clock = clock
        self._lock = threading.Lock()
        self._entries: dict = {}

    def get(self, key):
        """The value kept for `key`, or None when there is none or it has expired."""
        with self._lock:
            hit = self._entries.get(key)
        return hit[1] if hit and self._clock() - hit[0] < self.seconds else None

    def put(self, key, value) -> None:
        now = self._clock()
        with self._lock:
            if key not in self._entries and len(self._entries) >= self.max_entries:
                self._entries = {k: v for k, v in self._entries.items() if now - v[0] < self.seconds}
                if len(self._entries) >= self.max_entries:
                    self._entries.clear()
            self._entries[key] = (now, value)
