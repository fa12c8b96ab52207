"""The admin dashboard in the browser: Table 1 metrics as charts and a table, jobs, held-out J&F
per model version, and a video upload followed through its ingest job on a real Celery worker."""

from __future__ import annotations

import re

from django.utils import timezone
from playwright.sync_api import expect

from annotation.models import AnnotationTask
from dataplatform.media.synth import write_video
from dataplatform.models import Video
from tests.e2e.conftest import section, shot
from tests.e2e.seed import phase_metrics


def test_dashboard_shows_table_1_per_phase(transactional_db, page, login, user_factory, project):
    from annotation.models import ModelVersion

    phase_metrics(project, user_factory("annotator"))
    from annotation.models import RetrainingRound
    from dataplatform.models import Job

    active = ModelVersion.objects.create(name="sam2.1-tiny", config_name="sam2.1_hiera_t", is_active=True)
    job = Job.objects.create(kind=Job.Kind.RETRAINING, status=Job.Status.RUNNING, progress_done=50,
                             progress_total=200, result={"step": 50, "loss": 0.1234})
    RetrainingRound.objects.create(base_version=active, status=RetrainingRound.Status.TRAINING, job=job)
    retrained = ModelVersion.objects.create(name="round-1", config_name="sam2.1_hiera_t",
                                            metrics={"val": {"J&F": 0.612}})
    assert AnnotationTask.objects.count() == 3
    reviewed = review_some(project, user_factory("reviewer"))
    login(page, user_factory("admin"))
    page.get_by_role("heading", name="Admin dashboard").wait_for()
    charts = page.get_by_role("region", name="Data engine metrics (Table 1)").locator("svg.chart")
    charts.first.wait_for()
    assert charts.count() == 4
    time_chart = charts.nth(0).get_attribute("aria-label")
    assert "Phase 1 37.8 s (paper 37.8 s)" in time_chart, time_chart
    assert "Phase 3 4.50 s (paper 4.5 s)" in time_chart, time_chart
    table = page.get_by_role("table").filter(has_text="Clicks/clicked frame")
    table.get_by_role("row").filter(has_text="phase 3").wait_for()
    assert table.get_by_role("row").count() == 4  # the header and one row per phase
    first = table.get_by_role("row").nth(1).inner_text()
    assert "100 %" in first and "4.80" in first, first
    page.get_by_label("Table by").select_option("annotator")
    table.get_by_role("row").filter(has_text="annotator-").wait_for()
    check_throughput_and_verification(page, reviewed)

    section(page, "Retraining & models")
    rounds = page.get_by_role("region", name="Retraining rounds")
    rounds.get_by_role("row").filter(has_text="sam2.1-tiny").filter(has_text="training").wait_for()
    assert "50/200 loss 0.1234" in rounds.inner_text()
    expect(rounds.get_by_label("Base version")).to_have_value(str(active.pk))  # once the versions loaded
    rounds.get_by_text("No held-out J&F yet").wait_for()  # round-1's metrics hold no per-protocol J&F
    models = page.get_by_role("region", name="Model versions")
    models.get_by_text("val J&F 0.612").wait_for()
    page.on("dialog", lambda dialog: dialog.accept())
    models.get_by_role("button", name="Promote round-1").click()
    models.get_by_role("listitem").filter(has_text="round-1").get_by_text("active").wait_for()
    retrained.refresh_from_db()
    assert retrained.is_active

    section(page, "Videos")
    page.get_by_role("button", name="Queue a task: phase-1.mp4").click()
    page.get_by_text("A task on “phase-1.mp4” is in the annotation queue.").wait_for()
    assert AnnotationTask.objects.filter(video__name="phase-1.mp4").count() == 2


def held_out(mask: float, click: float) -> dict:
    """J&F per protocol as a retraining round records it (annotation.services.retraining)."""
    return {protocol: {"jf": jf, "j": jf - 1, "f": jf + 1, "objects": 4}
            for protocol, jf in (("mask", mask), ("1-click", click))}


def test_retraining_panel_plots_held_out_jf_per_version(transactional_db, page, login, user_factory):
    """Table 2's analog: a line per protocol over the versions, the shipped one at its base figures,
    redrawn when a running round finishes."""
    from annotation.models import ModelVersion, RetrainingRound
    from dataplatform.models import Job

    shipped = ModelVersion.objects.create(name="micro", config_name="micro", is_active=True)
    first = ModelVersion.objects.create(name="micro-round-1", config_name="micro", parent=shipped, metrics={
        "val": held_out(80.1, 60.0), "val_base": held_out(74.8, 58.4), "val_videos": 2, "steps": 200})
    job = Job.objects.create(kind=Job.Kind.RETRAINING, status=Job.Status.RUNNING, progress_done=10,
                             progress_total=200, result={"step": 10})
    running = RetrainingRound.objects.create(base_version=first, status=RetrainingRound.Status.TRAINING, job=job)
    login(page, user_factory("admin"))
    section(page, "Retraining & models")
    rounds = page.get_by_role("region", name="Retraining rounds")
    chart = rounds.locator("svg.chart")
    chart.wait_for()
    label = chart.get_attribute("aria-label")
    assert label == ("Held-out J&F (%) per model version, micro to micro-round-1: "
                     "mask micro 74.8, micro-round-1 80.1; 1-click micro 58.4, micro-round-1 60.0"), label
    assert chart.locator("polyline").count() == 2 and chart.locator("circle").count() == 4

    second = ModelVersion.objects.create(name="micro-round-2", config_name="micro", parent=first, metrics={
        "val": held_out(85.0, 62.2), "val_base": held_out(80.1, 60.0), "val_videos": 2, "steps": 200})
    Job.objects.filter(pk=job.pk).update(status=Job.Status.SUCCEEDED, finished_at=timezone.now())
    RetrainingRound.objects.filter(pk=running.pk).update(status=RetrainingRound.Status.SUCCEEDED,
                                                          resulting_version=second, finished_at=timezone.now())
    rounds.locator("svg.chart[aria-label*='micro-round-2 85.0']").wait_for()  # the panel polls rounds
    label = chart.get_attribute("aria-label")
    assert "mask micro 74.8, micro-round-1 80.1, micro-round-2 85.0" in label, label
    assert "1-click micro 58.4, micro-round-1 60.0, micro-round-2 62.2" in label, label
    assert rounds.get_by_label("Base version").input_value() == str(shipped.pk)


