"""The verifier's classifier: features of a revision's signals, gradient boosting trained on the
platform's review decisions, calibrated on out-of-fold (held-out) scores, and the thresholds that
reach a target precision on those held-out decisions.

Every decision is scored by a model that did not see it (stratified k-fold), so the held-out
scores cover the whole history: the calibration (Platt scaling), the metrics (precision, recall,
AUC) and the thresholds come from them. The model that runs is then fitted on every decision.
"""

from __future__ import annotations

import hashlib
import io
import pickle
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from sklearn.ensemble import HistGradientBoostingClassifier
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import precision_score, recall_score, roc_auc_score
from sklearn.model_selection import StratifiedKFold

FEATURES = (
    "predicted_iou_mean", "predicted_iou_min", "predicted_iou_p10",
    "object_score_mean", "object_score_min", "present_share",
    "stability_mean", "stability_min",
    "area_mean", "area_cv", "empty_share", "area_jump_max",
    "consecutive_iou_mean", "consecutive_iou_min", "consecutive_iou_p10", "consecutive_iou_low_share",
    "forward_backward_iou_mean", "forward_backward_iou_min",
    "edited_share", "phase", "is_auto", "prompts", "frames",
)
MIN_DECISIONS_TO_TRAIN = 20
MIN_PER_CLASS = 5


def _stats(values: Sequence[float | None]) -> np.ndarray:
    known = np.array([v for v in values if v is not None], dtype=float)
    return known


def _mean(a: np.ndarray) -> float:
    return float(a.mean()) if a.size else np.nan


def _min(a: np.ndarray) -> float:
    return float(a.min()) if a.size else np.nan


def _p10(a: np.ndarray) -> float:
    return float(np.percentile(a, 10)) if a.size else np.nan


def features(signals: Mapping[str, Any]) -> np.ndarray:
    """One row of :data:`FEATURES` for a revision's signals (NaN where a signal is missing)."""
    iou = _stats(signals.get("predicted_iou") or [])
    obj = _stats(signals.get("object_score") or [])
    stab = _stats(signals.get("stability") or [])
    area = _stats(signals.get("area") or [])
    present = area[area > 0]
    # Pairs where the object is in at least one of the two frames (two empty frames agree trivially).
    areas = list(signals.get("area") or [])
    cons_all = list(signals.get("consecutive_iou") or [])
    cons = np.array([c for k, c in enumerate(cons_all)
                     if k + 1 < len(areas) and (areas[k] > 0 or areas[k + 1] > 0)], dtype=float)
    fb = _stats(signals.get("forward_backward_iou") or [])
    jumps = np.abs(np.diff(np.log(present))) if present.size > 1 else np.zeros(0)
    phase, prompts = signals.get("phase"), signals.get("prompts")
    row = [
        _mean(iou), _min(iou), _p10(iou),
        _mean(obj), _min(obj), float((obj > 0).mean()) if obj.size else np.nan,
        _mean(stab), _min(stab),
        _mean(area), float(present.std() / present.mean()) if present.size else np.nan,
        float((area == 0).mean()) if area.size else np.nan, _mean(jumps[jumps.argsort()[-1:]]) if jumps.size else 0.0,
        _mean(cons), _min(cons), _p10(cons), float((cons < 0.5).mean()) if cons.size else np.nan,
        _mean(fb), _min(fb),
        float(signals.get("edited_share") or 0.0),
        np.nan if phase is None else float(phase),
        1.0 if signals.get("kind") == "auto" else 0.0,
        np.nan if prompts is None else float(prompts),
        float(len(areas)),
    ]
    return np.array(row, dtype=float)


MISSING = -100.0  # below every feature's range: a tree splits missing signals off on their own


def feature_matrix(signals: Sequence[Mapping[str, Any]]) -> np.ndarray:
    """The features of many revisions, a missing signal as :data:`MISSING` (scikit-learn's binning
    refuses a column that is missing everywhere, as the forward-backward agreement often is)."""
    rows = np.stack([features(s) for s in signals]) if signals else np.zeros((0, len(FEATURES)))
    return np.nan_to_num(rows, nan=MISSING)


def _booster(seed: int) -> HistGradientBoostingClassifier:
    return HistGradientBoostingClassifier(max_iter=150, learning_rate=0.06, max_leaf_nodes=15, min_samples_leaf=8,
                                          l2_regularization=1.0, random_state=seed)


