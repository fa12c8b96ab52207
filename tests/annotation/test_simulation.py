"""Simulated annotators: the click policy and the time model on crafted masks (pure, no Django),
the phase protocols against a fake session, and one end-to-end run per phase through the real
REST API, a real Celery worker, PostgreSQL, Redis and S3.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import numpy as np
import pytest

from annotation.simulation.annotator import (
    CLICK_S,
    LOCATE_S,
    STROKE_S,
    Click,
    SimClock,
    brush_until_good,
    click_until_good,
    connected_regions,
    corrective_click,
    distance_transform,
    examine_seconds,
    first_click,
    largest_region,
    mask_centre,
    next_click,
    offline_time,
    online_time,
)
from annotation.simulation.protocols import Policy, annotate_object
from annotation.simulation.runner import SimulationConfig, report_lines, run_simulation, source_indices

T0 = datetime(2026, 1, 1, 9, 0, tzinfo=UTC)


def rect(h: int, w: int, y0: int, y1: int, x0: int, x1: int) -> np.ndarray:
    mask = np.zeros((h, w), dtype=bool)
    mask[y0:y1, x0:x1] = True
    return mask


# ---- Distance transform and regions -------------------------------------------------------------


def brute_distance(mask: np.ndarray) -> np.ndarray:
    """Distance to the nearest background pixel, the outside of the image counting as background."""
    padded = np.pad(mask, 1)
    by, bx = np.nonzero(~padded)
    out = np.zeros(mask.shape)
    for y, x in zip(*np.nonzero(mask), strict=True):
        out[y, x] = np.sqrt(((by - (y + 1)) ** 2 + (bx - (x + 1)) ** 2).min())
    return out


def test_distance_transform_is_exact_euclidean_on_random_masks() -> None:
    rng = np.random.default_rng(0)
    for _ in range(25):
        h, w = (int(v) for v in rng.integers(1, 24, 2))
        mask = rng.random((h, w)) < 0.75
        np.testing.assert_allclose(distance_transform(mask, chunk_rows=5), brute_distance(mask))


def test_distance_transform_of_a_rectangle_by_hand() -> None:
    mask = rect(7, 9, 1, 6, 1, 8)  # 5 rows x 7 columns
    dist = distance_transform(mask)
    assert dist[3].tolist() == [0, 1, 2, 3, 3, 3, 2, 1, 0]
    assert dist[1, 1] == 1 and dist[0].max() == 0
    # A full image: the border is background, so the centre is the deepest pixel.
    assert distance_transform(np.ones((5, 5), dtype=bool))[2, 2] == 3


def test_gt_centre_is_the_distance_transform_peak_not_the_centroid() -> None:
    # A ring: its centroid is in the hole; the click goes to the ring, where the DT peaks.
    ring = rect(40, 40, 5, 35, 5, 35) & ~rect(40, 40, 12, 28, 12, 28)
    ys, xs = np.nonzero(ring)
    assert not ring[int(ys.mean()), int(xs.mean())]
    x, y = mask_centre(ring)
    assert ring[y, x] and distance_transform(ring)[y, x] == distance_transform(ring).max()
    # A thick square on a thin bar: the centre is the square's, 10 px from any background.
    mask = rect(40, 50, 10, 30, 25, 45) | rect(40, 50, 18, 22, 0, 25)
    x, y = mask_centre(mask)
    assert distance_transform(mask).max() == distance_transform(mask)[y, x] == 10
    assert 34 <= x <= 35 and 19 <= y <= 20
    click = first_click(mask)
    assert click == Click(x, y, 1) and click.positive


def test_gt_centre_of_a_disc_and_of_a_mask_touching_the_border() -> None:
    yy, xx = np.mgrid[0:31, 0:41]
    disc = (xx - 20) ** 2 + (yy - 15) ** 2 <= 10**2
    assert mask_centre(disc) == (20, 15)
    # Touching the left border: the border counts as background, so the centre moves inwards.
    band = rect(20, 30, 5, 15, 0, 20)
    x, y = mask_centre(band)
    assert x >= 4 and 9 <= y <= 10
    assert mask_centre(np.zeros((5, 5), dtype=bool)) is None and first_click(np.zeros((5, 5), dtype=bool)) is None


def test_connected_regions_and_the_largest_region() -> None:
    mask = rect(10, 10, 0, 2, 0, 2) | rect(10, 10, 5, 9, 5, 9) | rect(10, 10, 0, 1, 8, 10)
    mask[2, 2] = True  # diagonal to the first square: 4-connectivity keeps it apart
    labels = connected_regions(mask)
    assert len(np.unique(labels[labels >= 0])) == 4
    assert (labels[0:2, 0:2] == 0).all() and labels[2, 2] == 22 and (labels[~mask] == -1).all()
    assert (largest_region(mask) == rect(10, 10, 5, 9, 5, 9)).all()
    # A snake forces many propagation steps.
    snake = np.zeros((9, 9), dtype=bool)
    snake[0::2, :] = True
    snake[1::4, 8] = True
    snake[3::4, 0] = True
    assert len(np.unique(connected_regions(snake)[snake])) == 1


# ---- Corrective clicks and the stop rule ------------------------------------------------------


def test_false_negative_region_gets_a_positive_click_at_its_centre() -> None:
    gt = rect(40, 60, 10, 30, 5, 55)
    pred = rect(40, 60, 10, 30, 5, 25)  # misses the right part (20 x 30)
    click = corrective_click(gt, pred)
    assert click.label == 1 and mask_centre(gt & ~pred) == (click.x, click.y)
    assert 25 <= click.x < 55 and gt[click.y, click.x] and not pred[click.y, click.x]


def test_false_positive_region_gets_a_negative_click() -> None:
    gt = rect(40, 60, 10, 30, 5, 25)
    pred = gt | rect(40, 60, 0, 40, 35, 60)  # spills over a larger area than it misses
    click = corrective_click(gt, pred)
    assert click == Click(*mask_centre(pred & ~gt), 0) and not click.positive


def test_the_largest_error_region_wins_whatever_its_kind() -> None:
    gt = rect(50, 50, 10, 40, 10, 40)
    small_fn = rect(50, 50, 10, 14, 10, 14)
    pred = (gt & ~small_fn) | rect(50, 50, 42, 50, 0, 50)  # FN of 16 px, FP of 400 px
    assert corrective_click(gt, pred).label == 0
    pred = (gt & ~rect(50, 50, 10, 40, 10, 30)) | rect(50, 50, 0, 2, 0, 2)  # FN of 600 px, FP of 4 px
    assert corrective_click(gt, pred).label == 1
    assert corrective_click(gt, gt) is None


def test_next_click_starts_at_the_gt_centre_then_corrects() -> None:
    gt = rect(30, 30, 5, 25, 5, 25)
    assert next_click(gt, None) == first_click(gt)
    assert next_click(gt, np.zeros_like(gt)) == first_click(gt)
    assert next_click(np.zeros_like(gt), None) is None  # nothing to segment
    assert next_click(np.zeros_like(gt), gt).label == 0  # the object is absent: remove the mask


def test_stop_rule_stops_at_the_target_iou() -> None:
    gt = rect(40, 40, 5, 35, 5, 35)  # 900 px
    answers = iter([rect(40, 40, 5, 35, 5, 20), rect(40, 40, 5, 35, 5, 33), gt])  # IoU 0.5, 0.93, 1
    seen: list[tuple[Click, int]] = []
    result = click_until_good(gt, lambda click: next(answers), target_iou=0.9,
                              on_click=lambda click, n: seen.append((click, n)))
    assert len(result.clicks) == 2 and result.iou == pytest.approx(28 / 30)
    assert [n for _, n in seen] == [0, 1]
    assert result.clicks[0] == first_click(gt) and result.clicks[1].label == 1


def test_stop_rule_caps_the_clicks_and_skips_a_good_start() -> None:
    gt = rect(40, 40, 5, 35, 5, 35)
    stuck = click_until_good(gt, lambda click: np.zeros_like(gt), max_clicks=4)
    assert len(stuck.clicks) == 4 and stuck.iou == 0
    assert click_until_good(gt, lambda click: gt, start=gt).clicks == []
    assert click_until_good(np.zeros_like(gt), lambda click: gt).clicks == []  # absent and empty: done


def test_brush_paints_the_largest_error_first_and_stops_at_its_target() -> None:
    gt = rect(40, 40, 5, 35, 5, 35)  # 900 px
    mask = rect(40, 40, 5, 35, 5, 25) | rect(40, 40, 36, 38, 0, 40)  # misses 300 px, spills 80
    painted, strokes = brush_until_good(gt, mask, target_iou=0.95, max_strokes=6)
    assert strokes == 2 and np.array_equal(painted, gt)  # the missed band, then the spill erased
    once, strokes = brush_until_good(gt, mask, target_iou=0.95, max_strokes=1)
    assert strokes == 1 and np.array_equal(once, gt | mask)  # the larger error (the miss) first
    assert not np.array_equal(mask, gt)  # the input is left alone
    good = rect(40, 40, 5, 35, 5, 34)  # IoU 870/900 = 0.967: nothing to do at 0.95
    assert brush_until_good(gt, good, target_iou=0.95)[1] == 0
    painted, strokes = brush_until_good(gt, None, target_iou=0.95)
    assert strokes == 1 and np.array_equal(painted, gt)  # an empty frame: one stroke paints it


# ---- The time model -------------------------------------------------------------------------------


def test_time_model_arithmetic_by_hand() -> None:
    assert (LOCATE_S, CLICK_S) == (1.0, 1.5)
    assert examine_seconds(300) == pytest.approx(30.0) and examine_seconds(12) == pytest.approx(1.2)
    # Offline: each of 2 frames interacted costs 30*12/300 + 1 + 1.5*c: (1.2+1+4.5) + (1.2+1+3) = 11.9
    assert offline_time(12, [3, 2]) == pytest.approx(11.9)
    # Online: 1.2 + (1 + 4.5) + (1 + 3) = 10.7
    assert online_time(12, [3, 2]) == pytest.approx(10.7)


def test_clock_stamps_a_frame_first_click_when_locating_starts() -> None:
    clock = SimClock(start=T0)
    assert clock.stamp_click(0) == T0  # locate 1 s + click 1.5 s follow the stamp
    assert clock.stamp_click(1) == T0 + timedelta(seconds=2.5)
    assert clock.seconds == pytest.approx(4.0)
    clock.examine(12)
    assert clock.now() == T0 + timedelta(seconds=5.2)
    assert clock.stamp_click(0) == T0 + timedelta(seconds=5.2)
    assert clock.seconds == pytest.approx(7.7)


# ---- The phase protocols against a fake session ---------------------------------------------------


class FakeSession:
    """A model that answers every click with the GT grown by ``spill`` pixels to the right, and
    propagates a fixed mask (the GT shifted by ``drift`` pixels per frame away from prompted frames)."""

    def __init__(self, gt: np.ndarray, *, drift: int = 3) -> None:
        self.gt, self.drift = gt, drift
        self.calls: list[tuple] = []
        self.prompted: set[int] = set()

    def click(self, frame_index: int, click: Click, stamp: datetime) -> np.ndarray:
        self.calls.append(("click", frame_index, click.label, stamp))
        self.prompted.add(frame_index)
        return self.gt[frame_index]

    def mask(self, frame_index: int, mask: np.ndarray, stamp: datetime) -> np.ndarray:
        self.calls.append(("mask", frame_index, int(mask.sum()), stamp))
        self.prompted.add(frame_index)
        return mask

    def propagate(self, frame_index: int, direction: str, stamp: datetime) -> dict[int, np.ndarray]:
        self.calls.append(("propagate", frame_index, direction, stamp))
        out = {}
        for f in range(self.gt.shape[0]):
            distance = min(abs(f - p) for p in self.prompted)
            # An absent object is tracked where it was last seen (the propagation's typical miss).
            source = self.gt[f] if self.gt[f].any() else self.gt[max(g for g in range(f) if self.gt[g].any())]
            out[f] = self.gt[f] if f in self.prompted else np.roll(source, self.drift * distance, axis=1)
        return out


def moving_square(frames: int = 6, size: int = 40) -> np.ndarray:
    return np.stack([rect(size, size, 10, 26, 4 + 2 * f, 20 + 2 * f) for f in range(frames)])


def test_phase1_clicks_every_frame_once_each_and_never_propagates() -> None:
    gt = moving_square()
    session, clock = FakeSession(gt), SimClock(start=T0)
    outcome = annotate_object(session, gt, clock, phase=1)
    assert outcome.clicks_per_frame == {f: 1 for f in range(6)} and outcome.propagations == 0
    assert all(call[0] == "click" and call[2] == 1 for call in session.calls)
    assert clock.seconds == pytest.approx(6 * (LOCATE_S + CLICK_S))
    assert [s.stamp for s in outcome.sent] == [T0 + timedelta(seconds=2.5 * f) for f in range(6)]


class SpillSession(FakeSession):
    """Clicks answer the GT spilled 2 px to the right (IoU 0.89 on a 16-px square)."""

    def click(self, frame_index: int, click: Click, stamp: datetime) -> np.ndarray:
        super().click(frame_index, click, stamp)
        return self.gt[frame_index] | np.roll(self.gt[frame_index], 2, axis=1)


def test_phase1_brushes_a_clicked_frame_up_to_the_brush_target_and_pays_a_stroke() -> None:
    gt = moving_square()
    session, clock = SpillSession(gt), SimClock(start=T0)
    outcome = annotate_object(session, gt, clock, phase=1, policy=Policy(target_iou=0.85, brush_iou=0.95))
    assert [c[0] for c in session.calls] == ["click", "mask"] * 6  # one click, then one eraser stroke
    assert outcome.strokes_per_frame == {f: 1 for f in range(6)} and outcome.prompted_frames == set(range(6))
    assert all(np.array_equal(outcome.masks[f], gt[f]) for f in range(6))  # the spill erased
    assert clock.seconds == pytest.approx(6 * (LOCATE_S + CLICK_S + STROKE_S))
    assert [s.kind for s in outcome.sent[:2]] == ["click+", "mask"]
    assert outcome.sent[1].stamp == T0 + timedelta(seconds=LOCATE_S + CLICK_S)  # stamped when painting starts
    # Without the brush, the clicked masks are what phase 1 keeps.
    outcome = annotate_object(SpillSession(gt), gt, SimClock(start=T0), phase=1,
                              policy=Policy(target_iou=0.85, brush_iou=None))
    assert outcome.strokes == 0 and not np.array_equal(outcome.masks[0], gt[0])


def test_phase2_brushes_its_new_masks_phase3_never_brushes() -> None:
    gt = moving_square()
    session = SpillSession(gt, drift=0)
    outcome = annotate_object(session, gt, SimClock(start=T0), phase=2, policy=Policy(target_iou=0.85))
    assert [c[0] for c in session.calls][:3] == ["click", "mask", "propagate"] and outcome.strokes == 1
    session = SpillSession(gt, drift=0)
    outcome = annotate_object(session, gt, SimClock(start=T0), phase=3, policy=Policy(target_iou=0.85))
    assert "mask" not in [c[0] for c in session.calls] and outcome.strokes == 0


@pytest.mark.parametrize("phase", [2, 3])
def test_phases_2_and_3_click_propagate_and_correct_the_worst_frames(phase: int) -> None:
    gt = moving_square()
    session, clock = FakeSession(gt, drift=3), SimClock(start=T0)
    outcome = annotate_object(session, gt, clock, phase=phase, policy=Policy(accept_iou=0.75, max_passes=5))
    kinds = [c[0] for c in session.calls]
    assert kinds[0] == "click" and kinds[1] == "propagate" and kinds[-1] == "propagate"
    # Drift 3 px per frame on a 16-px square: a frame 2+ away from a prompt drops below 0.75.
    assert outcome.passes >= 1 and outcome.propagations == outcome.passes + 1
    assert outcome.clicks_per_frame[0] == 1 and len(outcome.clicks_per_frame) == outcome.passes + 1
    ious = [(gt[f] & outcome.masks[f]).sum() / (gt[f] | outcome.masks[f]).sum() for f in range(6)]
    assert min(ious) >= 0.75
    # Time: clicks (1 s + 1.5 s each), one examination of 6 frames per propagation.
    expected = len(outcome.clicks_per_frame) * (LOCATE_S + CLICK_S) + outcome.propagations * examine_seconds(6)
    assert clock.seconds == pytest.approx(expected)
    assert [s.kind for s in outcome.sent] == ["click+" if k == "click" else "propagate" for k in kinds]


def test_phase2_erases_a_frame_where_the_object_is_absent_phase3_clicks_it_away() -> None:
    gt = moving_square()
    gt[3] = False  # hidden on frame 3: the propagation still shows it there
    session = FakeSession(gt, drift=0)
    outcome = annotate_object(session, gt, SimClock(start=T0), phase=2)
    assert outcome.erased_frames == [3] and ("mask", 3, 0) in [c[:3] for c in session.calls]
    assert 3 not in outcome.clicks_per_frame and outcome.prompted_frames == {0, 3}
    assert not outcome.masks[3].any() and outcome.propagations == 2
    session = FakeSession(gt, drift=0)
    outcome = annotate_object(session, gt, SimClock(start=T0), phase=3)
    assert outcome.erased_frames == [] and ("click", 3, 0) in [c[:3] for c in session.calls]


def test_corrections_stop_at_the_pass_budget() -> None:
    gt = moving_square(frames=8)
    session = FakeSession(gt, drift=8)
    outcome = annotate_object(session, gt, SimClock(start=T0), phase=3, policy=Policy(max_passes=2))
    assert outcome.passes == 2 and outcome.propagations == 3


def test_annotated_frames_map_to_source_frames_by_their_timestamps() -> None:
    # 24 fps sampled at 6 fps: every 4th frame; times are relative to the first decoded frame.
    assert source_indices(timestamps=[0.5, 0.5 + 1 / 6, 0.5 + 2 / 6], source_fps=24.0, frame_count=3) == [0, 4, 8]
    with pytest.raises(ValueError):
        source_indices(timestamps=[], source_fps=24.0, frame_count=3)


# ---- End to end: the REST API, a real Celery worker, PostgreSQL, Redis, S3 ----------------------

E2E_SIZE = (64, 96)  # height, width
E2E_SOURCE_FRAMES = 16  # 4 annotated frames at 6 fps
E2E_POLICY = Policy(target_iou=0.9, accept_iou=0.75, max_clicks=3, max_passes=2)


def micro_checkpoint_bytes() -> bytes:
    """The micro model, random weights, except that its object-score head calls objects present."""
    import tempfile
    from pathlib import Path

    import torch

    import engine

    torch.manual_seed(0)
    model = engine.load_model("micro")
    with torch.no_grad():
        model.sam_mask_decoder.pred_obj_score_head.layers[2].bias.fill_(10.0)
    with tempfile.TemporaryDirectory() as folder:
        return engine.save_model(model, Path(folder) / "m.safetensors").read_bytes()


@pytest.fixture
def sim_project(live_platform, live_server, settings):
    """``make(phase)``: a project of that phase on a micro model version in storage."""
    import uuid

    from annotation.models import ModelVersion
    from dataplatform import storage
    from dataplatform.models import Project

    settings.ENGINE_SESSION_REPLY_TIMEOUT = 10.0

    def make(phase: int) -> Project:
        name = f"sim-micro-{uuid.uuid4().hex[:6]}"
        key = storage.put_bytes(storage.checkpoint_key(name), micro_checkpoint_bytes())
        version = ModelVersion.objects.create(name=name, config_name="micro", checkpoint_key=key)
        return Project.objects.create(name=f"Simulation {name}", phase=phase, model_version=version)

    return make


def e2e_config(phase: int, project) -> SimulationConfig:
    return SimulationConfig(phase=phase, videos=1, seed=7, project=project.name, height=E2E_SIZE[0],
                            width=E2E_SIZE[1], source_frames=E2E_SOURCE_FRAMES, min_objects=2, max_objects=2,
                            policy=E2E_POLICY, job_timeout=300)


def assert_interactions_match(result) -> None:
    """The platform's Interaction rows are what the client sent, with its timestamps."""
    from annotation.models import Interaction

    for record in result.tasks:
        rows = list(Interaction.objects.filter(task_id=record.task_id).order_by("id"))
        sent = [(r.kind, r.frame_index, r.client_timestamp) for r in rows
                if r.kind in ("click+", "click-", "mask", "propagate")]
        assert sent == [(s.kind, s.frame_index, s.stamp) for s in record.outcome.sent]
        assert all(r.object_number == record.object_number for r in rows if r.kind.startswith("click"))
        submit = [r for r in rows if r.kind == "submit"]
        assert len(submit) == 1 and rows[-1] == submit[0]
        assert submit[0].payload["masklets"][0]["masklet"] == record.masklet_id
        # The platform's task duration is the time model's total.
        duration = (submit[0].client_timestamp - min(r.client_timestamp for r in rows)).total_seconds()
        assert duration == pytest.approx(record.seconds, abs=1e-3)


