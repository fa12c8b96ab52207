"""The row labels of every bench's table, in the order each prints them (``<n>``: a number the
bench's arguments set).

The benches print their rows from these, and ``tests/test_bench_readme.py`` checks that each table
embedded in the README has exactly these rows, without running a bench (most take minutes).
"""

from __future__ import annotations

# bench.ingest_bench: one group of these per video (the table's "method" column).
INGEST = (
    "masklet ingest",
    "masklet, every frame decoded",
    "reference: ffmpeg -vf fps=6 to JPEG",
    "reference: PyAV, threaded decoding",
    "reference: naive loop",
    "reference: decode only",
)

# bench.engine_bench: the table against the reference, then the memory table.
ENGINE = (
    "image encoder (set_image)",
    "click, cached frame",
    "propagation, 1 object",
    "propagation, <n> objects",
)
ENGINE_RSS = ("after <n> frames",)  # the memory table: one row per checkpoint, as many as --rss-frames allows

# bench.queue_bench
QUEUE = (
    "masklet task_next_for (SKIP LOCKED)",
    "reference: FOR UPDATE (no SKIP LOCKED)",
    "reference: one client",
)

# bench.click_bench: over HTTP to gunicorn (the headline), then in process (no HTTP server).
CLICK = (
    "HTTP (gunicorn): click round trip",
    "engine on the worker",
    "added by the platform",
    "  of which: HTTP (client, socket, gunicorn)",
    "  of which: Django request (auth, checks, rows)",
    "  of which: broker + results",
    "  of which: worker outside engine",
    "in process (no HTTP server): click round trip",
    "in process: engine on the worker",
    "in process: added by the platform",
    "reference: broker round trip",
    "reference: GET /api/tasks/{id}/ over HTTP",
    "reference: GET /api/tasks/{id}/ in process",
)

# bench.browser_bench
BROWSER = (
    "browser: click to overlay drawn",
    "  of which: click to answer (HTTP request)",
    "  of which: answer to overlay drawn",
    "  request sent to first byte (server)",
    "API: round trip to the worker",
    "engine on the worker (latency_ms)",
    "added by browser + platform",
    "reference: GET /api/tasks/{id}/ from the page",
    "1,000-frame video: frame step (key to drawn)",
    "1,000-frame video: timeline scroll to painted",
)

# bench.undo_bench: a click, then each undo with the worker's snapshots and, as the reference, by replay.
UNDO = (
    "click (cached frame)",
    "undo the propagation, snapshots",
    "undo a correction after it, snapshots",
    "undo the propagation, reference: replay",
    "undo a correction after it, reference: replay",
)
