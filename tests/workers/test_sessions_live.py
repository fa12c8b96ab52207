"""Interactive sessions through the REST API, the broker and real Celery workers, on PostgreSQL,
Redis and S3 over HTTP: a click's round trip, a session lost on its worker replayed to identical
masks, a dead worker replaced by another without the annotator noticing.

The model is ``micro`` with random weights, except that its object-score head calls objects
present (a checkpoint in storage), so masks are neither all empty nor all full.
"""

from __future__ import annotations

import io
import os
import signal
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import numpy as np
import pytest
import torch
from celery.utils.nodenames import worker_direct
from django.utils import timezone
from PIL import Image

import engine
from annotation.models import AnnotationTask, Interaction, MaskletRevision, ModelVersion
from annotation.services.sessions import session_spec
from annotation.services.tasks import task_create, task_next_for
from dataplatform import storage
from dataplatform.celery import app
from dataplatform.models import Project, Video
from engine import rle as rle_ops
from engine import synthetic
from tests.conftest import REPO_ROOT, WORKER_BUCKET, wait_for
from tests.dataplatform.conftest import api_client_for, user_factory  # noqa: F401 - fixtures

H, W = 48, 64


# ---- Rows, frames and weights ------------------------------------------------------------------


def micro_checkpoint_bytes() -> bytes:
    torch.manual_seed(0)
    model = engine.load_model("micro")
    with torch.no_grad():
        model.sam_mask_decoder.pred_obj_score_head.layers[2].bias.fill_(10.0)
    with tempfile.TemporaryDirectory() as folder:
        return engine.save_model(model, Path(folder) / "m.safetensors").read_bytes()


def ready_video_with_frames(project: Project, frames: int, height: int = H, width: int = W) -> Video:
    """A ready video whose JPEG frames are in storage, as ingest leaves them."""
    clip = synthetic.make_video(5, num_frames=frames, height=height, width=width, num_objects=2, leaving=0)
    video = Video.objects.create(
        project=project, name="synthetic.mp4", source_uri="videos/synthetic.mp4", status=Video.Status.READY,
        frame_count=frames, width=width, height=height, source_fps=24.0, annotation_fps=6.0, duration=frames / 6,
        ready_at=timezone.now(), frame_timestamps=[i / 6 for i in range(frames)])
    for index, frame in enumerate(clip.frames):
        buffer = io.BytesIO()
        Image.fromarray(frame).save(buffer, format="JPEG", quality=95)
        storage.put_bytes(storage.frame_key(video.pk, index), buffer.getvalue())
    video.clip = clip  # type: ignore[attr-defined]
    return video


@pytest.fixture
def platform(live_platform, settings, user_factory, api_client_for) -> Callable[..., dict]:  # noqa: F811
    """``make(phase=3, frames=6)``: a model version, a ready video (``height`` × ``width``, 48 × 64
    by default), a task leased to an annotator."""
    settings.ENGINE_SESSION_REPLY_TIMEOUT = 3.0

    def make(*, phase: int = 3, frames: int = 6, height: int = H, width: int = W) -> dict:
        name = f"micro-test-{uuid.uuid4().hex[:6]}"
        key = storage.put_bytes(storage.checkpoint_key(name), micro_checkpoint_bytes())
        version = ModelVersion.objects.create(name=name, config_name="micro", checkpoint_key=key)
        project = Project.objects.create(name=f"Sessions {name}", phase=phase, model_version=version)
        video = ready_video_with_frames(project, frames, height, width)
        annotator = user_factory("annotator")
        task_create(video=video)
        task = task_next_for(user=annotator)
        return {"version": version, "project": project, "video": video, "annotator": annotator, "task": task,
                "client": api_client_for(annotator)}

    return make


def centre_of(mask: np.ndarray) -> list[float]:
    ys, xs = np.nonzero(mask)
    return [float(xs.mean()), float(ys.mean())]


# ---- Extra workers (for kill tests) ------------------------------------------------------------


