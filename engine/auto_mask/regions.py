"""Small islands and holes of a mask, found with our own connected components (8-connected,
as OpenCV's ``connectedComponentsWithStats(..., 8)`` that SAM uses), computed on runs of pixels."""

from __future__ import annotations

import numpy as np

__all__ = ["remove_small_regions"]


def _components(mask: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Runs of True pixels (row, start, end exclusive), each run's component, component sizes."""
    h, w = mask.shape
    padded = np.zeros((h, w + 2), dtype=np.int8)
    padded[:, 1:-1] = mask
    step = np.diff(padded, axis=1)
    rows, starts = np.nonzero(step == 1)
    _, ends = np.nonzero(step == -1)
    n = len(rows)
    if n == 0:
        empty = np.zeros(0, dtype=np.int64)
        return rows, starts, ends, empty, empty
    # Runs a (row r) and b (row r + 1) touch, diagonals included, when b.start <= a.end and
    # b.end >= a.start. Keys order the runs row-major, so the b's of each a form a slice.
    stride = w + 2
    key_start, key_end = rows * stride + starts, rows * stride + ends
    lo = np.searchsorted(key_end, (rows + 1) * stride + starts, side="left")
    hi = np.searchsorted(key_start, (rows + 1) * stride + ends, side="right")
    count = np.maximum(hi - lo, 0)
    a = np.repeat(np.arange(n), count)
    b = lo[a] + (np.arange(count.sum()) - np.repeat(np.cumsum(count) - count, count))
    # Union-find by hooking roots onto the smaller root and pointer jumping, until every edge
    # joins two runs of one root.
    parent = np.arange(n)
    while a.size:
        ra, rb = parent[a], parent[b]
        if np.array_equal(ra, rb):
            break
        np.minimum.at(parent, np.maximum(ra, rb), np.minimum(ra, rb))
        while True:
            jumped = parent[parent]
            if np.array_equal(jumped, parent):
                break
            parent = jumped
    _, label = np.unique(parent, return_inverse=True)
    sizes = np.bincount(label, weights=ends - starts).astype(np.int64)
    return rows, starts, ends, label, sizes


def _paint(shape: tuple[int, int], rows: np.ndarray, starts: np.ndarray, ends: np.ndarray) -> np.ndarray:
    """A bool image with the given runs set."""
    h, w = shape
    edges = np.zeros((h, w + 1), dtype=np.int32)
    np.add.at(edges, (rows, starts), 1)
    np.add.at(edges, (rows, ends), -1)
    return np.cumsum(edges, axis=1)[:, :w] > 0


def remove_small_regions(mask: np.ndarray, area_thresh: float, mode: str) -> tuple[np.ndarray, bool]:
    """Fill holes (``mode="holes"``) or drop islands (``"islands"``) smaller than ``area_thresh``
    pixels, 8-connected; returns the mask and whether it changed. As in SAM, a hole is any
    connected region of background, even one touching the border, and when every island is
    small the largest is kept."""
    if mode not in ("holes", "islands"):
        raise ValueError(f"mode must be 'holes' or 'islands', got {mode!r}")
    holes = mode == "holes"
    rows, starts, ends, label, sizes = _components(~mask if holes else mask)
    small = sizes < area_thresh
    if not small.any():
        return mask, False
    if holes:
        runs = small[label]
        return mask | _paint(mask.shape, rows[runs], starts[runs], ends[runs]), True
    keep = ~small if (~small).any() else np.arange(len(sizes)) == int(np.argmax(sizes))
    runs = keep[label]
    return _paint(mask.shape, rows[runs], starts[runs], ends[runs]), True
