"""gunicorn's settings for `pitchlint serve`, and the hooks that go with them.

Worker class: gevent. A sync worker reads a request's body on the one thread it has, so a client
that sends its body slowly (a byte a second) holds the worker for as long as it likes; two such
clients stop a two-worker service (measured: a normal request waited past 10 s behind four).
A gevent worker reads every connection cooperatively, so slow senders wait in their own
greenlets while others are answered (tests/faults: answered within 1 s behind four of them).
The model still runs on the worker's main thread (greenlets share it), where PyTorch is about
40% faster than on a request thread, and one request at a time per worker: the model call
does not yield. gunicorn's gevent worker accepts one connection at a time per wake-up when
there are several workers, so a busy worker leaves new connections to an idle one, and a
worker killed mid-request loses the requests it holds, not the ones waiting in the kernel's
queue. `--threads N` (N > 1) gives gthread workers instead.
"""
from __future__ import annotations

import os
import shutil

from . import logs

TIMEOUT_SECONDS = 120        # a worker silent this long (a stuck model call) is replaced
GRACEFUL_TIMEOUT_SECONDS = 20  # after SIGTERM, in-flight requests have this long to finish
KEEPALIVE_SECONDS = 5


def gunicorn_settings(bind: str, workers: int, threads: int) -> dict:
    return {
        "bind": bind,
        "workers": workers,
        "worker_class": "gevent" if threads <= 1 else "gthread",
        "threads": threads,
        "worker_connections": 1000,
        "timeout": TIMEOUT_SECONDS,
        "graceful_timeout": GRACEFUL_TIMEOUT_SECONDS,
        "keepalive": KEEPALIVE_SECONDS,
        "accesslog": None,  # the app logs one JSON line per request (logs.py)
        "logconfig_dict": logs.logging_config(),
        "preload_app": False,
        # gunicorn 25+ opens a control socket at one fixed path per user; two services on a
        # machine would fight over it, and `pitchlint serve` has no use for it.
        "control_socket_disable": True,
        "child_exit": child_exit,
        "on_exit": on_exit,
    }


def child_exit(server, worker) -> None:
    from . import metrics

    metrics.worker_exited(worker.pid)


def on_exit(server) -> None:
    path = os.environ.get("PROMETHEUS_MULTIPROC_DIR", "")
    if os.path.basename(path).startswith("pitchlint-metrics-"):  # ours, made by `pitchlint serve`
        shutil.rmtree(path, ignore_errors=True)
