"""COCO instance segmentation with RLE masks, for videos.

One ``images`` entry per annotated frame of each video; one ``annotations`` entry per visible
object on a frame (an absent object has no annotation), with COCO's fields (``segmentation`` as
compressed RLE, ``area``, ``bbox`` XYWH, ``iscrowd`` 0, ``category_id``) and the video ones:
``video_id``, ``track_id`` (one per (video, object) across the whole file), ``object_number``
(the object's number in its video on the platform) and ``masklet_type``. ``categories`` are the
labels (id and name; one "object" category when none are given), each annotation's
``category_id`` its object's. A ``videos`` list (as in YouTube-VIS) names the videos.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from annotation.formats import FormatError
from engine import rle as rle_ops

CATEGORY = {"id": 1, "name": "object", "supercategory": "object"}


@dataclass
class CocoMasklet:
    object_number: int
    masks: list[dict]  # one RLE per annotated frame
    type: str = "manual"
    category_id: int = CATEGORY["id"]


@dataclass
class CocoVideo:
    video_id: int
    name: str
    height: int
    width: int
    frame_names: list[str]  # one file name per annotated frame, e.g. "<video>/00000.jpg"
    masklets: list[CocoMasklet] = field(default_factory=list)


class CocoBuilder:
    """Accumulates videos one at a time (so that an export holds one video's masks at once)."""

    def __init__(self, *, description: str = "", categories: Sequence[dict] | None = None) -> None:
        self.doc: dict[str, Any] = {
            "info": {"description": description or "Masklet export"},
            "licenses": [],
            "categories": [dict(c) for c in categories] if categories else [dict(CATEGORY)],
            "videos": [],
            "images": [],
            "annotations": [],
        }
        self._next_track = 1

    def add_video(self, video: CocoVideo) -> None:
        frames = len(video.frame_names)
        self.doc["videos"].append({"id": video.video_id, "name": video.name, "width": video.width,
                                   "height": video.height, "length": frames,
                                   "file_names": list(video.frame_names)})
        image_ids = []
        for index, file_name in enumerate(video.frame_names):
            image_id = len(self.doc["images"]) + 1
            image_ids.append(image_id)
            self.doc["images"].append({"id": image_id, "video_id": video.video_id, "frame_index": index,
                                       "file_name": file_name, "width": video.width, "height": video.height})
        for masklet in video.masklets:
            if len(masklet.masks) != frames:
                raise ValueError(f"object {masklet.object_number} has {len(masklet.masks)} masks "
                                 f"for {frames} frames")
            track_id = self._next_track
            self._next_track += 1
            areas = rle_ops.area_batch(masklet.masks)
            for index, (rle, area) in enumerate(zip(masklet.masks, areas.tolist(), strict=True)):
                if area == 0:
                    continue
                self.doc["annotations"].append({
                    "id": len(self.doc["annotations"]) + 1, "image_id": image_ids[index],
                    "video_id": video.video_id, "track_id": track_id, "object_number": masklet.object_number,
                    "masklet_type": masklet.type, "category_id": masklet.category_id, "segmentation": rle,
                    "area": int(area), "bbox": rle_ops.bbox(rle), "iscrowd": 0,
                })


def coco_build(videos: Sequence[CocoVideo], *, description: str = "") -> dict[str, Any]:
    builder = CocoBuilder(description=description)
    for video in videos:
        builder.add_video(video)
    return builder.doc


def coco_tracks(doc: dict[str, Any]) -> dict[tuple[int, int], dict[int, dict]]:
    """Masks by (video_id, track_id) → {frame_index: RLE}, from a document :func:`coco_build` wrote."""
    try:
        images = {image["id"]: image for image in doc["images"]}
        tracks: dict[tuple[int, int], dict[int, dict]] = {}
        for ann in doc["annotations"]:
            image = images[ann["image_id"]]
            rle = rle_ops.validate(ann["segmentation"])
            tracks.setdefault((ann["video_id"], ann["track_id"]), {})[image["frame_index"]] = rle
    except (KeyError, TypeError, ValueError) as error:
        raise FormatError(f"COCO file: malformed ({error!r}).") from None
    return tracks
