"""The shipped model on disk: int8 weights, the tokenizer, and a config that explains itself.

    models/pitchlint-minilm/
        weights.safetensors   every large matrix as int8 with one scale per row, the rest fp32
        tokenizer.json        MiniLM's WordPiece tokenizer
        config.json           name, version, label maps, temperatures, thresholds, metrics
        MODEL_CARD.md         generated from the run that made the weights

At load time the int8 matrices are expanded and the encoder runs in the fastest exact-enough
form the CPU offers (`compute`):

- "bf16": linear layers and attention in bfloat16 (fp32 accumulation, LayerNorm in fp32), on
  CPUs with native bfloat16 (AMX or AVX-512 BF16), the weights packed once for oneDNN
  (PackedLinear). A sentence's labels do not depend on what else is in the batch; its
  scores may move in their third decimal, as some sums round differently with the batch's
  shape (tests/test_model_behaviour.py).
- "fp32": the reference, and what `auto` picks on CPUs without bfloat16. Where PyTorch's oneDNN
  runs, the encoder's weights are packed once for it too (PackedLinear): on a 2-core EPYC with
  AVX2 only, oneDNN's packed products took 1.3-2x less time than nn.Linear's (MKL) at an
  email's sizes. Only the grouping of some sums changes (scores move in their sixth decimal).
- "int8": PyTorch dynamic int8 quantization, only when asked for. About 15% faster than fp32 on
  a 2-core EPYC without bfloat16, but activations are scaled per batch, so a sentence's labels
  can change with its batch-mates (5 of dev.jsonl's 347 sentences and 2 of its 60 emails did,
  alone against in one batch): an answer must not depend on the other emails of a request.

Calibration and every reported figure use the same path as the service, so the model that is
measured is the one that runs.
"""
from __future__ import annotations

import json
import os
import shutil
import warnings
from pathlib import Path

import torch
from torch import nn

from .network import NetConfig, PitchlintNet

ROOT = Path(__file__).resolve().parents[3]
DEFAULT_MODEL_DIR = ROOT / "models" / "pitchlint-minilm"
INT8_MIN_ELEMENTS = 16384


