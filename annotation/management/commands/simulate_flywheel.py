"""``python manage.py simulate_flywheel [--rounds N] [--videos N] [--seed S] [--start shipped|untrained]``:
the data engine's flywheel, measured on synthetic videos through the platform.

The videos are in the ``field`` look by default (``engine.synthetic.LOOKS``): a domain the shipped
micro model was not trained on, as SA-V's videos were new to SAM. One project holds the run. Its
held-out ``val`` videos get their exact ground truth as accepted masklets (what an import of a
labelled val set gives). Then, round after round:

1. the project is switched to the round's phase (1, 2, then 3 for every further round) and simulated
   annotators work new synthetic videos through the REST API, with the active model version in the
   loop (``annotation.simulation``; a real Celery worker answers their clicks and propagations);
2. a reviewer checks them against the ground truth and accepts those that match the object (mean
   IoU over the annotated frames at least 0.75, the paper's threshold; the others stay out of the
   training data), and the videos join the ``train`` split;
3. a retraining round (the platform's Job, on the worker) fine-tunes the active version on every
   accepted masklet so far, and scores it on the val videos; it is promoted, so the next phase's
   annotators use it.

At the end it prints the analog of the paper's Table 2 (J&F on the held-out videos after each
round, per protocol) and of Table 1 (time per frame, edited frames, clicks per clicked frame per
phase, from the platform's own metrics), with the paper's figures beside them.
"""

from __future__ import annotations

import contextlib
import secrets
import tempfile
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError, CommandParser

from annotation.simulation.protocols import Policy
from annotation.simulation.runner import (
    SimulationConfig,
    celery_worker,
    live_server,
    make_videos,
    run_simulation,
)
from engine.synthetic import LOOKS

# Table 2 of the paper: J&F on SA-V val and on 9 zero-shot datasets after each phase's data.
PAPER_TABLE2 = [("start (SA-1B + public data)", 50.0, 62.5), ("+ phase 1", 53.0, 66.9), ("+ phase 2", 58.8, 70.9),
                ("+ phase 3", 63.2, 71.5)]
PAPER_SPEEDUP = 37.8 / 4.5  # phase 1 vs phase 3 time per frame (Table 1): 8.4x


@dataclass
class FlywheelConfig:
    rounds: int = 3
    videos: int = 3  # annotated per round
    val_videos: int = 6
    seed: int = 0
    start: str = "shipped"  # or "untrained"
    steps: int = 60
    lr: float = 2e-4
    warmup: int = 0  # linear warm-up steps at the start of each round
    # A round's weights: the moving average over its second half with this decay (None: the last
    # step's); the README has both measured.
    average_decay: float | None = 0.99
    width: int = 320
    height: int = 240
    source_frames: int = 96  # 24 annotated frames at 6 fps (4 s; SA-V videos average 14 s)
    objects: tuple[int, int] = (2, 3)
    # The videos' look: "field" by default, a domain the shipped micro model was not trained on (it was
    # trained on "studio" videos), as SA-V's videos were new to SAM: there the rounds have something to
    # teach. With "studio" the start model already knows the domain (see the README).
    look: str = "field"
    policy: Policy = field(default_factory=Policy)


@dataclass
class RoundReport:
    number: int
    phase: int
    version: str
    annotated: str
    metrics: dict


def _log(stdout):
    return lambda line: stdout.write(line)


def initial_version(cfg: FlywheelConfig, tag: str, user):
    """Round 0's model in storage as a version of its own (the shipped micro weights, or an untrained
    micro model), promoted, so the worker loads exactly it."""
    import torch

    from annotation.models import ModelVersion
    from annotation.services.modelversions import model_version_promote
    from annotation.services.retraining import shipped_weights
    from dataplatform import storage
    from engine.checkpoint import load_model, save_model
    from engine.config import get_config
    from engine.modeling.sam2 import build_sam2

    if cfg.start == "shipped":
        path = shipped_weights("micro")
        if path is None:
            raise CommandError("The shipped micro weights are missing; use --start untrained.")
        model = load_model(None, path)
    else:
        torch.manual_seed(cfg.seed)
        model = build_sam2(get_config("micro"))
    name = f"{tag}-r0"
    with tempfile.TemporaryDirectory() as folder:
        local = save_model(model, Path(folder) / "model.safetensors")
        with open(local, "rb") as handle:
            key = storage.put_file(storage.checkpoint_key(name), handle)
    version = ModelVersion.objects.create(name=name, config_name="micro", checkpoint_key=key, created_by=user,
                                          metrics={"note": f"flywheel start: {cfg.start} micro weights"})
    return model_version_promote(version=version, user=user)


