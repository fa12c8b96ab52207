"""The engine's inference-only fast paths equal the plain computation they replace."""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F
from torch import nn

from engine.config import get_config
from engine.modeling.common import linear
from engine.modeling.hiera import Hiera
from engine.modeling.rope import RoPEAttention


@pytest.mark.parametrize(("heads", "frames", "num_ptr", "chunk"), [(1, 3, 8, 128), (1, 2, 0, 48), (2, 1, 4, 100)])
def test_narrow_values_attention_equals_sdpa(heads: int, frames: int, num_ptr: int, chunk: int,
                                             monkeypatch: pytest.MonkeyPatch) -> None:
    """Attending over the 64-d memories and projecting after equals projecting the values first."""
    torch.manual_seed(0)
    attn = RoPEAttention(256, heads, kv_in_dim=64, rope_k_repeat=True, feat_sizes=(16, 16)).eval()
    with torch.no_grad():
        for p in attn.parameters():
            p.add_(0.05 * torch.randn_like(p))  # non-zero biases too
    monkeypatch.setattr(RoPEAttention, "ATTN_CHUNK", chunk)  # 256 queries: a partial last chunk for 48, 100
    q = torch.randn(2, 256, 256)
    k = torch.randn(2, frames * 256 + num_ptr, 64)
    v = torch.randn(2, frames * 256 + num_ptr, 64)
    expected = attn(q, k, v, num_ptr).detach()  # autograd on: the reference path (values projected, SDPA)
    with torch.inference_mode():
        got = attn(q, k, v, num_ptr)
    assert expected.std() > 0.05
    assert (got - expected).abs().max().item() <= 1e-5
    with torch.inference_mode():  # the queries and keys were rotated in place: the inputs are untouched
        assert torch.equal(attn(q, k, v, num_ptr), got)


@pytest.mark.parametrize("activation", [None, "relu", "gelu"])
def test_fused_linear_equals_linear_and_activation(activation: str | None) -> None:
    torch.manual_seed(1)
    layer = nn.Linear(384, 1536)
    x = torch.randn(2, 8, 8, 384)[:, ::2]  # not contiguous
    expected = layer(x)
    if activation is not None:
        expected = getattr(F, activation)(expected)
    with torch.inference_mode():
        got = linear(x, layer, activation)
    assert got.shape == expected.shape
    assert (got - expected.detach()).abs().max().item() <= 1e-5 * expected.abs().max().item()
    if activation == "relu":
        assert (got == 0).any() and (got > 0).any()


def test_fused_linear_keeps_autograd_and_hooks() -> None:
    layer = nn.Linear(4, 3)
    x = torch.randn(5, 4, requires_grad=True)
    linear(x, layer, "gelu").sum().backward()
    assert x.grad is not None and layer.weight.grad is not None
    calls: list[int] = []
    layer.register_forward_hook(lambda *_: calls.append(1))
    with torch.inference_mode():
        linear(x.detach(), layer)
    assert calls == [1]


def test_hiera_position_embedding_cache_follows_the_weights() -> None:
    torch.manual_seed(2)
    trunk = Hiera(get_config("micro").trunk).eval()
    image = torch.randn(1, 3, 256, 256)
    with torch.inference_mode():
        before = trunk(image)[0]
    with torch.no_grad():
        trunk.pos_embed.add_(1.0)  # e.g. a training step or a new checkpoint
    with torch.inference_mode():
        after = trunk(image)[0]
    expected = trunk(image)[0]  # autograd on: computed afresh
    assert not torch.allclose(before, after)
    assert (after - expected.detach()).abs().max().item() <= 1e-5


def test_query_pooling_equals_max_pool() -> None:
    """Hiera's 2x2 query pooling without autograd (elementwise maxima) equals nn.MaxPool2d exactly."""
    from engine.modeling.hiera import _pool

    torch.manual_seed(3)
    pool = nn.MaxPool2d(kernel_size=(2, 2), stride=(2, 2))
    qkv = torch.randn(4, 8, 8, 3, 16)
    q = qkv[..., 0, :]  # strided, as the queries sliced out of the qkv projection
    expected = pool(q.permute(0, 3, 1, 2)).permute(0, 2, 3, 1)
    with torch.inference_mode():
        got = _pool(q, pool)
    assert got.shape == (4, 4, 4, 16)
    assert torch.equal(got, expected)
    odd = torch.randn(1, 5, 6, 8)  # odd sizes: max_pool2d itself (floor)
    with torch.inference_mode():
        assert torch.equal(_pool(odd, pool), pool(odd.permute(0, 3, 1, 2)).permute(0, 2, 3, 1))