@dataclass
class VerifierModel:
    """The model that runs: the booster fitted on every decision and its Platt calibration."""

    booster: HistGradientBoostingClassifier
    calibration: LogisticRegression

    def predict(self, signals: Sequence[Mapping[str, Any]]) -> np.ndarray:
        """Calibrated probabilities that a reviewer accepts each revision."""
        if not signals:
            return np.zeros(0)
        raw = self.booster.decision_function(feature_matrix(signals))
        return self.calibration.predict_proba(raw.reshape(-1, 1))[:, 1]

    def to_bytes(self) -> bytes:
        buffer = io.BytesIO()
        pickle.dump(self, buffer, protocol=pickle.HIGHEST_PROTOCOL)
        return buffer.getvalue()

    @staticmethod
    def checksum(data: bytes) -> str:
        return hashlib.sha256(data).hexdigest()

    @classmethod
    def from_bytes(cls, data: bytes, checksum: str) -> VerifierModel:
        """Load bytes this module wrote, refusing them unless their SHA-256 is ``checksum``."""
        if cls.checksum(data) != checksum:
            raise ValueError("The verifier's stored model does not match its checksum; retrain the verifier.")
        model = pickle.loads(data)  # written by to_bytes here; checksum verified
        if not isinstance(model, cls):
            raise ValueError("The stored bytes are not a verifier model.")
        return model


@dataclass
class TrainedVerifier:
    model: VerifierModel
    held_out_scores: list[float]  # calibrated, each from a model that did not see that decision
    held_out_labels: list[bool]
    metrics: dict[str, float] = field(default_factory=dict)

    def threshold_accept(self, target_precision: float, min_accepts: int = 10) -> float | None:
        return threshold_for_precision(self.held_out_scores, self.held_out_labels, target_precision,
                                       min_accepts=min_accepts)

    def threshold_reject(self, target_precision: float, min_rejects: int = 10) -> float | None:
        return threshold_for_rejection(self.held_out_scores, self.held_out_labels, target_precision,
                                       min_rejects=min_rejects)


def threshold_for_precision(scores: Sequence[float], labels: Sequence[bool], target: float, *,
                            min_accepts: int = 10) -> float | None:
    """The lowest score t such that the held-out decisions scored ≥ t were accepted by reviewers at
    least ``target`` of the time (and there are at least ``min_accepts`` of them); None when no
    threshold reaches the target."""
    s, y = np.asarray(scores, dtype=float), np.asarray(labels, dtype=bool)
    best = None
    for t in np.unique(s)[::-1]:
        chosen = s >= t
        if chosen.sum() >= min_accepts and y[chosen].mean() >= target:
            best = float(t)
    return best


def threshold_for_rejection(scores: Sequence[float], labels: Sequence[bool], target: float, *,
                            min_rejects: int = 10) -> float | None:
    """The highest score t such that the held-out decisions scored ≤ t were rejected by reviewers at
    least ``target`` of the time (at least ``min_rejects`` of them); None when none reaches it."""
    s, y = np.asarray(scores, dtype=float), np.asarray(labels, dtype=bool)
    best = None
    for t in np.unique(s):
        chosen = s <= t
        if chosen.sum() >= min_rejects and (~y[chosen]).mean() >= target:
            best = float(t)
    return best


def precision_at(scores: Sequence[float], labels: Sequence[bool], threshold: float | None) -> dict[str, float | None]:
    """Precision and recall of "accept when score ≥ threshold" on decisions."""
    s, y = np.asarray(scores, dtype=float), np.asarray(labels, dtype=bool)
    if threshold is None or not s.size:
        return {"precision": None, "recall": None}
    predicted = s >= threshold
    return {"precision": float(precision_score(y, predicted, zero_division=0)),
            "recall": float(recall_score(y, predicted, zero_division=0))}


def train_verifier(signals: Sequence[Mapping[str, Any]], labels: Sequence[bool], *, folds: int = 5,
                   seed: int = 0) -> TrainedVerifier:
    """Train on decisions (``labels``: True = accepted). Raises ValueError when there are too few."""
    y = np.asarray(labels, dtype=bool)
    if len(signals) != len(y):
        raise ValueError("one label per revision")
    accepts, rejects = int(y.sum()), int((~y).sum())
    if len(y) < MIN_DECISIONS_TO_TRAIN or min(accepts, rejects) < MIN_PER_CLASS:
        raise ValueError(f"Training needs at least {MIN_DECISIONS_TO_TRAIN} decisions with {MIN_PER_CLASS} of each "
                         f"kind; there are {accepts} accepts and {rejects} rejects.")
    x = feature_matrix(signals)
    raw = np.zeros(len(y))
    splitter = StratifiedKFold(n_splits=min(folds, accepts, rejects), shuffle=True, random_state=seed)
    for train, test in splitter.split(x, y):
        raw[test] = _booster(seed).fit(x[train], y[train]).decision_function(x[test])
    calibration = LogisticRegression(C=1.0).fit(raw.reshape(-1, 1), y)
    held_out = calibration.predict_proba(raw.reshape(-1, 1))[:, 1]
    model = VerifierModel(booster=_booster(seed).fit(x, y), calibration=calibration)
    at_half = precision_at(held_out, y, 0.5)
    metrics = {"auc": float(roc_auc_score(y, held_out)), "precision": at_half["precision"],
               "recall": at_half["recall"], "decisions": len(y), "accepts": accepts, "rejects": rejects}
    return TrainedVerifier(model=model, held_out_scores=[round(float(v), 6) for v in held_out],
                           held_out_labels=[bool(v) for v in y], metrics=metrics)
