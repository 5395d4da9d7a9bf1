"""The analyzer every surface calls: text in, the analyze contract's answer out.

shared/contract/ANALYZE.md is the shape. Sentence vectors from the encoder are cached per
sentence text (keyed on the model version), so re-analysing an email in which one sentence
changed only encodes that sentence again; the context layer and heads always run on the
whole email, so every label still depends on the email around it.
"""
from __future__ import annotations

import contextlib
import os
import threading
import time
from dataclasses import dataclass
from pathlib import Path

import cachetools
import torch

from ..labels import FLAGS, primary_tone
from ..text.segment import Sentence, split
from . import artifact
from .alone import Alone, alone_mode
from .errors import AnalyzeError
from .features import (EmailInput, WordPieces, counted_sentences, encode_sentences, kind_of,
                       with_subject)
from .network import KIND_BODY, KIND_QUOTED

MESSAGES = {
    "threatening": "Reads as a threat or an invented deadline; give the reader a real reason to "
                   "act instead of a penalty.",
    "desperate": "Reads as desperate (pleading, apologising for following up or counting "
                 "unanswered emails); lead with something useful to the reader.",
    "me_talk": "Talks about the sender, not the reader; tie it to something specific about "
               "their situation or drop it.",
}


class LRUCache:
    """cachetools' LRUCache behind a lock (the service answers on several threads), counting
    hits and misses for /metrics; max_entries 0 keeps nothing."""

    def __init__(self, max_entries: int):
        self.max_entries = max_entries
        self._data = cachetools.LRUCache(maxsize=max(1, max_entries))
        self._lock = threading.Lock()
        self.hits = 0
        self.misses = 0

    def get(self, key):
        with self._lock:
            value = self._data.get(key)
            if value is None:
                self.misses += 1
            else:
                self.hits += 1
            return value

    def put(self, key, value):
        if self.max_entries <= 0:
            return
        with self._lock:
            self._data[key] = value

    def __len__(self):
        return len(self._data)

    def clear(self):
        with self._lock:
            self._data.clear()


@dataclass
class Inferred:
    """One email's sentences and the model's probabilities, before any threshold."""
    text: str
    sentences: list
    email: EmailInput
    sf: torch.Tensor
    st: torch.Tensor
    ef: torch.Tensor
    quoted_email: EmailInput | None = None
    ef_quoted: torch.Tensor | None = None


def _libc_trim():
    try:
        import ctypes

        return ctypes.CDLL("libc.so.6").malloc_trim
    except (OSError, AttributeError):  # not glibc
        return None


_malloc_trim = _libc_trim()


def release_free_memory() -> None:
    """Hand freed heap pages back to the system after a big batch (glibc keeps them)."""
    if _malloc_trim is not None:
        _malloc_trim(0)


CHUNK_CHARS = 100_000  # text the model reads at once in a batch (one email may be longer)


def _chunks(items: list[dict], count: int, chars: int):
    """(group, its characters): consecutive groups of at most `count` items and, unless one
    item alone is longer, at most `chars` characters of text and subject."""
    group, size = [], 0
    for item in items:
        n = sum(len(item.get(k) or "") for k in ("text", "subject") if isinstance(item.get(k), str))
        if group and (len(group) >= count or size + n > chars):
            yield group, size
            group, size = [], 0
        group.append(item)
        size += n
    if group:
        yield group, size


def decide(probs: torch.Tensor, weights: list[float]) -> torch.Tensor:
    """Label indices: argmax of probabilities times per-label weights (the thresholds)."""
    return (probs * torch.tensor(weights)).argmax(-1)


