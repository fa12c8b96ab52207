"""Export and import services: the SA-V example files round trip exactly; bad inputs say what is wrong.

The jobs run in-process here (``import_run`` / ``export_run`` called with the Job id, as the worker
does); ``test_exchange_live.py`` runs them on a real Celery worker.
"""

from __future__ import annotations

import io
import json
import re
import zipfile
from pathlib import Path

import numpy as np
import pytest
from django.utils import timezone

from annotation.formats import davis as davis_format
from annotation.models import Masklet
from annotation.services.exports import export_run, export_start
from annotation.services.imports import import_run, import_start
from dataplatform import storage
from dataplatform.errors import ApplicationError, NotFoundError
from dataplatform.models import Job, Project, Video
from engine import rle as rle_ops

SAV_DIR = Path(__file__).resolve().parents[2].parent / "shared" / "data" / "sav_example"
MANUAL = SAV_DIR / "sav_000001_manual.json"
AUTO = SAV_DIR / "sav_000001_auto.json"

pytestmark = pytest.mark.django_db


def make_sav_video(*, name: str = "sav_000001", frame_count: int = 121, height: int = 848, width: int = 480,
                   project: Project | None = None) -> Video:
    """A ready video shaped like SA-V's sav_000001 (no frames needed for masks)."""
    project = project or Project.objects.create(name=f"exchange {Project.objects.count()}")
    return Video.objects.create(
        project=project, name=name, status=Video.Status.READY, source_uri="test", frame_count=frame_count,
        width=width, height=height, source_fps=24.0, source_frame_count=483, annotation_fps=6.0,
        duration=20.125, ready_at=timezone.now())


def upload(path: Path) -> tuple[str, io.BytesIO]:
    return path.name, io.BytesIO(path.read_bytes())


def run_import(video: Video, *uploads, **kwargs) -> Job:
    job = import_start(video=video, uploads=list(uploads), **kwargs)
    return import_run(job_id=job.pk)


def run_export(**kwargs) -> tuple[Job, zipfile.ZipFile]:
    job = export_start(**kwargs)
    job = export_run(job_id=job.pk)
    assert job.status == Job.Status.SUCCEEDED, job.message
    return job, zipfile.ZipFile(io.BytesIO(storage.read_bytes(job.result["key"])))


def assert_same_sav(exported: dict, original: dict) -> None:
    assert list(exported) == list(original)
    for key, value in original.items():
        if key == "masklet":
            continue
        assert exported[key] == value, key
        assert type(exported[key]) is type(value), key
    assert len(exported["masklet"]) == len(original["masklet"])
    for frame_out, frame_in in zip(exported["masklet"], original["masklet"], strict=True):
        assert len(frame_out) == len(frame_in)
        np.testing.assert_array_equal(rle_ops.decode_batch(frame_out), rle_ops.decode_batch(frame_in))


def test_sav_example_files_round_trip() -> None:
    video = make_sav_video()
    job = run_import(video, upload(MANUAL), upload(AUTO))
    assert job.status == Job.Status.SUCCEEDED, job.message
    assert job.result["created"] == 14
    masklets = list(Masklet.objects.filter(video=video).select_related("current_revision"))
    assert [m.kind for m in masklets] == ["manual"] * 5 + ["auto"] * 9
    assert {m.status for m in masklets} == {"accepted"}
    assert {m.current_revision.source for m in masklets} == {"import"}
    assert len(masklets[0].current_revision.masks) == 121
    assert len(masklets[5].current_revision.stability_scores) == 121

    job, archive = run_export(format="sav", video_ids=[video.pk])
    assert set(archive.namelist()) == {"sav_000001_manual.json", "sav_000001_auto.json", "labels.json",
                                       "manifest.json"}
    for name, path in (("sav_000001_manual.json", MANUAL), ("sav_000001_auto.json", AUTO)):
        assert_same_sav(json.loads(archive.read(name)), json.loads(path.read_bytes()))
    assert job.result["masklets"] == 14 and job.progress_done == job.progress_total == 1
    assert job.result["url"]


def test_import_is_one_transaction_and_not_repeated() -> None:
    video = make_sav_video()
    job = run_import(video, upload(MANUAL))
    assert Masklet.objects.filter(video=video).count() == 5
    assert import_run(job_id=job.pk) is None  # a second delivery of the task finds the job finished
    assert Masklet.objects.filter(video=video).count() == 5


