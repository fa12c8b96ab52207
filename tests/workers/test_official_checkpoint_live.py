"""An official-format SAM 2.1 checkpoint, end to end: registered through the CLI and through the API,
a session opened through the API on a real worker, a click, a propagation both ways, and every mask
the platform returns checked against the reference SAM 2's prediction on the same file and prompts.

No real weights can be downloaded here, so the file is the reference ``sam2.1_hiera_t`` (``rf-sam-2``,
test-only) with seeded random weights made non-degenerate, saved as Meta's ``{"model": state_dict}``
(``sam2.1_hiera_tiny.pt``); the model runs at the official 1024 px. Masks must be the reference's
except where its logit is within the parity tolerance of 0 (there the sign is noise).
"""

from __future__ import annotations

import json
import uuid
from io import StringIO
from pathlib import Path

import numpy as np
import pytest
from django.core.management import call_command

from annotation.models import ModelVersion
from annotation.services.tasks import task_create, task_next_for
from bench.reference import install_hole_filling_stand_in
from dataplatform import storage
from dataplatform.models import Job, Project
from engine import rle as rle_ops
from tests.conftest import wait_for
from tests.engine.conftest import build_reference, save_official_checkpoint
from tests.services import require_reference
from tests.workers import test_sessions_live as live
from tests.workers.test_sessions_live import centre_of, ready_video_with_frames

pytestmark = [pytest.mark.reference, pytest.mark.slow]

api_client_for, user_factory = live.api_client_for, live.user_factory  # fixtures

H, W = 72, 96  # small frames: the model sees them at 1024 px anyway
FRAMES, CLICKED = 4, 1  # a click on frame 1, then frames 1..3 forward and 1..0 backward
TOL = 1e-3  # the parity tolerance of the engine's logits (tests/engine/test_video_parity.py)


@pytest.fixture(scope="module")
def reference():
    require_reference()
    install_hole_filling_stand_in()  # the reference fills holes as the official setup does
    return build_reference("configs/sam2.1/sam2.1_hiera_t.yaml")


@pytest.fixture(scope="module")
def official_file(reference, tmp_path_factory) -> Path:
    return save_official_checkpoint(reference, tmp_path_factory.mktemp("official") / "sam2.1_hiera_tiny.pt")


def finished(job_id: int) -> Job | None:
    job = Job.objects.get(pk=job_id)
    return job if job.is_terminal else None


def assert_reference_masks(platform_mask: np.ndarray, ref_logits: np.ndarray, where: str) -> None:
    assert platform_mask.shape == ref_logits.shape == (H, W), where
    ref = ref_logits > 0
    assert 0 < ref.mean() < 1, f"{where}: the reference's mask is degenerate, the comparison would prove nothing"
    decisive = np.abs(ref_logits) > TOL
    wrong = (platform_mask != ref) & decisive
    assert not wrong.any(), f"{where}: {int(wrong.sum())} pixels differ from the reference's mask"


def test_an_official_checkpoint_registered_by_cli_and_api_segments_as_the_reference(
        live_platform, settings, reference, official_file: Path, user_factory, api_client_for,
        tmp_path: Path) -> None:
    # A 39 M-parameter model loads and runs at 1024 px on a busy CPU: a prompt may take minutes (the
    # worker answers pings meanwhile, so the API waits up to ENGINE_SESSION_MAX_WAIT).
    settings.ENGINE_SESSION_OPEN_TIMEOUT = settings.ENGINE_SESSION_MAX_WAIT = 900.0
    suffix = uuid.uuid4().hex[:6]

    # 1. Through the CLI: checked in the command, made the active version.
    out = StringIO()
    call_command("register_model", "--name", f"tiny-cli-{suffix}", "--checkpoint", str(official_file), "--promote",
                 stdout=out)
    by_cli = json.loads(out.getvalue().strip().splitlines()[-1])
    assert (by_cli["status"], by_cli["config_name"]) == ("ready", "sam2.1_hiera_t")
    assert ModelVersion.objects.get(pk=by_cli["id"]).is_active

    # 2. Through the API: an upload, checked by the worker's validation job.
    admin = user_factory("admin")
    with official_file.open("rb") as handle:
        response = api_client_for(admin).post("/api/model-versions/", {"name": f"tiny-api-{suffix}", "file": handle},
                                              format="multipart")
    assert response.status_code == 202, response.content
    job = wait_for(lambda: finished(response.json()["job"]["id"]), timeout=300, what="the validation job")
    assert job.status == Job.Status.SUCCEEDED, job.message
    by_api = ModelVersion.objects.get(pk=response.json()["model_version"]["id"])
    assert (by_api.status, by_api.config_name) == ("ready", "sam2.1_hiera_t")
    assert storage.read_bytes(by_api.checkpoint_key) == official_file.read_bytes()

    # 3. A project on the API-registered version; a session opened, a click, a propagation both ways.
    project = Project.objects.create(name=f"Official {suffix}", phase=3, model_version=by_api)
    video = ready_video_with_frames(project, FRAMES, H, W)
    annotator = user_factory("annotator")
    task_create(video=video)
    task = task_next_for(user=annotator)
    client = api_client_for(annotator)
    opened = client.post(f"/api/tasks/{task.pk}/session/")
    assert opened.status_code == 200, opened.content
    assert opened.json()["model_version"] == by_api.pk
    number = client.post(f"/api/tasks/{task.pk}/objects/").json()["object_number"]
    point = centre_of(video.clip.masks[1][CLICKED])
    answer = client.post(f"/api/tasks/{task.pk}/prompts/", {
        "frame_index": CLICKED, "object_number": number, "kind": "click", "points": [point], "labels": [1]},
        format="json")
    assert answer.status_code == 200, answer.content
    clicked = rle_ops.decode(answer.json()["mask"])
    started = client.post(f"/api/tasks/{task.pk}/propagate/", {"frame_index": CLICKED, "direction": "both"},
                          format="json")
    assert started.status_code == 202, started.content
    job = wait_for(lambda: finished(started.json()["id"]), timeout=900, what="the propagation job")
    assert job.status == Job.Status.SUCCEEDED, job.message
    stored = client.get(f"/api/tasks/{task.pk}/masks/", {"object_number": number}).json()[0]["masks"]
    assert sorted(stored, key=int) == [str(i) for i in range(FRAMES)]

    # 4. The reference on the same file's weights, the same JPEGs and the same prompts.
    frames = tmp_path / "frames"
    frames.mkdir()
    for index in range(FRAMES):
        (frames / f"{index:05d}.jpg").write_bytes(storage.read_bytes(storage.frame_key(video.pk, index)))
    state = reference.init_state(video_path=str(frames))
    _, _, ref_clicked = reference.add_new_points_or_box(state, CLICKED, 1, points=[point], labels=[1])
    assert_reference_masks(clicked, ref_clicked[0, 0].numpy(), f"the click's answer on frame {CLICKED}")
    seen = []
    for reverse in (False, True):
        for frame_idx, _, masks in reference.propagate_in_video(state, start_frame_idx=CLICKED, reverse=reverse):
            seen.append(frame_idx)
            assert_reference_masks(rle_ops.decode(stored[str(frame_idx)]), masks[0, 0].numpy(),
                                   f"frame {frame_idx} ({'backward' if reverse else 'forward'})")
    assert seen == [1, 2, 3, 1, 0]
