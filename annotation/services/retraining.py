"""Retraining rounds (flow 7): an admin picks accepted masklets, a base version and hyperparameters;
a GPU Job fine-tunes the base on them, evaluates the result on the held-out split, stores the
checkpoint and registers a ModelVersion with its metrics; an admin then promotes it.

- ``retraining_round_launch`` checks the selection and the hyperparameters (400s that say what is
  wrong) and queues the round's Job.
- ``retraining_round_run`` is the worker's body: it claims the Job (a second delivery returns
  None), trains with ``engine.training`` (step and loss on the Job as it goes; a cancel stops it
  between steps), evaluates with the semi-supervised protocols of ``engine.evaluation``, writes
  the weights to storage, then registers the version and marks the round succeeded in one
  transaction. Any failure marks the round and its Job failed with a message.

The round trains on the selected masklets of ``train`` videos (``splits`` can add ``unassigned``
ones); it evaluates on the accepted masklets of ``val`` videos (of the same project, any phase),
never on what it trained on.
"""

from __future__ import annotations

import logging
import tempfile
import time
from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from typing import Any

from django.conf import settings
from django.db import transaction
from django.db.models import Count
from django.utils import timezone
from django.utils.dateparse import parse_date, parse_datetime

from annotation.models import ModelVersion, RetrainingRound
from annotation.selectors.reviews import dataset_masklets
from dataplatform import storage
from dataplatform.errors import ApplicationError, ConflictError
from dataplatform.models import Job, Project, Video
from dataplatform.services.jobs import (
    job_cancel,
    job_cancel_requested,
    job_claim,
    job_create,
    job_fail,
    job_mark_cancelled,
    job_progress,
    job_succeed,
)

logger = logging.getLogger("masklet.retraining")

PHASES = (1, 2, 3)
TRAIN_SPLITS = (Video.Split.TRAIN, Video.Split.UNASSIGNED)
EVAL_SPLIT = Video.Split.VAL
# GT mask, one click and the box on each object's first frame (the paper's semi-supervised protocols)
EVAL_PROTOCOLS = ("mask", "1-click", "box")

# Hyperparameter -> (default, minimum, maximum). The defaults are a short fine-tune (the paper's
# MOSE fine-tune uses lr 5e-6, 3e-6 on the image encoder, on 8 GPUs for 40 epochs).
HYPERPARAMETERS: dict[str, tuple[Any, Any, Any]] = {
    "steps": (200, 1, 100_000),  # optimiser steps, one clip each
    "lr": (1e-4, 1e-7, 1e-2),
    "image_encoder_lr": (None, 1e-8, 1e-2),  # default: 0.6 x lr (the paper's 3e-6 / 5e-6)
    "weight_decay": (0.1, 0.0, 1.0),
    "warmup_steps": (0, 0, 10_000),
    # The round's weights: the exponential moving average over the second half of the steps with this
    # decay (engine.training.averaging; 0.95 averages ~20 steps); default: the last step's weights.
    "average_decay": (None, 0.5, 0.9999),
    "clip_frames": (8, 2, 16),  # frames per training clip (the recipe's 8)
    "max_objects": (3, 1, 8),  # masklets per clip (the recipe's 3)
    "seed": (0, 0, 2**31 - 1),
    "eval_videos": (20, 0, 1000),  # held-out videos scored at the end (0: no evaluation)
    "time_limit_minutes": (None, 1, 7 * 24 * 60),  # stop training early when this is reached
}
# A round from an official SAM 2 / 2.1 checkpoint defaults to the paper's fine-tune (App. C.2, the MOSE
# fine-tune): lr 5e-6, 3e-6 on the image encoder; micro, trained here from scratch, to the lr above.
PAPER_FINETUNE_LR = {"lr": 5e-6, "image_encoder_lr": 3e-6}
_INTEGER = {"steps", "warmup_steps", "clip_frames", "max_objects", "seed", "eval_videos"}
_PROGRESS_EVERY_S = 2.0  # at most one progress write per interval (the last step always writes)


# ---- Launch ----------------------------------------------------------------------------------------


