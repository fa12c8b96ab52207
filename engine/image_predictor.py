"""SAM-style image segmentation with a SAM 2 model: embed an image once, then prompt it many times.

    predictor = ImagePredictor(model)
    predictor.set_image(rgb)                       # (H, W, 3) uint8
    result = predictor.predict(points=[[420, 210]], labels=[1])
    best = result.masks[result.scores.argmax()]    # (H, W) bool

Semantics are the reference ``SAM2ImagePredictor``'s: the image is resized to a square of
``model.image_size`` without keeping its aspect ratio and normalised with the ImageNet mean/std;
a box is two extra points labelled 2 and 3 placed before the clicks; with ``multimask=False``
the decoder's dynamic multimask applies (an unstable single mask is replaced by the best of the
three). Bad arguments raise ValueError with a message an API client can show.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch
import torch.nn.functional as F
from numpy.typing import ArrayLike

from engine.modeling.sam2 import SAM2Model

IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)
LOW_RES_CLAMP = 32.0  # low-res logits are clamped as the reference does, so they stay usable as mask_input


@dataclass(frozen=True)
class ImagePrediction:
    """K masks for one prompt (K = 3 with multimask, else 1), at the image's resolution."""

    masks: np.ndarray  # (K, H, W) bool: logits > 0
    scores: np.ndarray  # (K,) float32: predicted IoU of each mask
    logits: np.ndarray  # (K, H, W) float32
    low_res_logits: np.ndarray  # (K, L, L) float32, L = image_size / 4; feed one back as mask_input


@dataclass(frozen=True)
class BatchPrediction:
    """Outputs for N prompts at once, as tensors on the model's device (for the mask generator)."""

    low_res_logits: (
        torch.Tensor
    )  # (N, K, L, L) float32, not clamped: upscale_logits() gives predict()'s logits
    scores: torch.Tensor  # (N, K) float32 predicted IoU


@dataclass(frozen=True)
class _ImageFeatures:
    image_embed: torch.Tensor  # (1, C, S/16, S/16), no_mem_embed added
    high_res_feats: list[torch.Tensor]  # [(1, C/8, S/4, S/4), (1, C/4, S/8, S/8)]
    orig_hw: tuple[int, int]


