"""Frame sources for video sessions, and the frame preprocessing of the video predictor.

A session reads frames by index, one at a time, so a long video never sits in memory whole:

- a sequence of H x W x 3 uint8 arrays (a list, or anything indexable with a length);
- ``JpegFolderFrames``: a folder of JPEGs named by frame index (``00000.jpg`` ...), decoded on demand;
- ``CallableFrames``: any ``load(index) -> array`` function with a known frame count.

All of them satisfy the ``FrameSource`` protocol (``len`` and ``[index]``).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Protocol, runtime_checkable

import numpy as np
import torch

IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)
JPEG_SUFFIXES = (".jpg", ".jpeg", ".JPG", ".JPEG")


@runtime_checkable
class FrameSource(Protocol):
    """Random access to the frames of a video: H x W x 3 uint8 arrays, all of one size."""

    def __len__(self) -> int: ...

    def __getitem__(self, index: int) -> np.ndarray: ...


class CallableFrames:
    """Frames produced by ``load(index)`` on demand (decode from storage, a video file, ...)."""

    def __init__(self, load: Callable[[int], np.ndarray], num_frames: int) -> None:
        if num_frames <= 0:
            raise ValueError(f"a video needs at least one frame, got num_frames={num_frames}")
        self._load = load
        self._num_frames = num_frames

    def __len__(self) -> int:
        return self._num_frames

    def __getitem__(self, index: int) -> np.ndarray:
        if not 0 <= index < self._num_frames:
            raise IndexError(f"frame {index} out of range [0, {self._num_frames})")
        return self._load(index)


class JpegFolderFrames:
    """A folder of JPEGs named by their frame index (``00000.jpg``, ``1.jpeg`` ...), decoded lazily."""

    def __init__(self, folder: str | Path) -> None:
        folder = Path(folder)
        if not folder.is_dir():
            raise ValueError(f"{folder} is not a folder")
        paths = [p for p in folder.iterdir() if p.suffix in JPEG_SUFFIXES]
        try:
            paths.sort(key=lambda p: int(p.stem))
        except ValueError as exc:
            raise ValueError(f"JPEG names in {folder} must be frame indices like 00000.jpg") from exc
        if not paths:
            raise ValueError(f"no JPEG frames in {folder}")
        self.paths = paths

    def __len__(self) -> int:
        return len(self.paths)

    def __getitem__(self, index: int) -> np.ndarray:
        from PIL import Image  # decoding needs Pillow; the rest of the engine does not

        with Image.open(self.paths[index]) as img:
            return np.asarray(img.convert("RGB"))


def as_frame_source(frames: FrameSource | Sequence[np.ndarray] | str | Path) -> FrameSource:
    """Accept a FrameSource, a sequence of arrays, or a JPEG folder path."""
    if isinstance(frames, str | Path):
        return JpegFolderFrames(frames)
    if not hasattr(frames, "__len__") or not hasattr(frames, "__getitem__"):
        raise ValueError("frames must be a sequence of HxWx3 uint8 arrays, a FrameSource or a JPEG folder")
    if len(frames) == 0:
        raise ValueError("a video needs at least one frame")
    return frames


def check_frame(frame: np.ndarray, index: int) -> np.ndarray:
    frame = np.asarray(frame)
    if frame.dtype != np.uint8 or frame.ndim != 3 or frame.shape[2] != 3:
        raise ValueError(f"frame {index} must be an HxWx3 uint8 array, got {frame.dtype} {frame.shape}")
    return frame


def preprocess_frame(frame: np.ndarray, image_size: int) -> torch.Tensor:
    """H x W x 3 uint8 -> (3, S, S) float32 normalised, as the reference video predictor does.

    Resized with Pillow's default filter (bicubic) on the uint8 image, then scaled to [0, 1] in
    float64, cast to float32 and normalised with the ImageNet mean/std: the same steps in the same
    precision, so the model sees the same input as the reference on the same frames.
    """
    from PIL import Image

    resized = np.asarray(Image.fromarray(frame).resize((image_size, image_size)))
    img = torch.from_numpy(resized / 255.0).permute(2, 0, 1).to(torch.float32)
    mean = torch.tensor(IMAGENET_MEAN, dtype=torch.float32)[:, None, None]
    std = torch.tensor(IMAGENET_STD, dtype=torch.float32)[:, None, None]
    return (img - mean) / std
