"""Training data: masklet sources and the sampling of training clips from them.

A ``MaskletDataset`` is anything with ``len`` and ``[i] -> MaskletVideo``: a lazy frame source and
the accepted masklets of one video, ``{obj_id: (T, H, W) bool}``. Two implementations here: one
over ``engine.synthetic`` (rendered on demand from a seed, so a dataset of any size costs no
memory) and one over in-memory arrays (what the platform feeds its accepted masklets through).

``sample_clip`` picks ``num_frames`` frames (consecutive, or with a random stride) and up to
``max_objects`` masklets visible on the clip's first frame (the frame that gets the prompt), as
the reference's uniform VOS sampler does, and turns them into model-sized tensors.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol, runtime_checkable

import numpy as np
import torch
import torch.nn.functional as F
from torch import Tensor

from engine.frames import FrameSource, preprocess_frame
from engine.synthetic import make_video

__all__ = [
    "ArrayMaskletDataset",
    "Clip",
    "ClipConfig",
    "MaskletDataset",
    "MaskletVideo",
    "SyntheticMaskletDataset",
    "sample_clip",
]


@dataclass
class MaskletVideo:
    """One video of a masklet dataset: frames read on demand, masklets as (T, H, W) bool arrays."""

    frames: FrameSource  # T frames, H x W x 3 uint8
    masks: dict[int, np.ndarray]  # obj_id -> (T, H, W) bool
    name: str = ""

    def __post_init__(self) -> None:
        t = len(self.frames)
        for obj_id, m in self.masks.items():
            if m.ndim != 3 or m.shape[0] != t:
                raise ValueError(f"{self.name or 'video'}: masklet {obj_id} has shape {m.shape}, "
                                 f"expected ({t}, H, W)")


@runtime_checkable
class MaskletDataset(Protocol):
    """Videos with their masklets, by index."""

    def __len__(self) -> int: ...

    def __getitem__(self, index: int) -> MaskletVideo: ...


class ArrayMaskletDataset:
    """Videos held in memory: a list of (frames, {obj_id: (T, H, W) bool}) pairs.

    ``frames`` may be a (T, H, W, 3) uint8 array or any FrameSource (e.g. a JPEG folder).
    """

    def __init__(self, videos: Sequence[tuple[FrameSource | np.ndarray, dict[int, np.ndarray]]]) -> None:
        if not videos:
            raise ValueError("a masklet dataset needs at least one video")
        self.videos = [MaskletVideo(frames, {k: np.asarray(m, dtype=bool) for k, m in masks.items()},
                                    name=str(i)) for i, (frames, masks) in enumerate(videos)]

    def __len__(self) -> int:
        return len(self.videos)

    def __getitem__(self, index: int) -> MaskletVideo:
        return self.videos[index]


class SyntheticMaskletDataset:
    """``n_videos`` synthetic videos (``engine.synthetic.make_video``), rendered when first asked for.

    Video i's seed derives from (seed, i), so two datasets with different seeds share no video.
    ``num_frames`` may be a (min, max) range: each video draws its length from it. A few recent
    videos are cached.
    """

    def __init__(self, seed: int, n_videos: int, *, num_frames: int | tuple[int, int] = 32,
                 height: int = 256, width: int = 256, num_objects: int | tuple[int, int] = 3,
                 cache_size: int = 8) -> None:
        if n_videos <= 0:
            raise ValueError(f"n_videos must be positive, got {n_videos}")
        self.seed, self.n_videos = seed, n_videos
        self.num_frames, self.height, self.width, self.num_objects = num_frames, height, width, num_objects
        self.cache_size = cache_size
        self._cache: OrderedDict[int, MaskletVideo] = OrderedDict()

    def __len__(self) -> int:
        return self.n_videos

    def video_seed(self, index: int) -> int:
        return int(np.random.SeedSequence([self.seed, index]).generate_state(1)[0])

    def __getitem__(self, index: int) -> MaskletVideo:
        if not 0 <= index < self.n_videos:
            raise IndexError(f"video {index} out of range [0, {self.n_videos})")
        hit = self._cache.get(index)
        if hit is not None:
            self._cache.move_to_end(index)
            return hit
        seed = self.video_seed(index)
        rng = np.random.default_rng(seed)
        t = _draw(rng, self.num_frames)
        n = _draw(rng, self.num_objects)
        video = make_video(seed, num_frames=t, height=self.height, width=self.width, num_objects=n)
        item = MaskletVideo(list(video.frames), video.masks, name=f"synthetic-{seed}")
        self._cache[index] = item
        while len(self._cache) > self.cache_size:
            self._cache.popitem(last=False)
        return item


def _draw(rng: np.random.Generator, value: int | tuple[int, int]) -> int:
    return int(value) if isinstance(value, int) else int(rng.integers(value[0], value[1] + 1))


@dataclass(frozen=True)
class ClipConfig:
    num_frames: int = 8  # frames per training clip (the recipe's 8)
    max_objects: int = 3  # masklets per clip (the recipe's "up to 3")
    max_stride: int = 1  # frames of the clip are `stride` apart, stride drawn in [1, max_stride]
    hflip_prob: float = 0.5  # random horizontal flip of the whole clip
    reverse_prob: float = 0.0  # play the clip backwards (objects then disappear as well as appear)
    # Object-centred crops: with this probability the clip is a square window around a masklet
    # visible on its first frame, of side U(crop_min, 1) x the frame's shorter side, resized to the
    # model's input; objects then look up to 1 / crop_min times larger (a cheap low-resolution phase
    # sees them at the size the full-resolution model does).
    crop_prob: float = 0.0
    crop_min: float = 0.5


@dataclass
class Clip:
    """A training clip at the model's resolution."""

    images: Tensor  # (T, 3, S, S) float32, normalised as the video predictor does
    masks: Tensor  # (T, N, S, S) bool: N masklets, visible on frame 0
    obj_ids: list[int]
    video: str = ""

    @property
    def num_frames(self) -> int:
        return int(self.images.shape[0])

    @property
    def num_objects(self) -> int:
        return int(self.masks.shape[1])


