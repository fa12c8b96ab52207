"""Hiera, the hierarchical vision transformer trunk of SAM 2's image encoder.

Four stages; each new stage halves the resolution (max-pooling the queries of its first block)
and doubles the width. Most blocks attend within windows; a few "global" blocks attend over the
whole map. Parameter names follow the official checkpoints (``image_encoder.trunk.*``).
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn

from engine.modeling.common import MLP, linear


@dataclass(frozen=True)
class HieraConfig:
    embed_dim: int = 96  # width of stage 1; doubled (dim_mul) at every stage change
    num_heads: int = 1  # heads in stage 1; doubled (head_mul) at every stage change
    stages: tuple[int, ...] = (1, 2, 7, 2)  # blocks per stage (tiny)
    global_att_blocks: tuple[int, ...] = (5, 7, 9)  # block indices with full (not windowed) attention
    window_spec: tuple[int, ...] = (8, 4, 14, 7)  # attention window per stage, in tokens
    window_pos_embed_bkg_spatial_size: tuple[int, int] = (7, 7)  # background pos-embed grid
    q_pool: int = 3  # number of stage changes that pool the queries (all three)
    q_stride: tuple[int, int] = (2, 2)  # query pooling stride at a stage change
    dim_mul: float = 2.0
    head_mul: float = 2.0
    mlp_ratio: float = 4.0
    patch_kernel: int = 7  # the patch embedding is a 7x7 conv, stride 4, padding 3
    patch_stride: int = 4
    patch_padding: int = 3

    @property
    def channel_list(self) -> list[int]:
        """Output widths from the coarsest stage to the finest, e.g. [768, 384, 192, 96] (tiny)."""
        dims = [self.embed_dim]
        for _ in range(len(self.stages) - 1):
            dims.append(int(dims[-1] * self.dim_mul))
        return dims[::-1]


def window_partition(x: torch.Tensor, window: int) -> tuple[torch.Tensor, tuple[int, int]]:
    """(B, H, W, C) -> (B * nW, window, window, C), zero-padding H and W up to multiples of window."""
    b, h, w, c = x.shape
    pad_h, pad_w = (window - h % window) % window, (window - w % window) % window
    if pad_h or pad_w:
        x = F.pad(x, (0, 0, 0, pad_w, 0, pad_h))
    hp, wp = h + pad_h, w + pad_w
    x = x.view(b, hp // window, window, wp // window, window, c)
    return x.permute(0, 1, 3, 2, 4, 5).reshape(-1, window, window, c), (hp, wp)


def window_unpartition(
    windows: torch.Tensor, window: int, padded_hw: tuple[int, int], hw: tuple[int, int]
) -> torch.Tensor:
    """Inverse of window_partition: (B * nW, window, window, C) -> (B, H, W, C), padding dropped."""
    hp, wp = padded_hw
    h, w = hw
    b = windows.shape[0] // ((hp // window) * (wp // window))
    x = windows.reshape(b, hp // window, wp // window, window, window, -1)
    x = x.permute(0, 1, 3, 2, 4, 5).reshape(b, hp, wp, -1)
    return x[:, :h, :w, :] if (hp > h or wp > w) else x


def _pool(x: torch.Tensor, pool: nn.Module | None) -> torch.Tensor:
    """Max-pool a channels-last map: (B, H, W, C) -> (B, H/s, W/s, C)."""
    if pool is None:
        return x
    h, w = x.shape[1:3]
    if (not torch.is_grad_enabled() and isinstance(pool, nn.MaxPool2d) and _pair(pool.kernel_size) == (2, 2)
            and _pair(pool.stride) == (2, 2) and _pair(pool.padding) == (0, 0) and _pair(pool.dilation) == (1, 1)
            and h % 2 == 0 and w % 2 == 0):
        # The 2x2 maximum of each cell as three elementwise maxima on strided views of the
        # channels-last map: exact, and without the channels-first copy (and argmax) of max_pool2d.
        out = torch.maximum(x[:, 0::2, 0::2], x[:, 0::2, 1::2])
        return torch.maximum(out, torch.maximum(x[:, 1::2, 0::2], x[:, 1::2, 1::2]), out=out)
    return pool(x.permute(0, 3, 1, 2)).permute(0, 2, 3, 1)


def _pair(v: int | tuple[int, ...]) -> tuple[int, ...]:
    return tuple(v) if isinstance(v, tuple | list) else (v, v)


class MultiScaleAttention(nn.Module):
    """Self-attention whose queries may be pooled, so the block's output is at a lower resolution."""

    def __init__(self, dim: int, dim_out: int, num_heads: int, q_pool: nn.Module | None = None) -> None:
        super().__init__()
        self.num_heads = num_heads
        self.q_pool = q_pool
        self.qkv = nn.Linear(dim, dim_out * 3)
        self.proj = nn.Linear(dim_out, dim_out)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        b, h, w, _ = x.shape
        # (B, H, W, C) -> 3 x (B, HW, heads, C_out / heads)
        q, k, v = torch.unbind(linear(x, self.qkv).reshape(b, h * w, 3, self.num_heads, -1), 2)
        if self.q_pool is not None:
            q = _pool(q.reshape(b, h, w, -1), self.q_pool)
            h, w = q.shape[1:3]
            q = q.reshape(b, h * w, self.num_heads, -1)
        out = F.scaled_dot_product_attention(q.transpose(1, 2), k.transpose(1, 2), v.transpose(1, 2))
        return linear(out.transpose(1, 2).reshape(b, h, w, -1), self.proj)


