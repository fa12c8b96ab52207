"""The reference's post-processing of predicted mask logits, on the CPU without its CUDA extension.

``fill_holes`` is the reference video predictor's ``fill_holes_in_mask_scores`` (``fill_hole_area``,
8 px in the official SAM 2.1 video setup). The reference computes the connected components with a
CUDA extension and, where it is not built, warns and skips the step; ours are the NumPy ones of
``engine.auto_mask.regions``, so the step always runs. ``apply_non_overlapping_constraints`` is
SAM2Base's, used by ``non_overlap_masks_for_mem_enc``.
"""

from __future__ import annotations

import math

import torch
from torch import Tensor

from engine.auto_mask.regions import remove_small_regions

HOLE_FILL_SCORE = 0.1  # a filled hole becomes barely foreground, as in the reference
NON_OVERLAP_SCORE = -10.0  # where another object scores higher (sigmoid(-10) = 4.5e-5)


def fill_holes(low_res_masks: Tensor, max_area: int) -> Tensor:
    """The reference's ``fill_holes_in_mask_scores`` (``fill_hole_area``) without its CUDA extension.

    (B, 1, h, w) logits -> the same, where each region of background (logits <= 0) of at most
    ``max_area`` pixels, 8-connected, border regions included, becomes ``HOLE_FILL_SCORE``.
    """
    background = (low_res_masks <= 0).cpu().numpy()
    out = low_res_masks
    for i in range(background.shape[0]):
        foreground = ~background[i, 0]
        filled, changed = remove_small_regions(foreground, math.floor(max_area) + 1, "holes")  # areas <= max_area
        if changed:
            out = out.clone() if out is low_res_masks else out
            hole = torch.from_numpy(filled & background[i, 0]).to(out.device)
            out[i, 0] = torch.where(hole, HOLE_FILL_SCORE, out[i, 0])
    return out


def apply_non_overlapping_constraints(masks: Tensor) -> Tensor:
    """(B, 1, H, W) logits of B objects on one frame: where an object is not the highest scoring,
    its logits are capped at ``NON_OVERLAP_SCORE`` (the reference's ``_apply_non_overlapping_constraints``)."""
    if masks.shape[0] == 1:
        return masks
    best = torch.argmax(masks, dim=0, keepdim=True)  # (1, 1, H, W): the top object at each pixel
    keep = best == torch.arange(masks.shape[0], device=masks.device)[:, None, None, None]
    return torch.where(keep, masks, torch.clamp(masks, max=NON_OVERLAP_SCORE))
