"""`pitchlint worker`: runs the triage jobs (RQ's SimpleWorker: jobs run in the worker's own
process, where the model is loaded once) and, in one worker at a time, the ticker that queues
due mailbox syncs and sweeps up lost work.

`pitchlint worker --workers N` runs N of them (supervise(): one that dies is started again) and
gives each cores / N PyTorch threads, so that the workers of a machine use each core once.
SIGTERM finishes the job in hand and stops; a worker killed outright loses nothing (its jobs
are retried, and the sweep queues again what their lease no longer covers). When Redis goes
away the worker waits for it.
"""
from __future__ import annotations

import logging
import os
import signal
import socket
import subprocess
import sys
import threading
import time

import redis

from . import engine
from .queue import get_queue

log = logging.getLogger("pitchlint.triage")


class Ticker(threading.Thread):
    """Every few seconds, in the one worker that holds the tick lock: queue a sync of every
    mailbox due for one, and sweep."""

    def __init__(self, app, seconds: float):
        super().__init__(name="triage-ticker", daemon=True)
        self.app = app
        self.seconds = seconds
        self.stopping = threading.Event()
        self.me = f"{socket.gethostname()}:{os.getpid()}"
        self.last_sweep = 0.0
        # The sweep reads every unfinished message row: often enough to catch a lost job soon
        # after its lease, not every tick.
        self.sweep_every = max(float(seconds), min(30.0, app.config["TRIAGE_LEASE_SECONDS"] / 6))

    def tick(self) -> None:
        queue = get_queue(self.app)
        ms = int(self.seconds * 1000 * 0.9)
        if not queue.connection.set(f"pitchlint:{queue.queue.name}:tick", self.me, nx=True, px=max(ms, 100)):
            return
        for mailbox_id in engine.due_mailboxes():
            queue.enqueue_sync(mailbox_id)
        if time.monotonic() - self.last_sweep >= self.sweep_every:
            self.last_sweep = time.monotonic()
            engine.sweep(queue)

    def run(self) -> None:
        with self.app.app_context():
            while not self.stopping.wait(self.seconds):
                try:
                    self.tick()
                except redis.RedisError as e:
                    log.warning("triage ticker: Redis unavailable (%s)", e)
                except Exception:
                    log.exception("triage ticker failed; trying again next tick")


def worker_class():
    from rq import SimpleWorker

    class TriageWorker(SimpleWorker):
        """RQ's SimpleWorker without its command channel (a Redis pub/sub thread for `rq`'s
        stop-job and shutdown commands, which we do not use): closing that thread could hold a
        stopping worker for its 60-second read."""

        def subscribe(self):
            pass

        def unsubscribe(self):
            pass

    return TriageWorker


def run(app, burst: bool = False, ticker: bool = True, tick_seconds: float | None = None) -> None:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(levelname)s %(message)s")
    queue = get_queue(app)
    tick = None
    if ticker and not burst:
        tick = Ticker(app, tick_seconds or min(5.0, float(app.config["TRIAGE_POLL_SECONDS"])))
        tick.start()
    with app.app_context():
        from ..model import get_analyzer

        get_analyzer()  # before the first job, not inside it
        while True:
            try:
                worker = worker_class()([queue.queue], connection=queue.connection,
                                      name=f"pitchlint-{socket.gethostname()}-{os.getpid()}-{int(time.time())}")
                worker.work(burst=burst, with_scheduler=not burst, logging_level="WARNING",
                            max_idle_time=None)
                break  # stopped (SIGTERM / SIGINT) or, with burst, nothing left
            except (redis.ConnectionError, redis.TimeoutError) as e:
                if getattr(worker, "_stop_requested", False):
                    break  # SIGTERM came while Redis was away: stop, don't wait for it
                log.warning("triage worker: Redis unavailable (%s); waiting for it", e)
                time.sleep(2)
    if tick is not None:
        tick.stopping.set()


def cores() -> int:
    """The cores this process may run on (a container's or taskset's limit, not the machine's)."""
    try:
        return len(os.sched_getaffinity(0)) or 1
    except (AttributeError, OSError):
        return os.cpu_count() or 1


def threads_per_worker(workers: int) -> int:
    return max(1, cores() // max(1, workers))


def supervise(count: int, threads: int, burst: bool = False, restart_after: float = 1.0,
              argv: list[str] | None = None) -> int:
    """Run `count` worker processes, each `pitchlint worker` with `threads` PyTorch threads, and
    keep them running: one that dies (killed, out of memory) is started again. SIGTERM and
    SIGINT are passed on to every worker, and their jobs in hand finish before this returns.
    With `burst`, returns once every worker has run out of jobs."""
    env = dict(os.environ, PITCHLINT_TORCH_THREADS=str(threads))
    env.setdefault("OMP_NUM_THREADS", str(threads))
    # A queue's workers are there for messages/s: each keeps its threads rather than taking
    # every core while it happens to run alone (runtime.Analyzer; 10-20% fewer emails/s under
    # load over HTTP), unless PITCHLINT_TORCH_ALONE says otherwise.
    env.setdefault("PITCHLINT_TORCH_ALONE", "0")
    argv = argv or [sys.executable, "-c", "from pitchlint.cli import main; main()", "worker",
                    "--workers", "1", "--threads", str(threads)] + (["--burst"] if burst else [])
    stopping = threading.Event()
    # Each in a session of its own: a terminal's Ctrl-C reaches them once, passed on from here
    # (a second SIGINT would make RQ drop the job in hand).
    procs = [subprocess.Popen(argv, env=env, start_new_session=True) for _ in range(count)]
    print(f"pitchlint worker: {count} workers, {threads} PyTorch thread{'s' if threads > 1 else ''} "
          f"each (pids {', '.join(str(p.pid) for p in procs)})", file=sys.stderr, flush=True)

    def stop(signum, frame):
        stopping.set()
        for p in procs:
            if p.poll() is None:
                p.send_signal(signum)

    old = {sig: signal.signal(sig, stop) for sig in (signal.SIGTERM, signal.SIGINT)}
    try:
        while not stopping.is_set():
            for i, p in enumerate(procs):
                rc = p.poll()
                if rc is None or burst or stopping.is_set():
                    continue
                log.warning("triage worker %s exited (%s); starting another", p.pid, rc)
                stopping.wait(restart_after)
                if not stopping.is_set():
                    procs[i] = subprocess.Popen(argv, env=env, start_new_session=True)
            if burst and all(p.poll() is not None for p in procs):
                break
            stopping.wait(0.5)
        for p in procs:
            try:
                p.wait(timeout=600)
            except subprocess.TimeoutExpired:
                p.kill()
                p.wait()
    finally:
        for sig, handler in old.items():
            signal.signal(sig, handler)
    return max((p.returncode or 0 for p in procs), default=0) if burst else 0