def add_val_videos(cfg: FlywheelConfig, project, reviewer, folder: Path) -> int:
    """Held-out videos with their ground truth as accepted masklets (split val)."""
    from annotation.models import Masklet, Review
    from annotation.services.masklets import masklet_create, masklet_revision_create
    from dataplatform.models import Video
    from engine import rle as rle_ops

    sim_cfg = SimulationConfig(phase=project.phase, videos=cfg.val_videos, seed=cfg.seed * 7919 + 104729,
                               height=cfg.height, width=cfg.width, source_frames=cfg.source_frames,
                               min_objects=cfg.objects[0], max_objects=cfg.objects[1], look=cfg.look)
    objects = 0
    for sim in make_videos(sim_cfg, project, folder=folder):
        Video.objects.filter(pk=sim.video_id).update(split=Video.Split.VAL)
        video = Video.objects.get(pk=sim.video_id)
        for masks in sim.gt.values():
            if not masks.any():
                continue
            masklet = masklet_create(video=video)
            revision = masklet_revision_create(masklet=masklet, masks={str(t): rle_ops.encode(m)
                                                                       for t, m in enumerate(masks)},
                                               source="import")
            Review.objects.create(revision=revision, reviewer=reviewer, decision=Review.Decision.ACCEPT)
            Masklet.objects.filter(pk=masklet.pk).update(status=Masklet.Status.ACCEPTED)
            objects += 1
    return objects


def review_and_assign(result, reviewer, *, accept_iou: float) -> tuple[int, int]:
    """QA: the reviewer accepts the masklets whose masks match the object (mean IoU with the ground
    truth over the annotated frames at least ``accept_iou``, the paper's 0.75), as a reviewer who
    checks every frame would; the others stay unaccepted, out of the training data. The round's
    videos join train. Returns (accepted, left out)."""
    from annotation.models import Masklet
    from annotation.services.reviews import masklet_accept, review_next_for
    from dataplatform.models import Video

    accepted = left_out = 0
    for record in result.tasks:
        if record.mean_iou() < accept_iou:
            left_out += 1
            continue
        # A decision needs the review lease: the reviewer takes that masklet from the queue first.
        masklet = review_next_for(user=reviewer, masklet=Masklet.objects.get(pk=record.masklet_id))
        masklet_accept(masklet=masklet, user=reviewer, revision_id=masklet.current_revision_id)
        accepted += 1
    Video.objects.filter(pk__in={r.video_id for r in result.tasks}).update(split=Video.Split.TRAIN)
    return accepted, left_out


def run_round_on_worker(launched, log, *, timeout: float = 3600.0):
    """Follow the round's Job (on the worker) to its end, logging its step and loss."""
    from annotation.models import RetrainingRound

    deadline, last = time.monotonic() + timeout, ""
    terminal = {RetrainingRound.Status.SUCCEEDED, RetrainingRound.Status.FAILED, RetrainingRound.Status.CANCELLED}
    while time.monotonic() < deadline:
        launched.refresh_from_db()
        job = launched.job
        job.refresh_from_db()
        line = (f"  round {launched.pk}: {launched.status}, step {job.result.get('step', 0)}/{job.progress_total}, "
                f"loss {job.result.get('loss')}")
        if line != last and (job.result.get("step", 0) % 10 == 0 or launched.status != "training"):
            log(line)
            last = line
        if launched.status in terminal:
            return launched
        time.sleep(1.0)
    raise CommandError(f"Retraining round {launched.pk} did not finish in {timeout:.0f} s.")


def table2_lines(rounds: list[RoundReport], start_metrics: dict | None) -> list[str]:
    protocols = ("mask", "1-click")
    head = f"{'model':<28} {'data':<22} " + " ".join(f"{'J&F ' + p:>12}" for p in protocols)
    head += "  │ paper (SA-V val / 9 zero-shot)"
    lines = [head, "─" * len(head)]
    rows = [("round 0 (start)", "—", start_metrics)] + [
        (r.version, f"+ phase {r.phase} ({r.annotated})", r.metrics.get("val")) for r in rounds]
    for i, (name, data, val) in enumerate(rows):
        cells = " ".join(f"{(val or {}).get(p, {}).get('jf', float('nan')):>12.1f}" for p in protocols)
        paper = PAPER_TABLE2[min(i, len(PAPER_TABLE2) - 1)] if i < len(PAPER_TABLE2) else None
        ref = f"{paper[0]}: {paper[1]:.1f} / {paper[2]:.1f}" if paper else "—"
        lines.append(f"{name:<28} {data:<22} {cells}  │ {ref}")
    return lines


