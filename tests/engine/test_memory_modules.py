"""Memory attention and memory encoder against the reference modules, weights copied."""

from __future__ import annotations

import pytest
import torch

from engine.modeling.memory_attention import MemoryAttention, MemoryAttentionConfig
from engine.modeling.memory_encoder import MemoryEncoder, MemoryEncoderConfig
from engine.modeling.rope import apply_rope, rope_cos_sin
from tests.services import require_reference

pytestmark = pytest.mark.reference


@pytest.fixture(scope="module")
def reference_model() -> torch.nn.Module:
    build_sam = require_reference("sam2.build_sam")
    torch.manual_seed(0)
    predictor = build_sam.build_sam2_video_predictor("configs/sam2.1/sam2.1_hiera_t.yaml", ckpt_path=None,
                                                      device="cpu")
    # Random init leaves LayerNorms at identity and the layer scale at 1e-6; perturb every
    # parameter so that each one matters to the output.
    with torch.no_grad():
        for name, p in predictor.named_parameters():
            if name.startswith(("memory_attention.", "memory_encoder.")):
                p.add_(0.05 * torch.randn_like(p))
    return predictor.eval()


def _sub_state(model: torch.nn.Module, prefix: str) -> dict[str, torch.Tensor]:
    return {k[len(prefix):]: v for k, v in model.state_dict().items() if k.startswith(prefix)}


def test_memory_attention_matches_reference(reference_model: torch.nn.Module) -> None:
    ours = MemoryAttention(MemoryAttentionConfig()).eval()
    ours.load_state_dict(_sub_state(reference_model, "memory_attention."), strict=True)
    g = torch.Generator().manual_seed(1)
    hw, b, n_frames, n_ptr = 64 * 64, 2, 2, 8
    curr = torch.randn(hw, b, 256, generator=g)
    curr_pos = torch.randn(hw, b, 256, generator=g)
    memory = torch.randn(n_frames * hw + n_ptr, b, 64, generator=g)
    memory_pos = torch.randn(n_frames * hw + n_ptr, b, 64, generator=g)
    with torch.inference_mode():
        expected = reference_model.memory_attention(curr, memory, curr_pos, memory_pos, num_obj_ptr_tokens=n_ptr)
        got = ours(curr, memory, curr_pos, memory_pos, num_obj_ptr_tokens=n_ptr)
    assert got.shape == expected.shape == (hw, b, 256)
    assert expected.std() > 0.1  # a non-trivial output
    assert (got - expected).abs().max().item() <= 1e-4


def test_memory_attention_other_grid_without_pointers(reference_model: torch.nn.Module) -> None:
    """A 32x32 grid (512 px input) recomputes the rotations; no object-pointer tokens."""
    ours = MemoryAttention(MemoryAttentionConfig()).eval()
    ours.load_state_dict(_sub_state(reference_model, "memory_attention."), strict=True)
    g = torch.Generator().manual_seed(2)
    hw = 32 * 32
    curr, curr_pos = torch.randn(hw, 1, 256, generator=g), torch.randn(hw, 1, 256, generator=g)
    memory, memory_pos = torch.randn(3 * hw, 1, 64, generator=g), torch.randn(3 * hw, 1, 64, generator=g)
    ref_attn = reference_model.memory_attention
    saved = [layer.self_attn.freqs_cis for layer in ref_attn.layers] + [
        layer.cross_attn_image.freqs_cis for layer in ref_attn.layers]
    try:
        with torch.inference_mode():
            expected = ref_attn(curr, memory, curr_pos, memory_pos)
            got = ours(curr, memory, curr_pos, memory_pos)
    finally:  # the reference caches the 32x32 rotations on its modules: restore the 64x64 ones
        for layer, f in zip(ref_attn.layers, saved[:4], strict=True):
            layer.self_attn.freqs_cis = f
        for layer, f in zip(ref_attn.layers, saved[4:], strict=True):
            layer.cross_attn_image.freqs_cis = f
    assert (got - expected).abs().max().item() <= 1e-4


