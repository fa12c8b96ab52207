"""ImagePredictor's contract: output shapes and the ValueError raised for each kind of bad argument.

Runs on the micro model with random weights (no reference needed): these tests are about the
API, the parity tests about the numbers.
"""

from __future__ import annotations

import numpy as np
import pytest
import torch

from engine.checkpoint import load_model
from engine.image_predictor import ImagePredictor

H, W = 30, 40


@pytest.fixture(scope="module")
def model() -> torch.nn.Module:
    torch.manual_seed(0)
    return load_model("micro")


def _predictor(model: torch.nn.Module) -> ImagePredictor:
    predictor = ImagePredictor(model)
    predictor.set_image(np.random.default_rng(0).integers(0, 256, (H, W, 3), dtype=np.uint8))
    return predictor


@pytest.fixture(scope="module")
def predictor(model: torch.nn.Module) -> ImagePredictor:
    """One embedded image shared by the module's tests (they only read it)."""
    return _predictor(model)


def test_outputs_have_the_documented_shapes(predictor: ImagePredictor) -> None:
    side = predictor.low_res_size
    assert side == 64  # micro: image_size 256 / 4
    multi = predictor.predict(points=[[10, 5]], labels=[1])
    assert multi.masks.shape == (3, H, W) and multi.masks.dtype == bool
    assert multi.logits.shape == (3, H, W) and multi.logits.dtype == np.float32
    assert multi.scores.shape == (3,) and multi.scores.dtype == np.float32
    assert multi.low_res_logits.shape == (3, side, side)
    assert np.array_equal(multi.masks, multi.logits > 0)

    single = predictor.predict(box=[2, 3, 20, 25], mask_input=multi.low_res_logits[0], multimask=False)
    assert single.masks.shape == (1, H, W) and single.scores.shape == (1,)
    # (1, L, L) and (L, L) mask inputs are the same prompt.
    again = predictor.predict(box=[2, 3, 20, 25], mask_input=multi.low_res_logits[:1], multimask=False)
    assert np.array_equal(single.logits, again.logits)

    batch = predictor.predict_batch(np.array([[[10, 5]], [[30, 20]]]), np.ones((2, 1)), multimask=True)
    assert tuple(batch.low_res_logits.shape) == (2, 3, side, side) and tuple(batch.scores.shape) == (2, 3)
    assert tuple(predictor.upscale_logits(batch.low_res_logits).shape) == (2, 3, H, W)


def test_predict_before_set_image(model: torch.nn.Module) -> None:
    with pytest.raises(ValueError, match=r"no image set: call set_image\(rgb\) before predicting"):
        ImagePredictor(model).predict(points=[[1, 1]], labels=[1])
    with pytest.raises(ValueError, match="no image set"):
        ImagePredictor(model).predict_batch(np.zeros((1, 1, 2)), np.ones((1, 1)))


def test_reset_forgets_the_image(model: torch.nn.Module) -> None:
    predictor = _predictor(model)
    assert predictor.is_image_set
    predictor.reset()
    assert not predictor.is_image_set
    with pytest.raises(ValueError, match="no image set"):
        predictor.predict(points=[[1, 1]], labels=[1])


@pytest.mark.parametrize(
    ("image", "message"),
    [
        ([[0, 0, 0]], r"image must be a numpy array, got list"),
        (np.zeros((H, W), dtype=np.uint8), r"image must have shape \(H, W, 3\) \(RGB\), got \(30, 40\)"),
        (
            np.zeros((H, W, 4), dtype=np.uint8),
            r"image must have shape \(H, W, 3\) \(RGB\), got \(30, 40, 4\)",
        ),
        (np.zeros((0, W, 3), dtype=np.uint8), r"image must have shape \(H, W, 3\)"),
        (np.zeros((H, W, 3), dtype=np.float32), r"image must be uint8 \(0-255\), got float32"),
    ],
    ids=["not an array", "grey", "rgba", "empty", "float"],
)
def test_bad_images(model: torch.nn.Module, image: object, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        ImagePredictor(model).set_image(image)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({}, r"empty prompt: give points and labels, a box, or a mask_input"),
        (
            {"points": [[W + 1, 5]], "labels": [1]},
            r"point \(41, 5\) is outside the image \(width 40, height 30\)",
        ),
        ({"points": [[5, -1]], "labels": [1]}, r"point \(5, -1\) is outside the image"),
        (
            {"points": [[5, 5], [6, 6]], "labels": [1]},
            r"got 2 points but labels of shape \(1,\): one label per point",
        ),
        ({"points": [[5, 5]]}, r"points and labels go together: give both or neither"),
        ({"labels": [1]}, r"points and labels go together"),
        (
            {"points": [5, 5], "labels": [1]},
            r"points must have shape \(P, 2\) of pixel \(x, y\) with P >= 1, got \(2,\)",
        ),
        ({"points": [[5, 5]], "labels": [2]}, r"labels must be 1 \(positive\) or 0 \(negative\), got \[2\]"),
        ({"points": [[np.nan, 5]], "labels": [1]}, r"points must be finite numbers"),
        (
            {"box": [20, 5, 10, 25]},
            r"box must be \(x0, y0, x1, y1\) with x0 < x1 and y0 < y1, got \[20.0, 5.0, 10.0, 25.0\]",
        ),
        ({"box": [1, 2, 3]}, r"box must be 4 numbers \(x0, y0, x1, y1\), got shape \(3,\)"),
        (
            {"box": [0, 0, W + 5, 10]},
            r"box \[0.0, 0.0, 45.0, 10.0\] is outside the image \(width 40, height 30\)",
        ),
        (
            {"mask_input": np.zeros((32, 32))},
            r"mask_input must be low-res logits of shape \(64, 64\) or \(1, 64, 64\), got \(32, 32\)",
        ),
        (
            {"mask_input": np.zeros((2, 64, 64))},
            r"mask_input must be low-res logits of shape .* got \(2, 64, 64\)",
        ),
        ({"mask_input": np.zeros((64, 64), dtype=bool)}, r"mask_input must be finite float logits"),
    ],
    ids=[
        "empty prompt",
        "point right of image",
        "point above image",
        "more points than labels",
        "points without labels",
        "labels without points",
        "points not 2-D",
        "label 2",
        "nan point",
        "box inverted",
        "box of 3 numbers",
        "box outside",
        "mask wrong size",
        "mask of 2",
        "mask not float",
    ],
)
def test_bad_prompts(predictor: ImagePredictor, kwargs: dict, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        predictor.predict(**kwargs)


@pytest.mark.parametrize(
    ("points", "labels", "message"),
    [
        (np.zeros((2, 2)), np.ones((2,)), r"points must have shape \(N, P, 2\) with N, P >= 1, got \(2, 2\)"),
        (np.zeros((2, 1, 2)), np.ones((2,)), r"labels must have shape \(N, P\) = \(2, 1\), got \(2,\)"),
        (np.full((1, 1, 2), 100.0), np.ones((1, 1)), r"point \(100, 100\) is outside the image"),
        (
            np.zeros((1, 1, 2)),
            np.full((1, 1), 3),
            r"labels must be 1 \(positive\) or 0 \(negative\), got \[3\]",
        ),
    ],
    ids=["points 2-D", "labels wrong shape", "point outside", "label 3"],
)
def test_bad_batches(predictor: ImagePredictor, points: np.ndarray, labels: np.ndarray, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        predictor.predict_batch(points, labels)
