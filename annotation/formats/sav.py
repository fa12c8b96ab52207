"""SA-V annotation files (``<video>_manual.json`` and ``<video>_auto.json``): write and read.

One file per video and masklet type, with exactly SA-V's 20 keys:

- video fields: ``video_id``, ``video_duration`` (s), ``video_frame_count`` (source frames),
  ``video_height``, ``video_width``, ``video_resolution`` (H·W), ``video_environment``,
  ``video_split``; the numbers are floats;
- ``masklet``: a list over annotated frames of lists over objects of COCO RLE; an absent object is
  an all-zero RLE;
- per-masklet lists, computed from the masks (:func:`masklet_stats`): ``masklet_size_abs`` (mean
  area over the annotated frames where it is visible), ``masklet_size_rel`` (abs / resolution),
  ``masklet_size_bucket`` (small < 32² ≤ medium < 96² ≤ large, on size_abs),
  ``masklet_visibility_changes`` (visible↔absent switches after its first appearance),
  ``masklet_first_appeared_frame`` (annotated-frame units), ``masklet_frame_count`` (annotated
  frames); and carried: ``masklet_id`` (the masklet's position in the file, as in SA-V),
  ``masklet_edited_frame_count`` (0 for auto), ``masklet_type``, ``masklet_stability_score``
  (``[null] * n`` for manual files, frames × objects for auto files), ``masklet_num``.

The two released kinds of file differ in number formatting, and we write each the way SA-V does
so that a round trip is exact: manual files round the float statistics to 10 decimals and write
``first_appeared_frame`` as a float; auto files keep full precision and write it as an int.
A masklet that is never visible has size 0.0, bucket "small", no changes and a first appearance of
``null`` (SA-V has none such; the value says "never").
"""

from __future__ import annotations

import json
import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from annotation.formats import FormatError
from engine import rle as rle_ops

MANUAL = "manual"
AUTO = "auto"
TYPES = (MANUAL, AUTO)

VIDEO_KEYS = ("video_id", "video_duration", "video_frame_count", "video_height", "video_width",
              "video_resolution", "video_environment", "video_split")
MASKLET_KEYS = ("masklet_id", "masklet_size_rel", "masklet_size_abs", "masklet_size_bucket",
                "masklet_visibility_changes", "masklet_first_appeared_frame", "masklet_frame_count",
                "masklet_edited_frame_count", "masklet_type", "masklet_stability_score")
KEYS = (*VIDEO_KEYS, "masklet", *MASKLET_KEYS, "masklet_num")

SMALL_MAX_AREA = 32 * 32  # area < 32² : small
MEDIUM_MAX_AREA = 96 * 96  # 32² ≤ area < 96² : medium; else large
MANUAL_DECIMALS = 10  # SA-V's manual files round their float statistics to 10 decimals


@dataclass(frozen=True)
class SavVideo:
    """The video fields of an SA-V file."""

    video_id: str
    height: int
    width: int
    duration: float
    frame_count: int  # frames of the source video (24 fps in SA-V), not annotated frames
    environment: str = ""
    split: str = ""


@dataclass
class SavMasklet:
    """One masklet: its RLE mask on every annotated frame, and what cannot be computed from them."""

    masks: list[dict]
    type: str = MANUAL
    edited_frame_count: int = 0
    stability_scores: list[float | None] | None = None  # per annotated frame; auto masklets
    masklet_id: int | None = None  # as read from a file


@dataclass
class SavFile:
    video: SavVideo
    masklets: list[SavMasklet] = field(default_factory=list)
    annotated_frame_count: int = 0


def size_bucket(size_abs: float) -> str:
    if size_abs < SMALL_MAX_AREA:
        return "small"
    if size_abs < MEDIUM_MAX_AREA:
        return "medium"
    return "large"


def masklet_stats(areas: Sequence[int], resolution: float) -> dict[str, Any]:
    """SA-V's per-masklet statistics from the mask area on each annotated frame (full precision)."""
    visible = [a > 0 for a in areas]
    shown = [a for a in areas if a > 0]
    size_abs = float(sum(shown) / len(shown)) if shown else 0.0
    first = visible.index(True) if shown else None
    changes = 0
    if first is not None:
        changes = sum(1 for a, b in zip(visible[first:], visible[first + 1:], strict=False) if a != b)
    return {
        "size_abs": size_abs,
        "size_rel": size_abs / resolution if resolution else 0.0,
        "size_bucket": size_bucket(size_abs),
        "visibility_changes": changes,
        "first_appeared_frame": first,
        "frame_count": len(areas),
    }


