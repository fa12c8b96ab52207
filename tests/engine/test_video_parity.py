"""VideoSession against the reference SAM2VideoPredictor on the same random weights (sam2.1_hiera_t).

One session on four small frames: two objects, prompts on two frames (clicks and a box), forward
propagation, a correction click on a tracked frame, a reverse pass, an object removed, and a last
forward pass. Every output is compared: max |logit difference| <= 1e-3, identical masks wherever
|logit| > 1e-3, and the reference's output must be non-degenerate (object present, some pixels in,
some out), or the comparison would prove nothing.

Our sessions keep every prompted frame as a conditioning frame (sam2 issue #719); the reference
does the same with ``add_all_frames_to_correct_as_cond=True``, which this test sets for the
scenario with a correction. The difference from the reference's default is tested separately.

A third case corrects a frame more than ``num_maskmem`` frames away from the propagation front and
from the prompted frames: the reference refines it through the memory around it and the frame's
previous logits, which our session must still hold there (within its memory budget).
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import torch

from engine.frames import JpegFolderFrames
from engine.video_session import VideoSession

pytestmark = [pytest.mark.reference, pytest.mark.slow]

H, W = 96, 128  # small frames: the model sees them at 1024 px anyway
NUM_FRAMES = 4
TOL = 1e-3


def _write_video(folder: Path, num_frames: int = NUM_FRAMES) -> Path:
    """JPEGs of two moving shapes on a noisy background."""
    from PIL import Image

    rng = np.random.default_rng(0)
    yy, xx = np.mgrid[0:H, 0:W]
    for i in range(num_frames):
        img = rng.integers(0, 50, (H, W, 3)).astype(np.uint8)
        img[(xx - 40 - 4 * i) ** 2 + (yy - 48) ** 2 < 18**2] = (210, 60, 50)
        img[(abs(xx - 95) < 14) & (abs(yy - 30 - 3 * i) < 12)] = (50, 200, 90)
        Image.fromarray(img).save(folder / f"{i:05d}.jpg", quality=95)
    return folder


@pytest.fixture(scope="module")
def video_dir(tmp_path_factory: Any) -> Path:
    return _write_video(tmp_path_factory.mktemp("video"))


@pytest.fixture(scope="module")
def long_video_dir(tmp_path_factory: Any, engine_model: Any) -> Path:
    """num_maskmem + 3 frames: the fewest for a frame > num_maskmem frames from the front and the prompts."""
    return _write_video(tmp_path_factory.mktemp("long_video"), engine_model.num_maskmem + 3)


@pytest.fixture
def keep_corrections_as_cond(reference_video_predictor: Any) -> Iterator[Any]:
    """The reference with our #719 semantics, restored afterwards (the fixture is session-wide)."""
    old = reference_video_predictor.add_all_frames_to_correct_as_cond
    reference_video_predictor.add_all_frames_to_correct_as_cond = True
    try:
        yield reference_video_predictor
    finally:
        reference_video_predictor.add_all_frames_to_correct_as_cond = old


def _compare(ours: dict[int, np.ndarray], ref_ids: list[int], ref_masks: torch.Tensor, where: str,
             stats: list[float], present: set[int]) -> None:
    """Objects in ``present`` must have a non-degenerate reference output; the others none at all."""
    assert list(ours) == list(ref_ids), f"{where}: objects {list(ours)} vs reference {ref_ids}"
    for i, obj_id in enumerate(ref_ids):
        ref = ref_masks[i, 0].float().numpy()
        got = ours[obj_id]
        assert got.shape == ref.shape == (H, W) and got.dtype == np.float32
        if obj_id not in present:  # no output for this object on this frame yet: -1024 everywhere
            assert np.all(ref == -1024.0) and np.all(got == -1024.0), f"{where}, object {obj_id}"
            continue
        inside = (ref > 0).mean()
        assert ref.max() > -1024 and 0.0 < inside < 1.0, f"{where}, object {obj_id}: degenerate reference"
        diff = np.abs(got - ref).max()
        stats.append(float(diff))
        assert diff <= TOL, f"{where}, object {obj_id}: max |diff| {diff:.2e}"
        confident = np.abs(ref) > TOL
        assert np.array_equal((got > 0)[confident], (ref > 0)[confident]), f"{where}, object {obj_id}: masks differ"