def retraining_hyperparameters(*, hyperparameters: dict[str, Any] | None, config_name: str = "micro") -> dict[str, Any]:
    """Every hyperparameter, defaults filled in, each checked against its bounds (400 naming it).
    For a base of an official config (not micro) the learning rates default to the paper's fine-tune."""
    given = dict(hyperparameters or {})
    if config_name != "micro" and "lr" not in given:
        given = {**PAPER_FINETUNE_LR, **given}
    unknown = sorted(set(given) - set(HYPERPARAMETERS))
    if unknown:
        raise ApplicationError(f"Unknown hyperparameters {', '.join(unknown)}; known: {', '.join(HYPERPARAMETERS)}.",
                               {"fields": {name: ["Unknown hyperparameter."] for name in unknown}})
    checked: dict[str, Any] = {}
    for name, (default, low, high) in HYPERPARAMETERS.items():
        value = given.get(name, default)
        if value is None and default is None:
            checked[name] = None
            continue
        integer = name in _INTEGER
        if isinstance(value, bool) or not isinstance(value, int | float) or (
                integer and isinstance(value, float) and not value.is_integer()):
            raise ApplicationError(f"Hyperparameter {name} must be {'an integer' if integer else 'a number'}, "
                                   f"got {value!r}.", {"fields": {name: ["Not a number."]}})
        value = int(value) if integer else float(value)
        if not low <= value <= high:
            raise ApplicationError(f"Hyperparameter {name} must be between {low:g} and {high:g}, got {value:g}.",
                                   {"fields": {name: [f"Out of range [{low:g}, {high:g}]."]}})
        checked[name] = value
    if checked["warmup_steps"] >= checked["steps"] and checked["warmup_steps"] > 0:
        raise ApplicationError(f"warmup_steps ({checked['warmup_steps']}) must be fewer than steps "
                               f"({checked['steps']}).", {"fields": {"warmup_steps": ["Not fewer than steps."]}})
    return checked


def _when(value: Any, name: str) -> datetime | None:
    if value in (None, ""):
        return None
    if isinstance(value, datetime):
        moment = value
    else:
        text = str(value)
        moment = parse_datetime(text)
        if moment is None and parse_date(text) is not None:
            moment = datetime.combine(parse_date(text), datetime.min.time())
        if moment is None:
            raise ApplicationError(f"{name} must be a date (YYYY-MM-DD) or an ISO 8601 time, got {text!r}.",
                                   {"fields": {name: ["Not a date."]}})
    if timezone.is_naive(moment):
        moment = timezone.make_aware(moment)
    return moment


def retraining_selection(*, data_selection: dict[str, Any] | None) -> dict[str, Any]:
    """The data selection normalised: ``phases`` (list, default all), ``since``/``until`` (ISO times,
    optional), ``project`` (id, optional), ``splits`` (default ["train"])."""
    given = dict(data_selection or {})
    unknown = sorted(set(given) - {"phases", "since", "until", "project", "splits"})
    if unknown:
        raise ApplicationError(f"Unknown data selection keys {', '.join(unknown)}; known: phases, since, until, "
                               "project, splits.", {"fields": {name: ["Unknown key."] for name in unknown}})
    phases = given.get("phases", list(PHASES))
    if not isinstance(phases, list | tuple) or not phases:
        raise ApplicationError("phases must be a non-empty list of phases (1, 2, 3).",
                               {"fields": {"phases": ["Give at least one phase."]}})
    bad = [p for p in phases if isinstance(p, bool) or p not in PHASES]
    if bad:
        raise ApplicationError(f"Unknown phases {bad}: phases are 1, 2 and 3.",
                               {"fields": {"phases": [f"Unknown phases {bad}."]}})
    splits = given.get("splits", [Video.Split.TRAIN.value])
    if not isinstance(splits, list | tuple) or not splits or any(s not in TRAIN_SPLITS for s in splits):
        raise ApplicationError(f"splits must list the splits to train on, among {', '.join(TRAIN_SPLITS)} "
                               f"(never {EVAL_SPLIT}: it is held out), got {splits!r}.",
                               {"fields": {"splits": ["Not train splits."]}})
    since, until = _when(given.get("since"), "since"), _when(given.get("until"), "until")
    if since and until and since >= until:
        raise ApplicationError("since must be before until.", {"fields": {"since": ["Not before until."]}})
    project = given.get("project")
    if project is not None and (isinstance(project, bool) or not isinstance(project, int)
                                or not Project.objects.filter(pk=project).exists()):
        raise ApplicationError(f"Project {project!r} does not exist.", {"fields": {"project": ["Unknown project."]}})
    return {"phases": sorted({int(p) for p in phases}), "since": since.isoformat() if since else None,
            "until": until.isoformat() if until else None, "project": project,
            "splits": sorted({str(s) for s in splits})}


