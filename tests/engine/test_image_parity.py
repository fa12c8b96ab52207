"""Image parity: our ImagePredictor and the reference SAM2ImagePredictor, same weights, same inputs.

The reference is ``sam2.1_hiera_t`` at 1024 px with seeded random weights made non-degenerate
(conftest). Each prediction must match within 1e-3 on the logits, and the masks must be equal
wherever the reference's logit is farther than 1e-3 from the threshold. Every compared mask is
checked to have pixels both in and out, so that no comparison passes on trivial outputs.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest
import torch

from engine.image_predictor import ImagePredictor

pytestmark = pytest.mark.reference

LOGIT_TOL = 1e-3
SCORE_TOL = 1e-4
H, W = 180, 240  # not square: the predictor resizes without keeping the aspect ratio


def _test_image() -> np.ndarray:
    """A smooth gradient with two bright shapes and mild noise."""
    rng = np.random.default_rng(7)
    yy, xx = np.mgrid[0:H, 0:W]
    image = np.stack([xx * 255 / W, yy * 255 / H, np.full((H, W), 90.0)], axis=-1)
    image[40:110, 30:120] = (230, 40, 40)
    image[(yy - 120) ** 2 + (xx - 180) ** 2 < 35**2] = (30, 200, 60)
    image += rng.normal(0, 8, image.shape)
    return np.clip(image, 0, 255).astype(np.uint8)


def _disc_logits(size: int) -> np.ndarray:
    """A low-res mask prompt: +8 inside a disc, -8 outside, shape (1, size, size)."""
    yy, xx = np.mgrid[0:size, 0:size]
    inside = (yy - size * 0.4) ** 2 + (xx - size * 0.3) ** 2 < (size * 0.2) ** 2
    return np.where(inside, 8.0, -8.0).astype(np.float32)[None]


@pytest.fixture(scope="module")
def pair(reference_image_predictor: Any, engine_model: Any) -> tuple[Any, ImagePredictor, dict]:
    """Both predictors with the test image set; the raw encoder outputs captured by hooks."""
    captured: dict[str, dict] = {}

    def capture(name: str) -> Any:
        def hook(_module: Any, _inputs: Any, output: dict) -> None:
            # Copy the lists: the reference then overwrites backbone_fpn[0:2] in place.
            captured[name] = {k: list(v) if isinstance(v, list) else v for k, v in output.items()}

        return hook

    ours = ImagePredictor(engine_model)
    image = _test_image()
    handles = [
        reference_image_predictor.model.image_encoder.register_forward_hook(capture("reference")),
        engine_model.image_encoder.register_forward_hook(capture("ours")),
    ]
    try:
        reference_image_predictor.set_image(image)
        ours.set_image(image)
    finally:
        for handle in handles:
            handle.remove()
    return reference_image_predictor, ours, captured


def _max_diff(a: Any, b: Any) -> float:
    return float(np.abs(np.asarray(a, dtype=np.float64) - np.asarray(b, dtype=np.float64)).max())


def _assert_non_degenerate(logits: np.ndarray) -> None:
    for k, mask in enumerate(logits > 0):
        fraction = mask.mean()
        assert 0.0 < fraction < 1.0, (
            f"mask {k} is {'empty' if fraction == 0 else 'full'}: comparison is vacuous"
        )


def test_preprocessing_matches(pair: tuple) -> None:
    reference, ours, _ = pair
    image = _test_image()
    expected = reference._transforms(image)[None]
    assert _max_diff(ours._preprocess(image), expected) <= 1e-6


def test_image_encoder_features_match_at_all_levels(pair: tuple) -> None:
    reference, ours, captured = pair
    raw_ref, raw_ours = captured["reference"], captured["ours"]
    sizes = [(256, 256), (128, 128), (64, 64)]
    for key in ("backbone_fpn", "vision_pos_enc"):
        assert [tuple(t.shape[-2:]) for t in raw_ours[key]] == sizes
        for level, (a, b) in enumerate(zip(raw_ref[key], raw_ours[key], strict=True)):
            assert _max_diff(a, b) <= 1e-4, f"{key}[{level}]"
    # What the decoder sees: the stride-16 embedding (+ no_mem_embed) and the projected skips.
    assert _max_diff(reference._features["image_embed"], ours._features.image_embed) <= 1e-4
    for level, (a, b) in enumerate(
        zip(reference._features["high_res_feats"], ours._features.high_res_feats, strict=True)
    ):
        assert a.shape == b.shape and _max_diff(a, b) <= 1e-4, f"high_res_feats[{level}]"


CASES = {
    "one click, multimask": dict(points=[[70, 75]], labels=[1], multimask=True),
    "one click, single mask": dict(points=[[180, 120]], labels=[1], multimask=False),
    "clicks +/-, single mask": dict(points=[[70, 75], [200, 30]], labels=[1, 0], multimask=False),
    "clicks +/-, multimask": dict(points=[[70, 75], [200, 30], [150, 160]], labels=[1, 0, 1], multimask=True),
    "box, single mask": dict(box=[25, 35, 125, 115], multimask=False),
    "box, multimask": dict(box=[140, 80, 220, 160], multimask=True),
    "box + clicks": dict(
        box=[25, 35, 125, 115], points=[[60, 60], [110, 100]], labels=[1, 0], multimask=False
    ),
    "mask input alone": dict(mask_input="disc", multimask=False),
    "mask input + click, multimask": dict(mask_input="disc", points=[[70, 75]], labels=[1], multimask=True),
}


def _reference_kwargs(case: dict, mask: np.ndarray) -> dict:
    return {
        "point_coords": np.array(case["points"], dtype=np.float32) if "points" in case else None,
        "point_labels": np.array(case["labels"]) if "labels" in case else None,
        "box": np.array(case["box"], dtype=np.float32) if "box" in case else None,
        "mask_input": mask if "mask_input" in case else None,
        "multimask_output": case["multimask"],
    }


@pytest.mark.parametrize("case_id", list(CASES))
def test_predictions_match(pair: tuple, case_id: str) -> None:
    reference, ours, _ = pair
    case = CASES[case_id]
    mask = _disc_logits(ours.low_res_size)
    ref_logits, ref_scores, ref_low_res = reference.predict(
        **_reference_kwargs(case, mask), return_logits=True
    )
    ours_kwargs = {**case, "mask_input": mask} if "mask_input" in case else case
    result = ours.predict(**ours_kwargs)

    k = 3 if case["multimask"] else 1
    assert result.masks.shape == (k, H, W) and result.masks.dtype == bool
    assert result.logits.shape == (k, H, W) and result.low_res_logits.shape == (k, 256, 256)
    assert result.scores.shape == (k,) and result.scores.dtype == np.float32
    _assert_non_degenerate(ref_logits)
    _assert_non_degenerate(result.logits)

    assert _max_diff(result.logits, ref_logits) <= LOGIT_TOL
    assert _max_diff(result.low_res_logits, ref_low_res) <= LOGIT_TOL
    assert _max_diff(result.scores, ref_scores) <= SCORE_TOL
    decisive = np.abs(ref_logits) > LOGIT_TOL
    assert np.array_equal(result.masks[decisive], (ref_logits > 0)[decisive])


def test_previous_low_res_logits_feed_back_as_mask_input(pair: tuple) -> None:
    reference, ours, _ = pair
    first = ours.predict(points=[[70, 75]], labels=[1], multimask=True)
    previous = first.low_res_logits[np.argmax(first.scores)][None]  # (1, 256, 256)
    ref_logits, ref_scores, _ = reference.predict(
        point_coords=np.array([[70, 75], [100, 60]], dtype=np.float32),
        point_labels=np.array([1, 1]),
        mask_input=previous,
        multimask_output=False,
        return_logits=True,
    )
    result = ours.predict(points=[[70, 75], [100, 60]], labels=[1, 1], mask_input=previous, multimask=False)
    _assert_non_degenerate(ref_logits)
    assert _max_diff(result.logits, ref_logits) <= LOGIT_TOL
    assert _max_diff(result.scores, ref_scores) <= SCORE_TOL


def test_predict_batch_matches_reference_batched_prompts(pair: tuple) -> None:
    reference, ours, _ = pair
    points = np.array([[[70, 75]], [[180, 120]], [[20, 160]], [[230, 10]]], dtype=np.float32)  # (N=4, P=1, 2)
    labels = np.ones((4, 1), dtype=np.int64)
    coords = reference._transforms.transform_coords(
        torch.as_tensor(points), normalize=True, orig_hw=reference._orig_hw[-1]
    )
    ref_logits, ref_scores, ref_low_res = reference._predict(
        coords, torch.as_tensor(labels, dtype=torch.int32), multimask_output=True, return_logits=True
    )
    batch = ours.predict_batch(points, labels, multimask=True)
    upscaled = ours.upscale_logits(batch.low_res_logits)

    assert tuple(batch.low_res_logits.shape) == (4, 3, 256, 256) and tuple(batch.scores.shape) == (4, 3)
    assert tuple(upscaled.shape) == (4, 3, H, W)
    for logits in ref_logits.numpy():
        _assert_non_degenerate(logits)
    assert _max_diff(upscaled, ref_logits) <= LOGIT_TOL
    assert _max_diff(batch.low_res_logits.clamp(-32, 32), ref_low_res) <= LOGIT_TOL
    assert _max_diff(batch.scores, ref_scores) <= SCORE_TOL
    # A batch of one prompt is predict()'s answer for that prompt.
    single = ours.predict(points=points[1], labels=labels[1], multimask=True)
    assert _max_diff(upscaled[1], single.logits) <= 1e-5


def test_dynamic_multimask_selection_matches_reference(
    reference_video_predictor: Any, engine_model: Any
) -> None:
    """Single-mask output: stable token-0 masks are kept, unstable ones replaced by the best multimask.

    Random weights give low-contrast logits (always unstable), so the rule is checked on crafted
    logits: item 0 is stable (|logit| = 5 everywhere), item 1 is not (most logits within 0.05 of 0).
    """
    generator = torch.Generator().manual_seed(0)
    logits = torch.randn(2, 4, 32, 32, generator=generator)
    logits[0, 0] = torch.where(logits[0, 0] > 0, 5.0, -5.0)
    logits[1, 0] = 0.01 * torch.sign(logits[1, 0])
    iou = torch.tensor([[0.9, 0.2, 0.3, 0.1], [0.9, 0.2, 0.7, 0.1]])

    expected = reference_video_predictor.sam_mask_decoder._dynamic_multimask_via_stability(logits, iou)
    actual = engine_model.sam_mask_decoder._dynamic_multimask_via_stability(logits, iou)

    assert torch.equal(actual[0], expected[0]) and torch.equal(actual[1], expected[1])
    assert torch.equal(actual[0][0, 0], logits[0, 0]) and actual[1][0, 0] == 0.9  # stable: token 0
    assert torch.equal(actual[0][1, 0], logits[1, 2]) and actual[1][1, 0] == pytest.approx(
        0.7
    )  # best multimask
