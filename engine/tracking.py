"""One step of SAM 2 video tracking on a SAM2Model: memory conditioning, SAM heads, new memory.

The semantics are the reference ``SAM2Base``'s (``track_step`` and the helpers around it), with
the objects of a frame processed as one batch: they share the frame's features, and objects
whose memory banks have the same layout go through the memory attention together. Memory
features are stored in bfloat16, as the reference stores them (half the bytes of a tracked frame),
and read back as float32, so a frame with no object pointers in its memory (a reverse pass from
the last frame) works where the reference raises a dtype error.

Shapes: S = model.image_size, (h, w) = the stride-16 grid, C = hidden_dim (256), D = mem_dim (64).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import torch
import torch.nn.functional as F
from torch import Tensor

from engine.mask_postprocess import apply_non_overlapping_constraints, fill_holes
from engine.modeling.sam2 import SAM2Model

MEMORY_DTYPE = torch.bfloat16  # stored memory features, as the reference stores them
NO_OBJ_SCORE = -1024.0  # logits of an object the occlusion head calls absent
MASK_OUT_SCALE, MASK_OUT_BIAS = 20.0, -10.0  # a mask prompt used as output: +-10 logits


@dataclass
class FrameFeatures:
    """Backbone features of one frame, shared by every object (batch of 1)."""

    vision_feats: list[Tensor]  # per level (HW_l, 1, C_l): strides 4, 8, 16
    vision_pos: Tensor  # (hw, 1, C): position encoding of the stride-16 level
    feat_sizes: list[tuple[int, int]]  # (H_l, W_l) per level

    def pix_feat(self) -> Tensor:
        """Stride-16 features (1, C, h, w)."""
        h, w = self.feat_sizes[-1]
        return self.vision_feats[-1].permute(1, 2, 0).reshape(1, -1, h, w)

    def high_res(self, batch: int) -> list[Tensor]:
        """The two high-resolution levels for the SAM decoder, [(B, C/8, 4h, 4w), (B, C/4, 2h, 2w)]."""
        return [x.permute(1, 2, 0).reshape(1, -1, *s).expand(batch, -1, -1, -1)
                for x, s in zip(self.vision_feats[:-1], self.feat_sizes[:-1], strict=True)]


@torch.inference_mode()
def compute_frame_features(model: SAM2Model, image: Tensor) -> FrameFeatures:
    """(3, S, S) normalised image -> FrameFeatures (only the stride-16 position encoding is kept)."""
    out = model.forward_image(image[None].to(model.device))
    _, feats, pos, sizes = model.prepare_backbone_features(out)
    # Keep the flattened levels contiguous and drop the large high-res position encodings.
    return FrameFeatures([f.contiguous() for f in feats], pos[-1].contiguous(), sizes)


@dataclass
class FrameOutput:
    """What tracking keeps of one object on one frame."""

    pred_masks: Tensor | None  # (1, 1, S/4, S/4) low-res logits; None once pruned
    obj_ptr: Tensor  # (1, C) object pointer
    object_score_logits: Tensor  # (1, 1) occlusion head: > 0 means present
    maskmem_features: Tensor | None = None  # (1, D, h, w) bfloat16 memory; None until encoded / once evicted
    maskmem_pos_enc: Tensor | None = None  # (1, D, h, w): one shared tensor for every frame (no bytes of its own)
    iou_scores: Tensor | None = None  # (1, 1) the decoder's predicted IoU; None for a mask prompt

    def nbytes(self) -> int:
        """Bytes this output holds of its own (the shared position encoding is not counted)."""
        return sum(t.numel() * t.element_size() for t in (self.pred_masks, self.obj_ptr, self.object_score_logits,
                                                          self.maskmem_features) if t is not None)


@dataclass
class ObjectMemory:
    """One object's tracked frames: conditioning (prompted) frames and the others."""

    cond: dict[int, FrameOutput] = field(default_factory=dict)
    non_cond: dict[int, FrameOutput] = field(default_factory=dict)
    reverse_of: dict[int, bool] = field(default_factory=dict)  # tracked frames -> direction of tracking


