#!/usr/bin/env python3
"""Time and memory of very long emails: cost must grow linearly with length.

    python benchmarks/long_input.py [--sizes 1000,10000,100000] [--shapes prose,ok,words,...]

For each shape and size, a fresh process loads the shipped model, analyses a short email to warm
up, resets its peak-memory mark (/proc/self/clear_refs), then analyses the long email once.
Printed: sentences found, seconds, and peak resident memory above the warmed-up model. The
issue's target on 2 cores: 100,000 characters of prose or of one-word sentences in <= 5 s and
<= 300 MB above the loaded model.

Shapes: prose (corpus emails run together), ok ("Ok. " repeated: thousands of identical
one-word sentences), words (one-word sentences drawn from 2,000 distinct words), one-sentence
(100,000 characters with no sentence end), quoted (a short email above a huge "> " history),
mixed (a 120-word sentence, then thousands of distinct short ones: with PITCHLINT_COMPUTE=onnx,
what would pad every short sentence to the long one's width in the a8 export's attention if its
calls were not bounded by cells).

The model is the service's: PITCHLINT_COMPUTE chooses the runtime (onnx: the ONNX export).
"""
from __future__ import annotations

import argparse
import json
import os
import random
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "server"))
sys.path.insert(0, str(ROOT / "benchmarks"))

SHAPES = ("prose", "ok", "words", "one-sentence", "quoted", "mixed")


def corpus_texts() -> list[str]:
    with open(ROOT / "models" / "data" / "corpus.jsonl", encoding="utf-8") as f:
        return [json.loads(line)["text"] for line in f if line.strip()]


def make_text(shape: str, size: int) -> str:
    rng = random.Random(size)
    if shape == "prose":
        texts = corpus_texts()
        rng.shuffle(texts)
        out, n = [], 0
        for t in texts:
            out.append(t)
            n += len(t) + 2
            if n >= size:
                break
        return "\n\n".join(out)[:size]
    if shape == "ok":
        return ("Ok. " * (size // 4 + 1))[:size].rstrip()
    if shape == "words":
        vocab = sorted({w.strip(".,!?;:()\"'").lower() for t in corpus_texts()[:600]
                        for w in t.split() if w.strip(".,!?;:()\"'").isalpha()})
        vocab = rng.sample(vocab, min(2000, len(vocab)))
        out, n = [], 0
        while n < size:
            w = rng.choice(vocab).capitalize() + "."
            out.append(w)
            n += len(w) + 1
        return " ".join(out)[:size].rstrip()
    if shape == "one-sentence":
        words = " ".join(corpus_texts()[:300]).translate(str.maketrans("", "", ".!?…")).split()
        return " ".join(words)[:size].rstrip()
    if shape == "quoted":
        head = "Hi Dana,\n\nSorry to chase again. Did my last three emails get through?\n\nTom\n\n"
        body = "\n".join("> " + line for line in "\n\n".join(corpus_texts()[:400]).splitlines())
        return (head + "On Mon, 3 Feb 2026, Tom Reed <tom@example.com> wrote:\n" + body)[:size]
    if shape == "mixed":
        words = " ".join(corpus_texts()[:20]).translate(str.maketrans("", "", ".!?…")).split()
        out, n, k = [" ".join(words[:120]) + "."], 0, 0
        while n < size:
            k += 1
            out.append(f"Noted {k}.")
            n += len(out[-1]) + 1
        return " ".join(out)[:size].rstrip()
    raise ValueError(shape)


def _status_mb(field: str) -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1]) / 1024
    return float("nan")


def one(shape: str, size: int) -> dict:
    """Run in the child: load, warm up, reset the peak mark, analyse once."""
    from pitchlint.model.onnx_runtime import load_analyzer

    analyzer = load_analyzer()
    analyzer.analyze("Hi Dana,\n\nWe are the best. Would Tuesday work?\n\nTom")
    text = make_text(shape, size)
    base = _status_mb("VmRSS")
    try:
        Path("/proc/self/clear_refs").write_text("5")  # peak RSS := current RSS
        peak_known = True
    except OSError:
        peak_known = False
    t0 = time.perf_counter()
    answer = analyzer.analyze(text)
    seconds = time.perf_counter() - t0
    body = json.dumps(answer)
    return {"shape": shape, "chars": len(text), "sentences": len(answer["sentences"]),
            "seconds": round(seconds, 2), "model_mb": round(base),
            "peak_above_model_mb": round(_status_mb("VmHWM") - base) if peak_known else None,
            "response_mb": round(len(body) / 1e6, 1)}


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sizes", default="1000,10000,100000")
    ap.add_argument("--shapes", default=",".join(SHAPES))
    ap.add_argument("--child", nargs=2, help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.child:
        print(json.dumps(one(args.child[0], int(args.child[1]))))
        return 0
    from model_speed import machine

    print(f"machine: {machine()}; PITCHLINT_COMPUTE={os.environ.get('PITCHLINT_COMPUTE') or 'auto'}")
    print(f"{'shape':13} {'chars':>8} {'sentences':>9} {'seconds':>8} {'peak MB above model':>20} "
          f"{'model MB':>9} {'answer MB':>10}")
    for shape in args.shapes.split(","):
        for size in (int(s) for s in args.sizes.split(",")):
            out = subprocess.run([sys.executable, __file__, "--child", shape, str(size)],
                                 capture_output=True, text=True, env=os.environ.copy())
            if out.returncode != 0:
                print(f"{shape:13} {size:>8} failed: {out.stderr.strip().splitlines()[-1:]}")
                continue
            r = json.loads(out.stdout.strip().splitlines()[-1])
            print(f"{r['shape']:13} {r['chars']:>8,} {r['sentences']:>9,} {r['seconds']:>8.2f} "
                  f"{r['peak_above_model_mb']:>20} {r['model_mb']:>9} {r['response_mb']:>10}",
                  flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
