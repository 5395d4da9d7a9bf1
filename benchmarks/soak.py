"""Soak: `pitchlint serve` (2 workers, SQLite, keys off on loopback) under steady load from 4
clients for 10 minutes; prints each worker's resident memory over time and its growth after the
warm-up (the target: at most 5%). Not in CI.

    python benchmarks/soak.py                   # 10 minutes, a sample every 20 s
    python benchmarks/soak.py --minutes 2 --every 10

The emails vary (a pool of sentences shuffled into new emails), so the sentence cache fills as
it would in use, up to its bound, rather than answering the same few sentences from memory.
"""
from __future__ import annotations

import argparse
import os
import platform
import random
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tests.faults.conftest import Service, base_env  # noqa: E402
from tests.faults.load import Load, summary  # noqa: E402

SENTENCES = [
    "Sorry to chase again.", "Did my last three emails get through?",
    "Your Q3 report mentioned churn in the Nordics.", "We cut churn 18% for a similar retailer.",
    "Would a 15-minute call next week help?", "We are the leading agency in the world.",
    "Reply by Friday or you lose the discount.", "I noticed you are hiring two data engineers.",
    "Our graduates start on your stack on day one.", "Could I send you three profiles?",
    "I hate to bother you again.", "This is my final attempt to reach you.",
    "Your competitors already use us.", "Happy to share the case study if useful.",
    "I know you are busy, so I will keep this short.", "Let me know if Tuesday suits.",
]


def rss_kib(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    return 0


def emails(n: int, seed: int = 7) -> list[str]:
    rng = random.Random(seed)
    out = []
    for i in range(n):
        picked = rng.sample(SENTENCES, rng.randint(3, 7))
        out.append(f"Hi {rng.choice(['Dana', 'Sam', 'Priya', 'Lena', 'Tom'])} ({i}),\n\n"
                   + " ".join(picked) + "\n\nBest,\nAlex")
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--minutes", type=float, default=10.0)
    ap.add_argument("--every", type=float, default=20.0, help="seconds between memory samples")
    ap.add_argument("--warmup", type=float, default=120.0, help="seconds before the baseline sample")
    ap.add_argument("--clients", type=int, default=4)
    args = ap.parse_args()

    tmp = Path(tempfile.mkdtemp(prefix="pitchlint-soak-"))
    env = base_env(tmp)
    env.pop("PITCHLINT_TORCH_THREADS", None)
    env["PITCHLINT_RATE_LIMIT_PER_MINUTE"] = "0"  # one address sends everything here
    svc = Service(env, tmp)
    try:
        svc.wait_ready()
        workers = svc.workers()
        load = Load(svc.port, args.clients, texts=emails(5000)).start()
        started = time.monotonic()
        samples: list[tuple[float, dict[int, int]]] = []
        while (elapsed := time.monotonic() - started) < args.minutes * 60:
            samples.append((elapsed, {pid: rss_kib(pid) for pid in workers}))
            line = "  ".join(f"{pid}: {kib / 1024:7.1f} MiB" for pid, kib in samples[-1][1].items())
            print(f"{elapsed:6.0f} s  {line}  requests {len(load.outcomes)}", flush=True)
            time.sleep(args.every)
        samples.append((time.monotonic() - started, {pid: rss_kib(pid) for pid in workers}))
        outcomes = load.stop()
    finally:
        svc.stop()

    took = samples[-1][0]
    print(f"\nmachine: {platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}")
    print(f"{len(outcomes)} requests in {took:.0f} s ({len(outcomes) / took:.1f}/s) from "
          f"{args.clients} clients: {summary(outcomes)}")
    if workers != svc.workers() and svc.proc.poll() is None:
        print("note: the workers changed during the run")
    base = next((s for s in samples if s[0] >= args.warmup), samples[0])
    print(f"resident memory per worker, after {base[0]:.0f} s of warm-up -> end:")
    worst = 0.0
    for pid in workers:
        start, end = base[1][pid], samples[-1][1][pid]
        peak = max(s[1][pid] for s in samples if s[0] >= base[0])
        growth = 100.0 * (end - start) / start if start else 0.0
        worst = max(worst, growth)
        print(f"  worker {pid}: {start / 1024:.1f} -> {end / 1024:.1f} MiB ({growth:+.1f}%), "
              f"peak {peak / 1024:.1f} MiB")
    print(f"largest growth after warm-up: {worst:+.1f}% (target: at most +5%)")
    errors = Counter(o.error for o in outcomes if o.error)
    if errors:
        print(f"errors: {dict(errors)}")


if __name__ == "__main__":
    main()
