"""``make screenshots``: every README screenshot is taken from a live demo through real actions (a
first project made through the admin screens, a real worker, the shipped model, real clicks and
propagation, a review, a COCO export), and nothing it started outlives it."""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from browser_harness.chromium import CHROMIUM, DIST_INDEX
from browser_harness.screenshots import SHOTS, VIEWPORT, take_screenshots
from tests.services import REQUIRE_SERVICES


def processes_of(var_dir: Path) -> list[int]:
    """Live processes whose environment points at this demo's folder (the demo, its worker, its pool)."""
    marker = f"MASKLET_VAR_DIR={var_dir}".encode()
    pids = []
    for entry in Path("/proc").iterdir():
        try:
            if entry.name.isdigit() and marker in (entry / "environ").read_bytes().split(b"\0"):
                state = (entry / "stat").read_text().rsplit(")", 1)[1].split()[0]
                if state != "Z":
                    pids.append(int(entry.name))
        except OSError:  # gone meanwhile, or not ours to read
            continue
    return pids


def in_own_thread(function: Callable[..., dict], *args, **kwargs) -> dict:
    """``function``'s result, run in a thread of its own: Playwright's sync API refuses a thread where an
    asyncio loop runs, as the browser tests' session-wide Playwright leaves one in the main thread."""
    outcome: dict[str, object] = {}

    def run() -> None:
        try:
            outcome["value"] = function(*args, **kwargs)
        except BaseException as error:  # noqa: BLE001 - re-raised in the test's thread
            outcome["error"] = error

    thread = threading.Thread(target=run, name="screenshots")
    thread.start()
    thread.join()
    if "error" in outcome:
        raise outcome["error"]  # type: ignore[misc]
    return outcome["value"]  # type: ignore[return-value]


@pytest.fixture
def screenshot_tools() -> None:
    why = None
    if not DIST_INDEX.is_file():
        why = "the web UI is not built: `make frontend`"
    elif not Path(CHROMIUM).is_file():
        why = f"no Chromium at {CHROMIUM}: `apt-get install chromium` (or set CHROMIUM)"
    if why and REQUIRE_SERVICES:
        pytest.fail(f"Screenshots cannot be taken: {why}")
    if why:
        pytest.skip(why)


@pytest.mark.slow
@pytest.mark.browser
@pytest.mark.timeout(600)
def test_screenshots_come_from_real_actions_on_a_live_demo(screenshot_tools, tmp_path: Path) -> None:
    lines: list[str] = []
    written = in_own_thread(take_screenshots, tmp_path / "png", workdir=tmp_path / "work", log=lines.append)

    assert list(written) == [shot.name for shot in SHOTS], "\n".join(lines)
    for name, path in written.items():
        pixels = np.asarray(Image.open(path).convert("RGB"))
        height, width, _ = pixels.shape
        assert width == VIEWPORT["width"] and height >= 600, (name, pixels.shape)
        assert pixels.std() > 20 and len(np.unique(pixels.reshape(-1, 3), axis=0)) > 500, f"{name} is nearly blank"

    # What the pages show was made by the clicks: read the demo's own database.
    database = sqlite3.connect(tmp_path / "work" / "var" / "masklet.sqlite3")
    clicks = database.execute("SELECT COUNT(*) FROM annotation_interaction WHERE kind = 'click+'").fetchone()[0]
    masklets = database.execute("SELECT status, COUNT(*) FROM annotation_masklet GROUP BY status").fetchall()
    jobs = database.execute("SELECT kind, status FROM dataplatform_job WHERE kind IN ('propagation', 'ingest') "
                            "AND status = 'succeeded'").fetchall()
    uploaded = database.execute("SELECT status FROM dataplatform_video WHERE name = 'synthetic-14.mp4'").fetchall()
    versions = database.execute("SELECT name, config_name FROM annotation_modelversion").fetchall()
    label_set = database.execute("SELECT l.name FROM annotation_label l JOIN dataplatform_project p "
                                 "ON l.project_id = p.id WHERE p.name = 'Shapes' ORDER BY l.name").fetchall()
    labelled = database.execute("SELECT l.name FROM annotation_masklet m JOIN annotation_label l ON m.label_id = l.id "
                                "ORDER BY l.name").fetchall()
    notes = database.execute("SELECT COUNT(*) FROM annotation_reviewcomment").fetchone()[0]
    exports = database.execute("SELECT kind, status FROM dataplatform_job WHERE kind IN ('export', 'model_evaluation') "
                               "ORDER BY kind").fetchall()
    database.close()
    assert clicks == 2 and masklets == [("accepted", 2)], (clicks, masklets)
    assert ("propagation", "succeeded") in jobs and uploaded == [("ready",)], (jobs, uploaded)
    assert [config for _name, config in versions] == ["micro"], versions
    # The first project: its label set, each object with the label of its shape, a note, the export.
    assert label_set == [("blob",), ("ellipse",), ("star",)], label_set
    assert labelled == [("blob",), ("star",)], labelled
    assert notes == 1 and exports == [("export", "succeeded"), ("model_evaluation", "succeeded")], (notes, exports)

    assert processes_of((tmp_path / "work" / "var").resolve()) == [], "the demo or its worker outlived the command"
