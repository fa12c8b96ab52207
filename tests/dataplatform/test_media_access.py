"""Media by authorization only: /media/ serves a file only for a link the API signed for exactly
that file, until it expires; the API hands links only to users who may read the file.

Frames, thumbnails, uploaded sources and export zips are stored as the platform stores them;
requests come from an anonymous client (a link is the authorization, as on S3).
"""

from __future__ import annotations

import io
import time
import types
import zipfile
from urllib.parse import parse_qs, urlencode, urlparse

import pytest
from django.test import Client
from django.utils import timezone
from PIL import Image

from dataplatform import storage
from dataplatform.models import Job, Video
from tests.dataplatform.conftest import error_of

pytestmark = pytest.mark.django_db


def jpeg(shade: int) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (8, 6), (shade, shade, shade)).save(out, format="JPEG")
    return out.getvalue()


def export_zip() -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as archive:
        archive.writestr("manifest.json", "{}")
    return out.getvalue()


@pytest.fixture
def stored(video_factory):
    """A ready video with 3 frames, a thumbnail and its uploaded source; a finished export."""
    video = video_factory(ready=True, source_kind=Video.SourceKind.UPLOAD)
    frames = [storage.put_bytes(storage.frame_key(video.pk, i), jpeg(40 * i)) for i in range(3)]
    thumbnail = storage.put_bytes(storage.thumbnail_key(video.pk), jpeg(200))
    source = storage.put_bytes(storage.source_key(video.pk, "clip.mp4"), b"the uploaded video")
    Video.objects.filter(pk=video.pk).update(thumbnail_key=thumbnail, source_uri=source)
    job = Job.objects.create(kind=Job.Kind.EXPORT, status=Job.Status.SUCCEEDED, finished_at=timezone.now())
    export = storage.put_bytes(storage.export_key(job.pk, "masklets.zip"), export_zip())
    job.result = {"key": export, "filename": "masklets.zip", "size_bytes": len(export_zip())}
    job.save()
    return types.SimpleNamespace(video=video, job=job, frames=frames, thumbnail=thumbnail, source=source,
                                 export=export)


def fetch(url: str, **kwargs):
    return Client().get(url, **kwargs)


def body_of(response) -> bytes:
    return b"".join(response.streaming_content)


def assert_refused(response) -> None:
    assert response.status_code == 403
    assert error_of(response)["code"] == "forbidden"


def with_query(url: str, **changes: str | None) -> str:
    parsed = urlparse(url)
    query = {k: v[0] for k, v in parse_qs(parsed.query).items()}
    query.update(changes)
    return f"{parsed.path}?{urlencode({k: v for k, v in query.items() if v is not None})}"


# ---- nothing without a signed link -------------------------------------------------------------


@pytest.mark.parametrize("kind", ["frame", "thumbnail", "source", "export"])
def test_a_bare_media_path_is_refused_for_every_kind_of_file(stored, kind) -> None:
    key = {"frame": stored.frames[0], "thumbnail": stored.thumbnail, "source": stored.source,
           "export": stored.export}[kind]
    assert_refused(fetch(f"/media/{key}"))
    # the guessable path of an export (it follows from the job id) tells nothing either
    assert_refused(fetch(f"/media/exports/{stored.job.pk}/masklets.zip?expires=99999999999&signature=x"))


def test_a_path_that_stores_nothing_is_refused_the_same_way(stored) -> None:
    assert_refused(fetch("/media/videos/424242/frames/00000.jpg"))  # no hint whether a file is there


# ---- links from the API work, for whoever holds them until they expire ---------------------------


def test_frame_and_thumbnail_links_from_the_api_serve_the_files(stored, annotator, api_client_for) -> None:
    api = api_client_for(annotator)
    detail = api.get(f"/api/videos/{stored.video.pk}/").json()
    assert len(detail["frame_urls"]) == 3
    for index, url in enumerate(detail["frame_urls"]):
        response = fetch(url)
        assert response.status_code == 200 and response["Content-Type"] == "image/jpeg"
        assert body_of(response) == jpeg(40 * index)
    listed = api.get("/api/videos/").json()["results"][0]
    response = fetch(listed["thumbnail_url"])
    assert response.status_code == 200 and body_of(response) == jpeg(200)
    assert response["Cache-Control"].startswith("private, max-age=")


def test_an_export_link_from_the_download_api_serves_the_zip(stored, admin_user, api_client_for) -> None:
    download = api_client_for(admin_user).get(f"/api/exports/{stored.job.pk}/download/")
    assert download.status_code == 200
    response = fetch(download.json()["url"])
    assert response.status_code == 200 and response["Content-Type"] == "application/zip"
    assert response["Content-Disposition"] == 'attachment; filename="masklets.zip"'
    assert zipfile.ZipFile(io.BytesIO(body_of(response))).namelist() == ["manifest.json"]


