from annotation.models.interactions import Interaction
from annotation.models.labels import Label
from annotation.models.masklets import Masklet, MaskletRevision
from annotation.models.modelversions import ModelVersion, RetrainingRound
from annotation.models.reviews import Review, ReviewComment
from annotation.models.tasks import AnnotationTask

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
]
