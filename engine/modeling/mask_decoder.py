"""SAM 2's mask decoder: output tokens + prompt tokens x image embedding -> masks, IoU, object score.

Differences from SAM 1 that matter for checkpoints and parity: high-resolution skip connections
from the stride-4 and stride-8 FPN levels (``conv_s0``, ``conv_s1``, applied once per image in
``SAM2Model.forward_image``), a sigmoid on the IoU head, an object-score token and head (is the
object visible in this frame?), and "dynamic multimask": when one mask is asked for but the
single-mask token's output is unstable, the best of the three multimask outputs is used instead.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import nn

from engine.modeling.common import MLP, LayerNorm2d
from engine.modeling.two_way_transformer import TwoWayTransformer


@dataclass(frozen=True)
class MaskDecoderConfig:
    num_multimask_outputs: int = 3  # masks for an ambiguous prompt (plus one single-mask token)
    transformer_depth: int = 2  # two-way transformer blocks
    transformer_mlp_dim: int = 2048
    transformer_num_heads: int = 8
    attention_downsample_rate: int = 2  # token<->image attentions work at half width
    iou_head_depth: int = 3
    iou_head_hidden_dim: int = 256
    use_high_res_features: bool = True  # stride-4/8 skips into the upscaler
    iou_prediction_use_sigmoid: bool = True
    pred_obj_scores: bool = True  # object-score token and head (occlusion)
    pred_obj_scores_mlp: bool = True  # the head is a 3-layer MLP, not a Linear
    use_multimask_token_for_obj_ptr: bool = True  # multimask output -> their tokens for the pointer
    # The reference builders' default post-processing: fall back to the best multimask output
    # when a single mask is asked for and its stability (IoU of logits > +delta and > -delta)
    # is below the threshold.
    dynamic_multimask_via_stability: bool = True
    dynamic_multimask_stability_delta: float = 0.05
    dynamic_multimask_stability_thresh: float = 0.98


class MaskDecoder(nn.Module):
    """forward(image_embeddings (B, C, h, w), image_pe (1, C, h, w), sparse (B, N, C),
    dense (B, C, h, w), multimask_output, repeat_image, high_res_features [(B, C/8, 4h, 4w),
    (B, C/4, 2h, 2w)]) -> (masks (B, M, 4h, 4w), iou (B, M), sam_tokens (B, M' , C),
    object_score_logits (B, 1)), M = 3 for multimask output else 1, as the reference.
    """

    def __init__(self, transformer_dim: int, cfg: MaskDecoderConfig) -> None:
        super().__init__()
        c = transformer_dim
        self.transformer_dim = c
        self.transformer = TwoWayTransformer(
            depth=cfg.transformer_depth,
            embedding_dim=c,
            num_heads=cfg.transformer_num_heads,
            mlp_dim=cfg.transformer_mlp_dim,
            attention_downsample_rate=cfg.attention_downsample_rate,
        )
        self.num_multimask_outputs = cfg.num_multimask_outputs
        self.num_mask_tokens = cfg.num_multimask_outputs + 1
        self.iou_token = nn.Embedding(1, c)
        self.mask_tokens = nn.Embedding(self.num_mask_tokens, c)
        self.pred_obj_scores = cfg.pred_obj_scores
        if self.pred_obj_scores:
            self.obj_score_token = nn.Embedding(1, c)
        self.use_multimask_token_for_obj_ptr = cfg.use_multimask_token_for_obj_ptr

        # Indices 0..4 are the checkpoint's output_upscaling.{0,1,3} (2 and 4 are activations).
        self.output_upscaling = nn.Sequential(
            nn.ConvTranspose2d(c, c // 4, kernel_size=2, stride=2),
            LayerNorm2d(c // 4),
            nn.GELU(),
            nn.ConvTranspose2d(c // 4, c // 8, kernel_size=2, stride=2),
            nn.GELU(),
        )
        self.use_high_res_features = cfg.use_high_res_features
        if self.use_high_res_features:
            self.conv_s0 = nn.Conv2d(c, c // 8, kernel_size=1)  # stride-4 level -> C/8
            self.conv_s1 = nn.Conv2d(c, c // 4, kernel_size=1)  # stride-8 level -> C/4
        self.output_hypernetworks_mlps = nn.ModuleList(
            MLP(c, c, c // 8, 3) for _ in range(self.num_mask_tokens)
        )
        self.iou_prediction_head = MLP(
            c,
            cfg.iou_head_hidden_dim,
            self.num_mask_tokens,
            cfg.iou_head_depth,
            sigmoid_output=cfg.iou_prediction_use_sigmoid,
        )
        if self.pred_obj_scores:
            self.pred_obj_score_head: nn.Module = (
                MLP(c, c, 1, 3) if cfg.pred_obj_scores_mlp else nn.Linear(c, 1)
            )
        self.dynamic_multimask_via_stability = cfg.dynamic_multimask_via_stability
        self.dynamic_multimask_stability_delta = cfg.dynamic_multimask_stability_delta
        self.dynamic_multimask_stability_thresh = cfg.dynamic_multimask_stability_thresh

    def forward(
        self,
        image_embeddings: torch.Tensor,
        image_pe: torch.Tensor,
        sparse_prompt_embeddings: torch.Tensor,
        dense_prompt_embeddings: torch.Tensor,
        multimask_output: bool,
        repeat_image: bool,
        high_res_features: list[torch.Tensor] | None = None,
    ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor]:
        masks, iou_pred, mask_tokens_out, object_score_logits = self.predict_masks(
            image_embeddings, image_pe, sparse_prompt_embeddings, dense_prompt_embeddings,
            repeat_image, high_res_features,
        )  # fmt: skip
        if multimask_output:
            masks, iou_pred = masks[:, 1:], iou_pred[:, 1:]
        elif self.dynamic_multimask_via_stability and not self.training:
            masks, iou_pred = self._dynamic_multimask_via_stability(masks, iou_pred)
        else:
            masks, iou_pred = masks[:, 0:1], iou_pred[:, 0:1]

        if multimask_output and self.use_multimask_token_for_obj_ptr:
            sam_tokens_out = mask_tokens_out[:, 1:]  # (B, 3, C)
        else:
            # The single-mask token always feeds the object pointer otherwise: SAM 2 is trained
            # to track after several clicks, where that token is the one in use.
            sam_tokens_out = mask_tokens_out[:, 0:1]  # (B, 1, C)
        return masks, iou_pred, sam_tokens_out, object_score_logits

    def predict_masks(
        self,
        image_embeddings: torch.Tensor,
        image_pe: torch.Tensor,
        sparse_prompt_embeddings: torch.Tensor,
        dense_prompt_embeddings: torch.Tensor,
        repeat_image: bool,
        high_res_features: list[torch.Tensor] | None = None,
    ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor]:
        """All 1 + num_multimask_outputs masks and IoU predictions, before selection."""
        # Output tokens: [obj_score?, iou, mask_0 .. mask_3], then the prompt tokens.
        weights = [self.iou_token.weight, self.mask_tokens.weight]
        if self.pred_obj_scores:
            weights.insert(0, self.obj_score_token.weight)
        s = 1 if self.pred_obj_scores else 0
        batch = sparse_prompt_embeddings.size(0)
        output_tokens = torch.cat(weights, dim=0).unsqueeze(0).expand(batch, -1, -1)
        tokens = torch.cat((output_tokens, sparse_prompt_embeddings), dim=1)  # (B, T, C)

        if repeat_image:  # one image, several prompts
            src = torch.repeat_interleave(image_embeddings, tokens.shape[0], dim=0)
        else:
            assert image_embeddings.shape[0] == tokens.shape[0], "one image embedding per prompt"
            src = image_embeddings
        src = src + dense_prompt_embeddings
        assert image_pe.size(0) == 1, "image_pe must have batch size 1 (get_dense_pe())"
        pos_src = torch.repeat_interleave(image_pe, tokens.shape[0], dim=0)
        b, c, h, w = src.shape

        hs, src = self.transformer(src, pos_src, tokens)
        iou_token_out = hs[:, s, :]
        mask_tokens_out = hs[:, s + 1 : s + 1 + self.num_mask_tokens, :]

        # (B, hw, C) -> (B, C, h, w) -> upscaled 4x to (B, C/8, 4h, 4w)
        src = src.transpose(1, 2).reshape(b, c, h, w)
        if not self.use_high_res_features:
            upscaled = self.output_upscaling(src)
        else:
            dc1, ln1, act1, dc2, act2 = self.output_upscaling
            assert high_res_features is not None, "this decoder uses high-res features"
            feat_s0, feat_s1 = high_res_features
            upscaled = act1(ln1(dc1(src) + feat_s1))
            upscaled = act2(dc2(upscaled) + feat_s0)

        # Each mask token becomes a (C/8) vector; a mask is its dot product with every pixel.
        hyper_in = torch.stack(
            [mlp(mask_tokens_out[:, i, :]) for i, mlp in enumerate(self.output_hypernetworks_mlps)], dim=1
        )  # (B, M, C/8)
        b, c8, h4, w4 = upscaled.shape
        masks = (hyper_in @ upscaled.view(b, c8, h4 * w4)).view(b, -1, h4, w4)

        iou_pred = self.iou_prediction_head(iou_token_out)
        if self.pred_obj_scores:
            object_score_logits = self.pred_obj_score_head(hs[:, 0, :])
        else:
            object_score_logits = 10.0 * iou_pred.new_ones(iou_pred.shape[0], 1)  # "present"
        return masks, iou_pred, mask_tokens_out, object_score_logits

    def _stability_scores(self, mask_logits: torch.Tensor) -> torch.Tensor:
        """IoU of the mask thresholded at +delta and at -delta: (B, M, H, W) -> (B, M)."""
        flat = mask_logits.flatten(-2)
        delta = self.dynamic_multimask_stability_delta
        inter = torch.sum(flat > delta, dim=-1).float()
        union = torch.sum(flat > -delta, dim=-1).float()
        return torch.where(union > 0, inter / union, 1.0)

    def _dynamic_multimask_via_stability(
        self, all_mask_logits: torch.Tensor, all_iou_scores: torch.Tensor
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """The single-mask output where it is stable, else the multimask output of highest IoU."""
        multi_logits, multi_iou = all_mask_logits[:, 1:], all_iou_scores[:, 1:]
        best = torch.argmax(multi_iou, dim=-1)
        rows = torch.arange(multi_iou.size(0), device=all_iou_scores.device)
        best_logits = multi_logits[rows, best].unsqueeze(1)  # (B, 1, H, W)
        best_iou = multi_iou[rows, best].unsqueeze(1)  # (B, 1)

        single_logits, single_iou = all_mask_logits[:, 0:1], all_iou_scores[:, 0:1]
        stable = self._stability_scores(single_logits) >= self.dynamic_multimask_stability_thresh
        logits = torch.where(stable[..., None, None].expand_as(single_logits), single_logits, best_logits)
        iou = torch.where(stable.expand_as(single_iou), single_iou, best_iou)
        return logits, iou
