"""``python manage.py demo``: the embedded demo on one machine (what ``make demo`` runs).

Migrates the embedded database, bootstraps the roles and demo users, makes a few synthetic demo
videos and ingests them, then serves the web app with one Celery worker on the filesystem broker,
printing the URL and the logins. Runs again in seconds: what exists is kept.
"""

from __future__ import annotations

from pathlib import Path

from django.conf import settings
from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandParser

from dataplatform.media.demo_videos import DEMO_VIDEOS, demo_video, demo_video_name
from dataplatform.models import Project, Video
from dataplatform.processes import start_celery_worker, stop_process_group

DEMO_PROJECT = "Demo"


class Command(BaseCommand):
    help = "Set up and serve the embedded demo: database, demo users, demo videos, web server and a worker."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--host", default="127.0.0.1")
        parser.add_argument("--port", type=int, default=8000)
        parser.add_argument("--no-serve", action="store_true", help="Set everything up, then exit.")

    def handle(self, *args, host: str, port: int, no_serve: bool, **options) -> None:
        self.stdout.write("Migrating the database…")
        call_command("migrate", interactive=False, verbosity=0)
        call_command("collectstatic", interactive=False, verbosity=0)
        call_command("bootstrap", demo=True)
        self._ingest_demo_videos()
        self._queue_demo_tasks()
        if no_serve:
            return
        self._serve(host, port)

    def _ingest_demo_videos(self) -> None:
        from engine.synthetic import write_mp4

        project = Project.objects.filter(name=DEMO_PROJECT).first()
        if project is not None and project.videos.filter(status=Video.Status.READY).exists():
            self.stdout.write("Demo videos are ready.")
            return
        folder = Path(settings.VAR_DIR) / "demo-videos"
        folder.mkdir(parents=True, exist_ok=True)
        paths = []
        self.stdout.write("Making the synthetic demo videos…")
        for seed, _objects, _frames in DEMO_VIDEOS:
            path = folder / demo_video_name(seed)
            if not path.exists():
                write_mp4(demo_video(seed), path)
            paths.append(str(path))
        call_command("ingest", *paths, project=DEMO_PROJECT)

    def _queue_demo_tasks(self) -> None:
        """One annotation task per demo video, so the annotator's inbox is not empty."""
        from annotation.services.tasks import tasks_create_for_video

        project = Project.objects.get(name=DEMO_PROJECT)
        created = 0
        for video in project.videos.filter(status=Video.Status.READY, tasks__isnull=True):
            created += len(tasks_create_for_video(video=video))
        if created:
            self.stdout.write(f"Queued {created} annotation tasks.")

    def _serve(self, host: str, port: int) -> None:
        worker = start_celery_worker(hostname="demo@localhost")  # no machine name in what the demo shows
        url = f"http://{host}:{port}/"
        self.stdout.write(self.style.SUCCESS(
            f"\nMasklet is running at {url}\n"
            f"  API docs: {url}api/docs/\n"
            f"  Logins: see the table above (annotator, reviewer, admin).\n"
            "  Stop with Ctrl-C.\n"))
        try:
            call_command("runserver", f"{host}:{port}", use_reloader=False, use_threading=True)
        finally:
            stop_process_group(worker, timeout=15)
