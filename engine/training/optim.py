"""Optimiser of a training run: AdamW over parameter groups, warm-up + cosine schedule, freezing.

- Image encoder: its own base learning rate (the recipe fine-tunes it lower) and layer-wise decay
  on the trunk: block i of L gets ``decay ** (L - i)`` times the rate, the patch and position
  embeddings ``decay ** (L + 1)``; the neck gets the full image-encoder rate.
- No weight decay on biases and normalisation layers; 0.1 elsewhere (the recipe's groups).
- Schedule: linear warm-up from 0, then cosine from the base rate down to ``min_lr_ratio`` of it.
- Freezing: the image encoder, the memory modules (memory attention, memory encoder and their
  embeddings), the prompt encoder: frozen parameters get no gradient and no group.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch
from torch import nn

from engine.modeling.sam2 import SAM2Model

__all__ = ["OptimConfig", "apply_freezing", "build_optimizer", "build_scheduler", "lr_factor", "param_groups"]

MEMORY_PARAMS = ("memory_attention.", "memory_encoder.", "maskmem_tpos_enc", "no_mem_embed", "no_mem_pos_enc",
                 "no_obj_embed_spatial")


@dataclass(frozen=True)
class OptimConfig:
    lr: float = 5e-6  # everything but the image encoder (the recipe's MOSE fine-tune)
    image_encoder_lr: float | None = 3e-6  # None: the same as lr
    layer_decay: float = 0.9  # per Hiera block, from the last block down to the patch embedding
    weight_decay: float = 0.1
    betas: tuple[float, float] = (0.9, 0.999)
    warmup_steps: int = 0
    total_steps: int = 1000
    min_lr_ratio: float = 0.1  # cosine to lr / 10
    grad_clip: float = 0.1  # max gradient norm
    freeze_image_encoder: bool = False
    freeze_memory: bool = False
    freeze_prompt_encoder: bool = False


def apply_freezing(model: SAM2Model, cfg: OptimConfig) -> None:
    for name, p in model.named_parameters():
        frozen = ((cfg.freeze_image_encoder and name.startswith("image_encoder."))
                  or (cfg.freeze_memory and name.startswith(MEMORY_PARAMS))
                  or (cfg.freeze_prompt_encoder and name.startswith("sam_prompt_encoder.")))
        p.requires_grad_(not frozen)


def _no_decay(name: str, norm_names: set[str]) -> bool:
    return name.endswith(".bias") or name in norm_names


def _trunk_layer(name: str, num_blocks: int) -> int:
    """Layer id in the trunk: 0 for the embeddings, i + 1 for block i, num_blocks + 1 for the rest."""
    rest = name[len("image_encoder.trunk."):]
    if rest.startswith(("patch_embed", "pos_embed")):
        return 0
    if rest.startswith("blocks."):
        return int(rest.split(".")[1]) + 1
    return num_blocks + 1


def param_groups(model: SAM2Model, cfg: OptimConfig) -> list[dict]:
    """Parameter groups with their ``lr`` (base, before the schedule) and ``weight_decay``."""
    norm_names = {f"{m}.{n}" if m else n for m, mod in model.named_modules()
                  if "Norm" in type(mod).__name__
                  for n, _ in mod.named_parameters(recurse=False)}
    num_blocks = len(model.image_encoder.trunk.blocks)
    enc_lr = cfg.lr if cfg.image_encoder_lr is None else cfg.image_encoder_lr
    groups: dict[tuple[float, float], list[nn.Parameter]] = {}
    names: dict[tuple[float, float], list[str]] = {}
    for name, p in model.named_parameters():
        if not p.requires_grad:
            continue
        if name.startswith("image_encoder.trunk."):
            lr = enc_lr * cfg.layer_decay ** (num_blocks + 1 - _trunk_layer(name, num_blocks))
        elif name.startswith("image_encoder."):
            lr = enc_lr
        else:
            lr = cfg.lr
        wd = 0.0 if _no_decay(name, norm_names) else cfg.weight_decay
        groups.setdefault((lr, wd), []).append(p)
        names.setdefault((lr, wd), []).append(name)
    return [{"params": ps, "lr": lr, "initial_lr": lr, "weight_decay": wd, "names": names[(lr, wd)]}
            for (lr, wd), ps in sorted(groups.items(), key=lambda kv: kv[0])]


def build_optimizer(model: SAM2Model, cfg: OptimConfig) -> torch.optim.AdamW:
    apply_freezing(model, cfg)
    groups = param_groups(model, cfg)
    if not groups:
        raise ValueError("every parameter is frozen: nothing to train")
    return torch.optim.AdamW(groups, lr=cfg.lr, betas=cfg.betas, weight_decay=cfg.weight_decay, foreach=True)


def lr_factor(step: int, cfg: OptimConfig) -> float:
    """Multiplier of every base rate at ``step``: linear warm-up, then cosine to ``min_lr_ratio``."""
    if cfg.warmup_steps > 0 and step < cfg.warmup_steps:
        return (step + 1) / cfg.warmup_steps
    span = max(1, cfg.total_steps - cfg.warmup_steps)
    progress = min(1.0, (step - cfg.warmup_steps) / span)
    return cfg.min_lr_ratio + (1 - cfg.min_lr_ratio) * 0.5 * (1 + math.cos(math.pi * progress))


def build_scheduler(optimizer: torch.optim.Optimizer, cfg: OptimConfig) -> torch.optim.lr_scheduler.LambdaLR:
    return torch.optim.lr_scheduler.LambdaLR(optimizer, lambda step: lr_factor(step, cfg))