def table1_lines(project) -> tuple[list[str], float | None]:
    from annotation.management.commands.engine_report import metrics_table
    from annotation.selectors.metrics import engine_metrics

    rows = [row for row in engine_metrics(group_by="phase", project=project) if row.tasks]
    by_phase = {row.key: row.time_per_frame_s for row in rows}
    ratio = None
    if by_phase.get(1) and by_phase.get(3):
        ratio = by_phase[1] / by_phase[3]
    return metrics_table(rows), ratio


class Command(BaseCommand):
    help = "The data engine's flywheel on synthetic videos: annotate, retrain, promote, repeat; Tables 1 and 2."

    def add_arguments(self, parser: CommandParser) -> None:
        d = FlywheelConfig()
        parser.add_argument("--rounds", type=int, default=d.rounds, help="Rounds: phase 1, 2, then 3 (default 3).")
        parser.add_argument("--videos", type=int, default=d.videos, help="Videos annotated per round (default %(default)s).")
        parser.add_argument("--val-videos", type=int, default=d.val_videos, help="Held-out videos (default %(default)s).")
        parser.add_argument("--seed", type=int, default=d.seed)
        parser.add_argument("--start", choices=("shipped", "untrained"), default=d.start,
                            help="Round 0's model: the shipped micro weights or an untrained micro model.")
        parser.add_argument("--steps", type=int, default=d.steps, help="Training steps per round (default %(default)s).")
        parser.add_argument("--lr", type=float, default=d.lr, help="Peak learning rate of each round (default %(default)s).")
        parser.add_argument("--warmup", type=int, default=d.warmup, help="Warm-up steps of each round's learning rate.")
        parser.add_argument("--average-decay", type=float, default=d.average_decay,
                            help="Each round keeps the moving average of its weights over the second half of "
                                 "its steps with this decay (default %(default)s; 0: the last step's weights).")
        parser.add_argument("--frames", type=int, default=d.source_frames, help="Frames at 24 fps per video.")
        parser.add_argument("--size", default=f"{d.width}x{d.height}", help="WIDTHxHEIGHT (even numbers).")
        parser.add_argument("--objects", default=f"{d.objects[0]}-{d.objects[1]}",
                            help="MIN-MAX objects per video (default %(default)s).")
        parser.add_argument("--look", choices=tuple(LOOKS), default=d.look,
                            help="How the videos look (default %(default)s, a domain new to the shipped model; "
                                 "studio is the one it was trained on).")
        parser.add_argument("--no-worker", action="store_true",
                            help="Use the Celery workers already running (sharing this database and storage) "
                                 "instead of starting one.")

    def handle(self, *args, **options) -> None:
        try:
            width, height = (int(v) for v in options["size"].lower().split("x"))
        except ValueError:
            raise CommandError("--size is WIDTHxHEIGHT.") from None
        try:
            low, high = (int(v) for v in options["objects"].split("-"))
        except ValueError:
            raise CommandError("--objects is MIN-MAX, e.g. 2-3.") from None
        if not 1 <= low <= high:
            raise CommandError(f"--objects needs 1 <= MIN <= MAX, got {options['objects']}.")
        if options["look"] not in LOOKS:
            raise CommandError(f"--look is one of {', '.join(LOOKS)}, got {options['look']!r}.")
        if options["rounds"] < 1 or options["videos"] < 1 or options["val_videos"] < 0:
            raise CommandError("--rounds and --videos must be at least 1, --val-videos at least 0.")
        from annotation.services.retraining import HYPERPARAMETERS

        decay = options["average_decay"] or None  # 0: no average
        _, low_decay, high_decay = HYPERPARAMETERS["average_decay"]
        if decay is not None and not low_decay <= decay <= high_decay:
            raise CommandError(f"--average-decay is 0 (the last step's weights) or between {low_decay} and "
                               f"{high_decay}, got {options['average_decay']}.")
        cfg = FlywheelConfig(rounds=options["rounds"], videos=options["videos"], val_videos=options["val_videos"],
                             seed=options["seed"], start=options["start"], steps=options["steps"], lr=options["lr"],
                             warmup=options["warmup"], average_decay=decay,
                             width=width, height=height, source_frames=options["frames"], objects=(low, high),
                             look=options["look"])
        started = time.monotonic()
        with contextlib.ExitStack() as stack:
            if not options["no_worker"]:
                self.stdout.write("Starting a Celery worker for the run…")
                stack.enter_context(celery_worker())
            base_url = stack.enter_context(live_server())
            rounds, start_metrics, project = self.flywheel(cfg, base_url)
        self.stdout.write(f"\nTable 2 analog: J&F on {cfg.val_videos} held-out synthetic videos ({cfg.look} look) "
                          f"after each round (start: {cfg.start} micro)")
        for line in table2_lines(rounds, start_metrics):
            self.stdout.write(line)
        lines, ratio = table1_lines(project)
        self.stdout.write(f"\nTable 1 analog: the platform's metrics per phase (project {project.name!r})")
        for line in lines:
            self.stdout.write(line)
        if ratio is not None:
            self.stdout.write(f"phase 1 / phase 3 time per frame: {ratio:.1f}x (paper: {PAPER_SPEEDUP:.1f}x)")
        jfs = [start_metrics] + [r.metrics.get("val") for r in rounds]
        rising = all(a and b and b["mask"]["jf"] > a["mask"]["jf"] for a, b in zip(jfs, jfs[1:], strict=False))
        self.stdout.write(f"J&F (GT-mask protocol) rises every round: {'yes' if rising else 'no'}; "
                          f"wall time {(time.monotonic() - started) / 60:.1f} min")

    def flywheel(self, cfg: FlywheelConfig, base_url: str):
        from annotation.models import ModelVersion
        from annotation.services.modelversions import model_version_promote
        from annotation.services.retraining import retraining_round_launch
        from dataplatform.errors import ApplicationError
        from dataplatform.models import Project
        from dataplatform.roles import ADMIN, REVIEWER
        from dataplatform.services.users import user_ensure

        log = _log(self.stdout)
        tag = f"flywheel-s{cfg.seed}-{uuid.uuid4().hex[:6]}"
        admin = user_ensure(username="sim-admin", password=secrets.token_urlsafe(16), roles=[ADMIN, REVIEWER])
        reviewer = user_ensure(username="sim-reviewer", password=secrets.token_urlsafe(16), roles=[REVIEWER])
        project = Project.objects.create(name=f"Flywheel {tag}", phase=1)
        version = initial_version(cfg, tag, admin)
        with tempfile.TemporaryDirectory(prefix="masklet-flywheel-") as folder:
            objects = add_val_videos(cfg, project, reviewer, Path(folder))
        log(f"project {project.name!r}: {cfg.val_videos} held-out val videos ({objects} objects); "
            f"round 0 model {version.name}")
        rounds: list[RoundReport] = []
        start_metrics = None
        for number in range(1, cfg.rounds + 1):
            phase = min(number, 3)
            Project.objects.filter(pk=project.pk).update(phase=phase)
            log(f"\n== Round {number}: phase {phase} annotation with {version.name} ==")
            sim_cfg = SimulationConfig(
                phase=phase, videos=cfg.videos, seed=cfg.seed * 1000 + number, project=project.name,
                height=cfg.height, width=cfg.width, source_frames=cfg.source_frames,
                min_objects=cfg.objects[0], max_objects=cfg.objects[1], look=cfg.look, policy=cfg.policy)
            result = run_simulation(sim_cfg, base_url=base_url, log=log)
            accepted, left_out = review_and_assign(result, reviewer, accept_iou=cfg.policy.accept_iou)
            log(f"QA accepted {accepted} masklets, left {left_out} out (mean IoU with the GT below "
                f"{cfg.policy.accept_iou}; submitted masks vs GT: J&F {result.jf:.1f}); "
                f"retraining {version.name} on phases 1..{phase}")
            try:
                launched = retraining_round_launch(
                    base_version=version, data_selection={"phases": list(range(1, phase + 1)), "project": project.pk},
                    hyperparameters={"steps": cfg.steps, "lr": cfg.lr, "warmup_steps": cfg.warmup,
                                     "average_decay": cfg.average_decay,
                                     "seed": cfg.seed + number,
                                     "eval_videos": cfg.val_videos}, user=admin)
            except ApplicationError as error:
                raise CommandError(f"Round {number} cannot retrain: {error.message} (QA left out every masklet "
                                   "so far: try larger videos, --size).") from None
            done = run_round_on_worker(launched, log)
            if done.status != "succeeded":
                raise CommandError(f"Retraining round {done.pk} {done.status}: {done.message}")
            new = ModelVersion.objects.get(pk=done.resulting_version_id)
            if start_metrics is None:
                start_metrics = new.metrics.get("val_base")
            version = model_version_promote(version=new, user=admin)
            log(f"{new.name}: {done.message}; promoted")
            rounds.append(RoundReport(number, phase, new.name, f"{accepted} masklets", new.metrics))
        return rounds, start_metrics, project
