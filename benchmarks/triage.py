#!/usr/bin/env python3
"""Inbox triage at scale: a fake mailbox of 5,000 messages triaged by 1 and by 2 workers, then
again by 2 workers while they are SIGKILLed at random points and Redis is restarted once.

    python benchmarks/triage.py [--messages 5000] [--live 1000] [--rate 15] [--kills 4]

The mailbox (tests/fakemail.py: Gmail's API over HTTPS on loopback, in this process) holds
corpus emails from outside senders (pitches, two thirds) and real-looking mail that must not be
labelled (a third): colleagues' notes from the user's own domain, customers' replies and
vendors' replies in threads the user started, newsletters, and mail from people the user has
written to. `--messages` minus `--live` of them are in the inbox when the mailbox is connected
(the first sync's backfill: messages per second); the last `--live` arrive at `--rate` a second
while the workers poll every second (time from arrival to label, p50 and p95).

Workers are real `pitchlint worker` processes (cores / workers PyTorch threads each, as
`pitchlint worker --workers N` gives them; the sentence cache off so that repeated corpus texts
cost what new ones do), on their own Redis (started here,
without persistence, so a restart loses the queue) and PostgreSQL (database pitchlint_bench,
created if missing; SQLite when PostgreSQL can't be reached). The chaos run checks that every
message is recorded exactly once, every pitch judged once, no label applied twice, and no
non-pitch labelled. Prints figures, with the machine; asserts nothing about time.
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import random
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "server"))
sys.path.insert(0, str(ROOT))

from tests.fakemail import FakeMail  # noqa: E402

from _machine import cpu_name  # benchmarks/, the script's own folder

ME = "dana@buyer.example"
COLLEAGUE_NOTES = [
    "Can you send me the Q3 numbers before the board meeting? We need them by Thursday.",
    "I moved our 1:1 to Friday at 10. Let me know if that clashes with the vendor review.",
    "Attached is the draft of the procurement policy. Comments by end of week, please.",
    "The security review for the new CRM passed. We can start the pilot on Monday.",
    "Reminder: expense reports for October are due tomorrow. Finance is strict this month.",
    "I talked to legal about the DPA. They want two changes to the liability clause.",
    "Great job on the supplier consolidation. The CFO mentioned it in the leadership call.",
    "Could you cover the onboarding session for the new analysts on Wednesday?",
]
CUSTOMER_REPLIES = [
    "Thanks, that works for us. We'll sign the renewal once legal has reviewed the order form.",
    "We saw the invoice but the PO number is missing. Can you reissue it with PO 4471?",
    "Our team liked the demo. Can we push the kickoff to the second week of January?",
    "Quick update: the budget was approved, so we can go ahead with the 40 seats.",
]


def machine() -> str:
    cpu = cpu_name()
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    return (f"{cpu}; {os.cpu_count()} cores; load average {load:.1f} at start; Python "
            f"{platform.python_version()}")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Redis:
    def __init__(self):
        self.port = free_port()
        self.proc = None
        self.url = f"redis://127.0.0.1:{self.port}/0"

    def start(self):
        self.proc = subprocess.Popen(["redis-server", "--port", str(self.port), "--save", "",
                                      "--appendonly", "no", "--bind", "127.0.0.1"],
                                     stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        import redis

        for _ in range(100):
            try:
                redis.Redis.from_url(self.url).ping()
                return
            except redis.RedisError:
                time.sleep(0.05)
        raise SystemExit("redis-server did not start")

    def stop(self):
        if self.proc:
            self.proc.terminate()
            self.proc.wait(10)
            self.proc = None


def database_url(tmp: Path, given: str | None) -> str:
    if given:
        return given
    try:
        import psycopg

        with psycopg.connect("postgresql://postgres@127.0.0.1:5432/postgres", autocommit=True,
                             connect_timeout=3) as conn:
            if not conn.execute("SELECT 1 FROM pg_database WHERE datname='pitchlint_bench'").fetchone():
                conn.execute("CREATE DATABASE pitchlint_bench")
            conn.execute("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname='pitchlint_bench' "
                         "AND pid <> pg_backend_pid()")
        url = "postgresql+psycopg://postgres@127.0.0.1:5432/pitchlint_bench"
        from sqlalchemy import create_engine, text

        engine = create_engine(url)
        with engine.begin() as c:
            c.execute(text("DROP SCHEMA public CASCADE"))
            c.execute(text("CREATE SCHEMA public"))
        engine.dispose()
        return url
    except Exception as e:  # no PostgreSQL here
        print(f"(PostgreSQL unavailable: {type(e).__name__}; using SQLite)")
        return f"sqlite:///{tmp / 'bench.db'}"


def load_corpus() -> list[dict]:
    recs = [json.loads(line) for line in (ROOT / "models" / "data" / "corpus.jsonl").read_text().splitlines() if line.strip()]
    return [r for r in recs if r.get("text")]


def fill(box, n: int, corpus: list[dict], rng: random.Random, received_from: float | None,
         kinds: dict) -> list[str]:
    """Deliver n messages (a third not pitches); record each id's kind in `kinds`."""
    ids = []
    for i in range(n):
        received = None if received_from is None else received_from + rng.random() * 4 * 86400
        roll = rng.random()
        rec = corpus[rng.randrange(len(corpus))]
        tag = f"{rng.randrange(10**9):09d}"
        if roll < 2 / 3:
            html = rng.random() < 0.1
            text = rec["text"]
            mid = box.deliver(f"rep{tag}@vendor{tag[:4]}.example", rec.get("subject") or "Hello",
                              None if html else text,
                              html=("<html><body><p>" + text.replace("\n\n", "</p><p>").replace("\n", "<br>")
                                    + "</p></body></html>") if html else None,
                              attachment_bytes=2_000_000 if rng.random() < 0.05 else 0, received=received)
            kinds[mid] = "pitch"
        else:
            sub = rng.random()
            if sub < 0.3:
                mid = box.deliver(f"colleague{tag[:3]}@buyer.example", "Quick one",
                                  f"Hi Dana,\n\n{rng.choice(COLLEAGUE_NOTES)}\n\nThanks,\nSam", received=received)
                kinds[mid] = "colleague"
            elif sub < 0.55:
                cust = f"ops{tag}@customer{tag[:3]}.example"
                sent = box.send(cust, "Renewal")
                mid = box.deliver(cust, "Re: Renewal", f"Hi Dana,\n\n{rng.choice(CUSTOMER_REPLIES)}\n\nBest,\nLee",
                                  reply_to=sent, received=received)
                kinds[mid] = "customer_reply"
            elif sub < 0.8:
                mid = box.deliver(f"news@digest{tag[:2]}.example", "This week in sales", rec["text"],
                                  headers={"List-Id": f"<weekly.digest{tag[:2]}.example>",
                                           "List-Unsubscribe": "<mailto:unsub@digest.example>",
                                           "Precedence": "bulk"}, received=received)
                kinds[mid] = "newsletter"
            elif sub < 0.9:
                vendor = f"rep{tag}@vendor{tag[:4]}.example"
                sent = box.send(vendor, "Question about your pricing")
                mid = box.deliver(vendor, "Re: Question about your pricing", rec["text"], reply_to=sent,
                                  received=received)
                kinds[mid] = "user_thread"
            else:
                friend = f"friend{tag}@partner.example"
                box.send(friend, "Lunch?")
                mid = box.deliver(friend, "An idea", rec["text"], received=received)
                kinds[mid] = "known_sender"
        ids.append(mid)
    return ids


