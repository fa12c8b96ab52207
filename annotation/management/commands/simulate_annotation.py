"""``python manage.py simulate_annotation --phase {1,2,3} --videos N --seed S [--base-url URL]
[--project NAME]``: simulated annotators work synthetic videos through the REST API, then the
data engine's Table 1 (the platform's own metrics) is printed with the masks' J&F against the
exact ground truth.

Without ``--base-url`` the command serves the API itself (a WSGI server in a thread) and starts a
Celery worker for the run; with it, the server's own workers answer, and the server must share
this process's database and storage (the videos and tasks are made here, through the services).
See ``annotation/simulation/`` for the click policy, the time model and the phase protocols.
"""

from __future__ import annotations

import contextlib

from django.core.management.base import BaseCommand, CommandError, CommandParser

from annotation.simulation.annotator import DEFAULT_MAX_CLICKS, DEFAULT_TARGET_IOU
from annotation.simulation.protocols import DEFAULT_ACCEPT_IOU, DEFAULT_MAX_PASSES, Policy
from annotation.simulation.runner import (
    SimulationConfig,
    celery_worker,
    live_server,
    report_lines,
    run_simulation,
)
from engine.synthetic import LOOKS


class Command(BaseCommand):
    help = "Simulated annotators: synthetic videos with exact ground truth, annotated through the REST API."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--phase", type=int, choices=(1, 2, 3), required=True)
        parser.add_argument("--videos", type=int, default=2, help="Synthetic videos to make (default 2).")
        parser.add_argument("--seed", type=int, default=0)
        parser.add_argument("--base-url", default="", help="A running server (default: serve in this process).")
        parser.add_argument("--project", default="", help="Project name (default: 'Simulation phase N').")
        parser.add_argument("--no-worker", action="store_true",
                            help="Without --base-url: use the workers already running instead of starting one.")
        parser.add_argument("--size", default="320x240", help="WIDTHxHEIGHT of the videos (even numbers).")
        parser.add_argument("--frames", type=int, default=48, help="Frames at 24 fps (48: 12 annotated at 6 fps).")
        parser.add_argument("--objects", default="2-3", help="Objects per video, MIN-MAX.")
        parser.add_argument("--look", choices=tuple(LOOKS), default="studio",
                            help="How the videos look (default %(default)s: the shipped model's training domain).")
        parser.add_argument("--target-iou", type=float, default=DEFAULT_TARGET_IOU)
        parser.add_argument("--accept-iou", type=float, default=DEFAULT_ACCEPT_IOU)
        parser.add_argument("--max-clicks", type=int, default=DEFAULT_MAX_CLICKS)
        parser.add_argument("--max-passes", type=int, default=DEFAULT_MAX_PASSES)

    def handle(self, *args, **options) -> None:
        try:
            width, height = (int(v) for v in options["size"].lower().split("x"))
            low, high = (int(v) for v in options["objects"].split("-")) if "-" in options["objects"] else (
                [int(options["objects"])] * 2)
        except ValueError:
            raise CommandError("--size is WIDTHxHEIGHT and --objects is N or MIN-MAX.") from None
        if options["videos"] < 1 or not 1 <= low <= high:
            raise CommandError("--videos must be at least 1 and --objects at least 1 (MIN <= MAX).")
        config = SimulationConfig(
            phase=options["phase"], videos=options["videos"], seed=options["seed"], project=options["project"],
            height=height, width=width, source_frames=options["frames"], min_objects=low, max_objects=high,
            look=options["look"], policy=Policy(target_iou=options["target_iou"], accept_iou=options["accept_iou"],
                          max_clicks=options["max_clicks"], max_passes=options["max_passes"]))
        with contextlib.ExitStack() as stack:
            base_url = options["base_url"]
            if not base_url:
                if not options["no_worker"]:
                    self.stdout.write("Starting a Celery worker for the run…")
                    stack.enter_context(celery_worker())
                base_url = stack.enter_context(live_server())
            self.stdout.write(f"Annotating through {base_url}/api/ …")
            result = run_simulation(config, base_url=base_url, log=self.stdout.write)
        self.stdout.write(f"\nData engine report: project {config.project_name!r}, by phase")
        for line in report_lines(result):
            self.stdout.write(line)
