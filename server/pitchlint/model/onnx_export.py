"""`pitchlint onnx export`: the shipped model as ONNX, for ONNX Runtime on the server and for
onnxruntime-web inside the browser extension.

    models/pitchlint-minilm-onnx/          (beside the model it was exported from)
        encoder.onnx     MiniLM: packed token rows in, one hidden vector per token out
        context.onnx     the context layers and the heads: sentence vectors of whole emails
                         (cut into windows by the caller) in, the network's logits out
        tokenizer.json   the model's WordPiece tokenizer
        model.json       what a runtime needs besides the graphs: labels, temperatures,
                         thresholds, messages, chunking and window sizes, file hashes, the
                         hashes of the artifact it came from, and how it was quantized

Two graphs, because sentence vectors are cached: while someone types, only the sentences that
changed go through the encoder, and the (small) context graph reads the whole email again.

The encoder ships as `a8` (the default): every product with a weight runs in int8 arithmetic.
The weights are the artifact's own int8 rows; each token's activations are quantized on their
own as the graph runs (one scale per token, QuantizeLinear on axis 0), multiplied in exact
integer arithmetic and scaled back in the same operator (MatMulIntegerToFloat; EncoderGraph8,
Linear8). Nothing is computed across tokens; the attention runs chunk by chunk (_ChunkBlocks)
and sums its softmax's normaliser with the same product as the values
(blocked_attention_by_sums), so a sentence's vector does not depend on its batch-mates: to the
last bit in WebAssembly, within a unit or two in the last place on x86 (whose float kernels
group a sum by the block's padded width). Constant offsets (LayerNorm biases, the value bias,
GELU's floor) are folded into biases so what is quantized is centred. Against the PyTorch
runtime in fp32, 99.6-100% of labels are identical (README, "On-device mode", has `pitchlint
onnx parity`'s figures); `w8` takes about 1.4 times its time in the browser and 1.25-1.65 times
on a server CPU.

`w8` stores the same int8 rows but expands them to fp32 when a session loads, and computes
exactly what the PyTorch runtime computes in fp32 (exact parity; slower).

Two other int8 variants can be exported for comparison (`--encoder`); neither holds what the
runtime promises on this model:
- `int8`: ONNX Runtime's MatMulNBits, 8-bit weights in blocks of 128, activations quantized to
  int8 per row and block as each call runs (accuracy level 4). Holds the 99% label parity, but
  ONNX Runtime picks int8 or fp32 kernels by the batch's size, so a sentence's scores move by up
  to about 0.03 with its batch-mates, enough to change a few labels.
- `int8-static`: huggingface/optimum's recipe, one activation scale per tensor fitted on
  sentences of the corpus's training split (QDQ). Independent of the batch, but 2-3% of labels
  change: below the parity target.
The word and position embeddings stay the artifact's int8 rows with their scales (gathered, then
scaled) in every variant, so no graph holds a float copy of the 30,522-word table. The context
graph stores its matrices as int8 rows too and computes in fp32.
"""
from __future__ import annotations

import hashlib
import json
import math
import random
import shutil
import tempfile
import time
import warnings
from dataclasses import dataclass
from pathlib import Path

import torch
import torch.nn.functional as F
from torch import nn

from . import artifact
from .network import CONTEXT_MARGIN, CONTEXT_WINDOW, MAX_POSITIONS

FORMAT = "pitchlint-onnx/1"
OPSET = 17
ENCODER_FILE = "encoder.onnx"
CONTEXT_FILE = "context.onnx"
TOKENIZER_FILE = "tokenizer.json"
MANIFEST_FILE = "model.json"
ENCODER_VARIANTS = ("w8", "a8", "int8", "int8-static")
NBITS_BLOCK = 128
CALIBRATION_EMAILS = 400          # training-split emails whose sentences fit the activation scales
MASKED = -10000.0                 # additive attention bias for keys a token may not see


def default_export_dir(model_dir: Path | str) -> Path:
    """models/pitchlint-minilm -> models/pitchlint-minilm-onnx (any model directory alike)."""
    model_dir = Path(model_dir).resolve()
    return model_dir.parent / f"{model_dir.name}-onnx"


def sha256_file(path: Path | str) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def source_fingerprint(model_dir: Path | str) -> dict:
    """The hashes of the artifact files an export is made from: a retrained model differs."""
    model_dir = Path(model_dir)
    return {name: sha256_file(model_dir / name)
            for name in ("weights.safetensors", "config.json", "tokenizer.json")}


# --- the graphs, written out from the artifact's own tensors -------------------------------

class RawState:
    """The artifact's tensors as stored: int8 rows with their scales where it has them."""

    def __init__(self, model_dir: Path):
        from safetensors.torch import load_file

        self.raw = load_file(str(Path(model_dir) / "weights.safetensors"))

    def has_int8(self, name: str) -> bool:
        return name + ".int8" in self.raw

    def int8(self, name: str) -> tuple[torch.Tensor, torch.Tensor]:
        return self.raw[name + ".int8"], self.raw[name + ".scale"]

    def float(self, name: str) -> torch.Tensor:
        if self.has_int8(name):
            q, scale = self.int8(name)
            return q.float() * scale[:, None]
        return self.raw[name].float()


class Int8Rows(nn.Module):
    """An embedding table kept as int8 rows and a scale per row: rows are gathered first, then
    scaled, so the graph never holds the table in float."""

    def __init__(self, state: RawState, name: str):
        super().__init__()
        if state.has_int8(name):
            q, scale = state.int8(name)
        else:  # a table small enough to be stored in float: one scale of 1 per row
            q, scale = state.float(name), torch.ones(state.float(name).shape[0])
        self.register_buffer("rows", q.contiguous())
        self.register_buffer("scale", scale.float().contiguous())

    def forward(self, ids):
        return self.rows[ids].float() * self.scale[ids].unsqueeze(-1)


