"""Rows and files the browser tests start from: ready videos with real JPEG frames in storage,
masklets with box masks, made through the platform's services."""

from __future__ import annotations

import numpy as np
from django.utils import timezone

from annotation.models import Masklet
from annotation.services.masklets import masklet_create, masklet_revision_create
from browser_harness.frames import HEIGHT, WIDTH, frame_jpeg
from dataplatform import storage
from dataplatform.models import Project, Video
from engine import rle as rle_ops


def ready_video(project: Project, *, frames: int = 8, name: str = "street.mp4") -> Video:
    video = Video.objects.create(
        project=project, name=name, source_uri="videos/upload.mp4", status=Video.Status.READY,
        frame_count=frames, width=WIDTH, height=HEIGHT, source_fps=24.0, annotation_fps=6.0,
        duration=frames / 6, ready_at=timezone.now(), frame_timestamps=[i / 6 for i in range(frames)])
    for index in range(frames):
        storage.put_bytes(storage.frame_key(video.pk, index), frame_jpeg(index))
    return video


def box_rle(x0: int, y0: int, x1: int, y1: int) -> dict:
    mask = np.zeros((HEIGHT, WIDTH), dtype=bool)
    mask[y0:y1, x0:x1] = True
    return rle_ops.encode(mask)


def submitted_masklet(video: Video, *, author, edited_frames=(0, 3)) -> Masklet:
    """A submitted manual masklet: a 100×80 box moving right 10 px a frame, absent on the last frame."""
    masks = {i: box_rle(60 + 10 * i, 60, 160 + 10 * i, 140) for i in range(video.frame_count - 1)}
    masklet = masklet_create(video=video)
    masklet_revision_create(masklet=masklet, masks=masks, author=author, phase=3, edited_frames=edited_frames)
    Masklet.objects.filter(pk=masklet.pk).update(status=Masklet.Status.SUBMITTED)
    masklet.refresh_from_db()
    return masklet


def phase_metrics(project: Project, annotator) -> None:
    """One submitted task per phase whose Interaction rows give roughly the paper's Table 1."""
    from datetime import timedelta

    from annotation.models import Interaction
    from annotation.services.tasks import task_create

    figures = {1: (37.8, 10, 4.8), 2: (7.4, 2, 3.6), 3: (4.5, 2, 2.7)}  # s/frame, edited of 10, clicks
    start = timezone.now() - timedelta(hours=3)
    for phase, (seconds, edited, clicks) in figures.items():
        video = Video.objects.create(
            project=project, name=f"phase-{phase}.mp4", source_uri="videos/x.mp4", status=Video.Status.READY,
            frame_count=10, width=WIDTH, height=HEIGHT, source_fps=24.0, annotation_fps=6.0, duration=10 / 6,
            ready_at=timezone.now(), frame_timestamps=[i / 6 for i in range(10)])
        task = task_create(video=video, phase=phase)
        masklet = masklet_create(video=video)
        revision = masklet_revision_create(masklet=masklet, masks={}, author=annotator, phase=phase,
                                           edited_frames=range(edited))
        Masklet.objects.filter(pk=masklet.pk).update(status=Masklet.Status.SUBMITTED)
        rows = []
        for frame in range(edited):
            for k in range(round(clicks * (frame + 1)) - round(clicks * frame)):
                rows.append(Interaction(task=task, user=annotator, kind="click+" if k % 3 else "click-",
                                        frame_index=frame, object_number=0, phase=phase,
                                        client_timestamp=start + timedelta(seconds=frame + k / 10)))
        rows.append(Interaction(task=task, user=annotator, kind="submit", phase=phase,
                                client_timestamp=start + timedelta(seconds=seconds * 10),
                                payload={"masklets": [{"masklet": masklet.pk, "revision": revision.pk}]}))
        Interaction.objects.bulk_create(rows)
        start += timedelta(hours=1)
