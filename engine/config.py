"""Typed configs of the SAM 2 / SAM 2.1 models and of our small ``micro`` model.

One frozen dataclass per component, composed into ``SAM2Config`` (nanoGPT's GPTConfig style):
the defaults are those of ``sam2.1_hiera_t``; ``get_config(name)`` returns any known model. The
numbers come from the official configs (``sam2/configs/sam2*/*.yaml``), including the options
the reference's builders switch on by default (dynamic multimask via stability, binarised masks
of clicked frames for the memory encoder, hole filling up to 8 px).

Configs serialise to JSON (``config_to_json`` / ``config_from_json``) so that a safetensors file
carries the config it was trained with.
"""

from __future__ import annotations

import dataclasses
import json
import types
import typing
from dataclasses import dataclass, field
from typing import Any

from engine.modeling.hiera import HieraConfig
from engine.modeling.mask_decoder import MaskDecoderConfig
from engine.modeling.memory_attention import MemoryAttentionConfig
from engine.modeling.memory_encoder import MemoryEncoderConfig
from engine.modeling.neck import NeckConfig
from engine.modeling.prompt_encoder import PromptEncoderConfig


@dataclass(frozen=True)
class TrackingConfig:
    """The top-level SAM2Base options the video tracking reads (exposed as SAM2Model attributes)."""

    num_maskmem: int = 7  # memories attended to: the current frame's slot + 6 previous frames
    sigmoid_scale_for_mem_enc: float = 20.0  # mask logits -> memory encoder: sigmoid(x) * 20 - 10
    sigmoid_bias_for_mem_enc: float = -10.0
    binarize_mask_from_pts_for_mem_enc: bool = True  # clicked frames: encode the mask the user saw
    use_mask_input_as_output_without_sam: bool = True  # a mask prompt is the output (+-10 logits)
    max_cond_frames_in_attn: int = -1  # -1: attend to every conditioning frame
    directly_add_no_mem_embed: bool = True  # conditioning frames: features + no_mem_embed
    multimask_output_in_sam: bool = True  # 3 masks for a first click
    multimask_min_pt_num: int = 0  # ... when the number of points is in [min, max]
    multimask_max_pt_num: int = 1
    multimask_output_for_tracking: bool = True  # tracked frames use the multimask outputs too
    memory_temporal_stride_for_eval: int = 1
    non_overlap_masks_for_mem_enc: bool = False  # objects encoded together do not overlap (eval only)
    use_obj_ptrs_in_encoder: bool = True  # object pointers (SAM output tokens) join the memory
    max_obj_ptrs_in_encoder: int = 16
    add_tpos_enc_to_obj_ptrs: bool = True  # 2.1: temporal encoding of pointers (2.0: False)
    proj_tpos_enc_in_obj_ptrs: bool = True  # 2.1: projected by obj_ptr_tpos_proj (2.0: False)
    use_signed_tpos_enc_to_obj_ptrs: bool = True  # 2.1: signed frame distance (2.0: False)
    only_obj_ptrs_in_the_past_for_eval: bool = True
    fixed_no_obj_ptr: bool = True  # absent object: pointer = no_obj_ptr
    soft_no_obj_ptr: bool = False
    use_mlp_for_obj_ptr_proj: bool = True  # obj_ptr_proj is a 3-layer MLP, not a Linear
    no_obj_embed_spatial: bool = True  # 2.1: learned memory embedding of "absent" (2.0: False)
    fill_hole_area: int = 8  # video: fill holes of at most this area (px of the low-res mask); 0: off


@dataclass(frozen=True)
class SAM2Config:
    name: str = "sam2.1_hiera_t"
    image_size: int = 1024  # input side; images are resized to a square without keeping aspect
    backbone_stride: int = 16  # stride of the coarsest kept level (the SAM image embedding)
    scalp: int = 1  # coarsest FPN levels dropped (SAM 2 keeps strides 4, 8, 16)
    trunk: HieraConfig = field(default_factory=HieraConfig)
    neck: NeckConfig = field(default_factory=NeckConfig)
    prompt_encoder: PromptEncoderConfig = field(default_factory=PromptEncoderConfig)
    mask_decoder: MaskDecoderConfig = field(default_factory=MaskDecoderConfig)
    memory_attention: MemoryAttentionConfig = field(default_factory=MemoryAttentionConfig)
    memory_encoder: MemoryEncoderConfig = field(default_factory=MemoryEncoderConfig)
    tracking: TrackingConfig = field(default_factory=TrackingConfig)

    def __post_init__(self) -> None:
        """Fail at construction, not deep inside a forward, when the components do not fit."""
        d = self.neck.d_model
        problems = []
        if self.image_size % self.backbone_stride:
            problems.append(f"image_size {self.image_size} is not a multiple of {self.backbone_stride}")
        if self.memory_attention.d_model != d or self.memory_encoder.in_dim != d:
            problems.append(
                f"memory attention d_model {self.memory_attention.d_model} and memory encoder in_dim "
                f"{self.memory_encoder.in_dim} must equal the neck's d_model {d}"
            )
        if self.memory_attention.kv_in_dim != self.memory_encoder.out_dim:
            problems.append(
                f"memory attention kv_in_dim {self.memory_attention.kv_in_dim} must equal the memory "
                f"encoder's out_dim {self.memory_encoder.out_dim}"
            )
        grid = self.image_size // self.backbone_stride
        if tuple(self.memory_attention.feat_sizes) != (grid, grid):
            problems.append(
                f"memory attention feat_sizes {self.memory_attention.feat_sizes} != ({grid}, {grid})"
            )
        if self.memory_encoder.mask_total_stride != self.backbone_stride:
            problems.append("the memory encoder's mask_total_stride must equal backbone_stride")
        if problems:
            raise ValueError(f"inconsistent SAM2Config {self.name!r}: " + "; ".join(problems))

    @property
    def hidden_dim(self) -> int:
        return self.neck.d_model

    @property
    def mem_dim(self) -> int:
        return self.memory_encoder.out_dim

    def with_image_size(self, image_size: int) -> SAM2Config:
        """The same model at another input size (the weights do not depend on it)."""
        grid = image_size // self.backbone_stride
        return dataclasses.replace(
            self,
            image_size=image_size,
            memory_attention=dataclasses.replace(self.memory_attention, feat_sizes=(grid, grid)),
        )


