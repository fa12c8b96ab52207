"""The flywheel command, tiny: one round (phase-1 annotation through the API on a real worker, review,
a retraining round on the worker, promotion) completes and prints both tables."""

from __future__ import annotations

from io import StringIO

import pytest
from django.core.management import call_command

from annotation.models import ModelVersion, RetrainingRound
from dataplatform.models import Video

pytestmark = pytest.mark.slow


@pytest.mark.timeout(900)
def test_one_tiny_round_completes_and_prints_both_tables(live_platform) -> None:
    out = StringIO()
    call_command("simulate_flywheel", rounds=1, videos=1, val_videos=1, steps=2, frames=12, size="96x64",
                 seed=3, no_worker=True, stdout=out)
    text = out.getvalue()
    print(text)  # shown with -s
    assert "Table 2 analog" in text and "Table 1 analog" in text
    assert "round 0 (start)" in text and "+ phase 1" in text
    table1 = text[text.index("Table 1 analog"):]
    assert any(line.startswith("phase 1") for line in table1.splitlines())
    assert "paper: time/frame" in table1 and "37.8 s" in table1
    done = RetrainingRound.objects.get()
    assert done.status == RetrainingRound.Status.SUCCEEDED
    assert ModelVersion.objects.get(is_active=True) == done.resulting_version
    assert done.resulting_version.metrics["val"]["mask"]["objects"] >= 1
    assert Video.objects.filter(split=Video.Split.TRAIN).exists() and Video.objects.filter(split="val").exists()
