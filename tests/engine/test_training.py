"""Training: loss terms on crafted inputs (hand-computed), prompt sampling, the optimiser's groups and
freezing, and a few real steps of the micro model (loss goes down, resume continues identically)."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from engine.config import get_config
from engine.modeling.sam2 import build_sam2
from engine.training import (
    ArrayMaskletDataset,
    ClipConfig,
    OptimConfig,
    PromptConfig,
    SyntheticMaskletDataset,
    TrainConfig,
    Trainer,
    sample_clip,
)
from engine.training.distributed import DistInfo
from engine.training.loss import (
    dice_loss,
    frame_loss,
    iou_l1_loss,
    object_score_loss,
    sigmoid_focal_loss,
    total_loss,
)
from engine.training.optim import apply_freezing, lr_factor, param_groups
from engine.training.prompts import PromptPlan, plan_prompts, sample_box, sample_error_points

LN2 = math.log(2)
BIG = 50.0  # a logit whose sigmoid is 1 (or 0) to float precision
SIZE = 128  # the micro model at 128 px input (same weights as at 256, a quarter of the cost)

pytestmark = pytest.mark.usefixtures("one_torch_thread")


# -- loss terms ------------------------------------------------------------------------------------


def test_focal_loss_by_hand() -> None:
    logits = torch.zeros(1, 1, 1, 2)  # p = 1/2 everywhere
    targets = torch.tensor([[[[1.0, 0.0]]]])
    # CE = ln 2, (1 - p_t)^2 = 1/4; alpha_t = 0.25 on the positive pixel, 0.75 on the negative one.
    expected = (0.25 * 0.25 * LN2 + 0.75 * 0.25 * LN2) / 2
    assert sigmoid_focal_loss(logits, targets).item() == pytest.approx(expected)
    # gamma 0 and no alpha: plain BCE.
    assert sigmoid_focal_loss(logits, targets, alpha=-1, gamma=0).item() == pytest.approx(LN2)
    # A confident right answer costs nothing.
    assert sigmoid_focal_loss(torch.tensor([[[[BIG, -BIG]]]]), targets).item() == pytest.approx(0, abs=1e-12)


def test_dice_loss_by_hand() -> None:
    logits = torch.tensor([[[[BIG, -BIG], [-BIG, -BIG]]]])  # predicts 1 pixel
    targets = torch.tensor([[[[1.0, 1.0], [0.0, 0.0]]]])  # GT has 2
    # 1 - (2 * 1 + 1) / (1 + 2 + 1) = 1/4
    assert dice_loss(logits, targets).item() == pytest.approx(0.25)
    assert dice_loss(torch.full((1, 1, 2, 2), -BIG), torch.zeros(1, 1, 2, 2)).item() == pytest.approx(0.0)


def test_iou_l1_loss_by_hand() -> None:
    logits = torch.tensor([[[[BIG, -BIG], [-BIG, -BIG]]]])
    targets = torch.tensor([[[[1.0, 1.0], [0.0, 0.0]]]])
    # actual IoU 1/2, predicted 0.8 -> 0.3
    assert iou_l1_loss(logits, targets, torch.tensor([[0.8]])).item() == pytest.approx(0.3)


def test_object_score_loss_by_hand() -> None:
    losses = object_score_loss(torch.tensor([[0.0], [BIG], [BIG]]), torch.tensor([[1.0], [1.0], [0.0]]))
    np.testing.assert_allclose(losses.numpy(), [LN2, 0.0, BIG], atol=1e-6)


def test_frame_loss_supervises_the_best_candidate_and_every_iou() -> None:
    target = torch.tensor([[[[1.0, 1.0], [0.0, 0.0]]]]).bool()  # (N=1, 1, 2, 2)
    right = torch.tensor([[BIG, BIG], [-BIG, -BIG]])
    wrong = -right
    half = torch.zeros(2, 2)  # p = 1/2: a mediocre candidate
    multimasks = torch.stack([wrong, right, half])[None]  # (1, 3, 2, 2)
    ious = torch.tensor([[0.0, 1.0, 0.5]])  # actual IoUs: 0, 1 and 1 (logits 0 are not > 0: IoU 0)
    terms = frame_loss(multimasks, ious, torch.tensor([[0.0]]), target, num_objects=1.0)
    assert terms["focal"].item() == pytest.approx(0.0, abs=1e-9)  # the right candidate is chosen
    assert terms["dice"].item() == pytest.approx(0.0, abs=1e-6)
    # IoU L1 over all three: |0 - 0| + |1 - 1| + |0.5 - 0| = 0.5, mean 1/6.
    assert terms["iou"].item() == pytest.approx(0.5 / 3)
    assert terms["object_score"].item() == pytest.approx(LN2)
    assert total_loss(terms).item() == pytest.approx(20 * terms["focal"].item() + terms["dice"].item()
                                                     + 0.5 / 3 + LN2, rel=1e-6)


def test_frame_loss_absent_objects_only_train_the_object_score_and_divide_by_objects() -> None:
    target = torch.zeros(2, 1, 2, 2, dtype=torch.bool)
    target[0, 0, 0, 0] = True  # object 0 present, object 1 absent
    multimasks = torch.zeros(2, 1, 2, 2)  # p = 1/2 everywhere
    terms = frame_loss(multimasks, torch.zeros(2, 1), torch.zeros(2, 1), target, num_objects=2.0)
    # Only object 0 counts for the mask terms: focal of 1 positive + 3 negative pixels, halved.
    focal0 = (0.25 * 0.25 * LN2 + 3 * 0.75 * 0.25 * LN2) / 4
    assert terms["focal"].item() == pytest.approx(focal0 / 2)
    dice0 = 1 - (2 * 0.5 + 1) / (2.0 + 1 + 1)
    assert terms["dice"].item() == pytest.approx(dice0 / 2)
    assert terms["iou"].item() == pytest.approx(0.0)  # predicted 0; actual IoU 0 (nothing > 0)
    assert terms["object_score"].item() == pytest.approx(2 * LN2 / 2)


# -- prompt sampling -------------------------------------------------------------------------------


def _square_masks(t: int = 4, n: int = 2, s: int = 32) -> torch.Tensor:
    masks = torch.zeros(t, n, s, s, dtype=torch.bool)
    masks[:, 0, 4:12, 6:20] = True
    masks[:, 1, 16:30, 18:28] = True
    return masks


def test_prompt_kinds_follow_the_recipe() -> None:
    gen = torch.Generator().manual_seed(0)
    masks = _square_masks()
    plans = [plan_prompts(masks, PromptConfig(), gen) for _ in range(2000)]
    share = {k: sum(p.kind == k for p in plans) / len(plans) for k in ("mask", "click", "box")}
    assert share["mask"] == pytest.approx(0.5, abs=0.04)
    assert share["click"] == pytest.approx(0.25, abs=0.03)
    assert share["box"] == pytest.approx(0.25, abs=0.03)
    for p in plans:
        if p.kind == "mask":
            assert p.correct_frames == [] and p.point_coords is None
        else:
            assert p.correct_frames[0] == 0 and 1 <= len(p.correct_frames) <= 2
            assert len(set(p.correct_frames)) == len(p.correct_frames) and max(p.correct_frames) < 4
            assert p.point_coords.shape == ((2, 1, 2) if p.kind == "click" else (2, 2, 2))
    assert {len(p.correct_frames) for p in plans if p.kind != "mask"} == {1, 2}
    clicks = [p for p in plans if p.kind == "click"]
    for p in clicks:  # the initial click is a positive one inside the object
        assert p.point_labels.tolist() == [[1], [1]]
        for i in range(2):
            x, y = p.point_coords[i, 0].long().tolist()
            assert masks[0, i, y, x]


def test_correction_points_fall_in_the_error_region_with_the_right_label() -> None:
    gen = torch.Generator().manual_seed(1)
    gt = _square_masks(1)[0]  # (2, 32, 32)
    pred = torch.zeros_like(gt)
    pred[0, 4:12, 6:14] = True  # object 0: false negatives on columns 14..19
    pred[1, 16:30, 18:28] = True
    pred[1, 0:3, 0:3] = True  # object 1: false positives only
    for _ in range(200):
        coords, labels = sample_error_points(gt, pred, gen)
        x0, y0 = coords[0, 0].long().tolist()
        assert labels[0, 0] == 1 and gt[0, y0, x0] and not pred[0, y0, x0]
        x1, y1 = coords[1, 0].long().tolist()
        assert labels[1, 0] == 0 and pred[1, y1, x1] and not gt[1, y1, x1]
    # A perfect prediction: a negative click on the background.
    coords, labels = sample_error_points(gt, gt, gen)
    assert labels.tolist() == [[0], [0]]
    assert not gt[0, int(coords[0, 0, 1]), int(coords[0, 0, 0])]


def test_boxes_bound_the_mask_and_stay_near_it_with_noise() -> None:
    gen = torch.Generator().manual_seed(2)
    gt = _square_masks(1)[0]
    coords, labels = sample_box(gt, gen, noise=0.0)
    assert coords.tolist() == [[[6, 4], [19, 11]], [[18, 16], [27, 29]]]
    assert labels.tolist() == [[2, 3], [2, 3]]
    for _ in range(50):
        noisy, _ = sample_box(gt, gen, noise=0.1, noise_max_px=20)
        # At most 10 % of the side: 1.3 px on object 0's width, 0.7 on its height.
        assert (noisy[0] - coords[0]).abs().max() <= 1.3 + 1e-6
        assert noisy.min() >= 0 and noisy.max() <= 31


# -- optimiser -------------------------------------------------------------------------------------


def test_layer_wise_lr_decay_values() -> None:
    model = build_sam2(get_config("micro"))
    cfg = OptimConfig(lr=1e-3, image_encoder_lr=5e-4, layer_decay=0.5)
    lr_of = {name: g["lr"] for g in param_groups(model, cfg) for name in g["names"]}
    blocks = len(model.image_encoder.trunk.blocks)  # 7 in micro
    assert blocks == 7
    assert lr_of["image_encoder.trunk.patch_embed.proj.weight"] == pytest.approx(5e-4 * 0.5 ** 8)
    assert lr_of["image_encoder.trunk.pos_embed"] == pytest.approx(5e-4 * 0.5 ** 8)
    for i in range(blocks):
        assert lr_of[f"image_encoder.trunk.blocks.{i}.mlp.layers.0.weight"] == pytest.approx(5e-4 * 0.5 ** (7 - i))
    assert lr_of["image_encoder.neck.convs.0.conv.weight"] == pytest.approx(5e-4)
    assert lr_of["sam_mask_decoder.iou_prediction_head.layers.0.weight"] == pytest.approx(1e-3)
    assert lr_of["memory_attention.layers.0.self_attn.q_proj.weight"] == pytest.approx(1e-3)
    wd_of = {name: g["weight_decay"] for g in param_groups(model, cfg) for name in g["names"]}
    assert wd_of["sam_mask_decoder.iou_prediction_head.layers.0.weight"] == 0.1
    assert wd_of["sam_mask_decoder.iou_prediction_head.layers.0.bias"] == 0.0
    assert wd_of["memory_attention.norm.weight"] == 0.0


def test_schedule_warms_up_then_decays_to_a_tenth() -> None:
    cfg = OptimConfig(warmup_steps=10, total_steps=110, min_lr_ratio=0.1)
    assert lr_factor(0, cfg) == pytest.approx(0.1)
    assert lr_factor(9, cfg) == pytest.approx(1.0)
    assert lr_factor(10, cfg) == pytest.approx(1.0)
    assert lr_factor(60, cfg) == pytest.approx(0.55)
    assert lr_factor(110, cfg) == pytest.approx(0.1)
    assert lr_factor(500, cfg) == pytest.approx(0.1)


@pytest.mark.parametrize("flag, prefixes", [
    ("freeze_image_encoder", ("image_encoder.",)),
    ("freeze_memory", ("memory_attention.", "memory_encoder.", "maskmem_tpos_enc", "no_mem_embed", "no_mem_pos_enc",
                       "no_obj_embed_spatial")),
    ("freeze_prompt_encoder", ("sam_prompt_encoder.",)),
])
def test_freezing(flag: str, prefixes: tuple[str, ...]) -> None:
    model = build_sam2(get_config("micro"))
    cfg = OptimConfig(**{flag: True})
    apply_freezing(model, cfg)
    grouped = {name for g in param_groups(model, cfg) for name in g["names"]}
    for name, p in model.named_parameters():
        frozen = name.startswith(prefixes)
        assert p.requires_grad is not frozen, name
        assert (name in grouped) is not frozen, name


# -- real steps ------------------------------------------------------------------------------------


def _tiny_dataset() -> SyntheticMaskletDataset:
    return SyntheticMaskletDataset(7, 4, num_frames=6, height=64, width=64, num_objects=2)


def _trainer(seed: int = 0, weight_average: tuple[float, int] | None = None, **optim: float) -> Trainer:
    torch.manual_seed(seed)
    model = build_sam2(get_config("micro").with_image_size(SIZE))
    cfg = TrainConfig(clip=ClipConfig(num_frames=2, max_objects=1),
                      prompts=PromptConfig(num_correction_points=1),
                      optim=OptimConfig(lr=1e-3, image_encoder_lr=1e-3, warmup_steps=0, total_steps=10, **optim),
                      seed=seed, weight_average=weight_average)
    return Trainer(model, _tiny_dataset(), cfg, dist_info=DistInfo())


def _clip_loss(trainer: Trainer, clip, plan) -> float:
    gen = torch.Generator().manual_seed(0)
    with torch.no_grad():
        loss, _ = trainer.module(clip, plan, gen, 1.0)
    return float(loss)


def test_clips_are_sampled_with_masklets_visible_on_the_first_frame() -> None:
    rng = np.random.default_rng(0)
    video = _tiny_dataset()[0]
    ds = ArrayMaskletDataset([(np.stack(list(video.frames)), video.masks)])
    clip = sample_clip(ds, rng, 256, ClipConfig(num_frames=3, max_objects=3))
    assert clip.images.shape == (3, 3, 256, 256) and clip.masks.shape[:2] == (3, clip.num_objects)
    assert clip.masks[0].flatten(1).any(dim=1).all()


def test_a_few_steps_reduce_the_loss_on_a_fixed_clip() -> None:
    trainer = _trainer()
    clip = sample_clip(trainer.dataset, np.random.default_rng(3), SIZE, trainer.cfg.clip)
    gt = clip.masks[0]
    box = sample_box(gt, torch.Generator().manual_seed(0), noise=0.0)
    plan = PromptPlan("box", *box, correct_frames=[])
    before = _clip_loss(trainer, clip, plan)
    for _ in range(4):
        trainer.train_step(clip, plan)
    after = _clip_loss(trainer, clip, plan)
    assert after < 0.8 * before, (before, after)


def test_resume_continues_identically(tmp_path) -> None:
    straight = _trainer(seed=5)
    straight.train(2)
    straight.save_checkpoint(tmp_path / "ckpt.pt")
    straight.train(2)
    resumed = _trainer(seed=99)  # other initial weights and RNG: the checkpoint must restore all
    resumed.load_checkpoint(tmp_path / "ckpt.pt")
    assert resumed.step == 2
    resumed.train(2)
    for (name, a), b in zip(straight.model.state_dict().items(), resumed.model.state_dict().values(), strict=True):
        torch.testing.assert_close(a, b, rtol=0, atol=0, msg=name)
    assert resumed.scheduler.get_last_lr() == straight.scheduler.get_last_lr()


def test_the_weight_average_follows_the_steps_from_its_start_and_is_what_the_run_saves(tmp_path) -> None:
    from engine.checkpoint import load_model

    trainer = _trainer(seed=3, weight_average=(0.5, 2))
    name, param = next((n, p) for n, p in trainer.model.named_parameters() if n.startswith("sam_mask_decoder."))
    seen = []
    trainer.train(3, callback=lambda stats: seen.append(param.detach().clone()))
    # Step 1 is before the start; the average starts as step 2's weights, then moves halfway to step 3's.
    torch.testing.assert_close(trainer.average.tensors[name], 0.5 * seen[1] + 0.5 * seen[2])
    assert trainer.average.updates == 2
    # The live model keeps training from its own weights; the saved file holds the average.
    torch.testing.assert_close(param.detach(), seen[2], rtol=0, atol=0)
    saved = dict(load_model(None, trainer.save_weights(tmp_path / "avg.safetensors")).named_parameters())
    torch.testing.assert_close(saved[name], trainer.average.tensors[name])
    torch.testing.assert_close(param.detach(), seen[2], rtol=0, atol=0)
    trainer.finish()
    torch.testing.assert_close(param.detach(), trainer.average.tensors[name], rtol=0, atol=0)


def test_a_resumed_run_keeps_its_weight_average(tmp_path) -> None:
    straight = _trainer(seed=5, weight_average=(0.9, 1))
    straight.train(2)
    straight.save_checkpoint(tmp_path / "ckpt.pt")
    straight.train(2)
    resumed = _trainer(seed=99, weight_average=(0.9, 1))
    resumed.load_checkpoint(tmp_path / "ckpt.pt")
    resumed.train(2)
    assert resumed.average.updates == straight.average.updates == 4
    for name, a in straight.average.tensors.items():
        torch.testing.assert_close(resumed.average.tensors[name], a, rtol=0, atol=0, msg=name)


@pytest.mark.parametrize("decay, start", [(1.0, 1), (0.0, 1), (0.9, 0)])
def test_a_weight_average_out_of_range_is_refused(decay: float, start: int) -> None:
    with pytest.raises(ValueError, match="average"):
        _trainer(weight_average=(decay, start))


def test_frozen_image_encoder_does_not_move() -> None:
    trainer = _trainer(freeze_image_encoder=True)
    before = {k: v.clone() for k, v in trainer.model.state_dict().items()}
    trainer.train(1)
    after = trainer.model.state_dict()
    assert all(torch.equal(before[k], after[k]) for k in before if k.startswith("image_encoder."))
    assert any(not torch.equal(before[k], after[k]) for k in before if k.startswith("sam_mask_decoder."))


def test_a_fine_tune_keeps_the_loss_its_weights_were_trained_with() -> None:
    from engine.training.bootstrap import micro_recipe
    from engine.training.loss import loss_weights_for

    assert loss_weights_for("micro") == micro_recipe().loss  # the bootstrap's: no alpha, dice 5
    paper = loss_weights_for("sam2.1_hiera_tiny")
    assert (paper.focal, paper.dice, paper.iou, paper.object_score, paper.focal_alpha) == (20.0, 1.0, 1.0, 1.0, 0.25)
