"""Nearest-neighbour similarity between two sets of emails, to keep held-out email out of training.

Word overlap catches copies; paraphrases need meaning. Each email (and each sentence) is
embedded with the base MiniLM sentence encoder (as all-MiniLM-L6-v2 is meant to be used: mean
pooling, unit length), and every training email is compared with every held-out email.
"""
from __future__ import annotations

import torch

from .encoder import base_encoder_dir, load_base_encoder, mean_pool
from .features import WordPieces

# A training email this close to a held-out email (cosine of the whole-email embeddings) is
# treated as a paraphrase of it.
EMAIL_THRESHOLD = 0.80
# ...and so is one with a pitch sentence this close to a held-out sentence...
COPY_THRESHOLD = 0.90
# ...or with two pitch sentences this close to sentences of the same held-out email.
SENTENCE_THRESHOLD = 0.85


class Embedder:
    def __init__(self):
        self.encoder = load_base_encoder().eval()
        self.pieces = WordPieces(base_encoder_dir() / "tokenizer.json")

    def embed(self, texts: list[str], max_tokens: int = 254, batch: int = 32) -> torch.Tensor:
        ids = [x[:max_tokens] for x in self.pieces.ids(texts)]
        order = sorted(range(len(ids)), key=lambda i: len(ids[i]))
        out = torch.zeros((len(ids), self.encoder.config.hidden_size))
        from .network import pad_batch

        with torch.inference_mode():
            for k in range(0, len(order), batch):
                group = order[k:k + batch]
                t, m = pad_batch([ids[i] for i in group], self.pieces.cls_id, self.pieces.sep_id)
                v = torch.nn.functional.normalize(mean_pool(self.encoder(t, m), m), dim=-1)
                out[group] = v
        return out


def nearest(train: list[dict], held_out: list[dict], embedder: Embedder | None = None) -> list[dict]:
    """For each training email: its most similar held-out email and the similarity."""
    embedder = embedder or Embedder()
    a = embedder.embed([r["text"] for r in train])
    b = embedder.embed([r["text"] for r in held_out])
    sims = a @ b.T
    best, idx = sims.max(dim=1)
    return [{"id": r["id"], "nearest": held_out[int(j)]["id"], "similarity": round(float(s), 4)}
            for r, s, j in zip(train, best, idx)]


def paraphrases(train: list[dict], held_out: list[dict], embedder: Embedder | None = None) -> dict:
    """Training emails too close to a held-out email: {train id: reason}.

    - the whole email is within EMAIL_THRESHOLD of a held-out email, or
    - one of its pitch sentences (labelled anything but other/neutral) is within
      COPY_THRESHOLD of a held-out sentence, or
    - two of its pitch sentences are within SENTENCE_THRESHOLD of the same held-out email.
    Stock lines that every inbox has ("I hope this email finds you well.") are labelled
    other/neutral and do not count.
    """
    embedder = embedder or Embedder()
    out = {}
    for r in nearest(train, held_out, embedder):
        if r["similarity"] >= EMAIL_THRESHOLD:
            out[r["id"]] = f"whole email {r['similarity']:.2f} like {r['nearest']}"

    def pitch(records):
        rows = []
        for r in records:
            for s in r["sentences"]:
                if s["focus"] == "other" and s["tone"] == "neutral":
                    continue
                rows.append((r["id"], r["text"][s["start"]:s["end"]]))
        return rows

    tr, ho = pitch(train), pitch(held_out)
    if not tr or not ho:
        return out
    sims = embedder.embed([t for _, t in tr]) @ embedder.embed([t for _, t in ho]).T
    best, idx = sims.max(dim=1)
    close: dict[tuple[str, str], int] = {}
    for (rid, text), s, j in zip(tr, best.tolist(), idx.tolist()):
        hid, htext = ho[j]
        if s >= COPY_THRESHOLD:
            out.setdefault(rid, f"sentence {s:.2f} like {hid}: {text!r} ~ {htext!r}")
        if s >= SENTENCE_THRESHOLD:
            close[(rid, hid)] = close.get((rid, hid), 0) + 1
    for (rid, hid), n in close.items():
        if n >= 2:
            out.setdefault(rid, f"{n} sentences like {hid}")
    return out
