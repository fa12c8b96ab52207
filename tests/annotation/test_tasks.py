"""The annotation task queue on the real PostgreSQL: leases, expiry, heartbeat, release, submit,
and the concurrency guarantees of ``task_next_for``."""

from __future__ import annotations

import threading
from datetime import timedelta

import pytest
from django.db import connection
from django.utils import timezone

from annotation.models import AnnotationTask, Interaction, Masklet
from annotation.services.tasks import (
    task_create,
    task_heartbeat,
    task_next_for,
    task_release,
    task_submit,
    tasks_create_for_video,
    tasks_expire_leases,
)
from dataplatform.errors import ApplicationError, ConflictError, ForbiddenError
from dataplatform.models import Project

pytestmark = pytest.mark.django_db


def _expire(task: AnnotationTask) -> None:
    AnnotationTask.objects.filter(pk=task.pk).update(lease_expires_at=timezone.now() - timedelta(seconds=1))


def test_tasks_take_the_phase_of_their_project(project, ready_video):
    Project.objects.filter(pk=project.pk).update(phase=2)
    ready_video.refresh_from_db()
    tasks = tasks_create_for_video(video=ready_video, count=3, priority=5)
    assert [(t.phase, t.status, t.priority, t.kind) for t in tasks] == [(2, "queued", 5, "annotate")] * 3


def test_tasks_need_a_ready_video_and_a_sane_count(video_factory, ready_video):
    with pytest.raises(ApplicationError, match="not ready"):
        tasks_create_for_video(video=video_factory())
    with pytest.raises(ApplicationError, match="count"):
        tasks_create_for_video(video=ready_video, count=0)


def test_next_leases_by_priority_then_age_and_returns_the_held_task(settings, ready_video, user_factory):
    settings.TASK_LEASE_SECONDS = 120
    old, urgent = task_create(video=ready_video), task_create(video=ready_video, priority=10)
    first, second = user_factory("annotator"), user_factory("annotator")
    leased = task_next_for(user=first)
    assert leased.pk == urgent.pk and leased.status == "leased" and leased.assignee == first
    remaining = (leased.lease_expires_at - timezone.now()).total_seconds()
    assert 110 < remaining <= 120
    assert task_next_for(user=first).pk == urgent.pk  # the held task comes back
    assert task_next_for(user=second).pk == old.pk
    assert task_next_for(user=user_factory("annotator")) is None


def test_next_filters_by_project_and_phase(project, video_factory, user_factory):
    other = Project.objects.create(name="Elsewhere", phase=1)
    here = task_create(video=video_factory(ready=True))
    there = task_create(video=video_factory(project=other, ready=True))
    assert there.phase == 1
    assert task_next_for(user=user_factory("annotator"), project=other).pk == there.pk
    assert task_next_for(user=user_factory("annotator"), phase=1) is None
    assert task_next_for(user=user_factory("annotator"), phase=3).pk == here.pk


def test_expired_leases_come_back_lazily_and_periodically(ready_video, user_factory):
    lazy, periodic = task_create(video=ready_video), task_create(video=ready_video)
    first, second, third = (user_factory("annotator") for _ in range(3))
    assert task_next_for(user=first).pk == lazy.pk
    assert task_next_for(user=second).pk == periodic.pk
    Interaction.objects.create(task=lazy, user=first, kind="click+", frame_index=0, phase=3)
    _expire(lazy)
    # Taken over by someone else on their next call, without any periodic task.
    assert task_next_for(user=third).pk == lazy.pk
    with pytest.raises(ConflictError, match="expired and it went to someone else"):
        task_heartbeat(task=lazy, user=first)
    with pytest.raises(ForbiddenError, match="not leased to you"):
        task_heartbeat(task=lazy, user=second)
    _expire(periodic)
    assert tasks_expire_leases() == [periodic.pk]
    periodic.refresh_from_db()
    assert (periodic.status, periodic.assignee, periodic.lease_expires_at) == ("queued", None, None)
    with pytest.raises(ConflictError, match="lease expired or was released"):
        task_submit(task=periodic, user=second)


def test_heartbeat_extends_and_revives_an_expired_lease_nobody_took(settings, ready_video, annotator):
    settings.TASK_LEASE_SECONDS = 60
    task = task_create(video=ready_video)
    task_next_for(user=annotator)
    _expire(task)
    task = task_heartbeat(task=task, user=annotator)
    assert task.status == "leased"
    assert 50 < (task.lease_expires_at - timezone.now()).total_seconds() <= 60


def test_release_returns_the_task_and_strangers_are_refused(ready_video, user_factory):
    task = task_create(video=ready_video)
    holder, stranger = user_factory("annotator"), user_factory("annotator")
    task_next_for(user=holder)
    with pytest.raises(ForbiddenError, match="not leased to you"):
        task_heartbeat(task=task, user=stranger)
    with pytest.raises(ForbiddenError):
        task_release(task=task, user=stranger)
    task = task_release(task=task, user=holder)
    assert (task.status, task.assignee, task.lease_expires_at) == ("queued", None, None)
    assert task_next_for(user=stranger).pk == task.pk


