"""The FPN neck: projects the trunk's four stages to one width and fuses them top-down."""

from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn

from engine.modeling.position_encoding import PositionEmbeddingSine


@dataclass(frozen=True)
class NeckConfig:
    d_model: int = 256  # output width of every level (the model's hidden_dim)
    fpn_top_down_levels: tuple[int, ...] = (2, 3)  # levels that receive the upsampled coarser level;
    # levels 0 and 1 (strides 4 and 8) use the lateral projection alone
    fpn_interp_mode: str = "nearest"  # upsampling of the top-down path
    fuse_type: str = "sum"  # "sum" or "avg" of lateral and top-down features
    pos_temperature: float = 10000.0  # sine position encoding of each level


class FpnNeck(nn.Module):
    """Trunk stages (finest first, (B, C_i, H_i, W_i)) -> (features, position encodings), finest first.

    Each level is a 1x1 conv of its stage to d_model; a level listed in fpn_top_down_levels adds
    the 2x-upsampled result of the level below it (coarser), as in a feature pyramid.
    """

    def __init__(self, cfg: NeckConfig, backbone_channel_list: list[int]) -> None:
        super().__init__()
        assert cfg.fuse_type in ("sum", "avg")
        self.d_model = cfg.d_model
        self.backbone_channel_list = list(backbone_channel_list)  # coarsest first, e.g. [768, ..., 96]
        self.position_encoding = PositionEmbeddingSine(cfg.d_model, temperature=cfg.pos_temperature)
        self.convs = nn.ModuleList()
        for dim in self.backbone_channel_list:
            lateral = nn.Sequential()
            lateral.add_module("conv", nn.Conv2d(dim, cfg.d_model, kernel_size=1))
            self.convs.append(lateral)
        self.fpn_interp_mode = cfg.fpn_interp_mode
        self.fuse_type = cfg.fuse_type
        self.fpn_top_down_levels = list(cfg.fpn_top_down_levels)

    def forward(self, xs: list[torch.Tensor]) -> tuple[list[torch.Tensor], list[torch.Tensor]]:
        n = len(self.convs) - 1
        assert len(xs) == n + 1, f"expected {n + 1} trunk levels, got {len(xs)}"
        out: list[torch.Tensor] = [torch.empty(0)] * (n + 1)
        pos: list[torch.Tensor] = [torch.empty(0)] * (n + 1)
        prev: torch.Tensor | None = None
        for i in range(n, -1, -1):  # coarsest to finest
            lateral = self.convs[n - i](xs[i])  # convs are ordered coarsest first
            if i in self.fpn_top_down_levels and prev is not None:
                top_down = F.interpolate(
                    prev.to(dtype=torch.float32),
                    scale_factor=2.0,
                    mode=self.fpn_interp_mode,
                    align_corners=None if self.fpn_interp_mode == "nearest" else False,
                    antialias=False,
                )
                # Interpolate in float32 (as the reference), add in the model's dtype: a no-op in
                # float32, and a bfloat16 model then stays bfloat16 without autocast.
                prev = lateral + top_down.to(lateral.dtype)
                if self.fuse_type == "avg":
                    prev = prev / 2
            else:
                prev = lateral
            out[i] = prev
            pos[i] = self.position_encoding(prev).to(prev.dtype)
        return out, pos
