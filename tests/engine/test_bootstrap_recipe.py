"""The micro bootstrap's recipe: object-centred crops, the memory priors, single-mask tracking and a
step-bounded run (reproducible whatever the machine's load)."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from engine.config import get_config
from engine.modeling.rope import apply_rope
from engine.modeling.sam2 import build_sam2
from engine.training import ArrayMaskletDataset, Clip, ClipConfig, sample_clip
from engine.training.bootstrap import (
    BootstrapConfig,
    memory_locality_prior,
    object_score_prior,
    run_bootstrap,
)
from engine.training.forward import clip_forward
from engine.training.prompts import PromptConfig, PromptPlan
from engine.training.trainer import TrainConfig, Trainer

SIZE = 128


pytestmark = pytest.mark.usefixtures("one_torch_thread")


def _two_squares(t_len: int = 3, size: int = 96) -> tuple[np.ndarray, dict[int, np.ndarray]]:
    """A red square top-left and a blue one bottom-right on grey, still, for ``t_len`` frames."""
    frames = np.full((t_len, size, size, 3), 120, dtype=np.uint8)
    masks = {1: np.zeros((t_len, size, size), bool), 2: np.zeros((t_len, size, size), bool)}
    masks[1][:, 8:24, 8:24] = True
    masks[2][:, 70:90, 66:86] = True
    frames[masks[1]] = (220, 30, 30)
    frames[masks[2]] = (30, 30, 220)
    return frames, masks


def _clicked_squares_clip() -> tuple[Clip, PromptPlan]:
    """A 3-frame clip of the two squares, each clicked once on the first frame, no corrections."""
    frames, masks = _two_squares(t_len=3)
    clip = sample_clip(ArrayMaskletDataset([(frames, masks)]), np.random.default_rng(0), SIZE,
                       ClipConfig(num_frames=3, max_objects=2, hflip_prob=0.0))
    coords = torch.tensor([[[20.0, 20.0]], [[100.0, 100.0]]])
    return clip, PromptPlan("click", coords, torch.ones(2, 1, dtype=torch.int32), correct_frames=[])


def test_object_centred_crops_keep_the_anchor_object_and_crop_frames_and_masks_alike() -> None:
    frames, masks = _two_squares()
    ds = ArrayMaskletDataset([(frames, masks)])
    cfg = ClipConfig(num_frames=3, max_objects=2, hflip_prob=0.0, crop_prob=1.0, crop_min=0.5)
    rng = np.random.default_rng(0)
    sides = set()
    for _ in range(20):
        clip = sample_clip(ds, rng, SIZE, cfg)
        assert clip.masks[0].flatten(1).any(dim=1).all()  # every chosen masklet is in the crop
        red = clip.images[0, 0] > clip.images[0, 2] + 1.0  # normalised red channel above blue
        for k, obj_id in enumerate(clip.obj_ids):
            inside = red[clip.masks[0, k]].float().mean()
            assert (inside > 0.9) if obj_id == 1 else (inside < 0.1), (obj_id, float(inside))
        sides.add(int(clip.masks[0].flatten(1).sum(1).max()))
    assert len(sides) > 1  # crops of several sizes: the objects' apparent size varies


def test_whole_frames_without_crops() -> None:
    frames, masks = _two_squares()
    clip = sample_clip(ArrayMaskletDataset([(frames, masks)]), np.random.default_rng(0), SIZE,
                       ClipConfig(num_frames=3, max_objects=2, hflip_prob=0.0))
    assert clip.obj_ids == [1, 2]
    # 16 px of 96 at 128 px input: about 21 px a side
    assert abs(int(clip.masks[0, 0].sum()) - (16 * SIZE / 96) ** 2) < 60


def test_locality_prior_makes_each_query_attend_most_to_its_own_position() -> None:
    model = build_sam2(get_config("micro").with_image_size(SIZE))
    memory_locality_prior(model)
    grid = SIZE // 16
    for layer in model.memory_attention.layers:
        attn = layer.cross_attn_image
        with torch.no_grad():  # the biases alone: what the prior puts in
            q = attn.q_proj.bias.expand(1, 1, grid * grid, -1).clone()
            k = attn.k_proj.bias.expand(1, 1, grid * grid, -1).clone()
            cos, sin = attn.rope_for(grid * grid)
            logits = apply_rope(q, cos, sin)[0, 0] @ apply_rope(k, cos, sin)[0, 0].T  # (queries, keys)
        assert torch.equal(logits.argmax(dim=1), torch.arange(grid * grid))
        # local, not flat: a key two cells away along either axis scores well below the query's own
        assert float(logits[0, 0] - logits[0, 2]) > 10 and float(logits[0, 0] - logits[0, 2 * grid]) > 10


def test_micro_tracks_with_the_single_mask_output_and_clicks_with_three() -> None:
    torch.manual_seed(0)
    model = build_sam2(get_config("micro").with_image_size(SIZE)).train()
    clip, plan = _clicked_squares_clip()
    outs = clip_forward(model, clip, plan, PromptConfig(), torch.Generator().manual_seed(0))
    assert [(o.frame_idx, o.multimasks.shape[1]) for o in outs] == [(0, 3), (1, 1), (2, 1)]


def test_a_bootstrap_run_is_bounded_by_steps_and_switches_resolution_by_step(tmp_path) -> None:
    lines: list[str] = []
    cfg = BootstrapConfig(steps=2, low_res_fraction=0.5, eval_videos=1, eval_frames=3, out=tmp_path / "m.safetensors",
                          checkpoint=tmp_path / "train.pt", progress=False)
    assert cfg.full_res_from == 1
    result = run_bootstrap(cfg, log=lines.append)
    assert result.steps == 2 and len(result.losses) == 2
    assert any(line.startswith("step 1: input size 256") for line in lines), lines
    assert set(result.jf) == {"mask", "1-click"}
    state = torch.load(tmp_path / "train.pt", map_location="cpu", weights_only=False)
    assert state["step"] == 2 and state["image_size"] == 256
    # The shipped weights are the moving average from 58 % of the steps on: here both steps.
    assert cfg.weight_average == (0.99, 1) and state["average"]["updates"] == 2


def test_high_res_warmup_is_off_then_ramps_in_then_stays_on() -> None:
    model = build_sam2(get_config("micro").with_image_size(SIZE))
    frames, masks = _two_squares()
    trainer = Trainer(model, ArrayMaskletDataset([(frames, masks)]), TrainConfig(high_res_warmup=(10, 20)))
    assert [trainer.high_res_scale(s) for s in (0, 9, 10, 15, 20, 500)] == [0.0, 0.0, 0.0, 0.5, 1.0, 1.0]
    assert Trainer(model, ArrayMaskletDataset([(frames, masks)]), TrainConfig()).high_res_scale(0) == 1.0
    with pytest.raises(ValueError, match="start, end"):
        TrainConfig(high_res_warmup=(20, 10))


def test_without_high_res_skips_the_masks_come_from_the_stride_16_features_alone() -> None:
    """Scale 0: the decoder's stride-4/8 projections get no gradient and the masks do not change when
    the high-res levels do; scale 1 is the model as it is."""
    torch.manual_seed(0)
    model = build_sam2(get_config("micro").with_image_size(SIZE)).train()
    object_score_prior(model)  # "present": an absent call would give constant masks
    clip, plan = _clicked_squares_clip()
    decoder = model.sam_mask_decoder

    def run(scale: float) -> tuple[list[torch.Tensor], torch.Tensor | None]:
        model.zero_grad(set_to_none=True)
        torch.manual_seed(1)  # the same dropout every run
        outs = clip_forward(model, clip, plan, PromptConfig(), torch.Generator().manual_seed(0), high_res_scale=scale)
        sum(o.multimasks.clamp(-30, 30).sum() for o in outs).backward()
        return [o.multimasks.detach() for o in outs], decoder.conv_s0.weight.grad

    off, grad_off = run(0.0)
    on, grad_on = run(1.0)
    assert grad_off is None or not grad_off.any()
    assert grad_on is not None and grad_on.abs().sum() > 0
    with torch.no_grad():
        decoder.conv_s0.weight.mul_(3.0)
    off_again, _ = run(0.0)
    on_again, _ = run(1.0)
    assert all(torch.equal(a, b) for a, b in zip(off, off_again, strict=True))
    assert not all(torch.equal(a, b) for a, b in zip(on, on_again, strict=True))
