"""A stand-in for the interactive session API's answers, given to the browser through Playwright's
request interception: it checks the workspace's side of the contract deterministically and fast,
without a model on a worker. Each answer has the status and the body the real operation documents
(``tests/e2e/test_session_stub.py`` validates them against the live OpenAPI schema, so drift
fails); the real routes are driven by ``test_workspace_on_the_real_session_api``."""

from __future__ import annotations

import json
import re
from typing import Any
from urllib.parse import parse_qs, urlparse

import numpy as np

from engine import rle as rle_ops

ROUTES = re.compile(r".*/api/(tasks/\d+/(session|prompts|objects|propagate|masks|undo)|jobs/424242)/.*")
JOB_ID = 424242
CREATED_AT = "2026-01-05T09:30:00Z"
# The project's label set, as the session gives it (the first: the default label).
LABELS = [{"id": 1, "name": "object", "color": "#1f77b4"}, {"id": 2, "name": "person", "color": "#ff7f0e"}]  # the stand-in's propagation job: created, started and beating at once


class SessionStub:
    """Masks are boxes: a click makes a 60×60 box around it, propagation moves it 8 px a frame
    (for ``lost_after`` frames, if given: then the object vanishes, its masks are empty)."""

    def __init__(self, *, frame_urls: list[str], width: int, height: int, phase: int, hold_jobs: bool = False,
                 lost_after: int | None = None, points: list[dict] | None = None, review: dict | None = None,
                 video_name: str = "kitchen.mp4") -> None:
        self.hold_jobs = hold_jobs  # propagation stays running until cancelled
        self.lost_after = lost_after
        self.propagated: list[int] = []  # the frames of the last propagation
        self.cancelled = False
        self.frames, self.width, self.height, self.phase = frame_urls, width, height, phase
        self.masks: dict[int, dict[int, dict]] = {0: {}}
        self.label_set: list[dict] = list(LABELS)  # the project's labels (a test may give the real ones)
        self.labels: dict[int, dict] = {0: LABELS[0]}  # object → its label
        self.prompts: list[dict[str, Any]] = []  # every prompt received, in order (undo does not remove)
        # (kind, object, frame, its mask before the prompt); a propagation: ("propagate", 0, start, masks before)
        self.undo_stack: list[tuple[str, int, int, Any]] = []
        self.points = points or []  # stored clicks, as the session's state lists them
        self.review = review  # a rework task's rejection
        self.video_name = video_name
        self.job_polls = 0

    def box(self, cx: float, cy: float, half: int = 30) -> dict:
        mask = self.empty()
        mask[max(0, int(cy) - half):int(cy) + half, max(0, int(cx) - half):int(cx) + half] = True
        return rle_ops.encode(mask)

    def handle(self, route, request) -> None:
        status, answer = self.answer(request)
        if answer is None:
            route.fulfill(status=status, body="")
        else:
            route.fulfill(status=status, content_type="application/json", body=json.dumps(answer))

    def answer(self, request) -> tuple[int, Any]:
        """(HTTP status, JSON body or None) as the real operation answers; ``tests/e2e/test_session_stub.py``
        checks each against the API's schema."""
        path = urlparse(request.url).path
        body = request.post_data_json if request.method == "POST" and request.post_data else {}
        if path.endswith("/session/progress/"):
            return 200, {"done": None, "total": None}
        if path.endswith("/session/"):
            return 200, {"task": 0, "worker": "stub", "phase": self.phase, "model_version": None, "model_version_name": None,
                         "kind": "refine" if self.review else "annotate",
                         "video": {"id": 0, "name": self.video_name, "frame_count": len(self.frames),
                                   "width": self.width, "height": self.height, "frames": self.frames},
                         "objects": [self.object(n) for n in self.masks], "labels": self.label_set,
                         "points": self.points, "review": self.review}
        if path.endswith("/prompts/"):
            self.prompts.append(body)
            if body["kind"] == "click":
                x, y = body["points"][-1]
                mask = self.box(x, y)
            elif body["kind"] == "box":
                x0, y0, x1, y1 = body["box"]
                mask = self.box((x0 + x1) / 2, (y0 + y1) / 2, int(max(x1 - x0, y1 - y0) / 2))
            else:
                mask = body["mask"]
            frames = self.masks.setdefault(body["object_number"], {})
            kind = {"click": "click+" if body.get("labels") == [1] else "click-"}.get(body["kind"], body["kind"])
            self.undo_stack.append((kind, body["object_number"], body["frame_index"], frames.get(body["frame_index"])))
            frames[body["frame_index"]] = mask
            return 200, self.prompt_answer(body["object_number"], body["frame_index"], mask)
        if path.endswith("/undo/"):
            if not self.undo_stack:
                return 409, {"error": {"code": "conflict", "message": "Nothing to undo: this task has no prompt left."}}
            kind, number, frame, previous = self.undo_stack.pop()
            if kind == "propagate":
                self.masks[0] = previous
                return 200, {**self.prompt_answer(0, frame, self.masks[0].get(frame) or rle_ops.encode(self.empty())),
                             "undone": len(self.prompts) + 1000, "undone_kind": kind}
            if previous is None:
                self.masks[number].pop(frame, None)
            else:
                self.masks[number][frame] = previous
            return 200, {**self.prompt_answer(number, frame, previous or rle_ops.encode(self.empty())),
                         "undone": len(self.prompts), "undone_kind": kind}
        if re.search(r"/objects/\d+/$", path) and request.method == "PATCH":
            number = int(path.rstrip("/").rsplit("/", 1)[1])
            self.labels[number] = next(label for label in self.label_set if label["id"] == request.post_data_json["label"])
            return 200, self.object(number)
        if re.search(r"/objects/\d+/$", path) and request.method == "DELETE":
            self.masks.pop(int(path.rstrip("/").rsplit("/", 1)[1]), None)
            return 204, None
        if path.endswith("/objects/") and request.method == "POST":
            number = max(self.masks, default=-1) + 1
            self.masks[number] = {}
            self.labels[number] = next((label for label in self.label_set if label["id"] == body.get("label")),
                                       self.label_set[0])
            return 201, self.object(number)
        if path.endswith("/propagate/"):
            start = body["frame_index"]
            seed = self.masks[0].get(start)
            self.undo_stack.append(("propagate", 0, start, dict(self.masks[0])))
            if seed is not None:
                x0, y0, w, h = _bbox(seed)
                self.propagated = list(range(start, len(self.frames)))
                for i in self.propagated[1:]:
                    lost = self.lost_after is not None and i - start > self.lost_after
                    moved = self.box(x0 + w / 2 + 8 * (i - start), y0 + h / 2)
                    self.masks[0][i] = rle_ops.encode(self.empty()) if lost else moved
            return 202, self.job("running", 0)
        if path.endswith(f"/jobs/{JOB_ID}/cancel/"):
            self.cancelled = True
            return 200, {**self.job("running", 1), "cancel_requested": True}
        if path.endswith(f"/jobs/{JOB_ID}/") and (self.hold_jobs or self.cancelled):
            return 200, self.job("cancelled" if self.cancelled else "running", 1)
        if path.endswith(f"/jobs/{JOB_ID}/"):
            self.job_polls += 1
            done = min(len(self.frames), 3 * self.job_polls)
            return 200, self.job("succeeded" if done == len(self.frames) else "running", done)
        if path.endswith("/masks/"):
            query = parse_qs(urlparse(request.url).query)
            start, end = int(query["start"][0]), int(query["end"][0])
            none = rle_ops.encode(self.empty())  # every frame of the range, as the API answers
            end = min(end, len(self.frames) - 1)
            return 200, [{"object_number": n, "masklet_id": n + 1, "revision": None,
                          "masks": {str(i): frames.get(i, none) for i in range(start, end + 1)}}
                         for n, frames in self.masks.items()]
        return 404, {"error": {"code": "not_found", "message": f"The stand-in has no {request.method} {path}."}}

    def object(self, number: int) -> dict:
        return {"object_number": number, "masklet_id": number + 1, "label": self.labels.get(number, self.label_set[0])}

    def prompt_answer(self, number: int, frame: int, mask: dict) -> dict:
        return {"interaction": len(self.prompts), "frame_index": frame, "object_number": number, "mask": mask,
                "latency_ms": 42.0, "round_trip_ms": 60.0}

    def empty(self) -> np.ndarray:
        return np.zeros((self.height, self.width), dtype=bool)

    def job(self, status: str, done: int) -> dict:
        total = len(self.frames)
        return {"id": JOB_ID, "kind": "propagation", "status": status,
                "progress": {"done": done, "total": total, "percent": round(100 * done / total, 1)},
                "message": "", "project": None, "video": None, "cancel_requested": False, "attempts": 1,
                "result": self.result() if status == "succeeded" else None, "created_by": "annotator", "created_at": CREATED_AT, "started_at": CREATED_AT,
                "heartbeat_at": CREATED_AT, "finished_at": CREATED_AT if status in ("succeeded", "cancelled") else None}


    def result(self) -> dict:
        """A propagation's result: per object, its revision and the frames it left empty."""
        return {"task": 0, "revisions": {"0": 1}, "frames": len(self.propagated),
                "empty_frames": {"0": [i for i in self.propagated if not rle_ops.area(self.masks[0][i])]}}


def _bbox(rle: dict) -> tuple[float, float, float, float]:
    from pycocotools import mask as coco

    x, y, w, h = coco.toBbox({"size": rle["size"], "counts": rle["counts"].encode()})
    return float(x), float(y), float(w), float(h)
