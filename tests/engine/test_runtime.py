"""engine.runtime: precision and compile settings refused with a clear message, the compiled model
giving the masks of the plain one, and old memories offloaded to host memory giving the same masks."""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np
import pytest
import torch

from engine.checkpoint import load_model, shipped_weights
from engine.runtime import compile_model, parse_compile, parse_dtype, parse_offload_frames
from engine.video_session import VideoSession

H, W = 48, 64


@pytest.fixture(autouse=True, scope="module")
def one_thread() -> Iterator[None]:
    old = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(old)


def micro() -> torch.nn.Module:
    return load_model("micro", checkpoint=shipped_weights("micro"))


def moving_square(num_frames: int) -> list[np.ndarray]:
    rng = np.random.default_rng(1)
    frames = []
    for i in range(num_frames):
        img = rng.integers(0, 40, (H, W, 3), dtype=np.uint8)
        img[12:30, 4 + 2 * i:22 + 2 * i] = (220, 60, 50)
        frames.append(img)
    return frames


@pytest.mark.parametrize(("text", "expected"), [
    ("float32", None), ("", None), ("fp32", None), ("bfloat16", torch.bfloat16), ("BF16", torch.bfloat16),
    ("float16", torch.float16), (" fp16 ", torch.float16)])
def test_engine_dtype_values(text: str, expected: torch.dtype | None) -> None:
    assert parse_dtype(text) is expected


@pytest.mark.parametrize(("text", "expected"), [
    ("off", None), ("", None), ("0", None), ("false", None), ("on", "default"), ("1", "default"),
    ("TRUE", "default"), ("max-autotune", "max-autotune"), (True, "default"), (False, None)])
def test_engine_compile_values(text: str | bool, expected: str | None) -> None:
    assert parse_compile(text) == expected


@pytest.mark.parametrize(("parse", "text", "message"), [
    (parse_dtype, "int8", "ENGINE_DTYPE must be float32, bfloat16 or float16 (or fp32, bf16, fp16), got 'int8'"),
    (parse_dtype, "half", "ENGINE_DTYPE must be float32, bfloat16 or float16"),
    (parse_compile, "fast", "ENGINE_COMPILE must be off, on or max-autotune, got 'fast'"),
    (parse_compile, "reduce-overhead", "ENGINE_COMPILE must be off, on or max-autotune"),
    (parse_offload_frames, "many", "ENGINE_OFFLOAD_FRAMES must be a whole number of frames (0: never), got 'many'"),
    (parse_offload_frames, "-5", "ENGINE_OFFLOAD_FRAMES must be >= 0"),
])
def test_bad_values_are_refused_saying_what_is_accepted(parse, text: str, message: str) -> None:
    with pytest.raises(ValueError) as error:
        parse(text)
    assert message in str(error.value)


def test_offload_frames_values() -> None:
    assert (parse_offload_frames("2000"), parse_offload_frames(""), parse_offload_frames(0)) == (2000, 0, 0)


def test_offloading_old_memories_gives_the_masks_of_a_session_without_offloading() -> None:
    """Forward over 14 frames (memories beyond the 7-frame window go to the host), a correction on
    an early tracked frame (its memories and logits are read back), then a reverse pass."""
    model = micro()
    frames = moving_square(14)
    results = []
    for offload_to in (None, "cpu"):
        session = VideoSession(model, frames, offload_to=offload_to)
        outputs = [session.add_points(0, 1, [[13, 21]], [1]), session.add_points(0, 2, [[50, 40]], [1])]
        outputs += [logits for _, logits in session.propagate()]
        outputs.append(session.add_points(2, 1, [[30, 12]], [0]))  # a frame far behind the front
        outputs += [logits for _, logits in session.propagate(13, reverse=True)]
        outputs += [logits for _, logits in session.propagate(2)]
        results.append((outputs, session.offloaded_bytes))
    (plain, none_moved), (offloaded, moved) = results
    assert none_moved == 0 and moved > 0, "nothing was offloaded"
    assert len(plain) == len(offloaded) == 2 + 14 + 1 + 14 + 12
    assert any(0 < (logits[1] > 0).mean() < 1 for logits in plain), "degenerate masks prove nothing"
    for a, b in zip(plain, offloaded, strict=True):
        assert list(a) == list(b)
        for obj in a:
            np.testing.assert_array_equal(a[obj], b[obj])


def test_a_compiled_model_gives_the_masks_of_the_plain_one_and_keeps_its_checkpoint_layout() -> None:
    """The wiring of ENGINE_COMPILE (torch.compile's eager backend: no compiler needed here)."""
    plain, compiled = micro(), compile_model(micro(), "default", backend="eager")
    assert compiled.compile_mode == "default"
    assert list(compiled.state_dict()) == list(plain.state_dict())  # checkpoints save and load as before
    assert compile_model(plain, None) is plain and getattr(plain, "compile_mode", None) is None
    frames = moving_square(4)
    outs = []
    for model in (plain, compiled):
        session = VideoSession(model, frames)
        outs.append([session.add_points(0, 1, [[13, 21]], [1])] + [lg for _, lg in session.propagate()])
    for a, b in zip(*outs, strict=True):
        np.testing.assert_allclose(a[1], b[1], atol=1e-4)
        assert np.array_equal(a[1] > 0, b[1] > 0) or np.abs(a[1][(a[1] > 0) != (b[1] > 0)]).max() < 1e-4


def test_a_session_runs_under_bf16_autocast_with_the_masks_of_float32() -> None:
    """ENGINE_DTYPE=bfloat16 is CUDA autocast; the CPU's bf16 autocast casts the same operations, so it
    shows here that clicks, propagation both ways, a correction and a mask prompt run under it."""
    model = micro()
    frames = moving_square(10)
    runs = []
    for enabled in (False, True):
        with torch.autocast("cpu", dtype=torch.bfloat16, enabled=enabled):
            session = VideoSession(model, frames)
            outs = [session.add_points(0, 1, [[13, 21]], [1]), session.add_points(0, 2, [[50, 40]], [1])]
            outs += [logits for _, logits in session.propagate()]
            outs.append(session.add_points(5, 1, [[30, 12]], [0]))
            outs += [logits for _, logits in session.propagate(9, reverse=True)]
            outs.append(session.add_mask(3, 2, frames[3][..., 0] > 100))
            outs += [logits for _, logits in session.propagate(3)]
        runs.append(outs)
    agreement = [((a[o] > 0) == (b[o] > 0)).mean() for a, b in zip(*runs, strict=True) for o in a]
    assert all(v.dtype == np.float32 for out in runs[1] for v in out.values())
    assert min(agreement) > 0.99 and np.mean(agreement) > 0.999
