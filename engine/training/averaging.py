"""An exponential moving average of a model's weights over the last part of a run (Polyak averaging).

    average = WeightAverage(decay=0.995, start=1044)
    average.update(model, step)          # after each optimiser step (``step``: 1-based, just done)
    average.copy_to(model)               # the run's result: the averaged weights

A short run on a CPU ends wherever its last few hundred noisy steps put it, and two runs of the same
recipe can end far apart; the average over the steps after ``start`` is a point the noise has moved
around. Kept by parameter name, so a model rebuilt at another input size (``Trainer.set_image_size``)
keeps its average; part of a training checkpoint, so a resumed run gives the same average.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import torch
from torch import Tensor, nn

__all__ = ["WeightAverage"]


@dataclass
class WeightAverage:
    decay: float  # the weight of the running average at each update: 0.995 averages ~200 steps
    start: int  # the first step (1-based) averaged: the average starts as that step's weights
    tensors: dict[str, Tensor] = field(default_factory=dict)
    updates: int = 0

    def __post_init__(self) -> None:
        if not 0.0 < self.decay < 1.0:
            raise ValueError(f"the average's decay must be in (0, 1), got {self.decay}")
        if self.start < 1:
            raise ValueError(f"the average's first step must be at least 1, got {self.start}")

    @property
    def active(self) -> bool:
        return self.updates > 0

    @torch.no_grad()
    def update(self, model: nn.Module, step: int) -> None:
        if step < self.start:
            return
        params = dict(model.named_parameters())
        if not self.tensors:
            self.tensors = {name: p.detach().clone() for name, p in params.items()}
        else:
            for name, avg in self.tensors.items():
                avg.mul_(self.decay).add_(params[name].detach(), alpha=1.0 - self.decay)
        self.updates += 1

    @torch.no_grad()
    def copy_to(self, model: nn.Module) -> None:
        """Put the averaged weights into ``model`` (no-op before the first averaged step)."""
        for name, p in model.named_parameters():
            if name in self.tensors:
                p.copy_(self.tensors[name].to(p.device, p.dtype))

    def state_dict(self) -> dict:
        return {"decay": self.decay, "start": self.start, "updates": self.updates,
                "tensors": {k: v.detach().cpu() for k, v in self.tensors.items()}}

    def load_state_dict(self, state: dict, device: torch.device | str = "cpu") -> None:
        self.decay, self.start, self.updates = float(state["decay"]), int(state["start"]), int(state["updates"])
        self.tensors = {k: v.to(device) for k, v in state["tensors"].items()}