class ImagePredictor:
    """Prompts a SAM2Model on one image at a time; the image embedding is computed once per image."""

    def __init__(self, model: SAM2Model) -> None:
        self.model = model
        self._features: _ImageFeatures | None = None

    @property
    def is_image_set(self) -> bool:
        return self._features is not None

    @property
    def low_res_size(self) -> int:
        """L: the side of the low-res logits and of a mask_input (256 for official configs)."""
        return self.model.sam_prompt_encoder.mask_input_size[0]

    def reset(self) -> None:
        self._features = None

    def _preprocess(self, rgb: np.ndarray) -> torch.Tensor:
        """(H, W, 3) uint8 -> (1, 3, S, S) normalised, as torchvision's ToTensor/Resize/Normalize."""
        size = self.model.image_size
        x = torch.from_numpy(np.ascontiguousarray(rgb)).to(self.model.device)
        x = x.permute(2, 0, 1)[None].float() / 255.0
        x = F.interpolate(x, size=(size, size), mode="bilinear", align_corners=False, antialias=True)
        mean = torch.tensor(IMAGENET_MEAN, device=x.device).view(1, 3, 1, 1)
        std = torch.tensor(IMAGENET_STD, device=x.device).view(1, 3, 1, 1)
        return ((x - mean) / std).to(next(self.model.parameters()).dtype)

    @torch.inference_mode()
    def set_image(self, rgb: np.ndarray) -> None:
        """Embed an RGB image given as an (H, W, 3) uint8 array."""
        if not isinstance(rgb, np.ndarray):
            raise ValueError(f"image must be a numpy array, got {type(rgb).__name__}")
        if rgb.ndim != 3 or rgb.shape[2] != 3 or rgb.shape[0] == 0 or rgb.shape[1] == 0:
            raise ValueError(f"image must have shape (H, W, 3) (RGB), got {rgb.shape}")
        if rgb.dtype != np.uint8:
            raise ValueError(f"image must be uint8 (0-255), got {rgb.dtype}")
        self._features = None
        backbone_out = self.model.forward_image(self._preprocess(rgb))
        _, feats, _, sizes = self.model.prepare_backbone_features(backbone_out)
        if self.model.directly_add_no_mem_embed:
            # An image is a frame with no memory: SAM 2 was trained with this embedding added.
            feats[-1] = feats[-1] + self.model.no_mem_embed
        # (HW, 1, C) -> (1, C, H, W) per level
        maps = [f.permute(1, 2, 0).reshape(1, -1, *hw) for f, hw in zip(feats, sizes, strict=True)]
        self._features = _ImageFeatures(maps[-1], maps[:-1], (int(rgb.shape[0]), int(rgb.shape[1])))

    def _require_features(self) -> _ImageFeatures:
        if self._features is None:
            raise ValueError("no image set: call set_image(rgb) before predicting")
        return self._features

    def _to_model_coords(self, xy: np.ndarray, orig_hw: tuple[int, int]) -> torch.Tensor:
        """Pixel (x, y) in the original image -> pixels of the S x S model input (float32, as the reference)."""
        h, w = orig_hw
        coords = torch.as_tensor(xy, dtype=torch.float32, device=self.model.device).clone()
        coords[..., 0] = coords[..., 0] / w
        coords[..., 1] = coords[..., 1] / h
        return coords * self.model.image_size

    def _decode(
        self,
        coords: torch.Tensor | None,
        labels: torch.Tensor | None,
        mask_input: torch.Tensor | None,
        multimask: bool,
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """(B, P, 2) coords, (B, P) labels, (B, 1, L, L) mask -> low-res logits (B, K, L, L), IoU (B, K)."""
        features = self._require_features()
        points = (coords, labels) if coords is not None and labels is not None else None
        sparse, dense = self.model.sam_prompt_encoder(points=points, boxes=None, masks=mask_input)
        batch = sparse.shape[0]
        low_res, iou, _, _ = self.model.sam_mask_decoder(
            image_embeddings=features.image_embed,
            image_pe=self.model.sam_prompt_encoder.get_dense_pe(),
            sparse_prompt_embeddings=sparse,
            dense_prompt_embeddings=dense,
            multimask_output=multimask,
            repeat_image=batch > 1,  # one image embedding shared by several prompts
            high_res_features=features.high_res_feats,
        )
        return low_res.float(), iou.float()

    @torch.inference_mode()
    def upscale_logits(self, low_res_logits: torch.Tensor) -> torch.Tensor:
        """(N, K, L, L) low-res logits -> (N, K, H, W) at the current image's resolution."""
        features = self._require_features()
        return F.interpolate(low_res_logits.float(), features.orig_hw, mode="bilinear", align_corners=False)

    @torch.inference_mode()
    def predict(
        self,
        points: ArrayLike | None = None,
        labels: ArrayLike | None = None,
        box: ArrayLike | None = None,
        mask_input: ArrayLike | None = None,
        multimask: bool = True,
    ) -> ImagePrediction:
        """Masks for one prompt: clicks (pixel (x, y), label 1 positive / 0 negative), a box
        (XYXY pixels), a previous low-res logits mask (L x L or 1 x L x L), or a combination."""
        features = self._require_features()
        h, w = features.orig_hw
        xy, lab = _check_points(points, labels, (h, w))
        box_xy = _check_box(box, (h, w))
        mask = _check_mask_input(mask_input, self.low_res_size)
        if xy is None and box_xy is None and mask is None:
            raise ValueError("empty prompt: give points and labels, a box, or a mask_input")

        # A box is two points labelled 2 (top-left) and 3 (bottom-right), placed before the clicks.
        all_xy = [a for a in (box_xy, xy) if a is not None]
        all_labels = [a for a in (np.array([2, 3]) if box_xy is not None else None, lab) if a is not None]
        coords = labels_t = None
        if all_xy:
            coords = self._to_model_coords(np.concatenate(all_xy), (h, w))[None]  # (1, P, 2)
            labels_t = torch.as_tensor(np.concatenate(all_labels), dtype=torch.int32, device=coords.device)[
                None
            ]
        mask_t = None
        if mask is not None:
            dtype = next(self.model.parameters()).dtype
            mask_t = torch.as_tensor(mask, dtype=dtype, device=self.model.device)[None, None]

        low_res, iou = self._decode(coords, labels_t, mask_t, multimask)
        logits = self.upscale_logits(low_res)[0]  # (K, H, W), from the unclamped low-res logits
        return ImagePrediction(
            masks=(logits > 0).cpu().numpy(),
            scores=iou[0].cpu().numpy().astype(np.float32),
            logits=logits.cpu().numpy().astype(np.float32),
            low_res_logits=low_res[0].clamp(-LOW_RES_CLAMP, LOW_RES_CLAMP).cpu().numpy().astype(np.float32),
        )

    @torch.inference_mode()
    def predict_batch(self, points: ArrayLike, labels: ArrayLike, multimask: bool = True) -> BatchPrediction:
        """N point prompts at once: points (N, P, 2) pixel (x, y), labels (N, P) in {0, 1}."""
        features = self._require_features()
        xy = np.asarray(points, dtype=np.float64)
        lab = np.asarray(labels)
        if xy.ndim != 3 or xy.shape[2] != 2 or xy.shape[0] == 0 or xy.shape[1] == 0:
            raise ValueError(f"points must have shape (N, P, 2) with N, P >= 1, got {xy.shape}")
        if lab.shape != xy.shape[:2]:
            raise ValueError(f"labels must have shape (N, P) = {xy.shape[:2]}, got {lab.shape}")
        _check_point_values(xy.reshape(-1, 2), lab.reshape(-1), features.orig_hw)
        coords = self._to_model_coords(xy, features.orig_hw)
        labels_t = torch.as_tensor(lab.astype(np.int64), dtype=torch.int32, device=coords.device)
        low_res, iou = self._decode(coords, labels_t, None, multimask)
        return BatchPrediction(low_res_logits=low_res, scores=iou)


def _check_point_values(xy: np.ndarray, labels: np.ndarray, hw: tuple[int, int]) -> None:
    h, w = hw
    if not np.all(np.isfinite(xy)):
        raise ValueError("points must be finite numbers")
    outside = (xy[:, 0] < 0) | (xy[:, 0] > w) | (xy[:, 1] < 0) | (xy[:, 1] > h)
    if outside.any():
        x, y = xy[np.argmax(outside)]
        raise ValueError(f"point ({x:g}, {y:g}) is outside the image (width {w}, height {h})")
    if not np.all(np.isin(labels, (0, 1))):
        raise ValueError(f"labels must be 1 (positive) or 0 (negative), got {sorted(set(labels.tolist()))}")


def _check_points(
    points: ArrayLike | None, labels: ArrayLike | None, hw: tuple[int, int]
) -> tuple[np.ndarray | None, np.ndarray | None]:
    if points is None and labels is None:
        return None, None
    if points is None or labels is None:
        raise ValueError("points and labels go together: give both or neither")
    xy = np.asarray(points, dtype=np.float64)
    lab = np.asarray(labels)
    if xy.ndim != 2 or xy.shape[1] != 2 or xy.shape[0] == 0:
        raise ValueError(f"points must have shape (P, 2) of pixel (x, y) with P >= 1, got {xy.shape}")
    if lab.shape != (xy.shape[0],):
        raise ValueError(f"got {xy.shape[0]} points but labels of shape {lab.shape}: one label per point")
    _check_point_values(xy, lab, hw)
    return xy, lab.astype(np.int64)


def _check_box(box: ArrayLike | None, hw: tuple[int, int]) -> np.ndarray | None:
    if box is None:
        return None
    h, w = hw
    b = np.asarray(box, dtype=np.float64)
    if b.shape not in ((4,), (1, 4)):
        raise ValueError(f"box must be 4 numbers (x0, y0, x1, y1), got shape {b.shape}")
    x0, y0, x1, y1 = b.reshape(4)
    if not np.all(np.isfinite(b)):
        raise ValueError("box must be finite numbers")
    if not (x0 < x1 and y0 < y1):
        raise ValueError(
            f"box must be (x0, y0, x1, y1) with x0 < x1 and y0 < y1, got {b.reshape(4).tolist()}"
        )
    if x0 < 0 or y0 < 0 or x1 > w or y1 > h:
        raise ValueError(f"box {b.reshape(4).tolist()} is outside the image (width {w}, height {h})")
    return b.reshape(2, 2)


def _check_mask_input(mask_input: ArrayLike | None, size: int) -> np.ndarray | None:
    if mask_input is None:
        return None
    m = np.asarray(mask_input)
    if m.shape not in ((size, size), (1, size, size)):
        raise ValueError(
            f"mask_input must be low-res logits of shape ({size}, {size}) or (1, {size}, {size}), got {m.shape}"
        )
    if not np.issubdtype(m.dtype, np.floating) or not np.all(np.isfinite(m)):
        raise ValueError("mask_input must be finite float logits (e.g. a previous low_res_logits)")
    return m.reshape(size, size).astype(np.float32)
