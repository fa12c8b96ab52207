"""VideoSession behaviour on the small ``micro`` model with random (non-degenerate) weights."""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np
import pytest
import torch

from engine.config import get_config
from engine.frames import CallableFrames
from engine.modeling.sam2 import SAM2Model, build_sam2
from engine.video_session import MaskPrompt, PointPrompt, Propagation, RemoveObject, VideoSession

H, W, N = 48, 64, 12


@pytest.fixture(autouse=True, scope="module")
def one_thread() -> Iterator[None]:
    """The micro model runs many tiny ops: one thread avoids thread hand-offs that dominate them
    (by far, on a shared machine)."""
    old = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(old)


@pytest.fixture(scope="module")
def model() -> SAM2Model:
    torch.manual_seed(0)
    m = build_sam2(get_config("micro")).eval()
    with torch.no_grad():  # random weights call every object absent: make the occlusion head say present
        head = m.sam_mask_decoder.pred_obj_score_head
        (head.layers[-1] if hasattr(head, "layers") else head).bias.fill_(10.0)
    return m


@pytest.fixture(scope="module")
def frames() -> list[np.ndarray]:
    rng = np.random.default_rng(0)
    return [rng.integers(0, 255, (H, W, 3), dtype=np.uint8) for _ in range(N)]


def _run(session: VideoSession, **kw: object) -> dict[int, dict[int, np.ndarray]]:
    return dict(session.propagate(**kw))  # type: ignore[arg-type]


def test_prompt_and_propagate_shapes(model: SAM2Model, frames: list[np.ndarray]) -> None:
    s = VideoSession(model, frames)
    out = s.add_points(0, 1, [[10, 10]], [1])
    assert list(out) == [1] and out[1].shape == (H, W) and out[1].dtype == np.float32
    assert 0 < (out[1] > 0).mean() < 1
    out = s.add_points(0, 7, None, None, box=[30, 5, 60, 40])
    assert list(out) == [1, 7]  # every object's logits on the frame
    forward = _run(s)
    assert list(forward) == list(range(N))
    assert all(list(v) == [1, 7] for v in forward.values())
    backward = _run(s, start=5, reverse=True, max_frames=3)
    assert list(backward) == [5, 4, 3, 2]


def test_objects_batched_equal_objects_alone(model: SAM2Model, frames: list[np.ndarray]) -> None:
    """Objects are independent: tracking two together gives each one's result alone."""
    together = VideoSession(model, frames)
    together.add_points(0, 1, [[10, 10]], [1])
    together.add_points(2, 2, [[50, 30], [20, 20]], [1, 0])
    both = _run(together, max_frames=6)
    for obj_id, (frame, pts, labels) in {1: (0, [[10, 10]], [1]), 2: (2, [[50, 30], [20, 20]], [1, 0])}.items():
        alone = VideoSession(model, frames)
        alone.add_points(frame, obj_id, pts, labels)
        single = _run(alone, start=0, max_frames=6)
        for f in single:
            np.testing.assert_allclose(both[f][obj_id], single[f][obj_id], atol=1e-4)


def test_correction_stays_conditioning(model: SAM2Model, frames: list[np.ndarray]) -> None:
    """sam2 issue #719: a correction on a tracked frame survives the next propagation."""
    s = VideoSession(model, frames)
    s.add_points(0, 1, [[10, 10]], [1])
    before = _run(s)
    corrected = s.add_points(5, 1, [[40, 30]], [0])[1]
    assert not np.array_equal(corrected, before[5][1])
    after = _run(s)
    np.testing.assert_array_equal(after[5][1], corrected)
    assert 5 in s.state.objects[1].memory.cond
    assert not np.array_equal(after[6][1], before[6][1])  # later frames see the correction


def test_reverse_from_last_frame_without_pointers(model: SAM2Model, frames: list[np.ndarray]) -> None:
    """The reference raises a bf16/float error here (no object pointer available); we track."""
    s = VideoSession(model, frames)
    s.add_points(0, 1, [[10, 10]], [1])
    out = _run(s, start=N - 1, reverse=True)
    assert list(out) == list(range(N - 1, -1, -1))
    assert all(np.isfinite(v[1]).all() for v in out.values())


