"""Scoring and de-duplicating candidate masks: stability, tight boxes, box IoU and NMS.

Our own NMS (no torchvision): greedy, torchvision's tie and threshold semantics, O(N) memory.
"""

from __future__ import annotations

import numpy as np
import torch

__all__ = ["box_iou", "box_nms", "masks_to_boxes", "near_crop_edge", "stability_score"]

_EDGE_TOLERANCE = 20.0  # px: a box this close to a crop's inner edge is cut by the crop


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


def near_crop_edge(boxes: torch.Tensor, crop_box: list[int], image_box: list[int]) -> torch.Tensor:
    """Boxes (image coordinates) touching an edge of the crop that is not an edge of the image:
    such a mask is probably cut by the crop and a larger crop will see the whole object."""
    crop = torch.as_tensor(crop_box, dtype=torch.float32)
    image = torch.as_tensor(image_box, dtype=torch.float32)
    near_crop = torch.isclose(boxes, crop[None], atol=_EDGE_TOLERANCE, rtol=0)
    near_image = torch.isclose(boxes, image[None], atol=_EDGE_TOLERANCE, rtol=0)
    return (near_crop & ~near_image).any(dim=1)
