"""Automatic mask generation: segment everything in an image by prompting a grid of points.

    from engine.auto_mask import AutoMaskGenerator
    records = AutoMaskGenerator(model).generate(rgb)   # list of SAM-style records, COCO RLE masks

``generator`` holds the generator; ``geometry`` (grids, crops), ``ops`` (stability, boxes, NMS) and
``regions`` (islands and holes) are the pure parts, exported here for tests and reuse.
"""

from engine.auto_mask.generator import AutoMaskGenerator
from engine.auto_mask.geometry import build_point_grid, generate_crop_boxes
from engine.auto_mask.ops import box_iou, box_nms, masks_to_boxes, near_crop_edge, stability_score
from engine.auto_mask.regions import remove_small_regions

__all__ = [
    "AutoMaskGenerator",
    "box_iou",
    "box_nms",
    "build_point_grid",
    "generate_crop_boxes",
    "masks_to_boxes",
    "near_crop_edge",
    "remove_small_regions",
    "stability_score",
]
