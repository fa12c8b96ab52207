"""Imports: SA-V annotation files or a zip of DAVIS PNG folders → ground-truth masklets of a video.

``import_start`` checks what it can at once (the video is ready; SA-V files are parsed and checked
against the video, so a wrong size, frame count, malformed JSON, a missing key or a bad RLE is a
400 there), stores the uploads and queues an import Job. ``import_run`` (the worker) claims the
Job, reads the files, checks them again and creates every masklet and its revision in **one
transaction** that also marks the Job succeeded: a failed import creates nothing and a re-delivered
task finds the Job finished, so an import never duplicates masklets.

What SA-V files hold that our rows cannot (``video_id``, ``video_environment``, ``video_split``,
the manual files' edited-frame counts, which do not say *which* frames were edited) is kept in the
Job's result under ``"sav"``; the SA-V export reads it back (see ``exports.sav_carried``).

Labels. A label map (``labels.json`` of an export, see ``annotation.formats.labelmap``) may come
with the files: each imported object gets the label it names (matched by SA-V masklet id and type,
or by PNG index), a label of the video's project with that name, created when the project has
none (its colour from the map). Objects the map does not name, or imports without one, get the
project's default label.
"""

from __future__ import annotations

import logging
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass
from typing import IO

from django.db import transaction

from annotation.formats import FormatError, labelmap
from annotation.formats import davis as davis_format
from annotation.formats import sav as sav_format
from annotation.models import Masklet
from annotation.services.labels import label_default, labels_ensure
from annotation.services.masklets import masklet_create, masklet_revision_create
from dataplatform import storage
from dataplatform.errors import ApplicationError
from dataplatform.models import Job, Video
from dataplatform.services.jobs import (
    job_cancel_requested,
    job_claim,
    job_create,
    job_fail,
    job_mark_cancelled,
    job_progress,
    job_succeed,
)

logger = logging.getLogger("masklet.imports")

SAV = "sav"
DAVIS_ZIP = "davis_zip"
LABEL_MAP = "labels"
IMPORT_STATUSES = (Masklet.Status.ACCEPTED, Masklet.Status.SUBMITTED, Masklet.Status.DRAFT)
REVISION_SOURCE = "import"


def import_key(job_id: int, position: int, filename: str) -> str:
    """Storage key of an uploaded import file (next to ``storage.export_key``'s ``exports/``)."""
    safe = "".join(c if c.isalnum() or c in "._-" else "_" for c in filename)[-120:] or "upload"
    return f"imports/{job_id}/{position}-{safe}"


@dataclass
class ImportedMasklet:
    kind: str
    masks: list[dict]  # one RLE per annotated frame
    origin: str  # "<file name>#<masklet id or label>", for the result
    edited_frame_count: int = 0
    stability_scores: list[float | None] | None = None
    sav_masklet_id: int | None = None  # what a label map names the object by
    png_index: int | None = None
    video_name: str = ""  # the SA-V video id or DAVIS folder, to find the video in a label map
    label: str | None = None  # the label's name, from a label map


# ---- Checks shared by the API (at once) and the worker ---------------------------------------------


def _check_video(video: Video) -> None:
    if video.status != Video.Status.READY:
        raise ApplicationError(f"Video {video.pk} is not ready (status: {video.status}); "
                               "masks can be imported only into a ready video.")


def _sniff(head: bytes) -> str | None:
    stripped = head.lstrip(b"\xef\xbb\xbf \t\r\n")
    if stripped.startswith(b"{"):
        return SAV
    if head.startswith(b"PK\x03\x04") or head.startswith(b"PK\x05\x06"):
        return DAVIS_ZIP
    return None


def _sav_file_type(name: str, parsed: sav_format.SavFile) -> str:
    types = {m.type for m in parsed.masklets}
    if len(types) == 1:
        return types.pop()
    return sav_format.AUTO if name.lower().endswith("_auto.json") else sav_format.MANUAL