def worker_env() -> dict[str, str]:
    """The environment the suite's worker runs with (see tests/conftest.py)."""
    from django.conf import settings as django_settings

    db = django_settings.DATABASES["default"]
    options = django_settings.STORAGES["default"]["OPTIONS"]
    return {
        **os.environ,
        "DATABASE_URL": f"postgres://{db['USER']}:{db['PASSWORD']}@{db['HOST'] or '127.0.0.1'}:"
                        f"{db['PORT'] or 5432}/{db['NAME']}",
        "CELERY_BROKER_URL": os.environ["CELERY_BROKER_URL"],
        "MASKLET_VAR_DIR": tempfile.mkdtemp(prefix="masklet-extra-worker-"),
        "STORAGE_BACKEND": "s3",
        "S3_BUCKET": WORKER_BUCKET,
        "S3_ENDPOINT_URL": options["endpoint_url"],
        "S3_ACCESS_KEY_ID": "testing",
        "S3_SECRET_ACCESS_KEY": "testing",
        "PYTHONUNBUFFERED": "1",
        "OMP_NUM_THREADS": os.environ.get("OMP_NUM_THREADS", "1"),
    }


class ExtraWorker:
    """A GPU-style worker (concurrency 1) consuming only its own direct queue (and ``queues``)."""

    def __init__(self, queues: str = "") -> None:
        self.hostname = f"extra-{uuid.uuid4().hex[:6]}@{os.uname().nodename}"
        self.log_path = Path(tempfile.mkdtemp(prefix="masklet-extra-log-")) / "worker.log"
        # A queue nobody publishes to, so that only the direct queue brings work unless told.
        queue_list = queues or f"idle-{uuid.uuid4().hex[:6]}"
        self.log = open(self.log_path, "w")  # noqa: SIM115 - closed in stop()
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "celery", "-A", "dataplatform", "worker", "-Q", queue_list, "-c", "1",
             "--loglevel", "INFO", "-n", self.hostname, "--without-gossip", "--without-mingle"],
            cwd=REPO_ROOT, env=worker_env(), stdout=self.log, stderr=subprocess.STDOUT, start_new_session=True)
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                pytest.fail(f"The extra worker exited at start:\n{self.log_path.read_text()[-3000:]}")
            if app.control.ping(destination=[self.hostname], timeout=0.5):
                return
        self.stop()
        pytest.fail(f"The extra worker did not answer in 60 s:\n{self.log_path.read_text()[-3000:]}")

    def pool_children(self) -> list[int]:
        path = Path(f"/proc/{self.proc.pid}/task/{self.proc.pid}/children")
        return [int(p) for p in path.read_text().split()] if path.exists() else []

    def kill_pool_child(self) -> int:
        """SIGKILL the process running tasks; the worker's main process stays and starts another."""
        child = wait_for(self.pool_children, timeout=10, what="the worker's pool process")[0]
        os.kill(child, signal.SIGKILL)
        return child

    def kill(self) -> None:
        """SIGKILL the whole worker: main process and pool."""
        if self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait(timeout=20)

    def stop(self) -> None:
        if self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGTERM)
            try:
                self.proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
        self.log.close()


@pytest.fixture
def extra_worker(live_platform) -> Iterator[Callable[..., ExtraWorker]]:
    started: list[ExtraWorker] = []

    def start(queues: str = "") -> ExtraWorker:
        worker = ExtraWorker(queues)
        started.append(worker)
        return worker

    yield start
    for worker in started:
        worker.stop()


def open_on(task: AnnotationTask, hostname: str) -> None:
    """Open the task's session on a chosen worker (as when the gpu queue handed it there)."""
    reply = app.send_task("session.open", args=[task.pk], queue=worker_direct(hostname)).get(timeout=120)
    assert reply["worker"] == hostname


# ---- Tests -------------------------------------------------------------------------------------