class Analyzer:
    def __init__(self, model_dir: Path | str | None = None, cache_size: int = 20000,
                 threads: int | None = None, compute: str | None = None):
        t0 = time.perf_counter()
        if threads:
            torch.set_num_threads(threads)
        # `pitchlint serve` gives each of its N workers cores / N threads; an analysis that runs
        # alone on the machine (Alone) takes every core while it runs (PITCHLINT_TORCH_ALONE).
        self.threads = torch.get_num_threads()
        cores = os.cpu_count() or 1
        self.alone_threads = cores if alone_mode() == "auto" and self.threads < cores else None
        self.alone = Alone()
        self._local = threading.local()
        self.model_dir = Path(model_dir or os.environ.get("PITCHLINT_MODEL_DIR")
                              or artifact.DEFAULT_MODEL_DIR)
        if not (self.model_dir / "config.json").exists():
            raise FileNotFoundError(f"no model at {self.model_dir} (config.json missing); "
                                    f"run `pitchlint train` or set PITCHLINT_MODEL_DIR")
        self.net, self.config = artifact.load_net(self.model_dir, compute)
        self.compute = self.net.compute
        self.pieces = WordPieces(self.model_dir / "tokenizer.json")
        self.name = self.config["name"]
        self.version = self.config["version"]
        cal = self.config.get("calibration", {})
        self.temperature = {k: cal.get(k, 1.0) for k in ("sentence_focus", "sentence_tone", "email_focus")}
        thr = self.config.get("thresholds", {})
        net_cfg = self.config["network"]
        self.focus_labels = list(net_cfg["sentence_focus_labels"])
        self.tone_labels = list(net_cfg["tone_labels"])
        self.email_labels = list(net_cfg["email_focus_labels"])
        self.focus_weights = [thr.get("sentence_focus", {}).get(l, 1.0) for l in self.focus_labels]
        self.tone_weights = [thr.get("sentence_tone", {}).get(l, 1.0) for l in self.tone_labels]
        self.email_threshold = thr.get("email_focus_me_talk", 0.5)
        self.cache = LRUCache(cache_size)
        if self.alone_threads is not None:
            artifact.bare_encoder(self.net.encoder).before_layer = self._retune
        self.load_seconds = time.perf_counter() - t0

    @property
    def model_info(self) -> dict:
        return {"name": self.name, "version": self.version}

    # --- the pieces ---------------------------------------------------------------------

    def _vectors(self, texts: list[str]) -> list[torch.Tensor]:
        out: list = [None] * len(texts)
        todo: dict[str, list[int]] = {}
        for i, t in enumerate(texts):
            v = self.cache.get((self.version, t))
            if v is None:
                todo.setdefault(t, []).append(i)
            else:
                out[i] = v
        if todo:
            uniq = list(todo)
            for t, v in zip(uniq, self._encode(uniq)):
                self.cache.put((self.version, t), v)
                for i in todo[t]:
                    out[i] = v
        return out

    def _encode(self, texts: list[str]) -> list[torch.Tensor]:
        """One sentence vector for each of `texts` (distinct, not cached)."""
        with torch.inference_mode():
            vecs = encode_sentences(self.net, self.pieces, self.pieces.ids(texts))
        return [v.clone() for v in vecs]

    def _probabilities(self, emails: list[EmailInput]):
        """Per email: sentence focus (S, 3), sentence tone (S, 3) and email focus (2,)
        probabilities, calibrated. Cost is linear in the emails' total length."""
        inputs = [(e.vectors, torch.tensor(e.kinds, dtype=torch.long),
                   torch.tensor(e.counted, dtype=torch.bool)) for e in emails]
        with torch.inference_mode():
            logits = self.net.forward_emails(inputs)
        t = self.temperature
        return ([torch.softmax(l["sentence_focus"] / t["sentence_focus"], -1) for l in logits],
                [torch.softmax(l["sentence_tone"] / t["sentence_tone"], -1) for l in logits],
                [torch.softmax(l["email_focus"] / t["email_focus"], -1) for l in logits])

    # --- the contract ---------------------------------------------------------------------

    def analyze(self, text: str, subject: str | None = None, mode: str = "compose") -> dict:
        return self.analyze_batch([{"text": text, "subject": subject, "mode": mode}])[0]

    def analyze_batch(self, items: list[dict], chunk: int = 64,
                      chunk_chars: int = CHUNK_CHARS) -> list[dict]:
        """Contract answers for many emails, in order. Bad items raise AnalyzeError.

        The model reads at most `chunk` emails or about `chunk_chars` characters at once, so
        the memory it needs is bounded whatever the batch holds."""
        results = []
        for group, chars in _chunks(items, chunk, chunk_chars):
            results.extend(self._analyze_chunk(group))
            if len(items) >= 16 or chars >= 20_000:
                release_free_memory()
        return results

    def _analyze_chunk(self, items: list[dict]) -> list[dict]:
        return self.decide_all(self.infer(items))

    @contextlib.contextmanager
    def _analysing(self):
        """One analysis, seen by the others on the machine (Alone). A worker that runs fewer
        threads than there are cores (`pitchlint serve`: cores / workers each) runs on every
        core while no other analysis runs beside it, and goes back to its own threads, layer by
        layer (_retune), as soon as one starts: two workers of one thread each on two cores
        otherwise gave a request alone one core of two."""
        with self.alone.analysing() as alone:
            if self.alone_threads is None:
                yield
                return
            state = self._local
            # this thread's own count: a request thread (gthread workers) that first ran while
            # another had widened the process's count would otherwise keep that count
            state.threads = torch.get_num_threads()
            state.active = True
            try:
                self._use(self.alone_threads if alone else self.threads)
                yield
            finally:
                state.active = False
                self._use(self.threads)

    def _use(self, threads: int) -> None:
        if self._local.threads != threads:
            torch.set_num_threads(threads)
            self._local.threads = threads

    def _retune(self) -> None:
        """Before each encoder layer of a widened analysis: back to the worker's own threads
        once another analysis runs beside it (the two processes' threads spinning on the same
        cores slowed both). Never widened again mid-analysis: doing so took concurrency 4 from
        101-104 to 57 emails/s; narrowing alone costs 10-20%."""
        if getattr(self._local, "active", False) and self._local.threads != self.threads \
                and not self.alone.alone_now():
            self._use(self.threads)

    def infer(self, items: list[dict]) -> list["Inferred"]:
        """The model's probabilities for each email (no decisions yet)."""
        with self._analysing():
            return self._infer(items)

    def _infer(self, items: list[dict]) -> list["Inferred"]:
        prepared = []
        for item in items:
            text = item.get("text")
            if not isinstance(text, str):
                raise AnalyzeError("invalid_text", "text must be a string")
            sentences = split(text)
            if not sentences:
                raise AnalyzeError("empty_text", "text is empty or only white space; "
                                   "send the email body to analyse")
            subject = (item.get("subject") or "").strip() if isinstance(item.get("subject"), str) else ""
            prepared.append((text, subject, sentences))
        all_texts = []
        for _, subject, sentences in prepared:
            if subject:
                all_texts.append(subject)
            all_texts.extend(s.text for s in sentences)
        vectors = self._vectors(all_texts)
        emails, pos = [], 0
        for _, subject, sentences in prepared:
            n = len(sentences) + bool(subject)
            kinds = [kind_of(s) for s in sentences]
            counted = [k == KIND_BODY for k in kinds]
            kinds, counted = with_subject(kinds, counted, bool(subject))
            emails.append(EmailInput(torch.stack(vectors[pos:pos + n]), kinds, counted, bool(subject)))
            pos += n
        sf, st, ef = self._probabilities(emails)
        # The email's focus if its own text turns out to hold no pitch and the quoted text
        # must count too ("FYI, is this legit?" above a forwarded pitch).
        with_quoted = [i for i, e in enumerate(emails) if KIND_QUOTED in e.kinds]
        ef_quoted = {}
        if with_quoted:
            alt = [EmailInput(emails[i].vectors, emails[i].kinds,
                              [k in (KIND_BODY, KIND_QUOTED) for k in emails[i].kinds],
                              emails[i].has_subject) for i in with_quoted]
            _, _, ef2 = self._probabilities(alt)
            ef_quoted = {i: (alt[j], ef2[j]) for j, i in enumerate(with_quoted)}
        return [Inferred(text, sentences, emails[i], sf[i], st[i], ef[i], *ef_quoted.get(i, (None, None)))
                for i, (text, _, sentences) in enumerate(prepared)]

    def decide_all(self, inferred: list["Inferred"]) -> list[dict]:
        """Contract answers from probabilities, with the current thresholds."""
        out = []
        for inf in inferred:
            e = inf.email
            off = int(e.has_subject)
            n = len(inf.sentences)
            sf, st = inf.sf[off:off + n], inf.st[off:off + n]
            focus_idx, tone_idx = self._sentence_labels(sf, st)
            pitch = [self.focus_labels[f] != "other" or self.tone_labels[t] != "neutral"
                     for f, t in zip(focus_idx, tone_idx)]
            counted = counted_sentences(e.kinds[off:], pitch)
            if inf.quoted_email is not None and counted != [k == KIND_BODY for k in e.kinds[off:]]:
                email, ef = inf.quoted_email, inf.ef_quoted
            else:
                email, ef = e, inf.ef
            out.append(self._answer(inf.sentences, email.counted[off:off + n], sf, st, ef,
                                    focus_idx, tone_idx))
        return out

    def _sentence_labels(self, sf, st) -> tuple[list[int], list[int]]:
        """Label indices per sentence: thresholds, then the GUIDE's rule that pressure is never
        `other` (a desperate or threatening sentence is about what the sender wants, me_talk,
        or rests on the reader's situation, customer_centric)."""
        focus_idx = decide(sf, self.focus_weights).tolist()
        tone_idx = decide(st, self.tone_weights).tolist()
        other = self.focus_labels.index("other")
        neutral = self.tone_labels.index("neutral")
        for k in range(len(focus_idx)):
            if tone_idx[k] != neutral and focus_idx[k] == other:
                weighted = sf[k] * torch.tensor(self.focus_weights)
                weighted[other] = -1.0
                focus_idx[k] = int(weighted.argmax())
        return focus_idx, tone_idx

    def _answer(self, sentences: list[Sentence], counted: list[bool], sf, st, ef,
                focus_idx: list[int], tone_idx: list[int]) -> dict:
        # Plain Python floats once per email, not a tensor element access per score.
        sf_rows = sf.tolist()
        st_rows = st.tolist()
        out_sentences = []
        for k, s in enumerate(sentences):
            focus = self.focus_labels[focus_idx[k]]
            tone = self.tone_labels[tone_idx[k]]
            flagged = focus == "me_talk" or tone != "neutral"
            message = (MESSAGES.get(tone) or MESSAGES.get(focus)) if flagged else None
            out_sentences.append({
                "start": s.start, "end": s.end, "text": s.text,
                "focus": {"label": focus, "scores": _scores(self.focus_labels, sf_rows[k])},
                "tone": {"label": tone, "scores": _scores(self.tone_labels, st_rows[k])},
                "flagged": flagged, "message": message,
                "quoted": s.quoted, "signature": s.signature,
            })
        rows = [st_rows[k] for k, c in enumerate(counted) if c]
        labels = {self.tone_labels[tone_idx[k]] for k, c in enumerate(counted) if c}
        flags = [f for f in FLAGS if f in labels]
        tone_scores = {}
        for f in FLAGS:
            j = self.tone_labels.index(f)
            tone_scores[f] = round(max((r[j] for r in rows), default=0.0), 4)
        j = self.tone_labels.index("neutral")
        tone_scores["neutral"] = round(min((r[j] for r in rows), default=1.0), 4)
        p_me = float(ef[self.email_labels.index("me_talk")])
        focus = "me_talk" if p_me >= self.email_threshold else "customer_centric"
        return {
            "model": self.model_info,
            "focus": {"label": focus, "scores": {"me_talk": round(p_me, 4),
                                                 "customer_centric": round(1 - p_me, 4)}},
            "tone": {"label": primary_tone(flags), "flags": flags, "scores": tone_scores},
            "sentences": out_sentences,
        }


def _scores(labels, probs) -> dict:
    return {l: round(p, 4) for l, p in zip(labels, probs)}


_shared: Analyzer | None = None
_shared_lock = threading.Lock()


def shared_analyzer(model_dir=None) -> Analyzer:
    """One analyzer per process (the model is loaded once)."""
    global _shared
    with _shared_lock:
        if _shared is None or (model_dir and Path(model_dir) != _shared.model_dir):
            _shared = Analyzer(model_dir)
        return _shared


__all__ = ["Analyzer", "AnalyzeError", "LRUCache", "MESSAGES", "shared_analyzer"]