class Linear(nn.Module):
    """y = x W^T + b with the artifact's weight: in float (for the quantizer, which finds the
    int8 rows again), or as int8 rows expanded in the graph (ONNX Runtime folds that once, when
    the session loads)."""

    def __init__(self, state: RawState, name: str, store_int8: bool, weight=None, bias=None):
        super().__init__()
        self.store_int8 = store_int8 and weight is None and state.has_int8(name + ".weight")
        if self.store_int8:
            q, scale = state.int8(name + ".weight")
            self.register_buffer("q", q.contiguous())
            self.register_buffer("scale", scale.contiguous())
        else:
            w = state.float(name + ".weight") if weight is None else weight
            self.register_buffer("weight", w.contiguous())
        b = state.float(name + ".bias") if bias is None else bias
        self.register_buffer("bias", b.contiguous())

    def matrix(self):
        if self.store_int8:
            return self.q.float() * self.scale[:, None]
        return self.weight

    def forward(self, x):
        return torch.matmul(x, self.matrix().t()) + self.bias


GELU_FLOOR = -0.17   # GELU's minimum is -0.16997: inputs of the second FFN product minus this are >= 0


class _TokenInt8Product(torch.autograd.Function):
    """x (tokens, K) quantized per token, times int8 rows, in exact integer arithmetic.

    PyTorch side: the same arithmetic in float (it gives the export its shapes). ONNX side:
    QuantizeLinear with one scale per token (axis 0), then ONNX Runtime's MatMulIntegerToFloat
    (com.microsoft): the exact int32 products, each turned to float and multiplied by its output
    row's weight scale as the product's tiles are written (the token scale given to it is 1, so
    this is exactly MatMulInteger, Cast and Mul, in one pass instead of three); then the token's
    scale and the bias.
    Signed inputs are stored as uint8 around a fixed zero point of 128 (symmetric per token:
    scale = max |x| / 127); unsigned ones (x >= 0) use 0..255 with zero point 0. `zp` is that
    zero point for every token (made once per graph)."""

    @staticmethod
    def forward(ctx, x, zp, q_t, w_scale, bias, unsigned: bool):
        if unsigned:
            s = torch.clamp(x.amax(-1, keepdim=True), min=1e-12) / 255.0
            q = torch.clamp(torch.round(x / s), 0.0, 255.0)
        else:
            s = torch.clamp(x.abs().amax(-1, keepdim=True), min=1e-12) / 127.0
            q = torch.clamp(torch.round(x / s), -127.0, 127.0)
        return torch.matmul(q.double(), q_t.double()).float() * w_scale * s + bias

    @staticmethod
    def symbolic(g, x, zp, q_t, w_scale, bias, unsigned: bool):
        def const(value, dtype):
            return g.op("Constant", value_t=torch.tensor(value, dtype=dtype))

        top = g.op("ReduceMax", x if unsigned else g.op("Abs", x), axes_i=[1], keepdims_i=0)
        levels, zero = (255.0, 0) if unsigned else (127.0, 128)
        s = g.op("Div", g.op("Max", top, const(1e-12, torch.float32)), const(levels, torch.float32))
        q = g.op("QuantizeLinear", x, s, zp, axis_i=0)
        y = g.op("com.microsoft::MatMulIntegerToFloat", q, q_t, const(1.0, torch.float32), w_scale,
                 const(zero, torch.uint8))
        return g.op("Add", g.op("Mul", y, g.op("Unsqueeze", s, const([1], torch.int64))), bias)


# a8's attention runs chunk by chunk (_ChunkBlocks): each call is one row of chunks of similar
# length whose blocks, padded to the call's longest chunk, hold at most this many cells
# (onnx_runtime.block_groups; the extension's blockGroups). Smaller calls keep a call's
# activations (cells x 1,536 floats in the FFN) near the cores' caches: on a 2-core Xeon (2 MB
# L2 a core), 1,024 against 4,096 cells took 400 corpus emails from 784-811 to 867-908
# sentences/s, 100,000 characters of `mixed` from 3.8-4.0 s and 407 MB to 3.5 s and 236 MB, and
# a 321-sentence email in onnxruntime-web (Node) from 1.57 to 1.31 s; one 8-sentence email (376
# cells) is one call either way.
A8_BLOCK_CELLS = 1024

A8_QUANTIZATION = {"format": "MatMulIntegerToFloat", "weights": "int8, per row (the artifact's)",
                   "activations": "int8 per token (uint8 for the second FFN product), at run time",
                   "operators": ["MatMul"]}


class Linear8(nn.Module):
    """y = x W^T + b in int8 arithmetic; a token's answer depends only on that token.

    Each token's input is quantized on its own (one scale per token, from its largest value) and
    multiplied by the artifact's own int8 rows in exact integer arithmetic (MatMulIntegerToFloat):
    nothing is computed across tokens, so a sentence gets the same products alone or packed with
    any others. `offset`, a constant taken off the input first (its product with W goes into the
    bias), and `extra_bias` serve EncoderGraph8's folding."""

    def __init__(self, state: RawState, names: list[str], offset: float = 0.0, unsigned: bool = False,
                 extra_bias: torch.Tensor | None = None, drop_bias: slice | None = None):
        super().__init__()
        qs, scales, biases = [], [], []
        for name in names:
            q, scale = state.int8(name + ".weight")
            qs.append(q)
            scales.append(scale.float())
            biases.append(state.float(name + ".bias"))
        q, scale, bias = torch.cat(qs), torch.cat(scales), torch.cat(biases)
        if drop_bias is not None:
            bias[drop_bias] = 0.0
        # The folded biases are summed in float64 and rounded once: in float32 their sums'
        # grouping follows the CPU's kernels, and the export's bytes (and, through the per-token
        # rounding, a few of its vectors' last digits) then depended on the machine it ran on.
        w = q.double() * scale.double()[:, None]
        bias = bias.double() + offset * w.sum(1)
        if extra_bias is not None:
            bias = bias + extra_bias.double()
        bias = bias.float()
        self.unsigned = unsigned
        self.offset = offset
        self.register_buffer("q_t", q.t().contiguous())                 # (K, N) int8
        self.register_buffer("scale", scale.contiguous())
        self.register_buffer("bias", bias.contiguous())

    def matrix(self):
        return (self.q_t.float() * self.scale).t()

    def forward(self, x, zp):
        if self.offset:
            x = x - self.offset
        return _TokenInt8Product.apply(x, zp, self.q_t, self.scale, self.bias, self.unsigned)


class LayerNorm(nn.Module):
    def __init__(self, state: RawState, name: str, eps: float):
        super().__init__()
        self.register_buffer("weight", state.float(name + ".weight"))
        self.register_buffer("bias", state.float(name + ".bias"))
        self.eps = eps
        self.width = int(self.weight.shape[0])

    def forward(self, x):
        return F.layer_norm(x, (self.width,), self.weight, self.bias, self.eps)


