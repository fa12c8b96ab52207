"""A click's round trip through gunicorn, the API, the broker and a GPU worker, against the
engine's own latency on the same worker.

    OMP_NUM_THREADS=1 python -m bench.click_bench [--clicks 60] [--warmup 10] [--size 640x480] [--markdown]

Runs on a throwaway database (``test_<name>`` next to the one DATABASE_URL names; default
``postgres://postgres@127.0.0.1:5432/masklet_bench``), local media in a temporary folder, and
the Redis broker CELERY_BROKER_URL names (default ``redis://127.0.0.1:6379/13``). It starts one
worker (``-Q gpu -c 1``, as a GPU worker runs) on the ``micro`` model and gunicorn as in
production (``docker/Dockerfile``: 3 sync workers, so no HTTP keep-alive), opens a phase-3 session
through the API and clicks on frames whose features are cached (the steady state of annotating).

Rows (``bench.rows.CLICK``; median and p90 over ``--clicks``):
- ``HTTP (gunicorn): click round trip``: ``POST /api/tasks/{id}/prompts/`` over a TCP socket to
  gunicorn, as a client sees it: Interaction first, the direct queue, the answer. The headline.
- ``engine on the worker``: the model's time for the same clicks (``latency_ms`` of the answers).
- ``added by the platform``: the difference, click by click. Target: <= 15 ms at the median.
- ``of which``: the added time split, click by click, into HTTP (the client's request and the
  socket, gunicorn's parsing and its worker process: the round trip minus gunicorn's own request
  time from its access log), the Django request (middleware, auth, checks, the Interaction rows,
  the answer's rendering: gunicorn's request time minus the API's round trip to the worker), the
  broker and result backend (round trip minus the worker's task time) and the worker outside the
  engine (loading the events, encoding the mask).
- ``in process (no HTTP server)``: the same clicks through DRF's test client in this process (no
  socket, no gunicorn): the breakdown without HTTP, as this bench measured before.
- ``reference: broker round trip``: a no-op task (``workers.ping``) to the same worker's direct
  queue and back the way a prompt's answer comes (a direct reply on Redis): the floor of any
  round trip.
- ``reference: GET /api/tasks/{id}/``: the cheapest authenticated API call, over HTTP and in
  process: the floor of the web part.

Below the table: the database statements of one more click's web request (each a round trip), and
the flush to disk of its prompt, sent without waiting while the worker computes (it bypasses
Django's query log; see ``dataplatform/commits.py``).
"""

from __future__ import annotations

import argparse
import http.client
import io
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.parse
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "dataplatform.settings")
os.environ.setdefault("DATABASE_URL", "postgres://postgres@127.0.0.1:5432/masklet_bench")
os.environ.setdefault("CELERY_BROKER_URL", "redis://127.0.0.1:6379/13")
os.environ.setdefault("OMP_NUM_THREADS", "1")
os.environ.setdefault("MASKLET_VAR_DIR", tempfile.mkdtemp(prefix="masklet-click-bench-"))
os.environ.setdefault("STORAGE_BACKEND", "local")

import django

django.setup()

import numpy as np  # noqa: E402
import torch  # noqa: E402
from celery.utils.nodenames import worker_direct  # noqa: E402
from django.db import connection  # noqa: E402
from django.test.utils import CaptureQueriesContext, setup_test_environment  # noqa: E402
from django.utils import timezone  # noqa: E402
from PIL import Image  # noqa: E402
from rest_framework.test import APIClient  # noqa: E402

import engine  # noqa: E402
from annotation.models import ModelVersion  # noqa: E402
from annotation.services.tasks import task_create, task_next_for  # noqa: E402
from bench.report import Table, add_format_argument, emit  # noqa: E402
from bench.rows import CLICK  # noqa: E402
from bench.web_server import PRODUCTION_ARGS, database_url, start_gunicorn  # noqa: E402
from dataplatform import storage  # noqa: E402
from dataplatform.models import Project, Video  # noqa: E402
from dataplatform.processes import start_celery_worker, wait_for_worker  # noqa: E402
from dataplatform.replies import task_send  # noqa: E402
from dataplatform.services.users import user_set_roles, user_token  # noqa: E402

FRAMES = 4


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def checkpoint_bytes() -> bytes:
    """Micro weights whose object-score head calls objects present (masks are not all empty)."""
    torch.manual_seed(0)
    model = engine.load_model("micro")
    with torch.no_grad():
        model.sam_mask_decoder.pred_obj_score_head.layers[2].bias.fill_(10.0)
    with tempfile.TemporaryDirectory() as folder:
        return engine.save_model(model, Path(folder) / "m.safetensors").read_bytes()


def bench_version() -> ModelVersion:
    """The bench micro weights as a model version (one per run: the worker loads it once)."""
    version = ModelVersion.objects.filter(name="bench-micro").first()
    return version or ModelVersion.objects.create(
        name="bench-micro", config_name="micro",
        checkpoint_key=storage.put_bytes("models/bench/m.safetensors", checkpoint_bytes()))


