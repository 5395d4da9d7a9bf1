"""The bfloat16 runtime's packed products (artifact.PackedLinear in bfloat16): the same products as
nn.Linear under autocast up to the rounding of their sums, a token's output independent of the
other rows of its call, and the shipped encoder's vectors those of the plain bfloat16 form. Skipped where PyTorch's
oneDNN does not run bfloat16 (the runtime then keeps nn.Linear under autocast)."""
from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F
from torch import nn

from pitchlint.model import artifact

pytestmark = pytest.mark.skipif(not artifact.onednn_bf16(), reason="oneDNN does not run bfloat16 here")

# a few sentences of each kind, for comparing two forms of the shipped encoder (test_fp32_packing too)
SENTENCES = ["We are the leading provider of warehouse robots.",
             "Sorry to bother you again, but did you get my last three emails?",
             "Your team in Denver is hiring three account executives this quarter.",
             "If I don't hear back by Friday, the discount is gone.",
             "Best regards, Jordan"]


def _packed(linear: nn.Linear, gelu: bool = False) -> artifact.PackedLinear:
    return artifact.PackedLinear(linear, gelu=gelu, dtype=torch.bfloat16)


def _linear(n_in: int, n_out: int, seed: int) -> nn.Linear:
    torch.manual_seed(seed)
    lin = nn.Linear(n_in, n_out)
    with torch.no_grad():
        lin.weight.mul_(4.0)
    return lin.to(torch.bfloat16)


@pytest.mark.parametrize("n_in,n_out,gelu", [(384, 1152, False), (384, 384, False), (384, 1536, True)])
def test_a_rows_output_does_not_depend_on_the_rest_of_the_call(n_in, n_out, gelu):
    packed = _packed(_linear(n_in, n_out, 0), gelu=gelu)
    x = torch.randn(300, n_in)
    together = packed(x)
    for rows in (slice(0, 1), slice(7, 32), slice(250, 300)):
        assert torch.equal(packed(x[rows].contiguous()), together[rows])
    assert torch.equal(packed(x.reshape(3, 100, n_in)).reshape(300, n_out), together)


def test_the_long_product_moves_by_at_most_its_last_bit_with_the_call():
    """The FFN's second product (1,536 terms a sum): oneDNN's grouping of the sum follows the
    call's rows, so a row alone and in a call of 300 may round to neighbouring bfloat16 values
    (nn.Linear under autocast does the same, by up to 0.002 on these inputs)."""
    packed = _packed(_linear(1536, 384, 0))
    x = torch.randn(300, 1536)
    together = packed(x).float()
    for rows in (slice(0, 1), slice(7, 32), slice(250, 300)):
        alone = packed(x[rows].contiguous()).float()
        # a last bit near zero, where the sum cancels, is small against the sum's terms
        last_bit = torch.maximum(alone.abs(), together[rows].abs()).clamp(min=0.05) * 2.0 ** -7
        assert bool(((alone - together[rows]).abs() <= last_bit).all())


@pytest.mark.parametrize("n_in,n_out", [(384, 1152), (1536, 384)])
def test_packed_products_are_the_linear_layers_products(n_in, n_out):
    lin = _linear(n_in, n_out, 1)
    packed = _packed(lin)
    x = torch.randn(1, 77, n_in)
    with torch.autocast("cpu", dtype=torch.bfloat16):
        want = lin(x)
    got = packed(x)
    assert got.dtype == torch.bfloat16 and got.shape == want.shape
    # equal but for the last bit of some sums' rounding (oneDNN may group a long sum differently)
    assert torch.allclose(got.float(), want.float(), rtol=1 / 64, atol=1e-2)
    exact = F.linear(x, lin.weight.float(), lin.bias.float())
    assert torch.allclose(got.float(), exact, rtol=1 / 64, atol=5e-2)


def test_packed_gelu_is_gelu_of_the_fp32_sums():
    lin = _linear(384, 1536, 2)
    x = torch.randn(40, 384)
    got = _packed(lin, gelu=True)(x)
    want = F.gelu(F.linear(x.to(torch.bfloat16).float(), lin.weight.float(), lin.bias.float()))
    assert got.dtype == torch.bfloat16
    assert torch.allclose(got.float(), want, rtol=1 / 64, atol=1e-2)
    # rounded once, after GELU: nearly every value is the fp32 GELU rounded to bfloat16 (98.7%
    # here; GELU of the rounded product, as before packing, gets 63%)
    assert float((got == want.to(torch.bfloat16)).float().mean()) > 0.95


def test_the_packed_encoder_gives_the_plain_bf16_encoders_vectors():
    """Both bfloat16 forms of the shipped encoder on a few emails' sentences: vectors within
    bfloat16's rounding of each other."""
    from pitchlint.model.features import WordPieces, encode_sentences

    model_dir = artifact.DEFAULT_MODEL_DIR
    nets = []
    for pack in (False, True):
        net, _ = artifact.load_net(model_dir, "fp32", pack_fp32=False)
        net.encoder = artifact.BF16Encoder(net.encoder, pack=pack)
        nets.append(net)
    assert not nets[0].encoder.packed and nets[1].encoder.packed
    packed_layer = nets[1].encoder.inner.layers[0].intermediate
    assert isinstance(packed_layer, artifact.PackedLinear) and packed_layer.dtype == torch.bfloat16
    pieces = WordPieces(model_dir / "tokenizer.json")
    with torch.inference_mode():
        plain, packed = (encode_sentences(n, pieces, pieces.ids(SENTENCES)) for n in nets)
    cos = F.cosine_similarity(plain, packed, dim=-1)
    assert float(cos.min()) > 0.999
    assert not torch.equal(plain, torch.zeros_like(plain))
