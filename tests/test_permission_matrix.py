"""The permission matrix: every API endpoint × method × caller, with the status each must get, in
one table (``MATRIX``), checked against the URL configuration.

The routes come from Django's resolver (every DRF view, its methods from the view class), so an
endpoint or method added without a row here fails ``test_every_api_route_has_a_row``: every new
endpoint is covered from its first day. Callers and the rows they act on: ``tests/permission_world.py``.

Statuses past the permission check are the ones the seeded world gives (a validation 400, a 409
on state, 204 on an empty queue): they show the caller got through, and to what.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import pytest
from django.urls import URLPattern, URLResolver, get_resolver, reverse
from rest_framework.test import APIClient
from rest_framework.views import APIView

from tests.dataplatform.conftest import error_of, password_for
from tests.permission_world import CALLERS, World, world_seed

pytestmark = pytest.mark.django_db

CALLER_NAMES = tuple(CALLERS)
# Methods every DRF view answers the same way (OPTIONS: metadata; HEAD: its GET).
GENERIC_METHODS = {"options", "head"}
# A session call that got through reaches the engine: no GPU worker serves this test's uncommitted
# rows (503 none answered; 502 one answered that it cannot see them). tests/workers cover the engine.
ENGINE = (502, 503)

# Rules a row's outcome for a caller comes from (named in its failure message).
OWN_MASKS = "Who may read a masklet's masks: its author, the task's assignee, reviewers, admins"
OWN_SUBMIT = "A task submits only its own draft masklets, by the holder of its lease"
NO_SELF_REVIEW = "Nobody decides on a masklet they authored a revision of"
REVIEW_LEASE = "A decision needs the review lease on that masklet (admins override)"
# Statuses those rules answer with (a lease another reviewer holds stays a 409 conflict).
FORBIDDEN, NEEDS_LEASE = 403, 403
# Rules not in force on this branch yet: their cells are strict xfails (the run fails once a rule
# holds, so that its entry here is removed).
PENDING_RULES: set[str] = set()

Expected = dict[str, "int | tuple[int, ...]"]


def outcome(default: int | tuple[int, ...], *, anonymous: int = 401, no_role: int = 403,
            **callers: int | tuple[int, ...]) -> Expected:
    """The status per caller: ``default`` for every caller with a role unless named."""
    assert set(callers) <= set(CALLER_NAMES), callers
    return {"anonymous": anonymous, "no_role": no_role,
            **{name: callers.get(name, default) for name in CALLER_NAMES if name not in ("anonymous", "no_role")}}


def checkpoint_in_storage(caller: str) -> dict:
    """A checkpoint in storage (the shipped micro weights) and a new version name to register it as."""
    from dataplatform import storage
    from engine.checkpoint import shipped_weights

    key = f"uploads/matrix-{caller}.safetensors"
    storage.put_bytes(key, shipped_weights("micro").read_bytes())
    return {"name": f"matrix-{caller}", "checkpoint": key}


def any_role(ok: int) -> Expected:
    return outcome(ok)


def admin_only(ok: int) -> Expected:
    return outcome(403, admin=ok)


def lease_holder(ok: int | tuple[int, ...]) -> Expected:
    """Only the annotator holding the task's lease (admins do not hold it either)."""
    return outcome(403, annotator=ok)


def public(ok: int) -> Expected:
    return {name: ok for name in CALLER_NAMES}


def own_credentials(world: World, caller: str) -> dict:
    user = world.users.get(caller)
    if user is None:
        return {"username": "nobody", "password": "wrong"}
    return {"username": user.username, "password": password_for(user.username)}


@dataclass(frozen=True)
class Row:
    """One endpoint and method (by URL name), on one case of the world."""

    name: str
    method: str
    expected: Expected
    args: dict[str, str] = field(default_factory=dict)  # URL kwarg → World attribute (its pk)
    body: dict | Callable[[World, str], dict] | None = None
    case: str = ""
    rules: dict[str, str] = field(default_factory=dict)  # caller → the rule their outcome comes from

    @property
    def id(self) -> str:
        return f"{self.method.upper()} {self.name}" + (f" [{self.case}]" if self.case else "")


T, V, P = {"task_id": "task"}, {"video_id": "video"}, {"project_id": "project"}