def bench_project(name: str, width: int, height: int, frames: int = FRAMES) -> tuple[Project, Video]:
    """A phase-3 project on bench micro weights and a ready ``frames``-frame video of random JPEGs."""
    version = bench_version()
    project = Project.objects.create(name=name, phase=3, model_version=version)
    video = Video.objects.create(project=project, name="bench.mp4", source_uri="bench.mp4",
                                 status=Video.Status.READY, frame_count=frames, width=width, height=height,
                                 source_fps=24.0, annotation_fps=6.0, ready_at=timezone.now())
    rng = np.random.default_rng(0)
    for index in range(frames):
        buffer = io.BytesIO()
        Image.fromarray(rng.integers(0, 255, (height, width, 3), dtype=np.uint8)).save(buffer, format="JPEG")
        storage.put_bytes(storage.frame_key(video.pk, index), buffer.getvalue())
    return project, video


def make_rows(width: int, height: int, frames: int = FRAMES):
    project, video = bench_project(f"Click bench {uuid.uuid4().hex[:6]}", width, height, frames)
    from django.contrib.auth import get_user_model

    user = get_user_model().objects.create_user(username=f"bench-annotator-{uuid.uuid4().hex[:6]}", password="unused-bench-pw")
    user_set_roles(user=user, roles=("annotator",))
    task_create(video=video)
    task = task_next_for(user=user)
    token = user_token(user=user).key
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {token}")
    return client, token, task


def start_worker(database_name: str, **extra_env: str) -> tuple[subprocess.Popen, str]:
    hostname = f"click-bench-{uuid.uuid4().hex[:6]}@{os.uname().nodename}"
    env = {**os.environ, **extra_env, "DATABASE_URL": database_url(database_name)}
    proc = start_celery_worker(queues="gpu", hostname=hostname, env=env, log=sys.stderr)  # stdout: the table
    if wait_for_worker(proc, hostname=hostname, timeout=60):
        return proc, hostname
    proc.kill()
    raise SystemExit("The bench worker did not start in 60 s.")


class HttpClient:
    """Requests over a socket, as any client sends them; a new connection when the server closed it."""

    def __init__(self, base: str, token: str) -> None:
        url = urllib.parse.urlsplit(base)
        self.host, self.port = url.hostname, url.port
        self.headers = {"Authorization": f"Token {token}", "Content-Type": "application/json",
                        "Accept": "application/json"}
        self.conn: http.client.HTTPConnection | None = None

    def request(self, method: str, path: str, body: bytes | None = None) -> tuple[int, bytes]:
        if self.conn is None:
            self.conn = http.client.HTTPConnection(self.host, self.port, timeout=60)
        self.conn.request(method, path, body=body, headers=self.headers)
        response = self.conn.getresponse()
        data = response.read()
        if response.will_close:
            self.conn.close()
            self.conn = None
        return response.status, data


def click_body(n: int, number: int, rng: np.random.Generator, width: int, height: int) -> dict:
    return {"frame_index": n % FRAMES, "object_number": number, "kind": "click",
            "points": [[float(rng.uniform(0, width)), float(rng.uniform(0, height))]], "labels": [int(n % 3 != 2)]}


def request_times(access_log: Path) -> dict[str, float]:
    """gunicorn's own time (ms) of each request, by its query string (the bench numbers them)."""
    times = {}
    for line in access_log.read_text().splitlines():
        _method, _path, query, _status, micros = line.split()
        times[query.removeprefix("?")] = int(micros) / 1000
    return times


def http_clicks(http: HttpClient, task_id: int, number: int, clicks: int, warmup: int, width: int, height: int,
                access_log: Path) -> dict[str, list[float]]:
    rng = np.random.default_rng(1)
    samples = []
    for n in range(warmup + clicks):
        body = json.dumps(click_body(n, number, rng, width, height)).encode()
        start = time.perf_counter()
        status, data = http.request("POST", f"/api/tasks/{task_id}/prompts/?click={n}", body)
        elapsed = (time.perf_counter() - start) * 1000
        assert status == 200, data
        if n >= warmup:
            samples.append((n, elapsed, json.loads(data)))
    time.sleep(0.5)  # gunicorn writes a request's access line after its answer
    server = request_times(access_log)
    columns: dict[str, list[float]] = {k: [] for k in ("round_trip", "engine", "added", "http", "django",
                                                       "transport", "worker")}
    for n, elapsed, reply in samples:
        served = server[f"click={n}"]
        columns["round_trip"].append(elapsed)
        columns["engine"].append(reply["latency_ms"])
        columns["added"].append(elapsed - reply["latency_ms"])
        columns["http"].append(elapsed - served)
        columns["django"].append(served - reply["round_trip_ms"])
        columns["transport"].append(reply["round_trip_ms"] - reply["worker_ms"])
        columns["worker"].append(reply["worker_ms"] - reply["latency_ms"])
    return columns


