"""``python -m browser_harness.screenshots`` (``make screenshots``): the README's screenshots, taken
from a live demo.

It starts the embedded demo in a temporary folder (``manage.py demo``: SQLite, the filesystem
broker, a real Celery worker, the shipped model and the demo's synthetic videos), then drives
Debian's Chromium through a first project as the demo users would: the admin creates a project
with a label set, uploads a synthetic video to it and queues a task for the annotator; the
annotator adds labelled objects, clicks on them, propagates and submits; the reviewer plays a
submitted masklet, pins a note to a frame and accepts the masklets; the admin exports the project
as COCO, downloads the zip (checked: its categories are the labels) and looks at the metrics and
the model versions, with whatever those actions produced. Nothing is seeded: every row comes from
a click. It writes one PNG per :data:`SHOTS` entry and stops
everything it started.

Adding a page: write a ``take_*`` function (it gets the :class:`Tour` and returns the page to
capture) and add a :class:`Shot` to :data:`SHOTS`, in the order the tour needs (a shot may rely on
the actions of the shots before it). Select by role, label and text (what a user sees), never by
CSS paths. Each shot's caption goes under its image in the README (``tests/test_readme.py`` checks).
"""

from __future__ import annotations

import argparse
import json
import re
import sys
import tempfile
import time
import zipfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from browser_harness.canvas import canvas_point
from browser_harness.chromium import CHROMIUM, CHROMIUM_ARGS, DIST_INDEX, REPO_ROOT
from browser_harness.demo import DemoServer

DOCS = REPO_ROOT / "docs" / "screenshots"
VIEWPORT = {"width": 1280, "height": 860}
SLOW = 180_000  # ms: the first session loads the model on the worker; propagation runs on its CPU
LOGINS = {"annotator": "annotator-demo", "reviewer": "reviewer-demo", "admin": "admin-demo"}  # bootstrap --demo
CLICKED_OBJECTS = 2  # the annotator segments this many objects of the task's video (fewer if it has fewer)
UPLOAD_SEED = 14  # the synthetic video the admin uploads (not one of the demo's own)
UPLOAD_FRAMES = 48
PROJECT = "Shapes"  # the first project, which the admin creates
LABELS = {"ellipse": "#1f77b4", "star": "#d62728", "blob": "#2ca02c"}  # its label set: name, colour
SHAPE_LABELS = {"ellipse": "ellipse", "polygon": "star", "blob": "blob"}  # a synthetic shape's label
NOTE = "Edges checked on this frame."  # the reviewer's note


@dataclass
class Tour:
    """One walk through the live demo: the browser, the demo's address, what the shots did so far."""

    browser: object
    base_url: str
    workdir: Path
    facts: dict = field(default_factory=dict)  # e.g. the task and masklets the annotator made
    log: Callable[[str], None] = print
    started: float = field(default_factory=time.monotonic)
    pages: dict = field(default_factory=dict)  # each demo user's page, kept open through the tour

    def step(self, what: str) -> None:
        self.log(f"  {time.monotonic() - self.started:5.0f} s  {what}")

    def page_as(self, username: str):
        """The demo user's page: a browser context logged in through the login screen on first use."""
        if username in self.pages:
            return self.pages[username]
        context = self.browser.new_context(base_url=self.base_url, viewport=VIEWPORT, accept_downloads=True)
        context.set_default_timeout(30_000)
        page = context.new_page()
        errors: list[str] = []
        page.on("pageerror", lambda error: errors.append(str(error)))
        page.on("dialog", lambda dialog: dialog.accept())  # "Submit this task's masklets for review?"
        page.errors = errors
        self.pages[username] = page
        page.goto("/app/login")
        page.get_by_label("Username").fill(username)
        page.get_by_label("Password").fill(LOGINS[username])
        page.get_by_role("button", name="Log in").click()
        page.get_by_role("button", name="Log out").wait_for()
        return page


@dataclass(frozen=True)
class Shot:
    name: str  # docs/screenshots/<name>.png
    title: str  # the image's alternative text
    caption: str  # the README's line under the image
    take: Callable[[Tour], object]  # drives the product; returns the page to capture


def uploaded_video():
    """The synthetic video the admin uploads, pixels and ground truth (rendered from its seed)."""
    from dataplatform.media.demo_videos import DEMO_SIZE
    from engine.synthetic import make_video

    return make_video(UPLOAD_SEED, num_frames=UPLOAD_FRAMES, height=DEMO_SIZE[0], width=DEMO_SIZE[1])


