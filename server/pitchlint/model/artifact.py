"""The shipped model on disk: int8 weights, the tokenizer, and a config that explains itself.

    models/pitchlint-minilm/
        weights.safetensors   every large matrix as int8 with one scale per row, the rest fp32
        tokenizer.json        MiniLM's WordPiece tokenizer
        config.json           name, version, label maps, temperatures, thresholds, metrics
        MODEL_CARD.md         generated from the run that made the weights

At load time the int8 matrices are expanded and the encoder's linear layers are quantized
again for fast int8 matrix products on the CPU (dynamic quantization, per channel), so the
model that is measured and shipped is the one that runs.
"""
from __future__ import annotations

import json
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


def load_net(model_dir: Path, quantize: bool = True) -> tuple[PitchlintNet, dict]:
    """The network in eval mode, with int8 encoder matrices when `quantize`."""
    config = read_config(model_dir)
    net = PitchlintNet(NetConfig(**config["network"]))
    net.load_state_dict(load_state(model_dir))
    net.eval()
    if quantize:
        net.encoder = quantize_encoder(net.encoder)
    return net, config


def quantize_encoder(encoder: nn.Module) -> nn.Module:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        from torch.ao.quantization import per_channel_dynamic_qconfig, quantize_dynamic

        return quantize_dynamic(encoder, {nn.Linear: per_channel_dynamic_qconfig}, dtype=torch.qint8)
