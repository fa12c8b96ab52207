"""Is one model better than another on a held-out set, beyond the evaluation's noise?

Both models are scored on the same objects, so the comparison is paired: per object, the difference
of its J&F (averaged over the protocols compared). The difference's mean is the gain; its noise is
estimated by a bootstrap over objects: the objects are resampled with replacement ``resamples``
times (a fixed seed, so the same scores give the same answer), and the noise is the half-width of
the central 95 % interval of the resampled means. With few objects, or objects that disagree, the
interval is wide, and a small gain is not taken for a real one.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np

__all__ = ["BOOTSTRAP_RESAMPLES", "Comparison", "bootstrap_noise", "compare_paired"]

BOOTSTRAP_RESAMPLES = 2000
CONFIDENCE = 0.95


@dataclass(frozen=True)
class Comparison:
    gain: float  # mean over objects of (candidate - incumbent) J&F, points
    noise: float  # half-width of the 95 % bootstrap interval of that mean, points
    objects: int  # objects scored by both

    @property
    def significant(self) -> bool:
        """The candidate is better by more than the noise."""
        return self.objects > 0 and self.gain > self.noise


def bootstrap_noise(differences: Sequence[float], *, resamples: int = BOOTSTRAP_RESAMPLES, seed: int = 0) -> float:
    """Half-width of the central 95 % interval of the mean of ``differences`` resampled with replacement."""
    values = np.asarray(differences, dtype=np.float64)
    if values.size == 0:
        return float("nan")
    rng = np.random.default_rng(seed)
    means = values[rng.integers(0, values.size, size=(resamples, values.size))].mean(axis=1)
    low, high = np.quantile(means, [(1 - CONFIDENCE) / 2, (1 + CONFIDENCE) / 2])
    return float(high - low) / 2


def compare_paired(candidate: Mapping[str, float], incumbent: Mapping[str, float], *,
                   resamples: int = BOOTSTRAP_RESAMPLES, seed: int = 0) -> Comparison:
    """Compare per-object J&F keyed by object (only the objects both have count)."""
    keys = sorted(set(candidate) & set(incumbent))
    differences = [float(candidate[k]) - float(incumbent[k]) for k in keys]
    if not differences:
        return Comparison(gain=float("nan"), noise=float("nan"), objects=0)
    return Comparison(gain=float(np.mean(differences)),
                      noise=bootstrap_noise(differences, resamples=resamples, seed=seed), objects=len(keys))
