"""The worker's local copies of checkpoints are never stale: a checkpoint replaced at its key, the
same key in another storage, or a version number seen again after a database reset each get the
right weights (before, the copy was named after the key alone and a flywheel run on a fresh
database annotated with the weights of an earlier run's "micro-round-1")."""

from __future__ import annotations

import tempfile
from pathlib import Path

import pytest

from dataplatform import storage
from workers.sessions import _checkpoint_path, model_spec


@pytest.fixture(autouse=True)
def private_tempdir(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Path:
    folder = tmp_path / "tmp"
    folder.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(folder))
    return folder


def _replace(key: str, data: bytes) -> None:
    storage.delete_keys([key])
    storage.put_bytes(key, data)


def _copy_of(key: str) -> bytes:
    return Path(_checkpoint_path(key)).read_bytes()


@pytest.mark.parametrize("backend", ["folder", "s3"])
def test_a_checkpoint_replaced_at_its_key_is_fetched_again(backend: str, request: pytest.FixtureRequest) -> None:
    if backend == "s3":
        request.getfixturevalue("s3_storage")
    key = "models/imported-sam2/model.safetensors"  # a key an admin chose, written twice
    storage.put_bytes(key, b"first weights")
    assert _copy_of(key) == b"first weights"
    assert _copy_of(key) == b"first weights"  # the copy is reused while the file is the same
    _replace(key, b"second, longer weights")
    assert _copy_of(key) == b"second, longer weights"


def test_the_same_key_in_another_storage_is_another_checkpoint(settings, tmp_path: Path) -> None:
    key = "models/micro-round-1/model.safetensors"
    storage.put_bytes(key, b"deployment A")
    assert _copy_of(key) == b"deployment A"
    other = tmp_path / "other-media"
    other.mkdir()
    settings.MEDIA_ROOT = other
    settings.STORAGES = {**settings.STORAGES, "default": {
        "BACKEND": "django.core.files.storage.FileSystemStorage", "OPTIONS": {"location": str(other)}}}
    storage.put_bytes(key, b"deployment B")
    assert _copy_of(key) == b"deployment B"


def test_every_stored_checkpoint_gets_a_new_key_and_the_model_cache_keys_on_it() -> None:
    first, second = storage.checkpoint_key("micro-round-1"), storage.checkpoint_key("micro-round-1")
    assert first != second
    assert first.startswith("models/micro-round-1/") and first.endswith("/model.safetensors")
    # Version 1 before and after a database reset: two models for the worker's cache.
    assert model_spec(version_id=1, config_name="micro", checkpoint_key=first).key != model_spec(
        version_id=1, config_name="micro", checkpoint_key=second).key
