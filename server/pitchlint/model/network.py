"""The Pitchlint network: MiniLM sentence encoder, an email-context layer, and the heads.

Each sentence is encoded on its own by the fine-tuned MiniLM (so its vector can be cached and
re-used while someone types), then a small transformer reads the email's sentences in order,
with the subject first, so that every sentence label depends on the email around it. The
sentence heads see both the sentence's own vector and its vector in context; the email focus
head pools the sentences that count (not quoted history, not the signature).
"""
from __future__ import annotations

from dataclasses import dataclass, field

import torch
import torch.nn.functional as F
from torch import nn

from ..labels import EMAIL_FOCUS, SENTENCE_FOCUS, TONES
from .encoder import Encoder, EncoderConfig, mean_pool

# What a position in the context sequence holds.
KIND_BODY, KIND_QUOTED, KIND_SIGNATURE, KIND_SUBJECT = 0, 1, 2, 3
MAX_POSITIONS = 64
# The context layers attend over at most this many sentences at once (longer emails are read in
# overlapping windows, so time and memory grow linearly with length); the corpus's longest
# email has 38 sentences, so every email the network was trained on fits in one window.
CONTEXT_WINDOW = 64
CONTEXT_MARGIN = 8
WINDOWS_PER_CALL = 64


@dataclass
class NetConfig:
    encoder: dict = field(default_factory=lambda: EncoderConfig().to_dict())
    context_layers: int = 2
    context_heads: int = 6
    context_ff: int = 768
    dropout: float = 0.1
    sentence_focus_labels: tuple = SENTENCE_FOCUS
    tone_labels: tuple = TONES
    email_focus_labels: tuple = EMAIL_FOCUS