def quantize_rows(w: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    scale = w.abs().amax(dim=1).clamp(min=1e-12) / 127.0
    q = torch.round(w / scale[:, None]).clamp(-127, 127).to(torch.int8)
    return q, scale.to(torch.float32)


def save(net: PitchlintNet, model_dir: Path, config: dict, tokenizer_path: Path) -> None:
    from safetensors.torch import save_file

    model_dir.mkdir(parents=True, exist_ok=True)
    tensors = {}
    for name, t in net.state_dict().items():
        t = t.detach().float().contiguous()
        if t.dim() == 2 and t.numel() >= INT8_MIN_ELEMENTS:
            q, scale = quantize_rows(t)
            tensors[name + ".int8"] = q.contiguous()
            tensors[name + ".scale"] = scale.contiguous()
        else:
            tensors[name] = t
    save_file(tensors, str(model_dir / "weights.safetensors"))
    shutil.copyfile(tokenizer_path, model_dir / "tokenizer.json")
    write_config(model_dir, config)


def write_config(model_dir: Path, config: dict) -> None:
    (model_dir / "config.json").write_text(json.dumps(config, indent=2, ensure_ascii=False) + "\n")


def read_config(model_dir: Path) -> dict:
    return json.loads((Path(model_dir) / "config.json").read_text())


def load_state(model_dir: Path) -> dict:
    from safetensors.torch import load_file

    raw = load_file(str(Path(model_dir) / "weights.safetensors"))
    state = {}
    for name, t in raw.items():
        if name.endswith(".int8"):
            base = name[:-5]
            state[base] = t.float() * raw[base + ".scale"][:, None]
        elif not name.endswith(".scale"):
            state[name] = t
    return state


COMPUTE_MODES = ("auto", "bf16", "int8", "fp32")


def native_bf16() -> bool:
    cpu = torch.cpu
    return bool(getattr(cpu, "_is_amx_tile_supported", lambda: False)()
                or getattr(cpu, "_is_avx512_bf16_supported", lambda: False)())


def resolve_compute(compute: str | None) -> str:
    compute = (compute or os.environ.get("PITCHLINT_COMPUTE") or "auto").lower()
    if compute == "onnx":  # the ONNX runtime's setting (onnx_runtime.load_analyzer); PyTorch picks its own
        compute = "auto"
    if compute not in COMPUTE_MODES:
        raise ValueError(f"compute must be one of {COMPUTE_MODES}, got {compute!r}")
    if compute == "auto":
        return "bf16" if native_bf16() else "fp32"
    return compute


def load_net(model_dir: Path, compute: str | None = None,
             pack_fp32: bool | None = None) -> tuple[PitchlintNet, dict]:
    """The network in eval mode, its encoder prepared for `compute` (see the module's notes);
    `pack_fp32` False keeps fp32's nn.Linear layers (default: packed where oneDNN runs)."""
    config = read_config(model_dir)
    net = PitchlintNet(NetConfig(**config["network"]))
    net.load_state_dict(load_state(model_dir))
    net.eval()
    mode = resolve_compute(compute)
    for layer in net.encoder.layers:
        layer.fuse_qkv()
    if mode == "int8":
        net.encoder = quantize_encoder(net.encoder)
    elif mode == "bf16":
        net.encoder = BF16Encoder(net.encoder)
    elif mode == "fp32" and (onednn_fp32() if pack_fp32 is None else pack_fp32):
        _pack_linears(net.encoder, torch.float32)
    net.compute = mode
    return net, config


def onednn_fp32() -> bool:
    """Whether PyTorch's oneDNN (mkldnn) can pack fp32 linear weights on this CPU."""
    try:
        if not torch.backends.mkldnn.is_available():
            return False
        torch.ops.mkldnn._reorder_linear_weight(torch.zeros(8, 8), None)
        return True
    except (AttributeError, RuntimeError):
        return False


def onednn_bf16() -> bool:
    """Whether PyTorch's oneDNN (mkldnn) runs bfloat16 products on this CPU."""
    try:
        return bool(torch.backends.mkldnn.is_available() and torch.ops.mkldnn._is_mkldnn_bf16_supported())
    except (AttributeError, RuntimeError):
        return False


class PackedLinear(nn.Module):
    """An nn.Linear in `dtype` (bfloat16 or float32) whose weight is laid out once, at load, in
    oneDNN's blocked format; `gelu` applies GELU to the fp32 sums (before they are rounded to
    bfloat16). Its input is cast to `dtype`.

    nn.Linear under autocast hands oneDNN a plain bfloat16 matrix, which oneDNN reorders on
    every call: for one sentence (25 tokens, 1,152 x 384, AMX) that was half the product's time
    (69 against 42 us; 184 against 108 us for 200 tokens). A token's output does not depend on
    the other rows of the call, except that a 1,536-term sum may round to the neighbouring
    bfloat16 value (as under autocast; tests/test_bf16_packing.py)."""

    def __init__(self, linear: nn.Linear, gelu: bool = False, dtype: torch.dtype = torch.bfloat16):
        super().__init__()
        self.in_features, self.out_features = linear.in_features, linear.out_features
        self.dtype = dtype
        weight = linear.weight.detach().to(dtype).contiguous()
        self.packed = torch.ops.mkldnn._reorder_linear_weight(weight, None)
        self.bias = None if linear.bias is None else linear.bias.detach().to(dtype)
        self.applies_gelu = gelu

    def forward(self, x):
        return torch.ops.mkldnn._linear_pointwise(x.to(self.dtype), self.packed, self.bias,
                                                  "gelu" if self.applies_gelu else "none", [],
                                                  "none" if self.applies_gelu else "")


def bare_encoder(encoder: nn.Module) -> nn.Module:
    """The encoder whose layers run (and call `before_layer`): BF16Encoder's `inner`, or the
    encoder itself (fp32, int8)."""
    return getattr(encoder, "inner", encoder)


def _pack_linears(module: nn.Module, dtype: torch.dtype = torch.bfloat16) -> None:
    for name, child in module.named_children():
        if isinstance(child, nn.Linear):
            setattr(module, name, PackedLinear(child, gelu=name == "intermediate", dtype=dtype))
        else:
            _pack_linears(child, dtype)


class BF16Encoder(nn.Module):
    """The encoder with bfloat16 linear weights; returns fp32. LayerNorms, residual sums and
    embeddings stay in fp32, products and attention run in bfloat16 with fp32 sums.

    Where PyTorch's oneDNN runs bfloat16 (`pack`, by default when it does), every product's
    weight is packed once (PackedLinear), the FFN's GELU is applied to its first product's
    fp32 sums inside that product, and no autocast is needed: each product casts its own input.
    Otherwise the plain bfloat16 layers run under CPU autocast."""

    def __init__(self, encoder: nn.Module, pack: bool | None = None):
        super().__init__()
        for module in encoder.modules():
            if isinstance(module, nn.Linear):
                module.to(torch.bfloat16)
        self.packed = onednn_bf16() if pack is None else pack
        if self.packed:
            _pack_linears(encoder)
        self.inner = encoder
        self.config = encoder.config

    def forward(self, input_ids, attention_mask, token_type_ids=None, position_ids=None):
        if self.packed:
            if attention_mask.dim() == 3 and attention_mask.dtype == torch.bool:
                # The additive mask the attention would otherwise make from the boolean one in
                # every layer, made once (the same values: 0 where allowed, -inf elsewhere).
                attention_mask = torch.zeros(attention_mask.shape, dtype=torch.bfloat16).masked_fill_(
                    ~attention_mask, float("-inf"))
            return self.inner(input_ids, attention_mask, token_type_ids, position_ids).float()
        with torch.autocast("cpu", dtype=torch.bfloat16):
            out = self.inner(input_ids, attention_mask, token_type_ids, position_ids)
        return out.float()


def quantize_encoder(encoder: nn.Module) -> nn.Module:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        from torch.ao.quantization import per_channel_dynamic_qconfig, quantize_dynamic

        return quantize_dynamic(encoder, {nn.Linear: per_channel_dynamic_qconfig}, dtype=torch.qint8)
