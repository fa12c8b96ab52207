"""Exports: the masklets of a project or of chosen videos as a downloadable zip, in one of four formats.

| format | zip layout |
|---|---|
| ``sav`` | ``<video>_manual.json``, ``<video>_auto.json``: SA-V annotation files (one per requested kind) |
| ``coco`` | ``annotations.json``: COCO instance segmentation, RLE, one image per annotated frame, tracks |
| ``davis`` | ``Annotations/<video>/<frame 00000>.png``: indexed palette PNGs, object k → index k + 1 |
| ``sav_png`` | ``Annotations_6fps/<video>/<object 000>/<source frame 00000>.png``: binary PNGs (SA-V val/test) |

Every zip also holds ``manifest.json``: the videos, their folder names and the masklets exported
(object number, label, kind, status, revision, and for ``davis`` the PNG index of each object).

Labels. The export's label set is the labels of the exported videos' projects (one per name),
numbered 1…N: COCO's ``categories`` (``category_id`` on each annotation); beside the other
formats, ``labels.json``, a label map (see ``annotation.formats.labelmap``) giving each object's
label by its SA-V masklet id or PNG index, which an import reads back.

``export_start`` checks the request and queues an export Job (progress: one step per video);
``export_run`` (the worker) claims it, writes the zip to a temporary file, stores it under
``storage.export_key`` and puts the key and a download URL (presigned on S3) in the Job's result.
Running it again overwrites the same key, so a re-delivered task is harmless.
"""

from __future__ import annotations

import json
import logging
import tempfile
import zipfile
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import timedelta

import numpy as np
from django.conf import settings
from django.utils import timezone

from annotation.formats import FormatError, labelmap
from annotation.formats import coco as coco_format
from annotation.formats import davis as davis_format
from annotation.formats import sav as sav_format
from annotation.models import Label, Masklet, MaskletRevision
from dataplatform import storage
from dataplatform.errors import ApplicationError, NotFoundError
from dataplatform.models import Job, Project, Video
from dataplatform.services.jobs import (
    job_cancel_requested,
    job_claim,
    job_create,
    job_fail,
    job_mark_cancelled,
    job_progress,
    job_succeed,
)
from engine import rle as rle_ops

logger = logging.getLogger("masklet.exports")

FORMATS = ("sav", "coco", "davis", "sav_png")
ACCEPTED_ONLY = "accepted"
ALL = "all"
MASKLET_SELECTIONS = (ACCEPTED_ONLY, ALL)
KINDS = (Masklet.Kind.MANUAL, Masklet.Kind.AUTO)


# ---- Starting an export ---------------------------------------------------------------------------


def export_start(*, format: str, project: Project | None = None, video_ids: Sequence[int] | None = None,
                 masklets: str = ACCEPTED_ONLY, kinds: Sequence[str] = KINDS, created_by=None) -> Job:
    """Queue an export of a project's ready videos or of the given (ready) videos.

    ``masklets``: "accepted" (default: the dataset) or "all" (every masklet with a revision).
    ``kinds``: manual and/or auto masklets.
    """
    if format not in FORMATS:
        raise ApplicationError(f"format must be one of {', '.join(FORMATS)}, got {format!r}.")
    if masklets not in MASKLET_SELECTIONS:
        raise ApplicationError(f"masklets must be 'accepted' or 'all', got {masklets!r}.")
    kinds = sorted(set(kinds), key=list(KINDS).index) if all(k in KINDS for k in kinds) else None
    if not kinds:
        raise ApplicationError("kinds must list manual and/or auto.")
    if (project is None) == (not video_ids):
        raise ApplicationError("Give either a project or a list of videos to export.")
    if project is not None:
        videos = list(Video.objects.filter(project=project, status=Video.Status.READY).order_by("id"))
        if not videos:
            raise ApplicationError(f"Project {project.pk} has no ready video to export.")
    else:
        wanted = list(dict.fromkeys(int(i) for i in video_ids))
        videos = list(Video.objects.filter(pk__in=wanted).order_by("id"))
        missing = sorted(set(wanted) - {v.pk for v in videos})
        if missing:
            raise NotFoundError(f"No video with id {', '.join(map(str, missing))}.", {"missing": missing})
        not_ready = [v.pk for v in videos if v.status != Video.Status.READY]
        if not_ready:
            raise ApplicationError(f"Videos {', '.join(map(str, not_ready))} are not ready; only ready videos "
                                   "can be exported.", {"not_ready": not_ready})
        projects = {v.project_id for v in videos}
        project = videos[0].project if len(projects) == 1 else None
    params = {"format": format, "video_ids": [v.pk for v in videos], "masklets": masklets, "kinds": kinds}
    return job_create(kind=Job.Kind.EXPORT, project=project, video=videos[0] if len(videos) == 1 else None,
                      params=params, created_by=created_by, progress_total=len(videos))


