"""``python -m browser_harness.screenshots`` (``make screenshots``): the README's screenshots, taken
from a live demo.

It starts the embedded demo in a temporary folder (``manage.py demo``: SQLite, the filesystem
broker, a real Celery worker, the shipped model and the demo's synthetic videos), then drives
Debian's Chromium through the product as the demo users would: the annotator opens the next task,
clicks on objects, propagates and submits; the reviewer plays a submitted masklet and accepts it;
the admin uploads a video and looks at the dashboard, with whatever those actions produced. Nothing
is seeded: every row comes from a click. It writes one PNG per :data:`SHOTS` entry and stops
everything it started.

Adding a page: write a ``take_*`` function (it gets the :class:`Tour` and returns the page to
capture) and add a :class:`Shot` to :data:`SHOTS`, in the order the tour needs (a shot may rely on
the actions of the shots before it). Select by role, label and text (what a user sees), never by
CSS paths. Each shot's caption goes under its image in the README (``tests/test_readme.py`` checks).
"""

from __future__ import annotations

import argparse
import re
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from browser_harness.chromium import CHROMIUM, CHROMIUM_ARGS, DIST_INDEX, REPO_ROOT
from browser_harness.demo import DemoServer

DOCS = REPO_ROOT / "docs" / "screenshots"
VIEWPORT = {"width": 1280, "height": 860}
SLOW = 180_000  # ms: the first session loads the model on the worker; propagation runs on its CPU
LOGINS = {"annotator": "annotator-demo", "reviewer": "reviewer-demo", "admin": "admin-demo"}  # bootstrap --demo
CLICKED_OBJECTS = 2  # the annotator segments this many objects of the task's video (fewer if it has fewer)
UPLOAD_SEED = 14  # the synthetic video the admin uploads (not one of the demo's own)


@dataclass
class Tour:
    """One walk through the live demo: the browser, the demo's address, what the shots did so far."""

    browser: object
    base_url: str
    workdir: Path
    facts: dict = field(default_factory=dict)  # e.g. the task and masklets the annotator made
    log: Callable[[str], None] = print
    started: float = field(default_factory=time.monotonic)
    pages: list = field(default_factory=list)  # every page opened, for a look at a failure

    def step(self, what: str) -> None:
        self.log(f"  {time.monotonic() - self.started:5.0f} s  {what}")

    def page_as(self, username: str):
        """A fresh browser context logged in through the login screen as a demo user."""
        context = self.browser.new_context(base_url=self.base_url, viewport=VIEWPORT)
        context.set_default_timeout(30_000)
        page = context.new_page()
        errors: list[str] = []
        page.on("pageerror", lambda error: errors.append(str(error)))
        page.on("dialog", lambda dialog: dialog.accept())  # "Submit this task's masklets for review?"
        page.errors = errors
        self.pages.append(page)
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


# --- the annotator -------------------------------------------------------------------------------

def canvas_point(page, x: float, y: float) -> tuple[float, float]:
    """The page coordinates of an image point of the workspace's frame canvas."""
    return tuple(page.evaluate(
        """([x, y]) => {
            const canvas = document.querySelector('canvas.frame-canvas');
            const view = JSON.parse(canvas.dataset.viewport);
            const rect = canvas.getBoundingClientRect();
            return [rect.left + x * view.scale + view.offsetX, rect.top + y * view.scale + view.offsetY];
        }""", [x, y]))


def click_targets(video_name: str, count: int) -> list[tuple[int, int]]:
    """Image points well inside the ``count`` largest objects on the video's first frame, read from
    the demo video's ground truth (the synthetic videos are rendered again from their seed)."""
    from dataplatform.media.demo_videos import demo_video

    match = re.fullmatch(r"synthetic-(\d+)\.mp4", video_name)
    if match is None:
        raise RuntimeError(f"the next task is on {video_name!r}, not one of the demo's synthetic videos")
    masks = demo_video(int(match.group(1))).masks
    largest = sorted(masks, key=lambda k: -int(masks[k][0].sum()))[:count]
    return [interior_point(masks[key][0]) for key in largest]


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
    wait_frame(page, 0)
    tour.step(f"the annotator's session on task {task_id} ({task['video_name']}) is open")
    for number, (x, y) in enumerate(click_targets(task["video_name"], CLICKED_OBJECTS)):
        with page.expect_response(lambda r: r.url.endswith("/objects/") and r.request.method == "POST" and r.ok):
            page.get_by_role("button", name=re.compile(r"Add object")).click()  # the new object is selected
        page.wait_for_timeout(200)
        with page.expect_response(lambda r: r.url.endswith("/prompts/") and r.ok, timeout=SLOW):
            page.mouse.click(*canvas_point(page, x, y))  # a positive click: the model answers with a mask
        page.wait_for_timeout(300)  # drawn
        tour.facts.setdefault("clicks", []).append((x, y))
        tour.step(f"object {number}: a positive click at ({x}, {y}) answered with a mask")
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
    page.get_by_text(re.compile(r"^Masklet \d+: object \d+")).first.wait_for(timeout=SLOW)
    wait_frame(page, 0)
    step_to(page, tour.facts.get("workspace_frame", 0))
    return page


