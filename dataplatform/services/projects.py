"""Project writes (admins): create and update."""

from __future__ import annotations

from django.apps import apps
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction

from dataplatform.models import Project

UPDATABLE_FIELDS = ("name", "description", "phase", "annotation_fps", "model_version")


def _usable_version(version_id: int | None):
    """The model version a project's new sessions use (None: the platform's active one); only a
    version whose checkpoint was checked and loads (status ready)."""
    if version_id is None:
        return None
    ModelVersion = apps.get_model("annotation", "ModelVersion")
    version = ModelVersion.objects.filter(pk=version_id).first()
    if version is None:
        raise ValidationError({"model_version": [f"Model version {version_id} does not exist."]})
    if version.status != ModelVersion.Status.READY:
        raise ValidationError({"model_version": [f"Model version {version.name!r} is {version.status}, not ready: "
                                                 "wait for its checkpoint check or pick another."]})
    return version


def _check_name_free(*, name: str, exclude_id: int | None = None) -> None:
    taken = Project.objects.filter(name__iexact=name)
    if exclude_id is not None:
        taken = taken.exclude(pk=exclude_id)
    if taken.exists():
        raise ValidationError({"name": [f"A project named {name!r} already exists."]})


def project_create(*, name: str, description: str = "", phase: int | None = None,
                   annotation_fps: float | None = None, model_version: int | None = None,
                   created_by=None) -> Project:
    """A new project; phase defaults to 3 (full SAM 2), fps to ANNOTATION_FPS (SA-V's 6)."""
    _check_name_free(name=name)
    project = Project(name=name, description=description, created_by=created_by,
                      model_version=_usable_version(model_version))
    if phase is not None:
        project.phase = phase
    if annotation_fps is not None:
        project.annotation_fps = annotation_fps
    project.full_clean()
    try:
        with transaction.atomic():
            project.save()
    except IntegrityError as error:  # lost a race on the unique name
        raise ValidationError({"name": [f"A project named {name!r} already exists."]}) from error
    return project


def project_update(*, project: Project, **changes) -> Project:
    """Change any of name, description, phase, annotation_fps, model_version (an id or None).
    Videos already ingested keep their sampled frames; a new fps applies to the videos ingested
    from now on."""
    unknown = set(changes) - set(UPDATABLE_FIELDS)
    if unknown:
        raise ValueError(f"Not updatable: {sorted(unknown)}")
    if "name" in changes:
        _check_name_free(name=changes["name"], exclude_id=project.pk)
    if "model_version" in changes:
        changes["model_version"] = _usable_version(changes["model_version"])
    for field, value in changes.items():
        setattr(project, field, value)
    project.full_clean()
    try:
        with transaction.atomic():
            project.save(update_fields=list(changes) or None)
    except IntegrityError as error:
        raise ValidationError({"name": [f"A project named {changes.get('name')!r} already exists."]}) from error
    return project
