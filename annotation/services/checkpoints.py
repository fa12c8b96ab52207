"""Register a model checkpoint: copy it into storage, then validate it in a Job before anyone uses it.

``model_version_register`` copies the file (a local path for the CLI, a storage URI, or an upload)
into storage while hashing it, and creates the version in the ``validating`` state with its Job.
``model_version_validate`` (the Job's task) reads the file without running any code
(``engine.checkpoint_check``), finds or checks its config, loads it strictly and marks the version
``ready``, or ``failed`` with the reason. Only a ready version can be promoted or used.
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Callable
from pathlib import Path
from typing import IO, Any

from django.conf import settings
from django.db import transaction

from annotation.models import ModelVersion
from dataplatform import storage
from dataplatform.errors import ApplicationError, ConflictError
from dataplatform.models import Job
from dataplatform.services.jobs import job_claim, job_create, job_fail, job_succeed

Progress = Callable[[int], None]  # called with the bytes copied so far


class _HashingReader:
    """A file object that hashes and counts what is read through it (and reports progress)."""

    def __init__(self, handle: IO[bytes], size: int, on_progress: Progress | None) -> None:
        self.handle, self.size, self.on_progress = handle, size, on_progress
        self.digest = hashlib.sha256()
        self.copied = 0
        self.name = getattr(handle, "name", "checkpoint")

    @property
    def closed(self) -> bool:
        return bool(getattr(self.handle, "closed", False))

    def seekable(self) -> bool:
        return False  # read once, front to back: every byte is hashed exactly once

    def tell(self) -> int:
        return self.copied

    def read(self, n: int = -1) -> bytes:
        data = self.handle.read(n)
        self.digest.update(data)
        self.copied += len(data)
        if self.on_progress is not None and data:
            self.on_progress(self.copied)
        return data


def checkpoint_storage_key(uri: str) -> str:
    """The key of a checkpoint in the platform's storage: ``s3://<bucket>/<key>`` or a bare key."""
    uri = uri.strip()
    key = uri
    if uri.startswith("s3://"):
        bucket, _, key = uri[len("s3://"):].partition("/")
        if settings.STORAGE_BACKEND != "s3" or bucket != settings.S3_BUCKET:
            raise ApplicationError(f"{uri!r} is not in the platform's own bucket; copy the checkpoint there first.",
                                   {"checkpoint": uri})
    elif "://" in uri or uri.startswith(("/", "~", "\\")):
        raise ApplicationError(f"{uri!r} is not a storage location: give s3://<bucket>/<key> or a storage key.",
                               {"checkpoint": uri})
    if not key or key.endswith("/") or ".." in key.split("/"):
        raise ApplicationError(f"{uri!r} does not name a file.", {"checkpoint": uri})
    return key


def _suffix(filename: str) -> str:
    return ".safetensors" if filename.lower().endswith(".safetensors") else ".pt"


def _max_bytes() -> int:
    return int(settings.MAX_CHECKPOINT_MB) * 2**20