def accept_all(page) -> None:
    """Accept every masklet the queue hands out (the annotator's)."""
    while True:
        heading = page.get_by_text(re.compile(r"^Masklet \d+: object \d+|The verification queue is empty"))
        heading.first.wait_for(timeout=SLOW)
        if "empty" in heading.first.inner_text():
            return
        name = re.match(r"Masklet (\d+)", heading.first.inner_text()).group(1)
        page.get_by_role("button", name=re.compile(r"^Accept")).click()
        page.get_by_text(f"Masklet {name} accepted.").wait_for()


# --- the admin -----------------------------------------------------------------------------------

def take_admin(tour: Tour):
    from playwright.sync_api import expect

    from dataplatform.media.demo_videos import DEMO_SIZE, demo_video_name
    from engine.synthetic import make_video, write_mp4

    path = tour.workdir / demo_video_name(UPLOAD_SEED)
    write_mp4(make_video(UPLOAD_SEED, num_frames=48, height=DEMO_SIZE[0], width=DEMO_SIZE[1]), path)
    page = tour.page_as("admin")
    page.get_by_role("heading", name="Admin dashboard").wait_for()
    upload = page.get_by_role("region", name=re.compile("Upload"))
    # The demo's project, once the panel has loaded the projects (an upload needs one chosen).
    expect(upload.get_by_role("combobox").first).to_have_value(re.compile(r".+"))
    upload.get_by_label("Video file").set_input_files(str(path))
    upload.get_by_role("button", name="Upload").click()
    tour.step(f"the admin uploads {path.name}")
    outcome = upload.get_by_text(re.compile(rf"“{re.escape(path.name)}” is ready|^Ingest \w+:"))
    outcome.wait_for(timeout=SLOW)
    if "is ready" not in outcome.inner_text():
        raise RuntimeError(f"the upload of {path.name} did not become ready: {outcome.inner_text()}")
    tour.step(f"{path.name} is ingested")
    page.get_by_role("region", name=re.compile("Data engine metrics")).locator("svg").first.wait_for()
    # The panels poll: wait until they show every job finished.
    expect(page.get_by_text(re.compile(r"^(queued|running)$"))).to_have_count(0, timeout=SLOW)
    return page


SHOTS: list[Shot] = [
    Shot("workspace", "The annotator's workspace",
         "The annotator's workspace: one of the demo's synthetic videos (640×480), a positive click on each "
         "of two objects on the first frame, then forward propagation by the shipped model (config micro) "
         "on the demo's Celery worker, on CPU; shown two thirds into the video. Beside the model version "
         "and the worker that holds the session is the last click's measured latency.",
         take_workspace),
    Shot("review", "The verification queue",
         "The verification queue: the reviewer plays a masklet that the annotator above has just submitted, "
         "on the same frame, with its propagated masks; then accepts both masklets.",
         take_review),
    Shot("admin", "The admin dashboard",
         "The admin dashboard after exactly those actions (one phase-3 task annotated, submitted and its "
         "masklets accepted) and the upload of one more synthetic video, followed through its ingest: "
         "every chart and table is computed from those rows, nothing is seeded (the time per frame is the "
         "pace of the command's scripted clicks, not a person's); the dotted ticks are the SAM 2 paper's "
         "Table 1, for comparison.",
         take_admin),
]
AFTER = {"workspace": submit_task, "review": accept_all}  # what the user does once the shot is taken


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
                    for number, page in enumerate(tour.pages):
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
    what earlier ones did); each page is closed once its user is done."""
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
