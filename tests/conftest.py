"""Suite-wide fixtures: the real services (PostgreSQL, Redis, an S3 endpoint over HTTP, a real
Celery worker) and per-test media folders.

A missing service is a loud warning; with REQUIRE_SERVICES=1 (as CI sets) it fails the run.

Fixtures:
- ``media_root`` (autouse): each test writes local media to its own temporary folder.
- ``s3_server``: a moto S3 server over HTTP on a free local port (session).
- ``s3_storage``: switches Django's default storage to S3 on that server, with a fresh bucket.
- ``celery_worker``: a real ``celery worker`` process on Redis, on the test database and the S3
  server (session). Tests that use it must commit their rows: use ``live_platform``.
- ``live_platform``: transactional database + S3 storage + the running worker, as production.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
import time
import uuid
import warnings
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.services import REQUIRE_SERVICES, missing_services

REPO_ROOT = Path(__file__).resolve().parents[1]
SHARED_DATA = REPO_ROOT.parent / "shared" / "data"


def pytest_sessionstart(session: pytest.Session) -> None:
    missing = missing_services()
    if not missing:
        return
    lines = "\n".join(f"  - {name}: {why}" for name, why in missing.items())
    message = (f"\n\n*** Services missing for the test suite ***\n{lines}\n"
               "Start them (see the README, 'Running the tests') or tests that need them will fail.\n")
    if REQUIRE_SERVICES:
        pytest.exit(message + "REQUIRE_SERVICES=1: failing the run.", returncode=3)
    warnings.warn(message, stacklevel=1)
    sys.stderr.write(message)


@pytest.fixture(autouse=True)
def media_root(settings, tmp_path: Path) -> Path:
    root = tmp_path / "media"
    root.mkdir()
    settings.MEDIA_ROOT = root
    settings.STORAGES = {
        **settings.STORAGES,
        "default": {"BACKEND": "django.core.files.storage.FileSystemStorage",
                    "OPTIONS": {"location": str(root), "base_url": "/media/"}},
    }
    return root


@pytest.fixture(scope="session")
def shared_data() -> Path:
    if not SHARED_DATA.is_dir():
        pytest.fail(f"The shared test data folder is missing: {SHARED_DATA}")
    return SHARED_DATA


# ---- S3 over HTTP -----------------------------------------------------------------------------

@pytest.fixture(scope="session")
def s3_server() -> Iterator[str]:
    """A moto S3 server in server mode (real HTTP) on a free local port; yields its endpoint URL."""
    from moto.server import ThreadedMotoServer

    os.environ.setdefault("AWS_ACCESS_KEY_ID", "testing")
    os.environ.setdefault("AWS_SECRET_ACCESS_KEY", "testing")
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    try:
        yield f"http://{host}:{port}"
    finally:
        server.stop()


def s3_settings_for(endpoint: str, bucket: str) -> dict[str, object]:
    return {
        "bucket_name": bucket,
        "endpoint_url": endpoint,
        "region_name": "us-east-1",
        "access_key": "testing",
        "secret_key": "testing",
        "querystring_auth": True,
        "querystring_expire": 600,
        "file_overwrite": True,
        "default_acl": None,
        "signature_version": "s3v4",
        "addressing_style": "path",
    }


def create_bucket(endpoint: str, bucket: str) -> None:
    import boto3

    client = boto3.client("s3", endpoint_url=endpoint, region_name="us-east-1",
                          aws_access_key_id="testing", aws_secret_access_key="testing")
    client.create_bucket(Bucket=bucket)


@pytest.fixture
def s3_storage(settings, s3_server: str) -> str:
    """Default storage on the S3 server, in a fresh bucket; returns the bucket name."""
    bucket = f"masklet-test-{uuid.uuid4().hex[:10]}"
    create_bucket(s3_server, bucket)
    settings.STORAGE_BACKEND = "s3"
    settings.S3_BUCKET = bucket
    settings.S3_ENDPOINT_URL = s3_server
    settings.S3_ACCESS_KEY_ID = "testing"
    settings.S3_SECRET_ACCESS_KEY = "testing"
    settings.STORAGES = {**settings.STORAGES, "default": {"BACKEND": "storages.backends.s3.S3Storage",
                                                          "OPTIONS": s3_settings_for(s3_server, bucket)}}
    return bucket


# ---- A real Celery worker -------------------------------------------------------------------------

WORKER_BUCKET = "masklet-worker"


def _redis_flush(url: str) -> None:
    import redis

    redis.Redis.from_url(url).flushdb()


@pytest.fixture(scope="session")
def celery_worker(django_db_setup, django_db_blocker, s3_server: str) -> Iterator[subprocess.Popen]:
    """A real ``celery worker`` process (queues cpu and gpu) on Redis, the test database and S3."""
    from django.conf import settings as django_settings

    from dataplatform.processes import start_celery_worker, stop_process_group, wait_for_worker
    from tests.services import url_reachable

    broker = os.environ["CELERY_BROKER_URL"]
    if not url_reachable(broker, 6379):
        pytest.fail(f"The Celery worker needs Redis at {broker}, and nothing answers there.")
    _redis_flush(broker)
    create_bucket(s3_server, WORKER_BUCKET)

    db = django_settings.DATABASES["default"]
    database_url = (f"postgres://{db['USER']}:{db['PASSWORD']}@{db['HOST'] or '127.0.0.1'}:"
                    f"{db['PORT'] or 5432}/{db['NAME']}")
    var_dir = Path(tempfile.mkdtemp(prefix="masklet-worker-"))
    env = {
        **os.environ,
        "DATABASE_URL": database_url,
        "CELERY_BROKER_URL": broker,
        "MASKLET_VAR_DIR": str(var_dir),
        "STORAGE_BACKEND": "s3",
        "S3_BUCKET": WORKER_BUCKET,
        "S3_ENDPOINT_URL": s3_server,
        "S3_ACCESS_KEY_ID": "testing",
        "S3_SECRET_ACCESS_KEY": "testing",
        "PYTHONUNBUFFERED": "1",
    }
    log_path = var_dir / "worker.log"
    log = open(log_path, "w")  # noqa: SIM115 - closed at teardown
    hostname = f"test-worker-{uuid.uuid4().hex[:6]}@%h"
    proc = start_celery_worker(hostname=hostname, env=env, log=log, loglevel="INFO")
    if not wait_for_worker(proc, timeout=60):
        proc.kill()
        pytest.fail(f"The Celery worker did not start (exit code {proc.poll()}):\n{log_path.read_text()[-4000:]}")
    proc.log_path = log_path  # type: ignore[attr-defined]
    try:
        yield proc
    finally:
        stop_process_group(proc)
        log.close()
        shutil.rmtree(var_dir, ignore_errors=True)


@pytest.fixture
def live_platform(transactional_db, settings, s3_server: str, celery_worker) -> subprocess.Popen:
    """Committed rows, S3 storage shared with the running worker: the production arrangement."""
    settings.STORAGE_BACKEND = "s3"
    settings.S3_BUCKET = WORKER_BUCKET
    settings.S3_ENDPOINT_URL = s3_server
    settings.S3_ACCESS_KEY_ID = "testing"
    settings.S3_SECRET_ACCESS_KEY = "testing"
    settings.STORAGES = {**settings.STORAGES, "default": {"BACKEND": "storages.backends.s3.S3Storage",
                                                          "OPTIONS": s3_settings_for(s3_server, WORKER_BUCKET)}}
    return celery_worker


def wait_for(predicate, *, timeout: float = 60.0, interval: float = 0.2, what: str = "condition"):
    """Poll ``predicate`` until it returns something truthy; fail with ``what`` after ``timeout``."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(interval)
    pytest.fail(f"Timed out after {timeout:.0f} s waiting for {what}")
