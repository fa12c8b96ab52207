"""``manage.py ingest``: in-process ingest of local files, one JSON line each, progress on stderr."""

from __future__ import annotations

import io
import json
from pathlib import Path

import pytest
from django.core.management import CommandError, call_command

from dataplatform import storage
from dataplatform.media.synth import write_video
from dataplatform.models import Job, Project, Video

VIDEOS = Path(__file__).resolve().parents[2].parent / "shared" / "data" / "videos"
pytestmark = pytest.mark.django_db


def run(*args: str, **options) -> tuple[list[dict], str, CommandError | None]:
    out, err = io.StringIO(), io.StringIO()
    error = None
    try:
        call_command("ingest", *args, stdout=out, stderr=err, **options)
    except CommandError as caught:
        error = caught
    return [json.loads(line) for line in out.getvalue().splitlines()], err.getvalue(), error


def test_ingests_real_videos_into_a_new_project(s3_storage) -> None:
    lines, stderr, error = run(str(VIDEOS / "02_cups.mp4"), str(VIDEOS / "bedroom.mp4"), project="Kitchen")

    assert error is None
    project = Project.objects.get(name="Kitchen")
    cups, bedroom = (Video.objects.get(pk=line["id"]) for line in lines)
    assert lines[0] == {"id": cups.pk, "name": "02_cups.mp4", "status": "ready", "source_fps": cups.source_fps,
                        "source_frame_count": 300, "frame_count": 61, "width": 1280, "height": 720,
                        "message": ""}
    assert cups.source_fps == pytest.approx(29.97, abs=1e-3)
    assert (lines[1]["frame_count"], lines[1]["width"], lines[1]["height"]) == (40, 960, 540)
    assert cups.project == bedroom.project == project
    assert storage.exists(storage.frame_key(cups.pk, 60))
    assert "100%" in stderr and "300/300" in stderr  # the progress bar reached the end
    assert Job.objects.filter(video=cups, status=Job.Status.SUCCEEDED).count() == 1


def test_fps_option_overrides_the_project_rate(tmp_path: Path) -> None:
    path = tmp_path / "clip.mp4"
    write_video(path, fps=24, frames=48)
    lines, _, error = run(str(path), "--fps", "3", "--no-progress")
    assert error is None and lines[0]["frame_count"] == 6  # 2 s at 3 fps: every 8th frame
    assert Video.objects.get(pk=lines[0]["id"]).annotation_fps == 3.0
    assert Project.objects.get(name="Default").annotation_fps == 6.0  # the project is unchanged


def test_bad_files_get_their_line_and_the_command_fails(tmp_path: Path) -> None:
    notes = tmp_path / "notes.txt"
    notes.write_text("not a video\n" * 10)
    full = tmp_path / "full.mp4"
    write_video(full, fps=30, frames=60, faststart=True)
    cut = tmp_path / "cut.mp4"
    cut.write_bytes(full.read_bytes()[: full.stat().st_size // 2])
    good = tmp_path / "good.mp4"
    write_video(good, fps=30, frames=30)

    lines, _, error = run(str(notes), str(cut), str(tmp_path / "missing.mp4"), str(good), "--no-progress")

    assert [line["status"] for line in lines] == ["rejected", "failed", "rejected", "ready"]
    assert lines[0]["id"] is None and "text file" in lines[0]["message"]
    assert "the file is truncated" in lines[1]["message"]
    assert Video.objects.get(pk=lines[1]["id"]).status == Video.Status.FAILED
    assert not storage.exists(storage.frame_key(lines[1]["id"], 0))
    assert lines[2]["message"] == "No file named 'missing.mp4' was found."
    assert str(error) == "3 of 4 video(s) could not be ingested (see their messages)."
    assert lines[3]["frame_count"] == 6


def test_an_absurd_fps_is_refused() -> None:
    with pytest.raises(CommandError, match="--fps must be between 0 and 120"):
        call_command("ingest", "x.mp4", "--fps", "0", stdout=io.StringIO())