def sav_check(*, video: Video, name: str, data: bytes) -> tuple[str, sav_format.SavFile]:
    """Parse an SA-V file and check it fits ``video``; returns (file type, parsed file)."""
    try:
        parsed = sav_format.sav_parse(data)
    except FormatError as error:
        raise ApplicationError(f"{name}: {error}") from None
    head = parsed.video
    if (head.height, head.width) != (video.height, video.width):
        raise ApplicationError(
            f"{name}: the file's video is {head.width}×{head.height} (width×height), but video {video.pk} "
            f"is {video.width}×{video.height}.", {"file": [head.width, head.height], "video": [video.width, video.height]})
    if parsed.annotated_frame_count != video.frame_count:
        raise ApplicationError(
            f"{name}: the file annotates {parsed.annotated_frame_count} frames, but video {video.pk} has "
            f"{video.frame_count} annotated frames.",
            {"file": parsed.annotated_frame_count, "video": video.frame_count})
    return _sav_file_type(name, parsed), parsed


def _check_sav_set(files: Sequence[tuple[str, str, sav_format.SavFile]]) -> None:
    types = [kind for _, kind, _ in files]
    if len(types) != len(set(types)):
        raise ApplicationError("Upload at most one manual and one auto SA-V file per import.")
    ids = {parsed.video.video_id for _, _, parsed in files}
    if len(ids) > 1:
        raise ApplicationError(f"The SA-V files describe different videos ({', '.join(sorted(ids))}).")


def davis_check(*, video: Video, name: str, fileobj: IO[bytes]) -> list[davis_format.DavisVideo]:
    try:
        videos = davis_format.read_zip(fileobj)
    except FormatError as error:
        raise ApplicationError(f"{name}: {error}") from None
    if len(videos) != 1:
        names = ", ".join(v.name for v in videos)
        raise ApplicationError(f"{name}: the zip holds {len(videos)} videos ({names}); import one video at a time.")
    found = videos[0]
    if (found.height, found.width) != (video.height, video.width):
        raise ApplicationError(
            f"{name}: the PNGs are {found.width}×{found.height} (width×height), but video {video.pk} is "
            f"{video.width}×{video.height}.")
    if len(found.frame_names) != video.frame_count:
        raise ApplicationError(
            f"{name}: the zip has {len(found.frame_names)} frames, but video {video.pk} has "
            f"{video.frame_count} annotated frames (one PNG per annotated frame, in file-name order).")
    if len(found.objects) == 0:
        raise ApplicationError(f"{name}: the PNGs hold no object (every pixel is background).")
    return videos


def label_map_check(*, name: str, data: bytes) -> labelmap.LabelMap:
    try:
        return labelmap.label_map_parse(data)
    except FormatError as error:
        raise ApplicationError(f"{name}: {error}") from None


# ---- Starting an import ---------------------------------------------------------------------------------


