"""Checkpoint loading: official SAM 2 / 2.1 checkpoints load strictly and reproduce the reference.

For each of the eight official configs the reference is built with seeded random weights, saved
in the official format ``{"model": state_dict}``, loaded into our model with strict key matching,
and one image-encoder forward is compared. A small input (128 px) keeps hiera-l affordable on
the CPU; the weights do not depend on the input size.
"""

from __future__ import annotations

import pickle
from pathlib import Path

import numpy as np
import pytest
import torch

from engine.checkpoint import load_model, read_safetensors_config, save_model
from engine.config import KNOWN_CONFIGS, get_config
from engine.image_predictor import ImagePredictor
from engine.modeling.sam2 import build_sam2
from tests.engine.conftest import build_reference, save_official_checkpoint
from tests.services import require_reference

SMALL_IMAGE = 128

OFFICIAL = {
    "sam2.1_hiera_t": "configs/sam2.1/sam2.1_hiera_t.yaml",
    "sam2.1_hiera_s": "configs/sam2.1/sam2.1_hiera_s.yaml",
    "sam2.1_hiera_b+": "configs/sam2.1/sam2.1_hiera_b+.yaml",
    "sam2.1_hiera_l": "configs/sam2.1/sam2.1_hiera_l.yaml",
    "sam2_hiera_t": "configs/sam2/sam2_hiera_t.yaml",
    "sam2_hiera_s": "configs/sam2/sam2_hiera_s.yaml",
    "sam2_hiera_b+": "configs/sam2/sam2_hiera_b+.yaml",
    "sam2_hiera_l": "configs/sam2/sam2_hiera_l.yaml",
}
_SLOW = {"sam2.1_hiera_b+", "sam2.1_hiera_l", "sam2_hiera_b+", "sam2_hiera_l"}


def _levels(out: dict) -> dict[str, torch.Tensor]:
    flat = {"vision_features": out["vision_features"]}
    for key in ("backbone_fpn", "vision_pos_enc"):
        flat.update({f"{key}[{i}]": t for i, t in enumerate(out[key])})
    return flat


@pytest.mark.reference
@pytest.mark.parametrize(
    "name", [pytest.param(n, marks=pytest.mark.slow) if n in _SLOW else n for n in OFFICIAL]
)
def test_official_checkpoint_loads_strictly_and_matches_reference(name: str, tmp_path: Path) -> None:
    require_reference()
    reference = build_reference(OFFICIAL[name], image_size=SMALL_IMAGE)
    path = save_official_checkpoint(reference, tmp_path / f"{name}.pt")

    model = load_model(get_config(name).with_image_size(SMALL_IMAGE), checkpoint=path)

    assert not model.training
    assert sum(p.numel() for p in model.parameters()) == sum(p.numel() for p in reference.parameters())
    image = torch.randn(1, 3, SMALL_IMAGE, SMALL_IMAGE, generator=torch.Generator().manual_seed(1))
    with torch.inference_mode():
        expected, actual = _levels(reference.forward_image(image)), _levels(model.forward_image(image))
    assert expected.keys() == actual.keys()
    for key in expected:
        assert actual[key].shape == expected[key].shape, key
        diff = (actual[key] - expected[key]).abs().max().item()
        assert diff <= 1e-5, f"{name} {key}: max abs diff {diff}"


def _micro_checkpoint(tmp_path: Path, edit: dict[str, torch.Tensor | None]) -> Path:
    """An official-format checkpoint of a random micro model, with keys replaced or (None) removed."""
    state = build_sam2(get_config("micro")).state_dict()
    for key, value in edit.items():
        if value is None:
            state.pop(key)
        else:
            state[key] = value
    path = tmp_path / "micro.pt"
    torch.save({"model": state}, path)
    return path


def test_missing_keys_are_named(tmp_path: Path) -> None:
    path = _micro_checkpoint(tmp_path, {"no_mem_embed": None, "sam_mask_decoder.iou_token.weight": None})
    with pytest.raises(ValueError, match="missing keys: no_mem_embed, sam_mask_decoder.iou_token.weight"):
        load_model("micro", checkpoint=path)


def test_unexpected_keys_are_named(tmp_path: Path) -> None:
    path = _micro_checkpoint(tmp_path, {"image_encoder.trunk.extra.weight": torch.zeros(2)})
    with pytest.raises(ValueError, match=r"unexpected keys: image_encoder\.trunk\.extra\.weight"):
        load_model("micro", checkpoint=path)