class Workers:
    def __init__(self, env: dict, n: int, threads: int):
        self.env, self.n, self.threads = env, n, threads
        self.procs: list[subprocess.Popen] = []
        self.peak_rss_mb = 0.0
        self.restarts = 0

    def _spawn(self):
        return subprocess.Popen([str(Path(sys.executable).parent / "pitchlint"), "worker", "--threads", str(self.threads)],
                                env=self.env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                                start_new_session=True)

    def start(self):
        self.procs = [self._spawn() for _ in range(self.n)]

    def sample(self):
        for p in self.procs:
            try:
                for line in Path(f"/proc/{p.pid}/status").read_text().splitlines():
                    if line.startswith("VmRSS:"):
                        self.peak_rss_mb = max(self.peak_rss_mb, int(line.split()[1]) / 1024)
            except OSError:
                pass

    def kill_one(self, rng):
        i = rng.randrange(len(self.procs))
        os.killpg(self.procs[i].pid, signal.SIGKILL)
        self.procs[i].wait()
        self.procs[i] = self._spawn()  # as a supervisor (systemd) would
        self.restarts += 1

    def stop(self):
        for p in self.procs:
            try:
                os.killpg(p.pid, signal.SIGTERM)
            except ProcessLookupError:
                pass
        for p in self.procs:
            try:
                p.wait(30)
            except subprocess.TimeoutExpired:
                os.killpg(p.pid, signal.SIGKILL)


