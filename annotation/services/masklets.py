"""Masklet services: create masklets and add revisions. A revision is never edited: a change is a
new revision that becomes current, so every earlier version stays readable.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from django.db import IntegrityError, transaction
from django.db.models import Max

from annotation.models import Label, Masklet, MaskletRevision
from annotation.services.labels import label_default
from annotation.services.signals import revision_signals_record
from dataplatform.errors import ApplicationError, ConflictError
from dataplatform.models import Video
from engine import rle as rle_ops


def masks_normalize(*, video: Video, masks: Mapping[Any, Any]) -> dict[str, dict]:
    """Check per-frame RLE masks against the video and fill absent frames with explicit empties.

    Returns ``{"<frame index>": rle}`` for every annotated frame of the video, keys as strings
    (JSON object keys), so that a revision always covers the whole video.
    """
    if video.status != Video.Status.READY:
        raise ApplicationError(f"Video {video.pk} is not ready (status: {video.status}); masks need its frames.")
    height, width, count = video.height, video.width, video.frame_count
    if not isinstance(masks, Mapping):
        raise ApplicationError("masks must be an object mapping frame indices to COCO RLE masks.")
    normalized: dict[str, dict] = {}
    for key, value in masks.items():
        try:
            index = int(key)
        except (TypeError, ValueError):
            raise ApplicationError(f"Frame index {key!r} is not an integer.") from None
        if not 0 <= index < count:
            raise ApplicationError(f"Frame index {index} is outside the video (0–{count - 1}).")
        try:
            rle = rle_ops.validate(value)
        except ValueError as error:
            raise ApplicationError(f"The mask of frame {index} is not a valid COCO RLE: {error}") from None
        if list(rle["size"]) != [height, width]:
            raise ApplicationError(
                f"The mask of frame {index} is {rle['size'][1]}×{rle['size'][0]}, "
                f"but the video's frames are {width}×{height}.")
        normalized[str(index)] = rle
    empty = rle_ops.empty(height, width)
    for index in range(count):
        normalized.setdefault(str(index), empty)
    return dict(sorted(normalized.items(), key=lambda item: int(item[0])))


def masklet_create(*, video: Video, kind: str = Masklet.Kind.MANUAL, object_number: int | None = None,
                   label: Label | None = None) -> Masklet:
    """Create a draft masklet with the next free object number of its video (or the one given),
    with ``label`` (a label of the video's project; default: the project's default label)."""
    if label is None:
        label = label_default(project=video.project_id)
    elif label.project_id != video.project_id:
        raise ApplicationError(f"Label {label.pk} is not a label of video {video.pk}'s project.", {"field": "label"})
    with transaction.atomic():
        Video.objects.select_for_update().filter(pk=video.pk).first()  # serialise numbering per video
        if object_number is None:
            highest = Masklet.objects.filter(video=video).aggregate(n=Max("object_number"))["n"]
            object_number = 0 if highest is None else highest + 1
        try:
            with transaction.atomic():
                return Masklet.objects.create(video=video, kind=kind, object_number=object_number, label=label)
        except IntegrityError:
            raise ConflictError(f"Video {video.pk} already has an object number {object_number}.") from None


def masklet_revision_create(*, masklet: Masklet, masks: Mapping[Any, Any], author=None, phase: int | None = None,
                            model_version=None, edited_frames: Iterable[int] = (),
                            stability_scores: list | None = None, source: str = "annotation",
                            expected_current_id: int | None = None,
                            frame_scores: Mapping[Any, Mapping[str, float | None]] | None = None,
                            backward_masks: Mapping[Any, dict] | None = None,
                            prompts: int | None = None) -> MaskletRevision:
    """Add a revision and make it current, in one transaction.

    ``expected_current_id``: when given, the revision is refused (409) if the masklet's current
    revision changed meanwhile, so two writers never silently overwrite each other.
    ``frame_scores`` (the engine's per-frame scores), ``backward_masks`` (a backward pass's masks)
    and ``prompts`` (how many prompts made it) go into the revision's verifier signals.
    """
    normalized = masks_normalize(video=masklet.video, masks=masks)
    edited = sorted({int(i) for i in edited_frames})
    if any(not 0 <= i < masklet.video.frame_count for i in edited):
        raise ApplicationError("Edited frame indices must lie within the video.")
    with transaction.atomic():
        locked = Masklet.objects.select_for_update().get(pk=masklet.pk)
        if expected_current_id is not None and locked.current_revision_id != expected_current_id:
            raise ConflictError("This masklet changed since you loaded it; reload it and apply your change again.",
                                {"current_revision": locked.current_revision_id})
        number = (locked.revisions.aggregate(n=Max("number"))["n"] or 0) + 1
        revision = MaskletRevision.objects.create(
            masklet=locked, number=number, parent_id=locked.current_revision_id, author=author, phase=phase,
            model_version=model_version, masks=normalized, edited_frames=edited,
            stability_scores=stability_scores, source=source,
        )
        if stability_scores and not frame_scores:
            frame_scores = {i: {"stability": v} for i, v in enumerate(stability_scores) if v is not None}
        revision_signals_record(revision=revision, kind=locked.kind, frame_scores=frame_scores,
                                backward_masks=backward_masks, prompts=prompts)
        locked.current_revision = revision
        locked.save(update_fields=["current_revision", "updated_at"])
    masklet.refresh_from_db()
    return revision
