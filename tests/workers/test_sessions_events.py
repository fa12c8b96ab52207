"""Which interactions a session replays (no worker needed): prompts in order, minus undone ones,
minus those of removed objects (a new object given the same number starts empty), minus failed or
cancelled propagations; only the events past what the worker holds are loaded."""

from __future__ import annotations

import pytest

from annotation.models import Interaction
from annotation.services.sessions import session_events, session_object_create, session_object_delete
from dataplatform.models import Job
from tests.workers import test_sessions_errors as errors

# The fixtures of the error tests, shared with this module.
api_client_for, user_factory, leased = errors.api_client_for, errors.user_factory, errors.leased


def add(task, user, kind: str, *, frame: int = 0, obj: int | None = 0, **payload) -> Interaction:
    return Interaction.objects.create(task=task, user=user, kind=kind, frame_index=frame, object_number=obj,
                                      payload=payload, phase=task.phase)


@pytest.fixture
def session(leased):
    p = leased()
    task = p["task"]
    return task, task.assignee, p["number"]


def ids(task, **kwargs) -> list[int]:
    return [e.interaction_id for e in session_events(task=task, **kwargs)]


def test_prompts_replay_in_order_without_undone_ones(session) -> None:
    task, user, n = session
    a = add(task, user, "click+", obj=n, points=[[1, 2]], labels=[1])
    b = add(task, user, "box", obj=n, box=[0, 0, 5, 5], points=[], labels=[])
    c = add(task, user, "click-", obj=n, frame=2, points=[[3, 4]], labels=[0])
    add(task, user, "undo", obj=n, undoes=c.pk)
    d = add(task, user, "mask", obj=n, mask={"size": [48, 64], "counts": "0"})
    events = session_events(task=task)
    assert [e.interaction_id for e in events] == [a.pk, b.pk, d.pk]
    assert [e.kind for e in events] == ["click", "box", "mask"]
    assert events[0].points == [[1, 2]] and events[1].box == [0, 0, 5, 5]
    assert ids(task, upto=c.pk) == [a.pk, b.pk, c.pk]  # the state c was answered in: its undo came later


def test_a_removed_object_stops_counting_and_its_number_starts_empty(session) -> None:
    task, user, n = session
    add(task, user, "click+", obj=n, points=[[1, 2]], labels=[1])
    session_object_delete(task=task, user=user, object_number=n)
    assert ids(task) == []
    again = session_object_create(task=task, user=user)
    assert again.object_number == n  # the number is free again
    e = add(task, user, "click+", obj=n, points=[[5, 5]], labels=[1])
    assert ids(task) == [e.pk]


def test_failed_or_cancelled_propagations_do_not_replay(session) -> None:
    task, user, n = session
    a = add(task, user, "click+", obj=n, points=[[1, 2]], labels=[1])
    jobs = {status: Job.objects.create(kind="propagation", status=status) for status in ("running", "queued")}
    p1 = add(task, user, "propagate", obj=None, frame_index=0, direction="forward", job=jobs["running"].pk)
    p2 = add(task, user, "propagate", obj=None, frame_index=1, direction="both", job=jobs["queued"].pk)
    events = session_events(task=task)
    assert [e.interaction_id for e in events] == [a.pk, p1.pk, p2.pk] and events[2].direction == "both"
    Job.objects.filter(pk=jobs["queued"].pk).update(status="cancelled", finished_at="2026-01-01T00:00:00Z")
    assert ids(task) == [a.pk, p1.pk]


def test_only_events_past_what_the_worker_holds_are_loaded(session) -> None:
    task, user, n = session
    a = add(task, user, "click+", obj=n, points=[[1, 2]], labels=[1])
    b = add(task, user, "click+", obj=n, points=[[3, 4]], labels=[1])
    held = session_events(task=task, applied=[a.pk])
    assert [(e.interaction_id, e.kind) for e in held] == [(a.pk, "applied"), (b.pk, "click")]
    stale = session_events(task=task, applied=[b.pk])  # not a prefix: every event, for a rebuild
    assert [e.kind for e in stale] == ["click", "click"]
