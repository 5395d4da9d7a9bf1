"""From text to the network's inputs, the same way in training and at run time."""
from __future__ import annotations

import heapq
import re
from dataclasses import dataclass
from pathlib import Path

import torch

from ..text.segment import Sentence
from .network import KIND_BODY, KIND_QUOTED, KIND_SIGNATURE, KIND_SUBJECT, chunk_token_ids

MAX_CHUNK_TOKENS = 126      # a sentence longer than this is read in overlapping windows
CHUNK_STRIDE = 96
PACK_TOKENS = 256           # sentences packed into rows of this many tokens
BATCH_TOKENS = 4096         # tokens per encoder call
# A call's rows are padded to a multiple of this many tokens. oneDNN builds (JIT-compiles) its
# bfloat16 kernels for each shape it meets, about 10 ms the first time, and with one shape per
# email length they also fell out of its cache of 1,024: on a 2-core Xeon with AMX, distinct
# 150-word corpus emails took a median of 28 ms (benchmarks/http_latency.py, "model's own time"
# with 2 threads) where one email analysed again and again took 13 ms. With widths of 32, 64,
# ..., 256 the shapes are few and stay built: 14-17 ms.
ROW_ALIGN = 32
_SURROGATE = re.compile("[\ud800-\udfff]")


def clean_for_model(text: str) -> str:
    """Same length as `text`, safe for the tokenizer: lone surrogates become U+FFFD."""
    return _SURROGATE.sub("\ufffd", text)


class WordPieces:
    """The MiniLM WordPiece tokenizer, without padding or truncation."""

    def __init__(self, path: Path):
        from tokenizers import Tokenizer

        self.tok = Tokenizer.from_file(str(path))
        self.tok.no_padding()
        self.tok.no_truncation()
        self.cls_id = self.tok.token_to_id("[CLS]")
        self.sep_id = self.tok.token_to_id("[SEP]")
        self.unk_id = self.tok.token_to_id("[UNK]")

    def ids(self, texts: list[str]) -> list[list[int]]:
        encs = self.tok.encode_batch([clean_for_model(t) for t in texts], add_special_tokens=False)
        out = []
        for e in encs:
            # A sentence of only emoji or unknown script still gets one token to read.
            out.append(e.ids or [self.unk_id])
        return out


def pack(pieces: list[list[int]], capacity: int) -> list[list[int]]:
    """Rows of piece indices, each row at most `capacity` tokens (first fit, longest first)."""
    order = sorted(range(len(pieces)), key=lambda i: -len(pieces[i]))
    rows: list[list[int]] = []
    room: list[int] = []
    for i in order:
        n = len(pieces[i])
        for r, free in enumerate(room):
            if n <= free:
                rows[r].append(i)
                room[r] -= n
                break
        else:
            rows.append([i])
            room.append(capacity - n)
    return rows


def balanced_rows(pieces: list[list[int]], capacity: int) -> list[list[int]]:
    """As many rows as pack() needs, filled about equally (each piece to the emptiest row,
    longest first), so a call padded to its fullest row pads little: 257 tokens are two rows
    of about 129, not one of 256 and one of 1. pack()'s rows where that would overfill one."""
    rows = pack(pieces, capacity)
    if len(rows) < 2:
        return rows
    emptiest = [(0, r) for r in range(len(rows))]    # (tokens, row): a heap
    out: list[list[int]] = [[] for _ in rows]
    for i in sorted(range(len(pieces)), key=lambda i: -len(pieces[i])):
        fill, r = heapq.heappop(emptiest)
        fill += len(pieces[i])
        if fill > capacity:
            return rows
        out[r].append(i)
        heapq.heappush(emptiest, (fill, r))
    return out