class PitchlintNet(nn.Module):
    def __init__(self, cfg: NetConfig, encoder: Encoder | None = None):
        super().__init__()
        self.cfg = cfg
        self.encoder = encoder or Encoder(EncoderConfig(**cfg.encoder))
        h = self.encoder.config.hidden_size
        self.position = nn.Embedding(MAX_POSITIONS, h)
        self.from_end = nn.Embedding(MAX_POSITIONS, h)
        self.kind = nn.Embedding(4, h)
        layer = nn.TransformerEncoderLayer(h, cfg.context_heads, cfg.context_ff, cfg.dropout,
                                           activation="gelu", batch_first=True, norm_first=True)
        self.context = nn.TransformerEncoder(layer, cfg.context_layers, enable_nested_tensor=False)
        self.context_norm = nn.LayerNorm(h)
        self.drop = nn.Dropout(cfg.dropout)
        self.sentence_focus = nn.Linear(2 * h, len(cfg.sentence_focus_labels))
        self.sentence_tone = nn.Linear(2 * h, len(cfg.tone_labels))
        self.email_attention = nn.Linear(h, 1)
        self.email_focus = nn.Linear(2 * h, len(cfg.email_focus_labels))
        for emb in (self.position, self.from_end, self.kind):
            nn.init.normal_(emb.weight, std=0.02)

    # --- stage 1: sentences on their own (cacheable) -------------------------------------

    def encode_chunks(self, input_ids, attention_mask):
        """Mean-pooled MiniLM vectors, one per chunk of tokens."""
        return mean_pool(self.encoder(input_ids, attention_mask), attention_mask)

    # --- stage 2: the email ----------------------------------------------------------------

    def forward_context(self, vectors, kinds, mask, counted):
        """Logits for every sentence and for the email (training: a padded batch of emails).

        vectors: (B, S, H) sentence vectors; kinds: (B, S) KIND_*; mask: (B, S) real positions;
        counted: (B, S) positions that count toward the email's labels.
        """
        b, s, _ = vectors.shape
        idx = torch.arange(s, device=vectors.device)[None].expand(b, s)
        length = mask.sum(1, keepdim=True)
        c = self.contextualize(self.embed(vectors, kinds, idx, length - 1 - idx), mask)
        return self.heads(vectors, c, counted)

    def embed(self, vectors, kinds, idx, from_end):
        """Sentence vectors plus where each sentence stands (from the start and from the end of
        the email, both clamped: the network reads the 63rd and the 6,000th sentence alike)."""
        return (vectors + self.position(idx.clamp(0, MAX_POSITIONS - 1))
                + self.from_end(from_end.clamp(0, MAX_POSITIONS - 1)) + self.kind(kinds))

    def contextualize(self, x, mask):
        """Each sentence's vector in the context of the others (B, S, H)."""
        return self.context_norm(self.context(self.drop(x), src_key_padding_mask=~mask))

    def heads(self, vectors, c, counted):
        """Sentence and email logits from the sentences' own vectors and their vectors in
        context ((B, S, H) or (S, H)); written so that no (S, 2H) or (S, H) temporary is made,
        which matters for an email of thousands of sentences."""
        h = vectors.shape[-1]
        own, ctx = self.drop(vectors), self.drop(c)

        def on_both(linear):  # linear(cat([own, ctx])) without the concatenation
            return F.linear(own, linear.weight[:, :h]) + F.linear(ctx, linear.weight[:, h:], linear.bias)

        out = {"sentence_focus": on_both(self.sentence_focus), "sentence_tone": on_both(self.sentence_tone)}
        score = self.email_attention(c).squeeze(-1).masked_fill(~counted, float("-inf"))
        weights = torch.softmax(score, dim=-1).nan_to_num(0.0)
        pooled = (weights.unsqueeze(-2) @ c).squeeze(-2)
        share = counted.to(c.dtype) / counted.sum(-1, keepdim=True).clamp(min=1)
        mean = (share.unsqueeze(-2) @ c).squeeze(-2)
        out["email_focus"] = self.email_focus(self.drop(torch.cat([pooled, mean], dim=-1)))
        return out

    def forward_emails(self, emails: list[tuple], max_windows: int = WINDOWS_PER_CALL) -> list[dict]:
        """Logits for each of several emails of any length, at a cost linear in their length.

        `emails` holds (vectors (S, H), kinds (S,), counted (S,)) per email. The context layers
        attend within windows of CONTEXT_WINDOW sentences (an email that fits in one window is
        read exactly as in training); each sentence takes its vector from the window in which it
        has at least CONTEXT_MARGIN neighbours on each side (or the email's edge). Windows of all
        the emails are batched together, so one long email costs no padding for the others.
        """
        jobs = [(e, *w) for e, (vectors, _, _) in enumerate(emails)
                for w in context_windows(vectors.shape[0])]
        in_context = [vectors.new_empty(vectors.shape) for vectors, _, _ in emails]
        h = self.encoder.config.hidden_size
        for k in range(0, len(jobs), max_windows):
            group = jobs[k:k + max_windows]
            width = max(we - ws for _, ws, we, _, _ in group)
            x = emails[0][0].new_zeros((len(group), width, h))
            mask = torch.zeros((len(group), width), dtype=torch.bool, device=x.device)
            for b, (e, ws, we, _, _) in enumerate(group):
                vectors, kinds, _ = emails[e]
                n = vectors.shape[0]
                idx = torch.arange(ws, we, device=x.device)
                x[b, :we - ws] = self.embed(vectors[ws:we], kinds[ws:we], idx, n - 1 - idx)
                mask[b, :we - ws] = True
            c = self.contextualize(x, mask)
            for b, (e, ws, _, cs, ce) in enumerate(group):
                in_context[e][cs:ce] = c[b, cs - ws:ce - ws]
            del x, c
        return [self.heads(vectors, in_context[e], counted)
                for e, (vectors, _, counted) in enumerate(emails)]


def context_windows(n: int, window: int = CONTEXT_WINDOW, margin: int = CONTEXT_MARGIN):
    """(start, end, core_start, core_end) of the windows the context layers read for an email
    of n sentences: every window at most `window` long, the cores cover 0..n once, and each
    core has `margin` sentences of context on both sides except at the email's edges."""
    if n <= window:
        return [(0, n, 0, n)]
    out, cs = [], 0
    while cs < n:
        ws = max(0, min(cs - margin, n - window))
        we = min(n, ws + window)
        ce = n if we == n else we - margin
        out.append((ws, we, cs, ce))
        cs = ce
    return out


def chunk_token_ids(ids: list[int], max_tokens: int, stride: int) -> list[list[int]]:
    """Overlapping windows over a sentence's tokens (without [CLS]/[SEP])."""
    if len(ids) <= max_tokens:
        return [ids]
    out, start = [], 0
    while True:
        out.append(ids[start:start + max_tokens])
        if start + max_tokens >= len(ids):
            return out
        start += stride


def pad_batch(seqs: list[list[int]], cls_id: int, sep_id: int, pad_id: int = 0):
    longest = max(len(s) for s in seqs) + 2
    ids = torch.full((len(seqs), longest), pad_id, dtype=torch.long)
    mask = torch.zeros((len(seqs), longest), dtype=torch.long)
    for i, s in enumerate(seqs):
        row = [cls_id, *s, sep_id]
        ids[i, :len(row)] = torch.tensor(row)
        mask[i, :len(row)] = 1
    return ids, mask
