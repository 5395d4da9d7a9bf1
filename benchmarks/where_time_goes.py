#!/usr/bin/env python3
"""Where the PyTorch runtime's time goes on one email: what `model_speed.py`'s ratios are made of.

    python benchmarks/where_time_goes.py [--runs 100]

For model_speed.py's 8-sentence email it prints the median time of each stage of a cold analysis
(per-sentence cache cleared) and of a re-analysis with one sentence changed (the other sentences'
vectors cached): splitting, tokenizing, the encoder's calls, the rest of sentence encoding
(rows, masks, pooling), the context layers and heads, the decisions. Then the cost of the
encoder's own operations, one call each, at the row counts an analysis gives them: the four
products of a layer (the shipped model's packed weights) at 1 row, at the rows of the two
analyses' encoder calls (32 and 224 on this email) and at 512, and one layer's attention over
those two calls' rows. Figures only, no targets: it is for
finding what to work on. PyTorch runtime only (PITCHLINT_COMPUTE as the service reads it).
"""
from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

from _machine import cpu_name  # benchmarks/, the script's own folder
from model_speed import CHANGED, EMAIL, median_ms

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "server"))

STAGES = ("split", "tokenize", "encoder calls", "other encoding", "context and heads", "decisions")


def stage_clock(an):
    """Wraps the stages (this Analyzer's methods, and the runtime module's `split` for the whole
    process: a benchmark's process) so that each call adds its time to the returned dict."""
    from pitchlint.model import runtime

    spent: dict[str, float] = {}

    def wrap(owner, name, stage):
        inner = getattr(owner, name)

        def timed(*args, **kwargs):
            t = time.perf_counter()
            try:
                return inner(*args, **kwargs)
            finally:
                spent[stage] = spent.get(stage, 0.0) + time.perf_counter() - t
        setattr(owner, name, timed)

    wrap(runtime, "split", "split")
    wrap(an.pieces, "ids", "tokenize")
    wrap(an, "_encode", "encoding")              # tokenizing and the encoder calls included
    wrap(an.net.encoder, "forward", "encoder calls")
    wrap(an, "_probabilities", "context and heads")
    wrap(an, "decide_all", "decisions")
    return spent


def timed_analysis(an, spent, text) -> dict[str, float]:
    spent.clear()
    t = time.perf_counter()
    an.analyze(text)
    total = time.perf_counter() - t
    out = {k: spent.get(k, 0.0) * 1000 for k in ("split", "tokenize", "encoder calls",
                                                 "context and heads", "decisions")}
    out["other encoding"] = (spent.get("encoding", 0.0) * 1000 - out["tokenize"] - out["encoder calls"])
    out["total"] = total * 1000
    out["outside the stages"] = out["total"] - sum(out[k] for k in STAGES)
    return out


def medians(rows: list[dict]) -> dict[str, float]:
    return {k: statistics.median(r[k] for r in rows) for k in rows[0]}


def micro_us(fn, runs: int) -> float:
    for _ in range(max(10, runs // 10)):
        fn()
    return median_ms(fn, runs) * 1000


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--runs", type=int, default=100)
    args = ap.parse_args()

    import torch
    import torch.nn.functional as F

    from pitchlint.model import artifact
    from pitchlint.model.features import aligned
    from pitchlint.model.runtime import Analyzer
    from pitchlint.text.segment import split

    an = Analyzer()
    print(f"machine: {cpu_name()}; torch {torch.__version__} with {torch.get_num_threads()} threads; "
          f"compute {an.compute}")
    spent = stage_clock(an)

    def cold():
        an.cache.clear()
        return timed_analysis(an, spent, EMAIL)

    def again():
        an.cache.clear()
        an.analyze(EMAIL)
        return timed_analysis(an, spent, CHANGED)

    for _ in range(20):
        cold(), again()
    c = medians([cold() for _ in range(args.runs)])
    r = medians([again() for _ in range(args.runs)])
    print(f"\none 8-sentence email, medians of {args.runs} (ms)")
    print(f"  {'stage':<20} {'cold':>7} {'one sentence changed':>21}")
    for k in (*STAGES, "outside the stages", "total"):
        print(f"  {k:<20} {c[k]:7.2f} {r[k]:21.2f}")
    print(f"  re-analysis / cold: {r['total'] / c['total']:.2f}")

    # the encoder's calls on this email: one row of its sentences ([CLS] and [SEP] each), and,
    # after the change, one row of the changed sentence, each padded as encode_sentences pads it
    before = [s.text for s in split(EMAIL)]
    changed = [t for t in (s.text for s in split(CHANGED)) if t not in before]
    email_lengths = [len(ids) + 2 for ids in an.pieces.ids(before)]
    changed_lengths = [len(ids) + 2 for ids in an.pieces.ids(changed)]
    calls = ((aligned(sum(changed_lengths)), changed_lengths), (aligned(sum(email_lengths)), email_lengths))
    row_counts = (1, calls[0][0], calls[1][0], 512)

    enc = artifact.bare_encoder(an.net.encoder)
    layer = enc.layers[0]
    products = (("query, key, value", layer.qkv), ("attention output", layer.attn_out),
                ("FFN in (GELU)", layer.intermediate), ("FFN out", layer.output))
    dtype = getattr(layer.qkv, "dtype", torch.float32)
    print(f"\none call of each of a layer's products (us, median of {args.runs}; {dtype} inputs)")
    print(f"  {'product':<20}" + "".join(f"{f'{m} rows':>11}" for m in row_counts))
    with torch.inference_mode():
        for name, module in products:
            cells = []
            for rows in row_counts:
                x = torch.randn(rows, module.in_features).to(dtype)
                cells.append(micro_us(lambda: module(x), args.runs))
            print(f"  {name:<20}" + "".join(f"{v:11.1f}" for v in cells))
        heads = layer.heads
        d = enc.config.hidden_size // heads
        print(f"\none layer's attention over one row ({heads} heads of {d}; us, median of {args.runs})")
        for width, lengths in calls:
            seg = torch.full((width,), -1)
            at = 0
            for i, n in enumerate(lengths):
                seg[at:at + n] = i
                at += n
            allowed = ((seg[:, None] == seg[None, :]) & (seg >= 0)[:, None]) | torch.eye(width, dtype=torch.bool)
            bias = torch.zeros(allowed.shape, dtype=dtype).masked_fill_(~allowed, float("-inf"))[None, None]
            q, k, v = (torch.randn(1, heads, width, d).to(dtype) for _ in range(3))
            us = micro_us(lambda: F.scaled_dot_product_attention(q, k, v, attn_mask=bias), args.runs)
            print(f"  {width} tokens ({len(lengths)} sentence{'s' if len(lengths) > 1 else ''}, "
                  f"{sum(lengths)} tokens without padding): {us:.1f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
