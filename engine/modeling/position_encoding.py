"""Position encodings: the sine map of the FPN neck and the random-Fourier one of the prompt encoder.

(The rotary encoding of the memory attention lives in rope.py.)
"""

from __future__ import annotations

import math

import torch
from torch import nn


class PositionEmbeddingSine(nn.Module):
    """DETR-style 2-D sine/cosine encoding of a feature map's grid, normalised to [0, 2*pi].

    forward((B, C, H, W)) -> (B, num_pos_feats, H, W): the first half of the channels encodes y,
    the second half x. It depends only on the shape, so results are cached per (H, W) and
    returned as views of the cache: never write into them.
    """

    def __init__(self, num_pos_feats: int, temperature: float = 10000.0, normalize: bool = True) -> None:
        super().__init__()
        assert num_pos_feats % 2 == 0, "num_pos_feats must be even (half for y, half for x)"
        self.num_pos_feats = num_pos_feats // 2
        self.temperature = temperature
        self.normalize = normalize
        self.scale = 2 * math.pi
        self._cache: dict[tuple[int, int, bool], torch.Tensor] = {}

    def _frequencies(self, device: torch.device) -> torch.Tensor:
        dim_t = torch.arange(self.num_pos_feats, dtype=torch.float32, device=device)
        return self.temperature ** (2 * (dim_t // 2) / self.num_pos_feats)

    @staticmethod
    def _interleave(pos: torch.Tensor) -> torch.Tensor:
        # (..., F) -> (..., F): sin of the even frequencies interleaved with cos of the odd ones.
        return torch.stack((pos[..., 0::2].sin(), pos[..., 1::2].cos()), dim=-1).flatten(-2)

    @torch.no_grad()
    def _grid(self, h: int, w: int, device: torch.device) -> torch.Tensor:
        key = (h, w, torch.is_inference_mode_enabled())
        if key not in self._cache:
            y = torch.arange(1, h + 1, dtype=torch.float32, device=device).view(-1, 1).expand(h, w)
            x = torch.arange(1, w + 1, dtype=torch.float32, device=device).view(1, -1).expand(h, w)
            if self.normalize:
                eps = 1e-6
                y = y / (y[-1:, :] + eps) * self.scale
                x = x / (x[:, -1:] + eps) * self.scale
            freqs = self._frequencies(device)
            pos_x = self._interleave(x[:, :, None] / freqs)  # (H, W, F/2)
            pos_y = self._interleave(y[:, :, None] / freqs)
            self._cache[key] = torch.cat((pos_y, pos_x), dim=2).permute(2, 0, 1)  # (F, H, W)
        return self._cache[key].to(device)

    @torch.no_grad()
    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """A read-only view of the cached grid, expanded over the batch (copying the 256x256 level of
        a 1024 px image would write 64 MB per frame; most callers keep only the coarsest level)."""
        grid = self._grid(x.shape[-2], x.shape[-1], x.device)
        return grid[None].expand(x.shape[0], -1, -1, -1)


class PositionEmbeddingRandom(nn.Module):
    """Random-Fourier-feature encoding of (x, y) in [0, 1]^2: sin and cos of 2*pi * (2p - 1) @ G.

    ``positional_encoding_gaussian_matrix`` (2, num_pos_feats) is a buffer saved in checkpoints.
    """

    positional_encoding_gaussian_matrix: torch.Tensor

    def __init__(self, num_pos_feats: int = 64, scale: float = 1.0) -> None:
        super().__init__()
        self.register_buffer("positional_encoding_gaussian_matrix", scale * torch.randn((2, num_pos_feats)))

    def _pe_encoding(self, coords: torch.Tensor) -> torch.Tensor:
        """(..., 2) normalised coords -> (..., 2 * num_pos_feats)."""
        # float32 normally; the model's dtype when it was cast (e.g. bfloat16 inference).
        coords = coords.to(self.positional_encoding_gaussian_matrix.dtype)
        coords = (2 * coords - 1) @ self.positional_encoding_gaussian_matrix
        coords = 2 * math.pi * coords
        return torch.cat([torch.sin(coords), torch.cos(coords)], dim=-1)

    def forward(self, size: tuple[int, int]) -> torch.Tensor:
        """Encoding of the centres of an (h, w) grid: (C, h, w)."""
        h, w = size
        device = self.positional_encoding_gaussian_matrix.device
        grid = torch.ones((h, w), device=device, dtype=torch.float32)
        y = (grid.cumsum(dim=0) - 0.5) / h
        x = (grid.cumsum(dim=1) - 0.5) / w
        return self._pe_encoding(torch.stack([x, y], dim=-1)).permute(2, 0, 1)

    def forward_with_coords(self, coords_input: torch.Tensor, image_size: tuple[int, int]) -> torch.Tensor:
        """(B, N, 2) pixel coords (x, y) in an image of size (H, W) -> (B, N, C)."""
        coords = coords_input.clone()
        coords[:, :, 0] = coords[:, :, 0] / image_size[1]
        coords[:, :, 1] = coords[:, :, 1] / image_size[0]
        return self._pe_encoding(coords)