def assert_metrics_match(result, phase: int, *, frames_per_task: int) -> object:
    """The phase's row of the platform's metrics, checked against what the client did."""
    (row,) = result.metrics
    assert row.key == phase and row.tasks == len(result.tasks) == 2 and row.masklets == 2
    assert row.frames == frames_per_task * 2
    assert row.time_per_frame_s == pytest.approx(sum(r.seconds for r in result.tasks) / row.frames)
    clicks = sum(r.outcome.clicks for r in result.tasks)
    clicked = sum(len(r.outcome.clicks_per_frame) for r in result.tasks)
    assert row.clicks_per_clicked_frame == pytest.approx(clicks / clicked)
    assert 1 <= row.clicks_per_clicked_frame <= E2E_POLICY.max_clicks
    edited = sum(len(r.outcome.prompted_frames) for r in result.tasks)
    assert row.edited_frames_percent == pytest.approx(100 * edited / row.frames)
    assert row.alignment_percent is None  # no phase-1 revision of these masklets
    return row


def check_report(result, phase: int) -> list[str]:
    lines = report_lines(result)
    print("\n".join(lines))  # shown with -s
    assert any(line.startswith(f"phase {phase}") for line in lines)
    assert any("J&F" in line for line in lines)
    assert 0 <= result.jf <= 100 and 0 <= result.mean_iou <= 100
    return lines