_SAM2_0_TRACKING = TrackingConfig(
    add_tpos_enc_to_obj_ptrs=False,
    proj_tpos_enc_in_obj_ptrs=False,
    use_signed_tpos_enc_to_obj_ptrs=False,
    no_obj_embed_spatial=False,
)

_TRUNKS = {
    "t": HieraConfig(embed_dim=96, num_heads=1, stages=(1, 2, 7, 2), global_att_blocks=(5, 7, 9)),
    "s": HieraConfig(embed_dim=96, num_heads=1, stages=(1, 2, 11, 2), global_att_blocks=(7, 10, 13)),
    "b+": HieraConfig(
        embed_dim=112,
        num_heads=2,
        stages=(2, 3, 16, 3),
        global_att_blocks=(12, 16, 20),
        window_pos_embed_bkg_spatial_size=(14, 14),
    ),
    "l": HieraConfig(
        embed_dim=144,
        num_heads=2,
        stages=(2, 6, 36, 4),
        global_att_blocks=(23, 33, 43),
        window_spec=(8, 4, 16, 8),
    ),
}


def _micro() -> SAM2Config:
    """A ~2 M-parameter SAM 2 with the full structure, for fast CPU tests and the demo.

    256 px input (a 16x16 image embedding), a 4-stage Hiera of width 32, hidden width 64, a
    2-layer memory attention and 32-d memories; trained later on synthetic videos.

    Tracked (prompt-free) frames use the single-mask output, not the best of the three multimask
    ones: trained from scratch with the recipe's best-of-three supervision, the three candidates of a
    tracked frame learn to be the scene's three objects, whatever the memory says, and the IoU head
    then picks the same one for every object (measured on the previous shipped micro: candidate IoUs
    0.97 / 0.02 / 0.91 with three different objects, identical for all three tracked objects). The
    official models, fine-tuned from a SAM that already follows memories, keep the multimask.
    """
    hidden, mem, grid = 64, 32, 16
    return SAM2Config(
        name="micro",
        image_size=256,
        trunk=HieraConfig(
            embed_dim=32,
            num_heads=1,
            stages=(1, 2, 3, 1),
            global_att_blocks=(5,),
            window_spec=(8, 4, 8, 8),
            window_pos_embed_bkg_spatial_size=(8, 8),
        ),
        neck=NeckConfig(d_model=hidden),
        mask_decoder=MaskDecoderConfig(
            transformer_mlp_dim=256, transformer_num_heads=4, iou_head_hidden_dim=64
        ),
        memory_attention=MemoryAttentionConfig(
            d_model=hidden, num_layers=2, dim_feedforward=256, kv_in_dim=mem, feat_sizes=(grid, grid)
        ),
        memory_encoder=MemoryEncoderConfig(in_dim=hidden, out_dim=mem),
        tracking=TrackingConfig(multimask_output_for_tracking=False),
    )


def _official(version: str, size: str) -> SAM2Config:
    prefix = "sam2.1" if version == "2.1" else "sam2"
    return SAM2Config(
        name=f"{prefix}_hiera_{size}",
        trunk=_TRUNKS[size],
        tracking=TrackingConfig() if version == "2.1" else _SAM2_0_TRACKING,
    )


_CONFIGS = {
    **{f"sam2.1_hiera_{s}": (lambda s=s: _official("2.1", s)) for s in _TRUNKS},
    **{f"sam2_hiera_{s}": (lambda s=s: _official("2.0", s)) for s in _TRUNKS},
    "micro": _micro,
}

KNOWN_CONFIGS: tuple[str, ...] = tuple(_CONFIGS)


def get_config(name: str) -> SAM2Config:
    """The config of a known model, e.g. ``get_config("sam2.1_hiera_b+")``."""
    if name not in _CONFIGS:
        raise ValueError(f"unknown model config {name!r}; known: {', '.join(KNOWN_CONFIGS)}")
    return _CONFIGS[name]()


def config_to_json(config: SAM2Config) -> str:
    return json.dumps(dataclasses.asdict(config), sort_keys=True)


def _from_value(tp: Any, value: Any) -> Any:
    """Rebuild a field value of type ``tp`` from its JSON form (dataclasses, tuples, scalars)."""
    if dataclasses.is_dataclass(tp) and isinstance(tp, type):
        return _from_dict(tp, value)
    origin = typing.get_origin(tp)
    if origin is tuple:
        return tuple(value)
    if origin in (typing.Union, types.UnionType):
        args = [a for a in typing.get_args(tp) if a is not type(None)]
        return None if value is None else _from_value(args[0], value)
    return value


def _from_dict(cls: type, data: dict[str, Any]) -> Any:
    hints = typing.get_type_hints(cls)
    names = {f.name for f in dataclasses.fields(cls)}
    unknown = set(data) - names
    if unknown:
        raise ValueError(f"unknown {cls.__name__} fields in the stored config: {sorted(unknown)}")
    return cls(**{k: _from_value(hints[k], v) for k, v in data.items()})


def config_from_json(text: str) -> SAM2Config:
    """Inverse of config_to_json; fields missing from the JSON take today's defaults."""
    return _from_dict(SAM2Config, json.loads(text))