def test_submit_sends_the_users_masklets_to_verification(ready_video, annotator, masklet_factory):
    task = task_create(video=ready_video)
    task_next_for(user=annotator)
    mine = masklet_factory(ready_video, author=annotator, edited_frames=[0])
    someone_elses = masklet_factory(ready_video, author=None)
    stamp = timezone.now() - timedelta(seconds=3)
    task = task_submit(task=task, user=annotator, client_timestamp=stamp)
    assert (task.status, task.lease_expires_at) == ("submitted", None) and task.submitted_at
    assert Masklet.objects.get(pk=mine.pk).status == "submitted"
    assert Masklet.objects.get(pk=someone_elses.pk).status == "draft"
    submit = Interaction.objects.get(task=task)
    assert (submit.kind, submit.user, submit.phase, submit.client_timestamp) == ("submit", annotator, 3, stamp)
    assert submit.payload == {"masklets": [{"masklet": mine.pk, "revision": mine.current_revision_id}]}
    with pytest.raises(ConflictError, match="already submitted"):
        task_submit(task=task, user=annotator)


def test_submit_refuses_nothing_and_foreign_masklets(ready_video, video_factory, annotator, masklet_factory):
    task = task_create(video=ready_video)
    task_next_for(user=annotator)
    with pytest.raises(ApplicationError, match="Nothing to submit"):
        task_submit(task=task, user=annotator)
    foreign = masklet_factory(video_factory(ready=True), author=annotator)
    with pytest.raises(ForbiddenError, match=rf"Masklets \[{foreign.pk}\] are not this task's to submit"):
        task_submit(task=task, user=annotator, masklet_ids=[foreign.pk])
    task.refresh_from_db()
    assert task.status == "leased"


def test_reserved_rework_goes_to_its_author_first_and_stays_reserved(ready_video, user_factory, masklet_factory):
    author, other = user_factory("annotator"), user_factory("annotator")
    masklet = masklet_factory(ready_video, author=author, status="rejected")
    fresh = task_create(video=ready_video, priority=500)
    rework = task_create(video=ready_video, kind="refine", masklet=masklet, reserved_for=author)
    assert task_next_for(user=other).pk == fresh.pk  # never the author's reserved task
    assert task_next_for(user=author).pk == rework.pk  # reserved first, whatever the priority
    task_release(task=rework, user=author)
    rework.refresh_from_db()
    assert (rework.status, rework.assignee) == ("queued", author)
    assert task_next_for(user=user_factory("annotator")) is None


CONCURRENT_USERS = 200
THREADS = 40  # 40 connections at most, well under max_connections (100) with other clients around


@pytest.mark.django_db(transaction=True)
def test_two_hundred_concurrent_next_calls_never_share_a_task(ready_video, user_factory):
    """200 users ask at once for 150 tasks: 40 threads, each with its own connection (closed when
    the thread ends), each making 5 calls for 5 users, all threads released by one barrier."""
    tasks = tasks_create_for_video(video=ready_video, count=150)
    users = [user_factory("annotator") for _ in range(CONCURRENT_USERS)]
    results: dict[int, int | None] = {}
    errors: list[BaseException] = []
    barrier = threading.Barrier(THREADS)

    def work(chunk):
        try:
            barrier.wait()
            for user in chunk:
                task = task_next_for(user=user)
                results[user.pk] = task.pk if task else None
        except BaseException as error:  # noqa: BLE001 - reported by the main thread
            errors.append(error)
        finally:
            connection.close()

    threads = [threading.Thread(target=work, args=(users[i::THREADS],)) for i in range(THREADS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert not errors, errors
    assert len(results) == CONCURRENT_USERS
    handed = [task_id for task_id in results.values() if task_id is not None]
    assert len(handed) == len(set(handed)) == len(tasks)  # every task once, none twice
    leased = dict(AnnotationTask.objects.filter(status="leased").values_list("pk", "assignee_id"))
    assert leased == {task_id: user_id for user_id, task_id in results.items() if task_id is not None}


@pytest.mark.django_db(transaction=True)
def test_one_user_asking_many_times_at_once_holds_one_task(ready_video, annotator):
    tasks_create_for_video(video=ready_video, count=10)
    results: list[int] = []
    barrier = threading.Barrier(8)

    def work():
        try:
            barrier.wait()
            results.append(task_next_for(user=annotator).pk)
        finally:
            connection.close()

    threads = [threading.Thread(target=work) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert len(results) == 8 and len(set(results)) == 1
    assert AnnotationTask.objects.filter(assignee=annotator, status="leased").count() == 1


def test_the_periodic_task_requeues_expired_leases(ready_video, annotator):
    from workers.queue import expire_task_leases

    task = task_create(video=ready_video)
    task_next_for(user=annotator)
    assert expire_task_leases() == []
    _expire(task)
    assert expire_task_leases() == [task.pk]
    assert AnnotationTask.objects.get(pk=task.pk).status == "queued"