def review_some(project, reviewer) -> dict:
    """Phase 1's masklet accepted, phase 2's rejected (today); one automatic candidate in draft."""
    from annotation.models import Masklet, Review
    from annotation.services.masklets import masklet_create, masklet_revision_create

    for phase, decision in ((1, "accept"), (2, "reject")):
        masklet = Masklet.objects.get(video__name=f"phase-{phase}.mp4")
        Review.objects.create(revision=masklet.current_revision, reviewer=reviewer, decision=decision,
                              reason="" if decision == "accept" else "Wrong object")
        status = "accepted" if decision == "accept" else "rejected"
        Masklet.objects.filter(pk=masklet.pk).update(status=status)
    auto = masklet_create(video=Video.objects.get(name="phase-3.mp4"), kind="auto")
    masklet_revision_create(masklet=auto, masks={}, phase=3)
    return {"submitted": 3, "accepted": 1, "frames": 30}


def check_throughput_and_verification(page, seeded: dict) -> None:
    """The second card: throughput per day, acceptance per phase and kind, auto vs manual."""
    figures = page.get_by_role("region", name="Throughput and verification")
    charts = figures.locator("svg.chart")
    charts.nth(4).wait_for()
    labels = [charts.nth(i).get_attribute("aria-label") for i in range(charts.count())]
    assert len(labels) == 5, labels
    per_day, frames, by_phase, by_kind, kinds = labels
    assert per_day.startswith("Masklets per day"), per_day
    assert f"submitted {seeded['submitted']} in all" in per_day, per_day
    assert f"accepted {seeded['accepted']} in all" in per_day, per_day
    assert f"frames {seeded['frames']} in all" in frames, frames
    # Today's point is drawn: the last dot of each line, at the end of the window.
    assert charts.nth(0).locator("polyline").count() == 2 and charts.nth(0).locator("circle").count() == 2
    assert "phase 1 (1) 100.0 %" in by_phase and "phase 2 (1) 0.00 %" in by_phase, by_phase
    assert "phase 3 (0) —" in by_phase, by_phase
    assert "Manual (2) 50.0 %" in by_kind and "Auto (0) —" in by_kind, by_kind
    assert "manual 0 draft, 1 submitted, 1 accepted, 1 rejected" in kinds, kinds
    assert "auto 1 draft, 0 submitted, 0 accepted, 0 rejected" in kinds, kinds
    assert charts.nth(4).locator("rect.segment[data-part='accepted'][data-value='1']").count() == 1
    page.get_by_label("Window").select_option("7")
    figures.get_by_text(re.compile(r"^From \d{4}-\d\d-\d\d")).wait_for()


def test_admin_uploads_a_video_and_follows_its_ingest(live_platform, page, login, user_factory, project, tmp_path):
    path = tmp_path / "walk.mp4"
    write_video(path, fps=24, frames=48, width=320, height=240)
    login(page, user_factory("admin"))
    page.get_by_role("heading", name="Admin dashboard").wait_for()
    section(page, "Videos")
    page.get_by_label("Project").select_option(str(project.pk))
    page.get_by_label("Video file").set_input_files(str(path))
    page.get_by_role("button", name="Upload").click()
    page.get_by_text(re.compile(r"“walk\.mp4” is ready: \d+ frames at 320×240\.")).wait_for(timeout=90_000)
    assert page.get_by_label("Upload progress").evaluate("bar => bar.value") == 100
    assert page.get_by_label("Ingest progress").evaluate("bar => bar.value") == 100
    video = Video.objects.get(name="walk.mp4")
    assert video.status == Video.Status.READY and f"ready: {video.frame_count} frames" in page.content()
    page.get_by_role("table").filter(has_text="Split").get_by_text("walk.mp4").wait_for()
    page.locator("img.thumb").first.wait_for()
    section(page, "Jobs")
    jobs = page.get_by_role("table").filter(has_text="Progress")
    jobs.locator("tr[data-status='succeeded']").first.wait_for()
    section(page, "Metrics")
    page.get_by_role("region", name="Throughput and verification").locator("svg.chart").first.wait_for()
    shot(page, "admin-upload")
