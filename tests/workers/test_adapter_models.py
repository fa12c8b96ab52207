"""The GPU worker's adapter loads the weights a model version names."""

from __future__ import annotations

import pytest
import torch

import engine
from engine.checkpoint import shipped_weights
from workers.engine_adapter import EngineAdapter, ModelSpec


def test_an_empty_checkpoint_key_means_the_shipped_weights() -> None:
    path = shipped_weights("micro")
    assert path is not None, "the micro model ships with the engine"
    adapter = EngineAdapter(frames_for=lambda spec: [], device="cpu")
    model = adapter.model(ModelSpec("modelversion:shipped", "micro", ""))
    shipped = engine.load_model("micro", checkpoint=str(path))
    for (name, ours), (_, theirs) in zip(model.state_dict().items(), shipped.state_dict().items(), strict=True):
        assert torch.equal(ours, theirs), name
    assert adapter.model(ModelSpec("modelversion:shipped", "micro", "")) is model, "loaded once per version"


def test_a_config_shipped_without_weights_is_refused_never_run_with_random_weights() -> None:
    assert shipped_weights("sam2.1_hiera_t") is None
    adapter = EngineAdapter(frames_for=lambda spec: [], device="cpu")
    with pytest.raises(ValueError, match="ships no weights: register its checkpoint"):
        adapter.model(ModelSpec("modelversion:official", "sam2.1_hiera_t", ""))
    assert adapter.stats["models_loaded"] == 0