def section(page, name: str) -> None:
    """Open an admin section from the admin screen's navigation (and wait until it is shown)."""
    if "/app/admin" not in page.url:
        page.goto("/app/admin")
        page.get_by_role("heading", name="Admin dashboard").wait_for()
    page.get_by_role("navigation", name="Admin sections").get_by_role("link", name=name, exact=True).click()
    page.locator(".admin-nav a.active", has_text=name).wait_for()


def wait_jobs_done(page) -> None:
    """The panels poll: wait until none shows a job still queued or running."""
    from playwright.sync_api import expect

    expect(page.get_by_text(re.compile(r"^(queued|running)$"))).to_have_count(0, timeout=SLOW)


# --- the admin starts a project --------------------------------------------------------------------

def take_projects(tour: Tour):
    page = tour.page_as("admin")
    section(page, "Projects")
    create = page.get_by_role("form", name="New project")
    create.get_by_label("Project name").fill(PROJECT)
    create.get_by_label("Description").fill("Synthetic videos of moving shapes")
    create.get_by_role("button", name="Create project").click()
    page.get_by_text(f"Project “{PROJECT}” created").wait_for()
    page.get_by_role("button", name=f"Label set of {PROJECT}").click()
    panel = page.get_by_role("region", name="Labels")
    for name, colour in LABELS.items():
        panel.get_by_label("New label", exact=True).fill(name)
        panel.get_by_label("Colour of the new label").fill(colour)
        panel.get_by_role("button", name="Add label").click()
        panel.get_by_label(f"Label “{name}”").wait_for()
    # A project starts with the label "object" (unused yet): the set is the shapes' labels only.
    panel.get_by_role("button", name="Delete label object").click()
    panel.get_by_text("Label “object” deleted.").wait_for()
    tour.step(f"the admin creates the project {PROJECT!r} with the labels {', '.join(LABELS)}")
    return page


def take_videos(tour: Tour):
    from dataplatform.media.demo_videos import demo_video_name
    from engine.synthetic import write_mp4

    path = tour.workdir / demo_video_name(UPLOAD_SEED)
    write_mp4(uploaded_video(), path)
    page = tour.page_as("admin")
    section(page, "Videos")
    upload = page.get_by_role("region", name="Upload a video")
    upload.get_by_label("Project", exact=True).select_option(label=f"{PROJECT} (phase 3)")
    upload.get_by_label("Video file").set_input_files(str(path))
    upload.get_by_role("button", name="Upload").click()
    tour.step(f"the admin uploads {path.name} to {PROJECT!r}")
    outcome = upload.get_by_text(re.compile(rf"“{re.escape(path.name)}” is ready|^Ingest \w+:"))
    outcome.wait_for(timeout=SLOW)
    if "is ready" not in outcome.inner_text():
        raise RuntimeError(f"the upload of {path.name} did not become ready: {outcome.inner_text()}")
    tour.step(f"{path.name} is ingested")
    videos = page.get_by_role("region", name="Videos", exact=True)
    videos.get_by_label("Show videos of").select_option(label=PROJECT)
    videos.get_by_role("button", name=f"Queue a task: {path.name}").click()
    page.get_by_text(f"A task on “{path.name}” is in the annotation queue.").wait_for()
    tour.facts["video_name"] = path.name
    return page


def keep_task_for_annotator(page) -> None:
    """Tasks section: the new task is kept for the demo's annotator (their next task)."""
    from playwright.sync_api import expect

    section(page, "Tasks")
    tasks = page.get_by_role("region", name="Annotation tasks")
    tasks.get_by_label("Project").select_option(label=PROJECT)
    assign = tasks.get_by_label(re.compile(r"^Assign task \d+$"))
    expect(assign).to_have_count(1)  # the project's one queued task, once the filter has applied
    assign.select_option(label="annotator")
    page.get_by_text(re.compile(r"^Task \d+ is kept for annotator\.")).wait_for()


# --- the annotator -------------------------------------------------------------------------------



def click_targets(video, count: int) -> list[tuple[tuple[int, int], str]]:
    """Image points well inside the ``count`` largest objects on the video's first frame, each with
    the label of its shape, read from the synthetic video's ground truth."""
    masks = video.masks
    largest = sorted(masks, key=lambda k: -int(masks[k][0].sum()))[:count]
    return [(interior_point(masks[key][0]), SHAPE_LABELS[video.kinds[key]]) for key in largest]


