"""Shared fixtures for the engine tests: the reference SAM 2 and our engine on the same weights.

The reference implementation (``rf-sam-2``, import name ``sam2``) is a test-only dependency: the
engine never imports it. Every fixture below is session-scoped, so the reference model is built
once per test run (about half a second) however many test files use it.

Fixtures
--------
``reference_video_predictor``
    The reference ``SAM2VideoPredictor`` for ``sam2.1_hiera_t`` at the official 1024 px, built
    with the reference's default post-processing options (dynamic multimask via stability,
    binarised masks of clicked frames for the memory encoder, holes of up to 8 px filled: its
    connected components come from ``connected_components_8`` in place of its CUDA extension),
    seeded random weights made non-degenerate (see ``make_non_degenerate``), eval mode, CPU, float32.
``reference_checkpoint_path``
    A file in a temporary folder holding that model's weights in the official checkpoint format,
    ``{"model": state_dict}`` (as in ``sam2.1_hiera_tiny.pt``), written with ``torch.save``.
``engine_model``
    Our ``SAM2Model`` for ``sam2.1_hiera_t``, loaded strictly from ``reference_checkpoint_path``
    with ``engine.checkpoint.load_model``: the same weights as the reference, eval mode, CPU.
``reference_image_predictor``
    The reference ``SAM2ImagePredictor`` wrapping ``reference_video_predictor`` (a SAM2Base, so
    the same weights and the same decoder options). The reference predictor imports torchvision
    for its resize and normalisation, and torchvision does not load next to our CPU torch, so a
    minimal stand-in reproducing the three torchvision transforms it uses is installed first
    (``install_torchvision_stand_in``).
``one_torch_thread``
    Module-scoped, opt-in: one torch thread for the module's tests (the small training and
    protocol tests run faster so on a busy machine).

Tests that use the reference are marked ``pytest.mark.reference`` (the marker is registered in
pyproject.toml) so that a run without the reference can deselect them with ``-m "not reference"``.
"""

from __future__ import annotations

import sys
import types
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from torch import nn

from bench.reference import install_hole_filling_stand_in, make_non_degenerate
from tests.services import require_reference

REFERENCE_CONFIG = "configs/sam2.1/sam2.1_hiera_t.yaml"
ENGINE_CONFIG = "sam2.1_hiera_t"
SEED = 0

def build_reference(config_file: str, *, image_size: int | None = None, seed: int = SEED) -> nn.Module:
    """Build the reference video predictor with seeded random weights, non-degenerate, in eval mode.

    ``image_size`` overrides the config's 1024 px (the checkpoint tests use small images so the
    large configs stay fast); the weights do not depend on it.
    """
    from sam2.build_sam import build_sam2_video_predictor

    overrides = [f"++model.image_size={image_size}"] if image_size is not None else []
    torch.manual_seed(seed)
    model = build_sam2_video_predictor(
        config_file, ckpt_path=None, device="cpu", hydra_overrides_extra=overrides
    )
    make_non_degenerate(model)
    return model.eval()


def save_official_checkpoint(model: nn.Module, path: Path) -> Path:
    """Write ``{"model": state_dict}``, the layout of Meta's released ``.pt`` files."""
    torch.save({"model": model.state_dict()}, path)
    return path


class _ToTensor:
    """torchvision.transforms.ToTensor for an HWC uint8 array: CHW float32 in [0, 1]."""

    def __call__(self, pic: Any) -> torch.Tensor:
        array = np.asarray(pic)
        return torch.from_numpy(np.ascontiguousarray(array.transpose(2, 0, 1))).float().div(255.0)


class _Resize(nn.Module):
    """torchvision.transforms.Resize on a tensor: bilinear, antialiased (its default since 0.17)."""

    def __init__(self, size: tuple[int, int]) -> None:
        super().__init__()
        self.size = size

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = F.interpolate(x[None], size=self.size, mode="bilinear", align_corners=False, antialias=True)
        return out[0]


class _Normalize(nn.Module):
    """torchvision.transforms.Normalize: per-channel (x - mean) / std."""

    def __init__(self, mean: list[float], std: list[float]) -> None:
        super().__init__()
        self.mean = torch.tensor(mean)[:, None, None]
        self.std = torch.tensor(std)[:, None, None]

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return (x - self.mean) / self.std


def install_torchvision_stand_in() -> None:
    """Let ``sam2.sam2_image_predictor`` import when the real torchvision cannot be loaded."""
    try:
        import torchvision.transforms  # noqa: F401

        return
    except Exception:  # noqa: BLE001 - an ImportError, or a RuntimeError from its C++ ops next to our torch
        pass
    package = types.ModuleType("torchvision")
    transforms = types.ModuleType("torchvision.transforms")
    transforms.ToTensor = _ToTensor  # type: ignore[attr-defined]
    transforms.Resize = _Resize  # type: ignore[attr-defined]
    transforms.Normalize = _Normalize  # type: ignore[attr-defined]
    package.transforms = transforms  # type: ignore[attr-defined]
    sys.modules["torchvision"] = package
    sys.modules["torchvision.transforms"] = transforms


@pytest.fixture(scope="session")
def reference_video_predictor() -> nn.Module:
    """The reference SAM2VideoPredictor (sam2.1_hiera_t, 1024 px), non-degenerate random weights,
    its hole filling running on the stand-in for its CUDA extension."""
    require_reference()
    install_hole_filling_stand_in()
    return build_reference(REFERENCE_CONFIG)


@pytest.fixture(scope="session")
def reference_checkpoint_path(reference_video_predictor: nn.Module, tmp_path_factory: Any) -> Path:
    """The reference weights as an official-format checkpoint file ``{"model": state_dict}``."""
    path = tmp_path_factory.mktemp("reference") / "sam2.1_hiera_t_random.pt"
    return save_official_checkpoint(reference_video_predictor, path)


@pytest.fixture(scope="session")
def engine_model(reference_checkpoint_path: Path) -> nn.Module:
    """Our SAM2Model loaded strictly from the reference checkpoint (same weights), eval, CPU."""
    from engine.checkpoint import load_model

    return load_model(ENGINE_CONFIG, checkpoint=reference_checkpoint_path)


@pytest.fixture(scope="session")
def reference_image_predictor(reference_video_predictor: nn.Module) -> Any:
    """The reference SAM2ImagePredictor on the reference model (torchvision stand-in installed)."""
    install_torchvision_stand_in()
    from sam2.sam2_image_predictor import SAM2ImagePredictor

    return SAM2ImagePredictor(reference_video_predictor, disable_torch_jit=True)


@pytest.fixture(scope="module")
def one_torch_thread():
    """One torch thread for a module's tests: on a busy machine several threads per process are much
    slower, not faster. Modules opt in with ``pytestmark = pytest.mark.usefixtures("one_torch_thread")``."""
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)