def test_mis_shaped_tensors_are_named(tmp_path: Path) -> None:
    path = _micro_checkpoint(tmp_path, {"no_mem_embed": torch.zeros(1, 1, 7)})
    with pytest.raises(
        ValueError, match=r"mis-shaped tensors: no_mem_embed \(checkpoint \(1, 1, 7\), model \(1, 1, 64\)\)"
    ):
        load_model("micro", checkpoint=path)


def test_checkpoint_of_another_config_is_refused(tmp_path: Path) -> None:
    path = _micro_checkpoint(tmp_path, {})
    with pytest.raises(ValueError, match="does not match the 'sam2_hiera_t' model") as info:
        load_model("sam2_hiera_t", checkpoint=path)
    assert "missing keys" in str(info.value) and "mis-shaped tensors" in str(info.value)


def test_pt_files_are_read_without_unpickling_code(tmp_path: Path) -> None:
    path = tmp_path / "evil.pt"
    torch.save({"model": {"x": torch.zeros(1)}, "payload": _Arbitrary()}, path)
    with pytest.raises(pickle.UnpicklingError, match="Weights only load failed"):
        load_model("micro", checkpoint=path)


class _Arbitrary:
    """Any non-tensor object: torch.load(weights_only=True) must refuse to rebuild it."""


def test_unknown_config_names_the_known_ones() -> None:
    with pytest.raises(ValueError, match=r"unknown model config 'sam3'; known: sam2\.1_hiera_t, .*micro"):
        load_model("sam3")
    assert set(OFFICIAL) | {"micro"} == set(KNOWN_CONFIGS)


def test_missing_checkpoint_file(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="checkpoint not found"):
        load_model("micro", checkpoint=tmp_path / "nope.pt")


def test_safetensors_round_trip_carries_the_config(tmp_path: Path) -> None:
    torch.manual_seed(3)
    model = build_sam2(get_config("micro"))
    path = save_model(model, tmp_path / "micro.safetensors")

    assert read_safetensors_config(path) == get_config("micro")
    loaded = load_model(None, checkpoint=path)  # the config comes from the file
    assert loaded.config == model.config and not loaded.training
    expected, actual = model.state_dict(), loaded.state_dict()
    assert expected.keys() == actual.keys()
    assert all(torch.equal(expected[k], actual[k]) for k in expected)
    with pytest.raises(ValueError, match="config is required"):
        load_model(None, checkpoint=_micro_checkpoint(tmp_path, {}))


def test_micro_is_small_and_segments(tmp_path: Path) -> None:
    config = get_config("micro")
    torch.manual_seed(0)
    model = build_sam2(config).eval()
    params = sum(p.numel() for p in model.parameters())
    assert 1_500_000 <= params <= 2_500_000
    assert save_model(model, tmp_path / "micro.safetensors").stat().st_size <= 10 * 2**20

    image = torch.zeros(1, 3, config.image_size, config.image_size)
    with torch.inference_mode():
        out = model.forward_image(image)
    hidden, side = config.hidden_dim, config.image_size
    assert [tuple(t.shape) for t in out["backbone_fpn"]] == [
        (1, hidden // 8, side // 4, side // 4),
        (1, hidden // 4, side // 8, side // 8),
        (1, hidden, side // 16, side // 16),
    ]
    predictor = ImagePredictor(model)
    predictor.set_image(np.full((40, 60, 3), 128, dtype=np.uint8))
    result = predictor.predict(points=[[30, 20]], labels=[1])
    assert result.masks.shape == (3, 40, 60) and result.low_res_logits.shape == (3, side // 4, side // 4)


def test_bfloat16_model_predicts_like_float32(tmp_path: Path) -> None:
    torch.manual_seed(0)
    path = save_model(build_sam2(get_config("micro")), tmp_path / "micro.safetensors")
    image = np.random.default_rng(0).integers(0, 256, (50, 60, 3), dtype=np.uint8)
    results = []
    for dtype in (None, torch.bfloat16):
        model = load_model(None, checkpoint=path, dtype=dtype)
        assert {p.dtype for p in model.parameters()} == {dtype or torch.float32}
        assert {p.device.type for p in model.parameters()} == {"cpu"} and not model.training
        predictor = ImagePredictor(model)
        predictor.set_image(image)
        mask_input = np.zeros((64, 64), np.float32)
        results.append(
            predictor.predict(points=[[10, 20]], labels=[1], box=[5, 5, 40, 40], mask_input=mask_input)
        )
    full, half = results
    assert half.logits.dtype == np.float32
    # bfloat16 keeps ~3 significant digits: logits of magnitude ~0.3 agree to ~1e-2.
    assert np.abs(full.logits - half.logits).max() <= 2e-2
    assert (full.masks == half.masks).mean() >= 0.98