def model_version_register(*, name: str, checkpoint: str = "", upload: IO[bytes] | None = None,
                           upload_name: str = "", config_name: str = "", user: Any = None,
                           allow_local_path: bool = False, on_progress: Progress | None = None,
                           dispatch: bool = True) -> tuple[ModelVersion, Job]:
    """Copy a checkpoint into storage and create its version (``validating``) and validation Job.

    ``checkpoint``: a storage URI, or (``allow_local_path``, the CLI only) a file on this machine;
    or ``upload`` (a file object named ``upload_name``). ApplicationError for a taken name, an unknown
    config, a source that cannot be read or a file over MAX_CHECKPOINT_MB.
    """
    from engine.config import KNOWN_CONFIGS

    name = name.strip()
    if not name:
        raise ApplicationError("Give the model version a name.", {"name": name})
    if ModelVersion.objects.filter(name=name).exists():
        raise ConflictError(f"A model version named {name!r} exists already; choose another name.", {"name": name})
    if config_name and config_name not in KNOWN_CONFIGS:
        raise ApplicationError(f"Unknown config {config_name!r}; known: {', '.join(KNOWN_CONFIGS)}.",
                               {"config": config_name})
    if upload is not None:
        handle, size, source, filename = upload, int(getattr(upload, "size", 0) or 0), f"upload:{upload_name}", upload_name
    elif allow_local_path and os.path.isfile(os.path.expanduser(checkpoint)):
        path = Path(checkpoint).expanduser()
        handle, size, source, filename = path.open("rb"), path.stat().st_size, str(path), path.name
    elif allow_local_path and checkpoint.strip().startswith(("/", "~", ".")):
        raise ApplicationError(f"No checkpoint at {checkpoint!r}: there is no such file.", {"checkpoint": checkpoint})
    else:
        key = checkpoint_storage_key(checkpoint)
        if not storage.exists(key):
            where = "" if allow_local_path else " (only storage URIs are read here)"
            raise ApplicationError(f"No checkpoint at {checkpoint!r}{where}.", {"checkpoint": checkpoint})
        handle, size, source, filename = storage.open_file(key), storage.size_of(key), checkpoint, key
    if size > _max_bytes():
        raise ApplicationError(f"The checkpoint is {size / 2**20:.0f} MiB, over MAX_CHECKPOINT_MB "
                               f"({settings.MAX_CHECKPOINT_MB}).", {"size_bytes": size}, status_code=413,
                               code="too_large")
    key = storage.checkpoint_key(name, _suffix(filename))
    reader = _HashingReader(handle, size, on_progress)
    try:
        storage.put_file(key, reader)
    finally:
        if upload is None:
            handle.close()
    with transaction.atomic():
        version = ModelVersion.objects.create(
            name=name, config_name=config_name, checkpoint_key=key, status=ModelVersion.Status.VALIDATING,
            sha256=reader.digest.hexdigest(), size_bytes=reader.copied, source=source[:1024],
            created_by=user if getattr(user, "pk", None) else None)
        job = job_create(kind=Job.Kind.MODEL_VALIDATION, params={"model_version": version.pk},
                         created_by=version.created_by, dispatch=dispatch)
        ModelVersion.objects.filter(pk=version.pk).update(validation_job=job)
    version.refresh_from_db()
    return version, job


def _finish(*, version_id: int, job: Job, config_name: str = "", error: str = "") -> None:
    with transaction.atomic():
        if error:
            ModelVersion.objects.filter(pk=version_id).update(status=ModelVersion.Status.FAILED, message=error)
            job_fail(job=job, message=error)
            return
        fields = {"status": ModelVersion.Status.READY, "message": ""}
        if config_name:
            fields["config_name"] = config_name
        ModelVersion.objects.filter(pk=version_id).update(**fields)
        job_succeed(job=job, result={"model_version": version_id, "config_name": config_name})


def model_version_validate(*, job_id: int, celery_task_id: str = "") -> ModelVersion | None:
    """The validation Job: claim it (a second delivery does nothing), check the file, mark the version."""
    from engine.checkpoint_check import CheckpointError, checkpoint_check

    job = job_claim(job_id=job_id, celery_task_id=celery_task_id)
    if job is None:
        return None
    version = ModelVersion.objects.filter(pk=job.params.get("model_version")).first()
    if version is None:
        job_fail(job=job, message="The model version was deleted before its checkpoint was checked.")
        return None
    try:
        with storage.local_copy(version.checkpoint_key, prefix="masklet-checkpoint-") as path:
            label = Path(version.source.removeprefix("upload:")).name or "The checkpoint"
            config_name = checkpoint_check(path, version.config_name or None, label=label)
    except CheckpointError as error:
        _finish(version_id=version.pk, job=job, error=str(error))
    except storage.StorageReadError as error:
        _finish(version_id=version.pk, job=job,
                error=f"The checkpoint could not be read from storage ({error.cause!r}); register it again.")
    else:
        _finish(version_id=version.pk, job=job, config_name=config_name)
    version.refresh_from_db()
    return version


def model_version_validation_abandoned(job: Job) -> None:
    """A validation that will not run (cancelled, given up): its version is never usable."""
    ModelVersion.objects.filter(pk=job.params.get("model_version"), status=ModelVersion.Status.VALIDATING).update(
        status=ModelVersion.Status.FAILED, message=f"The check of its checkpoint did not finish ({job.message})")


def model_version_require_usable(*, version: ModelVersion) -> ModelVersion:
    """Raise a ConflictError unless the version's checkpoint was checked and loads."""
    if version.status != ModelVersion.Status.READY:
        detail = version.message or "its checkpoint is still being checked"
        raise ConflictError(f"Model version {version.name!r} is {version.status} and cannot be used: {detail}",
                            {"model_version": version.pk, "status": version.status}, code="model_version_unusable")
    return version
