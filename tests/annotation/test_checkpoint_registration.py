"""Registering a checkpoint: copied into storage, checked before use, refused with a reason, never usable then.

The official-format file is the reference SAM 2.1 tiny (``rf-sam-2``, test-only) with seeded random
weights, saved as Meta's ``{"model": state_dict}``; bad files are made from it or from scratch.
"""

from __future__ import annotations

import hashlib
import json
import pathlib
import shutil
from io import StringIO
from pathlib import Path

import pytest
import torch
from django.core.management import call_command
from django.core.management.base import CommandError

from annotation.models import ModelVersion
from annotation.services.modelversions import model_version_promote
from dataplatform import storage
from dataplatform.errors import ApplicationError
from dataplatform.models import Job
from engine.checkpoint import shipped_weights
from tests.dataplatform.conftest import error_of
from tests.engine.conftest import build_reference, save_official_checkpoint
from tests.services import require_reference

pytestmark = pytest.mark.django_db


@pytest.fixture(scope="module")
def official_tiny(tmp_path_factory) -> Path:
    require_reference()
    reference = build_reference("configs/sam2.1/sam2.1_hiera_t.yaml", image_size=128)
    return save_official_checkpoint(reference, tmp_path_factory.mktemp("official") / "sam2.1_hiera_tiny.pt")


def register(*args: str) -> tuple[dict, CommandError | None]:
    """Run register_model; its JSON line and the error it exited with (None when it succeeded)."""
    out = StringIO()
    error = None
    try:
        call_command("register_model", *args, stdout=out, stderr=StringIO())
    except CommandError as exc:
        error = exc
    lines = out.getvalue().strip().splitlines()
    return (json.loads(lines[-1]) if lines else {}), error