def in_process_clicks(client: APIClient, task_id: int, number: int, clicks: int, warmup: int, width: int,
                      height: int) -> dict[str, list[float]]:
    rng = np.random.default_rng(2)
    columns: dict[str, list[float]] = {"round_trip": [], "engine": [], "added": []}
    for n in range(warmup + clicks):
        body = click_body(n, number, rng, width, height)
        start = time.perf_counter()
        response = client.post(f"/api/tasks/{task_id}/prompts/", body, format="json")
        elapsed = (time.perf_counter() - start) * 1000
        assert response.status_code == 200, response.content
        if n >= warmup:
            latency = response.json()["latency_ms"]
            columns["round_trip"].append(elapsed)
            columns["engine"].append(latency)
            columns["added"].append(elapsed - latency)
    return columns


def timed(call, count: int, warmup: int) -> list[float]:
    times = []
    for n in range(warmup + count):
        start = time.perf_counter()
        call(n)
        if n >= warmup:
            times.append((time.perf_counter() - start) * 1000)
    return times


def run(clicks: int, warmup: int, width: int, height: int, markdown: bool) -> None:
    import redis

    redis.Redis.from_url(os.environ["CELERY_BROKER_URL"]).flushdb()
    client, token, task = make_rows(width, height)
    database = connection.settings_dict["NAME"]
    worker, hostname = start_worker(database)
    access_log = Path(os.environ["MASKLET_VAR_DIR"]) / "gunicorn-access.log"
    server, base = start_gunicorn(database, access_log=access_log)
    try:
        http = HttpClient(base, token)
        status, data = http.request("POST", f"/api/tasks/{task.pk}/session/")
        assert status == 200, data
        status, data = http.request("POST", f"/api/tasks/{task.pk}/objects/")
        assert status in (200, 201), data
        number = json.loads(data)["object_number"]
        over_http = http_clicks(http, task.pk, number, clicks, warmup, width, height, access_log)
        in_process = in_process_clicks(client, task.pk, number, clicks, warmup, width, height)
        with CaptureQueriesContext(connection) as statements:  # one more click, outside the timings
            body = {"frame_index": 0, "object_number": number, "kind": "click", "points": [[1.0, 1.0]],
                    "labels": [1]}
            assert client.post(f"/api/tasks/{task.pk}/prompts/", body, format="json").status_code == 200
        statement_count = len(statements)  # now: the log is cleared by the next request

        def get_http(n: int) -> None:
            assert http.request("GET", f"/api/tasks/{task.pk}/?get={n}")[0] == 200

        def get_in_process(_n: int) -> None:
            assert client.get(f"/api/tasks/{task.pk}/").status_code == 200

        def ping(_n: int) -> None:
            reply = task_send("workers.ping", args=["x"], queue=worker_direct(hostname))(30)
            assert reply is not None and reply.value == "pong:x", reply

        http_floor = timed(get_http, clicks, warmup)
        api_floor = timed(get_in_process, clicks, warmup)
        pings = timed(ping, clicks, warmup)
    finally:
        server.terminate()
        server.wait(timeout=30)
        worker.terminate()
        worker.wait(timeout=30)

    columns = [over_http["round_trip"], over_http["engine"], over_http["added"], over_http["http"],
               over_http["django"], over_http["transport"], over_http["worker"], in_process["round_trip"],
               in_process["engine"], in_process["added"], pings, http_floor, api_floor]
    table = Table(["", "median ms", "p90 ms"])
    for name, values in zip(CLICK, columns, strict=True):
        table.add(name, f"{statistics.median(values):.1f}", f"{percentile(values, 0.9):.1f}")
    added = statistics.median(over_http["added"])
    verdict = "met" if added <= 15 else "NOT met"
    title = (f"Click round trip, micro model on {torch.get_num_threads()} CPU thread(s), {width}x{height} frames, "
             f"{clicks} clicks after {warmup} warm-up, each way; gunicorn {' '.join(PRODUCTION_ARGS)}, "
             f"broker {os.environ['CELERY_BROKER_URL'].split('://')[0]}:")
    emit("bench.click_bench", markdown=markdown, title=title, tables=[table], notes=[
        f"The web request of a click: {statement_count} database statements (BEGIN and COMMIT included), "
        "and one flush to disk sent without waiting, during the worker's time.",
        f"Target: <= 15 ms added at the median, over HTTP: {verdict} ({added:.1f} ms; in process, without the "
        f"HTTP server: {statistics.median(in_process['added']):.1f} ms).",
    ])


@contextmanager
def throwaway_database() -> Iterator[str]:
    """A test database made for the bench's rows and dropped after it (the configured one untouched)."""
    setup_test_environment()
    creation = connection.creation
    name = creation.create_test_db(verbosity=0, autoclobber=True, serialize=False)
    try:
        yield name
    finally:
        creation.destroy_test_db(name, verbosity=0)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--clicks", type=int, default=60)
    parser.add_argument("--warmup", type=int, default=10)
    parser.add_argument("--size", default="640x480", help="frame width x height")
    add_format_argument(parser)
    args = parser.parse_args()
    width, height = (int(v) for v in args.size.lower().split("x"))
    with throwaway_database():
        run(args.clicks, args.warmup, width, height, args.markdown)


if __name__ == "__main__":
    main()