def sample_clip(dataset: MaskletDataset, rng: np.random.Generator, image_size: int,
                cfg: ClipConfig = ClipConfig(), max_tries: int = 20) -> Clip:
    """A random clip of a random video, with up to ``max_objects`` masklets visible on its first frame."""
    for _ in range(max_tries):
        video = dataset[int(rng.integers(len(dataset)))]
        t_len = len(video.frames)
        stride = int(rng.integers(1, cfg.max_stride + 1))
        while stride > 1 and (cfg.num_frames - 1) * stride >= t_len:
            stride -= 1
        span = (cfg.num_frames - 1) * stride + 1
        if span > t_len or not video.masks:
            continue
        start = int(rng.integers(0, t_len - span + 1))
        idx = list(range(start, start + span, stride))
        if rng.random() < cfg.reverse_prob:
            idx = idx[::-1]
        visible = [k for k, m in video.masks.items() if m[idx[0]].any()]
        if not visible:
            continue
        window = _crop_window(video.masks[visible[int(rng.integers(len(visible)))]][idx[0]], rng, cfg)
        visible = [k for k in visible if video.masks[k][idx[0]][window].any()]
        chosen = sorted(rng.choice(visible, size=min(cfg.max_objects, len(visible)), replace=False).tolist())
        flip = rng.random() < cfg.hflip_prob
        frames = [np.asarray(video.frames[i])[window] for i in idx]
        masks = np.stack([video.masks[k][idx][(slice(None), *window)] for k in chosen], axis=1)  # (T, N, H, W)
        if flip:
            frames = [f[:, ::-1] for f in frames]
            masks = masks[..., ::-1]
        images = torch.stack([preprocess_frame(np.ascontiguousarray(f), image_size) for f in frames])
        return Clip(images, resize_masks(np.ascontiguousarray(masks), image_size), chosen, video.name)
    raise ValueError(f"no clip of {cfg.num_frames} frames with a visible masklet after {max_tries} tries: "
                     "are the videos long enough and annotated?")


def _crop_window(anchor: np.ndarray, rng: np.random.Generator,
                 cfg: ClipConfig) -> tuple[slice, slice]:
    """Rows and columns of the clip: the whole frame, or (``crop_prob``) a square around ``anchor``.

    The window contains the anchor mask's centre, at a random place within the window, so the
    anchor object is visible in the crop.
    """
    h, w = anchor.shape
    if cfg.crop_prob <= 0 or rng.random() >= cfg.crop_prob:
        return slice(0, h), slice(0, w)
    side = int(round(rng.uniform(cfg.crop_min, 1.0) * min(h, w)))
    ys, xs = np.nonzero(anchor)
    cy, cx = int(ys.mean()), int(xs.mean())
    y0 = int(np.clip(cy - rng.integers(side // 4, 3 * side // 4 + 1), 0, h - side))
    x0 = int(np.clip(cx - rng.integers(side // 4, 3 * side // 4 + 1), 0, w - side))
    return slice(y0, y0 + side), slice(x0, x0 + side)


def resize_masks(masks: np.ndarray, size: int) -> Tensor:
    """(..., H, W) bool -> (..., S, S) bool, by area-weighted resampling thresholded at 1/2."""
    t = torch.from_numpy(masks)
    if t.shape[-2:] == (size, size):
        return t.clone()
    lead = t.shape[:-2]
    flat = t.reshape(-1, 1, *t.shape[-2:]).float()
    out = F.interpolate(flat, size=(size, size), mode="bilinear", align_corners=False, antialias=True) >= 0.5
    return out.reshape(*lead, size, size)
