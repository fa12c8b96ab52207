"""Celery tasks: thin entry points that load rows and call services and the engine.

Importing this package imports every task module, so the worker (and ``job_dispatch``) know them.
"""

from workers import (  # noqa: F401
    automasklets,
    evaluations,
    exchange,
    ingest,
    maintenance,
    modelversions,
    propagation,
    queue,
    retraining,
    sessions,
    verifiers,
)
