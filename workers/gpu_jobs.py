"""What the GPU job tasks (propagation, automatic masklets) share: streaming frames into a Job
with progress and cancel, and one policy for failures (retry the transient, fail the rest)."""

from __future__ import annotations

import logging
from collections.abc import Callable, Generator, Iterator
from contextlib import contextmanager
from typing import Any

import torch
from botocore.exceptions import BotoCoreError
from celery.exceptions import SoftTimeLimitExceeded
from django.db import InterfaceError, OperationalError

from dataplatform.models import Job
from dataplatform.services.jobs import job_cancel_requested, job_fail, job_mark_cancelled, job_progress

logger = logging.getLogger("masklet.workers")

# Worth a retry: out of GPU memory (other sessions are dropped first), storage or database
# connections lost or timed out. Anything else is final: the Job fails with the error.
TRANSIENT_ERRORS = (torch.cuda.OutOfMemoryError, ConnectionError, TimeoutError, BotoCoreError,
                    InterfaceError, OperationalError)
RETRY_SECONDS = (5, 30)


def frames_into_job(*, job: Job, frames: Generator[tuple[int, Any], None, None] | Iterator,
                    on_frame: Callable[[int, Any], None]) -> bool:
    """Hand each ``(frame_index, per_object)`` to ``on_frame``, recording progress; stop when the
    job's cancel is requested. True when every frame was seen, False when it was cancelled."""
    done = 0
    for frame_index, per_object in frames:
        on_frame(frame_index, per_object)
        done += 1
        job_progress(job=job, done=min(done, job.progress_total))
        if job_cancel_requested(job=job):
            frames.close()
            job_mark_cancelled(job=job)
            return False
    return True


@contextmanager
def gpu_job_failures(task, *, job: Job, what: str, time_limit_message: str,
                     release: Callable[[], None]) -> Iterator[None]:
    """Past the time limit, or a final error: the Job fails with a message. A transient error:
    ``release`` frees memory, then the task retries (its retry takes the running Job over)."""
    try:
        yield
    except SoftTimeLimitExceeded:
        job_fail(job=job, message=time_limit_message)
    except TRANSIENT_ERRORS as error:
        if task.request.retries >= task.max_retries:
            job_fail(job=job, message=f"{what} failed {task.max_retries + 1} times: {error}")
            return
        release()
        raise task.retry(exc=error, countdown=RETRY_SECONDS[task.request.retries]) from error
    except Exception as error:
        logger.exception("%s job %s failed", what, job.pk)
        job_fail(job=job, message=f"{what} failed: {error}")
