"""The masklet verifier: a classifier of "a reviewer would accept this revision" (SAM 3's AI
verifiers, for SAM 2 masklets).

    from engine.verifier import revision_signals, train_verifier
    signals = revision_signals(masks, frame_scores=..., edited_frames=..., phase=3, kind="manual", prompts=4)
    trained = train_verifier([signals, ...], [True, False, ...])
    trained.model.predict([signals])             # calibrated probabilities of acceptance
    trained.threshold_accept(0.98)               # from held-out (out-of-fold) decisions

``signals`` computes what the engine records with each revision; ``classifier`` holds the
features, the training (scikit-learn's gradient boosting, calibrated on out-of-fold scores) and the
thresholds. Pure NumPy and scikit-learn: no Django, no Celery.
"""

from engine.verifier.classifier import (
    FEATURES,
    TrainedVerifier,
    VerifierModel,
    features,
    threshold_for_precision,
    threshold_for_rejection,
    train_verifier,
)
from engine.verifier.signals import revision_signals

__all__ = [
    "FEATURES",
    "TrainedVerifier",
    "VerifierModel",
    "features",
    "revision_signals",
    "threshold_for_precision",
    "threshold_for_rejection",
    "train_verifier",
]