def test_import_status_param_and_davis_zip_round_trip() -> None:
    video = make_sav_video(frame_count=4, height=20, width=30)
    rng = np.random.default_rng(1)
    masks = [[rng.random((20, 30)) < 0.2 for _ in range(4)] for _ in range(2)]  # objects × frames
    masks[1][2][:] = False  # object 1 absent on frame 2
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as archive:
        for f in range(4):
            archive.writestr(f"Annotations/clip/{f:05d}.png", davis_format.indexed_png([masks[0][f], masks[1][f]]))
    job = run_import(video, ("clip.zip", io.BytesIO(buf.getvalue())), status="submitted", kind="auto")
    assert job.status == Job.Status.SUCCEEDED, job.message
    rows = list(Masklet.objects.filter(video=video).select_related("current_revision"))
    assert [(m.kind, m.status) for m in rows] == [("auto", "submitted")] * 2
    # Overlaps: the later object wins in an indexed PNG.
    got0 = rle_ops.decode(rows[0].current_revision.masks["0"])
    np.testing.assert_array_equal(got0, masks[0][0] & ~masks[1][0])
    np.testing.assert_array_equal(rle_ops.decode(rows[1].current_revision.masks["1"]), masks[1][1])

    _, archive = run_export(format="davis", video_ids=[video.pk], masklets="all")
    frames = sorted(n for n in archive.namelist() if n.startswith("Annotations/"))
    assert frames == [f"Annotations/{video.name}/{f:05d}.png" for f in range(4)]
    labels = davis_format.png_array(archive.read(frames[0]))
    np.testing.assert_array_equal(labels == 2, masks[1][0])
    manifest = json.loads(archive.read("manifest.json"))
    assert manifest["videos"][0]["png_index"] == {"1": 0, "2": 1}


def test_export_selection_accepted_only_by_default() -> None:
    video = make_sav_video()
    run_import(video, upload(MANUAL))
    Masklet.objects.filter(video=video, object_number=1).update(status=Masklet.Status.REJECTED)
    _, archive = run_export(format="sav", video_ids=[video.pk], kinds=["manual"])
    assert archive.namelist() == ["sav_000001_manual.json", "labels.json", "manifest.json"]
    assert json.loads(archive.read("sav_000001_manual.json"))["masklet_num"] == 4
    _, archive = run_export(format="sav", project=video.project, masklets="all", kinds=["manual"])
    assert json.loads(archive.read("sav_000001_manual.json"))["masklet_num"] == 5


def test_export_coco_and_sav_png() -> None:
    video = make_sav_video()
    run_import(video, upload(MANUAL))
    original = json.loads(MANUAL.read_bytes())
    _, archive = run_export(format="coco", video_ids=[video.pk])
    coco = json.loads(archive.read("annotations.json"))
    assert len(coco["images"]) == 121
    visible = sum(1 for frame in original["masklet"] for rle in frame if rle_ops.area(rle) > 0)
    assert len(coco["annotations"]) == visible
    assert {a["track_id"] for a in coco["annotations"]} == {1, 2, 3, 4, 5}

    _, archive = run_export(format="sav_png", video_ids=[video.pk])
    names = [n for n in archive.namelist() if n.endswith(".png")]
    assert len(names) == 5 * 121
    # SA-V names PNGs by their 24 fps frame: annotated frame 30 is source frame 120.
    png = archive.read("Annotations_6fps/sav_000001/002/00120.png")
    np.testing.assert_array_equal(davis_format.png_array(png) > 0, rle_ops.decode(original["masklet"][30][2]))


# ---- Bad inputs: each with its message -------------------------------------------------------------


def _sav_bytes(mutate) -> bytes:
    doc = json.loads(MANUAL.read_bytes())
    mutate(doc)
    return json.dumps(doc).encode()


