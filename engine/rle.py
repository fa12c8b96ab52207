"""COCO compressed RLE helpers: the one mask format of the platform.

Masks cross every boundary of the system (database rows, exports, the API, SA-V files) as COCO
compressed RLE: ``{"size": [H, W], "counts": str}``, column-major, counts as a *str* so that the
dict is JSON-ready exactly as in SA-V annotation files. An absent object is an all-zero RLE of the
frame's size (SA-V's convention), never ``None``.

pycocotools does the work, but its C decoder trusts its input: a counts string whose runs add up
to more than H*W writes past its buffer. Every RLE that comes from outside is therefore checked
here (:func:`validate`) before it reaches pycocotools, and malformed input raises ``ValueError``.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

import numpy as np
from pycocotools import mask as mask_utils

RLE = dict[str, Any]

__all__ = [
    "RLE",
    "area",
    "area_batch",
    "bbox",
    "decode",
    "decode_batch",
    "empty",
    "encode",
    "encode_batch",
    "iou",
    "iou_matrix",
    "validate",
]


def _check_mask(mask: np.ndarray, ndim: int) -> np.ndarray:
    if not isinstance(mask, np.ndarray):
        raise ValueError(f"mask must be a numpy array, got {type(mask).__name__}")
    if mask.ndim != ndim:
        raise ValueError(f"mask must have {ndim} dimensions, got shape {mask.shape}")
    if mask.dtype != np.bool_:
        raise ValueError(f"mask must be bool, got dtype {mask.dtype} (threshold it first)")
    if mask.shape[-1] == 0 or mask.shape[-2] == 0:
        raise ValueError(f"mask must not be empty in height or width, got shape {mask.shape}")
    return mask


def _as_str(rle: dict) -> RLE:
    counts = rle["counts"]
    if isinstance(counts, bytes):
        counts = counts.decode("ascii")
    return {"size": [int(rle["size"][0]), int(rle["size"][1])], "counts": counts}


def encode(mask: np.ndarray) -> RLE:
    """Encode an (H, W) bool mask as COCO compressed RLE with ``counts`` as str."""
    _check_mask(mask, 2)
    encoded = mask_utils.encode(np.asfortranarray(mask.astype(np.uint8)))
    return _as_str(encoded)


def encode_batch(masks: np.ndarray) -> list[RLE]:
    """Encode (N, H, W) bool masks; one pycocotools call for the whole batch."""
    _check_mask(masks, 3)
    if masks.shape[0] == 0:
        return []
    # pycocotools wants (H, W, N) in Fortran order.
    encoded = mask_utils.encode(np.asfortranarray(masks.transpose(1, 2, 0).astype(np.uint8)))
    return [_as_str(r) for r in encoded]


def empty(h: int, w: int) -> RLE:
    """The all-zero RLE of an (h, w) frame: how SA-V marks an absent object."""
    if int(h) <= 0 or int(w) <= 0:
        raise ValueError(f"size must be positive, got {h}x{w}")
    return encode(np.zeros((int(h), int(w)), dtype=bool))


def _parse_counts(counts: str, total: int) -> list[int]:
    """Check a compressed counts string the way pycocotools' rleFrString reads it.

    Each run is a little-endian base-32 varint of 6-bit chars offset by 48 ('0'..'o'); bit 5 says
    "more chars follow", bit 4 of the last char is the sign; runs after the second are stored as
    a difference to the run two before. The runs must be non-negative and sum to H*W.
    """
    runs: list[int] = []
    x = k = 0
    more = False
    for ch in counts:
        c = ord(ch) - 48
        if not 0 <= c < 64:
            raise ValueError(f"RLE counts contain an invalid character {ch!r}")
        x |= (c & 0x1F) << (5 * k)
        more = bool(c & 0x20)
        k += 1
        if more:
            continue
        if c & 0x10:
            x |= -1 << (5 * k)
        if len(runs) > 2:
            x += runs[-2]
        if x < 0:
            raise ValueError("RLE counts decode to a negative run length")
        runs.append(x)
        x = k = 0
    if more:
        raise ValueError("RLE counts string is truncated (ends inside a run)")
    if sum(runs) != total:
        raise ValueError(f"RLE runs cover {sum(runs)} pixels, the size says {total}")
    return runs


def _checked(rle: Any) -> tuple[RLE, list[int]]:
    """The normalised RLE and its run lengths, or ValueError."""
    if not isinstance(rle, dict) or "size" not in rle or "counts" not in rle:
        raise ValueError("an RLE is a dict with 'size' and 'counts'")
    size = rle["size"]
    if (
        not isinstance(size, list | tuple)
        or len(size) != 2
        or not all(isinstance(v, int | np.integer) or (isinstance(v, float) and v.is_integer()) for v in size)
    ):
        raise ValueError(f"RLE size must be [H, W] integers, got {size!r}")
    h, w = int(size[0]), int(size[1])
    if h <= 0 or w <= 0:
        raise ValueError(f"RLE size must be positive, got {h}x{w}")
    counts = rle["counts"]
    if isinstance(counts, bytes):
        try:
            counts = counts.decode("ascii")
        except UnicodeDecodeError as exc:
            raise ValueError("RLE counts are not ASCII") from exc
    if isinstance(counts, str):
        return {"size": [h, w], "counts": counts}, _parse_counts(counts, h * w)
    if isinstance(counts, list | tuple):
        if not all(isinstance(c, int | np.integer) and c >= 0 for c in counts):
            raise ValueError("uncompressed RLE counts must be non-negative integers")
        runs = [int(c) for c in counts]
        if sum(runs) != h * w:
            raise ValueError(f"RLE runs cover {sum(runs)} pixels, the size says {h * w}")
        return _as_str(mask_utils.frPyObjects({"size": [h, w], "counts": runs}, h, w)), runs
    raise ValueError(f"RLE counts must be a str or a list of ints, got {type(counts).__name__}")


def validate(rle: Any) -> RLE:
    """Return ``rle`` normalised (counts as str) or raise ValueError if it is malformed.

    Accepts compressed counts (str or bytes) and uncompressed counts (a list of ints, as in
    COCO's ``iscrowd`` annotations), which are converted to compressed form.
    """
    return _checked(rle)[0]


def _validate_all(rles: Iterable[Any]) -> list[RLE]:
    return [validate(r) for r in rles]


def _unroll(h: int, w: int, runs: list[int]) -> np.ndarray:
    """Runs (column-major, alternating off/on, off first) -> (H, W) bool."""
    values = np.arange(len(runs)) % 2 == 1
    return np.ascontiguousarray(np.repeat(values, runs).reshape(w, h).T)


def decode(rle: RLE) -> np.ndarray:
    """Decode an RLE to an (H, W) bool mask.

    Decoded here from the runs that validation parsed anyway (pycocotools' decoder adds nothing
    once the input is checked, and warns under NumPy 2).
    """
    checked, runs = _checked(rle)
    h, w = checked["size"]
    return _unroll(h, w, runs)


def decode_batch(rles: Sequence[RLE]) -> np.ndarray:
    """Decode RLEs of one size to an (N, H, W) bool array."""
    checked = [_checked(r) for r in rles]
    if not checked:
        raise ValueError("decode_batch needs at least one RLE (the size is unknown otherwise)")
    sizes = {tuple(r["size"]) for r, _ in checked}
    if len(sizes) != 1:
        raise ValueError(f"decode_batch needs RLEs of one size, got {sorted(sizes)}")
    (h, w), *_ = sizes
    return np.stack([_unroll(h, w, runs) for _, runs in checked])


def area(rle: RLE) -> int:
    """Number of foreground pixels."""
    return int(sum(_checked(rle)[1][1::2]))


def area_batch(rles: Sequence[RLE]) -> np.ndarray:
    """Foreground pixel counts of several RLEs, as an int64 array."""
    checked = _validate_all(rles)
    if not checked:
        return np.zeros(0, dtype=np.int64)
    return np.asarray(mask_utils.area(checked), dtype=np.int64)


def bbox(rle: RLE) -> list[int]:
    """Tight box ``[x, y, w, h]`` in pixels (COCO convention: w = x_max - x_min + 1); zeros if empty."""
    box = mask_utils.toBbox(validate(rle))
    return [int(round(v)) for v in box]


def iou(a: RLE, b: RLE) -> float:
    """Intersection over union of two masks of one size; two empty masks agree (1.0)."""
    a, b = validate(a), validate(b)
    if a["size"] != b["size"]:
        raise ValueError(f"iou needs masks of one size, got {a['size']} and {b['size']}")
    if area(a) == 0 and area(b) == 0:
        return 1.0
    return float(mask_utils.iou([a], [b], [0])[0][0])


def iou_matrix(a: Sequence[RLE], b: Sequence[RLE]) -> np.ndarray:
    """(len(a), len(b)) IoUs; pairs of empty masks score 1.0 as in :func:`iou`."""
    ca, cb = _validate_all(a), _validate_all(b)
    if not ca or not cb:
        return np.zeros((len(ca), len(cb)), dtype=np.float64)
    sizes = {tuple(r["size"]) for r in ca + cb}
    if len(sizes) != 1:
        raise ValueError(f"iou_matrix needs masks of one size, got {sorted(sizes)}")
    out = np.asarray(mask_utils.iou(ca, cb, [0] * len(cb)), dtype=np.float64).reshape(len(ca), len(cb))
    empty_a = np.asarray(mask_utils.area(ca)) == 0
    empty_b = np.asarray(mask_utils.area(cb)) == 0
    out[np.outer(empty_a, empty_b)] = 1.0
    return out
