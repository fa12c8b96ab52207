"""Signals of one masklet revision, the verifier's inputs.

Per annotated frame: the decoder's predicted IoU, the object-score logit, the stability score
(where the engine made the mask; ``None`` elsewhere) and the mask's area; between consecutive
frames: the IoU of their masks; where a forward and a backward pass both exist: their IoU per
frame. Per masklet: the share of frames edited by hand, the phase, the kind, the number of prompts.
A revision made without the engine's scores (an older one, an import) gets what its masks give.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

import numpy as np

from engine import rle as rle_ops

SIGNALS_VERSION = 1


def _frame_list(values: Mapping[Any, Any] | None, frames: list[int], key: str) -> list[float | None]:
    if not values:
        return [None] * len(frames)
    out: list[float | None] = []
    for index in frames:
        entry = values.get(index, values.get(str(index)))
        value = entry.get(key) if isinstance(entry, Mapping) else None
        out.append(None if value is None or not np.isfinite(value) else round(float(value), 5))
    return out


def revision_signals(masks: Mapping[Any, dict], *, frame_scores: Mapping[Any, Mapping[str, float | None]] | None = None,
                     backward_masks: Mapping[Any, dict] | None = None, edited_frames: Iterable[int] = (),
                     edited_count: int | None = None, phase: int | None = None, kind: str = "manual",
                     prompts: int | None = None, recorded_by: str = "engine") -> dict:
    """The signals of a revision with ``masks`` ({frame: COCO RLE}, every annotated frame).

    ``frame_scores``: {frame: {"predicted_iou", "object_score", "stability"}} where the engine
    made the mask; ``backward_masks``: a backward pass's masks to compare with; ``recorded_by``:
    "engine" when made with the masks, "masks" when recomputed from them afterwards.
    """
    frames = sorted(int(i) for i in masks)
    rles = [masks[i] if i in masks else masks[str(i)] for i in frames]
    areas = rle_ops.area_batch(rles).astype(float) if rles else np.zeros(0)
    pixels = float(np.prod(rles[0]["size"])) if rles else 1.0
    consecutive = [round(rle_ops.iou(a, b), 5) for a, b in zip(rles, rles[1:], strict=False)]
    agreement: list[float | None] = [None] * len(frames)
    if backward_masks:
        for k, index in enumerate(frames):
            other = backward_masks.get(index, backward_masks.get(str(index)))
            if other is not None:
                agreement[k] = round(rle_ops.iou(rles[k], other), 5)
    edited = {int(i) for i in edited_frames}
    count = edited_count if edited_count is not None else len(edited)
    return {
        "version": SIGNALS_VERSION,
        "recorded_by": recorded_by,
        "frames": frames,
        "predicted_iou": _frame_list(frame_scores, frames, "predicted_iou"),
        "object_score": _frame_list(frame_scores, frames, "object_score"),
        "stability": _frame_list(frame_scores, frames, "stability"),
        "area": [round(float(a) / pixels, 6) for a in areas],
        "consecutive_iou": consecutive,
        "forward_backward_iou": agreement,
        "edited_share": round(count / len(frames), 5) if frames else 0.0,
        "phase": phase,
        "kind": kind,
        "prompts": prompts,
    }