def selection_describe(selection: dict[str, Any]) -> str:
    parts = [f"phase{'s' if len(selection['phases']) > 1 else ''} {', '.join(map(str, selection['phases']))}",
             f"on {' or '.join(selection['splits'])} videos"]
    if selection.get("project"):
        parts.append(f"of project {selection['project']}")
    if selection.get("since"):
        parts.append(f"accepted since {selection['since']}")
    if selection.get("until"):
        parts.append(f"before {selection['until']}")
    return " ".join(parts)


def selection_masklets(selection: dict[str, Any]):
    """The accepted masklets a (normalised) selection picks, their videos and revisions joined."""
    project = Project.objects.filter(pk=selection["project"]).first() if selection.get("project") else None
    return dataset_masklets(project=project, phases=selection["phases"], since=_when(selection.get("since"), "since"),
                            until=_when(selection.get("until"), "until")).filter(
        video__split__in=selection["splits"]).distinct()


def held_out_masklets(selection: dict[str, Any]):
    """The evaluation set: accepted masklets of val videos (same project, any phase or date)."""
    project = Project.objects.filter(pk=selection["project"]).first() if selection.get("project") else None
    return dataset_masklets(project=project, split=EVAL_SPLIT).distinct()


def retraining_preview(*, data_selection: dict[str, Any] | None) -> dict[str, Any]:
    """What a round with this selection would use, before launching it: the accepted masklets per
    phase and split (each cell says whether the round trains on it, holds it out, or leaves it),
    and the totals. A selection that would refuse to launch previews with ``train_masklets`` 0."""
    selection = retraining_selection(data_selection=data_selection)
    project = Project.objects.filter(pk=selection["project"]).first() if selection.get("project") else None
    accepted = dataset_masklets(project=project, since=_when(selection.get("since"), "since"),
                                until=_when(selection.get("until"), "until")).distinct()
    rows = (accepted.order_by().values("current_revision__phase", "video__split")
            .annotate(masklets=Count("id", distinct=True), videos=Count("video", distinct=True)))
    cells = []
    for row in sorted(rows, key=lambda r: (r["current_revision__phase"] or 0, r["video__split"])):
        phase, split = row["current_revision__phase"], row["video__split"]
        use = ("train" if phase in selection["phases"] and split in selection["splits"]
               else "held out" if split == EVAL_SPLIT else "not used")
        cells.append({"phase": phase, "split": split, "masklets": row["masklets"], "videos": row["videos"],
                      "use": use})
    train = selection_masklets(selection)
    held_out = held_out_masklets(selection)
    return {"selection": selection, "description": selection_describe(selection), "cells": cells,
            "train_masklets": train.count(), "train_videos": train.values("video").distinct().count(),
            "held_out_masklets": held_out.count(), "held_out_videos": held_out.values("video").distinct().count()}


def retraining_round_launch(*, base_version: ModelVersion, data_selection: dict[str, Any] | None,
                            hyperparameters: dict[str, Any] | None, user) -> RetrainingRound:
    """Check the inputs and queue a round (its Job goes to a GPU worker after commit)."""
    from annotation.services.checkpoints import model_version_require_usable

    model_version_require_usable(version=base_version)
    selection = retraining_selection(data_selection=data_selection)
    params = retraining_hyperparameters(hyperparameters=hyperparameters, config_name=base_version.config_name)
    count = selection_masklets(selection).count()
    if count == 0:
        raise ApplicationError(f"No accepted masklets match this selection ({selection_describe(selection)}): "
                               "nothing to train on. Accept some masklets, widen the phases or dates, or "
                               "assign videos to the train split.", {"fields": {"data_selection": ["Empty."]}})
    with transaction.atomic():
        job = job_create(kind=Job.Kind.RETRAINING, params={"steps": params["steps"], "train_masklets": count},
                         created_by=user, progress_total=params["steps"])
        return RetrainingRound.objects.create(base_version=base_version, data_selection=selection,
                                              hyperparameters=params, job=job, created_by=user)


def retraining_round_cancel(*, retraining_round: RetrainingRound) -> RetrainingRound:
    """Cancel a queued round at once; a running one stops between training steps."""
    if retraining_round.status in (RetrainingRound.Status.SUCCEEDED, RetrainingRound.Status.FAILED,
                        RetrainingRound.Status.CANCELLED):
        raise ConflictError(f"Retraining round {retraining_round.pk} is {retraining_round.status} already.")
    if retraining_round.job is not None:
        job = job_cancel(job=retraining_round.job)
        if job.status == Job.Status.CANCELLED:
            RetrainingRound.objects.filter(pk=retraining_round.pk, status=RetrainingRound.Status.QUEUED).update(
                status=RetrainingRound.Status.CANCELLED, finished_at=timezone.now(), message="Cancelled.")
    retraining_round.refresh_from_db()
    return retraining_round


