"""The image encoder: Hiera trunk + FPN neck, returning the backbone dict SAM 2 works from."""

from __future__ import annotations

import torch
from torch import nn

from engine.modeling.hiera import Hiera
from engine.modeling.neck import FpnNeck


class ImageEncoder(nn.Module):
    """(B, 3, S, S) normalised image -> {"vision_features", "vision_pos_enc", "backbone_fpn"}.

    ``scalp`` drops that many of the coarsest levels: SAM 2 keeps three (strides 4, 8, 16), so
    at 1024 px backbone_fpn holds (B, 256, 256, 256), (B, 256, 128, 128) and (B, 256, 64, 64);
    vision_features is the last (coarsest kept) level.
    """

    def __init__(self, trunk: Hiera, neck: FpnNeck, scalp: int = 1) -> None:
        super().__init__()
        if trunk.channel_list != neck.backbone_channel_list:
            raise ValueError(
                f"trunk widths {trunk.channel_list} do not match the neck's {neck.backbone_channel_list}"
            )
        self.trunk = trunk
        self.neck = neck
        self.scalp = scalp

    def forward(self, sample: torch.Tensor) -> dict[str, torch.Tensor | list[torch.Tensor]]:
        features, pos = self.neck(self.trunk(sample))
        if self.scalp > 0:
            features, pos = features[: -self.scalp], pos[: -self.scalp]
        return {"vision_features": features[-1], "vision_pos_enc": pos, "backbone_fpn": features}
