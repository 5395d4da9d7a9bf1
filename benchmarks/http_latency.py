#!/usr/bin/env python3
"""HTTP latency and throughput of `pitchlint serve` on loopback, with the real model.

    python benchmarks/http_latency.py [--workers 2] [--requests 240]

Starts the service (gunicorn, N workers) on a free loopback port, then sends 150-word emails
(distinct corpus emails, so the sentence cache does not flatter the figures) at concurrency 1,
4 and 16, and prints p50/p95/p99 and emails/s. The model's own time on the same emails is
measured in this process in the same run, so the HTTP overhead can be read off directly.
Finally it re-sends one email with one sentence changed, as the extension does while someone
types, and prints the cost against a cold analysis.
"""
from __future__ import annotations

import argparse
import concurrent.futures as cf
import http.client
import json
import os
import socket
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "server"))
sys.path.insert(0, str(ROOT / "benchmarks"))


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def emails_of_about(words: int, n: int) -> list[str]:
    from pitchlint.corpus import CORPUS_FILE, load_jsonl

    recs = load_jsonl(CORPUS_FILE)
    near = sorted(recs, key=lambda r: abs(len(r["text"].split()) - words))
    return [r["text"] for r in near[:n]]


def post(port: int, body: dict, conn=None):
    conn = conn or http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    payload = json.dumps(body)
    t = time.perf_counter()
    conn.request("POST", "/v1/analyze", payload, {"Content-Type": "application/json"})
    resp = conn.getresponse()
    data = resp.read()
    dt = time.perf_counter() - t
    if resp.status != 200:
        raise RuntimeError(f"{resp.status}: {data[:200]!r}")
    return dt, conn


def pct(values, p):
    values = sorted(values)
    k = min(len(values) - 1, max(0, round(p / 100 * (len(values) - 1))))
    return values[k]


def load(port: int, texts: list[str], concurrency: int) -> tuple[list[float], float]:
    conns = {}

    def one(i):
        import threading

        tid = threading.get_ident()
        dt, conns[tid] = post(port, {"text": texts[i % len(texts)]}, conns.get(tid))
        return dt

    t = time.perf_counter()
    with cf.ThreadPoolExecutor(concurrency) as ex:
        lat = list(ex.map(one, range(len(texts))))
    return lat, time.perf_counter() - t


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--requests", type=int, default=240)
    args = ap.parse_args()

    from model_speed import machine
    from pitchlint.model.onnx_runtime import load_analyzer, wants_onnx
    from pitchlint.model.runtime import alone_mode

    texts = emails_of_about(150, args.requests * 3)
    words = statistics.mean(len(t.split()) for t in texts)
    port = free_port()
    env = dict(os.environ, PITCHLINT_RATE_LIMIT_PER_MINUTE="0",
               PITCHLINT_INSTANCE_PATH=str(Path("/tmp") / f"pitchlint-bench-{port}"))
    server = subprocess.Popen([sys.executable, "-m", "pitchlint.cli", "serve", "--port", str(port),
                               "--workers", str(args.workers)], env=env,
                              stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        deadline = time.time() + 120
        while time.time() < deadline:
            try:
                c = http.client.HTTPConnection("127.0.0.1", port, timeout=2)
                c.request("GET", "/readyz")
                if c.getresponse().status == 200:
                    break
            except OSError:
                pass
            time.sleep(0.3)
        else:
            raise SystemExit("the service did not become ready: " + server.stderr.read(4000).decode())

        print(f"machine: {machine()}")
        print(f"service: pitchlint serve --workers {args.workers} on 127.0.0.1:{port} "
              f"(PITCHLINT_COMPUTE={os.environ.get('PITCHLINT_COMPUTE') or 'auto'}); "
              f"{len(texts)} distinct emails of {words:.0f} words on average")
        # Warm every worker (model loaded, allocator warm) on texts not used below.
        load(port, emails_of_about(150, 40)[::-1], 4)

        import torch

        an = load_analyzer(cache_size=0)  # PITCHLINT_COMPUTE, as the service reads it
        # PyTorch: each worker runs cores / workers threads, and every core while its analysis
        # runs alone (PITCHLINT_TORCH_ALONE=auto); ONNX Runtime: every worker may use every core
        # (its threads do not spin while idle). Either way a request alone gets the machine.
        worker_threads = (an.onnx.threads if wants_onnx()
                          else max(1, (os.cpu_count() or 2) // args.workers))
        own = {}
        for threads in sorted({worker_threads, an.onnx.threads if wants_onnx() else torch.get_num_threads()}):
            if not wants_onnx():
                torch.set_num_threads(threads)
            times = []
            for t in texts[:args.requests]:
                s = time.perf_counter()
                an.analyze(t)
                times.append(time.perf_counter() - s)
            own[threads] = statistics.median(times) * 1000
        print("model's own time (this process, same emails): " + ", ".join(
            f"p50 {v:.1f} ms with {k} thread{'s' if k > 1 else ''}" for k, v in own.items())
              + f"; each worker runs {worker_threads}"
              + (" (every core while alone: PITCHLINT_TORCH_ALONE=auto)"
                 if not wants_onnx() and worker_threads < (os.cpu_count() or 1)
                 and alone_mode() == "auto" else ""))
        own_p50 = own[worker_threads]
        best_p50 = min(own.values())
        for i, conc in enumerate((1, 4, 16)):
            chunk = texts[i * args.requests:(i + 1) * args.requests]
            lat, wall = load(port, chunk, conc)
            ms = [x * 1000 for x in lat]
            extra = (f"  (p50 - model's own p50 at the worker's threads = {pct(ms, 50) - own_p50:+.1f} ms; "
                     f"p50 / model's own best p50 = {pct(ms, 50) / best_p50:.2f}, target at most 1.3)"
                     if conc == 1 else "")
            print(f"concurrency {conc:2d}: p50 {pct(ms, 50):6.1f} ms  p95 {pct(ms, 95):6.1f} ms  "
                  f"p99 {pct(ms, 99):6.1f} ms  throughput {len(chunk) / wall:6.1f} emails/s{extra}")

        # As-you-type: a new email, then the same email with one sentence changed.
        cold, inc = [], []
        conn = None  # one kept-alive connection, so the edit reaches the same worker
        fresh_texts = emails_of_about(150, args.requests * 3 + 40)[args.requests * 3:]
        for k, fresh in enumerate(fresh_texts[:20]):
            dt, conn = post(port, {"text": fresh}, conn)
            cold.append(dt)
            edited = fresh.rstrip() + f" P.S. One more thing, number {k}."
            dt, conn = post(port, {"text": edited}, conn)
            inc.append(dt)
        print(f"re-analysis with one sentence changed: p50 {statistics.median(inc) * 1000:.1f} ms vs "
              f"first analysis {statistics.median(cold) * 1000:.1f} ms  (ratio "
              f"{statistics.median(inc) / statistics.median(cold):.2f}, target at most 0.33)")
    finally:
        server.terminate()
        server.wait(timeout=30)
    return 0


if __name__ == "__main__":
    sys.exit(main())