def interior_point(mask: np.ndarray) -> tuple[int, int]:
    """(x, y) of a pixel as deep inside ``mask`` as can be: erode until one more step empties it."""
    core = mask.copy()
    while True:
        eroded = core.copy()
        eroded[1:] &= core[:-1]
        eroded[:-1] &= core[1:]
        eroded[:, 1:] &= core[:, :-1]
        eroded[:, :-1] &= core[:, 1:]
        eroded[[0, -1], :] = eroded[:, [0, -1]] = False
        if not eroded.any():
            break
        core = eroded
    ys, xs = np.nonzero(core)
    middle = int(np.argmin((ys - ys.mean()) ** 2 + (xs - xs.mean()) ** 2))
    return int(xs[middle]), int(ys[middle])


def wait_frame(page, index: int) -> None:
    """Until the workspace or review canvas shows frame ``index`` with its masks drawn."""
    page.wait_for_selector(f"canvas.frame-canvas[data-image-frame='{index}'][data-overlay-frame='{index}']",
                           timeout=SLOW)


def step_to(page, index: int) -> None:
    """From the first frame to frame ``index`` with the player's "Next frame" button."""
    for _ in range(index):
        page.get_by_role("button", name=re.compile(r"^Next frame")).click()
    wait_frame(page, index)


def take_workspace(tour: Tour):
    page = tour.page_as("annotator")
    page.get_by_role("button", name="Start next task").click()
    page.wait_for_url(re.compile(r".*/app/annotate/tasks/\d+$"))
    task_id = int(page.url.rstrip("/").rsplit("/", 1)[1])
    task = page.request.get(f"/api/tasks/{task_id}/").json()
    if task["video_name"] != tour.facts.get("video_name", task["video_name"]):
        raise RuntimeError(f"the next task is on {task['video_name']!r}, not the uploaded {tour.facts['video_name']!r}")
    wait_frame(page, 0)
    tour.step(f"the annotator's session on task {task_id} ({task['video_name']}) is open")
    for number, ((x, y), label) in enumerate(click_targets(uploaded_video(), CLICKED_OBJECTS)):
        page.get_by_label("Label of the new object").select_option(label=label)
        with page.expect_response(lambda r: r.url.endswith("/objects/") and r.request.method == "POST" and r.ok):
            page.get_by_role("button", name=re.compile(r"Add object")).click()  # the new object is selected
        page.wait_for_timeout(200)
        with page.expect_response(lambda r: r.url.endswith("/prompts/") and r.ok, timeout=SLOW):
            page.mouse.click(*canvas_point(page, x, y))  # a positive click: the model answers with a mask
        page.wait_for_timeout(300)  # drawn
        tour.facts.setdefault("labels", []).append(label)
        tour.step(f"object {number} ({label}): a positive click at ({x}, {y}) answered with a mask")
    page.get_by_role("button", name=re.compile(r"^Propagate\b")).click()  # forward, from frame 0
    page.get_by_text(re.compile(r"^Propagation done")).wait_for(timeout=SLOW)
    tour.step("propagation done")
    shown = task["frame_count"] * 2 // 3
    step_to(page, shown)
    tour.facts.update(task=task, workspace_frame=shown)
    return page


def submit_task(page) -> None:
    page.get_by_role("button", name="Submit").click()
    page.wait_for_url(re.compile(r".*/app/annotate$"))


# --- the reviewer --------------------------------------------------------------------------------

def take_review(tour: Tour):
    page = tour.page_as("reviewer")
    page.get_by_text(re.compile(r"^Masklet \d+: ")).first.wait_for(timeout=SLOW)
    wait_frame(page, 0)
    step_to(page, tour.facts.get("workspace_frame", 0))
    page.get_by_label("Note on this frame").fill(NOTE)
    page.get_by_role("button", name="Pin to frame").click()
    frame = tour.facts.get("workspace_frame", 0) + 1
    page.get_by_role("list", name="Notes on frames").get_by_role("button", name=f"Frame {frame}: {NOTE}").wait_for()
    tour.step(f"the reviewer pins a note to frame {frame}")
    return page


def accept_all(page) -> None:
    """Accept every masklet the queue hands out (the annotator's)."""
    while True:
        heading = page.get_by_text(re.compile(r"^Masklet \d+: |The verification queue is empty"))
        heading.first.wait_for(timeout=SLOW)
        if "empty" in heading.first.inner_text():
            return
        name = re.match(r"Masklet (\d+)", heading.first.inner_text()).group(1)
        page.get_by_role("button", name=re.compile(r"^Accept")).click()
        page.get_by_text(f"Masklet {name} accepted.").wait_for()


# --- the admin exports and looks at the figures ----------------------------------------------------