def sha256_of(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def assert_unusable(version_id: int) -> ModelVersion:
    version = ModelVersion.objects.get(pk=version_id)
    assert version.status == ModelVersion.Status.FAILED and version.message
    assert version.validation_job.status == Job.Status.FAILED
    assert version.validation_job.message == version.message
    with pytest.raises(ApplicationError, match="cannot be used"):
        model_version_promote(version=version, user=None)
    assert not ModelVersion.objects.get(pk=version_id).is_active
    return version


def test_an_official_checkpoint_registers_with_its_config_inferred_and_can_be_promoted(official_tiny: Path) -> None:
    summary, error = register("--name", "sam21-tiny", "--checkpoint", str(official_tiny), "--promote")
    assert error is None
    assert summary["status"] == "ready" and summary["message"] == ""
    assert summary["config_name"] == "sam2.1_hiera_t"
    assert summary["sha256"] == sha256_of(official_tiny)
    assert summary["size_bytes"] == official_tiny.stat().st_size
    version = ModelVersion.objects.get(pk=summary["id"])
    assert version.is_active
    assert storage.read_bytes(version.checkpoint_key) == official_tiny.read_bytes()
    assert version.validation_job.status == Job.Status.SUCCEEDED


def test_a_wrong_config_is_refused_and_names_the_right_one(official_tiny: Path) -> None:
    summary, error = register("--name", "tiny-as-small", "--checkpoint", str(official_tiny),
                              "--config", "sam2.1_hiera_s", "--promote")
    assert error is not None
    assert summary["status"] == "failed"
    assert "does not match the 'sam2.1_hiera_s' model" in summary["message"]
    assert "matches the 'sam2.1_hiera_t' config" in summary["message"]
    assert_unusable(summary["id"])


def test_a_truncated_checkpoint_is_refused(official_tiny: Path, tmp_path: Path) -> None:
    truncated = tmp_path / "sam2.1_hiera_tiny.pt"
    with official_tiny.open("rb") as source:
        truncated.write_bytes(source.read(1_000_000))
    summary, error = register("--name", "truncated", "--checkpoint", str(truncated))
    assert error is not None
    assert summary["message"].startswith("sam2.1_hiera_tiny.pt ")  # the file given, not its copy
    assert "truncated" in summary["message"] and "sha256" in summary["message"]
    assert_unusable(summary["id"])


def test_a_file_that_is_not_a_checkpoint_is_refused(tmp_path: Path) -> None:
    junk = tmp_path / "weights.pt"
    junk.write_text("<html>404 Not Found</html>\n" * 100)
    summary, error = register("--name", "junk", "--checkpoint", str(junk))
    assert error is not None
    assert "is not a PyTorch checkpoint" in summary["message"]
    assert_unusable(summary["id"])


class _Payload:
    """Unpickled with code execution allowed, this would create a file."""

    def __init__(self, marker: Path) -> None:
        self.marker = marker

    def __reduce__(self):
        return (pathlib.Path.touch, (pathlib.Path(self.marker),))


def test_a_pickle_that_would_run_code_is_refused_and_never_run(tmp_path: Path) -> None:
    marker = tmp_path / "pwned"
    evil = tmp_path / "evil.pt"
    torch.save({"model": {"x": torch.zeros(1)}, "payload": _Payload(marker)}, evil)
    assert not marker.exists()
    summary, error = register("--name", "evil", "--checkpoint", str(evil))
    assert error is not None
    assert "loading it would run code" in summary["message"]
    assert not marker.exists(), "the payload ran"
    assert_unusable(summary["id"])


def test_our_safetensors_from_a_storage_key_register_with_their_stored_config() -> None:
    shipped = shipped_weights("micro")
    key = "uploads/micro.safetensors"
    with shipped.open("rb") as handle:
        storage.put_file(key, handle)
    summary, error = register("--name", "micro-copy", "--checkpoint", key)
    assert error is None
    assert (summary["status"], summary["config_name"]) == ("ready", "micro")
    assert summary["sha256"] == sha256_of(shipped)


def test_a_missing_source_or_a_taken_name_stops_before_anything_is_created(tmp_path: Path) -> None:
    with pytest.raises(CommandError, match="No checkpoint at"):
        call_command("register_model", "--name", "x", "--checkpoint", str(tmp_path / "absent.pt"), stdout=StringIO())
    shutil.copy(shipped_weights("micro"), tmp_path / "m.safetensors")
    register("--name", "x", "--checkpoint", str(tmp_path / "m.safetensors"))
    with pytest.raises(CommandError, match="exists already"):
        call_command("register_model", "--name", "x", "--checkpoint", str(tmp_path / "m.safetensors"),
                     stdout=StringIO())
    assert ModelVersion.objects.filter(name="x").count() == 1


def test_bootstrap_with_an_official_config_and_no_checkpoint_stops_saying_what_to_set(settings) -> None:
    settings.ENGINE_DEFAULT_CONFIG, settings.ENGINE_DEFAULT_CHECKPOINT = "sam2.1_hiera_t", ""
    with pytest.raises(CommandError, match="set ENGINE_DEFAULT_CHECKPOINT"):
        call_command("bootstrap", stdout=StringIO())
    assert not ModelVersion.objects.exists(), "no version without weights"


def test_bootstrap_registers_checks_and_activates_the_default_checkpoint(settings, official_tiny: Path) -> None:
    settings.ENGINE_DEFAULT_CONFIG, settings.ENGINE_DEFAULT_CHECKPOINT = "sam2.1_hiera_t", str(official_tiny)
    call_command("bootstrap", stdout=StringIO())
    call_command("bootstrap", stdout=StringIO())  # idempotent: registered once
    version = ModelVersion.objects.get()
    assert (version.is_active, version.status, version.config_name) == (True, "ready", "sam2.1_hiera_t")
    assert version.sha256 == sha256_of(official_tiny) and version.checkpoint_key


def test_bootstrap_stops_when_the_default_checkpoint_is_refused(settings, tmp_path: Path) -> None:
    junk = tmp_path / "sam2.1_hiera_tiny.pt"
    junk.write_bytes(b"not a checkpoint")
    settings.ENGINE_DEFAULT_CONFIG, settings.ENGINE_DEFAULT_CHECKPOINT = "sam2.1_hiera_t", str(junk)
    with pytest.raises(CommandError, match="was refused: .*not a PyTorch checkpoint"):
        call_command("bootstrap", stdout=StringIO())
    assert not ModelVersion.objects.filter(is_active=True).exists()


def test_a_session_refuses_a_refused_version_its_project_names(tmp_path: Path, video_factory) -> None:
    from annotation.models import AnnotationTask
    from annotation.services.sessions import session_model_version

    junk = tmp_path / "weights.pt"
    junk.write_bytes(b"\0" * 64)
    summary, _ = register("--name", "junk", "--checkpoint", str(junk))
    video = video_factory(ready=True)
    video.project.model_version_id = summary["id"]
    video.project.save(update_fields=["model_version"])
    task = AnnotationTask.objects.create(video=video, phase=3)
    with pytest.raises(ApplicationError, match="'junk' is failed and cannot be used"):
        session_model_version(task=task)
    task.refresh_from_db()
    assert task.model_version_id is None


def test_an_admin_uploads_an_official_checkpoint_through_the_api(official_tiny: Path, admin_user, annotator,
                                                                  api_client_for) -> None:
    from annotation.services.checkpoints import model_version_validate

    with official_tiny.open("rb") as handle:
        denied = api_client_for(annotator).post("/api/model-versions/", {"name": "up", "file": handle},
                                                format="multipart")
    assert denied.status_code == 403
    client = api_client_for(admin_user)
    with official_tiny.open("rb") as handle:
        response = client.post("/api/model-versions/", {"name": "uploaded-tiny", "file": handle}, format="multipart")
    assert response.status_code == 202, response.content
    body = response.json()
    assert body["model_version"]["status"] == "validating"
    assert body["model_version"]["sha256"] == sha256_of(official_tiny)
    assert body["job"]["kind"] == "model_validation"
    promote = f"/api/model-versions/{body['model_version']['id']}/promote/"
    assert error_of(client.post(promote))["code"] == "model_version_unusable", "not before it is checked"
    model_version_validate(job_id=body["job"]["id"])  # what the worker runs
    listed = client.get("/api/model-versions/").json()["results"][0]
    assert (listed["status"], listed["config_name"]) == ("ready", "sam2.1_hiera_t")
    assert client.post(promote).json()["is_active"] is True


def test_a_storage_uri_with_a_refused_file_fails_its_job_and_cannot_be_promoted(admin_user, api_client_for) -> None:
    from annotation.services.checkpoints import model_version_validate

    storage.put_bytes("uploads/broken.pt", b"PK\x03\x04 not really a zip")
    client = api_client_for(admin_user)
    response = client.post("/api/model-versions/", {"name": "broken", "checkpoint": "uploads/broken.pt"},
                           format="json")
    assert response.status_code == 202, response.content
    body = response.json()
    model_version_validate(job_id=body["job"]["id"])
    job = client.get(f"/api/jobs/{body['job']['id']}/").json()
    assert job["status"] == "failed" and "not a PyTorch checkpoint" in job["message"]
    version = assert_unusable(body["model_version"]["id"])
    answer = client.post(f"/api/model-versions/{version.pk}/promote/")
    assert answer.status_code == 409 and "not a PyTorch checkpoint" in error_of(answer)["message"]


def test_an_upload_over_the_size_limit_is_refused_before_a_version_exists(settings, admin_user, api_client_for,
                                                                          tmp_path: Path) -> None:
    settings.MAX_CHECKPOINT_MB = 1
    big = tmp_path / "big.pt"
    big.write_bytes(b"\0" * (2 * 2**20))
    with big.open("rb") as handle:
        response = api_client_for(admin_user).post("/api/model-versions/", {"name": "big", "file": handle},
                                                   format="multipart")
    assert response.status_code == 413 and "MAX_CHECKPOINT_MB" in error_of(response)["message"]
    assert not ModelVersion.objects.filter(name="big").exists()
    payloads = [{"name": "none"}, {"name": "both", "checkpoint": "uploads/x.pt", "file": big.open("rb")}]
    for payload in payloads:
        assert api_client_for(admin_user).post("/api/model-versions/", payload,
                                               format="multipart").status_code == 400


def test_a_checkpoint_registers_into_s3_storage(s3_storage, tmp_path: Path) -> None:
    copy = tmp_path / "micro.safetensors"
    shutil.copy(shipped_weights("micro"), copy)
    summary, error = register("--name", "micro-s3", "--checkpoint", str(copy))
    assert error is None and summary["status"] == "ready"
    version = ModelVersion.objects.get(pk=summary["id"])
    assert storage.read_bytes(version.checkpoint_key) == copy.read_bytes()
    again, error = register("--name", "micro-s3-uri", "--checkpoint", f"s3://{s3_storage}/{version.checkpoint_key}")
    assert error is None and again["sha256"] == summary["sha256"]
