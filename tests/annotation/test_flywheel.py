"""The flywheel command, tiny: one round (phase-1 annotation through the API on a real worker, review,
a retraining round on the worker, the promotion gate, the untouched test split) completes and prints
both tables."""

from __future__ import annotations

import re
from io import StringIO

import numpy as np
import pytest
from django.core.management import call_command

from annotation.models import Masklet, ModelVersion, RetrainingRound
from annotation.simulation.protocols import ObjectOutcome
from annotation.simulation.runner import TaskRecord
from dataplatform.models import Video

pytestmark = pytest.mark.slow


@pytest.mark.timeout(900)
def test_one_tiny_round_completes_and_prints_both_tables(live_platform) -> None:
    out = StringIO()
    call_command("simulate_flywheel", rounds=1, videos=1, val_videos=1, test_videos=1, steps=2, frames=12,
                 size="96x64", seed=3, no_worker=True, stdout=out)
    text = out.getvalue()
    print(text)  # shown with -s
    assert "Table 2 analog" in text and "Table 1 analog" in text
    assert "round 0 (start)" in text and "+ phase 1" in text
    table1 = text[text.index("Table 1 analog"):]
    assert any(line.startswith("phase 1") for line in table1.splitlines())
    assert "paper: time/frame" in table1 and "37.8 s" in table1
    done = RetrainingRound.objects.get()
    assert done.status == RetrainingRound.Status.SUCCEEDED
    # One val video holds too few objects for the gate to tell a gain from noise: the round is kept.
    gate = done.resulting_version.metrics["gate"]
    assert not gate["promote"] and "too few" in gate["reason"]
    assert ModelVersion.objects.get(is_active=True).name.endswith("-r0")
    assert done.resulting_version.metrics["val"]["mask"]["objects"] >= 1
    assert "on the untouched test split: mask " in text and Video.objects.filter(split="test").exists()
    assert Video.objects.filter(split=Video.Split.TRAIN).exists() and Video.objects.filter(split="val").exists()
    # QA: what it accepted is what the round trained on; what it left out is not accepted.
    accepted, left_out = (int(n) for n in re.search(r"QA accepted (\d+) masklets, left (\d+) out", text).groups())
    assert accepted >= 1 and done.resulting_version.metrics["train_masklets"] == accepted
    trained = Masklet.objects.filter(video__split=Video.Split.TRAIN)
    assert trained.count() == accepted + left_out
    assert trained.filter(status=Masklet.Status.ACCEPTED).count() == accepted


def test_qa_measures_a_masklet_against_the_object_frame_by_frame() -> None:
    gt = np.zeros((4, 8, 8), dtype=bool)
    gt[:3, 2:6, 2:6] = True  # 16 pixels on frames 0-2, absent on frame 3
    half = gt.copy()
    half[1, 2:4] = False  # frame 1: 8 of 16 pixels

    def record(masks):
        return TaskRecord(1, 1, 1, 1, 1, ObjectOutcome(), 0.0, masks, gt)

    assert record({t: gt[t] for t in range(4)}).mean_iou() == 1.0  # the absent frame, empty: right
    assert record({t: half[t] for t in range(4)}).mean_iou() == pytest.approx((1 + 0.5 + 1 + 1) / 4)
    assert record({0: gt[0]}).mean_iou() == pytest.approx((1 + 0 + 0 + 1) / 4)  # missing frames are empty
    shown = {t: gt[t] for t in range(4)} | {3: gt[0]}  # a mask where the object is absent
    assert record(shown).mean_iou() == pytest.approx(3 / 4)


@pytest.mark.parametrize(("options", "message"), [
    ({"objects": "three"}, "--objects is MIN-MAX"),
    ({"objects": "4-2"}, "1 <= MIN <= MAX"),
    ({"objects": "0-2"}, "1 <= MIN <= MAX"),
    ({"size": "wide"}, "--size is WIDTHxHEIGHT"),
    ({"rounds": 0}, "--rounds and --videos must be at least 1"),
    ({"look": "noir"}, "--look is one of studio, field"),
    ({"average_decay": 1.5}, "--average-decay is 0 .* or between 0.5 and 0.9999, got 1.5"),
    ({"average_decay": 0.2}, "between 0.5 and 0.9999, got 0.2"),
])
@pytest.mark.django_db
def test_bad_options_are_refused_before_anything_runs(options: dict, message: str) -> None:
    from django.core.management.base import CommandError

    with pytest.raises(CommandError, match=message):
        call_command("simulate_flywheel", **options)
    assert not RetrainingRound.objects.exists() and not Video.objects.exists()