# ---- Run (the worker's body) -----------------------------------------------------------------------


class _Cancelled(Exception):
    pass


def engine_device():
    """The torch device the engine runs on here (ENGINE_DEVICE; auto: CUDA when there is one)."""
    import torch

    setting = getattr(settings, "ENGINE_DEVICE", "auto")
    if setting in ("", "auto"):
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    return torch.device(setting)


def shipped_weights(config_name: str) -> Path | None:
    """The weights shipped with the engine for a config, if any."""
    from engine.checkpoint import shipped_weights as engine_shipped_weights

    return engine_shipped_weights(config_name)


def model_version_load(*, version: ModelVersion, folder: Path, device=None):
    """The version's model: its checkpoint from storage, else the engine's shipped weights of its
    config. A version with neither, or one whose checkpoint was refused, is an ApplicationError:
    training never starts from random weights."""
    from annotation.services.checkpoints import model_version_require_usable
    from engine.checkpoint import load_model

    model_version_require_usable(version=version)
    if version.checkpoint_key:
        path = folder / f"base-{version.pk}{Path(version.checkpoint_key).suffix or '.safetensors'}"
        path.write_bytes(storage.read_bytes(version.checkpoint_key))
    else:
        path = shipped_weights(version.config_name)
        if path is None:
            raise ApplicationError(f"Model version {version.name!r} has no checkpoint and config "
                                   f"{version.config_name!r} ships no weights: register its checkpoint first.")
    # Our safetensors carry their config; an official .pt file needs the version's.
    config = None if path.suffix == ".safetensors" else version.config_name
    return load_model(config, path, device=device or "cpu")


