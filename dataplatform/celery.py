"""The Celery app. Queues, routes and worker defaults are declared here, in one place.

Queues:
- ``cpu``: ingest, export and import, the job reaper.
- ``gpu``: session opening, propagation, automatic masklets, retraining; every worker also
  consumes its own direct queue (``<hostname>.dq2``, Celery's ``worker_direct``) so that an
  interactive session's prompts reach the worker that holds its features.

GPU workers run with concurrency 1 (``-c 1``) and prefetch 1; their tasks' time limits are in
``GPU_TASK_LIMITS``.
"""

from __future__ import annotations

import os

from celery import Celery
from kombu import Exchange, Queue

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "dataplatform.settings")

app = Celery("masklet")
app.config_from_object("django.conf:settings", namespace="CELERY")

CPU_QUEUE = "cpu"
GPU_QUEUE = "gpu"

# Every task is routed here by its name's prefix; tasks themselves declare only their name.
TASK_ROUTES = {
    "jobs.*": {"queue": CPU_QUEUE},
    "workers.*": {"queue": CPU_QUEUE},
    "ingest.*": {"queue": CPU_QUEUE},
    "export.*": {"queue": CPU_QUEUE},
    "import.*": {"queue": CPU_QUEUE},
    "propagation.*": {"queue": GPU_QUEUE},
    "automasklets.*": {"queue": GPU_QUEUE},
    "retraining.*": {"queue": GPU_QUEUE},
    "models.*": {"queue": GPU_QUEUE},  # checking a checkpoint loads it: where the engine runs
    "session.*": {"queue": GPU_QUEUE},
}

# GPU work: soft limit (the task stops and fails its Job with a message), then the hard limit.
GPU_TASK_LIMITS = {
    "session": {"soft_time_limit": 300, "time_limit": 360},  # open (model load + replay) or one prompt
    "propagation": {"soft_time_limit": 3600, "time_limit": 3660},
    "automasklets": {"soft_time_limit": 7200, "time_limit": 7260},
    "retraining": {"soft_time_limit": 86400, "time_limit": 86460},  # a day of training at most
    "model_validation": {"soft_time_limit": 1800, "time_limit": 1860},  # copy + strict load of a checkpoint
    "model_evaluation": {"soft_time_limit": 7200, "time_limit": 7260},  # a version on a held-out split
}

app.conf.update(
    task_routes=TASK_ROUTES,
    # Every worker also consumes its own direct queue "<hostname>.dq2": an interactive session's
    # prompts go to the worker that holds its features.
    worker_direct=True,
    # Each queue on its own direct exchange and routing key. (Bare Queue(name) objects all took the
    # default exchange and key, "cpu": with Redis every cpu or gpu message reached BOTH queues.)
    task_queues=[Queue(CPU_QUEUE, Exchange(CPU_QUEUE, type="direct"), routing_key=CPU_QUEUE),
                 Queue(GPU_QUEUE, Exchange(GPU_QUEUE, type="direct"), routing_key=GPU_QUEUE)],
    task_default_queue=CPU_QUEUE,
    task_serializer="json",
    result_serializer="json",
    accept_content=["json"],
    # Long tasks are keyed on Job rows and idempotent, which makes late acks safe: a task whose
    # worker dies goes back to the queue, and its Job claim makes a second run harmless.
    task_acks_late=True,
    task_reject_on_worker_lost=True,
    worker_prefetch_multiplier=1,
    result_expires=3600,
    broker_connection_retry_on_startup=True,
    task_track_started=True,
)
app.conf.beat_schedule = {
    "reap-stale-jobs": {"task": "jobs.reap_stale", "schedule": 60.0},
    "expire-task-leases": {"task": "jobs.expire_task_leases", "schedule": 60.0},
    "verifier-decide": {"task": "jobs.verifier_decide", "schedule": 60.0},
}


@app.on_after_finalize.connect
def _import_tasks(sender, **kwargs) -> None:
    import workers  # noqa: F401 - registers every task module
