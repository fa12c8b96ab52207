"""Jobs: admins see all, others their own; filters; progress; cancel."""

from __future__ import annotations

import pytest
from django.utils import timezone

from dataplatform.models import Job, Project
from tests.dataplatform.conftest import error_of

pytestmark = pytest.mark.django_db


@pytest.fixture
def jobs(annotator, admin_user, project, video_factory, job_factory):
    video = video_factory()
    other_project = Project.objects.create(name="Elsewhere")
    return {
        "mine_ingest": job_factory(created_by=annotator, video=video, project=project),
        "mine_export": job_factory(kind=Job.Kind.EXPORT, created_by=annotator, project=other_project,
                                   status=Job.Status.SUCCEEDED),
        "admins": job_factory(kind=Job.Kind.RETRAINING, created_by=admin_user, status=Job.Status.FAILED),
        "video_only": job_factory(created_by=admin_user, video=video),  # project only through its video
        "system": job_factory(kind=Job.Kind.PROPAGATION, status=Job.Status.RUNNING, started_at=timezone.now(),
                              progress_done=5, progress_total=20),
    }


def _ids(response) -> set[int]:
    assert response.status_code == 200, response.content
    return {job["id"] for job in response.json()["results"]}


def test_admins_see_all_others_their_own(annotator, reviewer, admin_user, api_client_for, jobs):
    assert _ids(api_client_for(admin_user).get("/api/jobs/")) == {j.pk for j in jobs.values()}
    assert _ids(api_client_for(annotator).get("/api/jobs/")) == {jobs["mine_ingest"].pk, jobs["mine_export"].pk}
    assert _ids(api_client_for(reviewer).get("/api/jobs/")) == set()


def test_someone_elses_job_is_404(annotator, reviewer, admin_user, api_client_for, jobs):
    job = jobs["mine_ingest"]
    assert api_client_for(annotator).get(f"/api/jobs/{job.pk}/").status_code == 200
    assert api_client_for(admin_user).get(f"/api/jobs/{job.pk}/").status_code == 200
    response = api_client_for(reviewer).get(f"/api/jobs/{job.pk}/")
    assert response.status_code == 404 and error_of(response)["code"] == "not_found"
    assert api_client_for(reviewer).post(f"/api/jobs/{job.pk}/cancel/").status_code == 404


def test_filters(admin_user, api_client_for, jobs, project):
    client = api_client_for(admin_user)
    assert _ids(client.get("/api/jobs/?kind=export")) == {jobs["mine_export"].pk}
    assert _ids(client.get("/api/jobs/?status=failed")) == {jobs["admins"].pk}
    assert _ids(client.get(f"/api/jobs/?video={jobs['mine_ingest'].video_id}")) == {
        jobs["mine_ingest"].pk, jobs["video_only"].pk}
    assert _ids(client.get(f"/api/jobs/?project={project.pk}")) == {jobs["mine_ingest"].pk, jobs["video_only"].pk}
    assert _ids(client.get(f"/api/jobs/?project={project.pk}&status=running")) == set()


@pytest.mark.parametrize("query, field", [("kind=bake", "kind"), ("status=paused", "status"),
                                          ("video=x", "video"), ("project=-3", "project")])
def test_bad_filters_are_400(query, field, admin_user, api_client_for, jobs):
    response = api_client_for(admin_user).get(f"/api/jobs/?{query}")
    assert response.status_code == 400
    assert field in error_of(response)["fields"]


def test_detail_shows_progress_and_times(admin_user, api_client_for, jobs):
    body = api_client_for(admin_user).get(f"/api/jobs/{jobs['system'].pk}/").json()
    assert body["status"] == "running"
    assert body["progress"] == {"done": 5, "total": 20, "percent": 25.0}
    assert body["started_at"] and body["finished_at"] is None
    failed = api_client_for(admin_user).get(f"/api/jobs/{jobs['admins'].pk}/").json()
    assert failed["message"] == "It broke." and failed["finished_at"]
    assert failed["progress"]["percent"] is None  # total unknown
    done = api_client_for(admin_user).get(f"/api/jobs/{jobs['mine_export'].pk}/").json()
    assert done["progress"]["percent"] == 100.0


def test_owner_cancels_a_queued_job(annotator, api_client_for, jobs):
    job = jobs["mine_ingest"]
    response = api_client_for(annotator).post(f"/api/jobs/{job.pk}/cancel/")
    assert response.status_code == 200
    assert response.json()["status"] == "cancelled"
    job.refresh_from_db()
    assert job.status == Job.Status.CANCELLED and job.finished_at is not None


def test_admin_asks_a_running_job_to_stop(admin_user, api_client_for, jobs):
    job = jobs["system"]
    body = api_client_for(admin_user).post(f"/api/jobs/{job.pk}/cancel/").json()
    assert body["status"] == "running" and body["cancel_requested"] is True


def test_cancel_a_finished_job_is_409(annotator, api_client_for, jobs):
    response = api_client_for(annotator).post(f"/api/jobs/{jobs['mine_export'].pk}/cancel/")
    assert response.status_code == 409
    assert error_of(response)["code"] == "conflict"


def test_cancel_needs_post(annotator, api_client_for, jobs):
    response = api_client_for(annotator).get(f"/api/jobs/{jobs['mine_ingest'].pk}/cancel/")
    assert response.status_code == 405 and error_of(response)["code"] == "method_not_allowed"


def test_anonymous_gets_401(anon_client, jobs):
    for url in ["/api/jobs/", f"/api/jobs/{jobs['system'].pk}/"]:
        response = anon_client.get(url)
        assert response.status_code == 401 and error_of(response)["code"] == "not_authenticated"
    assert anon_client.post(f"/api/jobs/{jobs['system'].pk}/cancel/").status_code == 401
