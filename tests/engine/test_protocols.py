"""Evaluation protocols: click placement on crafted masks, the distance transform, the time model, and
the mechanics of the semi-supervised / offline / online protocols with an untrained micro model."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from engine.config import get_config
from engine.evaluation import protocols
from engine.evaluation.protocols import (
    Click,
    annotation_time,
    distance_transform,
    first_click,
    interactive_offline,
    interactive_online,
    mask_box,
    next_click,
    segment_semi_supervised,
)
from engine.modeling.sam2 import build_sam2
from engine.synthetic import make_video
from engine.video_session import PointPrompt, VideoSession

pytestmark = pytest.mark.usefixtures("one_torch_thread")


def brute_force_dt(mask: np.ndarray) -> np.ndarray:
    """Distance to the nearest pixel outside the mask, the image surrounded by outside pixels."""
    padded = np.pad(mask, 1)
    ys, xs = np.nonzero(~padded)
    out = np.zeros(mask.shape)
    for y, x in zip(*np.nonzero(mask), strict=True):
        out[y, x] = np.sqrt(((ys - (y + 1)) ** 2 + (xs - (x + 1)) ** 2).min())
    return out


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_distance_transform_is_exact_on_random_shapes(seed: int) -> None:
    rng = np.random.default_rng(seed)
    mask = rng.random((19, 23)) < 0.7
    mask[0, :] = True  # touching the border: the outside counts as background
    np.testing.assert_allclose(distance_transform(mask), brute_force_dt(mask), atol=1e-12)


def test_distance_transform_of_a_square_and_of_nothing() -> None:
    mask = np.zeros((11, 11), bool)
    mask[2:9, 2:9] = True  # 7x7 square: the centre pixel is 4 pixels from the outside
    dt = distance_transform(mask)
    assert dt[5, 5] == 4.0 and dt[2, 2] == 1.0 and dt[0, 0] == 0.0
    assert not distance_transform(np.zeros((5, 5), bool)).any()


def test_first_click_is_at_the_centre_of_the_mask() -> None:
    mask = np.zeros((40, 60), bool)
    mask[10:31, 20:51] = True  # 21 x 31 rectangle: centre (35, 20)
    assert first_click(mask) == Click(35, 20, True)
    assert first_click(np.zeros((4, 4), bool)) is None


def test_next_click_goes_to_the_largest_error_region() -> None:
    gt = np.zeros((50, 50), bool)
    gt[5:25, 5:25] = True  # 20x20 object
    pred = gt.copy()
    pred[5:25, 5:9] = False  # a thin false negative strip (4 px wide) ...
    pred[30:46, 30:46] = True  # ... and a thick false positive square (16 px): the click goes there
    click = next_click(gt, pred)
    assert click is not None and not click.positive and click.label == 0
    assert 30 <= click.x < 46 and 30 <= click.y < 46
    assert pred[click.y, click.x] and not gt[click.y, click.x]
    pred[30:46, 30:46] = False  # now only the strip is wrong: a positive click inside it
    click = next_click(gt, pred)
    assert click is not None and click.positive and 5 <= click.x < 9 and gt[click.y, click.x]
    assert next_click(gt, gt) is None
    # An empty prediction: the next click is the first click.
    assert next_click(gt, np.zeros_like(gt)) == first_click(gt)


def test_mask_box_includes_the_pixel_edges() -> None:
    mask = np.zeros((10, 10), bool)
    mask[3, 4] = True
    np.testing.assert_array_equal(mask_box(mask), [4, 3, 5, 4])
    assert mask_box(np.zeros((3, 3), bool)) is None


def test_annotation_time_model() -> None:
    # 300 frames = 30 s to examine; 1 s to locate; 1.5 s per click.
    assert annotation_time(300, [3, 3], "online") == pytest.approx(30 + 2 * (1 + 4.5))
    assert annotation_time(300, [3, 3], "offline") == pytest.approx(2 * (30 + 1 + 4.5))
    assert annotation_time(60, [], "online") == pytest.approx(6.0)
    assert annotation_time(60, [], "offline") == 0.0
    with pytest.raises(ValueError):
        annotation_time(10, [1], "sideways")


@pytest.fixture(scope="module")
def untrained_micro():
    torch.manual_seed(0)
    return build_sam2(get_config("micro")).eval()


@pytest.fixture(scope="module")
def tiny_video():
    return make_video(3, num_frames=4, height=64, width=64, num_objects=2, leaving=0)


def _count_points(monkeypatch: pytest.MonkeyPatch) -> list[tuple[int, int, int]]:
    calls: list[tuple[int, int, int]] = []
    original = VideoSession.add_points

    def counting(self, frame_idx, obj_id, points=None, labels=None, box=None, clear=True):
        calls.append((frame_idx, obj_id, 0 if points is None else len(points)))
        return original(self, frame_idx, obj_id, points, labels, box=box, clear=clear)

    monkeypatch.setattr(VideoSession, "add_points", counting)
    return calls


@pytest.mark.parametrize("prompt, clicks", [("1-click", 1), ("3-click", 3), ("box", 0), ("mask", 0)])
def test_semi_supervised_prompts_the_first_frame_only(untrained_micro, tiny_video, monkeypatch, prompt,
                                                      clicks) -> None:
    calls = _count_points(monkeypatch)
    pred = segment_semi_supervised(untrained_micro, tiny_video.frames, tiny_video.masks, prompt)
    assert set(pred) == set(tiny_video.masks)
    assert all(p.shape == tiny_video.masks[k].shape and p.dtype == bool for k, p in pred.items())
    if clicks:  # one click per add_points call, every one on frame 0, at most `clicks` per object
        assert all(frame == 0 and n == 1 for frame, _, n in calls)
        for obj_id in tiny_video.masks:
            assert 1 <= sum(1 for _, o, _ in calls if o == obj_id) <= clicks
    elif prompt == "box":
        assert [(f, n) for f, _, n in calls] == [(0, 0), (0, 0)]
    else:
        assert calls == []


def test_semi_supervised_object_appearing_later_is_empty_before(untrained_micro) -> None:
    video = make_video(3, num_frames=4, height=64, width=64, num_objects=1, leaving=0)
    gt = {1: video.masks[1].copy()}
    gt[1][:2] = False  # appears on frame 2
    frames = list(video.frames)
    pred = segment_semi_supervised(untrained_micro, frames, gt, "mask")
    assert not pred[1][:2].any()
    assert pred[1][2].sum() > 0.5 * gt[1][2].sum()  # the GT mask prompt is the output on its frame


def test_offline_protocol_clicks_the_worst_frame_of_each_object_every_pass(untrained_micro, tiny_video) -> None:
    result = interactive_offline(untrained_micro, tiny_video.frames, tiny_video.masks, num_passes=2)
    assert len(result.jf_per_pass) == 2
    for obj_id, inter in result.interactions.items():
        assert 1 <= len(inter) <= 2
        assert all(1 <= clicks <= 3 for _, clicks in inter)
        first = int(np.flatnonzero(tiny_video.masks[obj_id].any(axis=(1, 2)))[0])
        assert inter[0][0] == first  # nothing predicted yet: the worst frame is the first visible one
    expected = sum((30 * 4 / 300 + 1 + 1.5 * c) for inter in result.interactions.values() for _, c in inter)
    assert result.time_s == pytest.approx(expected)
    assert result.clicks == sum(c for inter in result.interactions.values() for _, c in inter)


def test_online_protocol_clicks_frames_under_the_threshold_in_time_order(untrained_micro, tiny_video,
                                                                         monkeypatch) -> None:
    calls = _count_points(monkeypatch)
    result = interactive_online(untrained_micro, tiny_video.frames, tiny_video.masks)
    for inter in result.interactions.values():
        frames = [t for t, _ in inter]
        assert frames == sorted(set(frames)) and frames[0] == 0  # frame 0 has no prediction yet
        # A frame is clicked only when its IoU was under 0.75, and then with 1 to 3 clicks.
        assert all(1 <= c <= 3 for _, c in inter)
    assert len(calls) == result.clicks
    per_object = {o: 30 * 4 / 300 + sum(1 + 1.5 * c for _, c in inter) for o, inter in result.interactions.items()}
    assert result.time_per_object() == pytest.approx(per_object)
    assert math.isclose(result.time_s, sum(per_object.values()))


def test_online_protocol_needs_no_click_where_the_prediction_is_good(monkeypatch, tiny_video) -> None:
    """With a perfect model stand-in the online protocol only clicks the first frame."""
    calls = []

    class Perfect:
        """Stands in for VideoSession: answers every frame with the ground truth of the clicked objects."""

        def __init__(self, model, frames):
            self.objs: list[int] = []
            self.prompts: list[PointPrompt] = []

        @property
        def obj_ids(self):
            return list(self.objs)

        def add_points(self, frame_idx, obj_id, points, labels, clear=True):
            calls.append(frame_idx)
            if obj_id not in self.objs:
                self.objs.append(obj_id)
            return {o: np.where(tiny_video.masks[o][frame_idx], 1.0, -1.0) for o in self.objs}

        def propagate(self, start, max_frames=None):
            yield start, {o: np.where(tiny_video.masks[o][start], 1.0, -1.0) for o in self.objs}

    monkeypatch.setattr(protocols, "VideoSession", Perfect)
    result = interactive_online(None, tiny_video.frames, tiny_video.masks)  # type: ignore[arg-type]
    assert {o: [t for t, _ in inter] for o, inter in result.interactions.items()} == {1: [0], 2: [0]}
    assert all(c == 1 for inter in result.interactions.values() for _, c in inter)  # one click fixes it