def test_no_endpoint_hands_out_a_link_to_an_uploaded_source(stored, admin_user, api_client_for) -> None:
    api = api_client_for(admin_user)
    answers = [api.get(f"/api/videos/{stored.video.pk}/").content, api.get("/api/videos/").content,
               api.get(f"/api/projects/{stored.video.project_id}/videos/").content]
    assert all(b"/source/" not in answer for answer in answers)


def test_links_last_s3_presigned_expiry_seconds_and_are_refused_after(stored, settings, annotator,
                                                                      api_client_for, monkeypatch) -> None:
    settings.S3_PRESIGNED_EXPIRY = 90
    before = time.time()
    url = api_client_for(annotator).get(f"/api/videos/{stored.video.pk}/").json()["frame_urls"][1]
    expires = int(parse_qs(urlparse(url).query)["expires"][0])
    assert before + 90 <= expires <= time.time() + 91

    monkeypatch.setattr(storage, "time", types.SimpleNamespace(time=lambda: expires - 1))
    assert fetch(url).status_code == 200
    monkeypatch.setattr(storage, "time", types.SimpleNamespace(time=lambda: expires + 1))
    response = fetch(url)
    assert_refused(response)
    assert "expired" in error_of(response)["message"]


# ---- tampered links ------------------------------------------------------------------------------


def test_tampered_links_are_refused(stored, annotator, api_client_for) -> None:
    frame_urls = api_client_for(annotator).get(f"/api/videos/{stored.video.pk}/").json()["frame_urls"]
    url = frame_urls[0]
    signature = parse_qs(urlparse(url).query)["signature"][0]
    expires = int(parse_qs(urlparse(url).query)["expires"][0])
    forged = "A" if signature[-1] != "A" else "B"
    tampered = [
        with_query(url, signature=signature[:-1] + forged),  # a changed signature
        with_query(url, expires=str(expires + 3600)),  # a later expiry, same signature
        with_query(url, signature=None),
        with_query(url, expires=None),
        with_query(url, expires="-1"),
        url.replace(stored.frames[0], stored.frames[1]),  # frame 0's signature on frame 1
        url.replace(stored.frames[0], stored.source),  # ... on the uploaded source
        url.replace(stored.frames[0], stored.export),  # ... on an export
    ]
    for link in tampered:
        assert_refused(fetch(link))
    assert fetch(url).status_code == 200  # the untouched link still works


# ---- who may obtain a link -----------------------------------------------------------------------


def test_only_admins_obtain_an_export_link(stored, user_factory, api_client_for, anon_client) -> None:
    for role in ["annotator", "reviewer"]:
        api = api_client_for(user_factory(role))
        assert api.get(f"/api/exports/{stored.job.pk}/download/").status_code == 403
        assert api.get(f"/api/jobs/{stored.job.pk}/").status_code == 404  # nor through the job's result
        assert stored.export not in api.get("/api/jobs/").content.decode()
    assert anon_client.get(f"/api/exports/{stored.job.pk}/download/").status_code == 401


def test_users_without_a_role_obtain_no_frame_link(stored, user_factory, api_client_for, anon_client) -> None:
    assert api_client_for(user_factory(None)).get(f"/api/videos/{stored.video.pk}/").status_code == 403
    assert anon_client.get(f"/api/videos/{stored.video.pk}/").status_code == 401


# ---- what a valid signature still does not open ---------------------------------------------------


def test_a_signed_link_outside_the_media_folder_is_not_found(media_root) -> None:
    (media_root.parent / "secret.txt").write_text("not media")
    for key in ["../secret.txt", "videos/../../secret.txt", "/etc/hostname", "videos/1/frames/"]:
        response = fetch(storage.url_for(key))
        assert response.status_code == 404, key
        assert error_of(response)["code"] == "not_found"


def test_a_signed_link_to_a_deleted_file_is_not_found(stored) -> None:
    url = storage.url_for(stored.frames[2])
    storage.delete_keys([stored.frames[2]])
    assert fetch(url).status_code == 404


def test_media_links_only_read(stored) -> None:
    url = storage.url_for(stored.frames[0])
    assert Client().post(url).status_code == 405
    assert Client().head(url).status_code == 200


def test_on_s3_links_go_to_the_bucket_and_media_serves_nothing(stored, s3_storage) -> None:
    key = storage.put_bytes(storage.frame_key(stored.video.pk, 0), jpeg(0))
    url = storage.url_for(key)
    assert "X-Amz-Signature=" in url and not url.startswith("/media/")
    assert_refused(fetch(f"/media/{key}"))
