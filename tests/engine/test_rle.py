"""The RLE helpers: round trips, geometry, malformed input, and the real SA-V file."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from engine import rle

SAV_MANUAL = (
    Path(__file__).resolve().parents[2].parent / "shared" / "data" / "sav_example" / "sav_000001_manual.json"
)


def _random_mask(seed: int, h: int = 37, w: int = 53) -> np.ndarray:
    return np.random.default_rng(seed).random((h, w)) < 0.3


def test_encode_is_json_ready_and_round_trips() -> None:
    mask = _random_mask(0)
    encoded = rle.encode(mask)
    assert encoded["size"] == [37, 53]
    assert isinstance(encoded["counts"], str)
    again = json.loads(json.dumps(encoded))
    np.testing.assert_array_equal(rle.decode(again), mask)


def test_batch_round_trip_matches_single() -> None:
    masks = np.stack([_random_mask(s) for s in range(4)])
    encoded = rle.encode_batch(masks)
    assert encoded == [rle.encode(m) for m in masks]
    np.testing.assert_array_equal(rle.decode_batch(encoded), masks)
    np.testing.assert_array_equal(rle.area_batch(encoded), masks.sum(axis=(1, 2)))
    assert rle.encode_batch(np.zeros((0, 5, 6), dtype=bool)) == []


def test_area_and_bbox_of_a_rectangle() -> None:
    mask = np.zeros((20, 30), dtype=bool)
    mask[3:8, 10:25] = True  # rows 3..7, columns 10..24
    encoded = rle.encode(mask)
    assert rle.area(encoded) == 5 * 15
    assert rle.bbox(encoded) == [10, 3, 15, 5]


def test_empty_is_absent_object() -> None:
    encoded = rle.empty(4, 6)
    assert encoded["size"] == [4, 6]
    assert rle.area(encoded) == 0
    assert rle.bbox(encoded) == [0, 0, 0, 0]
    assert not rle.decode(encoded).any()


def test_iou() -> None:
    a = np.zeros((10, 10), dtype=bool)
    b = np.zeros((10, 10), dtype=bool)
    a[0:4, 0:5] = True  # 20 px
    b[2:4, 0:10] = True  # 20 px, 10 shared
    assert rle.iou(rle.encode(a), rle.encode(b)) == pytest.approx(10 / 30)
    assert rle.iou(rle.encode(a), rle.empty(10, 10)) == 0.0
    assert rle.iou(rle.empty(10, 10), rle.empty(10, 10)) == 1.0
    matrix = rle.iou_matrix(
        [rle.encode(a), rle.empty(10, 10)], [rle.encode(b), rle.encode(a), rle.empty(10, 10)]
    )
    np.testing.assert_allclose(matrix, [[10 / 30, 1.0, 0.0], [0.0, 0.0, 1.0]])
    with pytest.raises(ValueError, match="one size"):
        rle.iou(rle.encode(a), rle.empty(10, 11))


def test_uncompressed_counts_are_accepted() -> None:
    # column-major runs: 2 off, 3 on, 1 off over a 2x3 frame
    mask = rle.decode({"size": [2, 3], "counts": [2, 3, 1]})
    np.testing.assert_array_equal(mask, [[False, True, True], [False, True, False]])


@pytest.mark.parametrize(
    "bad",
    [
        np.zeros((4, 4), dtype=np.uint8),
        np.zeros((2, 4, 4), dtype=bool),
        np.zeros((0, 4), dtype=bool),
        [[True, False]],
    ],
)
def test_encode_rejects_wrong_input(bad: object) -> None:
    with pytest.raises(ValueError):
        rle.encode(bad)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    "bad",
    [
        {"counts": "0"},
        {"size": [4], "counts": "0"},
        {"size": [-1, 4], "counts": "0"},
        {"size": ["a", 4], "counts": "0"},
        {"size": [4, 4], "counts": "\x7f"},  # outside the 6-bit alphabet
        {"size": [4, 4], "counts": "R"},  # ends inside a varint ("more" bit set)
        {"size": [4, 4], "counts": "5"},  # 5 pixels for a 16-pixel frame
        {"size": [2, 2], "counts": "O"},  # one char with the sign bit: a negative run
        {"size": [2, 2], "counts": [1, 1]},
        {"size": [2, 2], "counts": 4},
        "not an rle",
    ],
)
def test_malformed_rle_raises_value_error(bad: object) -> None:
    with pytest.raises(ValueError):
        rle.decode(bad)  # type: ignore[arg-type]
    with pytest.raises(ValueError):
        rle.area(bad)  # type: ignore[arg-type]


def test_counts_longer_than_the_frame_never_reach_pycocotools() -> None:
    good = rle.encode(np.ones((8, 8), dtype=bool))
    with pytest.raises(ValueError, match="cover"):
        rle.decode({"size": [4, 4], "counts": good["counts"]})


@pytest.mark.skipif(not SAV_MANUAL.exists(), reason=f"SA-V example missing: {SAV_MANUAL}")
def test_round_trip_of_a_real_sav_file() -> None:
    data = json.loads(SAV_MANUAL.read_text())
    h, w = int(data["video_height"]), int(data["video_width"])
    frames = data["masklet"]
    assert len(frames) == 121
    seen_absent = False
    for objects in frames[::10]:
        assert len(objects) == data["masklet_num"]
        masks = rle.decode_batch(objects)
        assert masks.shape == (len(objects), h, w)
        # Re-encoding gives back SA-V's exact strings: our encoder writes what SA-V writes.
        assert rle.encode_batch(masks) == objects
        for obj, mask in zip(objects, masks, strict=True):
            assert rle.area(obj) == int(mask.sum())
            seen_absent |= not mask.any()
    # The file's own size statistics agree with our areas over the visible annotated frames.
    for k in range(data["masklet_num"]):
        areas = rle.area_batch([objects[k] for objects in frames])
        assert areas[areas > 0].mean() == pytest.approx(float(data["masklet_size_abs"][k]), rel=1e-6)
