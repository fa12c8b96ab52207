"""A project's label set: create, rename or recolour, delete. Every project has at least one
label (the default "object", made on first need); a label in use cannot be deleted.

Bounds: at most ``MAX_LABELS_PER_PROJECT`` labels per project, names of 1 to ``MAX_LABEL_NAME``
characters (unique within the project, case-insensitively), colours as ``#rrggbb``.
"""

from __future__ import annotations

import re

from django.db import IntegrityError, transaction

from annotation.models import Label, Masklet
from annotation.models.labels import DEFAULT_LABEL_COLOR, DEFAULT_LABEL_NAME, MAX_LABEL_NAME
from dataplatform.errors import ApplicationError, ConflictError, NotFoundError
from dataplatform.models import Project

MAX_LABELS_PER_PROJECT = 256
# Colours given to new labels in turn when none is chosen (Tableau 10).
PALETTE = ("#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2", "#7f7f7f",
           "#bcbd22", "#17becf")
_COLOR = re.compile(r"^#[0-9a-fA-F]{6}$")


def label_default(*, project: Project | int) -> Label:
    """The project's default label: its first one, or "object", created when it has none."""
    project_id = project if isinstance(project, int) else project.pk
    first = Label.objects.filter(project_id=project_id).order_by("id").first()
    if first is not None:
        return first
    try:
        with transaction.atomic():
            return Label.objects.create(project_id=project_id, name=DEFAULT_LABEL_NAME, color=DEFAULT_LABEL_COLOR)
    except IntegrityError:  # made meanwhile by another request
        return Label.objects.filter(project_id=project_id).order_by("id").first()


def label_of_project(*, project_id: int, label_id: int | None) -> Label:
    """The label ``label_id`` of the project (its default when None); 404 if the project has no such label."""
    if label_id is None:
        return label_default(project=project_id)
    label = Label.objects.filter(pk=label_id, project_id=project_id).first()
    if label is None:
        names = ", ".join(f"{pk} ({name})" for pk, name in
                          Label.objects.filter(project_id=project_id).values_list("pk", "name")[:20])
        raise NotFoundError(f"Label {label_id} is not a label of this project (its labels: {names or 'none'}).",
                            {"field": "label"})
    return label


def _clean_name(name: str) -> str:
    name = " ".join(str(name).split())
    if any(ord(c) < 32 for c in name):
        raise ApplicationError("A label's name cannot hold control characters.", {"field": "name"})
    if not name:
        raise ApplicationError("A label needs a name.", {"field": "name"})
    if len(name) > MAX_LABEL_NAME:
        raise ApplicationError(f"A label's name is at most {MAX_LABEL_NAME} characters.",
                               {"field": "name", "limit": MAX_LABEL_NAME}, code="limit_exceeded")
    return name


def _clean_color(color: str) -> str:
    if not _COLOR.match(str(color)):
        raise ApplicationError(f"A label's colour is #rrggbb (e.g. #1f77b4), got {color!r}.", {"field": "color"})
    return str(color).lower()


def _check_unique(*, project_id: int, name: str, exclude: int | None = None) -> None:
    taken = Label.objects.filter(project_id=project_id, name__iexact=name).exclude(pk=exclude).first()
    if taken is not None:
        raise ConflictError(f"This project already has a label named {taken.name!r} (label {taken.pk}); "
                            "choose another name or use that label.", {"field": "name", "label": taken.pk})


def label_create(*, project: Project, name: str, color: str | None = None) -> Label:
    """A new label of the project (after its default one, made first when missing)."""
    name = _clean_name(name)
    label_default(project=project)  # a project's label set starts with the default label
    with transaction.atomic():
        Project.objects.select_for_update().filter(pk=project.pk).first()  # serialise the count per project
        count = Label.objects.filter(project=project).count()
        if count >= MAX_LABELS_PER_PROJECT:
            raise ApplicationError(f"A project holds at most {MAX_LABELS_PER_PROJECT} labels; delete an unused one "
                                   "first.", {"field": "name", "limit": MAX_LABELS_PER_PROJECT}, code="limit_exceeded")
        _check_unique(project_id=project.pk, name=name)
        color = _clean_color(color) if color else PALETTE[count % len(PALETTE)]
        return Label.objects.create(project=project, name=name, color=color)


def label_update(*, label: Label, name: str | None = None, color: str | None = None) -> Label:
    """Rename or recolour a label (its objects keep it: they show the new name)."""
    with transaction.atomic():
        if name is not None:
            label.name = _clean_name(name)
            _check_unique(project_id=label.project_id, name=label.name, exclude=label.pk)
        if color is not None:
            label.color = _clean_color(color)
        label.save(update_fields=["name", "color"])
    return label


def label_delete(*, label: Label) -> None:
    """Delete an unused label; 409 when objects have it or it is the project's last one."""
    with transaction.atomic():
        locked = Label.objects.select_for_update().filter(pk=label.pk).first()
        if locked is None:
            raise NotFoundError(f"Label {label.pk} does not exist.")
        used = Masklet.objects.filter(label=locked).count()
        if used:
            raise ConflictError(
                f"Label {locked.name!r} is used by {used} object{'s' if used != 1 else ''}; change their label "
                "first (in the workspace), or rename this label instead of deleting it.",
                {"label": locked.pk, "objects": used})
        if not Label.objects.filter(project_id=locked.project_id).exclude(pk=locked.pk).exists():
            raise ConflictError(f"Label {locked.name!r} is the project's only label; a project keeps at least one. "
                                "Add another label first, or rename this one.", {"label": locked.pk})
        locked.delete()


def labels_ensure(*, project: Project, names: list[tuple[str, str | None]]) -> dict[str, Label]:
    """The project's labels by name for ``names`` ((name, colour) pairs), creating the missing ones
    (imports). Names match case-insensitively."""
    label_default(project=project)
    existing = {label.name.lower(): label for label in Label.objects.filter(project=project)}
    out: dict[str, Label] = {}
    for name, color in names:
        clean = _clean_name(name)
        label = existing.get(clean.lower())
        if label is None:
            try:
                checked = _clean_color(color) if color else None
            except ApplicationError:
                checked = None
            label = label_create(project=project, name=clean, color=checked)
            existing[clean.lower()] = label
        out[name] = label
    return out
