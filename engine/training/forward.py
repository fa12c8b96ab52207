"""The training forward of one clip, built from ``engine.tracking``'s step functions (with gradients).

The clip's frames go through the image encoder as one batch; then, frame by frame, every masklet
of the clip is processed as one batch by the same functions the video session uses:
``gather_memory`` + ``condition_on_memory`` (memory attention), ``forward_sam_heads`` (prompt
encoder, mask decoder, object pointer, occlusion), ``use_mask_as_output`` (a mask prompt), and
``encode_memory`` (the new memory). Differences from inference are the reference's training mode:
the memory encoder sees sigmoid masks, never binarised ones; the correction frames run the SAM
heads again after each simulated click, feeding the previous logits back as the mask prompt.

Every candidate mask and predicted IoU the decoder produced is captured with a forward hook on the
mask decoder (``forward_sam_heads`` itself keeps only the best candidate, as inference wants), so
the loss sees all M candidates without a second copy of the head logic.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import Tensor

from engine.modeling.sam2 import SAM2Model
from engine.tracking import (
    NO_OBJ_SCORE,
    FrameFeatures,
    FrameOutput,
    ObjectMemory,
    SamOutput,
    _use_multimask,
    condition_on_memory,
    encode_memory,
    forward_sam_heads,
    gather_memory,
    use_mask_as_output,
)
from engine.training.data import Clip
from engine.training.prompts import PromptConfig, PromptPlan, sample_error_points

__all__ = ["SupervisedOutput", "clip_features", "clip_forward"]


@dataclass
class SupervisedOutput:
    """One SAM output to supervise: all candidates of N objects on one frame at one click step."""

    frame_idx: int
    multimasks: Tensor  # (N, M, S, S) logits, -1024 where the occlusion head says absent
    ious: Tensor  # (N, M) predicted IoUs
    object_score_logits: Tensor  # (N, 1)
    targets: Tensor  # (N, 1, S, S) bool


def clip_features(model: SAM2Model, images: Tensor) -> list[FrameFeatures]:
    """(T, 3, S, S) -> per-frame FrameFeatures, as ``compute_frame_features`` but batched, with grad."""
    out = model.forward_image(images)
    _, feats, pos, sizes = model.prepare_backbone_features(out)  # per level (HW, T, C)
    return [FrameFeatures([f[:, t:t + 1] for f in feats], pos[-1][:, t:t + 1], sizes)
            for t in range(images.shape[0])]


@contextmanager
def _capture_decoder(model: SAM2Model) -> Iterator[list[tuple[Tensor, ...]]]:
    """Record (masks, ious, tokens, object_score_logits) of every mask-decoder call."""
    calls: list[tuple[Tensor, ...]] = []
    handle = model.sam_mask_decoder.register_forward_hook(lambda _m, _a, out: calls.append(out))
    try:
        yield calls
    finally:
        handle.remove()


def _supervised(model: SAM2Model, frame_idx: int, decoded: tuple[Tensor, ...], targets: Tensor) -> SupervisedOutput:
    masks, ious, _, score = decoded  # (N, M, S/4, S/4), (N, M), tokens, (N, 1)
    masks = masks.float()
    if model.pred_obj_scores:  # as the reference: an absent call gives -1024 everywhere
        masks = torch.where(score[:, :, None, None] > 0, masks, NO_OBJ_SCORE)
    s = model.image_size
    high = F.interpolate(masks, size=(s, s), mode="bilinear", align_corners=False)
    return SupervisedOutput(frame_idx, high, ious.float(), score.float(), targets)


def clip_forward(model: SAM2Model, clip: Clip, plan: PromptPlan, prompt_cfg: PromptConfig,
                 gen: torch.Generator, high_res_scale: float = 1.0) -> list[SupervisedOutput]:
    """Track the clip's masklets from the planned prompts; return every output to supervise.

    ``high_res_scale`` multiplies the stride-4/8 skips into the mask decoder (1: the model as it is;
    0: masks from the stride-16 features alone, see ``TrainConfig.high_res_warmup``).
    """
    device = model.device
    t_len, n = clip.num_frames, clip.num_objects
    gt = clip.masks.to(device)  # (T, N, S, S)
    feats = clip_features(model, clip.images.to(device))
    memories = [ObjectMemory() for _ in range(n)]
    outputs: list[SupervisedOutput] = []
    with _capture_decoder(model) as calls:
        for t in range(t_len):
            f = feats[t]
            pix = f.pix_feat()  # (1, C, h, w)
            high_res = f.high_res(n)
            if high_res_scale != 1.0:
                high_res = [x * high_res_scale for x in high_res]
            targets = gt[t][:, None]  # (N, 1, S, S)
            is_init = t == 0
            coords = labels = None
            if is_init and plan.kind == "mask":
                sam = use_mask_as_output(model, pix.expand(n, -1, -1, -1), high_res, targets.float())
                calls.clear()  # a mask prompt is the output itself: nothing to supervise
                fused = None
            else:
                if is_init:
                    fused = (pix + model.no_mem_embed.reshape(1, -1, 1, 1)).expand(n, -1, -1, -1)
                    coords, labels = plan.point_coords.to(device), plan.point_labels.to(device)
                else:
                    banks = [gather_memory(model, t, mem, t_len, reverse=False) for mem in memories]
                    fused = condition_on_memory(model, f, banks)  # (N, C, h, w)
                num_pts = 0 if labels is None else labels.shape[1]
                sam = forward_sam_heads(model, fused, coords, labels, None, high_res,
                                        _use_multimask(model, is_init, num_pts))
                outputs.append(_supervised(model, t, calls.pop(), targets))
            if t in plan.correct_frames and fused is not None:
                sam, decoded = _correct(model, fused, high_res, sam, coords, labels, targets, is_init,
                                        prompt_cfg, gen, calls)
                outputs.extend(_supervised(model, t, d, targets) for d in decoded)
            calls.clear()
            mem_feat, mem_pos = encode_memory(model, f, sam.high_res_masks, sam.object_score_logits,
                                              is_mask_from_pts=False)
            for i, mem in enumerate(memories):
                out = FrameOutput(sam.low_res_masks[i:i + 1], sam.obj_ptr[i:i + 1], sam.object_score_logits[i:i + 1],
                                  mem_feat[i:i + 1], mem_pos[i:i + 1])
                prompted = is_init or t in plan.correct_frames
                (mem.cond if prompted else mem.non_cond)[t] = out
                mem.reverse_of[t] = False
    return outputs


def _correct(model: SAM2Model, fused: Tensor, high_res: list[Tensor], sam: SamOutput, coords: Tensor | None,
             labels: Tensor | None, targets: Tensor, is_init: bool, cfg: PromptConfig, gen: torch.Generator,
             calls: list[tuple[Tensor, ...]]) -> tuple[SamOutput, list[tuple[Tensor, ...]]]:
    """Add ``cfg.num_correction_points`` clicks one by one, re-running the SAM heads after each.

    Returns the final output and the decoder outputs of every step (to supervise).
    """
    gt = targets[:, 0].cpu()
    decoded = []
    for _ in range(cfg.num_correction_points):
        from_gt = float(torch.rand((), generator=gen)) < cfg.prob_correct_from_gt
        pred = None if from_gt else (sam.high_res_masks[:, 0] > 0).detach().cpu()
        new_xy, new_lab = sample_error_points(gt, pred, gen)
        new_xy, new_lab = new_xy.to(fused.device), new_lab.to(fused.device)
        coords = new_xy if coords is None else torch.cat([coords, new_xy], dim=1)
        labels = new_lab if labels is None else torch.cat([labels, new_lab], dim=1)
        sam = forward_sam_heads(model, fused, coords, labels, sam.low_res_masks, high_res,
                                _use_multimask(model, is_init, labels.shape[1]))
        decoded.append(calls.pop())
    return sam, decoded
