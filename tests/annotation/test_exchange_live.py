"""End to end on the production arrangement: the API queues the jobs, a real Celery worker runs them,
the export is downloaded over HTTP from the S3 server with its presigned URL."""

from __future__ import annotations

import io
import json
import zipfile

import numpy as np
import pytest
import requests
from django.core.files.uploadedfile import SimpleUploadedFile

from annotation.models import Masklet
from dataplatform.models import Job
from engine import rle as rle_ops
from tests.annotation.test_exchange import AUTO, MANUAL, make_sav_video
from tests.conftest import wait_for

pytestmark = pytest.mark.slow


def _finished(job_id: int) -> Job | None:
    job = Job.objects.get(pk=job_id)
    return job if job.is_terminal else None


def test_import_and_export_on_a_real_worker(live_platform, admin_user, api_client_for) -> None:
    client = api_client_for(admin_user)
    video = make_sav_video()
    files = [SimpleUploadedFile(p.name, p.read_bytes(), "application/json") for p in (MANUAL, AUTO)]
    response = client.post(f"/api/videos/{video.pk}/imports/", {"file": files}, format="multipart")
    assert response.status_code == 202, response.content
    job = wait_for(lambda: _finished(response.json()["id"]), timeout=120, what="the import job")
    assert job.status == Job.Status.SUCCEEDED, job.message
    assert job.celery_task_id
    assert Masklet.objects.filter(video=video, kind="manual", status="accepted").count() == 5
    assert Masklet.objects.filter(video=video, kind="auto", status="accepted").count() == 9

    response = client.post("/api/exports/", {"format": "sav", "project": video.project_id}, format="json")
    assert response.status_code == 202, response.content
    job = wait_for(lambda: _finished(response.json()["id"]), timeout=120, what="the export job")
    assert job.status == Job.Status.SUCCEEDED, job.message
    assert (job.progress_done, job.progress_total) == (1, 1)
    url = client.get(f"/api/jobs/{job.pk}/").json()["result"]["url"]
    assert url.startswith("http://") and "Signature" in url
    download = requests.get(url, timeout=30)
    assert download.status_code == 200
    archive = zipfile.ZipFile(io.BytesIO(download.content))
    for path in (MANUAL, AUTO):
        original = json.loads(path.read_bytes())
        exported = json.loads(archive.read(path.name))
        assert {k: v for k, v in exported.items() if k != "masklet"} == \
            {k: v for k, v in original.items() if k != "masklet"}
        for f in (0, 60, 120):
            np.testing.assert_array_equal(rle_ops.decode_batch(exported["masklet"][f]),
                                          rle_ops.decode_batch(original["masklet"][f]))
    fresh = client.get(f"/api/exports/{job.pk}/download/").json()["url"]
    assert requests.get(fresh, timeout=30).content == download.content