def test_object_added_after_tracking(model: SAM2Model, frames: list[np.ndarray]) -> None:
    s = VideoSession(model, frames)
    s.add_points(0, 1, [[10, 10]], [1])
    first = _run(s)
    out = s.add_points(4, 2, [[50, 30]], [1])
    np.testing.assert_array_equal(out[1], first[4][1])  # object 1 keeps its tracked output
    second = _run(s, start=4)
    assert all(list(v) == [1, 2] for v in second.values())
    np.testing.assert_allclose(second[8][1], first[8][1], atol=1e-5)  # object 1 unaffected by object 2


def test_mask_prompt_and_remove(model: SAM2Model, frames: list[np.ndarray]) -> None:
    s = VideoSession(model, frames)
    mask = np.zeros((H, W), bool)
    mask[10:30, 20:50] = True
    out = s.add_mask(0, 3, mask)
    assert (out[3] > 0).mean() == pytest.approx(mask.mean(), abs=0.05)
    s.add_points(0, 4, [[5, 40]], [1])
    s.remove_object(3)
    assert s.obj_ids == [4]
    assert all(list(v) == [4] for v in _run(s, max_frames=2).values())


def test_replay_rebuilds_session(model: SAM2Model, frames: list[np.ndarray]) -> None:
    s = VideoSession(model, frames)
    s.add_points(0, 1, [[10, 10]], [1])
    s.add_points(0, 1, [[30, 30]], [0], clear=False)
    s.add_mask(2, 2, np.pad(np.ones((10, 10), bool), ((5, H - 15), (5, W - 15))))
    for f, _ in s.propagate():
        if f == 6:
            break  # stopped early: logged with the frames actually processed
    s.add_points(4, 1, [[40, 30]], [0])
    s.add_points(3, 9, [[60, 40]], [1])
    s.remove_object(9)
    assert [type(p) for p in s.prompts] == [PointPrompt, PointPrompt, MaskPrompt, Propagation, PointPrompt,
                                            PointPrompt, RemoveObject]
    assert s.prompts[3] == Propagation(None, False, 6)
    rebuilt = VideoSession.replay(model, frames, s.prompts)
    a, b = _run(s), _run(rebuilt)
    for f in a:
        for obj_id in a[f]:
            np.testing.assert_array_equal(a[f][obj_id], b[f][obj_id])


def test_memory_stays_bounded(model: SAM2Model) -> None:
    """A 60-frame lazy video: frames are loaded one at a time; with a budget of 0 only the memory
    window of the next frames is kept."""
    loads: list[int] = []

    def load(i: int) -> np.ndarray:
        loads.append(i)
        return np.full((H, W, 3), (i * 4) % 255, np.uint8)

    s = VideoSession(model, CallableFrames(load, 60), feature_cache_size=2, memory_budget_mb=0)
    s.add_points(0, 1, [[10, 10]], [1])
    for _ in s.propagate():
        mem = s.state.objects[1].memory
        assert len(s._features) <= 2
        assert sum(o.maskmem_features is not None for o in mem.non_cond.values()) <= 2 * model.num_maskmem + 1
        assert len(mem.non_cond) <= 2 * model.max_obj_ptrs_in_encoder + 1
    assert loads.count(30) == 1  # each frame decoded once during propagation


def _lazy_video(num_frames: int) -> CallableFrames:
    def load(i: int) -> np.ndarray:
        return np.random.default_rng(i).integers(0, 255, (H, W, 3), dtype=np.uint8)

    return CallableFrames(load, num_frames)


def _recount(s: VideoSession) -> int:
    return sum(out.nbytes() for obj in s.state.objects.values()
               for store in (obj.memory.cond, obj.memory.non_cond) for out in store.values())