def test_session_matches_reference(keep_corrections_as_cond: Any, engine_model: Any, video_dir: Path) -> None:
    ref = keep_corrections_as_cond
    state = ref.init_state(video_path=str(video_dir))
    ours = VideoSession(engine_model, JpegFolderFrames(video_dir))
    stats: list[float] = []

    def both_prompt(frame: int, obj: int, present: set[int], **kw: Any) -> None:
        _, ids, masks = ref.add_new_points_or_box(state, frame, obj, **kw)
        got = ours.add_points(frame, obj, kw.get("points"), kw.get("labels"), box=kw.get("box"))
        _compare(got, ids, masks, f"prompt obj {obj} frame {frame}", stats, present)

    def both_propagate(**kw: Any) -> list[int]:
        ref_out = list(ref.propagate_in_video(state, start_frame_idx=kw.get("start"),
                                              reverse=kw.get("reverse", False),
                                              max_frame_num_to_track=kw.get("max_frames")))
        our_out = list(ours.propagate(**kw))
        assert [f for f, _ in our_out] == [f for f, _, _ in ref_out]
        for (f, got), (_, ids, masks) in zip(our_out, ref_out, strict=True):
            _compare(got, ids, masks, f"propagation {kw} frame {f}", stats, set(ids))
        return [f for f, _ in our_out]

    both_prompt(0, 1, {1}, points=[[40, 48]], labels=[1])
    both_prompt(0, 2, {1, 2}, box=[80, 17, 110, 43])
    both_prompt(2, 1, {1}, points=[[32, 48], [70, 70]], labels=[1, 0])  # a second prompted frame
    assert both_propagate() == [0, 1, 2, 3]
    both_prompt(1, 2, {1, 2}, points=[[95, 35]], labels=[0])  # a correction on a tracked frame
    # Reverse from frame 2 (from the last frame the reference would hit its bf16/float error).
    assert both_propagate(start=2, reverse=True) == [2, 1, 0]
    ref.remove_object(state, 1)
    ours.remove_object(1)
    assert both_propagate(start=0, max_frames=3) == [0, 1, 2, 3]
    print(f"\nparity: {len(stats)} outputs, max |logit diff| {max(stats):.2e}, mean {np.mean(stats):.2e}")


def test_mask_prompt_matches_reference(reference_video_predictor: Any, engine_model: Any, video_dir: Path) -> None:
    """A mask prompt (used directly as the output, its pointer from SAM), then one tracked frame."""
    ref = reference_video_predictor
    state = ref.init_state(video_path=str(video_dir))
    ours = VideoSession(engine_model, JpegFolderFrames(video_dir))
    yy, xx = np.mgrid[0:H, 0:W]
    mask = (xx - 44) ** 2 + (yy - 48) ** 2 < 17**2
    stats: list[float] = []
    _, ids, masks = ref.add_new_mask(state, 1, 5, mask)
    _compare(ours.add_mask(1, 5, mask), ids, masks, "mask prompt", stats, {5})
    ref_out = list(ref.propagate_in_video(state, start_frame_idx=1, max_frame_num_to_track=1))
    our_out = list(ours.propagate(start=1, max_frames=1))
    assert [f for f, _ in our_out] == [f for f, _, _ in ref_out] == [1, 2]
    for (f, got), (_, ids, masks) in zip(our_out, ref_out, strict=True):
        _compare(got, ids, masks, f"after a mask prompt, frame {f}", stats, {5})


def test_correction_far_from_front_matches_reference(keep_corrections_as_cond: Any, engine_model: Any,
                                                     long_video_dir: Path) -> None:
    """Propagate over every frame, go back to frame 0 (the front), correct the last frame: more than
    num_maskmem frames from the front and the prompted frame. Both objects must match, the corrected
    one (memory-conditioned, previous logits fed back) and the other one (its tracked output)."""
    ref = keep_corrections_as_cond
    state = ref.init_state(video_path=str(long_video_dir))
    ours = VideoSession(engine_model, JpegFolderFrames(long_video_dir))
    last = ours.num_frames - 1
    assert last > engine_model.num_maskmem
    stats: list[float] = []
    for obj, kw in ((1, {"points": [[40, 48]], "labels": [1]}), (2, {"box": [80, 17, 110, 43]})):
        _, ids, masks = ref.add_new_points_or_box(state, 0, obj, **kw)
        got = ours.add_points(0, obj, kw.get("points"), kw.get("labels"), box=kw.get("box"))
        _compare(got, ids, masks, f"prompt obj {obj}", stats, set(ids))
    for kw in ({}, {"start": 0, "max_frames": 0}):  # the second one moves the front back to frame 0
        ref_out = list(ref.propagate_in_video(state, start_frame_idx=kw.get("start"),
                                              max_frame_num_to_track=kw.get("max_frames")))
        our_out = list(ours.propagate(**kw))
        assert [f for f, _ in our_out] == [f for f, _, _ in ref_out]
        for (f, got), (_, ids, masks) in zip(our_out, ref_out, strict=True):
            _compare(got, ids, masks, f"propagation {kw} frame {f}", stats, set(ids))
    _, ids, masks = ref.add_new_points_or_box(state, last, 1, points=[[60, 50]], labels=[0])
    got = ours.add_points(last, 1, [[60, 50]], [0])
    _compare(got, ids, masks, f"correction on frame {last}", stats, {1, 2})
    print(f"\nfar correction parity: {len(stats)} outputs, max |logit diff| {max(stats):.2e}, "
          f"correction {stats[-2]:.2e} / {stats[-1]:.2e}")