def wait_ready(redis_url: str, queue: str, n: int, timeout: float = 300):
    import redis
    from rq import Queue, Worker

    conn = redis.Redis.from_url(redis_url)
    t0 = time.time()
    while time.time() - t0 < timeout:
        try:
            if Worker.count(queue=Queue(queue, connection=conn)) >= n:
                return time.time() - t0
        except redis.RedisError:
            pass
        time.sleep(0.2)
    raise SystemExit("workers did not start")


def run(args, n_workers: int, chaos: bool, corpus, tmp: Path, db_url: str) -> dict:
    from cryptography.fernet import Fernet
    from sqlalchemy import create_engine, func, select

    from pitchlint.service import create_app
    from pitchlint.service.db import get_db
    from pitchlint.service.team.admin import add_user, create_team
    from pitchlint.service.triage import crypto
    from pitchlint.service.triage.models import Mailbox, TriagedMessage

    from pitchlint.service.triage.worker import threads_per_worker

    rng = random.Random(13 + n_workers + (100 if chaos else 0))
    threads = args.threads or threads_per_worker(n_workers)
    load_at_start = os.getloadavg()[0]
    redis_server = Redis()
    redis_server.start()
    fake = FakeMail().start()
    fake.record_requests = False
    key = Fernet.generate_key().decode()
    queue = f"bench-{n_workers}-{int(time.time())}"
    env = dict(os.environ)
    cfg = fake.config()
    env.update({
        "PITCHLINT_DATABASE_URL": db_url, "PITCHLINT_REDIS_URL": redis_server.url,
        "PITCHLINT_TRIAGE_KEY": key, "PITCHLINT_TRIAGE_QUEUE": queue,
        "PITCHLINT_TRIAGE_POLL_SECONDS": "1", "PITCHLINT_TRIAGE_LEASE_SECONDS": "30",
        "PITCHLINT_TRIAGE_SWEEP_GRACE_SECONDS": "10", "PITCHLINT_TRIAGE_BATCH": str(args.batch),
        "PITCHLINT_GOOGLE_CLIENT_ID": cfg["GOOGLE_CLIENT_ID"], "PITCHLINT_GOOGLE_CLIENT_SECRET": cfg["GOOGLE_CLIENT_SECRET"],
        "PITCHLINT_GOOGLE_TOKEN_URI": cfg["GOOGLE_TOKEN_URI"], "PITCHLINT_GMAIL_API_URL": cfg["GMAIL_API_URL"],
        "PITCHLINT_TRIAGE_CA_BUNDLE": cfg["TRIAGE_CA_BUNDLE"], "PITCHLINT_CACHE_SIZE": "0",
        "PITCHLINT_TORCH_THREADS": str(threads), "OMP_NUM_THREADS": str(threads), "PITCHLINT_SECRET_KEY": "bench", "PITCHLINT_INSTANCE_PATH": str(tmp),
        "PITCHLINT_PURGE_INTERVAL_SECONDS": "0",
    })
    for k in ("PITCHLINT_DATABASE_URL", "PITCHLINT_REDIS_URL", "PITCHLINT_TRIAGE_KEY"):
        os.environ[k] = env[k]
    app = create_app({"LOAD_MODEL_AT_START": False, "PURGE_INTERVAL_SECONDS": 0, "SECRET_KEY": "bench",
                      **cfg, "TRIAGE_KEY": key, "REDIS_URL": redis_server.url, "TRIAGE_QUEUE": queue})
    address = f"dana{n_workers}{'c' if chaos else ''}@buyer.example"
    box = fake.account(address)
    kinds: dict[str, str] = {}
    n_backlog = args.messages - args.live
    fill(box, n_backlog, corpus, rng, time.time() - 5 * 86400, kinds)

    workers = Workers(env, n_workers, threads)
    workers.start()
    startup = wait_ready(redis_server.url, queue, n_workers)
    with app.app_context(), get_db().sessions() as s:
        team = create_team(s, f"Bench{queue}", "Buyers", False, 30)
        user = add_user(s, address, team, "member", "Dana", None, None)
        mb = Mailbox(user_id=user.id, provider="gmail", address=address, backfill_days=7,
                     labels="me_talk,desperate,threatening,reader_centred",
                     refresh_token=crypto.encrypt(app.config, fake.refresh_token("google", address)))
        s.add(mb)
        s.commit()
        mailbox_id = mb.id
    engine = create_engine(db_url)

    def done_count():
        with engine.connect() as c:
            return c.execute(select(func.count()).select_from(TriagedMessage).where(
                TriagedMessage.mailbox_id == mailbox_id, TriagedMessage.done_at.is_not(None))).scalar()

    # the ticker queues the first sync within a second: the backfill starts now
    t0 = time.time()
    kills = sorted(rng.uniform(3, 60) for _ in range(args.kills)) if chaos else []
    redis_restart_at = rng.uniform(10, 40) if chaos else None
    events = []
    live_sent = 0
    live_ids: list[str] = []
    backlog_done_at = None
    deadline = t0 + args.timeout
    next_live = None
    while time.time() < deadline:
        now = time.time() - t0
        workers.sample()
        while kills and now >= kills[0]:
            kills.pop(0)
            workers.kill_one(rng)
            events.append(f"SIGKILL a worker at {now:.1f} s")
        if redis_restart_at is not None and now >= redis_restart_at:
            redis_restart_at = None
            redis_server.stop()
            time.sleep(1.0)
            redis_server.start()
            events.append(f"Redis restarted (empty) at {now:.1f} s")
        done = done_count()
        if backlog_done_at is None and done >= n_backlog:
            backlog_done_at = time.time() - t0
            next_live = time.time()
        if next_live is not None and live_sent < args.live:
            while live_sent < args.live and time.time() >= next_live:
                live_ids += fill(box, 1, corpus, rng, None, kinds)
                live_sent += 1
                next_live += 1.0 / args.rate
        if done >= args.messages:
            break
        time.sleep(0.05)
    total_time = time.time() - t0
    timed_out = done_count() < args.messages
    workers.sample()
    workers.stop()

    # --- results -----------------------------------------------------------------------
    with engine.connect() as c:
        recs = c.execute(select(TriagedMessage.message_id, TriagedMessage.state, TriagedMessage.labels,
                                TriagedMessage.reason, TriagedMessage.attempts)
                         .where(TriagedMessage.mailbox_id == mailbox_id)).all()
    engine.dispose()
    by_id = {}
    duplicates = 0
    for r in recs:
        duplicates += r.message_id in by_id
        by_id[r.message_id] = r
    inbox_ids = [m for m in kinds]
    terminal = ("labelled", "skipped", "gone")
    missing = [m for m in inbox_ids if m not in by_id or by_id[m].state not in terminal]
    pitches = [m for m in inbox_ids if kinds[m] == "pitch"]
    others = [m for m in inbox_ids if kinds[m] != "pitch"]
    twice = [m for m, n in box.modify_calls.items() if n > 1]
    label_twice = [m for m, ev in box.label_events.items() if len({l for _, l in ev}) != len(ev)]
    other_labelled = [m for m in others if box.our_labels(m)]
    pitch_labelled = [m for m in pitches if box.our_labels(m)]
    db_mismatch = [m for m in pitches if m in by_id and by_id[m].state in terminal and sorted(box.our_labels(m)) != sorted(
        "Pitchlint/" + {"me_talk": "Me-talk", "desperate": "Desperate", "threatening": "Threatening",
                        "reader_centred": "Reader-centred"}[k] for k in (by_id[m].labels or "").split(",") if k)]
    latencies = sorted(min(t for t, _ in box.label_events[m]) - box.messages[m].received
                       for m in live_ids if m in box.label_events)
    reasons = {}
    for m in others:
        if m in by_id:
            reasons[kinds[m]] = reasons.setdefault(kinds[m], {})
            reasons[kinds[m]][by_id[m].reason or by_id[m].state] = reasons[kinds[m]].get(by_id[m].reason or by_id[m].state, 0) + 1
    fake.stop()
    redis_server.stop()
    return {
        "workers": n_workers, "threads": threads, "chaos": chaos,
        "load": (load_at_start, os.getloadavg()[0]), "timed_out": timed_out, "timeout": args.timeout,
        "startup_s": startup, "events": events,
        "backlog": n_backlog, "backlog_s": backlog_done_at,
        "backlog_rate": n_backlog / backlog_done_at if backlog_done_at else None,
        "live": live_sent, "total_s": total_time,
        "p50": statistics.median(latencies) if latencies else None,
        "p95": latencies[int(0.95 * (len(latencies) - 1))] if latencies else None,
        "rss_mb": workers.peak_rss_mb, "restarts": workers.restarts,
        "recorded": len(by_id), "delivered": len(inbox_ids), "missing": len(missing),
        "duplicate_rows": duplicates, "modified_twice": len(twice), "label_added_twice": len(label_twice),
        "non_pitch_labelled": len(other_labelled), "pitches": len(pitches),
        "pitches_labelled": len(pitch_labelled),
        "pitches_not_flagged": sum(1 for m in pitches if m in by_id and by_id[m].state == "skipped"),
        "db_vs_mailbox_mismatch": len(db_mismatch), "skips_by_kind": reasons,
        "claimed_again": sum(1 for r in by_id.values() if (r.attempts or 0) > 1),
    }