@pytest.mark.slow
@pytest.mark.timeout(900)
def test_phase1_end_to_end_every_frame_clicked_nothing_propagated(sim_project, live_server) -> None:
    from annotation.models import Interaction

    project = sim_project(1)
    result = run_simulation(e2e_config(1, project), base_url=live_server.url)
    assert_interactions_match(result)
    assert not Interaction.objects.filter(task__video__project=project, kind="propagate").exists()
    row = assert_metrics_match(result, 1, frames_per_task=E2E_SOURCE_FRAMES // 4)
    assert row.edited_frames_percent == pytest.approx(100.0)  # the synthetic objects stay in view
    check_report(result, 1)


@pytest.mark.slow
@pytest.mark.timeout(900)
def test_phase2_end_to_end_clicks_then_mask_propagation(sim_project, live_server) -> None:
    from annotation.models import Interaction

    project = sim_project(2)
    result = run_simulation(e2e_config(2, project), base_url=live_server.url)
    assert_interactions_match(result)
    assert not Interaction.objects.filter(task__video__project=project, kind="box").exists()
    for record in result.tasks:  # a mask prompt: the eraser on an absent object, or a clicked frame brushed
        for sent in (s for s in record.outcome.sent if s.kind == "mask"):
            assert sent.frame_index in record.outcome.erased_frames + list(record.outcome.strokes_per_frame)
    for record in result.tasks:
        assert record.outcome.propagations == record.outcome.passes + 1 >= 1
    assert_metrics_match(result, 2, frames_per_task=E2E_SOURCE_FRAMES // 4)
    check_report(result, 2)


@pytest.mark.slow
@pytest.mark.timeout(900)
def test_phase3_end_to_end_through_the_command(sim_project, live_server) -> None:
    from io import StringIO

    from django.core.management import call_command

    from annotation.models import AnnotationTask, Interaction
    from annotation.selectors.metrics import engine_metrics

    project = sim_project(3)
    out = StringIO()
    call_command("simulate_annotation", phase=3, videos=1, seed=7, base_url=live_server.url, project=project.name,
                 size=f"{E2E_SIZE[1]}x{E2E_SIZE[0]}", frames=E2E_SOURCE_FRAMES, objects="2", max_clicks=3,
                 max_passes=2, stdout=out)
    text = out.getvalue()
    tasks = AnnotationTask.objects.filter(video__project=project)
    assert tasks.count() == 2 and all(t.status == AnnotationTask.Status.SUBMITTED for t in tasks)
    propagations = Interaction.objects.filter(task__in=tasks, kind="propagate")
    assert propagations.count() >= 2 and all(p.payload.get("job") for p in propagations)
    (row,) = engine_metrics(group_by="phase", project=project)
    assert row.key == 3 and row.tasks == 2 and row.clicks_per_clicked_frame >= 1
    phase_lines = [line for line in text.splitlines() if line.startswith("phase 3")]
    assert len(phase_lines) == 1 and f"{row.time_per_frame_s:.1f} s" in phase_lines[0]
    assert "submitted masks vs ground truth: J&F" in text
