"""``python manage.py train_bootstrap [--steps 2400] [--out PATH] ...``: train the shipped micro model.

A thin wrapper of ``python -m engine.training.bootstrap`` (all the logic lives in the engine):
trains the ``micro`` config from scratch on synthetic videos in this process, with a progress bar,
writes ``engine/weights/micro.safetensors`` (or ``--out``), then prints its J&F on a held-out
synthetic set with the GT-mask and the 1-click semi-supervised protocols.
"""

from __future__ import annotations

import argparse
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from engine.training import bootstrap


class Command(BaseCommand):
    help = "Train the micro model on synthetic videos (CPU, <= 30 min), save it, print its held-out J&F."

    def add_arguments(self, parser: CommandParser) -> None:
        bootstrap.add_arguments(parser)

    def handle(self, *args: Any, **options: Any) -> None:
        names = ("steps", "train_seed", "eval_seed", "eval_videos", "eval_frames", "eval_prompts", "eval_look", "eval_split", "threads",
                 "low_res_fraction", "out", "checkpoint", "resume", "eval_only", "no_progress")
        try:
            cfg = bootstrap.config_from_args(argparse.Namespace(**{k: options[k] for k in names}))
        except ValueError as error:
            raise CommandError(str(error)) from error
        bootstrap.run_bootstrap(cfg, log=self.stdout.write)
