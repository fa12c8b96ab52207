"""``python manage.py ingest PATH... [--project NAME] [--fps N]``: ingest local video files now.

Runs in this process (no worker needed): stores each file, ingests it with a progress bar on
stderr, and prints one JSON line per file on stdout:

    {"id": 7, "name": "cups.mp4", "status": "ready", "source_fps": 29.97, "source_frame_count": 300,
     "frame_count": 61, "width": 1280, "height": 720, "message": ""}

A file refused at once (not a video, over a limit) gets ``"id": null, "status": "rejected"``.
Exits with status 1 when any file did not end ready.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from tqdm import tqdm

from dataplatform.errors import ApplicationError
from dataplatform.models import Project, Video
from dataplatform.services.ingest import TransientStorageError, video_create_from_path, video_ingest


class Command(BaseCommand):
    help = "Ingest local video files into a project (created if missing), in this process."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("paths", nargs="+", metavar="PATH", help="Video files to ingest.")
        parser.add_argument("--project", default="Default", help="Project name (created if missing).")
        parser.add_argument("--fps", type=float, default=None,
                            help="Annotation frames per second (default: the project's).")
        parser.add_argument("--no-progress", action="store_true", help="No progress bar on stderr.")

    def handle(self, *args: Any, paths: list[str], project: str, fps: float | None, no_progress: bool,
               **options: Any) -> None:
        if fps is not None and not 0 < fps <= 120:
            raise CommandError(f"--fps must be between 0 and 120, got {fps:g}.")
        target, _ = Project.objects.get_or_create(name=project)
        failures = 0
        for path in paths:
            line = self._ingest_one(Path(path), target, fps, show_progress=not no_progress)
            failures += line["status"] != Video.Status.READY
            self.stdout.write(json.dumps(line))
        if failures:
            raise CommandError(f"{failures} of {len(paths)} video(s) could not be ingested (see their messages).")

    def _ingest_one(self, path: Path, project: Project, fps: float | None, *, show_progress: bool) -> dict:
        try:
            video, job = video_create_from_path(project=project, path=path, annotation_fps=fps, dispatch=False)
        except ApplicationError as error:
            return _line(None, path.name, "rejected", error.message)
        with tqdm(desc=path.name[:30], unit="frame", disable=not show_progress, leave=True,
                  file=getattr(self.stderr, "_out", sys.stderr)) as bar:

            def progress(done: int, total: int) -> None:
                bar.total = total or None
                bar.update(done - bar.n)

            try:
                video_ingest(job=job, on_progress=progress)
            except TransientStorageError as error:
                return _line(video.pk, video.name, "failed", error.message)
        video.refresh_from_db()
        return {
            "id": video.pk,
            "name": video.name,
            "status": video.status,
            "source_fps": video.source_fps,
            "source_frame_count": video.source_frame_count,
            "frame_count": video.frame_count,
            "width": video.width,
            "height": video.height,
            "message": video.status_message,
        }


def _line(video_id: int | None, name: str, status: str, message: str) -> dict:
    return {"id": video_id, "name": name, "status": status, "source_fps": None, "source_frame_count": None,
            "frame_count": 0, "width": None, "height": None, "message": message}