# ---- What is exported, per video ----------------------------------------------------------------------


@dataclass
class ExportMasklet:
    object_number: int
    kind: str
    status: str
    revision: MaskletRevision
    masks: list[dict]  # one RLE per annotated frame
    label: str = "object"  # the label's name


def export_masklets(*, video: Video, masklets: str = ACCEPTED_ONLY, kinds: Sequence[str] = KINDS) -> list[ExportMasklet]:
    """The masklets of ``video`` an export holds, in object-number order, with their current masks."""
    rows = (Masklet.objects.filter(video=video, kind__in=list(kinds), current_revision__isnull=False)
            .select_related("current_revision", "label").order_by("object_number"))
    if masklets == ACCEPTED_ONLY:
        rows = rows.filter(status=Masklet.Status.ACCEPTED)
    empty = rle_ops.empty(video.height, video.width)
    out = []
    for row in rows:
        stored = row.current_revision.masks
        masks = [stored.get(str(i), empty) for i in range(video.frame_count)]
        out.append(ExportMasklet(object_number=row.object_number, kind=row.kind, status=row.status,
                                 revision=row.current_revision, masks=masks, label=row.label.name))
    return out


def sav_carried(*, video: Video) -> tuple[dict, dict[int, int]]:
    """What earlier SA-V imports of ``video`` carried: video fields, and edited-frame counts by revision."""
    fields: dict = {}
    edited: dict[int, int] = {}
    imports = (Job.objects.filter(kind=Job.Kind.IMPORT, status=Job.Status.SUCCEEDED, video=video)
               .order_by("finished_at", "id").values_list("result", flat=True))
    for result in imports:
        sav = (result or {}).get("sav") or {}
        for head in sav.get("videos") or []:
            fields.update({k: v for k, v in head.items() if k.startswith("video_")})
        edited.update({int(k): int(v) for k, v in (sav.get("edited_frame_counts") or {}).items()})
    return fields, edited


def export_categories(*, videos: Sequence[Video]) -> dict[str, dict]:
    """The export's label set: the labels of the videos' projects, one per name (the oldest's
    colour), numbered 1…N in that order; name → {"id", "name", "color"}."""
    categories: dict[str, dict] = {}
    for name, color in (Label.objects.filter(project_id__in={v.project_id for v in videos})
                        .order_by("project_id", "id").values_list("name", "color")):
        categories.setdefault(name, {"id": len(categories) + 1, "name": name, "color": color})
    return categories


def source_frame_numbers(video: Video) -> list[int]:
    """The source-video frame number of each annotated frame (SA-V names PNGs by 24 fps frame)."""
    count = video.frame_count
    if video.source_fps and len(video.frame_timestamps or []) == count:
        return [int(round(t * video.source_fps)) for t in video.frame_timestamps]
    if video.source_fps and video.annotation_fps:
        step = video.source_fps / video.annotation_fps
        return [int(round(i * step)) for i in range(count)]
    return list(range(count))


def _safe_name(name: str) -> str:
    return "".join(c if c.isalnum() or c in "._-" else "_" for c in name).strip("._")[:120]


# ---- Writers: one per format ------------------------------------------------------------------------


class _Writer:
    label_map = True  # COCO carries its categories itself

    def __init__(self, archive: zipfile.ZipFile, kinds: Sequence[str], categories: dict[str, dict]) -> None:
        self.archive = archive
        self.kinds = kinds
        self.categories = categories
        self.mapped: list[dict] = []

    def add_video(self, video: Video, folder: str, masklets: list[ExportMasklet]) -> dict:
        raise NotImplementedError

    def map_objects(self, folder: str, objects: list[tuple[ExportMasklet, dict]]) -> None:
        """Record the video's objects for the label map, each with how the format names it."""
        self.mapped.append({"folder": folder, "objects": [
            {"object_number": m.object_number, "kind": m.kind, "label": self.categories[m.label]["id"], **names}
            for m, names in objects]})

    def finish(self) -> None:
        if self.label_map:
            doc = labelmap.label_map_build(labels=list(self.categories.values()), videos=self.mapped)
            self.archive.writestr("labels.json", json.dumps(doc, indent=1))