def test_rope_matches_reference_rotation() -> None:
    pos_mod = require_reference("sam2.modeling.position_encoding")
    g = torch.Generator().manual_seed(3)
    q = torch.randn(1, 1, 16, 32, generator=g)
    k = torch.randn(1, 1, 48, 32, generator=g)
    freqs = pos_mod.compute_axial_cis(dim=32, end_x=4, end_y=4)
    exp_q, exp_k = pos_mod.apply_rotary_enc(q, k, freqs_cis=freqs, repeat_freqs_k=True)
    cos, sin = rope_cos_sin(32, 4, 4)
    assert torch.allclose(apply_rope(q, cos, sin), exp_q, atol=1e-6)
    assert torch.allclose(apply_rope(k, cos, sin), exp_k, atol=1e-6)
    with pytest.raises(ValueError, match="whole number"):
        apply_rope(torch.randn(1, 1, 17, 32), cos, sin)


def test_memory_encoder_matches_reference(reference_model: torch.nn.Module) -> None:
    ours = MemoryEncoder(MemoryEncoderConfig()).eval()
    ours.load_state_dict(_sub_state(reference_model, "memory_encoder."), strict=True)
    g = torch.Generator().manual_seed(4)
    pix_feat = torch.randn(2, 256, 64, 64, generator=g)
    masks = 8 * torch.randn(2, 1, 1024, 1024, generator=g)
    with torch.inference_mode():
        expected = reference_model.memory_encoder(pix_feat, masks)
        got = ours(pix_feat, masks)
        got_skip = ours(pix_feat, (masks > 0).float(), skip_mask_sigmoid=True)
        expected_skip = reference_model.memory_encoder(pix_feat, (masks > 0).float(), skip_mask_sigmoid=True)
    assert got["vision_features"].shape == (2, 64, 64, 64)
    assert (got["vision_features"] - expected["vision_features"]).abs().max().item() <= 1e-4
    assert torch.equal(got["vision_pos_enc"][0], expected["vision_pos_enc"][0])
    assert (got_skip["vision_features"] - expected_skip["vision_features"]).abs().max().item() <= 1e-4


def test_checkpoint_keys_match_reference(reference_model: torch.nn.Module) -> None:
    ref_keys = reference_model.state_dict().keys()
    for prefix, module in (("memory_attention.", MemoryAttention(MemoryAttentionConfig())),
                           ("memory_encoder.", MemoryEncoder(MemoryEncoderConfig()))):
        expected = {k[len(prefix):] for k in ref_keys if k.startswith(prefix)}
        assert set(module.state_dict()) == expected


def test_shared_frame_batch_equals_per_object(reference_model: torch.nn.Module) -> None:
    """forward_shared_frame (one frame, B memories) equals forward on each object alone."""
    ours = MemoryAttention(MemoryAttentionConfig(feat_sizes=(16, 16))).eval()
    ours.load_state_dict(_sub_state(reference_model, "memory_attention."), strict=True)
    g = torch.Generator().manual_seed(5)
    hw, b, n_ptr = 16 * 16, 3, 8
    curr, curr_pos = torch.randn(hw, 1, 256, generator=g), torch.randn(hw, 1, 256, generator=g)
    memory = torch.randn(2 * hw + n_ptr, b, 64, generator=g)
    memory_pos = torch.randn(2 * hw + n_ptr, b, 64, generator=g)
    with torch.inference_mode():
        batched = ours.forward_shared_frame(curr, curr_pos, memory, memory_pos, num_obj_ptr_tokens=n_ptr)
        for i in range(b):
            alone = ours(curr, memory[:, i:i + 1], curr_pos, memory_pos[:, i:i + 1], num_obj_ptr_tokens=n_ptr)
            assert (batched[:, i:i + 1] - alone).abs().max().item() <= 1e-5