def import_start(*, video: Video, uploads: Sequence[tuple[str, IO[bytes]]], status: str = Masklet.Status.ACCEPTED,
                 kind: str = Masklet.Kind.MANUAL, created_by=None) -> Job:
    """Check the uploads, store them and queue an import Job for ``video``.

    ``uploads``: (file name, file object) pairs: one or two SA-V JSON files (a manual and/or an
    auto file of the video), or one zip of DAVIS PNG folders. ``status``: the status of the new
    masklets (accepted: ground truth). ``kind``: the kind of masklets read from PNGs (SA-V files
    carry their own type).
    """
    _check_video(video)
    if status not in IMPORT_STATUSES:
        raise ApplicationError(f"status must be one of {', '.join(IMPORT_STATUSES)}, got {status!r}.")
    if kind not in Masklet.Kind.values:
        raise ApplicationError(f"kind must be manual or auto, got {kind!r}.")
    if not uploads:
        raise ApplicationError("Upload an SA-V JSON file (manual and/or auto) or a zip of DAVIS PNG folders.")
    files: list[dict] = []
    sav_files: list[tuple[str, str, sav_format.SavFile]] = []
    for name, fileobj in uploads:
        fileobj.seek(0)
        fmt = _sniff(fileobj.read(64))
        fileobj.seek(0)
        if fmt is None:
            raise ApplicationError(f"{name}: neither an SA-V JSON file, a label map (labels.json) nor a zip of "
                                   "DAVIS PNG folders.")
        if fmt == SAV and labelmap.is_label_map(data := fileobj.read()):
            fileobj.seek(0)
            label_map_check(name=name, data=data)
            fmt = LABEL_MAP
        elif fmt == SAV:
            file_type, parsed = sav_check(video=video, name=name, data=data)
            fileobj.seek(0)
            sav_files.append((name, file_type, parsed))
        files.append({"name": name, "format": fmt})
    formats = [f["format"] for f in files]
    if formats.count(LABEL_MAP) > 1:
        raise ApplicationError("Upload at most one label map (labels.json) per import.")
    if formats.count(LABEL_MAP) == len(formats):
        raise ApplicationError("A label map names the labels of objects in other files: upload it with SA-V "
                               "files or a DAVIS zip.")
    if DAVIS_ZIP in formats and len(files) - formats.count(LABEL_MAP) > 1:
        raise ApplicationError("Upload one DAVIS zip on its own (with its label map, if any; not with other files).")
    _check_sav_set(sav_files)
    with transaction.atomic():
        job = job_create(kind=Job.Kind.IMPORT, project=video.project, video=video, created_by=created_by,
                         params={"status": status, "kind": kind, "files": files}, progress_total=len(files) + 1)
        for position, (name, fileobj) in enumerate(uploads):
            fileobj.seek(0)
            files[position]["key"] = storage.put_file(import_key(job.pk, position, name), fileobj)
        job.params = {"status": status, "kind": kind, "files": files}
        job.save(update_fields=["params"])
    return job


# ---- Running it (the worker) -------------------------------------------------------------------------------


def _read_masklets(*, video: Video, entry: dict, kind: str) -> tuple[list[ImportedMasklet], dict | None]:
    name = entry["name"]
    if entry["format"] == SAV:
        file_type, parsed = sav_check(video=video, name=name, data=storage.read_bytes(entry["key"]))
        masklets = [
            ImportedMasklet(kind=m.type, masks=m.masks, origin=f"{name}#{m.masklet_id}",
                            edited_frame_count=m.edited_frame_count if m.type == sav_format.MANUAL else 0,
                            stability_scores=m.stability_scores,
                            sav_masklet_id=m.masklet_id if m.masklet_id is not None else position,
                            video_name=parsed.video.video_id)
            for position, m in enumerate(parsed.masklets)
        ]
        head = parsed.video
        carried = {"file": name, "type": file_type, "video_id": head.video_id,
                   "video_environment": head.environment, "video_split": head.split,
                   "video_duration": head.duration, "video_frame_count": head.frame_count}
        return masklets, carried
    with tempfile.SpooledTemporaryFile(max_size=64 * 1024 * 1024) as spool:
        with storage.open_file(entry["key"]) as handle:
            while chunk := handle.read(1024 * 1024):
                spool.write(chunk)
        spool.seek(0)
        found = davis_check(video=video, name=name, fileobj=spool)[0]
    return [ImportedMasklet(kind=kind, masks=masks, origin=f"{name}#{label}", png_index=label, video_name=found.name)
            for label, masks in sorted(found.objects.items())], None


def _apply_label_map(imported: list[ImportedMasklet], mapping: labelmap.LabelMap) -> None:
    """Each imported object's label name, from the label map (None where it names none)."""
    for item in imported:
        for obj in mapping.objects_of(item.video_name):
            if item.png_index is not None and obj.png_index == item.png_index:
                item.label = obj.label
                break
            if item.sav_masklet_id is not None and obj.kind == item.kind and obj.sav_masklet_id == item.sav_masklet_id:
                item.label = obj.label
                break


