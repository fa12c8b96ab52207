"""Masklet's SAM 2 engine: the model, its predictors and sessions, in PyTorch and NumPy.

A library a researcher can use alone: it never imports Django or Celery.

    import engine
    model = engine.load_model("sam2.1_hiera_t", checkpoint="sam2.1_hiera_tiny.pt")
    predictor = engine.ImagePredictor(model)
    session = engine.VideoSession(model, frames)

Names are resolved lazily so that importing ``engine`` stays cheap for processes (the web
server) that only need the RLE helpers.
"""

from __future__ import annotations

import importlib
from typing import Any

_EXPORTS = {
    "load_model": "engine.checkpoint",
    "save_model": "engine.checkpoint",
    "get_config": "engine.config",
    "SAM2Config": "engine.config",
    "ImagePredictor": "engine.image_predictor",
    "VideoSession": "engine.video_session",
    "AutoMaskGenerator": "engine.auto_mask",
}
_SUBMODULES = {"rle", "synthetic", "evaluation", "config", "checkpoint", "modeling"}

__all__ = sorted([*_EXPORTS, *_SUBMODULES])


def __getattr__(name: str) -> Any:
    if name in _EXPORTS:
        return getattr(importlib.import_module(_EXPORTS[name]), name)
    if name in _SUBMODULES:
        return importlib.import_module(f"engine.{name}")
    raise AttributeError(f"module 'engine' has no attribute {name!r}")
