"""The top-level SAM 2 model: its components and top-level parameters, nothing of the tracking.

``SAM2Model`` holds the image encoder, the SAM prompt encoder and mask decoder, the memory
attention and memory encoder, and the parameters the video tracking uses (``engine/tracking.py``
implements the tracking itself). Module and parameter names equal the official checkpoints', so
``{"model": state_dict}`` from Meta's ``.pt`` files loads with strict key matching.
"""

from __future__ import annotations

import dataclasses
from typing import TYPE_CHECKING

import torch
from torch import nn
from torch.nn.init import trunc_normal_

from engine.modeling.common import MLP
from engine.modeling.hiera import Hiera
from engine.modeling.image_encoder import ImageEncoder
from engine.modeling.mask_decoder import MaskDecoder
from engine.modeling.memory_attention import MemoryAttention
from engine.modeling.memory_encoder import MemoryEncoder
from engine.modeling.neck import FpnNeck
from engine.modeling.prompt_encoder import PromptEncoder

if TYPE_CHECKING:
    from engine.config import SAM2Config

BackboneOut = dict[str, torch.Tensor | list[torch.Tensor]]


class SAM2Model(nn.Module):
    """SAM 2's modules and top-level parameters; components are injected by ``build_sam2``.

    Every field of ``config.tracking`` (num_maskmem, sigmoid_scale_for_mem_enc, ...) is also an
    attribute, as are image_size, backbone_stride, hidden_dim, mem_dim and the mask decoder's
    flags (pred_obj_scores, ...), so the tracking code reads them as the reference's SAM2Base does.
    """

    def __init__(
        self,
        config: SAM2Config,
        image_encoder: ImageEncoder,
        sam_prompt_encoder: PromptEncoder,
        sam_mask_decoder: MaskDecoder,
        memory_attention: MemoryAttention,
        memory_encoder: MemoryEncoder,
    ) -> None:
        super().__init__()
        self.config = config
        tracking = config.tracking
        for f in dataclasses.fields(tracking):
            setattr(self, f.name, getattr(tracking, f.name))
        decoder_cfg = config.mask_decoder
        self.image_size = config.image_size
        self.backbone_stride = config.backbone_stride
        self.hidden_dim = config.hidden_dim  # 256: width of the SAM tokens and frame features
        self.mem_dim = config.mem_dim  # 64: width of a memory token
        self.use_high_res_features_in_sam = decoder_cfg.use_high_res_features
        self.num_feature_levels = 3 if self.use_high_res_features_in_sam else 1
        self.iou_prediction_use_sigmoid = decoder_cfg.iou_prediction_use_sigmoid
        self.pred_obj_scores = decoder_cfg.pred_obj_scores
        self.pred_obj_scores_mlp = decoder_cfg.pred_obj_scores_mlp
        self.use_multimask_token_for_obj_ptr = decoder_cfg.use_multimask_token_for_obj_ptr
        self.sam_prompt_embed_dim = self.hidden_dim
        self.sam_image_embedding_size = self.image_size // self.backbone_stride  # 64 at 1024 px

        self.image_encoder = image_encoder
        self.sam_prompt_encoder = sam_prompt_encoder
        self.sam_mask_decoder = sam_mask_decoder
        self.memory_attention = memory_attention
        self.memory_encoder = memory_encoder

        c, m = self.hidden_dim, self.mem_dim
        if tracking.use_obj_ptrs_in_encoder:
            # Downsamples a mask prompt used directly as output, for its object pointer.
            self.mask_downsample = nn.Conv2d(1, 1, kernel_size=4, stride=4)
        # Temporal encoding of each memory slot: (num_maskmem, 1, 1, mem_dim).
        self.maskmem_tpos_enc = nn.Parameter(torch.zeros(tracking.num_maskmem, 1, 1, m))
        # Added to the features of a frame with no memory (conditioning frames): (1, 1, C).
        self.no_mem_embed = nn.Parameter(torch.zeros(1, 1, c))
        self.no_mem_pos_enc = nn.Parameter(torch.zeros(1, 1, c))
        if self.pred_obj_scores and tracking.use_obj_ptrs_in_encoder:
            self.no_obj_ptr = nn.Parameter(torch.zeros(1, c))  # the pointer of an absent object
        # 2.1: added to the memory of a frame where the object is absent: (1, mem_dim).
        self.no_obj_embed_spatial: nn.Parameter | None = (
            nn.Parameter(torch.zeros(1, m)) if tracking.no_obj_embed_spatial else None
        )
        self.obj_ptr_proj: nn.Module
        if not tracking.use_obj_ptrs_in_encoder:
            self.obj_ptr_proj = nn.Identity()
        elif tracking.use_mlp_for_obj_ptr_proj:
            self.obj_ptr_proj = MLP(c, c, c, 3)  # SAM output token -> object pointer
        else:
            self.obj_ptr_proj = nn.Linear(c, c)
        # Projects the sine encoding of a pointer's frame distance to mem_dim.
        self.obj_ptr_tpos_proj: nn.Module = (
            nn.Linear(c, m) if tracking.proj_tpos_enc_in_obj_ptrs else nn.Identity()
        )
        self._init_top_level_parameters()

    def _init_top_level_parameters(self) -> None:
        """Random init as the reference (truncated normal, std 0.02); a checkpoint overwrites it."""
        for p in (self.maskmem_tpos_enc, self.no_mem_embed, self.no_mem_pos_enc):
            trunc_normal_(p, std=0.02)
        if hasattr(self, "no_obj_ptr"):
            trunc_normal_(self.no_obj_ptr, std=0.02)
        if self.no_obj_embed_spatial is not None:
            trunc_normal_(self.no_obj_embed_spatial, std=0.02)

    @property
    def device(self) -> torch.device:
        return next(self.parameters()).device

    def forward(self, *args: object, **kwargs: object) -> None:
        raise NotImplementedError(
            "SAM2Model has no single forward: use forward_image() for features, then "
            "engine.ImagePredictor or the video tracking"
        )

    def forward_image(self, img_batch: torch.Tensor) -> BackboneOut:
        """(B, 3, S, S) normalised images -> the backbone dict of the reference's SAM2Base.

        backbone_fpn: [(B, C/8, S/4, S/4), (B, C/4, S/8, S/8), (B, C, S/16, S/16)]: the two
        high-resolution levels are already projected by the decoder's conv_s0/conv_s1, once per
        image rather than once per prompt. vision_pos_enc: the matching sine encodings (width C).
        """
        out = self.image_encoder(img_batch)
        if self.use_high_res_features_in_sam:
            fpn = list(out["backbone_fpn"])
            fpn[0] = self.sam_mask_decoder.conv_s0(fpn[0])
            fpn[1] = self.sam_mask_decoder.conv_s1(fpn[1])
            out["backbone_fpn"] = fpn
        return out

    def prepare_backbone_features(
        self, backbone_out: BackboneOut
    ) -> tuple[BackboneOut, list[torch.Tensor], list[torch.Tensor], list[tuple[int, int]]]:
        """Flatten the levels SAM uses: (B, C, H, W) -> (HW, B, C), plus their (H, W) sizes."""
        maps = list(backbone_out["backbone_fpn"])[-self.num_feature_levels :]
        pos = list(backbone_out["vision_pos_enc"])[-self.num_feature_levels :]
        feat_sizes = [(x.shape[-2], x.shape[-1]) for x in pos]
        vision_feats = [x.flatten(2).permute(2, 0, 1) for x in maps]
        vision_pos = [x.flatten(2).permute(2, 0, 1) for x in pos]
        return dict(backbone_out), vision_feats, vision_pos, feat_sizes

    # The reference's name, for code written against SAM2Base.
    _prepare_backbone_features = prepare_backbone_features


