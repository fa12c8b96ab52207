"""The dashboard's figures besides Table 1 (throughput per day, acceptance rates, automatic against
manual masklets) on crafted rows, against answers computed by hand."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest

from annotation.models import AnnotationTask, Interaction, Masklet, Review
from annotation.selectors.dashboard import dashboard
from dataplatform.models import Project
from tests.annotation.conftest import error_of

pytestmark = pytest.mark.django_db

TODAY = date(2026, 3, 10)


def _at(day: date, hour: int = 12) -> datetime:
    return datetime(day.year, day.month, day.day, hour, tzinfo=UTC)


def _submit(task, user, masklets, when: datetime) -> None:
    listed = [{"masklet": m.pk, "revision": m.current_revision_id} for m in masklets]
    row = Interaction.objects.create(task=task, user=user, kind="submit", phase=task.phase,
                                     payload={"masklets": listed})
    Interaction.objects.filter(pk=row.pk).update(server_timestamp=when)  # auto_now_add: set afterwards


def _review(masklet, reviewer, decision: str, when: datetime) -> None:
    review = Review.objects.create(revision=masklet.current_revision, reviewer=reviewer, decision=decision,
                                   reason="" if decision == "accept" else "Wrong object")
    Review.objects.filter(pk=review.pk).update(created_at=when)
    Masklet.objects.filter(pk=masklet.pk).update(
        status=Masklet.Status.ACCEPTED if decision == "accept" else Masklet.Status.REJECTED)


@pytest.fixture
def rows(project, video_factory, user_factory, masklet_factory):
    """In ``project``: video A (3 frames), video B (10 frames); in another project, video C (5 frames).

    Submits (last per task counts, by the server's day):
    - t1 on A: Mar 8 with masklets m1, m2, then again Mar 9 with m1 only → Mar 9: 1 masklet, 3 frames.
    - t2 on B: Mar 9 with m3 → Mar 9: +1 masklet, +10 frames.
    - t3 on A: Mar 10 with m4 → Mar 10: 1 masklet, 3 frames.
    - t4 on A: Feb 1 (outside a 30-day window).
    - t5 on C (other project): Mar 10 with m6, 5 frames.
    Reviews: m1 (phase 1, manual) accept Mar 9; m2 (phase 3, manual) reject Mar 9; m3 (phase 3,
    manual) accept Mar 10; m5 (auto, phase 3) accept Mar 10; a5 (auto, phase None) reject Mar 10;
    m4 (phase 3, manual) accept Feb 1 (outside the window); m6 (other project) accept Mar 10.
    Still in draft: a6 (auto); submitted: nothing else.
    """
    annotator, reviewer = user_factory("annotator"), user_factory("reviewer")
    other = Project.objects.create(name="Other")
    a, b = video_factory(ready=True), video_factory(ready=True, frame_count=10)
    c = video_factory(project=other, ready=True, frame_count=5)
    m1 = masklet_factory(a, author=annotator, phase=1, status="submitted")
    m2 = masklet_factory(a, author=annotator, phase=3, status="submitted")
    m3 = masklet_factory(b, author=annotator, phase=3, status="submitted")
    m4 = masklet_factory(a, author=annotator, phase=3, status="submitted")
    m5 = masklet_factory(b, kind="auto", phase=3)
    a5 = masklet_factory(b, kind="auto", phase=None)
    masklet_factory(b, kind="auto", phase=3)  # a6: a draft candidate nobody reviewed
    m6 = masklet_factory(c, author=annotator, phase=3, status="submitted")
    t1, t2, t3, t4, t5 = (AnnotationTask.objects.create(video=v, phase=3, status="submitted")
                          for v in (a, b, a, a, c))
    _submit(t1, annotator, [m1, m2], _at(date(2026, 3, 8)))
    _submit(t1, annotator, [m1], _at(date(2026, 3, 9), 8))
    _submit(t2, annotator, [m3], _at(date(2026, 3, 9), 23))
    _submit(t3, annotator, [m4], _at(date(2026, 3, 10), 0))
    _submit(t4, annotator, [m4], _at(date(2026, 2, 1)))
    _submit(t5, annotator, [m6], _at(date(2026, 3, 10)))
    _review(m1, reviewer, "accept", _at(date(2026, 3, 9)))
    _review(m2, reviewer, "reject", _at(date(2026, 3, 9)))
    _review(m3, reviewer, "accept", _at(date(2026, 3, 10)))
    _review(m5, reviewer, "accept", _at(date(2026, 3, 10)))
    _review(a5, reviewer, "reject", _at(date(2026, 3, 10)))
    _review(m4, reviewer, "accept", _at(date(2026, 2, 1)))
    _review(m6, reviewer, "accept", _at(date(2026, 3, 10)))
    return project


def test_throughput_per_day_counts_each_task_once_on_its_last_submit(rows):
    figures = dashboard(days=3, project=rows, today=TODAY)
    assert (figures.start, figures.end) == (date(2026, 3, 8), TODAY)
    days = [(d.date.day, d.masklets_submitted, d.masklets_accepted, d.frames_annotated)
            for d in figures.throughput]
    assert days == [
        (8, 0, 0, 0),  # t1's first submit was replaced by its second
        (9, 2, 1, 13),  # t1 (m1, 3 frames) and t2 (m3, 10 frames); m1 accepted
        (10, 1, 2, 3),  # t3 (m4, 3 frames); m3 and m5 accepted
    ]


def test_throughput_window_has_a_row_for_every_day_and_all_projects_without_a_filter(rows):
    figures = dashboard(days=30, today=TODAY)
    assert len(figures.throughput) == 30 and figures.throughput[0].date == date(2026, 2, 9)
    last = figures.throughput[-1]
    assert (last.masklets_submitted, last.masklets_accepted, last.frames_annotated) == (2, 3, 8)  # + t5, m6
    assert sum(d.masklets_submitted for d in figures.throughput) == 4  # t4 (Feb 1) is outside


def test_acceptance_rates_per_phase_and_per_kind(rows):
    figures = dashboard(days=30, project=rows, today=TODAY)
    by_phase = {r.key: (r.accepted, r.rejected, r.decided, r.rate) for r in figures.acceptance_by_phase}
    # Phase 3: m2 rejected, m3 and m5 accepted (m4's decision is outside the window); none: a5 rejected.
    assert by_phase == {1: (1, 0, 1, 1.0), 2: (0, 0, 0, None), 3: (2, 1, 3, pytest.approx(2 / 3)),
                        None: (0, 1, 1, 0.0)}
    assert [r.label for r in figures.acceptance_by_phase] == ["phase 1", "phase 2", "phase 3", "unrecorded"]
    by_kind = {r.key: (r.accepted, r.rejected, r.decided, r.rate) for r in figures.acceptance_by_kind}
    assert by_kind == {"manual": (2, 1, 3, pytest.approx(2 / 3)), "auto": (1, 1, 2, 0.5)}


def test_auto_against_manual_masklets_by_status(rows):
    figures = dashboard(days=1, project=rows, today=TODAY)
    kinds = [(r.kind, r.draft, r.submitted, r.accepted, r.rejected, r.total)
             for r in figures.masklets_by_kind]
    assert kinds == [
        ("manual", 0, 0, 3, 1, 4),  # m1, m3, m4 accepted; m2 rejected
        ("auto", 1, 0, 1, 1, 3),  # a6 draft, m5 accepted, a5 rejected
    ]


def test_dashboard_api_for_admins(rows, api_client_for, admin_user, reviewer):
    response = api_client_for(admin_user).get("/api/metrics/dashboard/", {"project": rows.pk, "days": 7})
    assert response.status_code == 200, response.content
    body = response.json()
    assert body["days"] == 7 and len(body["throughput"]) == 7
    assert set(body["throughput"][-1]) == {"date", "masklets_submitted", "masklets_accepted",
                                           "frames_annotated"}
    assert [r["phase"] for r in body["acceptance_by_phase"]][:3] == [1, 2, 3]
    assert [r["kind"] for r in body["acceptance_by_kind"]] == ["manual", "auto"]
    assert body["masklets_by_kind"][0] == {"kind": "manual", "draft": 0, "submitted": 0, "accepted": 3,
                                           "rejected": 1, "total": 4}
    assert api_client_for(reviewer).get("/api/metrics/dashboard/").status_code == 403


@pytest.mark.parametrize("query", [{"days": 0}, {"days": 367}, {"days": "x"}, {"project": 999999}])
def test_dashboard_api_refuses_bad_filters(query, api_client_for, admin_user):
    response = api_client_for(admin_user).get("/api/metrics/dashboard/", query)
    assert response.status_code == 400, response.content
    assert error_of(response)["message"]
