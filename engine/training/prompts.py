"""Prompt simulation for training (paper App. C.2, the reference's ``SAM2Train`` sampling).

Per clip, one kind of initial prompt on the first frame for all its masklets: the ground-truth mask
(probability 1/2), one positive click sampled uniformly inside the mask (1/4) or a noisy box
around it (1/4). With clicks or a box, up to two frames (the first, and a random other one) get
corrective clicks: seven more, each sampled uniformly in the error region of the current prediction
(a false negative gives a positive click, a false positive a negative one); with probability 0.1
a correction is sampled from the ground truth alone instead. A correction frame is a prompted
frame: it becomes a conditioning frame, as in the recipe (``add_all_frames_to_correct_as_cond``).

Coordinates are model pixels (x, y) at the model's input size S; integer positions, as the reference.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import torch
from torch import Tensor

__all__ = ["PromptConfig", "PromptPlan", "plan_prompts", "sample_box", "sample_error_points"]


@dataclass(frozen=True)
class PromptConfig:
    prob_mask: float = 0.5  # initial prompt: the GT mask ...
    prob_box_given_points: float = 0.5  # ... else a box (1/4 overall) or one positive click (1/4)
    num_frames_to_correct: int = 2  # frames with corrective clicks, drawn in [1, this] (click/box only)
    num_correction_points: int = 7  # corrective clicks per such frame, one at a time
    prob_correct_from_gt: float = 0.1  # a correction sampled from the GT alone, not from the error
    box_noise: float = 0.1  # box corners move up to this fraction of the box side ...
    box_noise_max_px: float = 20.0  # ... and at most this many pixels


@dataclass
class PromptPlan:
    """What one clip's prompts will be (the corrective clicks themselves are sampled on the fly)."""

    kind: str  # "mask" | "click" | "box"
    point_coords: Tensor | None = None  # (N, P, 2) on frame 0 for "click" / "box"
    point_labels: Tensor | None = None  # (N, P) int32
    correct_frames: list[int] = field(default_factory=list)  # frames that get corrective clicks


def plan_prompts(masks: Tensor, cfg: PromptConfig, gen: torch.Generator) -> PromptPlan:
    """Draw the initial prompt on frame 0 of a clip's masks (T, N, S, S) and its correction frames."""
    t_len = masks.shape[0]
    first = masks[0]  # (N, S, S)
    if _uniform(gen) < cfg.prob_mask:
        return PromptPlan("mask")
    if _uniform(gen) < cfg.prob_box_given_points:
        coords, labels = sample_box(first, gen, cfg.box_noise, cfg.box_noise_max_px)
        kind = "box"
    else:
        coords, labels = sample_error_points(first, None, gen)
        kind = "click"
    n_correct = min(int(torch.randint(1, cfg.num_frames_to_correct + 1, (1,), generator=gen)), t_len)
    others = (torch.randperm(t_len - 1, generator=gen)[: n_correct - 1] + 1).tolist() if t_len > 1 else []
    return PromptPlan(kind, coords, labels, [0, *sorted(others)])


def _uniform(gen: torch.Generator) -> float:
    return float(torch.rand((), generator=gen))


def sample_error_points(gt: Tensor, pred: Tensor | None, gen: torch.Generator) -> tuple[Tensor, Tensor]:
    """One click per object, uniform in its error region: (N, S, S) bool masks -> (N, 1, 2), (N, 1).

    False negatives (GT, not predicted) give positive clicks (label 1), false positives negative
    ones (label 0). ``pred=None`` counts as an empty prediction (a click inside the GT). Where the
    prediction is exactly right, a negative click goes on the background.
    """
    gt = gt.bool()
    pred = torch.zeros_like(gt) if pred is None else pred.bool()
    n, h, w = gt.shape
    fp, fn = ~gt & pred, gt & ~pred
    all_correct = (gt == pred).flatten(1).all(dim=1)[:, None, None]
    # Uniform noise restricted to the candidate pixels; the arg-max is a uniform draw among them.
    noise = torch.rand(n, h, w, 2, generator=gen)
    noise[..., 0] *= fp | (all_correct & ~gt)
    noise[..., 1] *= fn
    idx = noise.flatten(1).argmax(dim=1)
    labels = (idx % 2).to(torch.int32)
    pix = idx // 2
    coords = torch.stack([pix % w, pix // w], dim=-1).float()  # (x, y)
    return coords[:, None], labels[:, None]


def sample_box(gt: Tensor, gen: torch.Generator, noise: float = 0.1,
               noise_max_px: float = 20.0) -> tuple[Tensor, Tensor]:
    """Noisy bounding boxes of (N, S, S) masks as two corner points: (N, 2, 2), labels (N, 2) = [2, 3]."""
    n, h, w = gt.shape
    ys = gt.any(dim=2)  # (N, S) rows with pixels
    xs = gt.any(dim=1)
    ar_h, ar_w = torch.arange(h).float(), torch.arange(w).float()
    big = float(max(h, w))
    x0 = torch.where(xs, ar_w, big).amin(dim=1)
    x1 = torch.where(xs, ar_w, -1.0).amax(dim=1)
    y0 = torch.where(ys, ar_h, big).amin(dim=1)
    y1 = torch.where(ys, ar_h, -1.0).amax(dim=1)
    empty = ~xs.any(dim=1)
    box = torch.stack([x0, y0, x1, y1], dim=1)  # (N, 4)
    box[empty] = 0.0
    if noise > 0:
        bw, bh = box[:, 2] - box[:, 0], box[:, 3] - box[:, 1]
        dx = torch.minimum(bw * noise, torch.tensor(noise_max_px))
        dy = torch.minimum(bh * noise, torch.tensor(noise_max_px))
        jitter = (2 * torch.rand(n, 4, generator=gen) - 1) * torch.stack([dx, dy, dx, dy], dim=1)
        box = box + jitter
        bound = torch.tensor([w, h, w, h], dtype=torch.float32) - 1
        box = torch.minimum(box.clamp(min=0), bound)
    labels = torch.tensor([[2, 3]], dtype=torch.int32).expand(n, 2).clone()
    return box.reshape(n, 2, 2), labels