@dataclass
class ObjectStep:
    """The inputs of one object on the frame being processed."""

    memory: ObjectMemory
    is_init_cond_frame: bool = False  # a prompt on a frame this object was never tracked on
    point_coords: Tensor | None = None  # (1, P, 2) in model pixels (0..S)
    point_labels: Tensor | None = None  # (1, P) int32: 1 positive, 0 negative, 2/3 box corners
    mask_input: Tensor | None = None  # (1, 1, S, S) binary mask prompt
    prev_mask_logits: Tensor | None = None  # (1, 1, S/4, S/4) previous logits of a re-clicked frame


@dataclass
class SamOutput:
    low_res_masks: Tensor  # (B, 1, S/4, S/4)
    high_res_masks: Tensor | None  # (B, 1, S, S); None when not asked for (a click needs no memory yet)
    obj_ptr: Tensor  # (B, C)
    object_score_logits: Tensor  # (B, 1)
    iou_scores: Tensor | None = None  # (B, 1) the decoder's predicted IoU of the chosen mask; None for mask prompts


def sine_pe_1d(pos: Tensor, dim: int, temperature: float = 10000.0) -> Tensor:
    """(N,) positions -> (N, dim): [sin | cos] of pos / temperature^(2*floor(k/2)/(dim/2))."""
    half = dim // 2
    dim_t = torch.arange(half, dtype=torch.float32, device=pos.device)
    dim_t = temperature ** (2 * (dim_t // 2) / half)
    x = pos.unsqueeze(-1) / dim_t
    return torch.cat([x.sin(), x.cos()], dim=-1)


def forward_sam_heads(model: SAM2Model, backbone_features: Tensor, point_coords: Tensor | None,
                      point_labels: Tensor | None, mask_inputs: Tensor | None, high_res: list[Tensor],
                      multimask_output: bool, high_res_output: bool = True) -> SamOutput:
    """Prompt encoder + mask decoder on (B, C, h, w) features; picks the best mask if multimask."""
    b = backbone_features.shape[0]
    device = backbone_features.device
    if point_coords is None:  # no clicks: one padding point
        point_coords = torch.zeros(b, 1, 2, device=device)
        point_labels = -torch.ones(b, 1, dtype=torch.int32, device=device)
    mask_prompt = None
    if mask_inputs is not None:
        size = model.sam_prompt_encoder.mask_input_size
        mask_prompt = mask_inputs if mask_inputs.shape[-2:] == size else F.interpolate(
            mask_inputs.float(), size=size, mode="bilinear", align_corners=False, antialias=True)
    sparse, dense = model.sam_prompt_encoder(points=(point_coords, point_labels), boxes=None, masks=mask_prompt)
    masks, ious, tokens, score = model.sam_mask_decoder(
        image_embeddings=backbone_features, image_pe=model.sam_prompt_encoder.get_dense_pe(),
        sparse_prompt_embeddings=sparse, dense_prompt_embeddings=dense, multimask_output=multimask_output,
        repeat_image=False, high_res_features=high_res)
    present = score > 0  # (B, 1)
    if model.pred_obj_scores:
        masks = torch.where(present[:, None, None], masks, NO_OBJ_SCORE)
    masks = masks.float()  # (B, K, S/4, S/4)
    token = tokens[:, 0]
    chosen_iou = ious[:, :1]
    if multimask_output:
        best = torch.argmax(ious, dim=-1)
        rows = torch.arange(b, device=device)
        masks = masks[rows, best].unsqueeze(1)
        chosen_iou = ious[rows, best].unsqueeze(1)
        if tokens.shape[1] > 1:
            token = tokens[rows, best]
    high = F.interpolate(masks, size=(model.image_size, model.image_size), mode="bilinear",
                         align_corners=False) if high_res_output else None
    obj_ptr = model.obj_ptr_proj(token)  # (B, C)
    if model.pred_obj_scores:
        lam = score.sigmoid() if model.soft_no_obj_ptr else present.float()
        if model.fixed_no_obj_ptr:
            obj_ptr = lam * obj_ptr
        obj_ptr = obj_ptr + (1 - lam) * model.no_obj_ptr
    return SamOutput(masks, high, obj_ptr, score, chosen_iou.detach().float())


def use_mask_as_output(model: SAM2Model, backbone_features: Tensor, high_res: list[Tensor],
                       mask_inputs: Tensor) -> SamOutput:
    """A mask prompt (B, 1, S, S) becomes the output (+-10 logits); its pointer still comes from SAM."""
    mask = mask_inputs.float()
    high = mask * MASK_OUT_SCALE + MASK_OUT_BIAS
    low = F.interpolate(high, size=(high.shape[-2] // 4, high.shape[-1] // 4), mode="bilinear",
                        align_corners=False, antialias=True)
    if model.use_obj_ptrs_in_encoder:
        obj_ptr = forward_sam_heads(model, backbone_features, None, None, model.mask_downsample(mask),
                                    high_res, multimask_output=False, high_res_output=False).obj_ptr
    else:
        obj_ptr = torch.zeros(mask.shape[0], model.hidden_dim, device=mask.device)
    lam = torch.any(mask.flatten(1) > 0.0, dim=1)[:, None].float()  # (B, 1): is the mask non-empty
    score = MASK_OUT_SCALE * lam + MASK_OUT_BIAS
    if model.pred_obj_scores:
        if model.fixed_no_obj_ptr:
            obj_ptr = lam * obj_ptr
        obj_ptr = obj_ptr + (1 - lam) * model.no_obj_ptr
    return SamOutput(low, high, obj_ptr, score)


def _closest_cond_frames(frame_idx: int, cond: dict[int, FrameOutput],
                         max_num: int) -> tuple[dict[int, FrameOutput], dict[int, FrameOutput]]:
    """Up to ``max_num`` conditioning frames nearest in time (-1: all), and the others."""
    if max_num == -1 or len(cond) <= max_num:
        return cond, {}
    selected: dict[int, FrameOutput] = {}
    before = max((t for t in cond if t < frame_idx), default=None)
    after = min((t for t in cond if t >= frame_idx), default=None)
    for t in (before, after):
        if t is not None:
            selected[t] = cond[t]
    rest = sorted((t for t in cond if t not in selected), key=lambda t: abs(t - frame_idx))
    selected.update((t, cond[t]) for t in rest[: max_num - len(selected)])
    return selected, {t: v for t, v in cond.items() if t not in selected}


@dataclass
class MemoryBank:
    """One object's memory for one frame, sequence-first like the reference's memory attention input."""

    memory: Tensor  # (M, 1, D): spatial memories of each memory frame, then pointer tokens
    pos: Tensor  # (M, 1, D)
    num_ptr_tokens: int

    @property
    def layout(self) -> tuple[int, int]:
        return self.memory.shape[0], self.num_ptr_tokens


def gather_memory(model: SAM2Model, frame_idx: int, mem: ObjectMemory, num_frames: int,
                  reverse: bool) -> MemoryBank:
    """Select the memory frames and object pointers a non-initial frame attends to (as the reference)."""
    num_maskmem, c, d = model.num_maskmem, model.hidden_dim, model.mem_dim
    if not mem.cond:
        raise ValueError("an object needs a prompted frame before it can be tracked")
    selected, unselected = _closest_cond_frames(frame_idx, mem.cond, model.max_cond_frames_in_attn)
    slots: list[tuple[int, FrameOutput | None]] = [(0, out) for out in selected.values()]
    stride = model.memory_temporal_stride_for_eval
    for t_pos in range(1, num_maskmem):
        t_rel = num_maskmem - t_pos  # frames before the current one, in the tracking direction
        if t_rel == 1:
            prev = frame_idx + 1 if reverse else frame_idx - 1
        elif not reverse:
            prev = ((frame_idx - 2) // stride) * stride - (t_rel - 2) * stride
        else:
            prev = -(-(frame_idx + 2) // stride) * stride + (t_rel - 2) * stride
        out = mem.non_cond.get(prev)
        slots.append((t_pos, out if out is not None else unselected.get(prev)))
    mems, poss = [], []
    for t_pos, out in slots:
        if out is None or out.maskmem_features is None:
            continue  # padding frames, and memories pruned from the window
        assert out.maskmem_pos_enc is not None
        features = out.maskmem_features.to(model.device, non_blocking=True)  # offloaded: back from the host
        mems.append(features.flatten(2).permute(2, 0, 1).float())  # (hw, 1, D)
        pos = out.maskmem_pos_enc.flatten(2).permute(2, 0, 1)
        poss.append(pos + model.maskmem_tpos_enc[num_maskmem - t_pos - 1])
    num_ptr_tokens = 0
    if model.use_obj_ptrs_in_encoder:
        max_ptrs = min(num_frames, model.max_obj_ptrs_in_encoder)
        ptr_cond = selected
        if model.only_obj_ptrs_in_the_past_for_eval:
            ptr_cond = {t: o for t, o in selected.items() if (t >= frame_idx if reverse else t <= frame_idx)}
        sign = -1 if reverse else 1
        pos_and_ptrs = [((frame_idx - t) * sign if model.use_signed_tpos_enc_to_obj_ptrs else abs(frame_idx - t),
                         o.obj_ptr) for t, o in ptr_cond.items()]
        for t_diff in range(1, max_ptrs):
            t = frame_idx + t_diff if reverse else frame_idx - t_diff
            if t < 0 or t >= num_frames:
                break
            out = mem.non_cond.get(t, unselected.get(t))
            if out is not None:
                pos_and_ptrs.append((t_diff, out.obj_ptr))
        if pos_and_ptrs:
            ptrs = torch.stack([p for _, p in pos_and_ptrs], dim=0)  # (n, 1, C)
            n = ptrs.shape[0]
            if model.add_tpos_enc_to_obj_ptrs:
                t_pos = torch.tensor([p for p, _ in pos_and_ptrs], device=ptrs.device)
                tpos_dim = c if model.proj_tpos_enc_in_obj_ptrs else d
                ptr_pos = model.obj_ptr_tpos_proj(sine_pe_1d(t_pos / (max_ptrs - 1), tpos_dim))
                ptr_pos = ptr_pos.unsqueeze(1)  # (n, 1, D)
            else:
                ptr_pos = ptrs.new_zeros(n, 1, d)
            if d < c:  # split each C-wide pointer into C/D tokens of width D
                ptrs = ptrs.reshape(n, 1, c // d, d).permute(0, 2, 1, 3).flatten(0, 1)
                ptr_pos = ptr_pos.repeat_interleave(c // d, dim=0)
            mems.append(ptrs)
            poss.append(ptr_pos)
            num_ptr_tokens = ptrs.shape[0]
    return MemoryBank(torch.cat(mems, dim=0), torch.cat(poss, dim=0), num_ptr_tokens)


def condition_on_memory(model: SAM2Model, feats: FrameFeatures, banks: list[MemoryBank]) -> Tensor:
    """Stride-16 features of B objects fused with their memories: (B, C, h, w).

    Objects whose banks have the same layout (token count, pointer count) attend as one batch.
    """
    h, w = feats.feat_sizes[-1]
    out = feats.vision_feats[-1].new_empty(len(banks), model.hidden_dim, h, w, dtype=torch.float32)
    groups: dict[tuple[int, int], list[int]] = {}
    for i, bank in enumerate(banks):
        groups.setdefault(bank.layout, []).append(i)
    for (_, num_ptr), idx in groups.items():
        b = len(idx)
        memory = torch.cat([banks[i].memory for i in idx], dim=1)  # (M, b, D)
        pos = torch.cat([banks[i].pos for i in idx], dim=1)
        # The same frame tokens (hw, 1, C) for every object of the group.
        fused = model.memory_attention.forward_shared_frame(
            feats.vision_feats[-1], feats.vision_pos, memory, pos, num_obj_ptr_tokens=num_ptr)  # (hw, b, C)
        out[idx] = fused.permute(1, 2, 0).reshape(b, -1, h, w).float()  # bf16 under autocast on the CPU
    return out


def encode_memory(model: SAM2Model, feats: FrameFeatures, high_res_masks: Tensor, object_score_logits: Tensor,
                  is_mask_from_pts: bool) -> tuple[Tensor, Tensor]:
    """New memories of B objects on one frame: masks (B, 1, S, S) -> ((B, D, h, w), (B, D, h, w)).

    With ``non_overlap_masks_for_mem_enc`` (off in every official config), outside training, the B
    objects encoded together are first kept from overlapping, as the reference's SAM2Base does with
    the batch it is given. Which objects share a batch: the tracked ones of a propagated frame, the
    prompted ones of a prompted frame (the reference's current predictor encodes one object at a
    time, so the option does nothing there; its legacy predictor batched every object).
    """
    if model.non_overlap_masks_for_mem_enc and not model.training:
        high_res_masks = apply_non_overlapping_constraints(high_res_masks)
    if is_mask_from_pts and model.binarize_mask_from_pts_for_mem_enc:
        mask = (high_res_masks > 0).float()  # encode the mask the user saw on a clicked frame
    else:
        mask = torch.sigmoid(high_res_masks)
    if model.sigmoid_scale_for_mem_enc != 1.0:
        mask = mask * model.sigmoid_scale_for_mem_enc
    if model.sigmoid_bias_for_mem_enc != 0.0:
        mask = mask + model.sigmoid_bias_for_mem_enc
    enc = model.memory_encoder
    # The memory encoder's forward, with the frame projection computed once for all objects.
    x = enc.pix_feat_proj(feats.pix_feat()) + enc.mask_downsampler(mask)  # (B, C, h, w)
    x = enc.out_proj(enc.fuser(x))  # (B, D, h, w)
    pos = enc.position_encoding(x).to(x.dtype)  # a view of one cached encoding
    if model.no_obj_embed_spatial is not None:
        absent = 1 - (object_score_logits > 0).float()  # (B, 1)
        x = x + absent[..., None, None] * model.no_obj_embed_spatial[..., None, None].expand(*x.shape)
    return x, pos


def _use_multimask(model: SAM2Model, is_init_cond_frame: bool, num_points: int) -> bool:
    return bool(model.multimask_output_in_sam
                and (is_init_cond_frame or model.multimask_output_for_tracking)
                and model.multimask_min_pt_num <= num_points <= model.multimask_max_pt_num)


@torch.inference_mode()
def track_frame(model: SAM2Model, feats: FrameFeatures, frame_idx: int, steps: list[ObjectStep],
                num_frames: int, reverse: bool, run_mem_encoder: bool) -> list[FrameOutput]:
    """The reference's ``track_step`` for several objects on one frame, in one batch where possible,
    then its video predictor's post-processing (``fill_hole_area``).

    Prompt-free steps (propagation) share one pass through the SAM heads; prompted steps (one
    object per click) go one by one. With ``run_mem_encoder`` the new memories are encoded too
    (propagation); prompted frames are encoded later, once prompting is done (``encode_prompted``).
    """
    sam: list[SamOutput | None] = [None] * len(steps)
    pix = feats.pix_feat()  # (1, C, h, w)
    mask_steps = [i for i, s in enumerate(steps)
                  if s.mask_input is not None and model.use_mask_input_as_output_without_sam]
    for i in mask_steps:
        sam[i] = use_mask_as_output(model, pix, feats.high_res(1), steps[i].mask_input)
    rest = [i for i in range(len(steps)) if i not in mask_steps]
    if rest:
        # float32 as in the reference, where the sum with the float32 "no memory" embedding and the
        # memory attention's final norm give float32 under autocast too (the frame's features may be bf16).
        fused = pix.new_empty(len(rest), *pix.shape[1:], dtype=torch.float32)
        init = [k for k, i in enumerate(rest) if steps[i].is_init_cond_frame]
        tracked = [k for k, i in enumerate(rest) if not steps[i].is_init_cond_frame]
        if init:  # no memory yet: the frame's features plus the learned "no memory" embedding
            fused[init] = (pix + model.no_mem_embed.reshape(1, -1, 1, 1)).float()
        if tracked:
            banks = [gather_memory(model, frame_idx, steps[rest[k]].memory, num_frames, reverse) for k in tracked]
            fused[tracked] = condition_on_memory(model, feats, banks).float()
        plain = [k for k, i in enumerate(rest) if steps[i].point_coords is None and steps[i].mask_input is None
                 and steps[i].prev_mask_logits is None]
        if plain:  # batched: every prompt-free object uses the same multimask setting
            multimask = _use_multimask(model, False, 0)
            out = forward_sam_heads(model, fused[plain], None, None, None, feats.high_res(len(plain)), multimask,
                                    high_res_output=run_mem_encoder)
            for j, k in enumerate(plain):
                high = None if out.high_res_masks is None else out.high_res_masks[j:j + 1]
                # Copies, not views: a view would keep the whole batch alive as long as any one
                # object keeps its output, which defeats the per-object memory window.
                sam[rest[k]] = SamOutput(out.low_res_masks[j:j + 1].clone(), high,
                                         out.obj_ptr[j:j + 1].clone(), out.object_score_logits[j:j + 1].clone(),
                                         None if out.iou_scores is None else out.iou_scores[j:j + 1].clone())
        for k, i in enumerate(rest):
            if k in plain:
                continue
            s = steps[i]
            num_points = 0 if s.point_labels is None else s.point_labels.shape[1]
            mask_in = s.mask_input if s.mask_input is not None else s.prev_mask_logits
            sam[i] = forward_sam_heads(model, fused[k:k + 1], s.point_coords, s.point_labels, mask_in,
                                       feats.high_res(1), _use_multimask(model, s.is_init_cond_frame, num_points),
                                       high_res_output=run_mem_encoder)
    outs = [FrameOutput(o.low_res_masks, o.obj_ptr, o.object_score_logits, iou_scores=o.iou_scores)
            for o in sam if o is not None]
    if run_mem_encoder and model.num_maskmem > 0 and outs:
        highs = [o.high_res_masks for o in sam if o is not None]
        assert all(h is not None for h in highs)  # asked for with run_mem_encoder
        high = torch.cat(highs, dim=0)  # type: ignore[arg-type]
        scores = torch.cat([o.object_score_logits for o in sam if o is not None], dim=0)
        mem, pos = encode_memory(model, feats, high, scores, is_mask_from_pts=False)
        for j, o in enumerate(outs):  # pos is one cached encoding for every frame
            o.maskmem_features, o.maskmem_pos_enc = mem[j:j + 1].to(MEMORY_DTYPE, copy=True), pos[j:j + 1]
    if model.fill_hole_area > 0:
        # As the reference: after the memory (encoded from the unfilled masks), before the logits
        # are kept, shown, fed back with a correction and, for a prompted frame, encoded.
        for o in outs:
            assert o.pred_masks is not None
            o.pred_masks = fill_holes(o.pred_masks, model.fill_hole_area)
    return outs


@torch.inference_mode()
def encode_prompted(model: SAM2Model, feats: FrameFeatures, outs: list[FrameOutput]) -> None:
    """Encode the memories of prompted frames from their low-res logits, binarised (in place)."""
    low = torch.cat([o.pred_masks for o in outs if o.pred_masks is not None], dim=0)
    high = F.interpolate(low, size=(model.image_size, model.image_size), mode="bilinear", align_corners=False)
    scores = torch.cat([o.object_score_logits for o in outs], dim=0)
    mem, pos = encode_memory(model, feats, high, scores, is_mask_from_pts=True)
    for j, o in enumerate(outs):
        o.maskmem_features, o.maskmem_pos_enc = mem[j:j + 1].to(MEMORY_DTYPE, copy=True), pos[j:j + 1]
