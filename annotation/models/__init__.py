from annotation.models.interactions import Interaction
from annotation.models.labels import Label
from annotation.models.masklets import Masklet, MaskletRevision
from annotation.models.modelversions import ModelVersion, RetrainingRound
from annotation.models.reviews import Review, ReviewComment
from annotation.models.tasks import AnnotationTask
from annotation.models.verifiers import RevisionSignals, VerifierPolicy, VerifierScore, VerifierVersion

__all__ = [
    "AnnotationTask",
    "Interaction",
    "Label",
    "Masklet",
    "MaskletRevision",
    "ModelVersion",
    "RetrainingRound",
    "Review",
    "ReviewComment",
    "RevisionSignals",
    "VerifierPolicy",
    "VerifierScore",
    "VerifierVersion",
]
