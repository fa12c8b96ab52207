"""Load and save SAM 2 weights: Meta's official ``.pt`` checkpoints and our own ``.safetensors``.

Loading is strict: a missing, unexpected or mis-shaped tensor raises a ValueError that names
it, because a silently half-loaded model produces plausible-looking wrong masks. Official files
are read with ``torch.load(weights_only=True)`` (no arbitrary pickles); our files are
safetensors whose metadata carries the config, so a retrained model loads without guessing.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path

import torch
from safetensors import safe_open
from safetensors.torch import load_file, save_file

from engine.config import SAM2Config, config_from_json, config_to_json, get_config
from engine.modeling.sam2 import SAM2Model, build_sam2

__all__ = ["get_config", "load_model", "read_safetensors_config", "save_model"]

_LISTED = 20  # names listed in an error before "... and N more"


def _listing(names: list[str]) -> str:
    shown = ", ".join(names[:_LISTED])
    return shown + (f", ... and {len(names) - _LISTED} more" if len(names) > _LISTED else "")


def _resolve_config(config: str | SAM2Config) -> SAM2Config:
    return get_config(config) if isinstance(config, str) else config


def read_safetensors_config(path: str | Path) -> SAM2Config | None:
    """The config stored in one of our safetensors files, or None if it has none."""
    with safe_open(str(path), framework="pt") as f:
        metadata = f.metadata() or {}
    if "config" in metadata:
        return config_from_json(metadata["config"])
    if "config_name" in metadata:
        return get_config(metadata["config_name"])
    return None


def _read_state_dict(path: Path) -> dict[str, torch.Tensor]:
    if path.suffix == ".safetensors":
        return load_file(str(path), device="cpu")
    # mmap: the tensors are copied once, straight from the file into the model's parameters.
    payload = torch.load(str(path), map_location="cpu", weights_only=True, mmap=True)
    if isinstance(payload, Mapping) and "model" in payload and isinstance(payload["model"], Mapping):
        return dict(payload["model"])  # the official layout: {"model": state_dict}
    if isinstance(payload, Mapping) and all(isinstance(v, torch.Tensor) for v in payload.values()):
        return dict(payload)  # a bare state dict
    raise ValueError(f"{path}: expected an official SAM 2 checkpoint {{'model': state_dict}} or a state dict")


def load_state_dict_strict(model: SAM2Model, state_dict: Mapping[str, torch.Tensor], source: str) -> None:
    """Copy state_dict into model; raise a ValueError naming every missing/unexpected/mis-shaped key."""
    expected = model.state_dict()
    missing = sorted(set(expected) - set(state_dict))
    unexpected = sorted(set(state_dict) - set(expected))
    mis_shaped = sorted(
        f"{k} (checkpoint {tuple(state_dict[k].shape)}, model {tuple(expected[k].shape)})"
        for k in set(expected) & set(state_dict)
        if state_dict[k].shape != expected[k].shape
    )
    problems = []
    if missing:
        problems.append(f"missing keys: {_listing(missing)}")
    if unexpected:
        problems.append(f"unexpected keys: {_listing(unexpected)}")
    if mis_shaped:
        problems.append(f"mis-shaped tensors: {_listing(mis_shaped)}")
    if problems:
        raise ValueError(
            f"{source} does not match the {model.config.name!r} model ({'; '.join(problems)}); "
            "is it the checkpoint of another config?"
        )
    model.load_state_dict(state_dict, strict=True)


def load_model(
    config: str | SAM2Config | None,
    checkpoint: str | Path | None = None,
    device: str | torch.device = "cpu",
    dtype: torch.dtype | None = None,
) -> SAM2Model:
    """Build a model and load its weights, in eval mode on ``device`` (CPU by default).

    config: a name (see engine.config.KNOWN_CONFIGS) or a SAM2Config; may be None for one of our
    safetensors files, which carry their config. checkpoint: an official ``.pt`` file, our
    ``.safetensors``, or None for random weights. dtype: cast the weights (e.g. torch.bfloat16).
    """
    path = Path(checkpoint) if checkpoint is not None else None
    if config is None:
        stored = read_safetensors_config(path) if path is not None and path.suffix == ".safetensors" else None
        if stored is None:
            raise ValueError(
                "config is required unless the checkpoint is a .safetensors file that stores one"
            )
        cfg = stored
    else:
        cfg = _resolve_config(config)
    if path is not None and not path.is_file():
        raise ValueError(f"checkpoint not found: {path}")
    # With a checkpoint, strict loading overwrites every weight: skip the costly random init.
    model = build_sam2(cfg, init_weights=path is None)
    if path is not None:
        load_state_dict_strict(model, _read_state_dict(path), source=str(path))
    model = model.to(device=torch.device(device))
    if dtype is not None:
        model = model.to(dtype=dtype)
    return model.eval()


def save_model(model: SAM2Model, path: str | Path, config: str | SAM2Config | None = None) -> Path:
    """Write the weights as safetensors with the config (name and JSON) in the metadata."""
    cfg = _resolve_config(config) if config is not None else model.config
    tensors = {k: v.detach().to("cpu").contiguous() for k, v in model.state_dict().items()}
    metadata = {"format": "pt", "config_name": cfg.name, "config": config_to_json(cfg)}
    json.loads(metadata["config"])  # fail here, not at load time, if the config is not JSON
    path = Path(path)
    save_file(tensors, str(path), metadata=metadata)
    return path


def shipped_weights(config_name: str) -> Path | None:
    """The weights shipped with the engine for a config (``engine/weights/<name>.safetensors``), if any."""
    path = Path(__file__).resolve().parent / "weights" / f"{config_name}.safetensors"
    return path if path.is_file() else None