class MultiScaleBlock(nn.Module):
    """Pre-norm transformer block on a (B, H, W, C) map, windowed unless window_size is 0."""

    def __init__(
        self,
        dim: int,
        dim_out: int,
        num_heads: int,
        mlp_ratio: float,
        q_stride: tuple[int, int] | None,
        window_size: int,
    ) -> None:
        super().__init__()
        self.dim, self.dim_out = dim, dim_out
        self.window_size = window_size
        self.q_stride = q_stride
        self.norm1 = nn.LayerNorm(dim, eps=1e-6)
        self.pool = nn.MaxPool2d(kernel_size=q_stride, stride=q_stride) if q_stride else None
        self.attn = MultiScaleAttention(dim, dim_out, num_heads, q_pool=self.pool)
        self.norm2 = nn.LayerNorm(dim_out, eps=1e-6)
        self.mlp = MLP(dim_out, int(dim_out * mlp_ratio), dim_out, num_layers=2, activation=nn.GELU)
        if dim != dim_out:
            self.proj = nn.Linear(dim, dim_out)  # widens the shortcut at a stage change

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        shortcut = x  # (B, H, W, C)
        x = self.norm1(x)
        if self.dim != self.dim_out:
            shortcut = _pool(linear(x, self.proj), self.pool)

        window = self.window_size
        h, w = x.shape[1:3]
        if window > 0:
            x, padded_hw = window_partition(x, window)
        x = self.attn(x)
        if self.q_stride:
            # The queries were pooled inside each window: the windows shrank by the stride.
            window = self.window_size // self.q_stride[0]
            h, w = shortcut.shape[1:3]
            padded_hw = (h + (window - h % window) % window, w + (window - w % window) % window)
        if self.window_size > 0:
            x = window_unpartition(x, window, padded_hw, (h, w))

        x = shortcut + x
        return x + self.mlp(self.norm2(x))


class PatchEmbed(nn.Module):
    """(B, 3, H, W) -> (B, H/4, W/4, C): a strided conv, channels last."""

    def __init__(self, kernel: int, stride: int, padding: int, embed_dim: int) -> None:
        super().__init__()
        self.proj = nn.Conv2d(3, embed_dim, kernel_size=kernel, stride=stride, padding=padding)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.proj(x).permute(0, 2, 3, 1)


