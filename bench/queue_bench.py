"""Next-task latency with many annotators at once, on PostgreSQL.

    python -m bench.queue_bench [--clients 200] [--connections 40] [--rounds 5] [--markdown]

Runs on a throwaway database (``test_<name>`` next to the one DATABASE_URL names; default
``postgres://postgres@127.0.0.1:5432/masklet_bench``), made with the migrations and dropped at
the end.

``--clients`` threads play annotators (one user each). They send their calls to a pool of
``--connections`` server threads, each with its own persistent database connection, as an app
server with that many workers would (PostgreSQL's max_connections is usually 100, so 200
connections at once are not an option). Each round, every client asks for the next task at the
same moment (a barrier); the task it gets is then marked done, so the next round picks new rows.
Latency is what the client sees: waiting for a server thread included.

Rows:
- ``masklet task_next_for``: the service (``SELECT … FOR UPDATE SKIP LOCKED``, per-user lock).
- ``reference: FOR UPDATE``: the same pick without SKIP LOCKED: every caller waits on the lock of
  the first queued row, and the picks happen one after the other. (PostgreSQL rechecks a row it
  waited for and moves on to the next one, so nobody gets an empty answer: the cost is time.)
- ``reference: one client``: the service with no concurrency (the floor).
"""

from __future__ import annotations

import argparse
import os
import statistics
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "dataplatform.settings")
os.environ.setdefault("DATABASE_URL", "postgres://postgres@127.0.0.1:5432/masklet_bench")

import django

django.setup()

from django.contrib.auth import get_user_model  # noqa: E402
from django.db import connection, connections, transaction  # noqa: E402
from django.utils import timezone  # noqa: E402

from annotation.models import AnnotationTask  # noqa: E402
from annotation.services.tasks import task_lease_duration, task_next_for  # noqa: E402
from bench.report import Table, add_format_argument, emit  # noqa: E402
from bench.rows import QUEUE  # noqa: E402
from dataplatform.models import Project, Video  # noqa: E402


@dataclass
class Row:
    method: str
    clients: int
    connections: int
    latencies_ms: list[float]
    seconds: float
    empty_while_waiting: int
    handed_twice: int

    def cells(self) -> list[str]:
        ordered = sorted(self.latencies_ms)
        p99 = ordered[min(len(ordered) - 1, round(0.99 * (len(ordered) - 1)))]
        return [self.method, str(self.clients), str(self.connections), str(len(ordered)),
                f"{statistics.median(ordered):.1f}", f"{p99:.1f}", f"{ordered[-1]:.1f}",
                f"{len(ordered) / self.seconds:.0f}", str(self.empty_while_waiting), str(self.handed_twice)]


def naive_next(*, user) -> AnnotationTask | None:
    """The pick without SKIP LOCKED: what a first version often does."""
    now = timezone.now()
    with transaction.atomic():
        task = (AnnotationTask.objects.filter(status=AnnotationTask.Status.QUEUED, assignee__isnull=True)
                .order_by("-priority", "created_at", "id").select_for_update().first())
        if task is None:
            return None
        task.status, task.assignee = AnnotationTask.Status.LEASED, user
        task.lease_expires_at, task.heartbeat_at = now + task_lease_duration(), now
        task.save(update_fields=["status", "assignee", "lease_expires_at", "heartbeat_at"])
        return task


def fill_queue(video: Video, count: int) -> None:
    AnnotationTask.objects.all().delete()
    AnnotationTask.objects.bulk_create([AnnotationTask(video=video, phase=3) for _ in range(count)])


