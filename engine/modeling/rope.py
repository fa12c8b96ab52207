"""Axial rotary position encoding (RoPE) and the attention that uses it.

The memory attention rotates queries and keys by their 2-D position on the stride-16 feature
grid. Half of each head's channel pairs rotate with the x coordinate, half with the y
coordinate, each at ``dim // 4`` frequencies ``theta ** (-4k / dim)``. Memory keys come from
several frames laid out one after another: each frame's keys reuse the same rotations
(``rope_k_repeat``), and object-pointer tokens at the end of the keys are not rotated.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from engine.modeling.common import linear


def axial_rope_angles(dim: int, width: int, height: int, theta: float = 10000.0) -> Tensor:
    """Rotation angles for a ``height x width`` grid, row-major: (H*W, dim // 2).

    The first ``dim // 4`` angles follow x, the next ``dim // 4`` follow y.
    """
    freqs = 1.0 / (theta ** (torch.arange(0, dim, 4)[: dim // 4].float() / dim))  # (dim/4,)
    t = torch.arange(width * height, dtype=torch.float32)
    t_x = t % width
    t_y = torch.div(t, width, rounding_mode="floor")
    return torch.cat([torch.outer(t_x, freqs), torch.outer(t_y, freqs)], dim=-1)


def rope_cos_sin(dim: int, width: int, height: int, theta: float = 10000.0) -> tuple[Tensor, Tensor]:
    """cos and sin of the rotation angles, each (H*W, dim // 2)."""
    angles = axial_rope_angles(dim, width, height, theta)
    # Same values as the real/imag parts of torch.polar(1, angle).
    rot = torch.polar(torch.ones_like(angles), angles)
    return rot.real.contiguous(), rot.imag.contiguous()


def apply_rope(x: Tensor, cos: Tensor, sin: Tensor) -> Tensor:
    """Rotate consecutive channel pairs of ``x`` (..., N, dim) by angles (N, dim // 2) given as cos/sin.

    ``N`` may be a multiple of the number of angles: the angles then repeat, one block per
    memory frame (``rope_k_repeat``), by broadcasting rather than by a repeated copy.
    """
    return _rotate(x, torch.complex(cos.float(), sin.float()))


def _rotate(x: Tensor, rot: Tensor, inplace: bool = False) -> Tensor:
    """``apply_rope`` with the rotations given as complex numbers (N, dim // 2); ``inplace`` needs float32."""
    n, half = rot.shape
    reps = x.shape[-2] // n
    if reps * n != x.shape[-2]:
        raise ValueError(f"{x.shape[-2]} tokens are not a whole number of {n}-token frames")
    # One complex multiply per pair, as the reference: (a + ib)(cos + i sin).
    if inplace:  # a view (never a copy), so that the products land in x
        torch.view_as_complex(x.view(*x.shape[:-2], reps, n, half, 2)).mul_(rot)  # the same products as below
        return x
    xc = torch.view_as_complex(x.float().reshape(*x.shape[:-2], reps, n, half, 2))
    return torch.view_as_real(xc * rot).reshape(x.shape).to(x.dtype)


class Attention(nn.Module):
    """Multi-head attention whose keys/values may be narrower than the queries (``kv_in_dim``)."""

    def __init__(self, embedding_dim: int, num_heads: int, downsample_rate: int = 1,
                 dropout: float = 0.0, kv_in_dim: int | None = None) -> None:
        super().__init__()
        self.embedding_dim = embedding_dim
        self.kv_in_dim = kv_in_dim if kv_in_dim is not None else embedding_dim
        self.internal_dim = embedding_dim // downsample_rate
        self.num_heads = num_heads
        if self.internal_dim % num_heads:
            raise ValueError("num_heads must divide embedding_dim // downsample_rate")
        self.q_proj = nn.Linear(embedding_dim, self.internal_dim)
        self.k_proj = nn.Linear(self.kv_in_dim, self.internal_dim)
        self.v_proj = nn.Linear(self.kv_in_dim, self.internal_dim)
        self.out_proj = nn.Linear(self.internal_dim, embedding_dim)
        self.dropout_p = dropout

    def _heads(self, x: Tensor) -> Tensor:
        b, n, c = x.shape  # (B, N, C) -> (B, heads, N, C/heads)
        return x.reshape(b, n, self.num_heads, c // self.num_heads).transpose(1, 2)

    def _merge(self, x: Tensor) -> Tensor:
        b, h, n, c = x.shape  # (B, heads, N, c) -> (B, N, heads*c)
        return x.transpose(1, 2).reshape(b, n, h * c)

    def _attend(self, q: Tensor, k: Tensor, v: Tensor) -> Tensor:
        dropout_p = self.dropout_p if self.training else 0.0
        return F.scaled_dot_product_attention(q, k, v, dropout_p=dropout_p)

    def forward(self, q: Tensor, k: Tensor, v: Tensor) -> Tensor:
        q, k, v = self._heads(self.q_proj(q)), self._heads(self.k_proj(k)), self._heads(self.v_proj(v))
        return self.out_proj(self._merge(self._attend(q, k, v)))


class RoPEAttention(Attention):
    """Attention with axial RoPE on queries and (all but the last ``num_k_exclude_rope``) keys.

    Without autograd (inference), when the values are narrower than a head (the memory
    attention's cross-attention: 64-d memories, 256-d heads), the attention runs on the
    unprojected values: the softmax rows sum to 1, so softmax(S) (X W_v^T + b_v) equals
    (softmax(S) X) W_v^T + b_v, and the product with the values costs kv_in_dim instead of head_dim
    per key (same math; float rounding only).
    """

    # Queries per block of scores in the narrow-values path (512 x 28.7K keys: 59 MB). Fewer, larger
    # blocks win on a shared 2-core machine: each block is three parallel regions whose barriers
    # stall when another process takes a core (measured: 128 was faster only on a quieter machine).
    ATTN_CHUNK = 512

    def __init__(self, embedding_dim: int, num_heads: int, downsample_rate: int = 1,
                 dropout: float = 0.0, kv_in_dim: int | None = None, rope_theta: float = 10000.0,
                 rope_k_repeat: bool = False, feat_sizes: tuple[int, int] = (64, 64)) -> None:
        super().__init__(embedding_dim, num_heads, downsample_rate, dropout, kv_in_dim)
        self.head_dim = self.internal_dim // num_heads
        self.rope_theta = rope_theta
        self.rope_k_repeat = rope_k_repeat
        cos, sin = rope_cos_sin(self.head_dim, feat_sizes[0], feat_sizes[1], rope_theta)
        # Derived from the config, so not part of the checkpoint (the reference keeps them off it too).
        self.register_buffer("rope_cos", cos, persistent=False)
        self.register_buffer("rope_sin", sin, persistent=False)
        self._rot: tuple[Tensor, Tensor, Tensor] | None = None  # (cos, sin, cos + i sin)

    def rope_for(self, num_tokens: int) -> tuple[Tensor, Tensor]:
        """cos/sin for a square grid of ``num_tokens`` queries (recomputed if not the configured size)."""
        if self.rope_cos.shape[0] != num_tokens:
            side = int(round(num_tokens**0.5))
            if side * side != num_tokens:
                raise ValueError(f"RoPE needs a square grid of queries, got {num_tokens} tokens")
            cos, sin = rope_cos_sin(self.head_dim, side, side, self.rope_theta)
            self.rope_cos, self.rope_sin = cos.to(self.rope_cos.device), sin.to(self.rope_sin.device)
        return self.rope_cos, self.rope_sin

    def _rotations(self) -> Tensor:
        """cos + i sin as one complex tensor, built once per set of cos/sin buffers."""
        cos, sin = self.rope_cos, self.rope_sin  # replaced, never written in place (rope_for, .to())
        if self._rot is None or self._rot[0] is not cos or self._rot[1] is not sin:
            self._rot = (cos, sin, torch.complex(cos.float(), sin.float()))
        return self._rot[2]

    def rotate_keys(self, k: Tensor, num_k_exclude_rope: int = 0) -> Tensor:
        """Rotate keys (B, heads, Nk, c) except the last ``num_k_exclude_rope`` (object pointers)."""
        cos, sin = self.rope_cos, self.rope_sin
        n_rope = k.shape[-2] - num_k_exclude_rope
        if n_rope != cos.shape[0] and not self.rope_k_repeat:
            raise ValueError("keys and queries differ in length but rope_k_repeat is off")
        if n_rope == 0:
            return k
        return torch.cat([apply_rope(k[:, :, :n_rope], cos, sin), k[:, :, n_rope:]], dim=-2)

    def forward(self, q: Tensor, k: Tensor, v: Tensor, num_k_exclude_rope: int = 0) -> Tensor:
        # The narrow-values path writes into preallocated float32 blocks; under autocast (bf16 on a
        # GPU) the fused attention of the plain path is the faster one anyway.
        if (self.kv_in_dim < self.head_dim and not torch.is_grad_enabled() and not (self.training and self.dropout_p)
                and not torch.is_autocast_enabled(q.device.type)):
            return self._forward_narrow_values(q, k, v, num_k_exclude_rope)
        q, k, v = (self._heads(linear(q, self.q_proj)), self._heads(linear(k, self.k_proj)),
                   self._heads(linear(v, self.v_proj)))
        cos, sin = self.rope_for(q.shape[-2])
        q = apply_rope(q, cos, sin)
        k = self.rotate_keys(k, num_k_exclude_rope)
        return linear(self._merge(self._attend(q, k, v)), self.out_proj)

    def _forward_narrow_values(self, q: Tensor, k: Tensor, x: Tensor, num_k_exclude_rope: int) -> Tensor:
        """``forward`` without autograd, attending over the unprojected values x (B, Nk, kv_in_dim)."""
        b, nk, d = x.shape
        h, c = self.num_heads, self.head_dim
        qh = self._heads(linear(q, self.q_proj))  # (B, H, Nq, c), a fresh tensor: rotated in place
        self.rope_for(qh.shape[-2])
        rot = self._rotations()
        if qh.dtype == torch.float32:
            _rotate(qh, rot, inplace=True)
        else:
            qh = _rotate(qh, rot)
        qh.mul_(c**-0.5)  # the softmax scale, on the queries (exact for c = 256: a power of two)
        kh = self._heads(linear(k, self.k_proj))
        n_rope = nk - num_k_exclude_rope
        if n_rope != rot.shape[0] and not self.rope_k_repeat:
            raise ValueError("keys and queries differ in length but rope_k_repeat is off")
        if n_rope > 0:
            if kh.dtype == torch.float32:
                _rotate(kh[:, :, :n_rope], rot, inplace=True)
            else:
                kh = torch.cat([_rotate(kh[:, :, :n_rope], rot), kh[:, :, n_rope:]], dim=-2)
        x = x.to(qh.dtype)
        nq = qh.shape[-2]
        mixed = qh.new_empty(b, h, nq, d)  # softmax(S) X per head
        chunk = min(nq, self.ATTN_CHUNK)
        scores = qh.new_empty(chunk, nk)
        for i in range(b):
            for j in range(h):
                keys_t = kh[i, j].transpose(0, 1)  # (c, Nk), a view: the GEMM reads it transposed
                for s in range(0, nq, chunk):
                    e = min(s + chunk, nq)
                    block = scores[: e - s]
                    torch.mm(qh[i, j, s:e], keys_t, out=block)
                    torch.softmax(block, dim=-1, out=block)
                    torch.mm(block, x[i], out=mixed[i, j, s:e])
        # Per head: (softmax(S) X) W_v,h^T + b_v,h, then the heads merge as usual.
        w_v = self.v_proj.weight.reshape(h, c, d).transpose(1, 2)  # (H, d, c)
        values = torch.matmul(mixed, w_v) + self.v_proj.bias.reshape(h, 1, c)  # (B, H, Nq, c)
        return linear(self._merge(values), self.out_proj)
