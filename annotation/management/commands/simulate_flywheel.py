"""``python manage.py simulate_flywheel [--rounds N] [--videos N] [--seeds S ...] [--start shipped|untrained]``:
the data engine's flywheel, measured on synthetic videos through the platform, over several seeds.

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
   accepted masklet so far, and scores it and the active version on the val videos; the promotion
   gate (``annotation.services.promotion``) promotes it only when it beats the active version by
   more than the evaluation's noise, so the next phase's annotators never get a worse model.

Two held-out sets: ``val`` (the development set: seeded from ``--seed``, the gate decides on it, and
the defaults were chosen on it) and ``test``, the untouched set: ``--test-videos`` videos made from
``TEST_SEED``, fixed once and never used to choose anything, scored after each round with the
evaluation Job (``annotation.services.evaluations``) and only reported.

For each seed it prints the analog of the paper's Table 2 (J&F on the held-out videos after each
round, per protocol) and of Table 1 (time per frame, edited frames, clicks per clicked frame per
phase, from the platform's own metrics), with the paper's figures beside them. With several seeds
(``--seeds 0 1 2``) it then prints the active model's J&F after each round as mean ± standard
deviation (min..max) over the seeds, on both sets, and how many seeds rose or fell in each round.
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
from engine.synthetic import LOOKS, TEST_SEED

# Table 2 of the paper: J&F on SA-V val and on 9 zero-shot datasets after each phase's data.
PAPER_TABLE2 = [("start (SA-1B + public data)", 50.0, 62.5), ("+ phase 1", 53.0, 66.9), ("+ phase 2", 58.8, 70.9),
                ("+ phase 3", 63.2, 71.5)]
PAPER_SPEEDUP = 37.8 / 4.5  # phase 1 vs phase 3 time per frame (Table 1): 8.4x
SUMMARY_PROTOCOLS = ("mask", "1-click", "box")


@dataclass
class FlywheelConfig:
    rounds: int = 3
    videos: int = 3  # annotated per round
    val_videos: int = 6
    test_videos: int = 6  # the untouched test set (TEST_SEED), scored after each round, only reported
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
    metrics: dict  # the round's version's (its val scores, the gate's decision)
    promoted: bool = False
    active_val: dict | None = None  # the active version's val scores after the round
    active_test: dict | None = None  # ... and its scores on the untouched test set


@dataclass
class SeedReport:
    seed: int
    rounds: list[RoundReport]
    start_val: dict | None
    start_test: dict | None
    project: object
    minutes: float


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


def add_val_videos(cfg: FlywheelConfig, project, reviewer, folder: Path, *, split: str = "val",
                   videos: int | None = None, seed: int | None = None) -> int:
    """Held-out videos with their ground truth as accepted masklets (split val, or test)."""
    from annotation.models import Masklet, Review
    from annotation.services.masklets import masklet_create, masklet_revision_create
    from dataplatform.models import Video
    from engine import rle as rle_ops

    sim_cfg = SimulationConfig(phase=project.phase, videos=cfg.val_videos if videos is None else videos,
                               seed=cfg.seed * 7919 + 104729 if seed is None else seed,
                               height=cfg.height, width=cfg.width, source_frames=cfg.source_frames,
                               min_objects=cfg.objects[0], max_objects=cfg.objects[1], look=cfg.look)
    objects = 0
    for sim in make_videos(sim_cfg, project, folder=folder):
        Video.objects.filter(pk=sim.video_id).update(split=split)
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


def _jf(scores: dict | None, protocol: str) -> float:
    return float((scores or {}).get(protocol, {}).get("jf", float("nan")))


def table2_lines(rounds: list[RoundReport], start_metrics: dict | None, start_test: dict | None = None) -> list[str]:
    """Per round: the round's version on val (the gate's set) and whether the gate promoted it, then
    the active version after the round on val and on the untouched test set (GT-mask protocol)."""
    protocols = SUMMARY_PROTOCOLS
    head = (f"{'model':<28} {'data':<22} " + " ".join(f"{'J&F ' + p:>12}" for p in protocols)
            + f" {'gate (gain ± noise)':>26} {'active: val':>12} {'test':>7}")
    head += "  │ paper (SA-V val / 9 zero-shot)"
    lines = [head, "─" * len(head)]
    rows = [("round 0 (start)", "—", start_metrics, "—", start_metrics, start_test)] + [
        (r.version, f"+ phase {r.phase} ({r.annotated})", r.metrics.get("val"), _gate_cell(r), r.active_val,
         r.active_test) for r in rounds]
    for i, (name, data, val, gate, active_val, active_test) in enumerate(rows):
        cells = " ".join(f"{_jf(val, p):>12.1f}" for p in protocols)
        paper = PAPER_TABLE2[i] if i < len(PAPER_TABLE2) else None
        ref = f"{paper[0]}: {paper[1]:.1f} / {paper[2]:.1f}" if paper else "—"
        lines.append(f"{name:<28} {data:<22} {cells} {gate:>26} {_jf(active_val, 'mask'):>12.1f} "
                     f"{_jf(active_test, 'mask'):>7.1f}  │ {ref}")
    return lines


def _gate_cell(report: RoundReport) -> str:
    gate = report.metrics.get("gate") or {}
    if gate.get("gain") is None:
        return "not compared"
    return f"{'promoted' if report.promoted else 'kept'} ({gate['gain']:+.1f} ± {gate['noise']:.1f})"


def _spread(values: list[float]) -> str:
    import numpy as np

    data = np.asarray([v for v in values if v == v], dtype=float)  # NaN: not evaluated
    if data.size == 0:
        return "—"
    sd = float(data.std(ddof=1)) if data.size > 1 else 0.0
    return f"{data.mean():.1f} ± {sd:.1f} ({data.min():.1f}..{data.max():.1f})"


def summary_lines(reports: list[SeedReport]) -> list[str]:
    """The active model's J&F after each round over the seeds (mean ± sample sd (min..max)), on the
    development (val) and the untouched test set, and per round how many seeds rose, fell, promoted."""
    n = len(reports)
    rounds = min(len(r.rounds) for r in reports)
    cols = [("val", p) for p in SUMMARY_PROTOCOLS] + [("test", p) for p in SUMMARY_PROTOCOLS]
    head = f"{'after':<9} " + " ".join(f"{s + ' ' + p:>25}" for s, p in cols) + f" {'promoted':>9} {'val mask':>15} {'test mask':>15}"
    lines = [head, "─" * len(head)]

    def active(report: SeedReport, k: int, split: str) -> dict | None:
        if k == 0:
            return report.start_val if split == "val" else report.start_test
        r = report.rounds[k - 1]
        return r.active_val if split == "val" else r.active_test

    for k in range(rounds + 1):
        cells = " ".join(f"{_spread([_jf(active(r, k, s), p) for r in reports]):>25}" for s, p in cols)
        if k == 0:
            extra = f" {'—':>9} {'—':>15} {'—':>15}"
        else:
            promoted = sum(r.rounds[k - 1].promoted for r in reports)
            moves = []
            for split in ("val", "test"):
                deltas = [_jf(active(r, k, split), "mask") - _jf(active(r, k - 1, split), "mask") for r in reports]
                up, down = sum(d > 0 for d in deltas), sum(d < 0 for d in deltas)
                moves.append(f"{up} up {down} down")
            extra = f" {f'{promoted}/{n}':>9} {moves[0]:>15} {moves[1]:>15}"
        lines.append(f"{'start' if k == 0 else f'round {k}':<9} {cells}{extra}")
    first = [_jf(r.start_val, "mask") for r in reports]
    last = [_jf(active(r, rounds, "val"), "mask") for r in reports]
    first_t = [_jf(r.start_test, "mask") for r in reports]
    last_t = [_jf(active(r, rounds, "test"), "mask") for r in reports]

    def mean(values: list[float]) -> float:
        values = [v for v in values if v == v]
        return sum(values) / len(values) if values else float("nan")

    lines.append(f"GT-mask J&F of the active model, start -> round {rounds}, mean over {n} seeds: "
                 f"val {mean(first):.1f} -> {mean(last):.1f}, test {mean(first_t):.1f} -> {mean(last_t):.1f}")
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
    help = ("The data engine's flywheel on synthetic videos: annotate, retrain, gate, promote, repeat; Tables 1 "
            "and 2 per seed, and the mean and spread over the seeds.")

    def add_arguments(self, parser: CommandParser) -> None:
        d = FlywheelConfig()
        parser.add_argument("--rounds", type=int, default=d.rounds, help="Rounds: phase 1, 2, then 3 (default 3).")
        parser.add_argument("--videos", type=int, default=d.videos, help="Videos annotated per round (default %(default)s).")
        parser.add_argument("--val-videos", type=int, default=d.val_videos,
                            help="Held-out development (val) videos per seed (default %(default)s).")
        parser.add_argument("--test-videos", type=int, default=d.test_videos,
                            help=f"Untouched test videos (seed {TEST_SEED}, the same for every seed; default "
                                 "%(default)s; 0: none).")
        parser.add_argument("--seeds", type=int, nargs="+", default=None,
                            help="Run once per seed, then print the mean and spread over them (e.g. --seeds 0 1 2).")
        parser.add_argument("--seed", type=int, default=None, help="One seed (default 0; --seeds for several).")
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
        if options["rounds"] < 1 or options["videos"] < 1 or options["val_videos"] < 0 or options["test_videos"] < 0:
            raise CommandError("--rounds and --videos must be at least 1, --val-videos and --test-videos at least 0.")
        if options.get("seeds") and options.get("seed") is not None:
            raise CommandError("Give --seed or --seeds, not both.")
        seeds = list(options.get("seeds") or [options.get("seed") or 0])
        if len(set(seeds)) != len(seeds) or len(seeds) > 20:
            raise CommandError(f"--seeds are at most 20 different seeds, got {seeds}.")
        from annotation.services.retraining import HYPERPARAMETERS

        decay = options["average_decay"] or None  # 0: no average
        _, low_decay, high_decay = HYPERPARAMETERS["average_decay"]
        if decay is not None and not low_decay <= decay <= high_decay:
            raise CommandError(f"--average-decay is 0 (the last step's weights) or between {low_decay} and "
                               f"{high_decay}, got {options['average_decay']}.")
        started = time.monotonic()
        reports: list[SeedReport] = []
        with contextlib.ExitStack() as stack:
            if not options["no_worker"]:
                self.stdout.write("Starting a Celery worker for the run…")
                stack.enter_context(celery_worker())
            base_url = stack.enter_context(live_server())
            for seed in seeds:
                cfg = FlywheelConfig(rounds=options["rounds"], videos=options["videos"],
                                     val_videos=options["val_videos"], test_videos=options["test_videos"],
                                     seed=seed, start=options["start"], steps=options["steps"], lr=options["lr"],
                                     warmup=options["warmup"], average_decay=decay, width=width, height=height,
                                     source_frames=options["frames"], objects=(low, high), look=options["look"])
                seed_started = time.monotonic()
                self.stdout.write(f"\n######## seed {seed} ########")
                rounds, start_val, start_test, project = self.flywheel(cfg, base_url)
                report = SeedReport(seed, rounds, start_val, start_test, project,
                                    (time.monotonic() - seed_started) / 60)
                reports.append(report)
                self.print_seed(cfg, report)
        if len(reports) > 1:
            self.stdout.write(f"\nOver seeds {', '.join(str(r.seed) for r in reports)}: J&F of the active model "
                              f"after each round, mean ± sd (min..max); val: {options['val_videos']} development "
                              f"videos per seed (the gate's), test: the untouched {options['test_videos']} videos "
                              f"(seed {TEST_SEED})")
            for line in summary_lines(reports):
                self.stdout.write(line)
        self.stdout.write(f"wall time {(time.monotonic() - started) / 60:.1f} min")

    def print_seed(self, cfg: FlywheelConfig, report: SeedReport) -> None:
        self.stdout.write(f"\nTable 2 analog (seed {report.seed}): J&F on {cfg.val_videos} held-out synthetic videos "
                          f"({cfg.look} look) after each round (start: {cfg.start} micro); active: the promoted "
                          f"model's GT-mask J&F on val and on the {cfg.test_videos} untouched test videos")
        for line in table2_lines(report.rounds, report.start_val, report.start_test):
            self.stdout.write(line)
        lines, ratio = table1_lines(report.project)
        self.stdout.write(f"\nTable 1 analog (seed {report.seed}): the platform's metrics per phase "
                          f"(project {report.project.name!r})")
        for line in lines:
            self.stdout.write(line)
        if ratio is not None:
            self.stdout.write(f"phase 1 / phase 3 time per frame: {ratio:.1f}x (paper: {PAPER_SPEEDUP:.1f}x)")
        jfs = [report.start_val] + [r.active_val for r in report.rounds]
        rising = all(a and b and b["mask"]["jf"] > a["mask"]["jf"] for a, b in zip(jfs, jfs[1:], strict=False))
        self.stdout.write(f"seed {report.seed}: the active model's J&F (GT mask, val) rises every round: "
                          f"{'yes' if rising else 'no'}; {sum(r.promoted for r in report.rounds)} of "
                          f"{len(report.rounds)} rounds promoted; {report.minutes:.1f} min")

    def flywheel(self, cfg: FlywheelConfig, base_url: str):
        from annotation.models import ModelVersion
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
            test_objects = (add_val_videos(cfg, project, reviewer, Path(folder), split="test",
                                           videos=cfg.test_videos, seed=TEST_SEED) if cfg.test_videos else 0)
        log(f"project {project.name!r}: {cfg.val_videos} held-out val videos ({objects} objects), "
            f"{cfg.test_videos} untouched test videos ({test_objects} objects, seed {TEST_SEED}); "
            f"round 0 model {version.name}")
        test_scores = _TestScores(project, admin, enabled=cfg.test_videos > 0)
        start_test = test_scores.of(version, log)
        rounds: list[RoundReport] = []
        start_metrics = None
        active_val = None
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
                start_metrics = active_val = new.metrics.get("val_base")
            # The round went through the promotion gate: the next phase uses whichever version is active.
            promoted = new.is_active
            if promoted:
                version, active_val = new, new.metrics.get("val")
            log(f"{new.name}: {done.message}")
            rounds.append(RoundReport(number, phase, new.name, f"{accepted} masklets", new.metrics, promoted,
                                      active_val, test_scores.of(version, log)))
        return rounds, start_metrics, start_test, project


class _TestScores:
    """The active versions' scores on the untouched test split, by the evaluation Job (in this process),
    each version scored once."""

    def __init__(self, project, user, *, enabled: bool):
        self.project, self.user, self.enabled, self.cache = project, user, enabled, {}

    def of(self, version, log) -> dict | None:
        from annotation.services.evaluations import (
            evaluation_key,
            model_version_evaluation_launch,
            model_version_evaluation_run,
        )

        if not self.enabled:
            return None
        if version.pk not in self.cache:
            job = model_version_evaluation_launch(version=version, project=self.project, split="test",
                                                  max_videos=1000, user=self.user, dispatch=False)
            scored = model_version_evaluation_run(job_id=job.pk)
            if scored is None:
                job.refresh_from_db()
                raise CommandError(f"Evaluating {version.name} on the test split failed: {job.message}")
            record = scored.metrics["evaluations"][evaluation_key(project_id=self.project.pk, split="test")]
            self.cache[version.pk] = record["scores"]
            scores = record["scores"]  # in the summary's order (mask, 1-click, box), then any other
            order = [p for p in SUMMARY_PROTOCOLS if p in scores] + [p for p in scores if p not in SUMMARY_PROTOCOLS]
            log(f"{version.name} on the untouched test split: " + ", ".join(
                f"{p} {scores[p]['jf']:.1f}" for p in order))
        return self.cache[version.pk]