def test_a_click_round_trip_returns_a_mask_and_records_the_interaction(platform, celery_worker) -> None:
    p = platform(phase=3)
    client, task, video = p["client"], p["task"], p["video"]

    opened = client.post(f"/api/tasks/{task.pk}/session/")
    assert opened.status_code == 200, opened.content
    body = opened.json()
    assert body["video"]["frame_count"] == 6 and (body["video"]["width"], body["video"]["height"]) == (W, H)
    assert len(body["video"]["frames"]) == 6 and body["objects"] == []
    assert (body["phase"], body["model_version"]) == (3, p["version"].pk)
    task.refresh_from_db()
    assert task.session_worker and task.session_opened_at is not None

    created = client.post(f"/api/tasks/{task.pk}/objects/")
    assert created.status_code == 201, created.content
    number = created.json()["object_number"]

    before = timezone.now()
    point = centre_of(video.clip.masks[1][2])
    answer = client.post(f"/api/tasks/{task.pk}/prompts/", {
        "frame_index": 2, "object_number": number, "kind": "click", "points": [point], "labels": [1],
        "client_timestamp": before.isoformat()}, format="json")
    assert answer.status_code == 200, answer.content
    reply = answer.json()
    mask = rle_ops.decode(reply["mask"])
    assert mask.shape == (H, W) and 0 < mask.sum() < H * W
    assert (reply["frame_index"], reply["object_number"]) == (2, number) and reply["latency_ms"] > 0

    row = Interaction.objects.get(pk=reply["interaction"])
    assert (row.kind, row.frame_index, row.object_number, row.phase) == ("click+", 2, number, 3)
    assert row.client_timestamp == before and row.server_timestamp >= before
    assert row.model_latency_ms == pytest.approx(reply["latency_ms"])
    assert row.payload["result"] == reply["mask"] and row.model_version_id == p["version"].pk

    masks = client.get(f"/api/tasks/{task.pk}/masks/", {"object_number": number, "start": 1, "end": 3}).json()
    assert sorted(masks[0]["masks"]) == ["1", "2", "3"] and masks[0]["masks"]["2"] == reply["mask"]

    # A click at the limit (PROMPT_MAX_POINTS, 64 points) is answered like any other.
    grid = [[float(x), float(y)] for y in range(8, 40, 4) for x in range(8, 56, 6)]
    answer = client.post(f"/api/tasks/{task.pk}/prompts/", {
        "frame_index": 3, "object_number": number, "kind": "click", "points": grid,
        "labels": [i % 2 for i in range(64)]}, format="json")
    assert len(grid) == 64 and answer.status_code == 200, answer.content
    assert rle_ops.decode(answer.json()["mask"]).shape == (H, W)


def test_a_lost_session_replays_to_identical_masks(platform, extra_worker) -> None:
    p = platform(phase=3)
    client, task, video = p["client"], p["task"], p["video"]
    worker = extra_worker()
    open_on(task, worker.hostname)
    number = client.post(f"/api/tasks/{task.pk}/objects/").json()["object_number"]
    prompts = [
        {"frame_index": 0, "kind": "click", "points": [centre_of(video.clip.masks[1][0])], "labels": [1]},
        {"frame_index": 0, "kind": "click", "points": [[2, 2]], "labels": [0]},
        {"frame_index": 4, "kind": "box", "box": [5, 5, 40, 40]},
        {"frame_index": 4, "kind": "click", "points": [[20, 20]], "labels": [1]},
    ]
    answers = []
    for prompt in prompts:
        response = client.post(f"/api/tasks/{task.pk}/prompts/", {**prompt, "object_number": number}, format="json")
        assert response.status_code == 200, response.content
        answers.append(response.json())
    assert all(a["mask"] != rle_ops.empty(H, W) for a in answers)
    rows = Interaction.objects.filter(task=task).order_by("pk")
    assert not any(r.payload["replayed"] for r in rows)

    worker.kill_pool_child()  # the session's process dies; the worker starts a fresh one
    # The same message again (as a redelivery would bring it): rebuilt from the database.
    again = app.send_task("session.prompt", args=[task.pk, answers[-1]["interaction"], 4, number],
                          queue=worker_direct(worker.hostname)).get(timeout=120)
    assert again["replayed"] and again["mask"] == answers[-1]["mask"]

    undone = client.post(f"/api/tasks/{task.pk}/undo/", {}, format="json")
    assert undone.status_code == 200, undone.content
    assert undone.json()["mask"] == answers[2]["mask"]  # back to the box's mask on frame 4
    assert Interaction.objects.filter(task=task, kind="undo").get().payload["undoes"] == answers[-1]["interaction"]
    spec = session_spec(task_id=task.pk)
    assert [e.interaction_id for e in spec.events] == [a["interaction"] for a in answers[:3]]


