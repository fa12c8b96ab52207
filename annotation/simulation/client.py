"""A typed REST client of the annotation API, for the simulated annotators (and scripts).

It speaks HTTP with ``requests`` and token auth, exactly as any client of the platform: no
Django import. Every non-2xx answer raises :class:`ApiError` with the platform's error body.
Masks cross the API as COCO RLE and come back here decoded to (H, W) bool arrays.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal

import numpy as np
import requests

from engine import rle as rle_ops

Direction = Literal["forward", "backward", "both"]


class ApiError(Exception):
    """A non-2xx answer: the HTTP status, the platform's error code and message."""

    def __init__(self, method: str, path: str, status: int, body: Any) -> None:
        error = body.get("error", {}) if isinstance(body, dict) else {}
        self.status = status
        self.code = error.get("code", "")
        self.message = error.get("message", "") or str(body)[:500]
        self.body = body
        super().__init__(f"{method} {path} -> {status} {self.code}: {self.message}")


@dataclass(frozen=True)
class TaskInfo:
    id: int
    phase: int
    video: int
    frame_count: int
    status: str


@dataclass(frozen=True)
class SessionObject:
    object_number: int
    masklet_id: int


@dataclass(frozen=True)
class SessionInfo:
    task: int
    phase: int
    frame_count: int
    width: int
    height: int
    frames: list[str]
    objects: list[SessionObject]
    model_version: int | None


@dataclass(frozen=True)
class PromptAnswer:
    interaction: int
    frame_index: int
    object_number: int
    mask: np.ndarray  # (H, W) bool
    latency_ms: float


@dataclass(frozen=True)
class JobInfo:
    id: int
    status: str
    message: str
    result: Any


def _iso(moment: datetime | None) -> dict:
    return {} if moment is None else {"client_timestamp": moment.isoformat()}


