"""The fp32 runtime's packed products (artifact.PackedLinear in float32, what `auto` runs on CPUs
without native bfloat16 where PyTorch's oneDNN runs): nn.Linear's products up to the grouping of
their sums, GELU applied inside the first FFN product, a row's output independent of the rest of
its call, and the shipped encoder's vectors those of the plain fp32 encoder."""
from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F
from torch import nn

from pitchlint.model import artifact

from .test_bf16_packing import SENTENCES

pytestmark = pytest.mark.skipif(not artifact.onednn_fp32(), reason="oneDNN does not run here")


def _linear(n_in: int, n_out: int, seed: int) -> nn.Linear:
    torch.manual_seed(seed)
    return nn.Linear(n_in, n_out)


@pytest.mark.parametrize("n_in,n_out,gelu", [(384, 1152, False), (384, 1536, True), (1536, 384, False)])
def test_packed_fp32_products_are_the_linear_layers_products(n_in, n_out, gelu):
    lin = _linear(n_in, n_out, 0)
    packed = artifact.PackedLinear(lin, gelu=gelu, dtype=torch.float32)
    x = torch.randn(2, 77, n_in)
    with torch.inference_mode():
        got = packed(x)
        want = lin(x)
        want = F.gelu(want) if gelu else want
    assert got.dtype == torch.float32 and got.shape == want.shape
    assert torch.allclose(got, want, rtol=1e-5, atol=1e-5)
    assert not torch.allclose(got, F.gelu(lin(x)) if not gelu else lin(x), atol=1e-3)  # GELU iff asked


@pytest.mark.parametrize("n_in,n_out", [(384, 1152), (1536, 384)])
def test_a_rows_fp32_output_is_within_rounding_of_the_same_row_in_any_call(n_in, n_out):
    packed = artifact.PackedLinear(_linear(n_in, n_out, 1), dtype=torch.float32)
    x = torch.randn(300, n_in)
    with torch.inference_mode():
        together = packed(x)
        for rows in (slice(0, 1), slice(7, 32), slice(250, 300)):
            assert torch.allclose(packed(x[rows].contiguous()), together[rows], rtol=1e-5, atol=1e-5)


def test_the_fp32_runtime_packs_its_encoder_and_gives_the_plain_encoders_vectors():
    from pitchlint.model.features import WordPieces, encode_sentences

    model_dir = artifact.DEFAULT_MODEL_DIR
    packed, _ = artifact.load_net(model_dir, "fp32")
    plain, _ = artifact.load_net(model_dir, "fp32", pack_fp32=False)
    layer = packed.encoder.layers[0]
    assert isinstance(layer.intermediate, artifact.PackedLinear) and layer.intermediate.applies_gelu
    assert isinstance(plain.encoder.layers[0].intermediate, nn.Linear)
    pieces = WordPieces(model_dir / "tokenizer.json")
    with torch.inference_mode():
        a, b = (encode_sentences(n, pieces, pieces.ids(SENTENCES)) for n in (packed, plain))
    assert torch.allclose(a, b, atol=1e-4)
    assert float(b.abs().max()) > 0.1
