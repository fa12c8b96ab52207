"""The platform rows' consistency constraints hold in PostgreSQL itself, whatever the code does."""

from __future__ import annotations

import pytest
from django.db import IntegrityError, transaction
from django.utils import timezone

from dataplatform.models import Job, Project, Video

pytestmark = pytest.mark.django_db


def violates(constraint: str):
    """Expect PostgreSQL to refuse the write, naming ``constraint``."""
    return pytest.raises(IntegrityError, match=constraint)


def in_savepoint(write) -> None:
    with transaction.atomic():
        write()


# ---- Project ----------------------------------------------------------------------------------


def test_project_name_is_unique():
    Project.objects.create(name="Kitchen")
    with violates("name"):
        in_savepoint(lambda: Project.objects.create(name="Kitchen"))


@pytest.mark.parametrize("phase", [0, 4])
def test_project_phase_is_1_to_3(phase):
    with violates("project_phase_valid"):
        in_savepoint(lambda: Project.objects.create(name="P", phase=phase))


@pytest.mark.parametrize("fps", [0, -6])
def test_project_fps_is_positive(fps):
    with violates("project_annotation_fps_positive"):
        in_savepoint(lambda: Project.objects.create(name="P", annotation_fps=fps))


# ---- Video ------------------------------------------------------------------------------------


def ready_fields(**overrides) -> dict:
    fields = {"status": Video.Status.READY, "frame_count": 10, "width": 64, "height": 48, "source_fps": 24.0,
              "ready_at": timezone.now()}
    return {**fields, **overrides}


def test_a_complete_ready_video_is_accepted(project):
    Video.objects.create(project=project, name="v", source_uri="k", **ready_fields())


# A CHECK passes when it evaluates to NULL, and ``NULL > 0`` is NULL: the constraint spells out
# ``IS NOT NULL`` for width, height and source_fps, and these cases prove it.


@pytest.mark.parametrize("missing", [
    {"frame_count": 0}, {"height": 0}, {"width": 0}, {"source_fps": 0}, {"ready_at": None},
    {"width": None}, {"height": None}, {"source_fps": None},
])
def test_a_ready_video_must_be_complete(project, missing):
    with violates("video_ready_is_complete"):
        in_savepoint(lambda: Video.objects.create(project=project, name="v", source_uri="k",
                                                  **ready_fields(**missing)))


def test_a_video_cannot_be_marked_ready_by_an_update_alone(project):
    video = Video.objects.create(project=project, name="v", source_uri="k")
    with violates("video_ready_is_complete"):
        in_savepoint(lambda: Video.objects.filter(pk=video.pk).update(status=Video.Status.READY))


def test_a_failed_video_has_a_message(project):
    video = Video.objects.create(project=project, name="v", source_uri="k")
    with violates("video_failed_has_message"):
        in_savepoint(lambda: Video.objects.filter(pk=video.pk).update(status=Video.Status.FAILED))
    Video.objects.filter(pk=video.pk).update(status=Video.Status.FAILED, status_message="Not a video.")


# ---- Job --------------------------------------------------------------------------------------


def test_job_progress_stays_within_its_total():
    job = Job.objects.create(kind=Job.Kind.INGEST, progress_total=10)
    Job.objects.filter(pk=job.pk).update(progress_done=10)
    with violates("job_progress_within_total"):
        in_savepoint(lambda: Job.objects.filter(pk=job.pk).update(progress_done=11))
    # An unknown total (0) allows counting up.
    Job.objects.create(kind=Job.Kind.INGEST, progress_done=5, progress_total=0)


def test_a_failed_job_has_a_message():
    with violates("job_failed_has_message"):
        in_savepoint(lambda: Job.objects.create(kind=Job.Kind.EXPORT, status=Job.Status.FAILED,
                                                finished_at=timezone.now()))


@pytest.mark.parametrize("status", ["succeeded", "failed", "cancelled"])
def test_a_terminal_job_has_finished_at(status):
    with violates("job_finished_iff_terminal"):
        in_savepoint(lambda: Job.objects.create(kind=Job.Kind.EXPORT, status=status, message="m"))
    Job.objects.create(kind=Job.Kind.EXPORT, status=status, message="m", finished_at=timezone.now())


@pytest.mark.parametrize("status", ["queued", "running"])
def test_an_active_job_has_no_finished_at(status):
    with violates("job_finished_iff_terminal"):
        in_savepoint(lambda: Job.objects.create(kind=Job.Kind.EXPORT, status=status, finished_at=timezone.now()))


def test_deleting_a_project_takes_its_videos_and_jobs(project):
    video = Video.objects.create(project=project, name="v", source_uri="k")
    job = Job.objects.create(kind=Job.Kind.INGEST, video=video, project=project)
    project.delete()
    assert not Video.objects.filter(pk=video.pk).exists()
    assert not Job.objects.filter(pk=job.pk).exists()
