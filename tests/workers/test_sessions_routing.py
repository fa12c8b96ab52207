"""Where session, propagation and auto-masklet messages go: the gpu queue (its own exchange and
key, so a cpu worker never gets them and no message is copied to both queues), workers' direct
queues, and the GPU tasks' limits."""

from __future__ import annotations

from celery.utils.nodenames import worker_direct

import workers  # noqa: F401 - registers the tasks
from dataplatform.celery import GPU_TASK_LIMITS, app


def route(name: str):
    return app.amqp.router.route({}, name, (), {})["queue"]


def test_each_queue_has_its_own_exchange_and_key() -> None:
    bindings = {(q.exchange.name, q.routing_key): q.name for q in app.amqp.queues.values()}
    assert bindings[("cpu", "cpu")] == "cpu" and bindings[("gpu", "gpu")] == "gpu"
    for name in ("session.open", "session.prompt", "propagation.run", "automasklets.run"):
        queue = route(name)
        assert (queue.name, queue.exchange.name, queue.routing_key) == ("gpu", "gpu", "gpu"), name
    ingest = route("ingest.video")
    assert (ingest.exchange.name, ingest.routing_key) == ("cpu", "cpu")


def test_every_worker_has_a_direct_queue() -> None:
    assert app.conf.worker_direct is True
    queue = worker_direct("gpu-1@host")
    assert (queue.name, queue.exchange.name, queue.routing_key) == ("gpu-1@host.dq2", "C.dq2", "gpu-1@host")


def test_gpu_tasks_have_time_limits_and_late_acks() -> None:
    for name, limits in (("session.open", "session"), ("session.prompt", "session"),
                         ("propagation.run", "propagation"), ("automasklets.run", "automasklets")):
        task = app.tasks[name]
        assert (task.soft_time_limit, task.time_limit) == (GPU_TASK_LIMITS[limits]["soft_time_limit"],
                                                           GPU_TASK_LIMITS[limits]["time_limit"]), name
        assert task.soft_time_limit < task.time_limit
    assert app.conf.task_acks_late and app.conf.task_reject_on_worker_lost
    assert app.conf.worker_prefetch_multiplier == 1 and app.conf.task_serializer == "json"
    assert app.tasks["session.prompt"].track_started is False  # one write less per click