def import_run(*, job_id: int, celery_task_id: str = "") -> Job | None:
    """Run an import Job: idempotent (a job that is not queued is left alone)."""
    job = job_claim(job_id=job_id, celery_task_id=celery_task_id)
    if job is None:
        return None
    try:
        video = Video.objects.select_related("project").get(pk=job.video_id)
        _check_video(video)
        status, kind = job.params.get("status", Masklet.Status.ACCEPTED), job.params.get("kind", Masklet.Kind.MANUAL)
        imported: list[ImportedMasklet] = []
        carried: list[dict] = []
        entries = job.params.get("files") or []
        mapping = None
        for position, entry in enumerate(entries):
            if entry["format"] == LABEL_MAP:
                mapping = label_map_check(name=entry["name"], data=storage.read_bytes(entry["key"]))
                job_progress(job=job, done=position + 1, total=len(entries) + 1)
                continue
            masklets, sav_video = _read_masklets(video=video, entry=entry, kind=kind)
            imported.extend(masklets)
            if sav_video is not None:
                carried.append(sav_video)
            job_progress(job=job, done=position + 1, total=len(entries) + 1)
        if mapping is not None:
            _apply_label_map(imported, mapping)
        if job_cancel_requested(job=job):
            job_mark_cancelled(job=job)
        else:
            _save(job=job, video=video, imported=imported, carried=carried, status=status,
                  colors=mapping.labels if mapping else {})
    except (ApplicationError, FormatError) as error:
        job_fail(job=job, message=getattr(error, "message", str(error)))
    except Video.DoesNotExist:
        job_fail(job=job, message="The video of this import was deleted.")
    except Exception as error:
        logger.exception("Import job %s failed", job_id)
        job_fail(job=job, message=f"The import failed unexpectedly ({type(error).__name__}: {error}); "
                                  "the error is in the worker's log. Nothing was imported.")
    job.refresh_from_db()
    return job


def _save(*, job: Job, video: Video, imported: list[ImportedMasklet], carried: list[dict], status: str,
          colors: dict[str, str | None]) -> None:
    """Create every masklet in one transaction with the Job's success; a superseded run creates nothing."""
    with transaction.atomic():
        current = Job.objects.select_for_update().get(pk=job.pk)
        if current.status != Job.Status.RUNNING or current.attempts != job.attempts:
            logger.warning("Import job %s was taken over or cancelled; this run saves nothing", job.pk)
            return
        created: list[dict] = []
        edited_counts: dict[str, int] = {}
        named = sorted({item.label for item in imported if item.label})
        labels = labels_ensure(project=video.project, names=[(n, colors.get(n)) for n in named])
        default = label_default(project=video.project) if any(not item.label for item in imported) else None
        for item in imported:
            label = labels[item.label] if item.label else default
            masklet = masklet_create(video=video, kind=item.kind, label=label)
            revision = masklet_revision_create(
                masklet=masklet, masks={str(i): rle for i, rle in enumerate(item.masks)},
                stability_scores=item.stability_scores, source=REVISION_SOURCE)
            if status != Masklet.Status.DRAFT:
                Masklet.objects.filter(pk=masklet.pk).update(status=status)
            if item.kind == Masklet.Kind.MANUAL and item.edited_frame_count:
                edited_counts[str(revision.pk)] = item.edited_frame_count
            created.append({"masklet": masklet.pk, "object_number": masklet.object_number, "label": label.name,
                            "kind": item.kind,
                            "revision": revision.pk, "origin": item.origin})
        result: dict = {"video": video.pk, "created": len(created), "masklets": created, "status": status}
        if carried:
            result["sav"] = {"videos": carried, "edited_frame_counts": edited_counts}
        job_succeed(job=job, result=result,
                    message=f"Imported {len(created)} masklet{'s' if len(created) != 1 else ''} into video {video.pk}.")

