"""How the engine runs on its device: precision (autocast), ``torch.compile``, host offloading.

Three knobs, each parsed from the text a deployment sets (``ENGINE_DTYPE``, ``ENGINE_COMPILE``,
``ENGINE_OFFLOAD_FRAMES`` in the platform) and refused with a message that says what is accepted:

- ``parse_dtype``: float32 (the default), bfloat16 or float16. Weights stay float32; reduced
  precision is CUDA autocast around each step, as SAM 2's own video demo runs (``autocast``).
  The CPU always computes in float32.
- ``parse_compile``: off (the default), on, or max-autotune. ``compile_model`` compiles the two
  parts that carry the work of a tracked frame: the image encoder (fixed shapes: one 1024 px
  frame) and the memory attention (dynamic: its memory grows for the first frames, and with the
  number of objects). The first frames after a model load then take the compilation time.
- ``parse_offload_frames``: the video length from which a session keeps old memories (those
  outside the ``num_maskmem`` window of the propagation front) in host memory; 0 never does.
  Frames are always decoded on the host, one at a time, and only a few frames' features stay on
  the device (``VideoSession.feature_cache_size``).
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable
from typing import Any

import torch

DTYPES = {"float32": None, "fp32": None, "bfloat16": torch.bfloat16, "bf16": torch.bfloat16,
          "float16": torch.float16, "fp16": torch.float16}
COMPILE_MODES = {"off": None, "0": None, "false": None, "no": None,
                 "on": "default", "1": "default", "true": "default", "yes": "default",
                 "max-autotune": "max-autotune"}


def parse_dtype(setting: str | None) -> torch.dtype | None:
    """``ENGINE_DTYPE`` -> the autocast dtype (None: float32)."""
    value = (setting or "float32").strip().lower()
    if value not in DTYPES:
        raise ValueError(f"ENGINE_DTYPE must be float32, bfloat16 or float16 (or fp32, bf16, fp16), got {setting!r}")
    return DTYPES[value]


def parse_compile(setting: str | bool | None) -> str | None:
    """``ENGINE_COMPILE`` -> a ``torch.compile`` mode ("default", "max-autotune") or None (off)."""
    if isinstance(setting, bool):
        return "default" if setting else None
    value = (setting or "off").strip().lower()
    if value not in COMPILE_MODES:
        raise ValueError(f"ENGINE_COMPILE must be off, on or max-autotune, got {setting!r}")
    return COMPILE_MODES[value]


def parse_offload_frames(setting: str | int | None) -> int:
    """``ENGINE_OFFLOAD_FRAMES`` -> a frame count (0: never offload)."""
    try:
        value = int(str(setting).strip()) if setting not in (None, "") else 0
    except ValueError:
        raise ValueError(f"ENGINE_OFFLOAD_FRAMES must be a whole number of frames (0: never), got {setting!r}") from None
    if value < 0:
        raise ValueError(f"ENGINE_OFFLOAD_FRAMES must be >= 0 (0: never), got {value}")
    return value


def autocast(device: torch.device | str, dtype: torch.dtype | None) -> Callable[[], Any]:
    """A context factory: autocast to ``dtype`` on CUDA, else nothing (the CPU runs float32)."""
    if dtype is None or torch.device(device).type != "cuda":
        return contextlib.nullcontext
    return lambda: torch.autocast("cuda", dtype=dtype)


def compile_model(model: Any, mode: str | None, backend: str = "inductor") -> Any:
    """Compile the image encoder and the memory attention of a SAM2Model in place (mode None: no-op).

    Only the bound methods are replaced, so the module tree, its state dict and checkpoints are
    unchanged. ``backend`` is for tests ("eager" checks the wiring without a compiler).
    """
    if mode is None or getattr(model, "compile_mode", None) is not None:
        return model
    options: dict[str, Any] = {"backend": backend}
    if backend == "inductor":
        options["mode"] = mode
    encoder, attention = model.image_encoder, model.memory_attention
    encoder.forward = torch.compile(encoder.forward, dynamic=False, fullgraph=False, **options)
    attention.forward_shared_frame = torch.compile(attention.forward_shared_frame, dynamic=True, **options)
    attention.forward = torch.compile(attention.forward, dynamic=True, **options)
    model.compile_mode = mode
    return model
