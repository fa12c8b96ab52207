"""``python -m bench.gpu_bench`` works where no GPU is: its CPU run (tiny, official-format file, 1024 px,
the smallest propagation) prints its table, and ours and the reference agree on the same weights.
The long-video run is the same code at another length; on a CPU it would take hours."""

from __future__ import annotations

import pytest

from tests.services import require_reference

pytestmark = [pytest.mark.reference, pytest.mark.slow]


def test_the_gpu_bench_runs_a_small_size_on_the_cpu(capsys, tmp_path) -> None:
    require_reference()
    from bench import gpu_bench

    rows = gpu_bench.main(["--device", "cpu", "--sizes", "tiny", "--objects", "1", "--frames", "2",
                           "--video-size", "64x48", "--long-frames", "0", "--checkpoints", str(tmp_path)])
    out = capsys.readouterr().out
    assert (tmp_path / "sam2.1_hiera_tiny.pt").is_file()  # the official file's name and layout, both sides load it
    table = [r for r in rows if "long" not in r]
    assert [(r["size"], r["objects"], r["compile"]) for r in table] == [("tiny", 1, False)]
    row = table[0]
    assert row["ours_fps"] > 0 and row["ref_fps"] > 0 and row["ours_mb"] > 0
    assert row["max_diff"] <= 1e-3, "ours and the reference disagree on the same file"
    assert "peak RSS MB (CPU)" in out and "ours fps" in out and "tiny  1" in out