def run(method: str, pick: Callable, users: list, video: Video, *, connections_: int, rounds: int) -> Row:
    fill_queue(video, len(users) * rounds)
    latencies: list[float] = []
    handed: list[int] = []
    empty = 0
    lock = threading.Lock()
    barrier = threading.Barrier(len(users))
    server = ThreadPoolExecutor(max_workers=connections_, thread_name_prefix="server")

    def serve(user) -> int | None:
        task = pick(user=user)
        if task is None:
            return None
        AnnotationTask.objects.filter(pk=task.pk).update(status=AnnotationTask.Status.SUBMITTED,
                                                         lease_expires_at=None, submitted_at=timezone.now())
        return task.pk

    def client(user) -> None:
        nonlocal empty
        for _ in range(rounds):
            barrier.wait()
            start = time.perf_counter()
            task_id = server.submit(serve, user).result()
            elapsed = (time.perf_counter() - start) * 1000
            with lock:
                latencies.append(elapsed)
                if task_id is None:
                    empty += 1  # the queue held len(users) * rounds tasks: never empty for real
                else:
                    handed.append(task_id)

    started = time.perf_counter()
    threads = [threading.Thread(target=client, args=(user,)) for user in users]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    seconds = time.perf_counter() - started
    # Each server thread closes its own connection: one call per thread, held apart by a barrier.
    closing = threading.Barrier(connections_)

    def close_own() -> None:
        closing.wait()
        connections.close_all()

    for future in [server.submit(close_own) for _ in range(connections_)]:
        future.result()
    server.shutdown(wait=True)
    return Row(method, len(users), connections_, latencies, seconds, empty, len(handed) - len(set(handed)))


def single(users: list, video: Video, *, calls: int) -> Row:
    fill_queue(video, calls)
    latencies = []
    started = time.perf_counter()
    for index in range(calls):
        start = time.perf_counter()
        task = task_next_for(user=users[index % len(users)])
        latencies.append((time.perf_counter() - start) * 1000)
        AnnotationTask.objects.filter(pk=task.pk).update(status=AnnotationTask.Status.SUBMITTED,
                                                         lease_expires_at=None)
    return Row(QUEUE[2], 1, 1, latencies, time.perf_counter() - started, 0, 0)


HEADER = ["method", "clients", "connections", "calls", "p50 ms", "p99 ms", "max ms", "calls/s",
          "empty while tasks waited", "handed twice"]


def report(rows: list[Row], title: str, markdown: bool) -> None:
    floor = statistics.median(rows[-1].latencies_ms)
    notes = [f"{row.method}: p50 {statistics.median(row.latencies_ms) / floor:.1f}x the one-client floor"
             for row in rows[:-1]]
    emit("bench.queue_bench", markdown=markdown, title=title, tables=[Table(HEADER, [r.cells() for r in rows])],
         notes=notes)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--clients", type=int, default=200)
    parser.add_argument("--connections", type=int, default=40)
    parser.add_argument("--rounds", type=int, default=5)
    add_format_argument(parser)
    args = parser.parse_args()

    creation = connection.creation
    name = creation.create_test_db(verbosity=0, autoclobber=True, serialize=False)
    try:
        project = Project.objects.create(name="Bench", phase=3)
        video = Video.objects.create(project=project, name="bench.mp4", source_uri="bench.mp4",
                                     status=Video.Status.READY, frame_count=121, width=64, height=48,
                                     source_fps=24.0, annotation_fps=6.0, ready_at=timezone.now())
        User = get_user_model()
        users = User.objects.bulk_create([User(username=f"bench-{i}") for i in range(args.clients)])
        title = (f"PostgreSQL {connection.cursor().connection.info.server_version}; {args.clients} clients x "
                 f"{args.rounds} rounds, {args.connections} server connections:")
        rows = [run(QUEUE[0], task_next_for, users, video, connections_=args.connections, rounds=args.rounds),
                run(QUEUE[1], naive_next, users, video, connections_=args.connections, rounds=args.rounds),
                single(users, video, calls=min(200, args.clients * args.rounds))]
        report(rows, title, args.markdown)
    finally:
        connections.close_all()
        creation.destroy_test_db(name, verbosity=0)


if __name__ == "__main__":
    main()
