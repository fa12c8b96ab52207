"""A prompt's web request, the latency an annotator feels on every click: a fixed, small number
of queries that does not grow with the task's history, the prompt committed before the worker is
asked, the answer stored after. (No worker needed: its round trip is replaced by an answer.)

Transactional database: the statements counted are the ones production runs (no test savepoints).
"""

from __future__ import annotations

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from annotation.models import Interaction
from annotation.services.sessions import session_events
from engine import rle as rle_ops
from tests.workers import test_sessions_errors as errors

api_client_for, user_factory, leased = errors.api_client_for, errors.user_factory, errors.leased
H, W = errors.H, errors.W

# Token, roles; BEGIN, the commit not waiting for the disk, the task under its lock, its objects
# with their video, the Interaction, the effective event ids, COMMIT; the answer (one statement,
# its own transaction). The flush to disk, sent while the worker works, is not among them (it
# bypasses Django's cursor). Was 10 (the task read twice), then 9; the tenth statement is the
# cheapest of them and saves the click the disk's wait. Raise it only with a reason an annotator
# would accept as latency.
PROMPT_QUERIES = 10


@pytest.fixture
def worker(monkeypatch) -> list[dict]:
    """Stands in for the session's worker; records what it was sent and whether a transaction was
    open then (none: the prompt's was committed, as a worker on another connection needs)."""
    sent: list[dict] = []

    def call(*, task, name, args, flush=None):
        _, interaction_id, frame_index, object_number, applied, new = args
        sent.append({"interaction": interaction_id, "applied": applied, "new": new,
                     "in_transaction": connection.in_atomic_block, "flush": flush})
        return {"mask": rle_ops.empty(H, W), "latency_ms": 1.0, "replayed": 0, "worker": "w@test",
                "worker_ms": 2.0}

    monkeypatch.setattr("annotation.services.sessions._call", call)
    return sent


@pytest.mark.django_db(transaction=True)
def test_a_prompt_costs_a_fixed_number_of_queries(leased, worker) -> None:
    p = leased()
    url = f"/api/tasks/{p['task'].pk}/prompts/"
    p["client"].post(url, errors.click(p["number"]), format="json")  # fixes the task's model version
    counts = []
    for n in range(8):
        if n == 4:
            assert p["client"].post(f"/api/tasks/{p['task'].pk}/undo/", {}, format="json").status_code == 200
        with CaptureQueriesContext(connection) as queries:
            response = p["client"].post(url, errors.click(p["number"], frame_index=n % 4), format="json")
        assert response.status_code == 200, response.content
        counts.append(len(queries))
    assert max(counts) <= PROMPT_QUERIES, "\n".join(q["sql"][:160] for q in queries.captured_queries)
    assert counts == [counts[0]] * len(counts)  # not one more with a longer history

    # The prompt was committed before the worker saw it (its flush to disk under way meanwhile,
    # done before the answer); the worker got the effective events.
    last = worker[-1]
    assert not last["in_transaction"]
    if connection.vendor == "postgresql":
        assert last["flush"] is not None and last["flush"].done
    else:  # SQLite's commit already waits for the disk
        assert last["flush"] is None
    effective = [e.interaction_id for e in session_events(task=p["task"], upto=last["interaction"])]
    assert last["applied"] + [e["interaction_id"] for e in last["new"]] == effective
    answered = Interaction.objects.get(pk=last["interaction"])
    assert answered.payload["result"] == rle_ops.empty(H, W) and answered.model_latency_ms == 1.0