def attention(q, k, v, bias, heads: int):
    """Multi-head attention over (B, N, H) projections with an additive bias (B, 1|heads, N, N)."""
    b, n, h = q.shape
    d = h // heads
    q = q.reshape(b, n, heads, d).transpose(1, 2)
    k = k.reshape(b, n, heads, d).permute(0, 2, 3, 1)
    v = v.reshape(b, n, heads, d).transpose(1, 2)
    scores = torch.matmul(q, k) * (1.0 / math.sqrt(d)) + bias
    return torch.matmul(torch.softmax(scores, dim=-1), v).transpose(1, 2).reshape(b, n, h)


def blocked_attention_by_sums(qkv, bias, ones, heads: int):
    """Attention within each chunk, chunks laid out heads first: qkv (3 * heads, C, W, d), the
    query already scaled by 1 / sqrt(d) (EncoderGraph8 folds that into its product), bias
    (C, 1, W), ones (heads, C, W, 1); the result (heads, C * W, d).

    The softmax's normaliser is summed by the same product as the values (V with a column of
    ones), where a block's padding keys add exact zeros after the chunk's own, instead of by a
    vectorised sum whose grouping would follow the block's width."""
    q, k, v = qkv.split(heads, dim=0)
    scores = torch.matmul(q, k.transpose(-1, -2)) + bias
    p = torch.exp(scores - scores.amax(-1, keepdim=True))
    out = torch.matmul(p, torch.cat([v, ones], -1))
    d = q.shape[-1]
    return (out[..., :d] / out[..., d:]).reshape(heads, -1, d)


class _ChunkBlocks(torch.autograd.Function):
    """Where each chunk's tokens are, for attention chunk by chunk.

    From packed rows' position_ids and segment_ids (B, L), with T = B * L tokens: `blocks`
    (C, W), for each of the C chunks (in reading order) the flat index of its tokens, padded to
    W, the longest chunk, with 0; `keys` (C, W), true where `blocks` holds a token of the chunk
    (padding is masked out of the attention); `slot` (T,), for each token its place in `blocks`
    read as one vector (0 for padding tokens, whose output nobody reads). A chunk starts where
    its position is 0 and its segment is not."""

    @staticmethod
    def forward(ctx, position_ids, segment_ids):
        pos, seg = position_ids.reshape(-1), segment_ids.reshape(-1)
        valid = seg != 0
        start = valid & (pos == 0)
        chunk = torch.cumsum(start.long(), 0) - 1
        width = int(pos.max()) + 1
        chunks = int(start.sum())
        where = chunk * width + pos
        keys = torch.zeros(chunks * width, dtype=torch.bool)
        keys[where[valid]] = True
        blocks = torch.zeros(chunks * width, dtype=torch.long)
        blocks[where[valid]] = torch.arange(pos.shape[0])[valid]
        slot = torch.where(valid, where, torch.zeros_like(pos))
        return blocks.reshape(chunks, width), keys.reshape(chunks, width), slot

    @staticmethod
    def symbolic(g, position_ids, segment_ids):
        def const(value, dtype=torch.long):
            return g.op("Constant", value_t=torch.tensor(value, dtype=dtype))

        pos = g.op("Reshape", position_ids, const([-1]))
        seg = g.op("Reshape", segment_ids, const([-1]))
        valid = g.op("Not", g.op("Equal", seg, const(0)))
        start = g.op("And", valid, g.op("Equal", pos, const(0)))
        starts = g.op("Cast", start, to_i=7)
        chunk = g.op("Sub", g.op("CumSum", starts, const(0)), const(1))
        width = g.op("Add", g.op("ReduceMax", pos, keepdims_i=0), const(1))
        chunks = g.op("ReduceSum", starts, keepdims_i=0)
        cells = g.op("Mul", chunks, width)
        # padding tokens write to one cell past the end, cut off below
        where = g.op("Where", valid, g.op("Add", g.op("Mul", chunk, width), pos), cells)
        tokens = g.op("Squeeze", g.op("Shape", seg), const([0]))
        room = g.op("Unsqueeze", g.op("Add", cells, const(1)), const([0]))
        every = g.op("ScatterElements", g.op("Expand", const(0), room), where,
                     g.op("Range", const(0), tokens, const(1)), axis_i=0)
        seen = g.op("ScatterElements", g.op("Expand", const(False, torch.bool), room), where,
                    g.op("Expand", const(True, torch.bool), g.op("Shape", seg)), axis_i=0)
        shape = g.op("Concat", g.op("Unsqueeze", chunks, const([0])), g.op("Unsqueeze", width, const([0])), axis_i=0)
        end = g.op("Unsqueeze", cells, const([0]))
        blocks = g.op("Reshape", g.op("Slice", every, const([0]), end), shape)
        keys = g.op("Reshape", g.op("Slice", seen, const([0]), end), shape)
        slot = g.op("Where", valid, where, const(0))
        return blocks, keys, slot


class EncoderGraph(nn.Module):
    """MiniLM over packed rows.

    input_ids, position_ids, segment_ids: (B, L) int64. Several chunks ([CLS] tokens [SEP]) share
    a row, each numbered from 1 in `segment_ids` with positions from 0; 0 marks padding. A token
    attends only to its own chunk, so a chunk's result is the same as encoding it alone.
    Output: hidden (B, L, H); the caller averages each chunk's tokens.
    """

    def __init__(self, state: RawState, cfg: dict, store_int8: bool):
        super().__init__()
        self.heads = cfg["num_attention_heads"]
        eps = cfg["layer_norm_eps"]
        p = "encoder.embeddings."
        self.word = Int8Rows(state, p + "word_embeddings.weight")
        self.position = Int8Rows(state, p + "position_embeddings.weight")
        self.register_buffer("token_type", state.float(p + "token_type_embeddings.weight")[0].contiguous())
        self.embed_norm = LayerNorm(state, p + "LayerNorm", eps)
        self.layers = nn.ModuleList()
        for i in range(cfg["num_hidden_layers"]):
            p = f"encoder.layers.{i}."
            layer = nn.Module()
            # query, key and value as one product, as the PyTorch runtime runs them
            if store_int8:
                layer.query = Linear(state, p + "query", True)
                layer.key = Linear(state, p + "key", True)
                layer.value = Linear(state, p + "value", True)
            else:
                w = torch.cat([state.float(p + n + ".weight") for n in ("query", "key", "value")])
                b = torch.cat([state.float(p + n + ".bias") for n in ("query", "key", "value")])
                layer.qkv = Linear(state, p + "qkv", False, weight=w, bias=b)
            layer.attn_out = Linear(state, p + "attn_out", store_int8)
            layer.attn_norm = LayerNorm(state, p + "attn_norm", eps)
            layer.intermediate = Linear(state, p + "intermediate", store_int8)
            layer.output = Linear(state, p + "output", store_int8)
            layer.out_norm = LayerNorm(state, p + "out_norm", eps)
            self.layers.append(layer)

    def forward(self, input_ids, position_ids, segment_ids):
        x = self.word(input_ids) + self.position(position_ids) + self.token_type
        x = self.embed_norm(x)
        same = segment_ids.unsqueeze(2) == segment_ids.unsqueeze(1)
        bias = torch.where(same, 0.0, MASKED).unsqueeze(1)
        h = x.shape[-1]
        for layer in self.layers:
            if hasattr(layer, "qkv"):
                q, k, v = layer.qkv(x).split(h, dim=-1)
            else:
                q, k, v = layer.query(x), layer.key(x), layer.value(x)
            x = layer.attn_norm(x + layer.attn_out(attention(q, k, v, bias, self.heads)))
            x = layer.out_norm(x + layer.output(F.gelu(layer.intermediate(x))))
        return x


