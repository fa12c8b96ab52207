"""``make demo``: the embedded demo sets itself up on SQLite and the filesystem broker, then serves
the API and docs with demo users and ready demo videos, and its worker ingests an upload."""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

import pytest
import requests

from browser_harness.demo import REPO_ROOT, DemoServer, alive, demo_env


@pytest.mark.slow
def test_demo_serves_api_docs_users_and_ready_videos(tmp_path: Path, shared_data: Path) -> None:
    demo = DemoServer(tmp_path / "var", log_path=tmp_path / "demo.log")
    base, port = demo.url, demo.port
    try:
        demo.start()
        output = demo.log()
        for login in ("annotator-demo", "reviewer-demo", "admin-demo", f"http://127.0.0.1:{port}/"):
            assert login in output, f"the demo did not print {login!r}"
        assert requests.get(f"{base}/api/schema/", timeout=10).status_code == 200

        token = requests.post(f"{base}/api/auth/token/", json={"username": "admin", "password": "admin-demo"},
                              timeout=10).json()["token"]
        headers = {"Authorization": f"Token {token}"}
        videos = requests.get(f"{base}/api/videos/", headers=headers, timeout=10).json()["results"]
        assert len(videos) >= 3 and all(video["status"] == "ready" for video in videos)
        tasks = requests.get(f"{base}/api/tasks/", headers=headers, timeout=10).json()
        assert tasks["count"] == len(videos), "every demo video has an annotation task"
        thumbnail = requests.get(f"{base}{videos[0]['thumbnail_url']}", timeout=10)
        assert thumbnail.status_code == 200 and thumbnail.content[:2] == b"\xff\xd8"

        # The demo's own worker (filesystem broker) ingests an upload.
        project = videos[0]["project"]
        with open(shared_data / "videos" / "bedroom.mp4", "rb") as handle:
            created = requests.post(f"{base}/api/projects/{project}/videos/", headers=headers,
                                    files={"file": ("bedroom.mp4", handle, "video/mp4")}, timeout=60)
        assert created.status_code in (201, 202), created.text
        job_id = created.json()["job"]["id"]
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            job = requests.get(f"{base}/api/jobs/{job_id}/", headers=headers, timeout=10).json()
            if job["status"] in ("succeeded", "failed"):
                break
            time.sleep(1)
        assert job["status"] == "succeeded", job
        assert job["result"]["frame_count"] == 40  # 200 frames at 30 fps, sampled at 6 fps
    finally:
        demo.stop()


@pytest.mark.slow
def test_a_killed_demo_takes_its_worker_along(tmp_path: Path) -> None:
    """The worker has a process group of its own; SIGKILL gives the demo no chance to stop it."""
    demo = DemoServer(tmp_path / "var", log_path=tmp_path / "demo.log")
    try:
        demo.start()
        assert demo.worker_pids, f"the demo started no worker:\n{demo.log()[-3000:]}"
        demo.kill()
        deadline = time.monotonic() + 60
        while any(alive(pid) for pid in demo.worker_pids) and time.monotonic() < deadline:
            time.sleep(0.5)
        assert not any(alive(pid) for pid in demo.worker_pids), "the killed demo's worker is still running"
    finally:
        demo.stop()  # SIGKILLs a worker left behind, so a failure leaves no orphan either


def test_demo_setup_is_rerunnable(tmp_path: Path) -> None:
    env = demo_env(tmp_path / "var")
    for _ in range(2):
        result = subprocess.run([sys.executable, "manage.py", "demo", "--no-serve"], cwd=REPO_ROOT, env=env,
                                capture_output=True, text=True, timeout=300)
        assert result.returncode == 0, result.stderr[-3000:]
    assert "Demo videos are ready." in result.stdout
    assert "Queued" not in result.stdout, "a second run must not queue the demo tasks again"
    assert (tmp_path / "var" / "masklet.sqlite3").is_file()