def click_on_draft(world: World, caller: str) -> dict:
    return {"frame_index": 0, "object_number": world.draft.object_number, "kind": "click", "points": [[10, 10]],
            "labels": [1]}


def revision_of(masklet: str, **extra: Any) -> Callable[[World, str], dict]:
    return lambda world, caller: {"revision": getattr(world, masklet).current_revision_id, **extra}


MATRIX: list[Row] = [
    # ---- Authentication
    Row("auth-csrf", "get", public(200)),
    Row("auth-login", "post", outcome(200, anonymous=400, no_role=200), body=own_credentials),
    Row("auth-logout", "post", outcome(204, no_role=204)),
    Row("auth-me", "get", outcome(200, no_role=200)),
    Row("auth-token", "post", outcome(200, anonymous=400, no_role=200), body=own_credentials),
    Row("auth-token", "delete", outcome(204, no_role=204)),
    Row("schema", "get", public(200)),
    Row("api-docs", "get", public(200)),
    # ---- Projects, videos, jobs
    Row("project-list", "get", any_role(200)),
    Row("project-list", "post", admin_only(201), body={"name": "New"}),
    Row("project-detail", "get", any_role(200), P),
    Row("project-detail", "patch", admin_only(200), P, {"phase": 2}),
    Row("project-labels", "get", any_role(200), P),
    Row("project-labels", "post", admin_only(201), P, lambda w, c: {"name": f"label of {c}"}),
    Row("project-label-detail", "patch", admin_only(200), {**P, "label_id": "spare_label"}, {"color": "#00ff00"}),
    Row("project-label-detail", "delete", admin_only(204), {**P, "label_id": "spare_label"}),
    Row("project-label-detail", "delete", admin_only(409), {**P, "label_id": "label"}, case="in use"),
    Row("project-videos", "get", any_role(200), P),
    Row("project-videos", "post", admin_only(400), P, case="no file"),
    Row("project-video-register", "post", admin_only(400), P, {"uri": "s3://elsewhere/k.mp4"}),
    Row("video-list", "get", any_role(200)),
    Row("video-detail", "get", any_role(200), V),
    Row("video-detail", "patch", admin_only(200), V, {"split": "val"}),
    Row("video-detail", "delete", admin_only(204), {"video_id": "spare_video"}),
    Row("video-split", "post", admin_only(200), body=lambda w, c: {"videos": [w.video.pk], "split": "train"}),
    Row("video-import", "post", admin_only(400), V, case="no file"),
    Row("video-auto-masklets", "post", admin_only(202), V, {}),
    Row("job-list", "get", any_role(200)),
    # ---- Accounts (admins)
    Row("user-list", "get", admin_only(200)),
    Row("user-list", "post", admin_only(201), body=lambda w, c: {"username": f"new-{c}", "password": "long enough",
                                                               "roles": ["annotator"]}),
    Row("user-detail", "get", admin_only(200), {"user_id": "annotator"}),
    Row("user-detail", "patch", admin_only(200), {"user_id": "annotator"}, {"roles": ["annotator", "reviewer"]}),
    # The annotator's propagation: someone else's job is not found (no existence leak).
    Row("job-detail", "get", outcome(404, annotator=200, admin=200), {"job_id": "job"}),
    Row("job-cancel", "post", outcome(404, annotator=200, admin=200), {"job_id": "job"}),
    # ---- Exports, model versions, retraining, metrics (admins; versions readable by all)
    Row("export-create", "post", admin_only(202), body=lambda w, c: {"format": "sav", "project": w.project.pk}),
    Row("export-download", "get", admin_only(200), {"job_id": "export"}),
    Row("model-version-list", "get", any_role(200)),
    Row("model-version-list", "post", admin_only(202), body=lambda w, c: checkpoint_in_storage(c)),
    Row("model-version-promote", "post", admin_only(200), {"version_id": "model_version"}),
    # Past the check: the world's project has no accepted masklets on val videos, nothing to score (400).
    Row("model-version-evaluate", "post", admin_only(400), {"version_id": "model_version"},
        body=lambda w, c: {"project": w.project.pk}),
    Row("retraining-round-list", "get", admin_only(200)),
    Row("retraining-round-list", "post", admin_only(400), body={}, case="no accepted masklets"),
    Row("retraining-preview", "post", admin_only(200), body={}),
    Row("retraining-round-detail", "get", admin_only(200), {"round_id": "retraining_round"}),
    Row("metrics", "get", admin_only(200)),
    Row("metrics-dashboard", "get", admin_only(200)),
    # ---- Annotation tasks: the annotator's leased task
    Row("task-list", "get", admin_only(200)),
    Row("task-list", "post", admin_only(201), body=lambda w, c: {"video": w.video.pk, "count": 1}),
    # Annotators (and admins, who hold their rights) lease; nothing is queued: 204 but for lease holders.
    Row("task-next", "post", outcome(403, annotator=200, other_annotator=200, author_reviewer=204, admin=204), body={}),
    Row("task-detail", "get", outcome(403, annotator=200, admin=200), T),
    Row("task-detail", "patch", admin_only(200), T, {"priority": 5}),
    Row("task-requeue", "post", admin_only(200), T, case="the annotator's lease"),
    Row("task-reopen", "post", admin_only(409), T, case="leased, not submitted"),
    Row("task-heartbeat", "post", lease_holder(200), T),
    Row("task-release", "post", lease_holder(200), T),
    Row("task-submit", "post", lease_holder(200), T, {}),
    Row("task-submit", "post", lease_holder(FORBIDDEN), T, case="another task's masklet",
        body=lambda w, c: {"masklets": [w.other_draft.pk]}, rules={"annotator": OWN_SUBMIT}),
    Row("task-session", "post", lease_holder(ENGINE), T),
    Row("task-prompts", "post", lease_holder(ENGINE), T, click_on_draft),
    Row("task-objects", "post", lease_holder(201), T),
    Row("task-object-detail", "patch", lease_holder(200), {**T, "object_number": "draft.object_number"},
        lambda w, c: {"label": w.spare_label.pk}),
    Row("task-object-detail", "delete", lease_holder(204), {**T, "object_number": "draft.object_number"}),
    Row("task-undo", "post", lease_holder(409), T, {}, case="no prompt yet"),
    Row("task-propagate", "post", lease_holder(400), T, {"frame_index": 0}, case="no prompt yet"),
    Row("task-masks", "get", outcome(403, annotator=200, admin=200), T),
    Row("task-session-progress", "get", outcome(403, annotator=200, admin=200), T),
    Row("task-save", "post", lease_holder(200), T),
    # ---- Verification. `submitted`: the author-reviewer's, nobody holds its review lease;
    # `leased`: the annotator's, the reviewer holds its review lease.
    Row("review-next", "post", outcome(403, reviewer=200, author_reviewer=204, admin=200), body={}),
    Row("masklet-detail", "get", outcome(200, other_annotator=FORBIDDEN), {"masklet_id": "draft"},
        case="in-progress draft", rules={"other_annotator": OWN_MASKS}),
    Row("masklet-accept", "post", outcome(403, reviewer=NEEDS_LEASE, author_reviewer=FORBIDDEN, admin=200),
        {"masklet_id": "submitted"}, revision_of("submitted"), case="nobody's lease, own work of author_reviewer",
        rules={"reviewer": REVIEW_LEASE, "author_reviewer": NO_SELF_REVIEW}),
    Row("masklet-accept", "post", outcome(403, reviewer=200, author_reviewer=409, admin=409),
        {"masklet_id": "leased"}, revision_of("leased"), case="reviewer's lease"),
    Row("masklet-reject", "post", outcome(403, reviewer=NEEDS_LEASE, author_reviewer=FORBIDDEN, admin=200),
        {"masklet_id": "submitted"}, revision_of("submitted", reason="Misses the tail."),
        case="nobody's lease, own work of author_reviewer",
        rules={"reviewer": REVIEW_LEASE, "author_reviewer": NO_SELF_REVIEW}),
    Row("masklet-reject", "post", outcome(403, reviewer=200, author_reviewer=409, admin=409),
        {"masklet_id": "leased"}, revision_of("leased", reason="Misses the tail."), case="reviewer's lease"),
    Row("masklet-comments", "get", outcome(200, other_annotator=FORBIDDEN), {"masklet_id": "leased"},
        rules={"other_annotator": OWN_MASKS}),
    Row("masklet-comments", "post", outcome(403, reviewer=201, author_reviewer=409, admin=409),
        {"masklet_id": "leased"}, revision_of("leased", frame_index=1, text="The tail is cut off here."),
        case="reviewer's lease"),
    Row("masklet-review-release", "post", outcome(403, reviewer=204, author_reviewer=409, admin=409),
        {"masklet_id": "leased"}),
    # ---- The verifier. `auto_review`: its automatic rejection, sampled for an audit.
    Row("verifier", "get", admin_only(200)),
    Row("verifier", "patch", admin_only(200), body={"target_precision": 0.97}),
    Row("verifier-train", "post", admin_only(400), case="no human decisions yet"),
    Row("verifier-audits", "get", outcome(403, reviewer=200, author_reviewer=200, admin=200)),
    Row("review-audit", "post", outcome(403, reviewer=200, author_reviewer=200, admin=200),
        {"review_id": "auto_review"}, {"decision": "reject"}),
    Row("review-reverse", "post", outcome(403, reviewer=200, author_reviewer=200, admin=200),
        {"review_id": "auto_review"}, {}),
]


