"""SAM 2 training on masklets (paper App. C.2): clip sampling, prompt simulation, loss, optimiser,
the training loop (one process or DistributedDataParallel under torchrun), and the bootstrap of the
shipped ``micro`` model on synthetic videos (``python -m engine.training.bootstrap``).
"""

from engine.training.data import (
    ArrayMaskletDataset,
    Clip,
    ClipConfig,
    MaskletDataset,
    MaskletVideo,
    SyntheticMaskletDataset,
    sample_clip,
)
from engine.training.loss import LossWeights
from engine.training.optim import OptimConfig
from engine.training.prompts import PromptConfig
from engine.training.trainer import StepStats, TrainConfig, Trainer

__all__ = [
    "ArrayMaskletDataset",
    "Clip",
    "ClipConfig",
    "LossWeights",
    "MaskletDataset",
    "MaskletVideo",
    "OptimConfig",
    "PromptConfig",
    "StepStats",
    "SyntheticMaskletDataset",
    "TrainConfig",
    "Trainer",
    "sample_clip",
]
