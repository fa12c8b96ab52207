"""The Table 1 metrics on crafted interaction rows, against answers computed by hand."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from django.core.management import call_command

from annotation.models import AnnotationTask, Interaction, ModelVersion
from annotation.selectors.metrics import engine_metrics, mean_frame_iou
from dataplatform.models import Project
from tests.annotation.conftest import box_mask

pytestmark = pytest.mark.django_db

T0 = datetime(2026, 3, 1, 9, 0, tzinfo=UTC)


def _at(seconds: float) -> datetime:
    return T0 + timedelta(seconds=seconds)


def _interactions(task, user, rows, *, model_version=None):
    for kind, frame, obj, second in rows:
        Interaction.objects.create(task=task, user=user, kind=kind, frame_index=frame, object_number=obj,
                                   client_timestamp=_at(second), phase=task.phase, model_version=model_version)


def _submit(task, user, revisions, second, *, model_version=None):
    Interaction.objects.create(
        task=task, user=user, kind="submit", client_timestamp=_at(second), phase=task.phase,
        model_version=model_version,
        payload={"masklets": [{"masklet": r.masklet_id, "revision": r.pk} for r in revisions]})


@pytest.fixture
def engine_rows(project, video_factory, user_factory, masklet_factory):
    """Phase 1 (user one, video A of 3 frames) and phase 3 (user two on video B of 10 frames in
    another project; user one on video A), one unsubmitted task. Hand-computed answers below."""
    one, two = user_factory("annotator", username="one"), user_factory("annotator", username="two")
    other = Project.objects.create(name="Other")
    video_a = video_factory(ready=True)  # 3 frames
    video_b = video_factory(project=other, ready=True, frame_count=10)
    v1 = ModelVersion.objects.create(name="sam2-round-1", config_name="micro")

    # Phase 1: 60 s on 3 frames; clicks 4 over clicked (object, frame) (0,0), (0,1), (1,1): 4/3.
    t1 = AnnotationTask.objects.create(video=video_a, phase=1, status="submitted")
    _interactions(t1, one, [("click+", 0, 0, 0), ("click+", 0, 0, 10), ("click-", 1, 0, 20), ("click+", 1, 1, 30),
                            ("mask", 2, 0, 40)])
    r1 = masklet_factory(video_a, author=one, phase=1, edited_frames=[0, 1, 2]).current_revision
    _submit(t1, one, [r1], 60)

    # Phase 3 on video B: 45 s on 10 frames; 3 clicks on one (object, frame); edited 2 + 1 of 20.
    t3 = AnnotationTask.objects.create(video=video_b, phase=3, status="submitted")
    _interactions(t3, two, [("click+", 2, 0, 0), ("click-", 2, 0, 5), ("click-", 2, 0, 6), ("propagate", None, 0, 7)],
                  model_version=v1)
    aligned = masklet_factory(video_b, phase=1, masks={"0": box_mask(0, 0, 10, 10)})
    aligned = masklet_factory(video_b, masklet=aligned, author=two, phase=3, edited_frames=[2, 5],
                              masks={"0": box_mask(0, 0, 10, 9)})  # IoU 90/100 on frame 0 only: 0.9
    borderline = masklet_factory(video_b, phase=1, masks={"0": box_mask(0, 0, 10, 10), "1": box_mask(0, 0, 10, 10)})
    borderline = masklet_factory(video_b, masklet=borderline, author=two, phase=3, edited_frames=[2],
                                 masks={"0": box_mask(0, 0, 10, 5), "1": box_mask(0, 0, 10, 10)})  # (0.5+1)/2
    _submit(t3, two, [aligned.current_revision, borderline.current_revision], 45, model_version=v1)

    # Phase 3 on video A by user one: 12 s on 3 frames, 1 click on 1 frame, no masklet.
    t3b = AnnotationTask.objects.create(video=video_a, phase=3, status="submitted")
    _interactions(t3b, one, [("click+", 0, 4, 100)])
    _submit(t3b, one, [], 112)

    # Not submitted: ignored everywhere.
    open_task = AnnotationTask.objects.create(video=video_a, phase=3)
    _interactions(open_task, two, [("click+", 0, 0, 0), ("click+", 1, 0, 500)])
    return {"one": one, "two": two, "other": other, "v1": v1}


def _row(rows, key):
    return next(row for row in rows if row.key == key)


def test_per_phase(engine_rows):
    rows = engine_metrics(group_by="phase")
    assert [row.key for row in rows] == [1, 3]
    phase1, phase3 = rows
    assert (phase1.tasks, phase1.masklets, phase1.frames) == (1, 1, 3)
    assert phase1.time_per_frame_s == pytest.approx(20.0)
    assert phase1.edited_frames_percent == pytest.approx(100.0)
    assert phase1.clicks_per_clicked_frame == pytest.approx(4 / 3)
    assert (phase1.alignment_percent, phase1.alignment_pairs) == (None, 0)  # phase 1 is the reference
    assert phase1.paper["time_per_frame_s"] == 37.8

    assert (phase3.tasks, phase3.masklets, phase3.frames) == (2, 2, 13)
    assert phase3.time_per_frame_s == pytest.approx((45 + 12) / 13)
    assert phase3.edited_frames_percent == pytest.approx(100 * 3 / 20)
    assert phase3.clicks_per_clicked_frame == pytest.approx((3 + 1) / (1 + 1))
    assert (phase3.alignment_percent, phase3.alignment_pairs) == (50.0, 2)  # 0.9 aligned; 0.75 is not > 0.75
    assert phase3.paper["alignment_percent"] == 89.1


def test_per_annotator(engine_rows):
    rows = engine_metrics(group_by="annotator")
    one, two = _row(rows, engine_rows["one"].pk), _row(rows, engine_rows["two"].pk)
    assert (one.label, one.tasks, one.masklets, one.frames) == ("one", 2, 1, 6)
    assert one.time_per_frame_s == pytest.approx((60 + 12) / 6)
    assert one.clicks_per_clicked_frame == pytest.approx((4 + 1) / (3 + 1))
    assert one.edited_frames_percent == pytest.approx(100.0)
    assert one.alignment_percent is None and one.paper is None
    assert (two.label, two.tasks, two.masklets, two.frames) == ("two", 1, 2, 10)
    assert two.time_per_frame_s == pytest.approx(4.5)
    assert two.clicks_per_clicked_frame == pytest.approx(3.0)


def test_per_model_version_and_per_project(engine_rows, project):
    rows = engine_metrics(group_by="model_version")
    assert [(row.key, row.label, row.tasks) for row in rows] == [(engine_rows["v1"].pk, "sam2-round-1", 1),
                                                                 (None, "unrecorded", 2)]
    here = engine_metrics(group_by="phase", project=project)
    assert [(row.key, row.tasks, row.frames) for row in here] == [(1, 1, 3), (3, 1, 3)]
    assert here[1].time_per_frame_s == pytest.approx(4.0)
    assert engine_metrics(project=engine_rows["other"])[0].alignment_pairs == 2


def test_no_submitted_work_no_rows(db):
    assert engine_metrics() == []
    with pytest.raises(ValueError, match="group_by"):
        engine_metrics(group_by="weather")


def test_mean_frame_iou_skips_frames_empty_on_both_sides():
    empty = box_mask(0, 0, 0, 0)
    assert mean_frame_iou({"0": empty, "1": empty}, {"0": empty, "1": empty}) == 1.0
    assert mean_frame_iou({"0": box_mask(0, 0, 4, 4), "1": empty}, {"0": box_mask(0, 0, 4, 2), "1": empty}) == 0.5
    assert mean_frame_iou({"0": box_mask(0, 0, 4, 4)}, {"0": empty}) == 0.0


def test_engine_report_prints_the_table_with_the_papers_figures(engine_rows, capsys):
    call_command("engine_report")
    out = capsys.readouterr().out
    assert "phase 1" in out and "phase 2" in out and "phase 3" in out and "7.4 s" in out
    assert "20.0" in out and "37.8" in out and "50.0 %" in out and "89.1 %" in out
    call_command("engine_report", "--project", "Other", "--group-by", "annotator")
    out = capsys.readouterr().out
    labels = [line.split()[0] for line in out.splitlines()[3:-1]]
    assert labels == ["two"]
