"""Faults survived by the real service under steady load (see conftest.py for the set-up).

Each test drives 4 clients sending analyze requests back to back, does one fault, and checks
every answer (load.py); it prints what every client saw, counted by status code. The tests run
in this order on one service; the last one stops it with SIGTERM.
"""
from __future__ import annotations

import json
import os
import re
import signal
import socket
import threading
import time
from urllib.parse import quote

import pytest

from .load import Load, get_json, request, summary

pytestmark = pytest.mark.faults

PG_OUTAGE_SECONDS = 20
REDIS_OUTAGE_SECONDS = 6
CLEAN_CONNECTION_ERRORS = {"ConnectionResetError", "RemoteDisconnected", "ConnectionRefusedError",
                           "BrokenPipeError", "ConnectionAbortedError"}


def report(name: str, what: str, outcomes, **more) -> None:
    print(f"\n[fault] {name}: {what}\n[fault]   every client saw: {json.dumps(summary(outcomes))}"
          + "".join(f"\n[fault]   {k}: {v}" for k, v in more.items()))


def answered_ok(outcomes) -> bool:
    return all(o.status == 200 and o.error is None for o in outcomes)


def wait_for(predicate, timeout: float, step: float = 0.2):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(step)
    return predicate()


def test_postgres_unreachable_then_back(stack):
    svc, pg = stack["service"], stack["pg"]
    load = Load(svc.port, 4, stack["headers"]).start()
    time.sleep(2)  # both workers have checked the key and kept analyses
    cut_at = time.monotonic()
    pg.cut()
    time.sleep(2)
    status, ready = get_json(svc.port, "/readyz")
    time.sleep(PG_OUTAGE_SECONDS - 2)
    back_at = time.monotonic()
    pg.restore()
    kept_again = wait_for(lambda: [o for o in load.since(back_at) if (o.history or {}).get("kept")], 20)
    time.sleep(0.5)
    outcomes = load.stop()
    after_status, after = get_json(svc.port, "/readyz")
    during = [o for o in outcomes if cut_at + 0.5 <= o.started and o.finished < back_at]
    histories = {json.dumps(o.history, sort_keys=True) for o in during}
    report("PostgreSQL unreachable", f"the proxy refused and reset every connection for "
           f"{PG_OUTAGE_SECONDS} s, then let them through again", outcomes,
           during_the_outage=f"{len(during)} answers, history {sorted(histories)}",
           readyz_during=json.dumps(ready),
           history_kept_again_after=f"{kept_again[0].finished - back_at:.1f} s" if kept_again else "never")
    assert answered_ok(outcomes), summary(outcomes)
    assert during and histories == {json.dumps({"error": "storage_failed", "kept": False}, sort_keys=True)}
    assert status == 200 and ready["status"] == "degraded", ready
    assert ready["checks"]["database"].startswith("unreachable") and ready["reasons"]
    assert kept_again, "history was not kept again after the database came back"
    assert after_status == 200 and after["status"] == "ready", after


def _rate_entries(client) -> int:
    return sum(client.zcard(k) for k in client.scan_iter("pitchlint:rate:*"))


def test_redis_stopped_and_restarted(stack):
    import redis

    from .conftest import REDIS_DB, REDIS_PORT

    svc, rd = stack["service"], stack["redis"]
    direct = redis.Redis(port=REDIS_PORT, db=REDIS_DB)
    load = Load(svc.port, 4, stack["headers"]).start()
    time.sleep(2)
    counted_before = _rate_entries(direct)
    rd.cut()
    time.sleep(1.5)
    status, ready = get_json(svc.port, "/readyz")
    time.sleep(REDIS_OUTAGE_SECONDS - 1.5)
    direct.flushdb()  # a restarted Redis without persistence comes back empty
    rd.restore()
    back_at = time.time()
    counting_again = wait_for(lambda: any(
        float(score) > back_at for k in direct.scan_iter("pitchlint:rate:*")
        for _, score in direct.zrange(k, -1, -1, withscores=True)), 15)
    outcomes = load.stop()
    after_status, after = get_json(svc.port, "/readyz")
    report("Redis stopped and restarted", f"the proxy refused and reset Redis's connections for "
           f"{REDIS_OUTAGE_SECONDS} s; Redis came back empty", outcomes,
           readyz_during=json.dumps(ready), counted_in_redis_again=bool(counting_again))
    assert counted_before > 0
    assert answered_ok(outcomes), summary(outcomes)
    assert status == 200 and ready["status"] == "degraded"
    assert ready["checks"]["rate_limits"].startswith("per worker"), ready
    assert counting_again, "rate limits did not count in Redis again"
    assert after["checks"]["rate_limits"] == "redis" and after["status"] == "ready", after


