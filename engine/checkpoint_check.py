"""Check a checkpoint file before anyone uses it: safe to read, a SAM 2 model, which config, loads strictly.

``checkpoint_check(path, config_name)`` answers the config name the file loads into, or raises
``CheckpointError`` with a message a person can act on: a truncated file, a file that is not a
checkpoint, one that needs code execution to load (a pickle of Python objects: refused, never run),
one that matches no known config, or one that does not match the config given.
The config is inferred, when none is given, from the tensor names and shapes (compared with each
known config built on the ``meta`` device, so no memory is spent), or read from the metadata of
our own safetensors files.
"""

from __future__ import annotations

import pickle
import zipfile
from collections.abc import Mapping
from pathlib import Path

import torch

from engine.checkpoint import load_state_dict_strict, read_safetensors_config
from engine.config import KNOWN_CONFIGS, SAM2Config, get_config
from engine.modeling.sam2 import build_sam2

__all__ = ["CheckpointError", "checkpoint_check", "config_signature", "infer_config"]


class CheckpointError(ValueError):
    """The file cannot be used as a model's weights; the message says why and what to do."""


def config_signature(config: SAM2Config) -> dict[str, tuple[int, ...]]:
    """Tensor name -> shape of a config's model, built on the meta device (no memory, no init)."""
    with torch.device("meta"):
        model = build_sam2(config, init_weights=False)
    return {name: tuple(t.shape) for name, t in model.state_dict().items()}


def _read(path: Path, label: str) -> dict[str, torch.Tensor]:
    size = path.stat().st_size if path.is_file() else 0
    if size == 0:
        raise CheckpointError(f"{label} is empty or missing: nothing to load.")
    if path.suffix == ".safetensors":
        from safetensors.torch import load_file

        try:
            return load_file(str(path), device="cpu")
        except Exception as error:
            raise CheckpointError(
                f"{label} is not a readable safetensors file ({error}); it may be truncated: "
                "copy it again and compare its sha256 with the source's.") from error
    if not zipfile.is_zipfile(path):
        raise CheckpointError(
            f"{label} ({size} bytes) is not a PyTorch checkpoint, or it is truncated (a .pt file is a zip "
            "archive, and this one has no complete archive directory). Download it again and compare its "
            "sha256 with the published one.")
    try:
        payload = torch.load(str(path), map_location="cpu", weights_only=True, mmap=True)
    except pickle.UnpicklingError as error:
        raise CheckpointError(
            f"{label} was refused: loading it would run code (it stores Python objects, not only tensors). "
            "Official SAM 2 checkpoints hold only tensors; use one from a trusted source, or re-save the "
            "weights as {'model': state_dict} or as safetensors.") from error
    except Exception as error:
        raise CheckpointError(
            f"{label} could not be read as a PyTorch checkpoint ({str(error).splitlines()[0][:200]}); "
            "it may be truncated: download it again and compare its sha256.") from error
    if isinstance(payload, Mapping) and isinstance(payload.get("model"), Mapping):
        payload = payload["model"]  # the official layout: {"model": state_dict}
    if isinstance(payload, Mapping) and payload and all(isinstance(v, torch.Tensor) for v in payload.values()):
        return dict(payload)
    raise CheckpointError(
        f"{label} holds no SAM 2 weights: expected {{'model': state_dict}} (Meta's .pt files) or a state dict.")


def infer_config(state: Mapping[str, torch.Tensor]) -> str | None:
    """The known config whose tensor names and shapes are exactly the state dict's, else None."""
    shapes = {name: tuple(t.shape) for name, t in state.items()}
    for name in KNOWN_CONFIGS:
        if config_signature(get_config(name)) == shapes:
            return name
    return None


def checkpoint_check(path: str | Path, config_name: str | None = None, label: str = "") -> str:
    """Read the file safely, find or check its config and load it strictly; answer the config name.
    ``label`` names the file in messages (default: its name here)."""
    path = Path(path)
    label = label or path.name
    state = _read(path, label)
    stored = read_safetensors_config(path) if path.suffix == ".safetensors" else None
    inferred = infer_config(state)
    if config_name:
        if config_name not in KNOWN_CONFIGS:
            raise CheckpointError(f"Unknown config {config_name!r}; known: {', '.join(KNOWN_CONFIGS)}.")
        config = get_config(config_name)
    elif stored is not None:
        config = stored
    elif inferred is not None:
        config = get_config(inferred)
    else:
        raise CheckpointError(
            f"{label} matches none of the known configs ({', '.join(KNOWN_CONFIGS)}): its tensor names or "
            "shapes differ from each. Is it a SAM 2 / SAM 2.1 checkpoint?")
    model = build_sam2(config, init_weights=False)
    try:
        load_state_dict_strict(model, state, source=label)
    except ValueError as error:
        hint = (f" The file matches the {inferred!r} config: register it with that config, or give none."
                if inferred and inferred != config.name else "")
        raise CheckpointError(f"{error}.{hint}") from error
    return config.name
