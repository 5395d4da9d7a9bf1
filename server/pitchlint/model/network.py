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
from torch import nn

from ..labels import EMAIL_FOCUS, SENTENCE_FOCUS, TONES
from .encoder import Encoder, EncoderConfig, mean_pool

# What a position in the context sequence holds.
KIND_BODY, KIND_QUOTED, KIND_SIGNATURE, KIND_SUBJECT = 0, 1, 2, 3
MAX_POSITIONS = 64


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
        """Logits for every sentence and for the email.

        vectors: (B, S, H) sentence vectors; kinds: (B, S) KIND_*; mask: (B, S) real positions;
        counted: (B, S) positions that count toward the email's labels.
        """
        b, s, _ = vectors.shape
        idx = torch.arange(s, device=vectors.device)[None].expand(b, s)
        length = mask.sum(1, keepdim=True)
        from_end = (length - 1 - idx).clamp(min=0)
        x = (vectors + self.position(idx.clamp(max=MAX_POSITIONS - 1))
             + self.from_end(from_end.clamp(max=MAX_POSITIONS - 1)) + self.kind(kinds))
        c = self.context_norm(self.context(self.drop(x), src_key_padding_mask=~mask))
        both = self.drop(torch.cat([vectors, c], dim=-1))
        out = {"sentence_focus": self.sentence_focus(both), "sentence_tone": self.sentence_tone(both)}
        score = self.email_attention(c).squeeze(-1).masked_fill(~counted, float("-inf"))
        weights = torch.softmax(score, dim=1).nan_to_num(0.0)
        pooled = (weights[..., None] * c).sum(1)
        mean = (counted[..., None] * c).sum(1) / counted.sum(1, keepdim=True).clamp(min=1)
        out["email_focus"] = self.email_focus(self.drop(torch.cat([pooled, mean], dim=-1)))
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