def report(r: dict) -> None:
    title = f"{r['workers']} worker{'s' if r['workers'] > 1 else ''} of {r['threads']} PyTorch " \
            f"thread{'s' if r['threads'] > 1 else ''}" + (
        f", {r['restarts']} SIGKILLs and a Redis restart" if r["chaos"] else "")
    print(f"\n== {title} ==")
    print(f"   1-minute load average {r['load'][0]:.1f} at the start, {r['load'][1]:.1f} at the end")
    for e in r["events"]:
        print(f"   {e}")
    if r["backlog_rate"]:
        print(f"   backfill: {r['backlog']:,} messages in {r['backlog_s']:.1f} s = {r['backlog_rate']:.1f} messages/s")
    else:
        print(f"   backfill: did not finish within the time limit")
    if r["p95"] is not None:
        print(f"   live: {r['live']:,} messages arriving; arrival to label p50 {r['p50']:.2f} s, "
              f"p95 {r['p95']:.2f} s (polling every second)")
    print(f"   worker RSS (peak): {r['rss_mb']:.0f} MB; worker start-up (model load) {r['startup_s']:.1f} s")
    unfinished = (f"not finished when the run stopped at its {r['timeout']:.0f} s limit {r['missing']}"
                  if r["timed_out"] else f"lost {r['missing']}")
    print(f"   recorded {r['recorded']:,} of {r['delivered']:,} messages; {unfinished}; "
          f"recorded twice {r['duplicate_rows']}; labelled twice (a second modify call) {r['modified_twice']}; "
          f"a label added twice {r['label_added_twice']}; labels differing from the record {r['db_vs_mailbox_mismatch']}")
    if r["chaos"]:
        print(f"   messages a killed worker was holding, finished by a later job: "
              f"{r['claimed_again']:,}")
    print(f"   pitches {r['pitches']:,}: labelled {r['pitches_labelled']:,}, judged not worth a label "
          f"{r['pitches_not_flagged']:,}; non-pitches labelled: {r['non_pitch_labelled']}")
    print(f"   non-pitches skipped, by kind and reason: {json.dumps(r['skips_by_kind'])}")


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--messages", type=int, default=5000)
    ap.add_argument("--live", type=int, default=1000, help="of --messages, those that arrive during the run")
    ap.add_argument("--rate", type=float, default=15.0, help="live arrivals per second")
    ap.add_argument("--kills", type=int, default=4, help="SIGKILLs in the chaos run")
    ap.add_argument("--batch", type=int, default=32, help="messages per job")
    ap.add_argument("--timeout", type=float, default=900.0, help="seconds per run at most")
    ap.add_argument("--runs", default="1,2,chaos", help="which runs: 1, 2, chaos")
    ap.add_argument("--threads", type=int, default=0, help="PyTorch threads per worker (default: cores / workers)")
    ap.add_argument("--database-url", default=None)
    args = ap.parse_args()
    if not shutil.which("redis-server"):
        raise SystemExit("redis-server is needed (apt-get install redis-server)")
    print(f"machine: {machine()}")
    corpus = load_corpus()
    with tempfile.TemporaryDirectory(prefix="pitchlint-bench-") as tmp:
        db_url = database_url(Path(tmp), args.database_url)
        print(f"database: {db_url.split('@')[-1] if '@' in db_url else db_url}; {args.messages:,} "
              f"messages ({args.messages - args.live:,} backfilled, {args.live:,} arriving at "
              f"{args.rate:g}/s); {args.batch} messages per job")
        for which in args.runs.split(","):
            chaos = which == "chaos"
            r = run(args, 2 if chaos else int(which), chaos, corpus, Path(tmp), db_url)
            report(r)
            sys.stdout.flush()


if __name__ == "__main__":
    main()
