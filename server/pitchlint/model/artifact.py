"""The shipped model on disk: int8 weights, the tokenizer, and a config that explains itself.

    models/pitchlint-minilm/
        weights.safetensors   every large matrix as int8 with one scale per row, the rest fp32
        tokenizer.json        MiniLM's WordPiece tokenizer
        config.json           name, version, label maps, temperatures, thresholds, metrics
        MODEL_CARD.md         generated from the run that made the weights

At load time the int8 matrices are expanded and the encoder runs in the fastest exact-enough
form the CPU offers (`compute`):

- "bf16": linear layers and attention in bfloat16 (fp32 accumulation, LayerNorm in fp32), on
  CPUs with native bfloat16 (AMX or AVX-512 BF16). Each sentence's result is
  independent of what else is in the batch, so cached and uncached answers agree.
- "fp32": the reference, and what `auto` picks on CPUs without bfloat16.
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


def load_net(model_dir: Path, compute: str | None = None) -> tuple[PitchlintNet, dict]:
    """The network in eval mode, its encoder prepared for `compute` (see the module's notes)."""
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
    net.compute = mode
    return net, config


class BF16Encoder(nn.Module):
    """The encoder with bfloat16 linear weights, run under CPU autocast; returns fp32."""

    def __init__(self, encoder: nn.Module):
        super().__init__()
        for module in encoder.modules():
            if isinstance(module, nn.Linear):
                module.to(torch.bfloat16)
        self.inner = encoder
        self.config = encoder.config

    def forward(self, input_ids, attention_mask, token_type_ids=None, position_ids=None):
        with torch.autocast("cpu", dtype=torch.bfloat16):
            out = self.inner(input_ids, attention_mask, token_type_ids, position_ids)
        return out.float()


def quantize_encoder(encoder: nn.Module) -> nn.Module:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        from torch.ao.quantization import per_channel_dynamic_qconfig, quantize_dynamic

        return quantize_dynamic(encoder, {nn.Linear: per_channel_dynamic_qconfig}, dtype=torch.qint8)
