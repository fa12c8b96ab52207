"""Run simulated annotators against the platform: synthetic videos with exact ground truth are
ingested into a project of one phase, one task per object is queued, and a simulated annotator
works every task through the REST API (token auth, real HTTP), then the platform's own metrics
are read back.

Setup happens in this process through the services (ingest, tasks, the annotator user): it needs
the platform's database and storage, so with ``base_url`` the server must share them. The
annotation itself goes only through the API, as any client's would.
"""

from __future__ import annotations

import contextlib
import logging
import secrets
import subprocess
import tempfile
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import numpy as np

from annotation.simulation.annotator import Click, SimClock
from annotation.simulation.client import MaskletClient
from annotation.simulation.protocols import ObjectOutcome, Policy, annotate_object, frame_ious

logger = logging.getLogger("masklet.simulation")

ANNOTATOR_USERNAME = "sim-annotator"


@dataclass(frozen=True)
class SimulationConfig:
    phase: int
    videos: int = 2
    seed: int = 0
    project: str = ""  # default: "Simulation phase <phase>"
    height: int = 240
    width: int = 320
    source_frames: int = 48  # at 24 fps: 12 annotated frames at 6 fps
    min_objects: int = 2
    max_objects: int = 3
    look: str = "studio"  # engine.synthetic.LOOKS: how the videos look
    policy: Policy = field(default_factory=Policy)
    job_timeout: float = 600.0

    @property
    def project_name(self) -> str:
        return self.project or f"Simulation phase {self.phase}"


@dataclass
class SimVideo:
    """An ingested synthetic video and its ground truth on the annotated frames."""

    video_id: int
    name: str
    gt: dict[int, np.ndarray]  # GT object id -> (T annotated, H, W) bool
    pending: list[int]  # GT objects not annotated yet, in order


@dataclass
class TaskRecord:
    task_id: int
    video_id: int
    gt_object: int
    object_number: int
    masklet_id: int
    outcome: ObjectOutcome
    seconds: float  # simulated
    masks: dict[int, np.ndarray]  # as submitted (the latest masks read back from the API)
    gt: np.ndarray | None = None  # the object's ground truth, (T annotated, H, W) bool

    def mean_iou(self) -> float:
        """Mean IoU of the submitted masks with the ground truth over the annotated frames (a frame
        where both are empty counts 1): what a QA reviewer's eye checks."""
        if self.gt is None:
            raise ValueError("this record has no ground truth")
        return float(frame_ious(self.gt, self.masks).mean())


@dataclass
class SimulationResult:
    project_id: int
    phase: int
    tasks: list[TaskRecord]
    metrics: list  # annotation.selectors.metrics.MetricsRow
    jf: float
    j: float
    f: float
    mean_iou: float


# ---- Setup: videos, tasks, the annotator ----------------------------------------------------------


def source_indices(*, timestamps: list[float], source_fps: float, frame_count: int) -> list[int]:
    """The source frame of each annotated frame, from the times ingest recorded."""
    if len(timestamps) == frame_count and source_fps:
        t0 = timestamps[0]
        return [int(round((t - t0) * source_fps)) for t in timestamps]
    raise ValueError("the video has no frame timestamps for its annotated frames")


def make_videos(config: SimulationConfig, project, *, folder: Path) -> list[SimVideo]:
    """Render ``config.videos`` synthetic videos, ingest them in this process, keep their GT."""
    from dataplatform.models import Video
    from dataplatform.services.ingest import video_create_from_path, video_ingest
    from engine.synthetic import make_video, write_mp4

    rng = np.random.default_rng(config.seed)
    out = []
    for index in range(config.videos):
        seed = int(rng.integers(0, 2**31 - 1))
        objects = int(rng.integers(config.min_objects, config.max_objects + 1))
        clip = make_video(seed, num_frames=config.source_frames, height=config.height, width=config.width,
                          num_objects=objects, look=config.look)
        path = write_mp4(clip, folder / f"sim-p{config.phase}-s{config.seed}-{index}-{seed}.mp4")
        video, job = video_create_from_path(project=project, path=path, dispatch=False)
        video_ingest(job=job)
        video.refresh_from_db()
        if video.status != Video.Status.READY:
            raise RuntimeError(f"Synthetic video {path.name} did not ingest: {video.status_message}")
        picks = source_indices(timestamps=video.frame_timestamps, source_fps=video.source_fps,
                               frame_count=video.frame_count)
        gt = {obj: masks[picks] for obj, masks in clip.masks.items()}
        visible = [obj for obj, m in gt.items() if m.any()]
        out.append(SimVideo(video.pk, video.name, gt, visible))
    return out


