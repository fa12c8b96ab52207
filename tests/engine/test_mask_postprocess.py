"""The reference's mask post-processing: hole filling (``fill_hole_area``) and non-overlapping
objects (``non_overlap_masks_for_mem_enc``), alone and inside a video session."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pytest
import torch

from bench.reference import connected_components_8
from engine.frames import JpegFolderFrames
from engine.mask_postprocess import HOLE_FILL_SCORE, apply_non_overlapping_constraints, fill_holes
from engine.video_session import VideoSession
from tests.engine.test_video_parity import H, W, _write_video
from tests.services import require_reference


def reference_fill(logits: torch.Tensor, max_area: int) -> torch.Tensor:
    """The reference's rule, on the independent components: background areas <= max_area -> 0.1."""
    labels, areas = connected_components_8(logits <= 0)
    return torch.where((labels > 0) & (areas <= max_area), HOLE_FILL_SCORE, logits)


def test_holes_up_to_the_area_are_filled_8_connected_border_included() -> None:
    logits = torch.full((1, 1, 12, 16), 5.0)
    logits[0, 0, 1:3, 1:5] = -3.0  # a hole of 8 px: filled
    logits[0, 0, 6:9, 1:4] = -3.0  # 9 px: kept
    logits[0, 0, 4, 8] = logits[0, 0, 5, 9] = -2.0  # two pixels touching by a corner: one hole of 2
    logits[0, 0, 0, 15] = -1.0  # a hole on the border is a hole too
    logits[0, 0, 11, 10] = 0.0  # 0 is background
    out = fill_holes(logits, 8)
    filled = (out != logits)[0, 0]
    assert filled[1:3, 1:5].all() and not filled[6:9, 1:4].any()
    assert filled[4, 8] and filled[5, 9] and filled[0, 15] and filled[11, 10]
    assert int(filled.sum()) == 8 + 2 + 1 + 1 and torch.all(out[0, 0][filled] == HOLE_FILL_SCORE)
    assert torch.equal(fill_holes(logits, 0), logits)  # no region is that small
    assert torch.equal(logits[0, 0, 1, 1], torch.tensor(-3.0))  # the input is not modified


def test_hole_filling_matches_the_reference_rule_on_noisy_masks() -> None:
    gen = torch.Generator().manual_seed(0)
    logits = torch.randn(3, 1, 64, 64, generator=gen) + 0.6  # many small background specks
    logits[2] = -1024.0  # an absent object: all background, one big region, untouched
    expected = reference_fill(logits, 8)
    out = fill_holes(logits, 8)
    assert torch.equal(out, expected)
    assert (out != logits)[:2].sum() > 50 and torch.equal(out[2], logits[2])


def test_non_overlapping_objects_keep_the_top_score_only() -> None:
    masks = torch.tensor([[3.0, 1.0, -2.0], [2.0, 4.0, -5.0]]).reshape(2, 1, 1, 3)
    out = apply_non_overlapping_constraints(masks)
    assert out.flatten().tolist() == [3.0, -10.0, -2.0, -10.0, 4.0, -10.0]
    assert apply_non_overlapping_constraints(masks[:1]) is masks[:1] or torch.equal(
        apply_non_overlapping_constraints(masks[:1]), masks[:1])


@pytest.mark.reference
def test_non_overlapping_objects_match_the_reference() -> None:
    sam2_base = require_reference("sam2.modeling.sam2_base")
    masks = torch.randn(4, 1, 32, 32, generator=torch.Generator().manual_seed(1)) * 20
    expected = sam2_base.SAM2Base._apply_non_overlapping_constraints(None, masks)
    assert torch.equal(apply_non_overlapping_constraints(masks), expected)


@pytest.fixture
def tunable_model(engine_model: Any) -> Any:
    """The parity tests' sam2.1_hiera_t on random weights (noisy masks, with small holes), its
    post-processing options restored afterwards (the fixture is session-wide)."""
    before = engine_model.fill_hole_area, engine_model.non_overlap_masks_for_mem_enc
    yield engine_model
    engine_model.fill_hole_area, engine_model.non_overlap_masks_for_mem_enc = before


def _run(model, frames) -> list[dict[int, np.ndarray]]:
    session = VideoSession(model, frames)
    outputs = [session.add_points(0, 1, [[40, 48]], [1])]
    session.add_points(0, 2, [[95, 30]], [1])
    outputs += [logits for _, logits in session.propagate()]
    return outputs


@pytest.mark.reference
@pytest.mark.slow
def test_a_session_fills_holes_and_keeps_objects_apart_in_memory_by_config(tunable_model: Any, tmp_path: Path) -> None:
    """The placement in the session against the reference is checked by test_video_parity (whose
    reference fills holes too); here, that the options change what a user gets, and how."""
    frames = JpegFolderFrames(_write_video(tmp_path))
    model = tunable_model
    assert model.fill_hole_area == 8 and not model.non_overlap_masks_for_mem_enc  # the official defaults
    filled = _run(model, frames)
    model.fill_hole_area = 0
    unfilled = _run(model, frames)
    # Same weights: filling only ever turns background into foreground, and it does on some frame.
    changed = 0
    for a, b in zip(filled, unfilled, strict=True):
        for obj in a:
            assert np.all((a[obj] > 0) | ~(b[obj] > 0)), "a filled hole never removes foreground"
            changed += int(np.sum((a[obj] > 0) != (b[obj] > 0)))
    assert changed > 0
    model.non_overlap_masks_for_mem_enc = True
    apart = _run(model, frames)
    # Only the memories change: the prompted frame is the same, tracked frames differ.
    assert all(np.array_equal(apart[0][o], unfilled[0][o]) for o in apart[0])
    assert any(not np.array_equal(a[o], b[o]) for a, b in zip(apart[2:], unfilled[2:], strict=True) for o in a)
    assert (H, W) == apart[-1][1].shape
