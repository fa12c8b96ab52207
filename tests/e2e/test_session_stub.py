"""Every answer of the session stand-in (``browser_harness/session_stub.py``) is one the real API
could give: the status code is documented for the operation it stands in for, and the body
validates against that operation's response schema in the live OpenAPI schema (drf-spectacular,
from the serializers), with no field the schema lacks. A serializer change the stand-in does not
follow fails here, not silently in the browser tests.

No browser: the stub's handler is called with stand-ins for Playwright's route and request.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from typing import Any

import jsonschema
import pytest
from drf_spectacular.generators import SchemaGenerator

from browser_harness.session_stub import JOB_ID, ROUTES, SessionStub

WIDTH, HEIGHT = 64, 48
FRAMES = [f"/media/videos/1/frames/{i:05d}.jpg" for i in range(6)]
TASK = "/api/tasks/7"


@pytest.fixture(scope="module")
def openapi() -> dict[str, Any]:
    schema = SchemaGenerator().get_schema(request=None, public=True)
    return json.loads(json.dumps(schema, default=str))  # plain dicts and lists


def as_json_schema(node: Any) -> Any:
    """OpenAPI 3.0 -> JSON Schema: ``nullable`` becomes a "null" alternative, and an object with
    listed properties allows no others (an extra field in the stand-in is drift too)."""
    if isinstance(node, list):
        return [as_json_schema(n) for n in node]
    if not isinstance(node, dict):
        return node
    node = {k: as_json_schema(v) for k, v in node.items()}
    if "properties" in node and node.get("type", "object") == "object":
        node.setdefault("additionalProperties", False)
    if node.pop("nullable", False):
        if "type" in node and "enum" not in node:
            node["type"] = [node["type"], "null"]
        else:
            node = {"anyOf": [node, {"type": "null"}]}
    return node


def operation_for(openapi: dict[str, Any], method: str, path: str) -> tuple[str, dict[str, Any]]:
    """The documented operation a concrete request is for: (path template, operation)."""
    matches = []
    for template, operations in openapi["paths"].items():
        pattern = "^" + re.sub(r"\{[^}]+\}", "[^/]+", template) + "$"
        if re.match(pattern, path) and method.lower() in operations:
            matches.append((template.count("{"), template, operations[method.lower()]))
    assert matches, f"{method} {path}: the stand-in answers a route the API does not have"
    _, template, operation = min(matches, key=lambda m: m[0])  # /tasks/next/ before /tasks/{id}/
    return template, operation


def check_answer(openapi: dict[str, Any], method: str, path: str, status: int, body: str) -> None:
    template, operation = operation_for(openapi, method, path)
    where = f"{method} {template} ({operation['operationId']})"
    responses = operation["responses"]
    if str(status) not in responses:
        pytest.fail(f"{where}: the stand-in answers {status}, the API documents {sorted(responses)}")
    content = responses[str(status)].get("content")
    if content is None:
        if body:
            pytest.fail(f"{where}: {status} has no body in the API, the stand-in sends {body[:80]!r}")
        return
    schema = {**as_json_schema(content["application/json"]["schema"]),
              "components": as_json_schema(openapi["components"])}
    try:
        jsonschema.validate(json.loads(body), schema)
    except jsonschema.ValidationError as error:
        pytest.fail(f"{where}: the stand-in's answer does not fit the API's schema: {error.message} "
                    f"at {list(error.absolute_path)}")


@dataclass
class Request:
    method: str
    url: str
    post_data_json: Any = None

    @property
    def post_data(self) -> str | None:
        return None if self.post_data_json is None else json.dumps(self.post_data_json)


@dataclass
class Route:
    answers: list[tuple[str, str, int, str]] = field(default_factory=list)
    request: Request | None = None

    def fulfill(self, *, status: int, content_type: str | None = None, body: str = "") -> None:
        assert self.request is not None
        if body:
            assert content_type == "application/json"
        path = self.request.url.split("://", 1)[1].split("/", 1)[1].split("?")[0]
        self.answers.append((self.request.method, "/" + path, status, body))


def call(stub: SessionStub, route: Route, method: str, path: str, body: Any = None) -> None:
    url = "http://127.0.0.1:8000" + path
    assert ROUTES.match(url), f"{path}: the browser tests would not send this to the stand-in"
    route.request = Request(method, url, body)
    stub.handle(route, route.request)


def drive(stub: SessionStub, route: Route) -> None:
    """Every route the stand-in answers, as the workspace calls them in the browser tests."""
    call(stub, route, "POST", f"{TASK}/session/")
    call(stub, route, "POST", f"{TASK}/prompts/", {"kind": "click", "frame_index": 0, "object_number": 0,
                                                   "points": [[20, 16]], "labels": [1], "client_timestamp": 0})
    call(stub, route, "POST", f"{TASK}/prompts/", {"kind": "box", "frame_index": 1, "object_number": 0,
                                                   "box": [10, 10, 30, 30], "client_timestamp": 0})
    call(stub, route, "POST", f"{TASK}/objects/", {"label": 2})
    call(stub, route, "PATCH", f"{TASK}/objects/1/", {"label": 1})
    call(stub, route, "POST", f"{TASK}/prompts/", {"kind": "mask", "frame_index": 0, "object_number": 1,
                                                   "mask": stub.box(40, 20, 5), "client_timestamp": 0})
    call(stub, route, "POST", f"{TASK}/propagate/", {"frame_index": 0, "direction": "forward"})
    for _ in range(3):
        call(stub, route, "GET", f"/api/jobs/{JOB_ID}/")
    call(stub, route, "GET", f"{TASK}/masks/?start=0&end=5")
    call(stub, route, "POST", f"{TASK}/undo/", {"client_timestamp": 0})  # the propagation
    call(stub, route, "POST", f"{TASK}/undo/", {"client_timestamp": 0})  # the mask prompt
    call(stub, route, "GET", f"{TASK}/session/progress/")
    call(stub, route, "DELETE", f"{TASK}/objects/1/")


REVIEW = {"reason": "The tail is missing from frame 3 on.", "reviewer": "rev", "decided_at": "2026-01-05T09:30:00Z",
          "revision": 4, "comments": [{"id": 1, "frame_index": 1, "text": "Tail cut off."}], "frames": [1, 2]}


def test_every_answer_of_the_stand_in_fits_the_api_schema(openapi) -> None:
    stub, route = SessionStub(frame_urls=FRAMES, width=WIDTH, height=HEIGHT, phase=3), Route()
    drive(stub, route)
    held, held_route = SessionStub(frame_urls=FRAMES, width=WIDTH, height=HEIGHT, phase=2, hold_jobs=True), Route()
    call(held, held_route, "POST", f"{TASK}/prompts/", {"kind": "click", "frame_index": 0, "object_number": 0,
                                                        "points": [[20, 16]], "labels": [1], "client_timestamp": 0})
    call(held, held_route, "POST", f"{TASK}/propagate/", {"frame_index": 0, "direction": "forward"})
    call(held, held_route, "GET", f"/api/jobs/{JOB_ID}/")
    call(held, held_route, "POST", f"/api/jobs/{JOB_ID}/cancel/")
    call(held, held_route, "GET", f"/api/jobs/{JOB_ID}/")
    rework = SessionStub(frame_urls=FRAMES, width=WIDTH, height=HEIGHT, phase=3, review=REVIEW,
                         points=[{"frame_index": 0, "object_number": 0, "point": [20.5, 16], "label": 0}])
    rework_route = Route()
    call(rework, rework_route, "POST", f"{TASK}/session/")
    answers = route.answers + held_route.answers + rework_route.answers
    assert len(answers) == 21
    assert json.loads(route.answers[-4][3])  # masks: the propagated frames are there
    for method, path, status, body in answers:
        check_answer(openapi, method, path, status, body)


def test_the_check_fails_on_drift(openapi) -> None:
    """A renamed field, a missing one and a wrong status are each caught."""
    good = {"object_number": 2, "masklet_id": 3, "label": {"id": 1, "name": "object", "color": "#1f77b4"}}
    check_answer(openapi, "POST", f"{TASK}/objects/", 201, json.dumps(good))
    for body, status in [({"object_number": 2, "masklet": 3}, 201), ({"object_number": 2}, 201), (good, 200)]:
        with pytest.raises(pytest.fail.Exception):
            check_answer(openapi, "POST", f"{TASK}/objects/", status, json.dumps(body))