def take_export(tour: Tour):
    page = tour.page_as("admin")
    section(page, "Exports & imports")
    exports = page.get_by_role("form", name="New export")
    exports.get_by_label("Format").select_option("coco")
    exports.get_by_label("Project to export").select_option(label=PROJECT)
    exports.get_by_role("button", name="Export").click()
    link = page.locator(".export-result a.download")
    link.wait_for(timeout=SLOW)
    with page.expect_download() as download:
        link.click()
    path = tour.workdir / download.value.suggested_filename
    download.value.save_as(path)
    check_coco(path, tour.facts.get("labels", []))
    tour.step(f"the admin downloads {path.name}: COCO categories {', '.join(LABELS)}")
    page.locator("ul.exports li").filter(has_text="succeeded").first.wait_for()
    return page


def check_coco(path: Path, labels: list[str]) -> None:
    """The downloaded COCO zip names the project's labels as its categories, and each object its label."""
    with zipfile.ZipFile(path) as archive:
        coco = json.loads(archive.read("annotations.json"))
    categories = {c["id"]: c["name"] for c in coco["categories"]}
    used = sorted({categories[a["category_id"]] for a in coco["annotations"]})
    if sorted(categories.values()) != sorted(LABELS) or used != sorted(set(labels)):
        raise RuntimeError(f"the COCO export's categories are {categories}, its annotations use {used}; "
                           f"expected {sorted(LABELS)}, using {sorted(set(labels))}")


def take_metrics(tour: Tour):
    page = tour.page_as("admin")
    section(page, "Metrics")
    page.get_by_role("region", name=re.compile("Data engine metrics")).locator("svg").first.wait_for()
    wait_jobs_done(page)
    return page


def take_models(tour: Tour):
    page = tour.page_as("admin")
    video = tour.facts["video_name"]
    section(page, "Videos")  # the annotated video goes to the held-out val split, to score the model on
    page.get_by_label(f"Split of {video}").select_option("val")
    page.get_by_text(f"“{video}” is now in val.").wait_for()
    section(page, "Retraining & models")
    versions = page.get_by_role("table", name="Model versions side by side")
    versions.get_by_role("row").nth(1).wait_for()
    page.get_by_label("Project whose held-out split scores").select_option(label=PROJECT)
    page.get_by_label("Held-out split", exact=True).select_option("val")
    evaluate = versions.get_by_role("button", name=re.compile(r"^Evaluate "))
    evaluate.first.click()
    versions.get_by_text(f"{PROJECT} val").first.wait_for(timeout=SLOW)
    tour.step(f"the admin evaluates the model on the val split of {PROJECT!r}")
    wait_jobs_done(page)
    return page


SHOTS: list[Shot] = [
    Shot("projects", "Projects: a new project and its label set",
         f"Step 1, the admin (Projects): a new project, “{PROJECT}”, phase 3 (full SAM 2), and its label set, "
         f"one label per kind of shape in the synthetic videos: {', '.join(LABELS)} (the label “object” "
         "a project starts with is deleted).",
         take_projects),
    Shot("videos", "Videos: the upload and a queued task",
         "Step 2, the admin (Videos): one more synthetic video (640×480) uploaded to the project and followed "
         "through its ingest, then a task on it queued; "
         "in Tasks, the admin keeps that task for the demo's annotator.",
         take_videos),
    Shot("workspace", "The annotator's workspace",
         "Step 3, the annotator: the next task opens the workspace on that video. For each of two objects, "
         "its label chosen in the objects panel, then one positive click on the first frame; then forward "
         "propagation by the shipped model (config micro) on the demo's Celery worker, on CPU; shown two "
         "thirds into the video. Beside the model version and the worker that holds the session is the last "
         "click's measured latency. Then Submit.",
         take_workspace),
    Shot("review", "The verification queue",
         "Step 4, the reviewer: the verification queue plays a masklet that the annotator has just submitted, "
         "on the same frame, with its propagated masks and its label; a note pinned to that frame shows on "
         "the timeline. The reviewer then accepts both masklets.",
         take_review),
    Shot("export", "Exports & imports: the finished COCO export",
         "Step 5, the admin (Exports & imports): the project's accepted masklets exported as COCO (RLE masks, "
         "tracks) by a job on the worker, and the zip downloaded; its categories are the project's labels.",
         take_export),
    Shot("metrics", "Metrics: the data engine's figures",
         "The Metrics section after exactly those actions: every chart and table is computed from the rows "
         "they made, nothing is seeded (the time per frame is the pace of the command's scripted "
         "clicks, not a person's); the dotted ticks are the SAM 2 paper's Table 1, for comparison.",
         take_metrics),
    Shot("models", "Retraining & models: the versions side by side",
         "Retraining & models: the annotated video moved to the project's held-out val split (Videos), then "
         "the model versions side by side (config, size, source, J&F per protocol), the shipped micro model "
         "(the demo's one version) evaluated on that split by a job on the worker. Its ground truth here is "
         "the model's own answer to one click per object, accepted as it was, so the mask and 1-click "
         "protocols reproduce it exactly: this shows the mechanism, not the model's quality.",
         take_models),
]
# What the user does once the shot is taken.
AFTER = {"videos": keep_task_for_annotator, "workspace": submit_task, "review": accept_all}