def _slow_client(port: int, headers: dict, body: bytes, seconds: float, done: dict, i: int):
    sock = socket.create_connection(("127.0.0.1", port))
    head = ("POST /v1/analyze HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
            f"Authorization: {headers['Authorization']}\r\nContent-Length: {len(body)}\r\n\r\n")
    sock.sendall(head.encode())
    sent, deadline = 0, time.monotonic() + seconds
    while time.monotonic() < deadline and sent < len(body) - 1:
        sock.sendall(body[sent:sent + 1])  # a byte a second, never the last one in time
        sent += 1
        time.sleep(1)
    done[i] = time.monotonic()
    sock.close()


def test_slow_clients_do_not_hold_up_others(stack):
    svc = stack["service"]
    body = json.dumps({"text": "Hi Dana, a quick note about the renewal."}).encode()
    done: dict = {}
    slow = [threading.Thread(target=_slow_client, args=(svc.port, stack["headers"], body, 7, done, i))
            for i in range(4)]
    started = time.monotonic()
    for t in slow:
        t.start()
    time.sleep(1)
    normal = []
    while time.monotonic() - started < 5.5:
        normal.append(request(svc.port, "POST", "/v1/analyze", {"text": "Hi Sam, would Tuesday suit?"},
                              stack["headers"]))
    for t in slow:
        t.join(15)
    first_slow_done = min(done.values())
    latencies = sorted(o.finished - o.started for o in normal)
    report("Slow clients", "4 clients sent their body a byte a second for 7 s while another "
           "sent requests one after another", normal,
           normal_requests=len(normal),
           latency_s=f"median {latencies[len(latencies) // 2]:.3f}, max {latencies[-1]:.3f}")
    assert normal and answered_ok(normal), summary(normal)
    # Every normal request was answered while all four slow clients were still sending.
    assert all(o.finished < first_slow_done for o in normal)


def test_worker_killed_mid_request(stack):
    svc = stack["service"]
    load = Load(svc.port, 4, stack["headers"]).start()
    time.sleep(2)
    before = svc.workers()
    victim = before[0]
    killed_at = time.monotonic()
    os.kill(victim, signal.SIGKILL)
    replaced = wait_for(lambda: (lambda w: len(w) == len(before) and victim not in w and w)(svc.workers()), 20)
    new = sorted(set(replaced or []) - set(before))
    time.sleep(5)  # the new worker loads the model and takes its share
    outcomes = load.stop()
    no_answer = [o for o in outcomes if o.status is None]
    report("Worker SIGKILLed mid-request", f"SIGKILL to worker {victim} under load; gunicorn "
           f"started {new}", outcomes,
           requests_after_the_kill=len([o for o in outcomes if o.started > killed_at]),
           no_answer_clients=sorted(o.client for o in no_answer))
    assert replaced and new, "gunicorn did not replace the killed worker"
    assert all(o.error in CLEAN_CONNECTION_ERRORS for o in no_answer), summary(outcomes)
    assert all(o.status == 200 and o.error is None for o in outcomes if o.status is not None), summary(outcomes)
    # Only the requests the killed worker held: each was sent before the kill, and no client
    # lost more than that one request. A gevent worker accepts while it waits, so it may hold
    # one request from several clients (2 or 3 of the 4 in CI runs); connections still in the
    # kernel's queue go to the other worker.
    assert all(o.started <= killed_at + 0.05 for o in no_answer), summary(outcomes)
    per_client = [o.client for o in no_answer]
    assert len(per_client) == len(set(per_client)), summary(outcomes)