def test_correction_far_from_front_uses_memory(model: SAM2Model) -> None:
    """A click on a tracked frame far (> num_maskmem) from the front and the prompted frames is a
    correction through the memory with the previous logits fed back, as with an unlimited budget."""
    n, far = 30, 15
    assert min(far, n - 1 - far) > model.num_maskmem
    sessions = {budget: VideoSession(model, _lazy_video(n), memory_budget_mb=budget) for budget in (1024, None, 0)}
    clicks = {}
    for budget, s in sessions.items():
        s.add_points(0, 1, [[10, 10]], [1])
        s.add_points(0, 2, None, None, box=[30, 5, 60, 40])
        tracked = _run(s)
        if budget is not None and budget > 0:
            assert s._previous_logits(s.state.objects[1], far) is not None  # kept: fed back with the click
            assert s.state.objects[1].memory.non_cond[far - 6].maskmem_features is not None
        clicks[budget] = s.add_points(far, 1, [[40, 30]], [0])
        if budget != 0:
            for obj_id in (1, 2):  # present objects: never -1024 in the click's output
                assert clicks[budget][obj_id].max() > -1024 and 0 < (clicks[budget][obj_id] > 0).mean() < 1
            np.testing.assert_array_equal(clicks[budget][2], tracked[far][2])
    for obj_id in (1, 2):
        np.testing.assert_array_equal(clicks[1024][obj_id], clicks[None][obj_id])
    assert np.all(clicks[0][2] == -1024)  # budget 0: the old behaviour, object 2's logits evicted there
    assert not np.allclose(clicks[0][1], clicks[1024][1], atol=1e-3)  # no memory, no previous logits
    after = {budget: _run(sessions[budget]) for budget in (1024, None)}
    for f in after[None]:
        for obj_id in (1, 2):
            np.testing.assert_array_equal(after[1024][f][obj_id], after[None][f][obj_id])


def test_memory_budget_evicts_farthest_first(model: SAM2Model) -> None:
    """Stored bytes grow linearly (one object-frame at a time) up to the budget, then stay under it;
    a click on an evicted frame falls back to the remaining memory, as with a budget of 0."""
    n, budget_frames = 60, 20
    s = VideoSession(model, _lazy_video(n))
    s.add_points(0, 1, [[10, 10]], [1])
    _run(s, max_frames=1)
    per_frame = s.stored_bytes // 2  # frame 0 (prompted) and frame 1: the same bytes each
    budget = budget_frames * per_frame
    tiny = VideoSession(model, _lazy_video(n), feature_cache_size=2, memory_budget_mb=budget / 2**20)
    tiny.add_points(0, 1, [[10, 10]], [1])
    sizes = []
    for f, _ in tiny.propagate():
        sizes.append(tiny.stored_bytes)
        assert tiny.stored_bytes == _recount(tiny) <= budget, f"frame {f}"
    assert sizes[:budget_frames] == [per_frame * (k + 1) for k in range(budget_frames)]  # linear until full
    assert budget - per_frame < sizes[-1] <= budget  # then flat
    mem = tiny.state.objects[1].memory
    assert mem.non_cond[n - 2].pred_masks is not None and 30 not in mem.non_cond  # the front kept, the middle not
    zero = VideoSession(model, _lazy_video(n), memory_budget_mb=0)
    zero.add_points(0, 1, [[10, 10]], [1])
    _run(zero)
    got, ref = tiny.add_points(30, 1, [[40, 30]], [1]), zero.add_points(30, 1, [[40, 30]], [1])
    assert np.isfinite(got[1]).all() and got[1].max() > -1024
    np.testing.assert_array_equal(got[1], ref[1])
    assert len(_run(tiny, start=30, max_frames=3)) == 4


def test_memory_budget_validated(model: SAM2Model, frames: list[np.ndarray]) -> None:
    with pytest.raises(ValueError, match="memory_budget_mb"):
        VideoSession(model, frames, memory_budget_mb=-1)