def _train_config(params: dict[str, Any], config_name: str):
    from engine.training import ClipConfig, OptimConfig, PromptConfig, TrainConfig
    from engine.training.loss import loss_weights_for

    lr = params["lr"]
    return TrainConfig(
        clip=ClipConfig(num_frames=params["clip_frames"], max_objects=params["max_objects"], max_stride=2,
                        hflip_prob=0.5, reverse_prob=0.25),
        prompts=PromptConfig(num_correction_points=3),
        optim=OptimConfig(lr=lr, image_encoder_lr=params["image_encoder_lr"] or 0.6 * lr, layer_decay=0.9,
                          weight_decay=params["weight_decay"], warmup_steps=params["warmup_steps"],
                          total_steps=params["steps"], min_lr_ratio=0.1, grad_clip=0.1),
        loss=loss_weights_for(config_name),  # the loss the base weights were trained with
        seed=params["seed"],
        weight_average=(None if params.get("average_decay") is None
                        else (params["average_decay"], params["steps"] // 2 + 1)),
    )


def _job_result(job: Job, result: dict[str, Any]) -> None:
    Job.objects.filter(pk=job.pk, status=Job.Status.RUNNING).update(result=result)


def _round_status(rr: RetrainingRound, status: str) -> None:
    RetrainingRound.objects.filter(pk=rr.pk).update(status=status)
    rr.status = status


def evaluate_model(model, videos: list, *, protocols=EVAL_PROTOCOLS,
                   names: list[str] | None = None) -> dict[str, dict[str, Any]]:
    """J&F, J and F (percent) per protocol of ``model`` on (frames, {object: masks}) pairs, with each
    object's J&F under ``per_object`` keyed "<video name>:<object>" (``names``: the videos' names,
    default their positions), so that two versions scored on the same videos can be compared object
    by object (``annotation.services.promotion``)."""
    from engine.evaluation.jf import aggregate, evaluate_video
    from engine.evaluation.protocols import segment_semi_supervised

    names = names or [str(i) for i in range(len(videos))]
    out = {}
    for protocol in protocols:
        scores = aggregate(evaluate_video(gt, segment_semi_supervised(model, frames, gt, protocol), name=name)
                           for name, (frames, gt) in zip(names, videos, strict=True))
        out[protocol] = {"jf": round(scores.jf, 2), "j": round(scores.j, 2), "f": round(scores.f, 2),
                         "objects": scores.num_objects,
                         "per_object": {f"{o.video}:{o.obj_id}": round(o.jf, 2) for o in scores.per_object}}
    return out


def held_out_videos(selection: dict[str, Any], limit: int) -> tuple[list, list[str]]:
    """The first ``limit`` held-out videos as (frames, masks) pairs, and their names (video ids)."""
    from annotation.training_data import masklet_videos

    held_out = masklet_videos(held_out_masklets(selection))[:limit]
    return [(frames, masks) for _, frames, masks in held_out], [str(video.pk) for video, _, _ in held_out]


def _evaluation(model, base_model, selection: dict[str, Any], params: dict[str, Any], *,
                active: ModelVersion | None, base: ModelVersion, folder: Path, device) -> dict[str, Any]:
    if params["eval_videos"] == 0:
        return {"val": None, "note": "Evaluation was turned off (eval_videos 0)."}
    pairs, names = held_out_videos(selection, params["eval_videos"])
    if not pairs:
        return {"val": None, "note": "No accepted masklets on val videos: the round was not evaluated on a "
                                     "held-out split. Assign some annotated videos to val."}
    out = {"val": evaluate_model(model, pairs, names=names), "val_base": evaluate_model(base_model, pairs, names=names),
           "val_videos": len(pairs), "val_objects": sum(len(m) for _, m in pairs), "protocols": list(EVAL_PROTOCOLS)}
    # The gate compares with the active version on the same objects: the base when it is the active one.
    if active is not None and active.pk != base.pk:
        try:
            active_model = model_version_load(version=active, folder=folder, device=device)
        except ApplicationError as error:  # an active version that cannot load is not compared with
            out["val_active_note"] = error.message
        else:
            active_model.eval()
            out["val_active"] = evaluate_model(active_model, pairs, names=names)
    return out


def _gate(metrics: dict[str, Any], active: ModelVersion | None) -> dict[str, Any]:
    """The promotion gate against the version active when the round was evaluated (see promotion)."""
    from annotation.services.promotion import promotion_comparison

    if active is None:
        return promotion_comparison(candidate=metrics.get("val"), incumbent=None, incumbent_name="(none)",
                                    incumbent_id=None)
    incumbent = metrics.get("val_active") if "val_active" in metrics else (
        metrics.get("val_base") if "val_active_note" not in metrics else None)
    return promotion_comparison(candidate=metrics.get("val"), incumbent=incumbent, incumbent_name=active.name,
                                incumbent_id=active.pk)


def version_name_for(rr: RetrainingRound) -> str:
    return f"{rr.base_version.config_name}-round-{rr.pk}"


def retraining_round_run(*, job: Job, celery_task_id: str = "",
                         on_step: Callable[[int, int, float], None] | None = None) -> RetrainingRound | None:
    """The worker's body (see the module docstring). None when the Job was not claimable (gone,
    running elsewhere or finished): a redelivered message does nothing."""
    claimed = job_claim(job_id=job.pk, celery_task_id=celery_task_id)
    if claimed is None:
        return None
    rr = RetrainingRound.objects.select_related("base_version").get(job=claimed)
    try:
        return _run(rr, claimed, on_step)
    except _Cancelled:
        job_mark_cancelled(job=claimed)
        RetrainingRound.objects.filter(pk=rr.pk).update(status=RetrainingRound.Status.CANCELLED,
                                                           finished_at=timezone.now(), message="Cancelled.")
    except Exception as error:
        logger.exception("Retraining round %s failed", rr.pk)
        message = f"Retraining failed: {type(error).__name__}: {error}"
        job_fail(job=claimed, message=message)
        RetrainingRound.objects.filter(pk=rr.pk).update(status=RetrainingRound.Status.FAILED,
                                                           finished_at=timezone.now(), message=message)
    rr.refresh_from_db()
    return rr


def _run(rr: RetrainingRound, job: Job,
         on_step: Callable[[int, int, float], None] | None) -> RetrainingRound:
    import torch

    from annotation.training_data import masklet_training_dataset
    from engine.checkpoint import save_model
    from engine.training import Trainer

    params, selection = rr.hyperparameters, rr.data_selection
    _round_status(rr, RetrainingRound.Status.TRAINING)
    device = engine_device()
    with tempfile.TemporaryDirectory(prefix="masklet-round-") as tmp:
        folder = Path(tmp)
        torch.manual_seed(params["seed"])
        base_model = model_version_load(version=rr.base_version, folder=folder, device=device)
        model = model_version_load(version=rr.base_version, folder=folder, device=device)
        masklets = list(selection_masklets(selection))
        dataset = masklet_training_dataset(masklets)
        # A clip fits in every video: short videos would otherwise never be sampled.
        shortest = min(len(dataset[i].frames) for i in range(len(dataset)))
        if shortest < 2:
            raise ValueError("the selected videos have fewer than 2 annotated frames: nothing to track")
        train_params = {**params, "clip_frames": min(params["clip_frames"], shortest)}
        trainer = Trainer(model, dataset, _train_config(train_params, model.config.name))
        steps, started = params["steps"], time.perf_counter()
        job_progress(job=job, done=0, total=steps)
        losses: list[float] = []
        last_write = 0.0

        def on_stats(stats) -> None:
            nonlocal last_write
            losses.append(stats.loss)
            avg = sum(losses[-20:]) / len(losses[-20:])
            now = time.perf_counter()
            if now - last_write >= _PROGRESS_EVERY_S or stats.step == steps:
                last_write = now
                job_progress(job=job, done=min(stats.step, steps))
                _job_result(job, {"stage": "training", "step": stats.step, "steps": steps,
                                  "loss": round(stats.loss, 4), "loss_avg": round(avg, 4), "lr": stats.lr})
                if job_cancel_requested(job=job):
                    raise _Cancelled()
            if on_step is not None:
                on_step(stats.step, steps, stats.loss)

        limit = params.get("time_limit_minutes")
        trainer.train(steps, time_limit_s=limit * 60 if limit else None, callback=on_stats)
        train_seconds = time.perf_counter() - started
        if job_cancel_requested(job=job):
            raise _Cancelled()
        model = trainer.finish()  # the averaged weights when averaging (and the model it trained)

        _round_status(rr, RetrainingRound.Status.EVALUATING)
        _job_result(job, {"stage": "evaluating", "step": trainer.step, "steps": steps,
                          "loss": round(losses[-1], 4) if losses else None})
        model.eval()
        active = ModelVersion.objects.filter(is_active=True).first()
        metrics = _evaluation(model, base_model, selection, params, active=active, base=rr.base_version,
                              folder=folder, device=device)
        metrics.update({
            "steps": trainer.step, "train_seconds": round(train_seconds, 1),
            "final_loss": round(sum(losses[-20:]) / len(losses[-20:]), 4) if losses else None,
            "train_masklets": len(masklets), "train_videos": len(dataset),
            "clip_frames": train_params["clip_frames"],
            "data_selection": selection,
        })
        name = version_name_for(rr)
        key = storage.checkpoint_key(name)
        local = save_model(model, folder / "model.safetensors")
        with open(local, "rb") as handle:
            storage.put_file(key, handle)

    with transaction.atomic():
        locked = RetrainingRound.objects.select_for_update().get(pk=rr.pk)
        if job_cancel_requested(job=job):
            raise _Cancelled()
        gate = _gate(metrics, active)
        now_active = ModelVersion.objects.filter(is_active=True).values_list("pk", flat=True).first()
        if gate["promote"] and now_active != (active.pk if active else None):
            gate = {**gate, "promote": False, "reason": gate["reason"].replace(
                "promoted automatically.", "but the active version changed during the round: left unpromoted.")}
        metrics["gate"] = gate
        version = ModelVersion.objects.create(
            name=name, config_name=rr.base_version.config_name, engine_config=rr.base_version.engine_config,
            checkpoint_key=key, parent=rr.base_version, metrics=metrics, created_by=rr.created_by)
        locked.status, locked.resulting_version, locked.finished_at = (
            RetrainingRound.Status.SUCCEEDED, version, timezone.now())
        val = metrics.get("val") or {}
        locked.message = ("Held-out J&F " + ", ".join(f"{p} {v['jf']:.1f}" for p, v in val.items())
                          if val else metrics.get("note", "")) + f". Gate: {gate['reason']}"
        if gate["promote"]:
            from annotation.services.modelversions import model_version_promote

            version = model_version_promote(version=version, user=rr.created_by)
        locked.save(update_fields=["status", "resulting_version", "finished_at", "message"])
        job_succeed(job=job, result={"stage": "done", "step": trainer.step, "steps": steps,
                                     "loss": metrics["final_loss"], "model_version": version.pk,
                                     "model_version_name": version.name, "metrics": metrics,
                                     "promoted": gate["promote"]})
    return locked


__all__ = [
    "HYPERPARAMETERS",
    "engine_device",
    "evaluate_model",
    "held_out_videos",
    "model_version_load",
    "retraining_hyperparameters",
    "retraining_round_cancel",
    "retraining_round_launch",
    "retraining_round_run",
    "retraining_selection",
    "selection_masklets",
    "shipped_weights",
]