def sav_build(*, video: SavVideo, masklet_type: str, masklets: Sequence[SavMasklet],
              annotated_frame_count: int) -> dict[str, Any]:
    """The SA-V document of one video for one masklet type (``manual`` or ``auto``)."""
    if masklet_type not in TYPES:
        raise ValueError(f"masklet_type must be one of {TYPES}, got {masklet_type!r}")
    frames = annotated_frame_count
    resolution = float(video.height * video.width)
    manual = masklet_type == MANUAL

    def number(value: float) -> float:
        return round(value, MANUAL_DECIMALS) if manual else value

    columns: dict[str, list] = {key: [] for key in MASKLET_KEYS}
    for position, masklet in enumerate(masklets):
        if len(masklet.masks) != frames:
            raise ValueError(f"masklet {position} has {len(masklet.masks)} masks, the video {frames} annotated frames")
        stats = masklet_stats(rle_ops.area_batch(masklet.masks).tolist() if frames else [], resolution)
        first = stats["first_appeared_frame"]
        columns["masklet_id"].append(position)
        columns["masklet_size_rel"].append(number(stats["size_rel"]))
        columns["masklet_size_abs"].append(number(stats["size_abs"]))
        columns["masklet_size_bucket"].append(stats["size_bucket"])
        columns["masklet_visibility_changes"].append(stats["visibility_changes"])
        columns["masklet_first_appeared_frame"].append(None if first is None else (float(first) if manual else first))
        columns["masklet_frame_count"].append(stats["frame_count"])
        columns["masklet_edited_frame_count"].append(int(masklet.edited_frame_count) if manual else 0)
        columns["masklet_type"].append(masklet_type)
    if manual:
        columns["masklet_stability_score"] = [None] * len(masklets)
    else:
        columns["masklet_stability_score"] = [
            [_score(m.stability_scores, f) for m in masklets] for f in range(frames)
        ]
    doc: dict[str, Any] = {
        "video_id": video.video_id,
        "video_duration": float(video.duration),
        "video_frame_count": float(video.frame_count),
        "video_height": float(video.height),
        "video_width": float(video.width),
        "video_resolution": resolution,
        "video_environment": video.environment,
        "video_split": video.split,
        "masklet": [[m.masks[f] for m in masklets] for f in range(frames)],
    }
    for key in MASKLET_KEYS:
        doc[key] = columns[key]
    doc["masklet_num"] = len(masklets)
    return doc


def _score(scores: Sequence[float | None] | None, frame: int) -> float | None:
    if scores is None or frame >= len(scores) or scores[frame] is None:
        return None
    return float(scores[frame])


def sav_dumps(doc: dict[str, Any]) -> bytes:
    return json.dumps(doc, separators=(", ", ": ")).encode()


# ---- Reading ---------------------------------------------------------------------------------------


def _number(doc: dict, key: str) -> float:
    value = doc[key]
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise FormatError(f"SA-V file: {key} must be a number, got {value!r}.")
    return float(value)


def _whole(doc: dict, key: str) -> int:
    value = _number(doc, key)
    if not value.is_integer() or value <= 0:
        raise FormatError(f"SA-V file: {key} must be a positive whole number, got {doc[key]!r}.")
    return int(value)


def _column(doc: dict, key: str, n: int) -> list:
    value = doc[key]
    if not isinstance(value, list) or len(value) != n:
        raise FormatError(f"SA-V file: {key} must be a list of masklet_num ({n}) values.")
    return value