MARKERS = {
    "text": "Quillfeather Overtonwick",
    "subject": "Zanzibar renewal Pelargonium",
    "address": "zed.quillfeather@leaky.example",
    "history_key": "hk-Marrowbone-77",
}


def test_no_email_text_subject_address_or_key_in_the_logs(stack):
    """At DEBUG, through answers, refusals and the outages above: the log has none of them."""
    svc, headers = stack["service"], stack["headers"]
    text = (f"Hi {MARKERS['text']},\n\nSorry to chase again, write to {MARKERS['address']}. "
            "Reply by Friday or lose the discount.\n\nTom")
    sent = [
        request(svc.port, "POST", "/v1/analyze", {"text": text, "subject": MARKERS["subject"],
                                                    "history_key": MARKERS["history_key"]}, headers),
        request(svc.port, "POST", "/v1/analyze/batch", {"emails": [{"text": text}, {"text": 5}]}, headers),
        request(svc.port, "POST", "/v1/analyze", {"text": text, "mode": MARKERS["subject"]}, headers),
        request(svc.port, "POST", "/v1/analyze", None, headers, raw_body=("{" + text).encode()),
        request(svc.port, "POST", "/v1/analyze", {"text": text * 2000}, headers),
        request(svc.port, "POST", "/v1/analyze", {"text": text},
                {"Authorization": f"Bearer pl_{MARKERS['history_key']}"}),
        request(svc.port, "GET", f"/v1/teams/1/samples?model_version={quote(MARKERS['subject'])}",
                None, headers),
    ]
    assert [o.status for o in sent] == [200, 200, 400, 400, 413, 401, 200], [o.status for o in sent]
    log = svc.log()
    lines = [l for l in log.splitlines() if l.startswith("{")]
    assert any('"route": "/v1/analyze"' in l and '"request_id"' in l for l in lines)
    secrets = [*MARKERS.values(), stack["key"], stack["key"][3:], "rep@faultline.example",
               "Did my last three emails", "churn in the Nordics", "bootcamp graduates"]
    found = {s: log.count(s) for s in secrets if s in log}
    print(f"\n[fault] log check: {len(lines)} JSON lines at DEBUG, {len(log):,} characters; "
          f"email words, subjects, addresses and keys found: {found or 'none'}")
    assert not found
    assert "Traceback" not in log
    not_json = [l for l in log.splitlines() if l.strip() and not l.startswith("{")
                and not l.startswith("pitchlint: serving on")]
    assert not not_json, not_json[:5]


def test_sigterm_under_load_finishes_in_flight_requests(stack):
    svc = stack["service"]
    long_email = " ".join(["Hi Dana, sorry to chase again about the renewal we discussed."] * 40)
    load = Load(svc.port, 4, stack["headers"], texts=[long_email]).start()
    time.sleep(2)
    term_at = time.monotonic()
    svc.proc.send_signal(signal.SIGTERM)
    code = svc.proc.wait(40)
    exited_at = time.monotonic()
    time.sleep(0.5)
    outcomes = load.stop()
    in_flight = [o for o in outcomes if o.started < term_at < o.finished]
    later = [o for o in outcomes if o.started > term_at]
    report("SIGTERM to the master under load", "SIGTERM while 4 clients sent long emails",
           outcomes, in_flight_at_sigterm=summary(in_flight), started_after_sigterm=summary(later),
           master_exit=f"code {code} after {exited_at - term_at:.1f} s")
    assert code == 0
    assert in_flight and answered_ok(in_flight), summary(in_flight)
    assert all((o.status == 200 and o.error is None) or o.error in CLEAN_CONNECTION_ERRORS
               for o in outcomes), summary(outcomes)
    assert any(o.error == "ConnectionRefusedError" for o in later)
    assert not re.search(r"Traceback", svc.log())
