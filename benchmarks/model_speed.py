#!/usr/bin/env python3
"""CPU speed and memory of the shipped model, each figure beside the bare encoder's.

    python benchmarks/model_speed.py [--runs 60]

Prints: the machine; median latency of one warm call on a 150-word, 8-sentence email (the
per-sentence cache cleared before every call) next to the bare int8 encoder's forward pass on
the same sentences; batched sentences per second next to the bare encoder on the same
sentences; re-analysis of the email with one sentence changed (cache warm) against a cold
analysis; cold load time and resident memory of a fresh process holding the model.
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "server"))

EMAIL = (
    "Hi Marcus,\n\n"
    "I noticed your team is hiring three new account executives in Denver this quarter, which "
    "usually means a lot of onboarding work for your sales managers over the next few months. "
    "We are the leading sales enablement platform, trusted by over nine hundred companies "
    "worldwide, and our award-winning coaching suite includes call recording, scorecards, "
    "forecasting and a searchable content library for every rep. "
    "I'm sorry to keep chasing you, but this is my fourth email in two weeks and I really need a "
    "reply before my manager reviews my pipeline on Friday. "
    "If we don't speak before the end of the month, the onboarding discount for your new hires "
    "will be gone and the price goes up by a third. "
    "Would you have fifteen minutes on Thursday afternoon for a quick walkthrough of how other "
    "sales teams in Colorado ramp their new reps?\n\n"
    "Best regards,\nJordan Ellis, Senior Account Executive"
)
CHANGED = EMAIL.replace("fifteen minutes on Thursday afternoon", "twenty minutes on Tuesday morning")
assert CHANGED != EMAIL


def machine() -> str:
    cpu = "unknown CPU"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    import torch

    return (f"{cpu}; {os.cpu_count()} cores; torch {torch.__version__} with "
            f"{torch.get_num_threads()} threads; Python {platform.python_version()}")


def median_ms(fn, runs: int) -> float:
    times = []
    for _ in range(runs):
        t = time.perf_counter()
        fn()
        times.append((time.perf_counter() - t) * 1000)
    return statistics.median(times)


def corpus_emails(n: int) -> list[str]:
    from pitchlint.corpus import CORPUS_FILE, load_jsonl

    return [r["text"] for r in load_jsonl(CORPUS_FILE)[:n]]


def child_cold_load() -> None:
    t0 = time.perf_counter()
    from pitchlint.model.runtime import Analyzer

    an = Analyzer()
    loaded = time.perf_counter() - t0
    an.analyze(EMAIL)
    first = time.perf_counter() - t0
    for text in corpus_emails(200):
        an.analyze(text)
    an.analyze_batch([{"text": t} for t in corpus_emails(600)[200:]])
    status = Path("/proc/self/status").read_text()
    rss = int(next(l for l in status.splitlines() if l.startswith("VmRSS")).split()[1]) / 1024
    peak = int(next(l for l in status.splitlines() if l.startswith("VmHWM")).split()[1]) / 1024
    print(json.dumps({"load_s": loaded, "first_answer_s": first, "rss_mb": rss, "peak_rss_mb": peak}))


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--runs", type=int, default=60)
    ap.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.child:
        child_cold_load()
        return 0

    import torch

    from pitchlint.model.features import encode_sentences
    from pitchlint.model.runtime import Analyzer
    from pitchlint.text.segment import split

    an = Analyzer()
    print(f"machine: {machine()}")
    print(f"model: {an.name} {an.version} ({an.model_dir})")
    words = len(EMAIL.split())
    sents = split(EMAIL)
    print(f"email: {words} words, {len(sents)} sentences")

    # One warm call, the cache cleared each time so every sentence is encoded.
    def one_call():
        an.cache.clear()
        an.analyze(EMAIL)

    for _ in range(5):
        one_call()
    model_ms = median_ms(one_call, args.runs)
    ids = an.pieces.ids([s.text for s in sents])

    def bare():
        with torch.inference_mode():
            encode_sentences(an.net, an.pieces, ids)

    for _ in range(5):
        bare()
    enc_ms = median_ms(bare, args.runs)
    print(f"one email, warm, median of {args.runs}: {model_ms:.1f} ms  |  bare encoder forward on the "
          f"same sentences: {enc_ms:.1f} ms  |  ratio {model_ms / enc_ms:.2f}")

    # Re-analysis with one sentence changed, as the extension does while someone types.
    an.cache.clear()
    cold_ms = median_ms(lambda: (an.cache.clear(), an.analyze(EMAIL)), 20)
    an.analyze(EMAIL)

    def incremental():
        an.analyze(CHANGED)
        an.cache._data.pop((an.version, next(s.text for s in split(CHANGED) if "twenty" in s.text)), None)

    inc_ms = median_ms(incremental, 20)
    print(f"re-analysis with one sentence changed: {inc_ms:.1f} ms vs cold {cold_ms:.1f} ms  |  "
          f"ratio {inc_ms / cold_ms:.2f} (target at most 0.33)")

    # Batched throughput on real corpus emails (all distinct), cache off.
    texts = corpus_emails(400)
    n_sent = sum(len(split(t)) for t in texts)
    an.cache.clear()
    saved = an.cache.max_entries
    an.cache.max_entries = 0
    t = time.perf_counter()
    an.analyze_batch([{"text": x} for x in texts])
    batch_s = time.perf_counter() - t
    an.cache.max_entries = saved
    all_ids = an.pieces.ids([s.text for x in texts for s in split(x)])
    t = time.perf_counter()
    with torch.inference_mode():
        encode_sentences(an.net, an.pieces, all_ids)
    enc_s = time.perf_counter() - t
    print(f"batched: {len(texts)} emails, {n_sent} sentences: {n_sent / batch_s:.0f} sentences/s "
          f"({len(texts) / batch_s:.0f} emails/s)  |  bare encoder on the same sentences: "
          f"{n_sent / enc_s:.0f} sentences/s  |  ratio {enc_s / batch_s:.2f}")

    out = subprocess.run([sys.executable, __file__, "--child"], capture_output=True, text=True,
                         check=True)
    child = json.loads(out.stdout.strip().splitlines()[-1])
    print(f"cold start (fresh process: imports + load): {child['load_s']:.2f} s; first answer at "
          f"{child['first_answer_s']:.2f} s")
    print(f"resident memory after 200 single emails and a batch of 400: {child['rss_mb']:.0f} MB "
          f"(peak {child['peak_rss_mb']:.0f} MB)")
    size = sum(p.stat().st_size for p in Path(an.model_dir).iterdir()) / 1e6
    print(f"artifact on disk: {size:.1f} MB")
    return 0


if __name__ == "__main__":
    sys.exit(main())