def aligned(width: int, align: int = ROW_ALIGN) -> int:
    return -(-width // align) * align


def encode_sentences(net, pieces: WordPieces, token_lists: list[list[int]],
                     batch_tokens: int = BATCH_TOKENS) -> torch.Tensor:
    """One vector per sentence (N, H); long sentences are averaged over their windows.

    Sentences are encoded on their own ([CLS] sentence [SEP], positions from 0), but several
    are packed into one row with a block-diagonal attention mask, so no work is spent on
    padding; the result is the same as encoding each one alone. Rows are filled about equally
    and each call's width is a multiple of ROW_ALIGN (padding attends only to itself).
    """
    chunks, owner = [], []
    for i, ids in enumerate(token_lists):
        for c in chunk_token_ids(ids, MAX_CHUNK_TOKENS, CHUNK_STRIDE):
            chunks.append([pieces.cls_id, *c, pieces.sep_id])
            owner.append(i)
    h = net.encoder.config.hidden_size
    if not chunks:
        return torch.zeros((0, h))
    rows = balanced_rows(chunks, PACK_TOKENS)
    rows.sort(key=lambda r: sum(len(chunks[i]) for i in r))
    per_batch = max(1, batch_tokens // PACK_TOKENS)
    chunk_vecs = [None] * len(chunks)
    for k in range(0, len(rows), per_batch):
        group = rows[k:k + per_batch]
        width = aligned(max(sum(len(chunks[i]) for i in r) for r in group))
        ids = torch.zeros((len(group), width), dtype=torch.long)
        pos = torch.zeros((len(group), width), dtype=torch.long)
        seg = torch.full((len(group), width), -1, dtype=torch.long)
        spans = []
        for b, r in enumerate(group):
            at = 0
            for i in r:
                n = len(chunks[i])
                ids[b, at:at + n] = torch.tensor(chunks[i])
                pos[b, at:at + n] = torch.arange(n)
                seg[b, at:at + n] = i
                spans.append((i, b, at, at + n))
                at += n
        same = seg[:, :, None] == seg[:, None, :]
        real = seg >= 0
        # Padding attends only to itself, so its rows stay finite.
        allowed = (same & real[:, :, None]) | torch.eye(width, dtype=torch.bool)[None]
        hidden = net.encoder(ids, allowed, position_ids=pos)
        for i, b, s, e in spans:
            chunk_vecs[i] = hidden[b, s:e].mean(0)
    weights = torch.tensor([float(len(c) - 2) for c in chunks])
    stacked = torch.stack(chunk_vecs)
    out = torch.zeros((len(token_lists), h), dtype=stacked.dtype)
    den = torch.zeros(len(token_lists))
    idx = torch.tensor(owner)
    out.index_add_(0, idx, stacked * weights[:, None])
    den.index_add_(0, idx, weights)
    return out / den[:, None]


def kind_of(sentence: Sentence) -> int:
    if sentence.quoted:
        return KIND_QUOTED
    if sentence.signature:
        return KIND_SIGNATURE
    return KIND_BODY


@dataclass
class EmailInput:
    """One email's sentence vectors and flags, ready for the context layer."""
    vectors: torch.Tensor          # (S, H): the subject first when there is one
    kinds: list[int]
    counted: list[bool]
    has_subject: bool


def context_batch(emails: list[EmailInput]):
    s = max(len(e.kinds) for e in emails)
    h = emails[0].vectors.shape[1]
    vec = torch.zeros((len(emails), s, h), dtype=emails[0].vectors.dtype)
    kinds = torch.zeros((len(emails), s), dtype=torch.long)
    mask = torch.zeros((len(emails), s), dtype=torch.bool)
    counted = torch.zeros((len(emails), s), dtype=torch.bool)
    for i, e in enumerate(emails):
        n = len(e.kinds)
        vec[i, :n] = e.vectors
        kinds[i, :n] = torch.tensor(e.kinds)
        mask[i, :n] = True
        counted[i, :n] = torch.tensor(e.counted)
    return vec, kinds, mask, counted


def counted_sentences(kinds: list[int], has_pitch: list[bool]) -> list[bool]:
    """Which sentences the email's labels rest on.

    The sender's own text (not quoted history, not the signature). When that holds no pitch
    at all ("FYI, is this legit?" above a forwarded pitch), the quoted text is what the reader
    is asking about, so it counts too.
    """
    own = [k == KIND_BODY for k in kinds]
    if any(o and p for o, p in zip(own, has_pitch)):
        return own
    return [k in (KIND_BODY, KIND_QUOTED) for k in kinds]


def with_subject(kinds: list[int], counted: list[bool], has_subject: bool):
    if not has_subject:
        return kinds, counted
    return [KIND_SUBJECT] + kinds, [False] + counted
