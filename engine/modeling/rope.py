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
    n, half = cos.shape
    reps = x.shape[-2] // n
    if reps * n != x.shape[-2]:
        raise ValueError(f"{x.shape[-2]} tokens are not a whole number of {n}-token frames")
    # One complex multiply per pair, as the reference: (a + ib)(cos + i sin).
    xc = torch.view_as_complex(x.float().reshape(*x.shape[:-2], reps, n, half, 2))
    rot = torch.complex(cos.float(), sin.float())  # (N, dim/2)
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
    """Attention with axial RoPE on queries and (all but the last ``num_k_exclude_rope``) keys."""

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

    def rope_for(self, num_tokens: int) -> tuple[Tensor, Tensor]:
        """cos/sin for a square grid of ``num_tokens`` queries (recomputed if not the configured size)."""
        if self.rope_cos.shape[0] != num_tokens:
            side = int(round(num_tokens**0.5))
            if side * side != num_tokens:
                raise ValueError(f"RoPE needs a square grid of queries, got {num_tokens} tokens")
            cos, sin = rope_cos_sin(self.head_dim, side, side, self.rope_theta)
            self.rope_cos, self.rope_sin = cos.to(self.rope_cos.device), sin.to(self.rope_sin.device)
        return self.rope_cos, self.rope_sin

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
        q, k, v = self._heads(self.q_proj(q)), self._heads(self.k_proj(k)), self._heads(self.v_proj(v))
        cos, sin = self.rope_for(q.shape[-2])
        q = apply_rope(q, cos, sin)
        k = self.rotate_keys(k, num_k_exclude_rope)
        return self.out_proj(self._merge(self._attend(q, k, v)))