def api_routes() -> dict[tuple[str, str], str]:
    """(URL name, method) → route, for every DRF view in the URL configuration."""
    found: dict[tuple[str, str], str] = {}

    def walk(patterns, prefix: str) -> None:
        for entry in patterns:
            if isinstance(entry, URLResolver):
                walk(entry.url_patterns, prefix + str(entry.pattern))
                continue
            assert isinstance(entry, URLPattern)
            view = getattr(entry.callback, "cls", None)
            route = prefix + str(entry.pattern)
            if view is None or not issubclass(view, APIView):
                assert not route.startswith("api/"), f"{route} is not a DRF view: the matrix cannot see its methods"
                continue
            assert entry.name, f"{route} has no URL name: give it one so the matrix can name it"
            for method in view.http_method_names:
                if method not in GENERIC_METHODS and hasattr(view, method):
                    found[(entry.name, method)] = route

    walk(get_resolver().url_patterns, "")
    return found


def test_every_api_route_has_a_row() -> None:
    routes = api_routes()
    covered = {(row.name, row.method) for row in MATRIX}
    missing = sorted(f"{method.upper()} /{route} (URL name {name!r})"
                     for (name, method), route in routes.items() if (name, method) not in covered)
    assert not missing, "Endpoints without a row in the permission matrix:\n  " + "\n  ".join(missing)
    gone = sorted(f"{method.upper()} {name}" for name, method in covered - set(routes))
    assert not gone, f"Rows for endpoints that no longer exist: {gone}"
    assert len(routes) >= 50, routes  # the walk sees the whole configuration


