"""Steady load for the fault tests: client threads that each send analyze requests one after
another, each on a fresh connection, and record what came back. Every answer is checked: a 200
must be a whole analyze answer; anything else is counted by status code, and a request that got
no answer by the kind of connection error (never a half answer: a short body is counted as
"incomplete" and fails the test)."""
from __future__ import annotations

import http.client
import json
import socket
import threading
import time
from collections import Counter
from dataclasses import dataclass, field

EMAILS = [
    "Hi Dana,\n\nSorry to chase again. Did my last three emails get through?\n\nTom",
    "Hi Sam, your team's Q3 report mentioned churn in the Nordics. We cut churn 18% for a "
    "similar retailer; would a 15-minute call next week help?",
    "We are the leading agency in the world. Reply by Friday or you lose the discount forever.",
    "Hello Priya, I noticed you are hiring two data engineers. Our bootcamp graduates start "
    "at your stack on day one. Could I send you three profiles?",
]


@dataclass
class Outcome:
    started: float
    finished: float
    status: int | None          # None: no answer (see error)
    error: str | None = None    # a connection error's kind, or "incomplete"/"bad_json"
    history: dict | None = None
    client: int = 0


@dataclass
class Load:
    port: int
    clients: int = 4
    headers: dict = field(default_factory=dict)
    timeout: float = 15.0
    texts: list = field(default_factory=lambda: list(EMAILS))

    def __post_init__(self):
        self.outcomes: list[Outcome] = []
        self._stop = threading.Event()
        self._threads: list[threading.Thread] = []
        self._lock = threading.Lock()

    def start(self) -> "Load":
        for i in range(self.clients):
            t = threading.Thread(target=self._run, args=(i,), daemon=True)
            t.start()
            self._threads.append(t)
        return self

    def stop(self) -> list[Outcome]:
        self._stop.set()
        for t in self._threads:
            t.join(self.timeout + 5)
        return self.outcomes

    def _run(self, client: int) -> None:
        n = 0
        while not self._stop.is_set():
            text = self.texts[(client + n) % len(self.texts)]
            n += 1
            outcome = request(self.port, "POST", "/v1/analyze", {"text": text},
                              self.headers, self.timeout)
            outcome.client = client
            with self._lock:
                self.outcomes.append(outcome)
            if outcome.status is None:
                time.sleep(0.05)  # a refused connection comes back at once: don't spin

    def since(self, t0: float, t1: float | None = None) -> list[Outcome]:
        with self._lock:
            return [o for o in self.outcomes if o.started >= t0 and (t1 is None or o.started < t1)]


def request(port: int, method: str, path: str, body=None, headers=None, timeout: float = 15.0,
            raw_body: bytes | None = None) -> Outcome:
    started = time.monotonic()
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
    payload = raw_body if raw_body is not None else (json.dumps(body).encode() if body is not None else None)
    hdrs = {"Content-Type": "application/json", "Connection": "close", **(headers or {})}
    try:
        conn.request(method, path, body=payload, headers=hdrs)
        resp = conn.getresponse()
        data = resp.read()
    except http.client.IncompleteRead:
        return Outcome(started, time.monotonic(), None, "incomplete")
    except (ConnectionError, http.client.RemoteDisconnected, http.client.BadStatusLine,
            socket.timeout, OSError) as e:
        return Outcome(started, time.monotonic(), None, type(e).__name__)
    finally:
        conn.close()
    finished = time.monotonic()
    try:
        answer = json.loads(data)
    except ValueError:
        return Outcome(started, finished, resp.status, "bad_json")
    if resp.status == 200 and path == "/v1/analyze":
        if not isinstance(answer, dict) or not answer.get("sentences") or "focus" not in answer:
            return Outcome(started, finished, resp.status, "not_an_answer")
        return Outcome(started, finished, 200, None, answer.get("history"))
    if resp.status >= 400 and not (isinstance(answer, dict) and "error" in answer):
        return Outcome(started, finished, resp.status, "not_the_error_shape")
    return Outcome(started, finished, resp.status)


def summary(outcomes: list[Outcome]) -> dict:
    """Counts by status code, and by error for requests that got no answer."""
    counts = Counter(str(o.status) if o.status is not None else f"no answer: {o.error}" for o in outcomes)
    bad = Counter(o.error for o in outcomes if o.status is not None and o.error)
    out = dict(sorted(counts.items()))
    if bad:
        out["malformed answers"] = dict(bad)
    return out


def get_json(port: int, path: str, headers=None, timeout: float = 10.0):
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
    try:
        conn.request("GET", path, headers=headers or {})
        resp = conn.getresponse()
        return resp.status, json.loads(resp.read())
    finally:
        conn.close()