def test_a_dead_worker_is_replaced_and_the_annotator_sees_the_same_mask(platform, extra_worker,
                                                                        celery_worker) -> None:
    p = platform(phase=3)
    client, task, video = p["client"], p["task"], p["video"]
    doomed = extra_worker()
    open_on(task, doomed.hostname)
    number = client.post(f"/api/tasks/{task.pk}/objects/").json()["object_number"]
    first = client.post(f"/api/tasks/{task.pk}/prompts/", {
        "frame_index": 1, "object_number": number, "kind": "click",
        "points": [centre_of(video.clip.masks[2][1])], "labels": [1]}, format="json").json()
    second = client.post(f"/api/tasks/{task.pk}/prompts/", {
        "frame_index": 1, "object_number": number, "kind": "click", "points": [[3, 3]], "labels": [0]},
        format="json")
    assert second.status_code == 200, second.content

    doomed.kill()  # main process and pool: nothing answers on its direct queue any more
    undone = client.post(f"/api/tasks/{task.pk}/undo/", {}, format="json")
    assert undone.status_code == 200, undone.content
    assert undone.json()["mask"] == first["mask"]  # replayed elsewhere: the same mask as before
    task.refresh_from_db()
    assert task.session_worker and task.session_worker != doomed.hostname
    assert Interaction.objects.get(pk=undone.json()["interaction"]).payload["worker"] == task.session_worker


def test_phase_1_answers_are_saved_as_a_revision_and_submitted(platform, celery_worker) -> None:
    p = platform(phase=1, frames=4)
    client, task, video = p["client"], p["task"], p["video"]
    url = f"/api/tasks/{task.pk}"
    assert client.post(f"{url}/session/").status_code == 200
    number = client.post(f"{url}/objects/").json()["object_number"]
    answers = {}
    for frame in (0, 2):
        response = client.post(f"{url}/prompts/", {"frame_index": frame, "object_number": number, "kind": "click",
                                                   "points": [centre_of(video.clip.masks[1][frame])],
                                                   "labels": [1]}, format="json")
        assert response.status_code == 200, response.content
        answers[str(frame)] = response.json()["mask"]
    # The brush and eraser (phase 1's pixel-precise editing): the painted mask replaces frame 2's.
    painted = video.clip.masks[1][2].copy()
    painted[:4] = True
    response = client.post(f"{url}/prompts/", {"frame_index": 2, "object_number": number, "kind": "mask",
                                               "mask": rle_ops.encode(painted)}, format="json")
    assert response.status_code == 200, response.content
    assert np.array_equal(rle_ops.decode(response.json()["mask"]), painted)  # a mask prompt is the mask
    answers["2"] = response.json()["mask"]

    saved = client.post(f"{url}/save/")
    assert saved.status_code == 200, saved.content
    (entry,) = saved.json()
    revision = MaskletRevision.objects.get(pk=entry["revision"])
    assert (revision.phase, revision.source, revision.edited_frames) == (1, "annotation", [0, 2])
    assert revision.masks["0"] == answers["0"] and revision.masks["2"] == answers["2"]
    assert revision.masks["1"] == rle_ops.empty(H, W) and revision.author_id == p["annotator"].pk
    # The verifier's signals: the engine's scores of the clicked frame's answer, none where it made no mask.
    signals = revision.signals.signals
    assert signals["recorded_by"] == "engine" and signals["frames"] == [0, 1, 2, 3] and signals["prompts"] == 3
    assert 0.0 <= signals["predicted_iou"][0] <= 1.0 and np.isfinite(signals["object_score"][0])
    assert signals["predicted_iou"][2] is None  # a painted mask: no decoder prediction
    assert signals["predicted_iou"][1] is None and signals["object_score"][1] is None  # never prompted
    assert client.post(f"{url}/save/").json() == []  # nothing new since
    submitted = client.post(f"{url}/submit/", {}, format="json")
    assert submitted.status_code == 200, submitted.content