def sav_parse(data: bytes | str | dict) -> SavFile:
    """Read an SA-V annotation file; every mask is validated. Raises FormatError."""
    if isinstance(data, dict):
        doc = data
    else:
        try:
            doc = json.loads(data)
        except (UnicodeDecodeError, json.JSONDecodeError) as error:
            raise FormatError(f"SA-V file: not valid JSON ({error}).") from None
    if not isinstance(doc, dict):
        raise FormatError("SA-V file: the top level must be a JSON object with the 20 SA-V keys.")
    missing = [key for key in KEYS if key not in doc]
    if missing:
        raise FormatError(f"SA-V file: missing keys: {', '.join(missing)}.")
    height, width = _whole(doc, "video_height"), _whole(doc, "video_width")
    video_id = doc["video_id"]
    if not isinstance(video_id, str) or not video_id:
        raise FormatError("SA-V file: video_id must be a non-empty string.")
    video = SavVideo(
        video_id=video_id, height=height, width=width, duration=_number(doc, "video_duration"),
        frame_count=_whole(doc, "video_frame_count"),
        environment=str(doc["video_environment"] or ""), split=str(doc["video_split"] or ""),
    )
    n = doc["masklet_num"]
    if isinstance(n, bool) or not isinstance(n, int | float) or not float(n).is_integer() or n < 0:
        raise FormatError(f"SA-V file: masklet_num must be a whole number ≥ 0, got {n!r}.")
    n = int(n)
    frames = doc["masklet"]
    if not isinstance(frames, list) or not frames:
        raise FormatError("SA-V file: masklet must be a non-empty list over annotated frames.")
    masks: list[list[dict]] = [[] for _ in range(n)]
    for f, objects in enumerate(frames):
        if not isinstance(objects, list) or len(objects) != n:
            raise FormatError(f"SA-V file: masklet[{f}] must be a list of masklet_num ({n}) RLE masks.")
        for o, value in enumerate(objects):
            try:
                rle = rle_ops.validate(value)
            except ValueError as error:
                raise FormatError(f"SA-V file: masklet[{f}][{o}] is not a valid COCO RLE: {error}.") from None
            if rle["size"] != [height, width]:
                raise FormatError(f"SA-V file: masklet[{f}][{o}] is {rle['size'][1]}×{rle['size'][0]}, "
                                  f"but the video is {width}×{height} (video_width×video_height).")
            masks[o].append(rle)
    ids = _column(doc, "masklet_id", n)
    types = _column(doc, "masklet_type", n)
    edited = _column(doc, "masklet_edited_frame_count", n)
    for o in range(n):
        if types[o] not in TYPES:
            raise FormatError(f"SA-V file: masklet_type[{o}] must be 'manual' or 'auto', got {types[o]!r}.")
        if isinstance(edited[o], bool) or not isinstance(edited[o], int | float) or edited[o] < 0:
            raise FormatError(f"SA-V file: masklet_edited_frame_count[{o}] must be a count, got {edited[o]!r}.")
    scores = _stability(doc["masklet_stability_score"], n, len(frames))
    masklets = [
        SavMasklet(masks=masks[o], type=types[o], edited_frame_count=int(edited[o]),
                   stability_scores=scores[o], masklet_id=ids[o])
        for o in range(n)
    ]
    return SavFile(video=video, masklets=masklets, annotated_frame_count=len(frames))


def _stability(value: Any, n: int, frames: int) -> list[list[float | None] | None]:
    """Per-masklet stability scores: ``[null]*n`` (manual) → None each; frames × objects (auto)."""
    if not isinstance(value, list):
        raise FormatError("SA-V file: masklet_stability_score must be a list.")
    if len(value) == frames and all(isinstance(row, list) for row in value) and frames:
        per_masklet: list[list[float | None] | None] = [[] for _ in range(n)]
        for f, row in enumerate(value):
            if len(row) != n:
                raise FormatError(f"SA-V file: masklet_stability_score[{f}] must have masklet_num ({n}) scores.")
            for o, score in enumerate(row):
                if score is not None and (isinstance(score, bool) or not isinstance(score, int | float)):
                    raise FormatError(f"SA-V file: masklet_stability_score[{f}][{o}] must be a number or null.")
                per_masklet[o].append(None if score is None else float(score))  # type: ignore[union-attr]
        return per_masklet
    if len(value) == n and all(v is None for v in value):
        return [None] * n
    raise FormatError("SA-V file: masklet_stability_score must be [null] × masklet_num (manual) "
                      "or a list over annotated frames of masklet_num scores (auto).")