class Hiera(nn.Module):
    """The trunk: returns the four stage outputs, finest first, each (B, C_i, H_i, W_i)."""

    def __init__(self, cfg: HieraConfig) -> None:
        super().__init__()
        assert len(cfg.stages) == len(cfg.window_spec), "one window size per stage"
        self.stage_ends = [sum(cfg.stages[: i + 1]) - 1 for i in range(len(cfg.stages))]
        q_pool_blocks = [end + 1 for end in self.stage_ends[:-1]][: cfg.q_pool]

        self.patch_embed = PatchEmbed(cfg.patch_kernel, cfg.patch_stride, cfg.patch_padding, cfg.embed_dim)
        # A background embedding interpolated to the feature size, plus a per-window embedding
        # tiled over it (Hiera's "absolute win" position embedding).
        self.pos_embed = nn.Parameter(torch.zeros(1, cfg.embed_dim, *cfg.window_pos_embed_bkg_spatial_size))
        w0 = cfg.window_spec[0]
        self.pos_embed_window = nn.Parameter(torch.zeros(1, cfg.embed_dim, w0, w0))
        self._pos_cache: tuple[tuple[object, ...], torch.Tensor] | None = None  # see _pos_embed

        dim, heads, stage = cfg.embed_dim, cfg.num_heads, 0
        self.blocks = nn.ModuleList()
        for i in range(sum(cfg.stages)):
            # The first block of a stage still works at the previous stage's resolution (it is
            # the one that pools), so it takes the previous stage's window size.
            window = 0 if i in cfg.global_att_blocks else cfg.window_spec[stage]
            dim_out = dim
            if i - 1 in self.stage_ends:
                dim_out, heads, stage = int(dim * cfg.dim_mul), int(heads * cfg.head_mul), stage + 1
            self.blocks.append(
                MultiScaleBlock(
                    dim,
                    dim_out,
                    heads,
                    cfg.mlp_ratio,
                    q_stride=cfg.q_stride if i in q_pool_blocks else None,
                    window_size=window,
                )
            )
            dim = dim_out
        self.channel_list = [self.blocks[i].dim_out for i in self.stage_ends[::-1]]

    def _pos_embed(self, hw: tuple[int, int]) -> torch.Tensor:
        """(1, H, W, C) position embedding for a patch grid of size hw.

        It depends on the weights and the size only: without autograd it is computed once per
        size and kept until either embedding changes (a new checkpoint, a training step).
        """
        if torch.is_grad_enabled() or self.pos_embed.is_inference() or self.pos_embed_window.is_inference():
            return self._compute_pos_embed(hw)  # (inference tensors have no version counter to key on)
        key = (hw, self.pos_embed.device, self.pos_embed.dtype, self.pos_embed.data_ptr(), self.pos_embed._version,
               self.pos_embed_window.data_ptr(), self.pos_embed_window._version)
        if self._pos_cache is None or self._pos_cache[0] != key:
            self._pos_cache = (key, self._compute_pos_embed(hw))
        return self._pos_cache[1]

    def _compute_pos_embed(self, hw: tuple[int, int]) -> torch.Tensor:
        pos = F.interpolate(self.pos_embed, size=hw, mode="bicubic")
        window = self.pos_embed_window
        pos = pos + window.tile([p // q for p, q in zip(pos.shape, window.shape, strict=True)])
        return pos.permute(0, 2, 3, 1)

    def forward(self, x: torch.Tensor) -> list[torch.Tensor]:
        x = self.patch_embed(x)  # (B, H/4, W/4, C), a channels-last view of the conv's output
        pos = self._pos_embed(x.shape[1:3])
        if torch.is_grad_enabled():
            x = x + pos
        else:  # the sum written contiguous (B, H, W, C) at once, not re-laid out by the first LayerNorm
            x = torch.add(x, pos, out=x.new_empty(x.shape))
        outputs = []
        for i, block in enumerate(self.blocks):
            x = block(x)
            if i in self.stage_ends:
                outputs.append(x.permute(0, 3, 1, 2))  # (B, C_i, H_i, W_i)
        return outputs