def build_sam2(config: SAM2Config, *, init_weights: bool = True) -> SAM2Model:
    """Build every component from its config and inject them into a SAM2Model (random weights).

    ``init_weights=False`` leaves the trunk's weights uninitialised (allocated, not randomised):
    for a checkpoint about to overwrite them, it saves seconds on the large models, whose trunk
    holds most of the parameters. Never use such a model before loading every weight.
    """
    if init_weights:
        trunk = Hiera(config.trunk)
    else:
        with torch.device("meta"):
            trunk = Hiera(config.trunk)
        trunk = trunk.to_empty(device="cpu")
    neck = FpnNeck(config.neck, backbone_channel_list=config.trunk.channel_list)
    grid = config.image_size // config.backbone_stride
    return SAM2Model(
        config,
        image_encoder=ImageEncoder(trunk, neck, scalp=config.scalp),
        sam_prompt_encoder=PromptEncoder(
            embed_dim=config.hidden_dim,
            image_embedding_size=(grid, grid),
            input_image_size=(config.image_size, config.image_size),
            mask_in_chans=config.prompt_encoder.mask_in_chans,
        ),
        sam_mask_decoder=MaskDecoder(config.hidden_dim, config.mask_decoder),
        memory_attention=MemoryAttention(config.memory_attention),
        memory_encoder=MemoryEncoder(config.memory_encoder),
    )
