"""A prompt's checks: what a click, box or mask must be before it is recorded as an Interaction.

Every check runs before anything is stored or sent to a worker: a prompt refused here leaves no
row behind, so no stored prompt can fail (or stall) the replay of a session.

The limits on what a client controls are here too, each a setting (defaults in settings.py):
points per prompt (``PROMPT_MAX_POINTS``, 64: SAM takes a handful; a person never reaches it),
the size of a mask prompt's RLE (``PROMPT_MAX_MASK_BYTES``, 1 MiB of counts; its size must be
the frame's) and objects per task (``TASK_MAX_OBJECTS``, 64). A prompt of 100,000 points held
the only worker for minutes, and again on every replay of its session.
"""

from __future__ import annotations

import math
from typing import Any

from django.conf import settings

from annotation.models import Interaction
from dataplatform.errors import ApplicationError
from dataplatform.models import Video
from engine import rle as rle_ops


def _limit_error(message: str, *, field: str, limit: int) -> ApplicationError:
    return ApplicationError(message, {"field": field, "limit": limit}, code="limit_exceeded")


def objects_check_room(*, count: int) -> None:
    """Refuse a new object for a task that already holds ``count`` (the limit: ``TASK_MAX_OBJECTS``)."""
    limit = settings.TASK_MAX_OBJECTS
    if count >= limit:
        raise _limit_error(f"A task holds at most {limit} objects (TASK_MAX_OBJECTS); remove one, or submit "
                           "this task and go on in the next.", field="object_number", limit=limit)


def _check_mask_size(mask: Any) -> None:
    """Refuse a mask prompt's RLE over ``PROMPT_MAX_MASK_BYTES`` before its runs are read (each run
    takes at least one character of compressed counts, so a list of more runs is over it too)."""
    limit = settings.PROMPT_MAX_MASK_BYTES
    counts = mask.get("counts") if isinstance(mask, dict) else None
    if isinstance(counts, str | bytes | list) and len(counts) > limit:
        raise _limit_error(f"mask is larger than the limit for a mask prompt ({limit} bytes of RLE counts, "
                           "PROMPT_MAX_MASK_BYTES).", field="mask", limit=limit)


def _number(value: Any, what: str) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise ApplicationError(f"{what} must be a finite number, got {value!r}.")
    return float(value)


def _check_points(points: Any, labels: Any, width: int, height: int) -> tuple[list, list]:
    points = points or []
    labels = labels or []
    if not isinstance(points, list) or not isinstance(labels, list) or len(points) != len(labels):
        raise ApplicationError("points and labels must be lists of the same length: one label per point.")
    limit = settings.PROMPT_MAX_POINTS
    if len(points) > limit:
        raise _limit_error(f"A prompt has at most {limit} points (PROMPT_MAX_POINTS); this one has {len(points)}.",
                           field="points", limit=limit)
    checked = []
    for point in points:
        if not isinstance(point, list | tuple) or len(point) != 2:
            raise ApplicationError(f"A point is [x, y] in pixels, got {point!r}.")
        x, y = _number(point[0], "A point's x"), _number(point[1], "A point's y")
        if not (0 <= x <= width and 0 <= y <= height):
            raise ApplicationError(f"Point ({x:g}, {y:g}) is outside the frame ({width}×{height}).")
        checked.append([x, y])
    for label in labels:
        if label not in (0, 1) or isinstance(label, bool):
            raise ApplicationError(f"A label is 1 (positive) or 0 (negative), got {label!r}.")
    return checked, [int(v) for v in labels]


def _check_box(box: Any, width: int, height: int) -> list[float]:
    if not isinstance(box, list | tuple) or len(box) != 4:
        raise ApplicationError("box must be [x0, y0, x1, y1] in pixels.")
    x0, y0, x1, y1 = (_number(v, "A box coordinate") for v in box)
    if not (x0 < x1 and y0 < y1):
        raise ApplicationError(f"box must have x0 < x1 and y0 < y1, got {[x0, y0, x1, y1]}.")
    if x0 < 0 or y0 < 0 or x1 > width or y1 > height:
        raise ApplicationError(f"box {[x0, y0, x1, y1]} is outside the frame ({width}×{height}).")
    return [x0, y0, x1, y1]


def prompt_payload(*, kind: str, data: dict, video: Video) -> tuple[str, dict]:
    """The Interaction kind and payload of a checked prompt."""
    w, h = video.width, video.height
    if kind == "click":
        points, labels = _check_points(data.get("points"), data.get("labels"), w, h)
        if not points:
            raise ApplicationError("A click needs at least one point with its label.")
        interaction_kind = Interaction.Kind.CLICK_POSITIVE if labels[-1] == 1 else Interaction.Kind.CLICK_NEGATIVE
        return interaction_kind, {"points": points, "labels": labels}
    if kind == "box":
        if data.get("box") is None:
            raise ApplicationError("A box prompt needs box: [x0, y0, x1, y1].")
        box = _check_box(data.get("box"), w, h)
        points, labels = _check_points(data.get("points"), data.get("labels"), w, h)
        return Interaction.Kind.BOX, {"box": box, "points": points, "labels": labels}
    if kind == "mask":
        _check_mask_size(data.get("mask"))
        try:
            mask = rle_ops.validate(data.get("mask"))
        except ValueError as error:
            raise ApplicationError(f"mask is not a valid COCO RLE: {error}", {"field": "mask"}) from None
        if list(mask["size"]) != [h, w]:
            raise ApplicationError(f"mask is {mask['size'][1]}×{mask['size'][0]}; the frames are {w}×{h}.",
                                   {"field": "mask"})
        return Interaction.Kind.MASK, {"mask": mask}
    raise ApplicationError(f"kind must be click, box or mask, got {kind!r}.")
