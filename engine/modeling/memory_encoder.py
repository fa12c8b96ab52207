"""Memory encoder: fuses a frame's features with its predicted mask into a memory.

mask logits (B, 1, 1024, 1024) -> sigmoid -> strided convs down to the feature grid (B, 256, 64, 64)
-> added to the projected frame features -> ConvNeXt blocks -> 1x1 projection to out_dim (64),
with a sine position encoding of the result. Parameter names follow the official checkpoints
(``memory_encoder.mask_downsampler.encoder.0.weight`` ...).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from engine.modeling.common import LayerNorm2d, activation_name, linear


@dataclass(frozen=True)
class MemoryEncoderConfig:
    in_dim: int = 256  # width of the frame features (the FPN neck's d_model)
    out_dim: int = 64  # width of a memory token (the memory attention's kv_in_dim)
    mask_kernel_size: int = 3  # mask downsampler conv kernel
    mask_stride: int = 2  # each conv halves the mask ...
    mask_padding: int = 1
    mask_total_stride: int = 16  # ... until it reaches the feature grid (4 convs)
    fuser_num_layers: int = 2  # ConvNeXt blocks
    fuser_kernel_size: int = 7  # depthwise conv kernel of a ConvNeXt block
    fuser_padding: int = 3
    layer_scale_init_value: float = 1e-6  # ConvNeXt layer scale (gamma) at init
    pos_temperature: float = 10000.0  # sine position encoding of the memory


class MaskDownSampler(nn.Module):
    """(B, 1, H, W) -> (B, embed_dim, H/total_stride, W/total_stride); channels x stride² per conv."""

    def __init__(self, embed_dim: int, kernel_size: int, stride: int, padding: int, total_stride: int) -> None:
        super().__init__()
        num_layers = int(math.log2(total_stride) // math.log2(stride))
        if stride**num_layers != total_stride:
            raise ValueError(f"total_stride {total_stride} is not a power of stride {stride}")
        layers: list[nn.Module] = []
        in_ch = out_ch = 1
        for _ in range(num_layers):
            out_ch = in_ch * stride**2
            layers += [nn.Conv2d(in_ch, out_ch, kernel_size, stride, padding), LayerNorm2d(out_ch), nn.GELU()]
            in_ch = out_ch
        layers.append(nn.Conv2d(out_ch, embed_dim, kernel_size=1))
        self.encoder = nn.Sequential(*layers)

    def forward(self, x: Tensor) -> Tensor:
        return self.encoder(x)


class CXBlock(nn.Module):
    """ConvNeXt block: depthwise conv, LayerNorm, pointwise MLP (as Linear on channels-last), layer scale."""

    def __init__(self, dim: int, kernel_size: int, padding: int, layer_scale_init_value: float) -> None:
        super().__init__()
        self.dwconv = nn.Conv2d(dim, dim, kernel_size=kernel_size, padding=padding, groups=dim)
        self.norm = LayerNorm2d(dim, eps=1e-6)
        self.pwconv1 = nn.Linear(dim, 4 * dim)
        self.act = nn.GELU()
        self.pwconv2 = nn.Linear(4 * dim, dim)
        self.gamma = nn.Parameter(layer_scale_init_value * torch.ones(dim)) if layer_scale_init_value > 0 else None

    def forward(self, x: Tensor) -> Tensor:
        y = self.norm(self.dwconv(x)).permute(0, 2, 3, 1)  # (B, C, H, W) -> (B, H, W, C)
        y = linear(linear(y, self.pwconv1, activation_name(self.act)), self.pwconv2)
        if self.gamma is not None:
            y = self.gamma * y
        return x + y.permute(0, 3, 1, 2)


class Fuser(nn.Module):
    def __init__(self, cfg: MemoryEncoderConfig) -> None:
        super().__init__()
        self.layers = nn.ModuleList([
            CXBlock(cfg.in_dim, cfg.fuser_kernel_size, cfg.fuser_padding, cfg.layer_scale_init_value)
            for _ in range(cfg.fuser_num_layers)
        ])

    def forward(self, x: Tensor) -> Tensor:
        for layer in self.layers:
            x = layer(x)
        return x


def sine_position_encoding(batch: int, channels: int, height: int, width: int,
                           temperature: float = 10000.0, device: torch.device | None = None) -> Tensor:
    """Normalised 2-D sine encoding (DETR style), (B, channels, H, W): y half first, then x."""
    half = channels // 2
    scale, eps = 2 * math.pi, 1e-6
    y = torch.arange(1, height + 1, dtype=torch.float32, device=device)
    x = torch.arange(1, width + 1, dtype=torch.float32, device=device)
    y = y / (y[-1] + eps) * scale
    x = x / (x[-1] + eps) * scale
    dim_t = torch.arange(half, dtype=torch.float32, device=device)
    dim_t = temperature ** (2 * (dim_t // 2) / half)

    def interleave(v: Tensor) -> Tensor:  # (L,) -> (L, half): sin on even, cos on odd frequencies
        p = v[:, None] / dim_t
        return torch.stack((p[:, 0::2].sin(), p[:, 1::2].cos()), dim=2).flatten(1)

    pos_y = interleave(y)[:, None, :].expand(height, width, half)
    pos_x = interleave(x)[None, :, :].expand(height, width, half)
    pos = torch.cat((pos_y, pos_x), dim=2).permute(2, 0, 1)  # (C, H, W)
    return pos[None].expand(batch, -1, -1, -1).contiguous()


class MemoryEncoder(nn.Module):
    def __init__(self, cfg: MemoryEncoderConfig) -> None:
        super().__init__()
        self.cfg = cfg
        self.out_dim = cfg.out_dim
        self.mask_downsampler = MaskDownSampler(cfg.in_dim, cfg.mask_kernel_size, cfg.mask_stride,
                                                cfg.mask_padding, cfg.mask_total_stride)
        self.pix_feat_proj = nn.Conv2d(cfg.in_dim, cfg.in_dim, kernel_size=1)
        self.fuser = Fuser(cfg)
        self.out_proj: nn.Module = (nn.Conv2d(cfg.in_dim, cfg.out_dim, kernel_size=1)
                                    if cfg.out_dim != cfg.in_dim else nn.Identity())
        self._pos_cache: dict[tuple[int, int, str], Tensor] = {}

    def position_encoding(self, x: Tensor) -> Tensor:
        """Sine encoding for x (B, C, H, W), cached per grid size (it only depends on the shape)."""
        b, c, h, w = x.shape
        key = (h, w, str(x.device))
        if key not in self._pos_cache:
            self._pos_cache[key] = sine_position_encoding(1, c, h, w, self.cfg.pos_temperature, x.device)
        return self._pos_cache[key].expand(b, -1, -1, -1).to(x.dtype)

    def forward(self, pix_feat: Tensor, masks: Tensor, skip_mask_sigmoid: bool = False) -> dict[str, object]:
        """pix_feat (B, in_dim, h, w), masks (B, 1, 16h, 16w) logits (or probabilities if skip_mask_sigmoid).

        Returns {"vision_features": (B, out_dim, h, w), "vision_pos_enc": [(B, out_dim, h, w)]} as the
        reference does.
        """
        if not skip_mask_sigmoid:
            masks = F.sigmoid(masks)  # so that predicted and binary ground-truth masks look alike
        x = self.pix_feat_proj(pix_feat.to(masks.device)) + self.mask_downsampler(masks)
        x = self.out_proj(self.fuser(x))
        return {"vision_features": x, "vision_pos_enc": [self.position_encoding(x)]}