def _product(w: torch.Tensor, v: torch.Tensor) -> torch.Tensor:
    """w @ v in float64, for folding constants the same way on every CPU (Linear8 rounds)."""
    return w.double() @ v.double()


class EncoderGraph8(nn.Module):
    """EncoderGraph in int8 arithmetic (`a8`): the same inputs and output, every product with a
    weight a Linear8. To keep what is quantized centred, constant offsets are folded away:
    LayerNorms run without their bias, which is added instead to the bias of the product that
    meets the same residual stream (and to the next products' biases through W); the value
    projection's bias goes to the attention output's bias (attention weights sum to 1); the
    second FFN product's input is GELU plus 0.17, so it is >= 0. Tokens are one (T, H) matrix
    between the attention blocks."""

    def __init__(self, state: RawState, cfg: dict):
        super().__init__()
        self.heads = cfg["num_attention_heads"]
        self.eps = cfg["layer_norm_eps"]
        self.hidden = h = cfg["hidden_size"]
        p = "encoder.embeddings."
        self.word = Int8Rows(state, p + "word_embeddings.weight")
        self.position = Int8Rows(state, p + "position_embeddings.weight")
        self.register_buffer("token_type", state.float(p + "token_type_embeddings.weight")[0].contiguous())
        self.register_buffer("embed_gamma", state.float(p + "LayerNorm.weight"))
        beta = state.float(p + "LayerNorm.bias")     # the residual stream's missing bias
        self.layers = nn.ModuleList()
        for i in range(cfg["num_hidden_layers"]):
            p = f"encoder.layers.{i}."
            layer = nn.Module()
            names = [p + n for n in ("query", "key", "value")]
            w_qkv = torch.cat([state.float(n + ".weight") for n in names])
            layer.qkv = Linear8(state, names, extra_bias=_product(w_qkv, beta), drop_bias=slice(2 * h, 3 * h))
            with torch.no_grad():   # attention's 1 / sqrt(head size), applied to the query here
                layer.qkv.scale[:h] /= math.sqrt(h // self.heads)
                layer.qkv.bias[:h] /= math.sqrt(h // self.heads)
            w_o = state.float(p + "attn_out.weight")
            layer.attn_out = Linear8(state, [p + "attn_out"],
                                     extra_bias=_product(w_o, state.float(p + "value.bias")) + beta.double())
            layer.register_buffer("attn_gamma", state.float(p + "attn_norm.weight"))
            beta = state.float(p + "attn_norm.bias")
            layer.intermediate = Linear8(state, [p + "intermediate"],
                                         extra_bias=_product(state.float(p + "intermediate.weight"), beta))
            layer.output = Linear8(state, [p + "output"], offset=GELU_FLOOR, unsigned=True, extra_bias=beta)
            layer.register_buffer("out_gamma", state.float(p + "out_norm.weight"))
            beta = state.float(p + "out_norm.bias")
            self.layers.append(layer)
        self.register_buffer("final_beta", beta)

    def _norm(self, x, gamma):
        return F.layer_norm(x, (self.hidden,), gamma, None, self.eps)

    def forward(self, input_ids, position_ids, segment_ids):
        b, n = input_ids.shape
        x = self.word(input_ids) + self.position(position_ids) + self.token_type
        h = self.hidden
        x = self._norm(x, self.embed_gamma).reshape(b * n, h)
        # Attention runs chunk by chunk, (C, W) blocks gathered from the flat tokens, not over
        # whole rows: a row of 256 tokens holding eight sentences computed 256 x 256 scores per
        # head where fewer than a tenth were ever used.
        blocks, keys, slot = _ChunkBlocks.apply(position_ids, segment_ids)
        bias = torch.where(keys, 0.0, MASKED)[:, None, :]
        heads, d = self.heads, h // self.heads
        ones = torch.ones_like(blocks, dtype=torch.float32)[None, :, :, None].expand(heads, -1, -1, -1)
        signed = torch.full_like(input_ids.reshape(-1), 128, dtype=torch.uint8)
        unsigned = torch.zeros_like(signed)
        for layer in self.layers:
            # heads first, once per layer over the tokens; then each chunk's tokens gathered
            qkv = layer.qkv(x, signed).reshape(-1, 3 * heads, d).transpose(0, 1)[:, blocks]
            a = blocked_attention_by_sums(qkv, bias, ones, heads)[:, slot]     # (heads, T, d)
            a = a.transpose(0, 1).reshape(-1, h)
            x = self._norm(x + layer.attn_out(a, signed), layer.attn_gamma)
            x = self._norm(x + layer.output(F.gelu(layer.intermediate(x, signed)), unsigned), layer.out_gamma)
        return (x + self.final_beta).reshape(b, n, h)


class ContextGraph(nn.Module):
    """The context layers over windows of sentences, then the heads over whole emails.

    Windows (W, S): vectors (W, S, H) float; kinds, positions (from the email's start),
    from_end (W, S) int64; window_mask (W, S) bool, true for real sentences.
    Emails (E, T): stitch (E, T) int64, for each sentence of each email the index into the
    flattened windows (W * S) of its vector in context; counted (E, T) bool, the sentences the
    email's labels rest on (false for padding).
    Outputs: sentence_focus, sentence_tone (E, T, labels) and email_focus (E, labels) logits;
    contextual (W, S, H), the windows' sentences in context (asked alone, the heads are not
    run: OnnxModel reads an email longer than one call's windows in several calls and applies
    the heads itself). One email may be a row twice with different `counted` (the runtime's
    quoted alternative).
    """

    def __init__(self, state: RawState, net_cfg: dict):
        super().__init__()
        enc = net_cfg["encoder"]
        self.heads = net_cfg["context_heads"]
        self.position = Int8Rows(state, "position.weight")
        self.from_end = Int8Rows(state, "from_end.weight")
        self.kind = Int8Rows(state, "kind.weight")
        self.layers = nn.ModuleList()
        for i in range(net_cfg["context_layers"]):
            p = f"context.layers.{i}."
            layer = nn.Module()
            layer.norm1 = LayerNorm(state, p + "norm1", 1e-5)
            layer.in_proj = _in_proj(state, p)
            layer.out_proj = Linear(state, p + "self_attn.out_proj", True)
            layer.norm2 = LayerNorm(state, p + "norm2", 1e-5)
            layer.linear1 = Linear(state, p + "linear1", True)
            layer.linear2 = Linear(state, p + "linear2", True)
            self.layers.append(layer)
        self.context_norm = LayerNorm(state, "context_norm", 1e-5)
        h = enc["hidden_size"]
        for name in ("sentence_focus", "sentence_tone", "email_focus"):
            w, b = state.float(name + ".weight"), state.float(name + ".bias")
            self.register_buffer(name + "_own", w[:, :h].contiguous())
            self.register_buffer(name + "_ctx", w[:, h:].contiguous())
            self.register_buffer(name + "_bias", b.contiguous())
        self.register_buffer("attention_w", state.float("email_attention.weight")[0].contiguous())
        self.register_buffer("attention_b", state.float("email_attention.bias").contiguous())

    def forward(self, vectors, kinds, positions, from_end, window_mask, stitch, counted):
        top = MAX_POSITIONS - 1
        x = (vectors + self.position(positions.clamp(0, top)) + self.from_end(from_end.clamp(0, top))
             + self.kind(kinds))
        bias = torch.where(window_mask, 0.0, MASKED)[:, None, None, :]
        h = x.shape[-1]
        for layer in self.layers:  # nn.TransformerEncoderLayer, norm_first, gelu
            q, k, v = layer.in_proj(layer.norm1(x)).split(h, dim=-1)
            x = x + layer.out_proj(attention(q, k, v, bias, self.heads))
            x = x + layer.linear2(F.gelu(layer.linear1(layer.norm2(x))))
        c = self.context_norm(x)
        w, s = vectors.shape[0], vectors.shape[1]
        flat_c = c.reshape(w * s, h)
        flat_v = vectors.reshape(w * s, h)
        ctx = flat_c[stitch]
        own = flat_v[stitch]

        def on_both(name):
            return (torch.matmul(own, getattr(self, name + "_own").t())
                    + torch.matmul(ctx, getattr(self, name + "_ctx").t()) + getattr(self, name + "_bias"))

        sentence_focus = on_both("sentence_focus")
        sentence_tone = on_both("sentence_tone")
        weight = counted.float()
        score = torch.matmul(ctx, self.attention_w) + self.attention_b
        score = torch.where(counted, score, -1e9)
        attn = torch.softmax(score, dim=-1) * weight   # all zero when nothing counts, as in torch
        pooled = torch.matmul(attn.unsqueeze(1), ctx).squeeze(1)
        share = weight / weight.sum(-1, keepdim=True).clamp(min=1.0)
        mean = torch.matmul(share.unsqueeze(1), ctx).squeeze(1)
        email_focus = (torch.matmul(pooled, self.email_focus_own.t())
                       + torch.matmul(mean, self.email_focus_ctx.t()) + self.email_focus_bias)
        return sentence_focus, sentence_tone, email_focus, c


def _in_proj(state: RawState, prefix: str) -> Linear:
    """nn.MultiheadAttention's packed projection (in_proj_weight / in_proj_bias)."""
    lin = Linear.__new__(Linear)
    nn.Module.__init__(lin)
    q, scale = state.int8(prefix + "self_attn.in_proj_weight")
    lin.store_int8 = True
    lin.register_buffer("q", q.contiguous())
    lin.register_buffer("scale", scale.contiguous())
    lin.register_buffer("bias", state.float(prefix + "self_attn.in_proj_bias").contiguous())
    return lin


def _export(module: nn.Module, args: tuple, path: Path, input_names, output_names, dynamic_axes,
            fold: bool, custom_opsets: dict | None = None) -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        torch.onnx.export(module, args, str(path), dynamo=False, opset_version=OPSET,
                          custom_opsets=custom_opsets,
                          input_names=list(input_names), output_names=list(output_names),
                          dynamic_axes=dynamic_axes, do_constant_folding=fold)


def sample_encoder_inputs(n_rows: int = 2, width: int = 24):
    ids = torch.randint(1000, 2000, (n_rows, width))
    pos = torch.arange(width).repeat(n_rows, 1)
    seg = torch.ones((n_rows, width), dtype=torch.long)
    return ids, pos, seg


def export_encoder(state: RawState, net_cfg: dict, path: Path, store_int8: bool, a8: bool = False) -> None:
    if a8:
        graph = EncoderGraph8(state, net_cfg["encoder"]).eval()
    else:
        graph = EncoderGraph(state, net_cfg["encoder"], store_int8).eval()
    rows = {0: "rows", 1: "tokens"}
    _export(graph, sample_encoder_inputs(), path, ("input_ids", "position_ids", "segment_ids"),
            ("hidden",), {"input_ids": rows, "position_ids": rows, "segment_ids": rows,
                          "hidden": {0: "rows", 1: "tokens"}},
            fold=not store_int8, custom_opsets={"com.microsoft": 1} if a8 else None)



def export_context(state: RawState, net_cfg: dict, path: Path) -> None:
    graph = ContextGraph(state, net_cfg).eval()
    h = net_cfg["encoder"]["hidden_size"]
    w, s = 2, 5
    vectors = torch.randn(w, s, h)
    kinds = torch.zeros((w, s), dtype=torch.long)
    positions = torch.arange(s).repeat(w, 1)
    from_end = s - 1 - positions
    window_mask = torch.ones((w, s), dtype=torch.bool)
    stitch = torch.arange(w * s).reshape(w, s)
    counted = torch.ones((w, s), dtype=torch.bool)
    win = {0: "windows", 1: "window_length"}
    em = {0: "emails", 1: "email_length"}
    _export(graph, (vectors, kinds, positions, from_end, window_mask, stitch, counted), path,
            ("vectors", "kinds", "positions", "from_end", "window_mask", "stitch", "counted"),
            ("sentence_focus", "sentence_tone", "email_focus", "contextual"),
            {"vectors": win, "kinds": win, "positions": win, "from_end": win, "window_mask": win,
             "stitch": em, "counted": em, "sentence_focus": em, "sentence_tone": em,
             "email_focus": {0: "emails"}, "contextual": win},
            fold=False)


def optimize_graph(src: Path, dst: Path) -> dict:
    """Write `src` as ONNX Runtime's extended optimizations leave it (constants folded, shape
    arithmetic gone, GELU and transposed products fused). Every session, in the browser and on
    the server, would do this on load: done once here, the extension's model loads about 0.2 s
    sooner. The operators are ONNX's and ONNX Runtime's own CPU ones (com.microsoft), which its
    WebAssembly build runs too; no layout for a particular CPU is baked in (that is the `all`
    level, still applied on load)."""
    import onnxruntime as ort

    so = ort.SessionOptions()
    so.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_EXTENDED
    so.optimized_model_filepath = str(dst)
    so.log_severity_level = 3
    ort.InferenceSession(str(src), so, providers=["CPUExecutionProvider"])
    return {"encoder": {"optimized_by": f"onnxruntime {ort.__version__}", "level": "extended"}}


# --- static quantization of the encoder --------------------------------------------------------

def calibration_sentences(model_dir: Path, emails: int = CALIBRATION_EMAILS, seed: int = 0) -> list[str]:
    """Sentences (and subjects) of training-split emails of the corpus the model was trained on:
    never the validation split, on which parity is measured, nor dev.jsonl."""
    from ..corpus import CORPUS_FILE, load_jsonl
    from ..text.segment import split
    from .train import is_validation

    config = artifact.read_config(model_dir)
    share = config.get("training", {}).get("validation_share", 0.1)
    records = [r for r in load_jsonl(CORPUS_FILE) if not is_validation(r["id"], share)]
    random.Random(seed).shuffle(records)
    out = []
    for r in records[:emails]:
        if r.get("subject"):
            out.append(r["subject"])
        out.extend(s.text for s in split(r["text"]))
    return out


class PackedCalibration:
    """Calibration batches laid out exactly as the runtime packs them."""

    def __init__(self, token_lists: list[list[int]], cls_id: int, sep_id: int):
        from .onnx_runtime import pack_chunks

        self.batches = list(pack_chunks(token_lists, cls_id, sep_id))
        self.reset()

    def reset(self):
        self._it = iter(self.batches)

    def get_next(self):
        batch = next(self._it, None)
        if batch is None:
            return None
        return {"input_ids": batch.input_ids, "position_ids": batch.position_ids,
                "segment_ids": batch.segment_ids}


def quantize_encoder_blockwise(float_path: Path, out_path: Path, block_size: int = NBITS_BLOCK) -> dict:
    """MatMulNBits, 8 bits, int8 arithmetic (accuracy level 4): see the module's notes."""
    import onnx
    from onnxruntime.quantization.matmul_nbits_quantizer import MatMulNBitsQuantizer

    model = onnx.load(str(float_path))
    constants = {i.name for i in model.graph.initializer}
    # Only products with a weight: the attention's own products (scores, mixing) stay fp32.
    activations = [n.name for n in model.graph.node
                   if n.op_type == "MatMul" and n.input[1] not in constants]
    import logging

    logging.getLogger("onnxruntime.quantization.matmul_nbits_quantizer").setLevel(logging.WARNING)
    q = MatMulNBitsQuantizer(model, bits=8, block_size=block_size, is_symmetric=True,
                             accuracy_level=4, nodes_to_exclude=activations)
    q.process()
    q.model.save_model_to_file(str(out_path), use_external_data_format=False)
    return {"format": "MatMulNBits", "weights": f"int8, symmetric, blocks of {block_size} along the input",
            "activations": "int8 per row and block, at run time (accuracy level 4)",
            "operators": ["MatMul"]}


def quantize_encoder(float_path: Path, out_path: Path, reader, method: str = "minmax") -> dict:
    from onnxruntime.quantization import (CalibrationDataReader, CalibrationMethod, QuantFormat,
                                          QuantType, quantize_static)
    from onnxruntime.quantization.shape_inference import quant_pre_process

    class Reader(CalibrationDataReader):
        def get_next(self):
            return reader.get_next()

    methods = {"minmax": CalibrationMethod.MinMax, "percentile": CalibrationMethod.Percentile,
               "entropy": CalibrationMethod.Entropy}
    import onnx

    model = onnx.load(str(float_path))
    constants = {i.name for i in model.graph.initializer}
    activations = [n.name for n in model.graph.node
                   if n.op_type == "MatMul" and n.input[1] not in constants]
    with tempfile.TemporaryDirectory() as tmp:
        pre = Path(tmp) / "pre.onnx"
        quant_pre_process(str(float_path), str(pre), skip_symbolic_shape=True)
        quantize_static(str(pre), str(out_path), Reader(), quant_format=QuantFormat.QDQ,
                        op_types_to_quantize=["MatMul"], per_channel=True, nodes_to_exclude=activations,
                        activation_type=QuantType.QUInt8, weight_type=QuantType.QInt8,
                        calibrate_method=methods[method],
                        extra_options={"WeightSymmetric": True, "ActivationSymmetric": False})
    return {"format": "QDQ", "weights": "int8, per output channel (the artifact's rows)",
            "activations": f"uint8, per tensor, static ({method} on the corpus's training split)",
            "operators": ["MatMul"]}


# --- the export --------------------------------------------------------------------------------

@dataclass
class ExportResult:
    out: Path
    manifest: dict
    seconds: float


def export(model_dir: Path | str | None = None, out: Path | str | None = None,
           encoder: str = "a8", calibration_emails: int = CALIBRATION_EMAILS,
           method: str = "minmax", log=print) -> ExportResult:
    """Write the ONNX export of the model in `model_dir` to `out` (see the module's notes)."""
    from .runtime import MESSAGES

    t0 = time.perf_counter()
    if encoder not in ENCODER_VARIANTS:
        raise ValueError(f"encoder must be one of {ENCODER_VARIANTS}, got {encoder!r}")
    model_dir = Path(model_dir or artifact.DEFAULT_MODEL_DIR).resolve()
    out = Path(out or default_export_dir(model_dir)).resolve()
    if out == model_dir:
        raise ValueError("the export must not be written into the model's own directory")
    config = artifact.read_config(model_dir)
    net_cfg = config["network"]
    state = RawState(model_dir)
    out.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        log(f"exporting the context layers and heads of {config['name']} {config['version']}")
        export_context(state, net_cfg, tmp / CONTEXT_FILE)
        if encoder == "w8":
            log("exporting the encoder (int8 weights, fp32 arithmetic)")
            export_encoder(state, net_cfg, tmp / ENCODER_FILE, store_int8=True)
            quantization = {"format": "weights only", "weights": "int8, per row (the artifact's)",
                            "activations": "fp32"}
        elif encoder == "a8":
            log("exporting the encoder (int8 weights, int8 arithmetic with activations quantized per token)")
            export_encoder(state, net_cfg, tmp / ENCODER_FILE, store_int8=True, a8=True)
            quantization = A8_QUANTIZATION
        elif encoder == "int8":
            log("exporting the encoder, int8 matrix products (MatMulNBits, 8 bits)")
            export_encoder(state, net_cfg, tmp / "encoder.float.onnx", store_int8=False)
            quantization = quantize_encoder_blockwise(tmp / "encoder.float.onnx", tmp / ENCODER_FILE)
        else:
            log("exporting the encoder")
            export_encoder(state, net_cfg, tmp / "encoder.float.onnx", store_int8=False)
            from .features import WordPieces

            pieces = WordPieces(model_dir / "tokenizer.json")
            sentences = calibration_sentences(model_dir, calibration_emails)
            log(f"quantizing it: static int8, activation scales from {len(sentences):,} sentences of "
                f"{calibration_emails} training-split emails ({method})")
            reader = PackedCalibration(pieces.ids(sentences), pieces.cls_id, pieces.sep_id)
            quantization = quantize_encoder(tmp / "encoder.float.onnx", tmp / ENCODER_FILE, reader, method)
            quantization["calibration_sentences"] = len(sentences)
        log("optimizing the encoder's graph with ONNX Runtime (what a session would do on every load)")
        optimized = optimize_graph(tmp / ENCODER_FILE, out / ENCODER_FILE)
        # the context graph stays as exported: folding its transposed weights would copy them
        # (2.5 MB -> 9.6 MB) for a few milliseconds of load
        shutil.move(str(tmp / CONTEXT_FILE), str(out / CONTEXT_FILE))
    shutil.copyfile(model_dir / "tokenizer.json", out / TOKENIZER_FILE)
    manifest = build_manifest(model_dir, out, config, encoder, quantization, MESSAGES, optimized)
    (out / MANIFEST_FILE).write_text(json.dumps(manifest, indent=2, ensure_ascii=False) + "\n")
    seconds = time.perf_counter() - t0
    sizes = ", ".join(f"{n} {(out / n).stat().st_size / 1e6:.1f} MB" for n in (ENCODER_FILE, CONTEXT_FILE))
    log(f"wrote {out} ({sizes}) in {seconds:.0f} s")
    return ExportResult(out, manifest, seconds)


def build_manifest(model_dir: Path, out: Path, config: dict, encoder: str, quantization: dict,
                   messages: dict, optimized: dict | None = None) -> dict:
    from .features import CHUNK_STRIDE, MAX_CHUNK_TOKENS, PACK_TOKENS

    net = config["network"]
    cal = config.get("calibration", {})
    thr = config.get("thresholds", {})
    return {
        "format": FORMAT,
        "name": config["name"],
        "version": config["version"],
        "source": {"model_dir": _shown(model_dir), "sha256": source_fingerprint(model_dir)},
        "files": {n: sha256_file(out / n) for n in (ENCODER_FILE, CONTEXT_FILE, TOKENIZER_FILE)},
        "encoder": {"variant": encoder, "quantization": quantization,
                    "hidden_size": net["encoder"]["hidden_size"],
                    "max_chunk_tokens": MAX_CHUNK_TOKENS, "chunk_stride": CHUNK_STRIDE,
                    # rows for w8 (the extension reads pack_tokens, OnnxAnalyzer
                    # server_pack_tokens); a8 is laid out by block_cells instead
                    **({"block_cells": A8_BLOCK_CELLS} if encoder == "a8"
                       else {"pack_tokens": PACK_TOKENS, "server_pack_tokens": PACK_TOKENS})},
        "graphs": optimized or {},
        "context": {"window": CONTEXT_WINDOW, "margin": CONTEXT_MARGIN, "max_positions": MAX_POSITIONS,
                    "kinds": {"body": 0, "quoted": 1, "signature": 2, "subject": 3}},
        "labels": {"sentence_focus": list(net["sentence_focus_labels"]),
                   "sentence_tone": list(net["tone_labels"]),
                   "email_focus": list(net["email_focus_labels"])},
        "temperature": {k: cal.get(k, 1.0) for k in ("sentence_focus", "sentence_tone", "email_focus")},
        "thresholds": {
            "sentence_focus": {l: thr.get("sentence_focus", {}).get(l, 1.0) for l in net["sentence_focus_labels"]},
            "sentence_tone": {l: thr.get("sentence_tone", {}).get(l, 1.0) for l in net["tone_labels"]},
            "email_focus_me_talk": thr.get("email_focus_me_talk", 0.5),
        },
        "messages": dict(messages),
    }


def _shown(p: Path) -> str:
    p = Path(p).resolve()
    return str(p.relative_to(artifact.ROOT)) if p.is_relative_to(artifact.ROOT) else str(p)


def read_manifest(export_dir: Path | str) -> dict:
    return json.loads((Path(export_dir) / MANIFEST_FILE).read_text())


class StaleExport(FileNotFoundError):
    """The export is missing, damaged, or was made from another version of the model."""


def check_export(export_dir: Path | str, model_dir: Path | str | None = None) -> dict:
    """The export's manifest, after checking that its files are the ones it lists and, with
    `model_dir`, that it was made from that artifact as it is now. StaleExport says what to run."""
    export_dir = Path(export_dir)
    model_dir = Path(model_dir) if model_dir else None
    redo = f"run `pitchlint onnx export{'' if model_dir is None else ' --model ' + _shown(model_dir)}`"
    if not (export_dir / MANIFEST_FILE).exists():
        raise StaleExport(f"no ONNX export at {_shown(export_dir)} ({MANIFEST_FILE} missing); {redo}")
    manifest = read_manifest(export_dir)
    for name, digest in manifest["files"].items():
        path = export_dir / name
        if not path.exists() or sha256_file(path) != digest:
            raise StaleExport(f"{_shown(path)} is not the file {MANIFEST_FILE} lists; {redo}")
    if model_dir is not None and manifest["source"]["sha256"] != source_fingerprint(model_dir):
        raise StaleExport(f"the ONNX export at {_shown(export_dir)} was made from another version of "
                          f"{_shown(model_dir)} ({manifest['name']} {manifest['version']}); {redo}")
    return manifest


# --- what the browser extension ships ------------------------------------------------------------

EXTENSION_MANIFEST = artifact.ROOT / "manifest" / "extension" / "manifest.json"
EXTENSION_LOCK = artifact.ROOT / "manifest" / "extension" / "model.json"
SHIPPED_FILES = (ENCODER_FILE, CONTEXT_FILE, TOKENIZER_FILE, MANIFEST_FILE)


def next_patch(version: str) -> str:
    parts = [int(p) for p in version.split(".")]
    parts[-1] += 1
    return ".".join(str(p) for p in parts)


def lock_for_extension(export_dir: Path | str, lock_path: Path = EXTENSION_LOCK,
                       manifest_path: Path = EXTENSION_MANIFEST, log=print) -> dict:
    """Record the export's files in manifest/extension/model.json, which the extension's build
    checks. A changed model raises the extension's version (a new model ships with a new
    extension version); the same files leave both as they are."""
    export_dir = Path(export_dir).resolve()
    m = read_manifest(export_dir)
    files = {n: sha256_file(export_dir / n) for n in SHIPPED_FILES}
    ext = json.loads(manifest_path.read_text())
    old = json.loads(lock_path.read_text()) if lock_path.exists() else {}
    if old.get("files") == files:
        log(f"{_shown(lock_path)}: the extension already ships this model ({m['name']} {m['version']})")
        return old
    version = ext["version"]
    if old.get("extension_version") == version:  # the last lock shipped with this version
        version = next_patch(version)
        ext["version"] = version
        manifest_path.write_text(json.dumps(ext, indent=2, ensure_ascii=False) + "\n")
        log(f"{_shown(manifest_path)}: version raised to {version} for the new model")
    lock = {"export": _shown(export_dir), "name": m["name"], "version": m["version"],
            "extension_version": version, "files": files}
    lock_path.write_text(json.dumps(lock, indent=2) + "\n")
    log(f"{_shown(lock_path)}: extension {version} ships {m['name']} {m['version']}")
    return lock


DEVICE_SAMPLES = artifact.ROOT / "addin" / "extension" / "test" / "fixtures" / "device-samples.json"


def sample_emails(model_dir: Path, n_corpus: int = 24) -> list[dict]:
    """Emails for the extension's check that its analyzer gives the Python one's answers: cases
    that exercise each path (subject, quoted history and the quoted alternative, signature, a
    sentence longer than one encoder window, an email longer than one context window) and some
    of the corpus's validation split."""
    from .onnx_parity import validation_split

    long_sentence = " ".join(["We are the leading platform and our award-winning team"] * 30) + "."
    many = "\n".join(f"Point {k}: we are the best vendor, and I need your answer today." for k in range(150))
    cases = [
        {"id": "plain", "text": "Hi Dana,\n\nSorry to chase again. Did my last three emails get through?\n\n"
                                "If you do not sign by Friday, your price will double.\n\nTom"},
        {"id": "subject", "subject": "  Your Q3 onboarding  ",
         "text": "Hi Sam,\n\nYou mentioned onboarding takes your team six weeks. Would a shorter ramp help?"},
        {"id": "forwarded", "text": "FYI, is this legit?\n\n---------- Forwarded message ---------\nFrom: Sales "
                                    "<s@x.io>\nDate: Mon\nSubject: Offer\nTo: me\n\nWe are the market leader. "
                                    "Buy now or lose the discount forever!"},
        {"id": "reply", "text": "Thanks Alex.\n\nOn Mon, Nov 2, 2026 at 9:00 AM Dana wrote:\n> Please stop "
                                "emailing me. I beg you.\n> Really."},
        {"id": "signature", "text": "Quick one: are you free Thursday?\n\nBest regards,\nJordan Ellis, Senior AE\n"
                                    "We apologise for being so persistent."},
        {"id": "emoji", "text": "Hi Dana 👋, we launched v3 🚀🚀 It's the slickest release yet. Please reply today 🙏"},
        {"id": "long-sentence", "text": long_sentence},
        {"id": "long-email", "text": many},
    ]
    for r in validation_split(model_dir)[:n_corpus]:
        cases.append({"id": r["id"], "text": r["text"], **({"subject": r["subject"]} if r.get("subject") else {})})
    return cases


def write_device_samples(export_dir: Path | str, model_dir: Path | str | None = None,
                         out: Path = DEVICE_SAMPLES, log=print) -> Path:
    """The Python ONNX runtime's answers for sample_emails(), for the extension's Node test."""
    from .onnx_runtime import OnnxAnalyzer

    model_dir = Path(model_dir or artifact.DEFAULT_MODEL_DIR)
    an = OnnxAnalyzer(model_dir, export_dir=export_dir)
    samples = []
    for case in sample_emails(model_dir):
        an.cache.clear()
        samples.append({**case, "answer": an.analyze(case["text"], case.get("subject"))})
    m = read_manifest(export_dir)
    out.write_text(json.dumps({"model": {"name": m["name"], "version": m["version"]},
                               "files": m["files"], "samples": samples}, ensure_ascii=False) + "\n")
    log(f"{_shown(out)}: the Python runtime's answers for {len(samples)} emails")
    return out
