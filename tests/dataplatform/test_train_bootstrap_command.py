"""``manage.py train_bootstrap --eval-only``: the shipped weights scored on a held-out set in either look."""

from __future__ import annotations

import re
from io import StringIO

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError


def _scores(look: str) -> float:
    out = StringIO()
    call_command("train_bootstrap", eval_only=True, eval_look=look, eval_videos=2, eval_frames=6,
                 eval_prompts="mask", no_progress=True, stdout=out)
    line = next(line for line in out.getvalue().splitlines() if "held-out synthetic set" in line)
    assert f"({look} look, seed 1000003, 2 videos x 6 frames" in line
    return float(re.search(r"J&F ([\d.]+)", line).group(1))


def test_the_shipped_model_is_scored_in_its_own_look_and_in_the_new_one() -> None:
    studio, field = _scores("studio"), _scores("field")
    # The shipped micro was trained on studio videos: the field look is a domain it has not seen.
    assert studio > field + 10


def test_an_unknown_look_is_refused() -> None:
    with pytest.raises(CommandError, match="--eval-look is one of studio, field, got 'noir'"):
        call_command("train_bootstrap", eval_only=True, eval_look="noir")
