"""ENGINE_DTYPE, ENGINE_COMPILE and ENGINE_OFFLOAD_FRAMES: a bad value stops the process at start with a
message naming the setting and what it accepts; good values reach the GPU worker's adapter."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from tests.conftest import REPO_ROOT
from workers.engine_adapter import EngineAdapter, VideoSpec

READ = ("import dataplatform.settings as s; "
        "print(s.ENGINE_DTYPE, s.ENGINE_COMPILE, s.ENGINE_OFFLOAD_FRAMES)")


def start_with(**env: str) -> subprocess.CompletedProcess:
    """Import the settings in a fresh process, as a worker does at start."""
    clean = {k: v for k, v in os.environ.items() if k not in ("ENGINE_DTYPE", "ENGINE_COMPILE", "ENGINE_OFFLOAD_FRAMES")}
    return subprocess.run([sys.executable, "-c", READ], env={**clean, **env}, cwd=REPO_ROOT, capture_output=True,
                          text=True, timeout=120)


def test_the_defaults_and_good_values_are_read() -> None:
    assert start_with().stdout.split() == ["float32", "off", "1000"]
    done = start_with(ENGINE_DTYPE="BF16", ENGINE_COMPILE="max-autotune", ENGINE_OFFLOAD_FRAMES="0")
    assert done.returncode == 0, done.stderr
    assert done.stdout.split() == ["bf16", "max-autotune", "0"]


@pytest.mark.parametrize(("name", "value", "message"), [
    ("ENGINE_DTYPE", "int8", "ENGINE_DTYPE must be float32, bfloat16 or float16 (or fp32, bf16, fp16), got 'int8'"),
    ("ENGINE_COMPILE", "fast", "ENGINE_COMPILE must be off, on or max-autotune, got 'fast'"),
])
def test_a_bad_value_stops_the_process_naming_the_setting(name: str, value: str, message: str) -> None:
    done = start_with(**{name: value})
    assert done.returncode != 0
    assert "ImproperlyConfigured" in done.stderr and message in done.stderr


def test_the_adapter_takes_the_settings(settings) -> None:
    from workers.engine_adapter import set_adapter
    from workers.sessions import adapter

    settings.ENGINE_DTYPE, settings.ENGINE_COMPILE, settings.ENGINE_OFFLOAD_FRAMES = "bf16", "on", 50
    set_adapter(None)
    try:
        made = adapter()
        assert (str(made.dtype), made.compile_mode, made.offload_frames) == ("torch.bfloat16", "default", 50)
    finally:
        set_adapter(None)


def test_old_memories_go_to_host_memory_for_long_videos_on_a_gpu_only() -> None:
    def frames_for(video: VideoSpec) -> None:
        raise AssertionError("not used")

    long, short = VideoSpec(1, 2000, 720, 1280), VideoSpec(2, 999, 720, 1280)
    gpu = EngineAdapter(frames_for=frames_for, device="cuda", offload_frames=1000)  # no GPU needed to decide
    assert (gpu.offload_to(long), gpu.offload_to(short)) == ("cpu", None)
    assert EngineAdapter(frames_for=frames_for, device="cuda", offload_frames=0).offload_to(long) is None
    assert EngineAdapter(frames_for=frames_for, device="cpu", offload_frames=1000).offload_to(long) is None
    with pytest.raises(ValueError, match="ENGINE_COMPILE must be off, on or max-autotune"):
        EngineAdapter(frames_for=frames_for, device="cpu", compile="sometimes")
