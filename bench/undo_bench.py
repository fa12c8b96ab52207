"""Undo after a propagation against a click, through API + broker + worker.

    python -m bench.undo_bench [--frames 61] [--rounds 5] [--clicks 20] [--size 640x480]

Runs on a throwaway database like ``bench.click_bench`` (micro model, one GPU-style worker,
``-Q gpu -c 1``). Each round is a fresh phase-3 task on a ``--frames``-frame video: a click on
frame 0, a propagation forward over the other frames (60 by default), then one of:
- ``undo the propagation``: the undo right after it;
- ``undo a correction after it``: a click on frame 30, then its undo (the session must come back
  to the propagated state).
Each is timed as the client sees it (``POST /api/tasks/{id}/undo/``), with the worker keeping undo
snapshots (``ENGINE_UNDO_MEMORY_MB`` default) and, as the reference, with none
(``ENGINE_UNDO_MEMORY_MB=0``: the undo replays the session, as every undo did before snapshots).
``click`` is the round trip of a click on a cached frame on the same worker: the target is an
undo within 2x its median.
"""

from __future__ import annotations

import argparse
import os
import statistics
import time

import numpy as np
import torch
from django.db import connection

from bench.click_bench import (  # sets Django up, before the models
    make_rows,
    percentile,
    start_worker,
    throwaway_database,
)
from bench.report import Table, add_format_argument, emit
from bench.rows import UNDO
from dataplatform.models import Job


def wait_job(job_id: int, timeout: float = 600.0) -> Job:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        job = Job.objects.get(pk=job_id)
        if job.is_terminal:
            assert job.status == Job.Status.SUCCEEDED, job.message
            return job
        time.sleep(0.02)
    raise SystemExit(f"propagation job {job_id} did not finish in {timeout:.0f} s")


def timed_post(client, url: str, body: dict) -> tuple[float, dict]:
    start = time.perf_counter()
    response = client.post(url, body, format="json")
    elapsed = (time.perf_counter() - start) * 1000
    assert response.status_code in (200, 202), response.content
    return elapsed, response.json()


def one_round(width: int, height: int, frames: int, correction: bool, rng) -> tuple[float, bool]:
    """A fresh task: click, propagate, (click), undo. The undo's round trip and whether it replayed."""
    from annotation.models import Interaction

    client, _token, task = make_rows(width, height, frames)
    url = f"/api/tasks/{task.pk}"
    assert client.post(f"{url}/session/").status_code == 200
    number = client.post(f"{url}/objects/").json()["object_number"]
    click = {"object_number": number, "kind": "click", "labels": [1]}
    timed_post(client, f"{url}/prompts/", {**click, "frame_index": 0, "points": [[width / 2, height / 2]]})
    _, job = timed_post(client, f"{url}/propagate/", {"frame_index": 0, "direction": "forward"})
    wait_job(job["id"])
    if correction:
        point = [float(rng.uniform(0, width)), float(rng.uniform(0, height))]
        timed_post(client, f"{url}/prompts/", {**click, "frame_index": frames // 2, "points": [point]})
    elapsed, answer = timed_post(client, f"{url}/undo/", {})
    assert answer["undone_kind"] == ("click+" if correction else "propagate"), answer
    replayed = Interaction.objects.get(pk=answer["interaction"]).payload["replayed"]
    return elapsed, replayed


def clicks_round_trip(width: int, height: int, count: int, rng) -> list[float]:
    client, _token, task = make_rows(width, height, 4)
    url = f"/api/tasks/{task.pk}"
    assert client.post(f"{url}/session/").status_code == 200
    number = client.post(f"{url}/objects/").json()["object_number"]
    times = []
    for n in range(count + 10):
        body = {"frame_index": n % 4, "object_number": number, "kind": "click", "labels": [int(n % 3 != 2)],
                "points": [[float(rng.uniform(0, width)), float(rng.uniform(0, height))]]}
        elapsed, _ = timed_post(client, f"{url}/prompts/", body)
        if n >= 10:  # warm-up: the model, the frames' features
            times.append(elapsed)
    return times


def run(frames: int, rounds: int, clicks: int, width: int, height: int, markdown: bool = False) -> None:
    import redis

    redis.Redis.from_url(os.environ["CELERY_BROKER_URL"]).flushdb()
    rng = np.random.default_rng(1)
    rows: list[tuple[str, list[float], str]] = []
    for label, env in (("snapshots", {}), ("reference: replay", {"ENGINE_UNDO_MEMORY_MB": "0"})):
        worker, _ = start_worker(connection.settings_dict["NAME"], **env)
        try:
            click_ms = clicks_round_trip(width, height, clicks, rng)
            if not rows:
                rows.append(("click (cached frame)", click_ms, f"{clicks} clicks"))
            for correction in (False, True):
                times, replays = [], 0
                for _ in range(rounds):
                    elapsed, replayed = one_round(width, height, frames, correction, rng)
                    times.append(elapsed)
                    replays += int(replayed)
                what = "undo a correction after it" if correction else "undo the propagation"
                rows.append((f"{what}, {label}", times, f"{replays}/{rounds} replayed"))
        finally:
            worker.terminate()
            worker.wait(timeout=30)

    click_median = statistics.median(rows[0][1])
    table = Table(["", "median ms", "p90 ms", "x click", "notes"], left=1)
    for name, values, notes in rows:
        median = statistics.median(values)
        table.add(name, f"{median:.1f}", f"{percentile(values, 0.9):.1f}", f"{median / click_median:.1f}x", notes)
    if [row[0] for row in table.rows] != list(UNDO):
        raise RuntimeError(f"bench.rows.UNDO lists {list(UNDO)}, the table has {[row[0] for row in table.rows]}")
    worst = max(statistics.median(v) for n, v, _ in rows if n.endswith("snapshots"))
    verdict = "met" if worst <= 2 * click_median else "NOT met"
    emit("bench.undo_bench", markdown=markdown,
         title=(f"Undo after a {frames - 1}-frame propagation vs a click, micro model on "
                f"{torch.get_num_threads()} CPU thread(s), {width}x{height} frames, {rounds} rounds each:"),
         tables=[table], notes=[f"Target: an undo within 2x a click's median round trip, with snapshots: {verdict}."])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--frames", type=int, default=61, help="video length (the propagation: frames - 1)")
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--clicks", type=int, default=20)
    parser.add_argument("--size", default="640x480", help="frame width x height")
    add_format_argument(parser)
    args = parser.parse_args()
    width, height = (int(v) for v in args.size.lower().split("x"))
    with throwaway_database():
        run(args.frames, args.rounds, args.clicks, width, height, args.markdown)


if __name__ == "__main__":
    main()
