"""``python -m bench [--markdown] [name ...]`` (``make bench``): every benchmark in turn, each
printing its own table (``--markdown``: as ``python -m bench.readme`` embeds it in the README).

Each compares against a reference measured in the same run; see the README for the figures.
"""

from __future__ import annotations

import runpy
import sys

BENCHES = [
    ("ingest: decode + sample + JPEG write", "bench.ingest_bench"),
    ("engine: propagation, clicks, image encoder vs the reference SAM 2", "bench.engine_bench"),
    ("gpu: fps and peak memory, tiny to large, bf16, compile, long video vs the reference", "bench.gpu_bench"),
    ("queue: next-task latency under 200 concurrent clients", "bench.queue_bench"),
    ("sessions: a click's round trip through API + broker + worker", "bench.click_bench"),
    ("sessions: undo after a 60-frame propagation against a click", "bench.undo_bench"),
    ("browser: a click to its overlay, stepping through frames (Chromium)", "bench.browser_bench"),
]


def main(names: list[str]) -> None:
    markdown = "--markdown" in names
    names = [name for name in names if name != "--markdown"]
    for title, module in BENCHES:
        if names and not any(name in module for name in names):
            continue
        print(f"\n=== {title} ({module}) ===", flush=True)
        saved = sys.argv
        sys.argv = [module, *(["--markdown"] if markdown else [])]
        try:
            runpy.run_module(module, run_name="__main__")
        finally:
            sys.argv = saved


if __name__ == "__main__":
    main(sys.argv[1:])
