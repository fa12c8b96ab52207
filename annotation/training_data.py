"""The dataset as the engine's training and evaluation code reads it: accepted masklets over stored frames.

``masklet_videos(masklets)`` groups accepted masklets (``annotation.selectors.reviews.dataset_masklets``)
by video: each video's frames are read from storage and decoded on first use (a few are cached),
and each masklet's current revision is decoded from COCO RLE into a (T, H, W) bool array. The
result serves both ``engine.training.ArrayMaskletDataset`` (training) and the evaluation protocols
(``engine.evaluation.protocols``), which take (frames, {object: masks}) pairs.
"""

from __future__ import annotations

import io
from collections import OrderedDict
from collections.abc import Iterable

import numpy as np

from annotation.models import Masklet
from dataplatform import storage
from dataplatform.models import Video
from engine import rle as rle_ops
from engine.frames import CallableFrames, FrameSource
from engine.training.data import ArrayMaskletDataset

FRAME_CACHE = 64  # decoded frames kept per video (a training clip reads 8)


def _decode_jpeg(data: bytes) -> np.ndarray:
    from PIL import Image

    with Image.open(io.BytesIO(data)) as img:
        return np.asarray(img.convert("RGB"))


def stored_video_frames(video: Video, *, cache: int = FRAME_CACHE) -> FrameSource:
    """The video's annotated frames from storage, decoded lazily; the last ``cache`` frames are kept."""
    kept: OrderedDict[int, np.ndarray] = OrderedDict()

    def load(index: int) -> np.ndarray:
        frame = kept.get(index)
        if frame is None:
            frame = _decode_jpeg(storage.read_bytes(storage.frame_key(video.pk, index)))
            kept[index] = frame
            while len(kept) > cache:
                kept.popitem(last=False)
        else:
            kept.move_to_end(index)
        return frame

    return CallableFrames(load, video.frame_count)


def masklet_array(masklet: Masklet) -> np.ndarray:
    """The current revision's masks as (T, H, W) bool over the video's annotated frames."""
    video = masklet.video
    height, width = int(video.height or 0), int(video.width or 0)
    out = np.zeros((video.frame_count, height, width), dtype=bool)
    for key, rle in (masklet.current_revision.masks or {}).items():
        index = int(key)
        if 0 <= index < video.frame_count:
            mask = rle_ops.decode(rle)
            if mask.shape != (height, width):
                raise ValueError(f"{masklet}: frame {index} has a {mask.shape[1]}x{mask.shape[0]} mask, "
                                 f"the video is {width}x{height}")
            out[index] = mask
    return out


def masklet_videos(masklets: Iterable[Masklet]) -> list[tuple[Video, FrameSource, dict[int, np.ndarray]]]:
    """(video, frames, {object number: (T, H, W) bool}) per video, masklets with any mask only."""
    by_video: dict[int, tuple[Video, dict[int, np.ndarray]]] = {}
    for masklet in masklets:
        masks = masklet_array(masklet)
        if not masks.any():
            continue
        video, objects = by_video.setdefault(masklet.video_id, (masklet.video, {}))
        objects[masklet.object_number] = masks
    return [(video, stored_video_frames(video), objects) for video, objects in by_video.values()]


def masklet_training_dataset(masklets: Iterable[Masklet]) -> ArrayMaskletDataset:
    """``engine.training``'s dataset over accepted masklets (raises ValueError when there are none)."""
    videos = masklet_videos(masklets)
    if not videos:
        raise ValueError("no accepted masklet with a mask to train on")
    return ArrayMaskletDataset([(frames, masks) for _, frames, masks in videos])