def _cases() -> list:
    cases = []
    for row in MATRIX:
        for caller in CALLER_NAMES:
            rule = row.rules.get(caller)
            marks = ([pytest.mark.xfail(strict=True, reason=f"issue 19 rule not in force yet: {rule}")]
                     if rule in PENDING_RULES else [])
            cases.append(pytest.param(row, caller, marks=marks, id=f"{row.id}-{caller}"))
    return cases


def _kwarg(world: World, path: str) -> int:
    value: Any = world
    for part in path.split("."):
        value = getattr(value, part)
    return value if isinstance(value, int) else value.pk


@pytest.mark.parametrize("row, caller", _cases())
def test_permission_matrix(row: Row, caller: str, settings) -> None:
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]  # six users a test
    settings.ENGINE_SESSION_OPEN_TIMEOUT = 0.3  # no worker: the engine's 503 comes quickly
    settings.ENGINE_SESSION_REPLY_TIMEOUT = 0.3
    world = world_seed()
    client = APIClient()
    if caller != "anonymous":
        client.credentials(HTTP_AUTHORIZATION=f"Token {world.tokens[caller]}")
    url = reverse(row.name, kwargs={name: _kwarg(world, path) for name, path in row.args.items()})
    body = row.body(world, caller) if callable(row.body) else row.body
    send = getattr(client, row.method)
    response = send(url, body, format="json") if body is not None else send(url)
    expected = row.expected[caller]
    allowed = expected if isinstance(expected, tuple) else (expected,)
    rule = f" (rule: {row.rules[caller]})" if caller in row.rules else ""
    assert response.status_code in allowed, (
        f"{row.id} as {caller}: expected {expected}{rule}, got {response.status_code}: {response.content[:300]!r}")
    if response.status_code >= 400:
        error_of(response)
