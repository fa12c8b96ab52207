"""Masks from SA-V annotation files, for evaluating against SA-V ground truth.

An SA-V file (``sav_XXXXXX_manual.json`` / ``_auto.json``) lists, per annotated frame (every 4th
frame of the video), one COCO RLE per masklet, all-zero when the object is absent.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from engine import rle

__all__ = ["masklets_from_sav"]


def masklets_from_sav(
    data: Mapping[str, Any] | str | Path,
    objects: Sequence[int] | None = None,
    frames: slice | None = None,
) -> dict[int, np.ndarray]:
    """``{masklet_id: (T, H, W) bool}`` over the annotated frames of an SA-V file or its parsed dict.

    ``objects`` picks masklet ids (default: all); ``frames`` slices the annotated frames (a full
    848x480 video of 121 annotated frames is ~50 MB of masks per object).
    """
    if isinstance(data, str | Path):
        data = json.loads(Path(data).read_text())
    try:
        per_frame = data["masklet"]
        ids = [int(i) for i in data.get("masklet_id", range(int(data["masklet_num"])))]
    except (KeyError, TypeError, ValueError) as exc:
        raise ValueError(f"not an SA-V annotation: {exc}") from exc
    if not per_frame:
        raise ValueError("the SA-V annotation has no annotated frames")
    per_frame = per_frame[frames] if frames is not None else per_frame
    wanted = ids if objects is None else [int(o) for o in objects]
    missing = set(wanted) - set(ids)
    if missing:
        raise ValueError(f"masklets {sorted(missing)} are not in the file (it has {ids})")
    out = {}
    for obj in wanted:
        column = ids.index(obj)
        out[obj] = rle.decode_batch([frame[column] for frame in per_frame])
    return out
