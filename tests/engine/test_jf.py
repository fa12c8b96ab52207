"""J&F on crafted cases whose answers are worked out by hand (or by brute force where noted)."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest

from engine.evaluation import (
    aggregate,
    boundary_f,
    boundary_map,
    boundary_tolerance,
    dilate,
    disk,
    evaluate_video,
    masklets_from_sav,
)

H = W = 64  # tolerance ceil(0.008 * 90.5) = 1 pixel


def square(t: int, y: int, x: int, size: int = 10, h: int = H, w: int = W) -> np.ndarray:
    """(t, h, w) masks with the same square on every frame."""
    masks = np.zeros((t, h, w), dtype=bool)
    masks[:, y : y + size, x : x + size] = True
    return masks


def test_tolerance_is_a_fraction_of_the_diagonal() -> None:
    assert boundary_tolerance(64, 64) == 1
    assert boundary_tolerance(256, 256) == 3  # 0.008 * 362.04 = 2.90
    assert boundary_tolerance(848, 480) == 8  # SA-V's sav_000001: 0.008 * 974.4 = 7.80
    assert boundary_tolerance(1080, 1920) == 18


def test_boundary_map_follows_the_east_south_southeast_rule() -> None:
    single = np.zeros((3, 3), dtype=bool)
    single[1, 1] = True
    # (0,0) differs from its SE neighbour, (0,1) from S, (1,0) from E, (1,1) from all three;
    # the last row and column compare along the border only, the corner never counts.
    np.testing.assert_array_equal(boundary_map(single), [[1, 1, 0], [1, 1, 0], [0, 0, 0]])
    # a mask filling the frame has no boundary: the frame edge is not one
    assert not boundary_map(np.ones((4, 5), dtype=bool)).any()
    right = np.zeros((3, 4), dtype=bool)
    right[:, 2:] = True  # touches the right edge: only the left side is a boundary
    np.testing.assert_array_equal(boundary_map(right), [[0, 1, 0, 0]] * 3)


def test_disk_is_skimage_disk() -> None:
    np.testing.assert_array_equal(disk(1), [[0, 1, 0], [1, 1, 1], [0, 1, 0]])
    assert disk(3).sum() == 29  # lattice points with x^2 + y^2 <= 9


@pytest.mark.parametrize("radius", [1, 3, 8])
def test_dilation_equals_the_brute_force_disk_maximum(radius: int) -> None:
    rng = np.random.default_rng(radius)
    maps = rng.random((3, 29, 41)) < 0.02
    expected = np.zeros_like(maps)
    kernel = disk(radius)
    for dy, dx in np.argwhere(kernel) - radius:
        shifted = np.zeros_like(maps)
        ys, yd = slice(max(dy, 0), 29 + min(dy, 0)), slice(max(-dy, 0), 29 - max(dy, 0))
        xs, xd = slice(max(dx, 0), 41 + min(dx, 0)), slice(max(-dx, 0), 41 - max(dx, 0))
        shifted[:, yd, xd] = maps[:, ys, xs]
        expected |= shifted
    np.testing.assert_array_equal(dilate(maps, radius), expected)


def test_boundary_f_matches_a_distance_formulation() -> None:
    """Precision = share of predicted boundary pixels within Euclidean distance r of a GT one."""
    rng = np.random.default_rng(0)
    gt = np.zeros((1, 48, 48), dtype=bool)
    pred = np.zeros((1, 48, 48), dtype=bool)
    gt[0, 10:30, 8:35] = True
    pred[0, 13:33, 10:31] = True
    pred[0, rng.integers(0, 48, 20), rng.integers(0, 48, 20)] = True
    r = boundary_tolerance(48, 48)
    gb, pb = np.argwhere(boundary_map(gt[0])), np.argwhere(boundary_map(pred[0]))
    dist = np.sqrt(((pb[:, None, :] - gb[None, :, :]) ** 2).sum(-1))
    p, rc = np.mean(dist.min(axis=1) <= r), np.mean(dist.min(axis=0) <= r)
    assert boundary_f(gt, pred)[0] == pytest.approx(2 * p * rc / (p + rc))
    assert 0 < boundary_f(gt, pred)[0] < 1


def test_identical_masks_score_100() -> None:
    gt = {1: square(5, 10, 10), 2: square(5, 30, 40, size=7)}
    scores = evaluate_video(gt, {k: v.copy() for k, v in gt.items()})
    assert scores.j == {1: 100.0, 2: 100.0}
    assert scores.f == {1: 100.0, 2: 100.0}


def test_disjoint_masks_score_0() -> None:
    scores = evaluate_video({1: square(5, 0, 0)}, {1: square(5, 40, 40)})
    assert scores.j == {1: 0.0}
    assert scores.f == {1: 0.0}  # boundaries 40 px apart, tolerance 1 px


def test_one_pixel_shift_keeps_f_but_costs_j() -> None:
    scores = evaluate_video({1: square(4, 10, 10)}, {1: square(4, 10, 11)})
    assert scores.f[1] == pytest.approx(100.0)
    assert scores.j[1] == pytest.approx(100 * 90 / 110)  # 10x10 squares overlapping on 9 columns


def test_two_pixel_shift_exceeds_the_tolerance() -> None:
    scores = evaluate_video({1: square(4, 10, 10)}, {1: square(4, 10, 12)})
    assert scores.j[1] == pytest.approx(100 * 80 / 120)
    assert scores.f[1] < 100.0


def test_frames_where_both_are_empty_count_as_perfect_once_the_object_appeared() -> None:
    gt = square(5, 10, 10)
    gt[3] = False  # the object is hidden on frame 3 ...
    pred = gt.copy()  # ... and the tracker agrees
    assert evaluate_video({1: gt}, {1: pred}, skip_first_and_last=False).j == {1: 100.0}
    pred[3, 20:25, 20:25] = True  # a false positive while it is hidden: J = F = 0 on that frame
    scores = evaluate_video({1: gt}, {1: pred}, skip_first_and_last=False)
    assert scores.j[1] == pytest.approx(80.0)
    assert scores.f[1] == pytest.approx(80.0)


def test_an_object_counts_from_its_first_appearance() -> None:
    gt = square(5, 10, 10)
    gt[:2] = False  # appears on frame 2
    pred = gt.copy()
    pred[4] = False  # lost on the last frame
    scores = evaluate_video({1: gt}, {1: pred}, skip_first_and_last=False)
    # frames 0 and 1 (both empty, before the appearance) do not count: mean(1, 1, 0), not mean(1, 1, 1, 1, 0)
    assert scores.j[1] == pytest.approx(100 * 2 / 3)
    assert scores.objects[1].first_frame == 2
    assert scores.objects[1].num_frames == 3
    early = gt.copy()
    early[1, 40:45, 40:45] = True  # a prediction that shows up one frame early is counted from there
    scores = evaluate_video({1: gt}, {1: early}, skip_first_and_last=False)
    assert scores.j[1] == pytest.approx(100 * 3 / 4)
    assert scores.objects[1].first_frame == 1


def test_first_and_last_frames_are_skipped_by_default() -> None:
    gt = square(6, 10, 10)
    pred = gt.copy()
    pred[0] = False
    pred[5] = False
    assert evaluate_video({1: gt}, {1: pred}).j == {1: 100.0}
    assert evaluate_video({1: gt}, {1: pred}, skip_first_and_last=False).j[1] == pytest.approx(100 * 4 / 6)


def test_only_objects_of_the_ground_truth_on_evaluated_frames_are_reported() -> None:
    only_first = square(5, 10, 10)
    only_first[1:] = False  # in the GT on the skipped first frame only
    gt = {1: square(5, 10, 10), 2: only_first}
    pred = {1: square(5, 10, 10), 2: square(5, 10, 10), 3: square(5, 30, 30)}
    scores = evaluate_video(gt, pred)
    assert set(scores.objects) == {1}
    missing = evaluate_video({1: square(5, 10, 10)}, {})  # a lost object scores against empty masks
    assert missing.j == {1: 0.0} and missing.f == {1: 0.0}


def test_aggregation_is_object_weighted_across_videos() -> None:
    perfect = evaluate_video({1: square(4, 10, 10)}, {1: square(4, 10, 10)}, name="a")
    wrong = evaluate_video(
        {k: square(4, 8 * k, 8 * k, size=5) for k in (1, 2, 3)},
        {k: square(4, 50, 8 * k, size=5) for k in (1, 2, 3)},
        name="b",
    )
    scores = aggregate([perfect, wrong])
    assert scores.num_objects == 4
    assert scores.j == pytest.approx(25.0)  # (100 + 0 + 0 + 0) / 4, not (100 + 0) / 2
    assert scores.f == pytest.approx(25.0)
    assert scores.jf == pytest.approx(25.0)
    assert {(o.video, o.obj_id) for o in scores.per_object} == {("a", 1), ("b", 1), ("b", 2), ("b", 3)}
    assert math.isnan(aggregate([]).jf)


def test_shape_mismatch_is_an_error() -> None:
    with pytest.raises(ValueError):
        evaluate_video({1: square(4, 1, 1)}, {1: square(5, 1, 1)})
    with pytest.raises(ValueError):
        evaluate_video({1: np.zeros((4, 4), dtype=bool)}, {})


SAV_MANUAL = (
    Path(__file__).resolve().parents[2].parent / "shared" / "data" / "sav_example" / "sav_000001_manual.json"
)


@pytest.mark.skipif(not SAV_MANUAL.exists(), reason=f"SA-V example missing: {SAV_MANUAL}")
def test_real_sav_masklets_against_themselves_shifted_and_lost() -> None:
    gt = masklets_from_sav(SAV_MANUAL, frames=slice(0, None, 4))  # 31 of the 121 annotated frames
    assert sorted(gt) == [0, 1, 2, 3, 4]
    assert gt[0].shape == (31, 848, 480)
    same = evaluate_video(gt, {k: v.copy() for k, v in gt.items()}, name="sav_000001")
    assert same.j == dict.fromkeys(gt, 100.0) and same.f == dict.fromkeys(gt, 100.0)
    # a 2-pixel drift: well within the 8-pixel boundary tolerance, but it costs overlap
    shifted = {k: np.pad(v, ((0, 0), (0, 0), (2, 0)))[:, :, :480] for k, v in gt.items()}
    drift = aggregate([evaluate_video(gt, shifted)])
    assert drift.f > 99.0
    assert 50.0 < drift.j < 99.0
    lost = aggregate([evaluate_video(gt, {})])
    assert lost.j < 5.0 and lost.f < 5.0
