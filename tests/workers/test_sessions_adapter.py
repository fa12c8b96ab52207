"""The GPU worker's engine adapter on its own (no Django, no broker): models loaded once per
version, the session LRU under its count and memory caps, and replay: a session rebuilt from its
events gives exactly the masks of the session that applied them one by one."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch

import engine
from engine import synthetic
from workers.engine_adapter import EngineAdapter, ModelSpec, SessionEvent, SessionRequest, VideoSpec

H, W, T = 48, 64, 6


@pytest.fixture(scope="module")
def video() -> synthetic.SyntheticVideo:
    return synthetic.make_video(3, num_frames=T, height=H, width=W, num_objects=2, leaving=0)


@pytest.fixture(scope="module")
def checkpoint(tmp_path_factory) -> Path:
    """Micro weights whose object-score head calls objects present, so masks are not all empty."""
    torch.manual_seed(0)
    model = engine.load_model("micro")
    with torch.no_grad():
        model.sam_mask_decoder.pred_obj_score_head.layers[2].bias.fill_(10.0)
    return engine.save_model(model, tmp_path_factory.mktemp("ckpt") / "micro.safetensors")


def make_adapter(video, checkpoint, **kwargs) -> EngineAdapter:
    return EngineAdapter(frames_for=lambda spec: list(video.frames), checkpoint_path=lambda key: str(checkpoint),
                         device="cpu", cpu_threads=1, **kwargs)


MODEL = ModelSpec("modelversion:1", "micro", "models/test/model.safetensors")
VIDEO = VideoSpec(1, T, H, W)


def request(task_id: int, events, phase: int = 3) -> SessionRequest:
    return SessionRequest(task_id, phase, MODEL, VIDEO, tuple(events))


def click(i: int, frame: int, obj: int, x: float, y: float, label: int = 1) -> SessionEvent:
    return SessionEvent(i, "click", frame, obj, points=((x, y),), labels=(label,))


def events_for(video) -> list[SessionEvent]:
    ys, xs = np.nonzero(video.masks[1][0])
    cy, cx = float(ys.mean()), float(xs.mean())
    brush = np.zeros((H, W), dtype=bool)
    brush[10:30, 20:40] = True
    return [
        click(1, 0, 1, cx, cy),
        click(2, 0, 1, 2.0, 2.0, label=0),
        SessionEvent(3, "box", 0, 2, box=(30.0, 5.0, 60.0, 40.0)),
        SessionEvent(4, "propagate", 0, direction="forward"),
        SessionEvent(5, "mask", 3, 1, mask=brush),
        SessionEvent(6, "propagate", 3, direction="both"),
    ]


def all_masks(adapter: EngineAdapter, req: SessionRequest) -> np.ndarray:
    return np.stack([adapter.mask(req, f, obj).mask for f in range(T) for obj in (1, 2)])


@pytest.mark.parametrize("phase", [2, 3])
def test_a_rebuilt_session_gives_identical_masks(video, checkpoint, phase: int) -> None:
    events = events_for(video)
    live = make_adapter(video, checkpoint)
    for n in range(1, len(events) + 1):
        _, result = live.sync(request(7, events[:n], phase))
        assert (result.applied, result.replayed) == (1, n == 1)
    rebuilt = make_adapter(video, checkpoint)
    _, result = rebuilt.sync(request(7, events, phase))
    assert (result.applied, result.replayed) == (len(events), True)
    expected = all_masks(live, request(7, events, phase))
    assert expected.any() and not expected.all()  # a comparison of empty masks would prove nothing
    assert np.array_equal(all_masks(rebuilt, request(7, events, phase)), expected)


def test_phase_1_segments_each_frame_on_its_own(video, checkpoint) -> None:
    adapter = make_adapter(video, checkpoint)
    alone = adapter.mask(request(1, [click(1, 2, 1, 30.0, 20.0)], phase=1), 2, 1).mask
    after = adapter.mask(request(2, [click(1, 0, 1, 10.0, 10.0), click(2, 2, 1, 30.0, 20.0)], phase=1), 2, 1).mask
    assert np.array_equal(alone, after)  # a prompt on another frame does not change this one


def test_a_repeated_message_applies_nothing(video, checkpoint) -> None:
    adapter = make_adapter(video, checkpoint)
    events = events_for(video)[:2]
    first = adapter.mask(request(1, events), 0, 1)
    again = adapter.mask(request(1, events), 0, 1)
    assert not again.replayed and adapter.session(1).applied == [1, 2]
    assert np.array_equal(first.mask, again.mask)


def test_undo_without_snapshots_rebuilds_without_the_undone_prompt(video, checkpoint) -> None:
    adapter = make_adapter(video, checkpoint, undo_memory_mb=0)
    events = events_for(video)
    before = adapter.mask(request(1, events[:1]), 0, 1).mask
    adapter.mask(request(1, events[:2]), 0, 1)
    progress = []
    undone = adapter.mask(request(1, events[:1]), 0, 1, progress=lambda done, total: progress.append((done, total)))
    assert undone.replayed and np.array_equal(undone.mask, before)
    assert progress == [(0, 1)]  # a replay tells how far it got


@pytest.mark.parametrize("phase", [2, 3])
def test_undo_goes_back_to_a_snapshot_with_the_masks_of_a_replay(video, checkpoint, phase: int) -> None:
    """Undo after each event, propagations included: no replay, and every mask of every frame is
    what a session replaying the remaining events gives."""
    events = events_for(video)
    adapter = make_adapter(video, checkpoint)
    adapter.sync(request(1, events, phase))
    for n in range(len(events) - 1, 0, -1):
        restored = adapter.mask(request(1, events[:n], phase), 0, 1)
        assert not restored.replayed
        assert adapter.session(1).applied == [e.interaction_id for e in events[:n]]
        replayed = make_adapter(video, checkpoint)
        expected = all_masks(replayed, request(1, events[:n], phase))
        assert np.array_equal(all_masks(adapter, request(1, events[:n], phase)), expected)
    assert adapter.stats["replays"] == 1 and adapter.stats["restores"] == len(events) - 1
    # and on from there: the next events apply to the restored state as to a replayed one
    adapter.sync(request(1, events, phase))
    assert np.array_equal(all_masks(adapter, request(1, events, phase)),
                          all_masks(make_adapter(video, checkpoint), request(1, events, phase)))


def test_the_fast_path_of_an_undo_restores_without_the_events(video, checkpoint) -> None:
    events = events_for(video)
    adapter = make_adapter(video, checkpoint)
    adapter.sync(request(1, events))
    ids = [e.interaction_id for e in events]
    answer = adapter.mask_if_at(1, ids[:3], [], 0, 2)  # after undoing both propagations and the brush
    assert answer is not None and not answer.replayed and adapter.session(1).applied == ids[:3]
    expected = make_adapter(video, checkpoint).mask(request(1, events[:3]), 0, 2).mask
    assert np.array_equal(answer.mask, expected) and expected.any()
    assert adapter.mask_if_at(1, [99], [], 0, 2) is None  # a state it never held: the caller replays


def test_undo_snapshots_stay_within_their_memory_budget(video, checkpoint) -> None:
    events = events_for(video)
    roomy = make_adapter(video, checkpoint)
    roomy.sync(request(1, events))
    session = roomy.session(1)
    assert sorted(session.snapshots) == list(range(len(events)))
    needed = session.snapshot_nbytes()
    assert needed > 0  # the propagations replaced outputs that only the snapshots still hold
    for k in range(len(events) - 1):
        session.forget(k)
    newest = session.snapshot_nbytes()  # what the snapshot before the last propagation holds alone
    assert 0 < newest < needed
    tight = make_adapter(video, checkpoint, undo_memory_mb=newest / 2**20)
    tight.sync(request(1, events))
    kept = tight.session(1)
    assert len(kept.snapshots) < len(events) and kept.snapshot_nbytes() <= newest
    assert max(kept.snapshots) == len(events) - 1  # the oldest go first: the last undo stays fast
    assert not tight.mask(request(1, events[:-1]), 0, 1).replayed
    assert tight.mask(request(1, events[:1]), 0, 1).replayed  # its snapshot was dropped: a replay


def test_the_lru_evicts_the_least_recently_used_session(video, checkpoint) -> None:
    adapter = make_adapter(video, checkpoint, max_sessions=2)
    for task_id in (1, 2, 3):
        adapter.sync(request(task_id, [click(1, 0, 1, 30.0, 20.0)]))
    assert adapter.open_tasks == [2, 3] and adapter.stats["evictions"] == 1
    adapter.sync(request(2, [click(1, 0, 1, 30.0, 20.0)]))  # touched: now the most recent
    _, result = adapter.sync(request(1, [click(1, 0, 1, 30.0, 20.0)]))
    assert result.replayed and adapter.open_tasks == [2, 1]
    assert adapter.stats["models_loaded"] == 1  # one model version, loaded once


def test_the_memory_cap_keeps_only_what_fits(video, checkpoint) -> None:
    adapter = make_adapter(video, checkpoint, max_sessions=10, max_session_mb=0.001)
    for task_id in (1, 2):
        adapter.sync(request(task_id, [click(1, 0, 1, 30.0, 20.0)]))
    assert adapter.open_tasks == [2]  # never the one just used
    assert adapter.session(2).nbytes() > 0.001 * 2**20


def test_a_cancelled_propagation_leaves_no_session(video, checkpoint) -> None:
    adapter = make_adapter(video, checkpoint)
    events = events_for(video)[:3]
    frames = adapter.propagate(request(1, events), SessionEvent(4, "propagate", 0))
    next(frames)
    frames.close()
    assert adapter.session(1) is None
    done = list(adapter.propagate(request(1, events), SessionEvent(4, "propagate", 0)))
    assert [f for f, _ in done] == list(range(T)) and adapter.session(1).applied == [1, 2, 3, 4]


def test_the_fast_path_applies_only_at_the_expected_state(video, checkpoint) -> None:
    adapter = make_adapter(video, checkpoint)
    events = events_for(video)
    adapter.sync(request(1, events[:2]))
    fast = adapter.mask_if_at(1, [1, 2], events[2:3], 0, 2)
    assert fast is not None and adapter.applied_ids(1) == [1, 2, 3]
    slow = make_adapter(video, checkpoint).mask(request(1, events[:3]), 0, 2)
    assert np.array_equal(fast.mask, slow.mask)
    assert adapter.mask_if_at(2, [], events[:1], 0, 1) is None  # no session cached for task 2
    # The session holds [1, 2], not [1]: without a snapshot of [1] the caller must replay; with
    # one, the answer is that of [1] then the new event, as a replay gives it.
    bare = make_adapter(video, checkpoint, undo_memory_mb=0)
    bare.sync(request(1, events[:2]))
    assert bare.mask_if_at(1, [1], events[2:3], 0, 2) is None
    adapter.sync(request(1, events[:2]))
    back = adapter.mask_if_at(1, [1], events[2:3], 0, 2)
    assert back is not None and adapter.applied_ids(1) == [1, 3]
    replayed = make_adapter(video, checkpoint).mask(request(1, [events[0], events[2]]), 0, 2)
    assert np.array_equal(back.mask, replayed.mask)


def test_several_new_events_extend_a_held_session_without_a_replay(video, checkpoint) -> None:
    adapter = make_adapter(video, checkpoint)
    events = events_for(video)
    adapter.sync(request(1, events[:2]))
    placeholders = [SessionEvent(e.interaction_id, "applied", -1) for e in events[:2]]
    _, result = adapter.sync(request(1, [*placeholders, *events[2:4]]))
    assert (result.applied, result.replayed) == (2, False) and adapter.applied_ids(1) == [1, 2, 3, 4]
    with pytest.raises(ValueError, match="placeholders"):  # a rebuild cannot use id-only events
        make_adapter(video, checkpoint).sync(request(1, [*placeholders, *events[2:4]]))


def test_precision_is_autocast_on_cuda_only_and_weights_stay_float32(video, checkpoint) -> None:
    from workers.engine_adapter import choose_dtype

    events = events_for(video)[:3]
    reduced = make_adapter(video, checkpoint, dtype="bfloat16")  # on the CPU: float32 all the same
    full = make_adapter(video, checkpoint)
    assert np.array_equal(reduced.mask(request(1, events), 0, 1).mask, full.mask(request(1, events), 0, 1).mask)
    assert next(reduced.model(MODEL).parameters()).dtype == torch.float32
    with pytest.raises(ValueError, match="ENGINE_DTYPE"):
        choose_dtype("int8")
