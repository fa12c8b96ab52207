"""SAM 2's training loss (the reference's ``MultiStepMultiMasksAndIous``), term by term.

For every SAM output of a clip (each frame, and each corrective-click step on a frame):

- focal loss (alpha 0.25, gamma 2) and dice loss of each of the M candidate masks against the GT;
  only the candidate with the lowest ``20 * focal + dice`` is supervised (best of the multimask);
- IoU L1: |predicted IoU - actual IoU of the thresholded mask|, averaged over *all* M candidates;
- object score: binary cross-entropy of the occlusion logit against "the object is in the GT".

Mask and IoU terms count only where the object is present in the GT. Each term is divided by the
number of objects; the total is 20 focal + 1 dice + 1 IoU + 1 object score, summed over outputs.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import Tensor

__all__ = ["MICRO_LOSS", "LossWeights", "dice_loss", "frame_loss", "iou_l1_loss", "object_score_loss", "loss_weights_for",
           "sigmoid_focal_loss", "total_loss"]


@dataclass(frozen=True)
class LossWeights:
    focal: float = 20.0
    dice: float = 1.0
    iou: float = 1.0
    object_score: float = 1.0
    focal_alpha: float = 0.25
    focal_gamma: float = 2.0


# The micro model's loss (``engine.training.bootstrap``). From scratch, the recipe's focal alpha (0.25
# on object pixels) and dice weight 1 leave the masks stuck at "empty" (small objects, ~2 % of the
# pixels): measured here, still stuck after 250 steps; without alpha and with dice 5 they leave it
# within 30 steps.
MICRO_LOSS = LossWeights(focal=20.0, dice=5.0, iou=1.0, object_score=1.0, focal_alpha=-1.0)


def loss_weights_for(config_name: str) -> LossWeights:
    """The loss a fine-tune of ``config_name`` keeps: the one its weights were trained with. The
    official checkpoints were trained with the paper's (20:1:1:1, alpha 0.25), micro with
    ``MICRO_LOSS``; fine-tuning micro with the paper's weights pulls its masks smaller (alpha 0.25
    weighs object pixels a third of background ones) and undoes part of what its training learnt."""
    return MICRO_LOSS if config_name == "micro" else LossWeights()


def sigmoid_focal_loss(logits: Tensor, targets: Tensor, alpha: float = 0.25, gamma: float = 2.0) -> Tensor:
    """Per-candidate focal loss, mean over pixels: (N, M, H, W) logits and 0/1 targets -> (N, M)."""
    targets = targets.float()
    prob = logits.sigmoid()
    ce = F.binary_cross_entropy_with_logits(logits, targets, reduction="none")
    p_t = prob * targets + (1 - prob) * (1 - targets)
    loss = ce * (1 - p_t) ** gamma
    if alpha >= 0:
        loss = (alpha * targets + (1 - alpha) * (1 - targets)) * loss
    return loss.flatten(2).mean(-1)


def dice_loss(logits: Tensor, targets: Tensor) -> Tensor:
    """Per-candidate soft dice loss: (N, M, H, W) -> (N, M), 1 - (2 |P.G| + 1) / (|P| + |G| + 1)."""
    prob = logits.sigmoid().flatten(2)
    tgt = targets.float().flatten(2)
    return 1 - (2 * (prob * tgt).sum(-1) + 1) / (prob.sum(-1) + tgt.sum(-1) + 1)


def iou_l1_loss(logits: Tensor, targets: Tensor, pred_ious: Tensor) -> Tensor:
    """|predicted IoU - IoU of (logits > 0) with the GT| per candidate: -> (N, M)."""
    pred = logits.flatten(2) > 0
    gt = targets.flatten(2) > 0
    inter = (pred & gt).sum(-1).float()
    union = (pred | gt).sum(-1).float()
    actual = inter / union.clamp(min=1.0)
    return F.l1_loss(pred_ious.float(), actual, reduction="none")


def object_score_loss(score_logits: Tensor, present: Tensor) -> Tensor:
    """Binary cross-entropy of the occlusion head, (N, 1) logits vs (N, 1) 0/1 -> (N,)."""
    return F.binary_cross_entropy_with_logits(score_logits.float(), present.float(), reduction="none").mean(1)


def frame_loss(multimasks: Tensor, ious: Tensor, score_logits: Tensor, targets: Tensor, num_objects: float,
               weights: LossWeights = LossWeights()) -> dict[str, Tensor]:
    """The four terms for one SAM output of N objects, each summed over objects / num_objects.

    multimasks (N, M, H, W) logits, ious (N, M), score_logits (N, 1), targets (N, 1, H, W) bool.
    """
    tgt = targets.expand_as(multimasks)
    focal = sigmoid_focal_loss(multimasks, tgt, weights.focal_alpha, weights.focal_gamma)  # (N, M)
    dice = dice_loss(multimasks, tgt)
    iou = iou_l1_loss(multimasks, tgt, ious)
    present = targets.flatten(1).any(dim=1, keepdim=True).float()  # (N, 1)
    rows = torch.arange(multimasks.shape[0], device=multimasks.device)
    best = torch.argmin(focal * weights.focal + dice * weights.dice, dim=-1)  # the supervised candidate
    focal_best, dice_best = focal[rows, best], dice[rows, best]  # (N,)
    present_n = present[:, 0]
    return {
        "focal": (focal_best * present_n).sum() / num_objects,
        "dice": (dice_best * present_n).sum() / num_objects,
        "iou": (iou.mean(dim=-1) * present_n).sum() / num_objects,
        "object_score": object_score_loss(score_logits, present).sum() / num_objects,
    }


def total_loss(terms: dict[str, Tensor], weights: LossWeights = LossWeights()) -> Tensor:
    return (weights.focal * terms["focal"] + weights.dice * terms["dice"] + weights.iou * terms["iou"]
            + weights.object_score * terms["object_score"])
