"""Boundary maps and their disk dilation, as the DAVIS / SA-V boundary measure F defines them.

The SA-V evaluator (``sav_dataset/utils/sav_benchmark.py``, after DAVIS and vos-benchmark) marks a
pixel as boundary when it differs from its east, south or south-east neighbour; on the last row only
the east neighbour counts, on the last column only the south one, and the bottom-right pixel is never
a boundary. A predicted boundary pixel is matched when a ground-truth boundary pixel lies within a
disk of radius ``ceil(0.008 * image diagonal)`` (skimage's ``disk``: x^2 + y^2 <= r^2), and vice versa.

The dilation by that disk is done without SciPy or OpenCV: a disk is a stack of horizontal segments,
so dilating is OR-ing, for each row offset dy, the map dilated horizontally by the segment's
half-width (a window sum over a cumulative sum) and shifted by dy. It is exact (booleans only) and
costs O(r) passes over the image.
"""

from __future__ import annotations

import math

import numpy as np

__all__ = ["boundary_f", "boundary_map", "boundary_tolerance", "dilate", "disk"]

_CHUNK_PIXELS = 1 << 23  # frames per batch are chosen so a batch's int32 cumsum stays ~32 MB


def boundary_tolerance(height: int, width: int, bound_th: float = 0.008) -> int:
    """The matching radius in pixels: ``bound_th`` of the image diagonal, rounded up."""
    return int(bound_th) if bound_th >= 1 else int(math.ceil(bound_th * math.hypot(height, width)))


def disk(radius: int) -> np.ndarray:
    """(2r+1, 2r+1) bool structuring element with x^2 + y^2 <= r^2."""
    r = int(radius)
    yy, xx = np.ogrid[-r : r + 1, -r : r + 1]
    return (xx * xx + yy * yy) <= r * r


def boundary_map(masks: np.ndarray) -> np.ndarray:
    """Boundary pixels of (..., H, W) bool masks, by the east / south / south-east rule."""
    seg = masks.astype(bool, copy=False)
    east = np.zeros_like(seg)
    south = np.zeros_like(seg)
    south_east = np.zeros_like(seg)
    east[..., :, :-1] = seg[..., :, 1:]
    south[..., :-1, :] = seg[..., 1:, :]
    south_east[..., :-1, :-1] = seg[..., 1:, 1:]
    b = (seg ^ east) | (seg ^ south) | (seg ^ south_east)
    b[..., -1, :] = seg[..., -1, :] ^ east[..., -1, :]
    b[..., :, -1] = seg[..., :, -1] ^ south[..., :, -1]
    b[..., -1, -1] = False
    return b


def _dilate_chunk(maps: np.ndarray, radius: int) -> np.ndarray:
    n, h, w = maps.shape
    cum = np.zeros((n, h, w + 1), dtype=np.int32)
    np.cumsum(maps, axis=-1, dtype=np.int32, out=cum[..., 1:])
    cols = np.arange(w)
    horizontal: dict[int, np.ndarray] = {}
    out = np.zeros_like(maps, dtype=bool)
    for dy in range(-radius, radius + 1):
        half = math.isqrt(radius * radius - dy * dy)
        if half not in horizontal:
            hi = np.minimum(cols + half + 1, w)
            lo = np.maximum(cols - half, 0)
            horizontal[half] = (cum[..., hi] - cum[..., lo]) > 0
        seg = horizontal[half]
        # out[y] |= seg[y + dy]: a pixel is reached from the rows dy away.
        if dy >= 0:
            out[:, : h - dy] |= seg[:, dy:]
        else:
            out[:, -dy:] |= seg[:, : h + dy]
    return out


def dilate(maps: np.ndarray, radius: int) -> np.ndarray:
    """Dilate (..., H, W) bool maps by :func:`disk` (radius); pixels outside the image count as off."""
    maps = np.asarray(maps, dtype=bool)
    if radius <= 0:
        return maps.copy()
    h, w = maps.shape[-2:]
    flat = maps.reshape(-1, h, w)
    step = max(1, _CHUNK_PIXELS // max(h * w, 1))
    parts = [_dilate_chunk(flat[i : i + step], radius) for i in range(0, flat.shape[0], step)]
    return (np.concatenate(parts) if parts else flat.copy()).reshape(maps.shape)


def boundary_f(gt: np.ndarray, pred: np.ndarray, bound_th: float = 0.008) -> np.ndarray:
    """Per-frame boundary F of (T, H, W) bool masks, in [0, 1].

    Both boundaries empty -> 1; exactly one empty -> 0 (precision or recall is 0); else
    F = 2PR / (P + R), and 0 when P + R = 0.
    """
    if gt.shape != pred.shape or gt.ndim != 3:
        raise ValueError(f"gt and pred must be (T, H, W) of one shape, got {gt.shape} and {pred.shape}")
    radius = boundary_tolerance(gt.shape[1], gt.shape[2], bound_th)
    gt_b, pred_b = boundary_map(gt), boundary_map(pred)
    n_gt = gt_b.sum(axis=(1, 2))
    n_pred = pred_b.sum(axis=(1, 2))
    f = np.zeros(gt.shape[0], dtype=np.float64)
    f[(n_gt == 0) & (n_pred == 0)] = 1.0
    for i in np.flatnonzero((n_gt > 0) & (n_pred > 0)):
        # Only the box around both boundaries matters: the dilations are read at boundary pixels
        # only, and every pixel outside the box is 0 in both maps, as the dilation's padding is.
        union = gt_b[i] | pred_b[i]
        rows, cols = np.flatnonzero(union.any(axis=1)), np.flatnonzero(union.any(axis=0))
        box = (slice(rows[0], rows[-1] + 1), slice(cols[0], cols[-1] + 1))
        g, p = gt_b[i][box], pred_b[i][box]
        precision = (p & dilate(g, radius)).sum() / n_pred[i]
        recall = (g & dilate(p, radius)).sum() / n_gt[i]
        f[i] = 0.0 if precision + recall == 0 else 2 * precision * recall / (precision + recall)
    return f
