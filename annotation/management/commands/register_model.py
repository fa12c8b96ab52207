"""``python manage.py register_model --name NAME --checkpoint PATH_OR_STORAGE_URI [--config CONFIG] [--promote]``.

Copies the checkpoint into storage (with a progress bar on stderr), checks it in-process (the same
validation Job the API queues: read without running code, config found or checked, strict load)
and prints one JSON line: id, name, config_name, sha256, size_bytes, status, message.
Exits non-zero when the checkpoint is refused; a refused version is never usable.
"""

from __future__ import annotations

import json
import sys

from django.core.management.base import BaseCommand, CommandError, CommandParser

from annotation.models import ModelVersion
from annotation.services.checkpoints import model_version_register, model_version_validate
from annotation.services.modelversions import model_version_promote
from dataplatform.errors import ApplicationError


def version_summary(version: ModelVersion) -> dict:
    return {"id": version.pk, "name": version.name, "config_name": version.config_name, "sha256": version.sha256,
            "size_bytes": version.size_bytes, "status": version.status, "message": version.message}


class Command(BaseCommand):
    help = "Register a SAM 2 checkpoint (a file or a storage URI) as a model version, checked before use."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--name", required=True, help="The new model version's name (unique).")
        parser.add_argument("--checkpoint", required=True,
                            help="A .pt / .safetensors file on this machine, or s3://<bucket>/<key> or a storage key.")
        parser.add_argument("--config", default="", help="The engine config (default: inferred from the file).")
        parser.add_argument("--promote", action="store_true", help="Make it the active version once it is ready.")

    def handle(self, *args, name: str, checkpoint: str, config: str = "", promote: bool = False, **options) -> None:
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
        if promote and version.status == ModelVersion.Status.READY:
            version = model_version_promote(version=version, user=None)
        self.stdout.write(json.dumps(version_summary(version)))
        if version.status != ModelVersion.Status.READY:
            raise CommandError(f"Model version {version.name!r} was refused: {version.message}")