@pytest.mark.parametrize(("video_kwargs", "data", "message"), [
    ({"width": 640}, None, "the file's video is 480×848 (width×height), but video"),
    ({"frame_count": 120}, None, "the file annotates 121 frames, but video"),
    ({}, b"{not json", "not valid JSON"),
    ({}, "drop_keys", "missing keys: video_environment, masklet_num."),
    ({}, "bad_rle", "masklet[3][1] is not a valid COCO RLE"),
    ({}, "short_frame", "masklet[7] must be a list of masklet_num (5) RLE masks"),
    ({}, b"GIF89a....", "neither an SA-V JSON file, a label map (labels.json) nor a zip"),
])
def test_import_refuses_bad_sav_files(video_kwargs, data, message) -> None:
    video = make_sav_video(**video_kwargs)
    if data is None:
        data = MANUAL.read_bytes()
    elif data == "drop_keys":
        data = _sav_bytes(lambda d: [d.pop("masklet_num"), d.pop("video_environment")] and None)
    elif data == "bad_rle":
        data = _sav_bytes(lambda d: d["masklet"][3][1].update(counts="0" * 50))
    elif data == "short_frame":
        data = _sav_bytes(lambda d: d["masklet"][7].pop())
    with pytest.raises(ApplicationError, match=re.escape(message)):
        import_start(video=video, uploads=[("x_manual.json", io.BytesIO(data))])
    assert not Job.objects.exists()


def test_import_refuses_video_not_ready_and_bad_zip() -> None:
    video = make_sav_video()
    with pytest.raises(ApplicationError, match="at most one manual and one auto"):
        import_start(video=video, uploads=[upload(MANUAL), upload(MANUAL)])
    job = import_start(video=video, uploads=[("broken.zip", io.BytesIO(b"PK\x03\x04 not really a zip"))])
    job = import_run(job_id=job.pk)
    assert job.status == Job.Status.FAILED
    assert "not a readable zip file" in job.message
    assert not Masklet.objects.exists()
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as archive:
        archive.writestr("clip/00000.png", davis_format.indexed_png([np.ones((848, 480), dtype=bool)]))
    job = import_run(job_id=import_start(video=video, uploads=[("one.zip", buf)]).pk)
    assert job.status == Job.Status.FAILED
    assert "the zip has 1 frames, but video" in job.message
    Video.objects.filter(pk=video.pk).update(status=Video.Status.INGESTING, ready_at=None)
    video.refresh_from_db()
    with pytest.raises(ApplicationError, match="is not ready"):
        import_start(video=video, uploads=[upload(MANUAL)])


def test_export_refuses_bad_requests() -> None:
    video = make_sav_video()
    with pytest.raises(ApplicationError, match="format must be one of"):
        export_start(format="yaml", video_ids=[video.pk])
    with pytest.raises(NotFoundError, match="No video with id 999999"):
        export_start(format="sav", video_ids=[video.pk, 999999])
    with pytest.raises(ApplicationError, match="either a project or a list of videos"):
        export_start(format="sav")
    with pytest.raises(ApplicationError, match="kinds must list"):
        export_start(format="sav", video_ids=[video.pk], kinds=["robot"])


def test_sav_png_export_imports_back_into_another_video() -> None:
    source = make_sav_video()
    run_import(source, upload(MANUAL))
    _, archive = run_export(format="sav_png", video_ids=[source.pk])
    pngs = io.BytesIO()
    with zipfile.ZipFile(pngs, "w") as out:
        for name in archive.namelist():
            if name.endswith(".png"):
                out.writestr(name, archive.read(name))
    target = make_sav_video(name="copy", project=source.project)
    job = run_import(target, ("pngs.zip", pngs))
    assert job.status == Job.Status.SUCCEEDED, job.message
    original = json.loads(MANUAL.read_bytes())["masklet"]
    rows = list(Masklet.objects.filter(video=target).select_related("current_revision"))
    assert [m.object_number for m in rows] == [0, 1, 2, 3, 4]
    for o, row in enumerate(rows):
        for f in (0, 50, 113, 120):
            np.testing.assert_array_equal(rle_ops.decode(row.current_revision.masks[str(f)]),
                                          rle_ops.decode(original[f][o]))


def test_export_of_a_project_names_each_video_folder_once() -> None:
    first = make_sav_video(name="same name")
    make_sav_video(name="same name", project=first.project)
    job, archive = run_export(format="coco", project=first.project, masklets="all")
    manifest = json.loads(archive.read("manifest.json"))
    folders = [v["folder"] for v in manifest["videos"]]
    assert folders[0] == "same_name" and folders[1].startswith("same_name_") and len(set(folders)) == 2
    assert (job.progress_done, job.progress_total) == (2, 2)
