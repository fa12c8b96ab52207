"""Concurrent writers on a SQLite file database, as the embedded demo's clients and worker make them.

Run as a script, with DATABASE_URL=sqlite:///… and MASKLET_VAR_DIR set (the test suite itself
runs on PostgreSQL): ``python -m tests.dataplatform.sqlite_load ROUNDS CLIENTS``. It migrates
the database, then starts at once, each thread on its own connection: CLIENTS annotators asking for their
next task and giving it back, CLIENTS reviewers doing the same with the verification queue, an admin
queuing tasks, and a job recording its progress, ROUNDS calls each. It prints one JSON line: the
database errors met ("database is locked" among them) and what got done.
"""

from __future__ import annotations

import json
import os
import sys
import threading
from collections.abc import Callable

import django


def make_rows(clients: int) -> dict:
    from django.contrib.auth import get_user_model
    from django.utils import timezone

    from annotation.models import Masklet
    from annotation.services.masklets import masklet_create, masklet_revision_create
    from annotation.services.tasks import tasks_create_for_video
    from dataplatform.models import Job, Project, Video
    from dataplatform.services.users import user_set_roles

    User = get_user_model()
    project = Project.objects.create(name="Load")
    video = Video.objects.create(
        project=project, name="load.mp4", source_uri="videos/load.mp4", status=Video.Status.READY,
        frame_count=3, width=64, height=48, source_fps=24.0, annotation_fps=6.0, duration=0.5,
        ready_at=timezone.now(), frame_timestamps=[0.0, 0.1667, 0.3333])
    annotators, reviewers = [], []
    for number in range(clients):
        annotator = User.objects.create_user(username=f"annotator-{number}", password="x")
        user_set_roles(user=annotator, roles=["annotator"])
        annotators.append(annotator)
        reviewer = User.objects.create_user(username=f"reviewer-{number}", password="x")
        user_set_roles(user=reviewer, roles=["reviewer"])
        reviewers.append(reviewer)
    tasks_create_for_video(video=video, count=clients)
    for _ in range(clients):
        masklet = masklet_create(video=video)
        masklet_revision_create(masklet=masklet, masks={}, author=annotators[0], phase=3)
        Masklet.objects.filter(pk=masklet.pk).update(status=Masklet.Status.SUBMITTED)
    job = Job.objects.create(kind=Job.Kind.INGEST, video=video, status=Job.Status.RUNNING,
                             started_at=timezone.now())
    return {"video": video, "annotators": annotators, "reviewers": reviewers, "job": job}


def run(rounds: int, clients: int) -> dict:
    from django.core.management import call_command
    from django.db import OperationalError, connection, connections

    from annotation.models import AnnotationTask
    from annotation.services.reviews import review_next_for, review_release
    from annotation.services.tasks import task_next_for, task_release, tasks_create_for_video
    from dataplatform.models import Job
    from dataplatform.services.jobs import job_progress

    call_command("migrate", interactive=False, verbosity=0)
    rows = make_rows(clients)
    connection.close()  # each thread opens its own
    errors: list[str] = []
    done = {"tasks_leased": 0, "reviews_leased": 0}
    count = threading.Lock()

    def annotate(user) -> Callable[[int], None]:
        def call(_: int) -> None:
            task = task_next_for(user=user)
            if task is not None:
                with count:
                    done["tasks_leased"] += 1
                task_release(task=task, user=user)
        return call

    def review(user) -> Callable[[int], None]:
        def call(_: int) -> None:
            masklet = review_next_for(user=user)
            if masklet is not None:
                with count:
                    done["reviews_leased"] += 1
                review_release(masklet=masklet, user=user)
        return call

    def queue_tasks(_: int) -> None:
        tasks_create_for_video(video=rows["video"], count=1)

    def progress(index: int) -> None:
        job_progress(job=rows["job"], done=index + 1, total=rounds)

    calls = ([annotate(user) for user in rows["annotators"]] + [review(user) for user in rows["reviewers"]]
             + [queue_tasks, progress])
    start = threading.Barrier(len(calls))

    def client(call: Callable[[int], None]) -> None:
        try:
            start.wait()
            for index in range(rounds):
                try:
                    call(index)
                except OperationalError as error:
                    errors.append(str(error))
        finally:
            connections.close_all()

    threads = [threading.Thread(target=client, args=(call,)) for call in calls]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    job = Job.objects.get(pk=rows["job"].pk)
    return {
        "errors": len(errors),
        "locked": sum("locked" in message for message in errors),
        "first_errors": sorted(set(errors))[:5],
        "tasks_leased": done["tasks_leased"],
        "reviews_leased": done["reviews_leased"],
        "tasks": AnnotationTask.objects.count(),
        "job_progress": job.progress_done,
        "journal_mode": connection.cursor().execute("PRAGMA journal_mode").fetchone()[0],
    }


if __name__ == "__main__":
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "dataplatform.settings")
    django.setup()
    print(json.dumps(run(int(sys.argv[1]), int(sys.argv[2]))))
