"""COCO export: one image per annotated frame, one annotation per visible object, tracks per video."""

from __future__ import annotations

import numpy as np
from pycocotools import mask as mask_utils

from annotation.formats import coco
from engine import rle as rle_ops


def _video(video_id: int, frames: int = 3) -> coco.CocoVideo:
    rng = np.random.default_rng(video_id)
    masklets = []
    for obj in range(2):
        masks = [rng.random((10, 12)) < 0.3 for _ in range(frames)]
        masks[1][:] = obj == 0  # object 1 absent on frame 1, object 0 covers it
        masklets.append(coco.CocoMasklet(object_number=obj + 4, masks=[rle_ops.encode(m) for m in masks],
                                         type="manual" if obj == 0 else "auto"))
    return coco.CocoVideo(video_id=video_id, name=f"v{video_id}", height=10, width=12,
                          frame_names=[f"v{video_id}/{i:05d}.jpg" for i in range(frames)], masklets=masklets)


def test_images_annotations_and_tracks() -> None:
    a, b = _video(1), _video(2)
    doc = coco.coco_build([a, b])
    assert doc["categories"] == [{"id": 1, "name": "object", "supercategory": "object"}]
    assert [v["id"] for v in doc["videos"]] == [1, 2]
    assert len(doc["images"]) == 6
    assert [i["id"] for i in doc["images"]] == [1, 2, 3, 4, 5, 6]
    assert doc["images"][4] == {"id": 5, "video_id": 2, "frame_index": 1, "file_name": "v2/00001.jpg",
                                "width": 12, "height": 10}
    # 2 objects × 3 frames × 2 videos, minus object 1's absent frame in each video.
    assert len(doc["annotations"]) == 10
    tracks = {(ann["video_id"], ann["object_number"]): ann["track_id"] for ann in doc["annotations"]}
    assert tracks == {(1, 4): 1, (1, 5): 2, (2, 4): 3, (2, 5): 4}
    ann = doc["annotations"][0]
    assert ann["area"] == int(mask_utils.area(ann["segmentation"]))
    assert ann["bbox"] == rle_ops.bbox(ann["segmentation"]) and ann["iscrowd"] == 0
    assert {a["masklet_type"] for a in doc["annotations"] if a["object_number"] == 5} == {"auto"}


def test_tracks_read_back_equal_the_masks() -> None:
    video = _video(7)
    tracks = coco.coco_tracks(coco.coco_build([video]))
    for track_id, masklet in enumerate(video.masklets, start=1):
        got = tracks[(7, track_id)]
        for index, rle in enumerate(masklet.masks):
            if rle_ops.area(rle) == 0:
                assert index not in got
            else:
                np.testing.assert_array_equal(rle_ops.decode(got[index]), rle_ops.decode(rle))


def test_pycocotools_reads_the_document() -> None:
    from pycocotools.coco import COCO

    api = COCO()
    api.dataset = coco.coco_build([_video(3)])
    api.createIndex()
    assert len(api.getImgIds()) == 3
    ann = api.loadAnns(api.getAnnIds(imgIds=[1]))[0]
    assert api.annToMask(ann).shape == (10, 12)