def setup(config: SimulationConfig, *, folder: Path) -> tuple[object, list[SimVideo], list[int], str]:
    """The project, its ingested videos, one queued task per visible object, and the annotator's
    password (reset for this run)."""
    from annotation.services.tasks import task_create
    from dataplatform.models import Project, Video
    from dataplatform.roles import ANNOTATOR
    from dataplatform.services.users import user_ensure

    project, _ = Project.objects.get_or_create(name=config.project_name, defaults={"phase": config.phase})
    if project.phase != config.phase:
        raise ValueError(f"Project {project.name!r} is in phase {project.phase}, not {config.phase}.")
    videos = make_videos(config, project, folder=folder)
    task_ids = []
    for sim in videos:
        video = Video.objects.get(pk=sim.video_id)
        task_ids += [task_create(video=video).pk for _ in sim.pending]
    password = secrets.token_urlsafe(16)
    user_ensure(username=ANNOTATOR_USERNAME, password=password, roles=[ANNOTATOR])
    return project, videos, task_ids, password


# ---- The session over the API -------------------------------------------------------------------


class ApiTaskSession:
    """One object of one task, through the REST API (implements ``protocols.TaskSession``)."""

    def __init__(self, client: MaskletClient, task_id: int, object_number: int, *, job_timeout: float) -> None:
        self.client, self.task_id, self.object_number = client, task_id, object_number
        self.job_timeout = job_timeout

    def click(self, frame_index: int, click: Click, stamp: datetime) -> np.ndarray:
        answer = self.client.click(self.task_id, frame_index=frame_index, object_number=self.object_number,
                                   points=[(click.x, click.y)], labels=[click.label], client_timestamp=stamp)
        return answer.mask

    def mask(self, frame_index: int, mask: np.ndarray, stamp: datetime) -> np.ndarray:
        answer = self.client.mask(self.task_id, frame_index=frame_index, object_number=self.object_number,
                                  mask=mask, client_timestamp=stamp)
        return answer.mask

    def propagate(self, frame_index: int, direction: str, stamp: datetime) -> dict[int, np.ndarray]:
        job = self.client.propagate(self.task_id, frame_index=frame_index, direction=direction,  # type: ignore[arg-type]
                                    client_timestamp=stamp)
        self.client.wait_job(job.id, timeout=self.job_timeout)
        self.client.heartbeat(self.task_id)
        return self.latest()

    def latest(self) -> dict[int, np.ndarray]:
        return self.client.masks(self.task_id, object_number=self.object_number)[self.object_number]


def annotate_tasks(client: MaskletClient, config: SimulationConfig, project_id: int, videos: list[SimVideo],
                   task_ids: list[int], *, log: Callable[[str], None] = logger.info) -> list[TaskRecord]:
    """Lease and work every task this run queued, one after the other, as one annotator."""
    by_video = {v.video_id: v for v in videos}
    expected = set(task_ids)
    foreign: set[int] = set()
    records = []
    while expected:
        task = client.next_task(project=project_id, phase=config.phase)
        if task is None:
            raise RuntimeError(f"The queue ran dry with tasks {sorted(expected)} of this run not done "
                               "(someone else took them?).")
        if task.id not in expected:
            # A lease left by an interrupted run (the queue hands a held task back first): give it
            # back once; seen again, it is queued work of this project that this run did not make.
            if task.id in foreign:
                raise RuntimeError(f"Task {task.id} of project {config.project_name!r} was not queued by this "
                                   "run; use a fresh --project (or finish that task first).")
            foreign.add(task.id)
            client.release(task.id)
            log(f"task {task.id} was not queued by this run: released")
            continue
        try:
            records.append(_annotate_task(client, config, task, by_video[task.video], log=log))
        except BaseException:
            with contextlib.suppress(Exception):  # leave nothing leased behind; the error matters more
                client.release(task.id)
            raise
        expected.discard(task.id)
    return records


def _annotate_task(client: MaskletClient, config: SimulationConfig, task, sim: SimVideo, *,
                   log: Callable[[str], None]) -> TaskRecord:
    """One task: open its session, add the object, annotate it under the phase's rules, submit."""
    gt_object = sim.pending[0]
    started = time.monotonic()
    session = client.open_session(task.id)
    obj = client.add_object(task.id)
    api_session = ApiTaskSession(client, task.id, obj.object_number, job_timeout=config.job_timeout)
    clock = SimClock(start=datetime.now(UTC))
    outcome = annotate_object(api_session, sim.gt[gt_object], clock, phase=session.phase, policy=config.policy)
    masks = api_session.latest()
    client.submit(task.id, masklets=[obj.masklet_id], client_timestamp=clock.now())
    sim.pending.pop(0)
    log(f"task {task.id}: video {sim.name} object {gt_object}: {outcome.clicks} clicks on "
        f"{len(outcome.clicks_per_frame)} frames, {outcome.strokes} brush strokes, {len(outcome.erased_frames)} erased, "
        f"{outcome.propagations} propagations, "
        f"{clock.seconds:.1f} s simulated ({time.monotonic() - started:.1f} s real)")
    return TaskRecord(task.id, task.video, gt_object, obj.object_number, obj.masklet_id, outcome, clock.seconds,
                      masks, sim.gt[gt_object])


