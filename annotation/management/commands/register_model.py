"""``python manage.py register_model --name NAME --checkpoint PATH_OR_STORAGE_URI [--config CONFIG] [--promote]
[--evaluate --project PROJECT [--split val|test]]``, or ``register_model --name NAME --evaluate --project PROJECT``
to score a version already registered.

Copies the checkpoint into storage (with a progress bar on stderr), checks it in-process (the same
validation Job the API queues: read without running code, config found or checked, strict load)
and prints one JSON line: id, name, config_name, sha256, size_bytes, status, message.
Exits non-zero when the checkpoint is refused; a refused version is never usable.

``--evaluate`` then scores the version on the project's held-out split in-process (the evaluation Job
the API and the dashboard queue: GT mask, one click and box on each object's first frame, as a
retraining round does) and adds ``evaluation`` (J&F per protocol, videos, objects) to the JSON line.
"""

from __future__ import annotations

import json
import sys

from django.core.management.base import BaseCommand, CommandError, CommandParser

from annotation.models import ModelVersion
from annotation.services.checkpoints import model_version_register, model_version_validate
from annotation.services.evaluations import (
    EVALUATION_SPLITS,
    evaluation_key,
    model_version_evaluation_launch,
    model_version_evaluation_run,
)
from annotation.services.modelversions import model_version_promote
from dataplatform.errors import ApplicationError
from dataplatform.models import Job, Project


def version_summary(version: ModelVersion) -> dict:
    return {"id": version.pk, "name": version.name, "config_name": version.config_name, "sha256": version.sha256,
            "size_bytes": version.size_bytes, "status": version.status, "message": version.message}


class Command(BaseCommand):
    help = "Register a SAM 2 checkpoint (a file or a storage URI) as a model version, checked before use."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--name", required=True, help="The new model version's name (unique).")
        parser.add_argument("--checkpoint", default="",
                            help="A .pt / .safetensors file on this machine, or s3://<bucket>/<key> or a storage key "
                                 "(leave out with --evaluate to score the version NAME already registered).")
        parser.add_argument("--config", default="", help="The engine config (default: inferred from the file).")
        parser.add_argument("--promote", action="store_true", help="Make it the active version once it is ready.")
        parser.add_argument("--evaluate", action="store_true",
                            help="Score it on --project's held-out split (GT mask, 1 click, box), as a round does.")
        parser.add_argument("--project", default="", help="With --evaluate: the project (id or name).")
        parser.add_argument("--split", choices=EVALUATION_SPLITS, default="val",
                            help="With --evaluate: val (the development split, default) or test (the untouched one).")
        parser.add_argument("--max-videos", type=int, default=20, help="With --evaluate: at most this many videos.")

    def handle(self, *args, name: str, checkpoint: str = "", config: str = "", promote: bool = False,
               evaluate: bool = False, project: str = "", split: str = "val", max_videos: int = 20,
               **options) -> None:
        target = None
        if evaluate:
            target = Project.objects.filter(pk=int(project)).first() if str(project).isdigit() else (
                Project.objects.filter(name=project).first() if project else None)
            if target is None:
                raise CommandError(f"--evaluate needs --project, the id or name of an existing project "
                                   f"(got {project!r}).")
        if not checkpoint:
            if not evaluate:
                raise CommandError("--checkpoint is required (unless --evaluate scores a version already registered).")
            version = ModelVersion.objects.filter(name=name).first()
            if version is None:
                raise CommandError(f"No model version is named {name!r}: give --checkpoint to register it.")
        else:
            version = self.register(name, checkpoint, config)
            if promote and version.status == ModelVersion.Status.READY:
                version = model_version_promote(version=version, user=None)
        summary = version_summary(version)
        if version.status != ModelVersion.Status.READY:
            self.stdout.write(json.dumps(summary))
            raise CommandError(f"Model version {version.name!r} was refused: {version.message}")
        if evaluate:
            summary["evaluation"] = self.evaluate(version, target, split, max_videos)
        self.stdout.write(json.dumps(summary))

    def evaluate(self, version: ModelVersion, project: Project, split: str, max_videos: int) -> dict:
        try:
            job = model_version_evaluation_launch(version=version, project=project, split=split,
                                                  max_videos=max_videos, dispatch=False)
        except ApplicationError as error:
            raise CommandError(error.message) from error
        scored = model_version_evaluation_run(job_id=job.pk)
        if scored is None:
            raise CommandError(Job.objects.get(pk=job.pk).message or "The evaluation failed.")
        record = scored.metrics["evaluations"][evaluation_key(project_id=project.pk, split=split)]
        return {"project": project.pk, "split": split, "videos": record["videos"], "objects": record["objects"],
                "jf": {p: s["jf"] for p, s in record["scores"].items()}, "job": job.pk}

    def register(self, name: str, checkpoint: str, config: str) -> ModelVersion:
        from tqdm import tqdm

        bar = tqdm(unit="B", unit_scale=True, unit_divisor=1024, desc="copying", file=sys.stderr,
                   disable=None, leave=False)

        def progress(copied: int) -> None:
            bar.update(copied - bar.n)

        try:
            version, job = model_version_register(name=name, checkpoint=checkpoint, config_name=config,
                                                  allow_local_path=True, on_progress=progress, dispatch=False)
        except ApplicationError as error:
            raise CommandError(error.message) from error
        finally:
            bar.close()
        version = model_version_validate(job_id=job.pk) or version
        version.refresh_from_db()
        return version