class _SavWriter(_Writer):
    def add_video(self, video, folder, masklets):
        carried, edited = sav_carried(video=video)
        split = video.split if video.split != Video.Split.UNASSIGNED else carried.get("video_split", "")
        source_frames = video.source_frame_count or carried.get("video_frame_count") or video.frame_count
        duration = video.duration if video.duration is not None else carried.get("video_duration", 0.0)
        head = sav_format.SavVideo(
            video_id=carried.get("video_id") or folder, height=video.height, width=video.width,
            duration=float(duration), frame_count=int(source_frames),
            environment=carried.get("video_environment", ""), split=split)
        files = []
        mapped = []
        for kind in self.kinds:
            chosen = [m for m in masklets if m.kind == kind]
            mapped.extend((m, {"sav_masklet_id": position}) for position, m in enumerate(chosen))
            doc = sav_format.sav_build(
                video=head, masklet_type=kind, annotated_frame_count=video.frame_count,
                masklets=[sav_format.SavMasklet(
                    masks=m.masks, type=kind,
                    edited_frame_count=edited.get(m.revision.pk, len(m.revision.edited_frames or [])),
                    stability_scores=_scores(m.revision.stability_scores, video.frame_count))
                    for m in chosen])
            name = f"{folder}_{kind}.json"
            self.archive.writestr(name, sav_format.sav_dumps(doc))
            files.append(name)
        self.map_objects(folder, sorted(mapped, key=lambda item: item[0].object_number))
        return {"files": files}


def _scores(stored, frames: int) -> list[float | None] | None:
    if stored is None:
        return None
    if isinstance(stored, dict):
        return [stored.get(str(i)) for i in range(frames)]
    return list(stored)


class _CocoWriter(_Writer):
    label_map = False

    def __init__(self, archive, kinds, categories):
        super().__init__(archive, kinds, categories)
        self.builder = coco_format.CocoBuilder(
            description="Masklet export (COCO instance segmentation, RLE)",
            categories=[{"id": c["id"], "name": c["name"], "supercategory": ""} for c in categories.values()])

    def add_video(self, video, folder, masklets):
        self.builder.add_video(coco_format.CocoVideo(
            video_id=video.pk, name=folder, height=video.height, width=video.width,
            frame_names=[f"{folder}/{i:05d}.jpg" for i in range(video.frame_count)],
            masklets=[coco_format.CocoMasklet(object_number=m.object_number, masks=m.masks, type=m.kind,
                                              category_id=self.categories[m.label]["id"]) for m in masklets]))
        return {"files": ["annotations.json"]}

    def finish(self):
        self.archive.writestr("annotations.json", json.dumps(self.builder.doc))
        super().finish()


class _DavisWriter(_Writer):
    def add_video(self, video, folder, masklets):
        if len(masklets) > davis_format.MAX_OBJECTS:
            raise ApplicationError(f"Video {video.pk} has {len(masklets)} masklets; an indexed PNG holds at most "
                                   f"{davis_format.MAX_OBJECTS}. Export it as sav_png or coco instead.")
        blank = [np.zeros((video.height, video.width), dtype=bool)]
        for i in range(video.frame_count):
            frame = list(rle_ops.decode_batch([m.masks[i] for m in masklets])) if masklets else blank
            self.archive.writestr(f"Annotations/{folder}/{i:05d}.png", davis_format.indexed_png(frame))
        self.map_objects(folder, [(m, {"png_index": k + 1}) for k, m in enumerate(masklets)])
        return {"png_index": {str(k + 1): m.object_number for k, m in enumerate(masklets)}}


class _SavPngWriter(_Writer):
    def add_video(self, video, folder, masklets):
        frames = source_frame_numbers(video)
        for m in masklets:
            for i, rle in enumerate(m.masks):
                path = f"Annotations_6fps/{folder}/{m.object_number:03d}/{frames[i]:05d}.png"
                self.archive.writestr(path, davis_format.binary_png(rle_ops.decode(rle)))
        # The DAVIS reader numbers an object folder "003" as 4 (its number + 1), as PNG indices go.
        self.map_objects(folder, [(m, {"png_index": m.object_number + 1}) for m in masklets])
        return {"frame_names": [f"{n:05d}.png" for n in frames]}


