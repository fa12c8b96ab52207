"""Automatic mask generation: segment everything in an image by prompting a grid of points.

SAM's automatic mask generator, the source of SA-V's candidate auto masklets: prompt each point
of a regular grid (optionally on overlapping crops too), keep the multimask outputs whose
predicted IoU and stability are high, drop duplicates by box NMS, optionally clean small islands
and holes, and return COCO-RLE records:

    generator = AutoMaskGenerator(engine.load_model("sam2.1_hiera_t", checkpoint=...))
    records = generator.generate(rgb)   # best predicted IoU first
    records[0]["segmentation"]          # {"size": [H, W], "counts": str}

Geometry (grids, crops), stability, NMS and region cleaning are plain functions in the sibling
modules, tested alone. NMS and connected components are our own (no torchvision, OpenCV, SciPy).
Differences from the reference, on purpose: boxes are pixel-exact (XYWH with w = columns covered,
the COCO convention of :func:`engine.rle.bbox`), and a mask whose soft version is empty has a
stability score of 0 rather than NaN.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Protocol

import numpy as np
import torch

from engine import rle
from engine.auto_mask.geometry import build_point_grid, generate_crop_boxes
from engine.auto_mask.ops import box_nms, masks_to_boxes, near_crop_edge, stability_score
from engine.auto_mask.regions import remove_small_regions

__all__ = ["AutoMaskGenerator"]

_UPSCALE_CHUNK = 16  # masks upscaled to full resolution at a time: bounds memory on large images


class _BatchPredictor(Protocol):
    """What the generator needs from engine.image_predictor.ImagePredictor."""

    def set_image(self, rgb: np.ndarray) -> None: ...

    def predict_batch(self, points: Any, labels: Any, multimask: bool = True) -> Any: ...

    def upscale_logits(self, low_res_logits: torch.Tensor) -> torch.Tensor: ...


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
    ``min_region_area > 0`` islands and holes below that area are removed. ``points_per_layer``
    sets the grid side of each crop layer directly (else ``points_per_side`` divided by
    ``crop_n_points_downscale_factor`` per layer, as in SAM). After ``generate``, ``counts`` says how
    many prompts and masks there were and how many each filter kept, in the filters' order.
    """

    @classmethod
    def for_sav_auto_masklets(cls, model: Any, **overrides: Any) -> AutoMaskGenerator:
        """SA-V's recipe for candidate auto masklets on a first frame: a 32x32 grid on the frame,
        16x16 on each of 4 crops and 4x4 on each of 16 crops; islands and holes under 200 px removed."""
        settings: dict[str, Any] = {
            "crop_n_layers": 2,
            "points_per_layer": (32, 16, 4),
            "min_region_area": 200,
        }
        return cls(model, **{**settings, **overrides})

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
        points_per_layer: Sequence[int] | None = None,
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
        if points_per_layer is None:
            points_per_layer = [
                max(1, points_per_side // crop_n_points_downscale_factor**i) for i in range(crop_n_layers + 1)
            ]
        elif len(points_per_layer) != crop_n_layers + 1:
            raise ValueError(
                f"points_per_layer needs one grid side per layer ({crop_n_layers + 1}), got {list(points_per_layer)}"
            )
        self.point_grids = [build_point_grid(int(n)) for n in points_per_layer]
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
        # What each filter kept in the last ``generate`` (in order): why a frame gave few candidates.
        self.counts: dict[str, int] = {}

    def _count(self, name: str, kept: int) -> None:
        self.counts[name] = self.counts.get(name, 0) + int(kept)

    @torch.inference_mode()
    def generate(self, rgb: np.ndarray) -> list[dict[str, Any]]:
        """Records for an (H, W, 3) uint8 image, best predicted IoU first."""
        if not isinstance(rgb, np.ndarray) or rgb.ndim != 3 or rgb.shape[2] != 3 or rgb.dtype != np.uint8:
            raise ValueError("image must be an (H, W, 3) uint8 array")
        h, w = rgb.shape[:2]
        self.counts = {name: 0 for name in ("points", "masks", "pred_iou", "stability", "whole_in_crop", "box_nms")}
        crop_boxes, layers = generate_crop_boxes(h, w, self.crop_n_layers, self.crop_overlap_ratio)
        found = _Candidates.empty()
        for crop_box, layer in zip(crop_boxes, layers, strict=True):
            found = found.extend(self._process_crop(rgb, crop_box, layer))
        self._count("box_nms", len(found.rles))
        if len(crop_boxes) > 1 and len(found.rles):
            # The same object seen by several crops: prefer the mask from the smallest crop.
            crop_area = torch.as_tensor(
                [(c[2] - c[0]) * (c[3] - c[1]) for c in found.crop], dtype=torch.float32
            )
            found = found.take(box_nms(found.boxes, 1.0 / crop_area, self.crop_nms_thresh))
            self._count("crop_nms", len(found.rles))
        found.rles = [self._uncrop(r, c, h, w) for r, c in zip(found.rles, found.crop, strict=True)]
        found = found.take(torch.argsort(found.iou, descending=True, stable=True))
        if self.min_region_area > 0 and found.rles:
            found = self._clean_regions(found)
            self._count("min_region_area", len(found.rles))
        return self._records(found)

    def _process_crop(self, rgb: np.ndarray, crop_box: list[int], layer: int) -> _Candidates:
        x0, y0, x1, y1 = crop_box
        crop = np.ascontiguousarray(rgb[y0:y1, x0:x1])
        self.predictor.set_image(crop)
        points = self.point_grids[layer] * np.array([[x1 - x0, y1 - y0]], dtype=np.float64)
        self._count("points", len(points))
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
        self._count("masks", len(scores))
        self._count("pred_iou", len(kept))
        offset = torch.as_tensor([crop_box[0], crop_box[1], crop_box[0], crop_box[1]], dtype=torch.float32)
        image_box = [0, 0, image_shape[1], image_shape[0]]
        found = _Candidates.empty()
        for part in kept.split(_UPSCALE_CHUNK):
            # Scored and thresholded where the logits are (the GPU, on a GPU worker); only the
            # binary masks of the survivors come back, and leave this loop as RLE: peak memory is
            # one chunk of full-resolution masks whatever the batch size.
            logits = self.predictor.upscale_logits(low_res[part.to(low_res.device)][:, None])[:, 0].float()
            stab = stability_score(logits, self.mask_threshold, self.stability_score_offset).cpu()
            ok = stab >= self.stability_score_thresh
            binary = (logits[ok.to(logits.device)] > self.mask_threshold).cpu()
            stab, part = stab[ok], part[ok]
            self._count("stability", int(ok.sum()))
            boxes = masks_to_boxes(binary) + offset
            # Drop empty masks, and masks cut by the crop (a larger crop sees the whole object).
            keep = binary.flatten(1).any(dim=1) & ~near_crop_edge(boxes, crop_box, image_box)
            self._count("whole_in_crop", int(keep.sum()))
            found = found.extend(
                _Candidates(
                    rles=rle.encode_batch(binary[keep].numpy()),
                    boxes=boxes[keep],
                    iou=scores[part[keep]],
                    stability=stab[keep],
                    points=point_xy[part[keep]] + offset[:2],
                    crop=[crop_box] * int(keep.sum()),
                )
            )
        return found

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
