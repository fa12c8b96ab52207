"""Where the automatic mask generator prompts: point grids and overlapping crop boxes."""

from __future__ import annotations

import math
from itertools import product

import numpy as np

__all__ = ["build_point_grid", "generate_crop_boxes"]


def build_point_grid(n_per_side: int) -> np.ndarray:
    """(n*n, 2) points (x, y) in [0, 1]^2, centred in the cells of an n x n grid, row by row."""
    if n_per_side < 1:
        raise ValueError(f"points_per_side must be >= 1, got {n_per_side}")
    offset = 1 / (2 * n_per_side)
    side = np.linspace(offset, 1 - offset, n_per_side)
    xs, ys = np.meshgrid(side, side)
    return np.stack([xs.ravel(), ys.ravel()], axis=-1)


def generate_crop_boxes(
    height: int, width: int, n_layers: int, overlap_ratio: float
) -> tuple[list[list[int]], list[int]]:
    """Crop boxes (XYXY, pixels) and their layer: the whole image, then 2^i x 2^i overlapping
    crops for layer i = 1..n_layers, each overlapping its neighbours by ``overlap_ratio`` of the
    short side scaled to the layer."""
    boxes, layers = [[0, 0, width, height]], [0]
    short = min(height, width)
    for layer in range(1, n_layers + 1):
        n = 2**layer
        overlap = int(overlap_ratio * short * (2 / n))
        crop_w = int(math.ceil((overlap * (n - 1) + width) / n))
        crop_h = int(math.ceil((overlap * (n - 1) + height) / n))
        x0s = [int((crop_w - overlap) * i) for i in range(n)]
        y0s = [int((crop_h - overlap) * i) for i in range(n)]
        for x0, y0 in product(x0s, y0s):
            boxes.append([x0, y0, min(x0 + crop_w, width), min(y0 + crop_h, height)])
            layers.append(layer)
    return boxes, layers
