"""Automatic mask generation: segment everything in an image by prompting a grid of points.

SAM's automatic mask generator, the source of SA-V's candidate auto masklets: prompt each point
of a regular grid (optionally on overlapping crops too), keep the multimask outputs whose
predicted IoU and stability are high, drop duplicates by box NMS, optionally clean small islands
and holes, and return COCO-RLE records:

    generator = AutoMaskGenerator(engine.load_model("sam2.1_hiera_t", checkpoint=...))
    records = generator.generate(rgb)   # best predicted IoU first
    records[0]["segmentation"]          # {"size": [H, W], "counts": str}

Geometry (grids, crops), stability, NMS and region cleaning are plain functions here so they can
be tested alone. NMS and connected components are our own (no torchvision, OpenCV or SciPy).
Differences from the reference, on purpose: boxes are pixel-exact (XYWH with w = columns covered,
the COCO convention of :func:`engine.rle.bbox`), and a mask whose soft version is empty has a
stability score of 0 rather than NaN.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from itertools import product
from typing import Any, Protocol

import numpy as np
import torch

from engine import rle

__all__ = [
    "AutoMaskGenerator",
    "box_iou",
    "box_nms",
    "build_point_grid",
    "generate_crop_boxes",
    "masks_to_boxes",
    "remove_small_regions",
    "stability_score",
]

_UPSCALE_CHUNK = 16  # masks upscaled to full resolution at a time: bounds memory on large images
_EDGE_TOLERANCE = 20.0  # px: a box this close to a crop's inner edge is cut by the crop


class _BatchPredictor(Protocol):
    """What the generator needs from engine.image_predictor.ImagePredictor."""

    def set_image(self, rgb: np.ndarray) -> None: ...

    def predict_batch(self, points: Any, labels: Any, multimask: bool = True) -> Any: ...

    def upscale_logits(self, low_res_logits: torch.Tensor) -> torch.Tensor: ...


# ---------------------------------------------------------------------------------------------
# Geometry


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


# ---------------------------------------------------------------------------------------------
# Scores, boxes and NMS


def stability_score(logits: torch.Tensor, mask_threshold: float = 0.0, offset: float = 1.0) -> torch.Tensor:
    """IoU of the masks thresholded at ``threshold + offset`` and ``threshold - offset``.

    The first is inside the second, so the IoU is a ratio of pixel counts. (..., H, W) -> (...).
    A mask with no pixel above ``threshold - offset`` scores 0.
    """
    inner = (logits > mask_threshold + offset).sum(dim=(-2, -1))
    outer = (logits > mask_threshold - offset).sum(dim=(-2, -1))
    return torch.where(outer > 0, inner / outer.clamp(min=1), torch.zeros_like(inner, dtype=torch.float32))


def masks_to_boxes(masks: torch.Tensor) -> torch.Tensor:
    """(N, H, W) bool -> (N, 4) float XYXY with exclusive ends (x1 = last column + 1); 0s if empty."""
    n, h, w = masks.shape
    if n == 0:
        return torch.zeros((0, 4))
    rows, cols = masks.any(dim=2), masks.any(dim=1)  # (N, H), (N, W)
    y0 = rows.float().argmax(dim=1)
    y1 = h - rows.flip(1).float().argmax(dim=1)
    x0 = cols.float().argmax(dim=1)
    x1 = w - cols.flip(1).float().argmax(dim=1)
    boxes = torch.stack([x0, y0, x1, y1], dim=1).float()
    return boxes * rows.any(dim=1, keepdim=True)


def box_iou(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    """(N, 4) x (M, 4) XYXY -> (N, M) IoU; 0 where the union is empty."""
    area_a = (a[:, 2] - a[:, 0]).clamp(min=0) * (a[:, 3] - a[:, 1]).clamp(min=0)
    area_b = (b[:, 2] - b[:, 0]).clamp(min=0) * (b[:, 3] - b[:, 1]).clamp(min=0)
    top_left = torch.maximum(a[:, None, :2], b[None, :, :2])
    bottom_right = torch.minimum(a[:, None, 2:], b[None, :, 2:])
    wh = (bottom_right - top_left).clamp(min=0)
    inter = wh[..., 0] * wh[..., 1]
    union = area_a[:, None] + area_b[None, :] - inter
    return torch.where(union > 0, inter / union.clamp(min=1e-12), torch.zeros_like(inter))


def box_nms(boxes: torch.Tensor, scores: torch.Tensor, iou_threshold: float) -> torch.Tensor:
    """Greedy NMS: indices of the kept boxes, best score first.

    A box is dropped when its IoU with a kept, better-scoring box is *above* the threshold (as
    torchvision's ``nms``); equal scores keep their input order. Memory is O(N): each kept box is
    compared with the boxes after it, no N x N matrix.
    """
    if boxes.shape[0] == 0:
        return torch.zeros(0, dtype=torch.long)
    order = torch.argsort(scores, descending=True, stable=True)
    ranked = boxes[order].float()
    suppressed = np.zeros(len(order), dtype=bool)
    keep = []
    for i in range(len(order)):
        if suppressed[i]:
            continue
        keep.append(i)
        if i + 1 < len(order):
            suppressed[i + 1 :] |= (box_iou(ranked[i : i + 1], ranked[i + 1 :])[0] > iou_threshold).numpy()
    return order[torch.as_tensor(keep, dtype=torch.long)]


def _near_crop_edge(boxes: torch.Tensor, crop_box: list[int], image_box: list[int]) -> torch.Tensor:
    """Boxes (image coordinates) touching an edge of the crop that is not an edge of the image:
    such a mask is probably cut by the crop and a larger crop will see the whole object."""
    crop = torch.as_tensor(crop_box, dtype=torch.float32)
    image = torch.as_tensor(image_box, dtype=torch.float32)
    near_crop = torch.isclose(boxes, crop[None], atol=_EDGE_TOLERANCE, rtol=0)
    near_image = torch.isclose(boxes, image[None], atol=_EDGE_TOLERANCE, rtol=0)
    return (near_crop & ~near_image).any(dim=1)


# ---------------------------------------------------------------------------------------------
# Connected components (8-connectivity, as OpenCV's) on runs of pixels


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


# ---------------------------------------------------------------------------------------------
# The generator


@dataclass
class _Candidates:
    """Masks kept so far, in image coordinates; RLEs stay at their crop's size until the crop NMS."""

    rles: list[rle.RLE]
    boxes: torch.Tensor  # (N, 4) XYXY
    iou: torch.Tensor  # (N,)
    stability: torch.Tensor  # (N,)
    points: torch.Tensor  # (N, 2) x, y
    crop: list[list[int]]  # per mask, XYXY

    @staticmethod
    def empty() -> _Candidates:
        return _Candidates([], torch.zeros((0, 4)), torch.zeros(0), torch.zeros(0), torch.zeros((0, 2)), [])

    def take(self, keep: torch.Tensor) -> _Candidates:
        idx = keep.tolist()
        return _Candidates(
            [self.rles[i] for i in idx],
            self.boxes[keep],
            self.iou[keep],
            self.stability[keep],
            self.points[keep],
            [self.crop[i] for i in idx],
        )

    def extend(self, other: _Candidates) -> _Candidates:
        return _Candidates(
            self.rles + other.rles,
            torch.cat([self.boxes, other.boxes]),
            torch.cat([self.iou, other.iou]),
            torch.cat([self.stability, other.stability]),
            torch.cat([self.points, other.points]),
            self.crop + other.crop,
        )


class AutoMaskGenerator:
    """Segments everything in an image from a grid of point prompts (SAM's semantics).

    ``model`` is a SAM2Model (wrapped in an ImagePredictor) or an object with the predictor's
    ``set_image`` / ``predict_batch`` / ``upscale_logits``. Thresholds: a mask is kept when its
    predicted IoU is above ``pred_iou_thresh`` and its stability score is at least
    ``stability_score_thresh``; duplicates go by box NMS at ``box_nms_thresh`` inside each crop
    and at ``crop_nms_thresh`` across crops (masks from smaller crops win); with
    ``min_region_area > 0`` islands and holes below that area are removed.
    """

    def __init__(
        self,
        model: Any,
        points_per_side: int = 32,
        points_per_batch: int = 64,
        pred_iou_thresh: float = 0.8,
        stability_score_thresh: float = 0.95,
        stability_score_offset: float = 1.0,
        mask_threshold: float = 0.0,
        box_nms_thresh: float = 0.7,
        crop_n_layers: int = 0,
        crop_nms_thresh: float = 0.7,
        crop_overlap_ratio: float = 512 / 1500,
        crop_n_points_downscale_factor: int = 1,
        min_region_area: int = 0,
        multimask: bool = True,
    ) -> None:
        if points_per_batch < 1:
            raise ValueError(f"points_per_batch must be >= 1, got {points_per_batch}")
        if crop_n_layers < 0:
            raise ValueError(f"crop_n_layers must be >= 0, got {crop_n_layers}")
        if hasattr(model, "predict_batch"):
            self.predictor: _BatchPredictor = model
        else:
            from engine.image_predictor import ImagePredictor

            self.predictor = ImagePredictor(model)
        self.point_grids = [
            build_point_grid(max(1, points_per_side // crop_n_points_downscale_factor**i))
            for i in range(crop_n_layers + 1)
        ]
        self.points_per_batch = points_per_batch
        self.pred_iou_thresh = pred_iou_thresh
        self.stability_score_thresh = stability_score_thresh
        self.stability_score_offset = stability_score_offset
        self.mask_threshold = mask_threshold
        self.box_nms_thresh = box_nms_thresh
        self.crop_n_layers = crop_n_layers
        self.crop_nms_thresh = crop_nms_thresh
        self.crop_overlap_ratio = crop_overlap_ratio
        self.min_region_area = min_region_area
        self.multimask = multimask

    @torch.inference_mode()
    def generate(self, rgb: np.ndarray) -> list[dict[str, Any]]:
        """Records for an (H, W, 3) uint8 image, best predicted IoU first."""
        if not isinstance(rgb, np.ndarray) or rgb.ndim != 3 or rgb.shape[2] != 3 or rgb.dtype != np.uint8:
            raise ValueError("image must be an (H, W, 3) uint8 array")
        h, w = rgb.shape[:2]
        crop_boxes, layers = generate_crop_boxes(h, w, self.crop_n_layers, self.crop_overlap_ratio)
        found = _Candidates.empty()
        for crop_box, layer in zip(crop_boxes, layers, strict=True):
            found = found.extend(self._process_crop(rgb, crop_box, layer))
        if len(crop_boxes) > 1 and len(found.rles):
            # The same object seen by several crops: prefer the mask from the smallest crop.
            crop_area = torch.as_tensor(
                [(c[2] - c[0]) * (c[3] - c[1]) for c in found.crop], dtype=torch.float32
            )
            found = found.take(box_nms(found.boxes, 1.0 / crop_area, self.crop_nms_thresh))
        found.rles = [self._uncrop(r, c, h, w) for r, c in zip(found.rles, found.crop, strict=True)]
        found = found.take(torch.argsort(found.iou, descending=True, stable=True))
        if self.min_region_area > 0 and found.rles:
            found = self._clean_regions(found)
        return self._records(found)

    def _process_crop(self, rgb: np.ndarray, crop_box: list[int], layer: int) -> _Candidates:
        x0, y0, x1, y1 = crop_box
        crop = np.ascontiguousarray(rgb[y0:y1, x0:x1])
        self.predictor.set_image(crop)
        points = self.point_grids[layer] * np.array([[x1 - x0, y1 - y0]], dtype=np.float64)
        found = _Candidates.empty()
        for start in range(0, len(points), self.points_per_batch):
            found = found.extend(
                self._process_batch(points[start : start + self.points_per_batch], crop_box, rgb.shape)
            )
        if len(found.rles):
            found = found.take(box_nms(found.boxes, found.iou, self.box_nms_thresh))
        return found

    def _process_batch(
        self, points: np.ndarray, crop_box: list[int], image_shape: tuple[int, ...]
    ) -> _Candidates:
        out = self.predictor.predict_batch(
            points[:, None, :], np.ones((len(points), 1), dtype=np.int64), self.multimask
        )
        low_res, scores = out.low_res_logits, out.scores  # (N, K, L, L), (N, K)
        k = scores.shape[1]
        low_res = low_res.flatten(0, 1)  # (N*K, L, L)
        scores = scores.flatten().float().cpu()
        point_xy = torch.as_tensor(points, dtype=torch.float32).repeat_interleave(k, dim=0)
        # Filter on the predicted IoU before upscaling: upscaled logits are the memory hog.
        if self.pred_iou_thresh > 0:
            kept = torch.nonzero(scores > self.pred_iou_thresh).flatten()
        else:
            kept = torch.arange(len(scores))
        masks, stability, index = [], [], []
        for part in kept.split(_UPSCALE_CHUNK):
            logits = (
                self.predictor.upscale_logits(low_res[part.to(low_res.device)][:, None])[:, 0].float().cpu()
            )
            stab = stability_score(logits, self.mask_threshold, self.stability_score_offset)
            ok = stab >= self.stability_score_thresh
            binary = logits[ok] > self.mask_threshold
            nonempty = binary.flatten(1).any(dim=1)
            masks.append(binary[nonempty])
            stability.append(stab[ok][nonempty])
            index.append(part[ok][nonempty])
        if not index or sum(len(i) for i in index) == 0:
            return _Candidates.empty()
        binary = torch.cat(masks)
        index = torch.cat(index)
        offset = torch.as_tensor([crop_box[0], crop_box[1], crop_box[0], crop_box[1]], dtype=torch.float32)
        boxes = masks_to_boxes(binary) + offset
        cut = _near_crop_edge(boxes, crop_box, [0, 0, image_shape[1], image_shape[0]])
        keep = ~cut
        return _Candidates(
            rles=rle.encode_batch(binary[keep].numpy()),
            boxes=boxes[keep],
            iou=scores[index][keep],
            stability=torch.cat(stability)[keep],
            points=point_xy[index][keep] + offset[:2],
            crop=[crop_box] * int(keep.sum()),
        )

    @staticmethod
    def _uncrop(encoded: rle.RLE, crop_box: list[int], h: int, w: int) -> rle.RLE:
        """A crop-sized RLE placed in the full (h, w) image."""
        x0, y0, x1, y1 = crop_box
        if (x0, y0, x1, y1) == (0, 0, w, h):
            return encoded
        full = np.zeros((h, w), dtype=bool)
        full[y0:y1, x0:x1] = rle.decode(encoded)
        return rle.encode(full)

    def _clean_regions(self, found: _Candidates) -> _Candidates:
        """Remove small holes and islands, then NMS again preferring masks that did not change."""
        unchanged = []
        for i, encoded in enumerate(found.rles):
            mask, filled = remove_small_regions(rle.decode(encoded), self.min_region_area, "holes")
            mask, trimmed = remove_small_regions(mask, self.min_region_area, "islands")
            unchanged.append(not (filled or trimmed))
            if filled or trimmed:
                found.rles[i] = rle.encode(mask)
                found.boxes[i] = masks_to_boxes(torch.from_numpy(mask)[None])[0]
        keep = box_nms(found.boxes, torch.as_tensor(unchanged, dtype=torch.float32), self.box_nms_thresh)
        return found.take(keep.sort().values)  # back to best predicted IoU first

    @staticmethod
    def _records(found: _Candidates) -> list[dict[str, Any]]:
        records = []
        for i, segmentation in enumerate(found.rles):
            x0, y0, x1, y1 = found.crop[i]
            records.append(
                {
                    "segmentation": segmentation,
                    "area": rle.area(segmentation),
                    "bbox": rle.bbox(segmentation),
                    "predicted_iou": float(found.iou[i]),
                    "stability_score": float(found.stability[i]),
                    "point_coords": [[float(found.points[i, 0]), float(found.points[i, 1])]],
                    "crop_box": [x0, y0, x1 - x0, y1 - y0],
                }
            )
        return records