# ---- Quality against the ground truth ----------------------------------------------------------


def quality(videos: list[SimVideo], records: list[TaskRecord]) -> tuple[float, float, float, float]:
    """(J&F, J, F, mean IoU) of the submitted masks against the GT, SA-V's way (percent)."""
    from engine.evaluation import aggregate, evaluate_video

    by_video = {v.video_id: v for v in videos}
    scores, ious = [], []
    for video_id in sorted({r.video_id for r in records}):
        sim = by_video[video_id]
        mine = [r for r in records if r.video_id == video_id]
        gt = {r.gt_object: sim.gt[r.gt_object] for r in mine}
        pred = {r.gt_object: np.stack([r.masks[i] for i in range(sim.gt[r.gt_object].shape[0])]) for r in mine}
        scores.append(evaluate_video(gt, pred, name=sim.name))
        for r in mine:
            ious += list(frame_ious(gt[r.gt_object], r.masks))
    total = aggregate(scores)
    return total.jf, total.j, total.f, float(np.mean(ious) * 100) if ious else float("nan")


# ---- Processes: a live server and a worker ------------------------------------------------------


@contextlib.contextmanager
def live_server() -> Iterator[str]:
    """This project's WSGI app on a free local port in a thread (Django's live-server thread)."""
    from django.contrib.staticfiles.handlers import StaticFilesHandler
    from django.test.testcases import LiveServerThread

    thread = LiveServerThread("127.0.0.1", StaticFilesHandler, port=0)
    thread.daemon = True
    thread.start()
    thread.is_ready.wait()
    if thread.error:
        raise thread.error
    try:
        yield f"http://127.0.0.1:{thread.port}"
    finally:
        thread.terminate()


@contextlib.contextmanager
def celery_worker(*, timeout: float = 90.0) -> Iterator[subprocess.Popen]:
    """A Celery worker (queues cpu and gpu, concurrency 1) for the run, with this process's settings."""
    from dataplatform.processes import start_celery_worker, stop_process_group, wait_for_worker

    hostname = f"simulation-{uuid.uuid4().hex[:6]}@%h"
    log = tempfile.NamedTemporaryFile("w+", prefix="masklet-sim-worker-", suffix=".log", delete=False)  # noqa: SIM115
    proc = start_celery_worker(hostname=hostname, log=log)
    try:
        if not wait_for_worker(proc, hostname=hostname, timeout=timeout):
            raise RuntimeError(f"The simulation's Celery worker did not start; its log: {log.name}")
        yield proc
    except BaseException:
        logger.error("The simulation's Celery worker log is kept at %s", log.name)
        raise
    else:
        Path(log.name).unlink(missing_ok=True)
    finally:
        stop_process_group(proc)
        log.close()


# ---- The whole run --------------------------------------------------------------------------------


def run_simulation(config: SimulationConfig, *, base_url: str, log: Callable[[str], None] = logger.info
                   ) -> SimulationResult:
    """Set up, annotate every task through the API at ``base_url``, read the metrics back."""
    from annotation.selectors.metrics import engine_metrics

    with tempfile.TemporaryDirectory(prefix="masklet-sim-") as folder:
        project, videos, task_ids, password = setup(config, folder=Path(folder))
    log(f"project {project.name!r} (phase {config.phase}): {len(videos)} videos, {len(task_ids)} tasks")
    client = MaskletClient(base_url)
    client.login(ANNOTATOR_USERNAME, password)
    records = annotate_tasks(client, config, project.pk, videos, task_ids, log=log)
    jf, j, f, mean_iou = quality(videos, records)
    return SimulationResult(project.pk, config.phase, records, engine_metrics(group_by="phase", project=project),
                            jf, j, f, mean_iou)


def report_lines(result: SimulationResult) -> list[str]:
    """The Table 1 analog (the platform's metrics) and the quality against the ground truth."""
    from annotation.management.commands.engine_report import metrics_table

    lines = metrics_table(result.metrics) if result.metrics else ["No submitted task in the metrics."]
    clicks = sum(r.outcome.clicks for r in result.tasks)
    clicked = sum(len(r.outcome.clicks_per_frame) for r in result.tasks)
    erased = sum(len(r.outcome.erased_frames) for r in result.tasks)
    strokes = sum(r.outcome.strokes for r in result.tasks)
    propagations = sum(r.outcome.propagations for r in result.tasks)
    seconds = sum(r.seconds for r in result.tasks)
    lines += [
        "",
        f"simulated annotator (phase {result.phase}): {len(result.tasks)} tasks, {clicks} clicks on {clicked} "
        f"frames, {strokes} brush strokes, {erased} frames erased, {propagations} propagations, "
        f"{seconds:.1f} s by the time model",
        f"submitted masks vs ground truth: J&F {result.jf:.1f}  J {result.j:.1f}  F {result.f:.1f}  "
        f"mean IoU {result.mean_iou:.1f} %",
    ]
    return lines