class MaskletClient:
    """The annotation API as an annotator's client uses it (token auth)."""

    def __init__(self, base_url: str, *, token: str | None = None, timeout: float = 300.0,
                 session: requests.Session | None = None) -> None:
        self.base_url = base_url.rstrip("/")
        self.timeout = timeout
        self.http = session or requests.Session()
        if token:
            self.http.headers["Authorization"] = f"Token {token}"

    # -- plumbing ---------------------------------------------------------------------------------

    def _request(self, method: str, path: str, *, json: Any = None, params: dict | None = None,
                 expect: tuple[int, ...] = (200, 201, 202, 204)) -> Any:
        response = self.http.request(method, f"{self.base_url}/api/{path.lstrip('/')}", json=json,
                                     params=params, timeout=self.timeout)
        if response.status_code not in expect:
            try:
                body = response.json()
            except ValueError:
                body = response.text
            raise ApiError(method, path, response.status_code, body)
        if response.status_code == 204 or not response.content:
            return None
        return response.json()

    # -- auth ---------------------------------------------------------------------------------------

    def login(self, username: str, password: str) -> str:
        """Obtain the user's API token (``POST /api/auth/token/``) and use it from now on."""
        token = self._request("POST", "auth/token/", json={"username": username, "password": password})["token"]
        self.http.headers["Authorization"] = f"Token {token}"
        return token

    # -- tasks --------------------------------------------------------------------------------------

    @staticmethod
    def _task(body: dict) -> TaskInfo:
        return TaskInfo(int(body["id"]), int(body["phase"]), int(body["video"]), int(body["frame_count"]),
                        body["status"])

    def next_task(self, *, project: int | None = None, phase: int | None = None) -> TaskInfo | None:
        """Lease the next task (``POST /api/tasks/next/``); None when the queue is empty (204)."""
        body = {k: v for k, v in (("project", project), ("phase", phase)) if v is not None}
        answer = self._request("POST", "tasks/next/", json=body)
        return None if answer is None else self._task(answer)

    def task(self, task_id: int) -> TaskInfo:
        return self._task(self._request("GET", f"tasks/{task_id}/"))

    def heartbeat(self, task_id: int) -> TaskInfo:
        return self._task(self._request("POST", f"tasks/{task_id}/heartbeat/"))

    def release(self, task_id: int) -> TaskInfo:
        return self._task(self._request("POST", f"tasks/{task_id}/release/"))

    def submit(self, task_id: int, *, masklets: list[int] | None = None,
               client_timestamp: datetime | None = None) -> TaskInfo:
        body: dict[str, Any] = _iso(client_timestamp)
        if masklets is not None:
            body["masklets"] = masklets
        return self._task(self._request("POST", f"tasks/{task_id}/submit/", json=body))

    # -- the interactive session -----------------------------------------------------------------

    def open_session(self, task_id: int) -> SessionInfo:
        body = self._request("POST", f"tasks/{task_id}/session/")
        video = body["video"]
        return SessionInfo(
            task=int(body["task"]), phase=int(body["phase"]), frame_count=int(video["frame_count"]),
            width=int(video["width"]), height=int(video["height"]), frames=list(video["frames"]),
            objects=[SessionObject(int(o["object_number"]), int(o["masklet_id"])) for o in body["objects"]],
            model_version=body.get("model_version"))

    def add_object(self, task_id: int) -> SessionObject:
        body = self._request("POST", f"tasks/{task_id}/objects/")
        return SessionObject(int(body["object_number"]), int(body["masklet_id"]))

    def _answer(self, body: dict) -> PromptAnswer:
        return PromptAnswer(int(body["interaction"]), int(body["frame_index"]), int(body["object_number"]),
                            rle_ops.decode(body["mask"]), float(body["latency_ms"]))

    def click(self, task_id: int, *, frame_index: int, object_number: int, points: list[tuple[float, float]],
              labels: list[int], client_timestamp: datetime | None = None) -> PromptAnswer:
        """Clicks on a frame (added to the frame's earlier clicks of the object); its new mask."""
        body = {"frame_index": frame_index, "object_number": object_number, "kind": "click",
                "points": [[float(x), float(y)] for x, y in points], "labels": [int(v) for v in labels],
                **_iso(client_timestamp)}
        return self._answer(self._request("POST", f"tasks/{task_id}/prompts/", json=body))

    def box(self, task_id: int, *, frame_index: int, object_number: int, box: tuple[float, float, float, float],
            client_timestamp: datetime | None = None) -> PromptAnswer:
        body = {"frame_index": frame_index, "object_number": object_number, "kind": "box",
                "box": [float(v) for v in box], **_iso(client_timestamp)}
        return self._answer(self._request("POST", f"tasks/{task_id}/prompts/", json=body))

    def mask(self, task_id: int, *, frame_index: int, object_number: int, mask: np.ndarray,
             client_timestamp: datetime | None = None) -> PromptAnswer:
        body = {"frame_index": frame_index, "object_number": object_number, "kind": "mask",
                "mask": rle_ops.encode(np.asarray(mask, dtype=bool)), **_iso(client_timestamp)}
        return self._answer(self._request("POST", f"tasks/{task_id}/prompts/", json=body))

    def undo(self, task_id: int, *, client_timestamp: datetime | None = None) -> PromptAnswer:
        return self._answer(self._request("POST", f"tasks/{task_id}/undo/", json=_iso(client_timestamp)))

    def propagate(self, task_id: int, *, frame_index: int, direction: Direction = "forward",
                  client_timestamp: datetime | None = None) -> JobInfo:
        body = {"frame_index": frame_index, "direction": direction, **_iso(client_timestamp)}
        return self._job(self._request("POST", f"tasks/{task_id}/propagate/", json=body))

    def masks(self, task_id: int, *, object_number: int | None = None, start: int | None = None,
              end: int | None = None) -> dict[int, dict[int, np.ndarray]]:
        """The latest masks: object number -> frame index -> (H, W) bool."""
        params = {k: v for k, v in (("object_number", object_number), ("start", start), ("end", end))
                  if v is not None}
        body = self._request("GET", f"tasks/{task_id}/masks/", params=params)
        return {int(o["object_number"]): {int(i): rle_ops.decode(m) for i, m in o["masks"].items()} for o in body}

    # -- jobs ---------------------------------------------------------------------------------------

    @staticmethod
    def _job(body: dict) -> JobInfo:
        return JobInfo(int(body["id"]), body["status"], body.get("message", ""), body.get("result"))

    def job(self, job_id: int) -> JobInfo:
        return self._job(self._request("GET", f"jobs/{job_id}/"))

    def wait_job(self, job_id: int, *, timeout: float = 600.0, interval: float = 0.2) -> JobInfo:
        """Poll a Job until it ends; raises when it failed, was cancelled or took too long."""
        deadline = time.monotonic() + timeout
        while True:
            job = self.job(job_id)
            if job.status == "succeeded":
                return job
            if job.status in ("failed", "cancelled"):
                raise RuntimeError(f"Job {job_id} {job.status}: {job.message}")
            if time.monotonic() > deadline:
                raise TimeoutError(f"Job {job_id} still {job.status} after {timeout:.0f} s")
            time.sleep(interval)