_WRITERS = {"sav": _SavWriter, "coco": _CocoWriter, "davis": _DavisWriter, "sav_png": _SavPngWriter}


# ---- Running it (the worker) -------------------------------------------------------------------------------


def export_filename(job: Job) -> str:
    return f"masklet-export-{job.pk}-{job.params['format']}.zip"


def export_run(*, job_id: int, celery_task_id: str = "") -> Job | None:
    """Run an export Job: idempotent (a job that is not queued is left alone)."""
    job = job_claim(job_id=job_id, celery_task_id=celery_task_id)
    if job is None:
        return None
    try:
        _run(job)
    except (ApplicationError, FormatError) as error:
        job_fail(job=job, message=getattr(error, "message", str(error)))
    except Exception as error:
        logger.exception("Export job %s failed", job_id)
        job_fail(job=job, message=f"The export failed unexpectedly ({type(error).__name__}: {error}); "
                                  "the error is in the worker's log. Start the export again.")
    job.refresh_from_db()
    return job


def _run(job: Job) -> None:
    params = job.params
    kinds = params.get("kinds") or list(KINDS)
    selection = params.get("masklets", ACCEPTED_ONLY)
    videos = list(Video.objects.filter(pk__in=params["video_ids"]).order_by("id"))
    job_progress(job=job, done=0, total=len(videos))
    manifest: dict = {"format": params["format"], "job": job.pk, "created_at": timezone.now().isoformat(),
                      "masklets": selection, "kinds": kinds, "videos": [],
                      "skipped_videos": sorted(set(params["video_ids"]) - {v.pk for v in videos})}
    used: set[str] = set()
    count = 0
    with tempfile.TemporaryFile() as tmp:
        with zipfile.ZipFile(tmp, "w", compression=zipfile.ZIP_DEFLATED) as archive:
            categories = export_categories(videos=videos)
            writer = _WRITERS[params["format"]](archive, kinds, categories)
            for done, video in enumerate(videos, start=1):
                if job_cancel_requested(job=job):
                    job_mark_cancelled(job=job)
                    return
                carried, _ = sav_carried(video=video)
                folder = _safe_name(carried.get("video_id") or video.name) or f"video_{video.pk}"
                if folder in used:
                    folder = f"{folder}_{video.pk}"
                used.add(folder)
                chosen = export_masklets(video=video, masklets=selection, kinds=kinds)
                extra = writer.add_video(video, folder, chosen)
                count += len(chosen)
                manifest["videos"].append({
                    "id": video.pk, "name": video.name, "folder": folder, "width": video.width,
                    "height": video.height, "frame_count": video.frame_count, **extra,
                    "masklets": [{"object_number": m.object_number, "label": m.label, "kind": m.kind,
                                  "status": m.status, "revision": m.revision.pk} for m in chosen]})
                job_progress(job=job, done=done)
            writer.finish()
            manifest["labels"] = list(categories.values())
            archive.writestr("manifest.json", json.dumps(manifest, indent=1))
        size = tmp.tell()
        tmp.seek(0)
        key = storage.put_file(storage.export_key(job.pk, export_filename(job)), tmp)
    expiry = settings.S3_PRESIGNED_EXPIRY
    result = {"key": key, "filename": export_filename(job), "size_bytes": size, "format": params["format"],
              "videos": len(videos), "masklets": count, "url": storage.url_for(key, expires=expiry),
              "url_expires_at": (timezone.now() + timedelta(seconds=expiry)).isoformat()}
    job_succeed(job=job, result=result,
                message=f"Exported {count} masklet{'s' if count != 1 else ''} of {len(videos)} video"
                        f"{'s' if len(videos) != 1 else ''}.")


def export_download_url(*, job: Job) -> str:
    """A fresh download URL of a finished export (the one in the result expires)."""
    if job.kind != Job.Kind.EXPORT:
        raise NotFoundError(f"Job {job.pk} is not an export.")
    if job.status != Job.Status.SUCCEEDED or not (job.result or {}).get("key"):
        raise ApplicationError(f"Export {job.pk} has no file yet (status: {job.status}).", code="not_ready",
                               status_code=409)
    return storage.url_for(job.result["key"])