@contextmanager
def chromium() -> Iterator[object]:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
        try:
            yield browser
        finally:
            browser.close()


def take_screenshots(out: Path, *, workdir: Path | None = None, only: list[str] | None = None,
                     log: Callable[[str], None] = print) -> dict[str, Path]:
    """Start the demo in ``workdir`` (a temporary folder by default), take the shots, write PNGs into
    ``out``; stop the demo and its worker whatever happens. Returns the PNGs by shot name."""
    missing = [what for what, there in (("the built web UI (make frontend)", DIST_INDEX.is_file()),
                                        (f"Chromium at {CHROMIUM}", Path(CHROMIUM).is_file())) if not there]
    if missing:
        raise RuntimeError(f"Cannot take screenshots without {' and '.join(missing)}.")
    out.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="masklet-screenshots-") as scratch:
        folder = Path(workdir or scratch)
        started = time.monotonic()
        demo = DemoServer(folder / "var", log_path=folder / "demo.log")
        try:
            demo.start()
            log(f"demo serving at {demo.url} after {time.monotonic() - started:.0f} s (log: {demo.log_path})")
            with chromium() as browser:
                tour = Tour(browser=browser, base_url=demo.url, workdir=folder, log=log, started=started)
                try:
                    return tour_shots(tour, out, only)
                except Exception:
                    for number, page in enumerate(tour.pages.values()):
                        if not page.is_closed():  # the last state of every open page, to see the failure
                            page.screenshot(path=str(folder / f"failed-{number}.png"), full_page=True)
                            log(f"the last state of an open page: {folder / f'failed-{number}.png'}")
                    raise
        except Exception:
            log(f"the demo's log ends with:\n{demo.log()[-3000:]}")
            raise
        finally:
            demo.stop()


def tour_shots(tour: Tour, out: Path, only: list[str] | None) -> dict[str, Path]:
    """Take the shots in order (those before the last one asked for run too: later shots rely on
    what earlier ones did); the users' pages stay open through the tour."""
    written: dict[str, Path] = {}
    for shot in SHOTS:
        if only and shot.name not in only and not _needed_by(shot, only):
            continue
        page = shot.take(tour)
        if not only or shot.name in only:
            path = out / f"{shot.name}.png"
            settle(page)
            page.screenshot(path=str(path), full_page=True)
            written[shot.name] = path
            tour.step(f"wrote {path}")
        if shot.name in AFTER:
            AFTER[shot.name](page)
        if page.errors:
            raise RuntimeError(f"JavaScript errors on the {shot.name} page: {page.errors}")
    for page in tour.pages.values():
        page.context.close()
    return written


def settle(page) -> None:
    """Scroll through the page so lazy images load, wait for every image, then back to the top."""
    page.evaluate("window.scrollTo(0, document.body.scrollHeight)")
    page.wait_for_function("Array.from(document.images).every(i => i.complete)")
    page.evaluate("window.scrollTo(0, 0)")
    page.wait_for_timeout(200)


def _needed_by(shot: Shot, only: list[str]) -> bool:
    """A shot before the last one asked for runs too: later shots rely on what earlier ones did."""
    names = [s.name for s in SHOTS]
    return names.index(shot.name) < max(names.index(name) for name in only)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", type=Path, default=DOCS, help=f"where the PNGs go (default {DOCS.relative_to(REPO_ROOT)})")
    parser.add_argument("--only", nargs="*", choices=[s.name for s in SHOTS], help="these shots only")
    parser.add_argument("--keep", type=Path, help="run the demo in this folder and keep it (its log, database)")
    args = parser.parse_args(argv)
    started = time.monotonic()
    written = take_screenshots(args.out, workdir=args.keep, only=args.only)
    print(f"\n{len(written)} screenshots in {time.monotonic() - started:.0f} s. README captions:\n")
    for shot in SHOTS:
        if shot.name in written:
            print(readme_block(shot) + "\n")
    return 0


def readme_block(shot: Shot) -> str:
    """The image and its caption as the README shows them (``tests/test_readme.py`` checks)."""
    return f"![{shot.title}](docs/screenshots/{shot.name}.png)\n\n*{shot.caption}*"


if __name__ == "__main__":
    sys.exit(main())
