"""The verifier's pure parts: signals of a revision, thresholds from held-out decisions, training
and the stored model."""

from __future__ import annotations

import numpy as np
import pytest

from engine import rle as rle_ops
from engine.verifier import revision_signals, threshold_for_precision, threshold_for_rejection, train_verifier
from engine.verifier.classifier import VerifierModel


def box(x0: int, x1: int, h: int = 20, w: int = 20) -> dict:
    mask = np.zeros((h, w), dtype=bool)
    mask[5:15, x0:x1] = True
    return rle_ops.encode(mask)


def test_signals_of_a_revision():
    masks = {0: box(0, 10), 1: box(0, 10), 2: box(5, 15), 3: rle_ops.empty(20, 20)}
    signals = revision_signals(masks, frame_scores={0: {"predicted_iou": 0.9, "object_score": 3.0}},
                               backward_masks={1: box(0, 5)}, edited_frames=[2], phase=3, kind="manual", prompts=2)
    assert signals["frames"] == [0, 1, 2, 3]
    assert signals["area"] == [0.25, 0.25, 0.25, 0.0]
    assert signals["consecutive_iou"] == [1.0, pytest.approx(1 / 3, abs=1e-4), 0.0]
    assert signals["forward_backward_iou"] == [None, 0.5, None, None]
    assert signals["predicted_iou"] == [0.9, None, None, None] and signals["object_score"][0] == 3.0
    assert (signals["edited_share"], signals["phase"], signals["kind"], signals["prompts"]) == (0.25, 3, "manual", 2)


def test_the_accept_threshold_is_the_lowest_score_keeping_the_target_precision():
    # Scores high to low; the reviewers rejected the 0.7 one and everything under 0.5.
    scores = [0.99, 0.95, 0.9, 0.85, 0.8, 0.7, 0.65, 0.6, 0.55, 0.5, 0.4, 0.3]
    labels = [True, True, True, True, True, False, True, True, True, True, False, False]
    assert threshold_for_precision(scores, labels, 1.0, min_accepts=3) == 0.8
    assert threshold_for_precision(scores, labels, 0.9, min_accepts=3) == 0.5  # 9 of 10 at >= 0.5
    assert threshold_for_precision(scores, labels, 1.0, min_accepts=6) is None  # too few above 0.8
    assert threshold_for_rejection(scores, labels, 1.0, min_rejects=2) == 0.4
    assert threshold_for_rejection(scores, labels, 1.0, min_rejects=3) is None


def synthetic_history(n: int, seed: int = 0) -> tuple[list[dict], list[bool]]:
    rng = np.random.default_rng(seed)
    rows, labels = [], []
    for _ in range(n):
        good = bool(rng.random() < 0.5)
        shift = 0 if good else int(rng.integers(3, 9))
        masks = {f: box(2 + (shift * f) % 8, 12 + (shift * f) % 8) for f in range(6)}
        iou = float(np.clip(rng.normal(0.9 if good else 0.6, 0.08), 0, 1))
        rows.append(revision_signals(masks, frame_scores={f: {"predicted_iou": iou} for f in range(6)}))
        labels.append(good)
    return rows, labels


def test_training_learns_the_decisions_and_the_model_round_trips():
    rows, labels = synthetic_history(120)
    trained = train_verifier(rows, labels)
    assert trained.metrics["auc"] > 0.95
    assert len(trained.held_out_scores) == 120
    test_rows, test_labels = synthetic_history(40, seed=1)
    data = trained.model.to_bytes()
    model = VerifierModel.from_bytes(data, VerifierModel.checksum(data))
    scores = model.predict(test_rows)
    assert np.mean((scores > 0.5) == np.array(test_labels)) > 0.9
    with pytest.raises(ValueError, match="checksum"):
        VerifierModel.from_bytes(data + b"x", VerifierModel.checksum(data))


def test_training_refuses_too_few_decisions():
    rows, labels = synthetic_history(10)
    with pytest.raises(ValueError, match="at least 20 decisions"):
        train_verifier(rows, labels)