@pytest.mark.parametrize(
    ("call", "message"),
    [
        (lambda s: s.add_points(N, 1, [[1, 1]], [1]), "frame 12 is out of range"),
        (lambda s: s.add_points(-1, 1, [[1, 1]], [1]), "out of range"),
        (lambda s: s.add_points(0, 1, [[W + 1, 1]], [1]), "outside the image"),
        (lambda s: s.add_points(0, 1, [[1, 2, 3]], [1]), r"shape \(P, 2\)"),
        (lambda s: s.add_points(0, 1, [[1, 1], [2, 2]], [1]), "one label per point"),
        (lambda s: s.add_points(0, 1, [[1, 1]], None), "points and labels go together"),
        (lambda s: s.add_points(0, 1, None, None), "empty prompt"),
        (lambda s: s.add_points(0, 1, np.zeros((0, 2)), []), "empty prompt"),
        (lambda s: s.add_points(0, 1, [[1, 1]], [2]), "labels must be 1"),
        (lambda s: s.add_points(0, 1, [[np.nan, 1]], [1]), "finite"),
        (lambda s: s.add_points(0, 1, box=[10, 10, 5, 20]), "x0 < x1"),
        (lambda s: s.add_points(0, 1, box=[10, 10, 20, 20], clear=False), "box must come first"),
        (lambda s: s.add_points(0, "a", [[1, 1]], [1]), "object id must be an integer"),
        (lambda s: s.add_mask(0, 1, np.ones((H + 1, W), bool)), "video's shape"),
        (lambda s: s.add_mask(0, 1, np.full((H, W), 0.5, np.float32)), "boolean"),
        (lambda s: s.remove_object(5), "unknown object 5"),
        (lambda s: s.propagate(), "no object to propagate"),
    ],
)
def test_bad_arguments(model: SAM2Model, frames: list[np.ndarray], call: object, message: str) -> None:
    s = VideoSession(model, frames)
    with pytest.raises(ValueError, match=message):
        call(s)  # type: ignore[operator]
    assert s.prompts == []  # a refused prompt is not logged


def test_bad_frames(model: SAM2Model) -> None:
    with pytest.raises(ValueError, match="HxWx3 uint8"):
        VideoSession(model, [np.zeros((H, W, 3), np.float32)])
    with pytest.raises(ValueError, match="at least one frame"):
        VideoSession(model, [])
    s = VideoSession(model, [np.zeros((H, W, 3), np.uint8), np.zeros((H + 2, W, 3), np.uint8)])
    s.add_points(0, 1, [[1, 1]], [1])
    with pytest.raises(ValueError, match="the video is"):
        list(s.propagate())


def test_exact_mask_prompts_show_the_painted_mask_and_leave_the_model_as_the_reference(model: SAM2Model) -> None:
    """Frames larger than micro's 64×64 low-res grid: the reference's answer to a mask moves its
    edges; with ``exact_mask_prompts`` the frame shows the painted pixels, in the prompt's answer,
    in propagation and after a replay, while every other output is the reference's."""
    h, w = 120, 160
    rng = np.random.default_rng(1)
    big = [rng.integers(0, 255, (h, w, 3), dtype=np.uint8) for _ in range(5)]
    painted = np.zeros((h, w), bool)
    painted[33:73, 51:91] = True  # a 40×40 square, off the low-res grid
    painted[80:83, 10:150] = True  # and a thin stroke
    plain, exact = VideoSession(model, big), VideoSession(model, big, exact_mask_prompts=True)
    for s in (plain, exact):
        s.add_points(0, 1, [[60, 50]], [1])
        s.add_points(2, 2, [[120, 30]], [1])
    reference = plain.add_mask(2, 1, painted)
    answer = exact.add_mask(2, 1, painted)
    assert not np.array_equal(reference[1] > 0, painted)  # what the model's resolution makes of it
    assert np.array_equal(answer[1] > 0, painted)
    np.testing.assert_array_equal(answer[2], reference[2])  # another object on the frame: unchanged

    tracked_plain, tracked_exact = _run(plain), _run(exact)
    assert np.array_equal(tracked_exact[2][1] > 0, painted)  # propagation never tracks over it
    for f in (0, 1, 3, 4):  # the model received the same mask prompt: the same memory, the same tracking
        for obj in (1, 2):
            np.testing.assert_array_equal(tracked_exact[f][obj], tracked_plain[f][obj])
    rebuilt = VideoSession.replay(model, big, exact.prompts, exact_mask_prompts=True)
    assert np.array_equal(rebuilt.logits_on(2)[1] > 0, painted)

    clicked = exact.add_points(2, 1, [[20, 20]], [0], clear=False)  # a click after the brush
    np.testing.assert_array_equal(clicked[1], plain.add_points(2, 1, [[20, 20]], [0], clear=False)[1])
