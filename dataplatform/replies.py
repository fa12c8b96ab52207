"""Direct replies: an interactive task's answer pushed onto a Redis list that its caller blocks on.

Why not Celery's result backend, on every click: on Redis, ``AsyncResult.get`` subscribes to the
task's channel, reads the stored result once (in case it came before the subscription) and
unsubscribes afterwards; the worker reads the stored state before it writes the new one (Celery's
guard against overwriting a success), then stores it and publishes it. That is three round trips
more than a reply needs, and the pubsub machinery on both sides, for an answer read once.

Here the caller names a fresh list in the message's ``masklet_reply`` header and sends it with
``ignore_result``; the worker pushes one message onto the list (and its expiry, in one round trip)
and the caller's ``BLPOP`` returns the moment it lands: no polling, no subscription, nothing stored
for anyone else. A failure is a reply too (its message), and so is a message that expired in the
queue (``task_revoked``), so a caller learns of either as it would from Celery's result.

Only where the result backend is Redis: elsewhere (the embedded demo's files) ``reply_key`` is
None and callers use Celery's results. A reply nobody reads expires with ``result_expires``.
"""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta
from functools import cache
from typing import Any

import redis
from celery import Task
from celery.exceptions import TimeoutError as CeleryTimeoutError
from celery.result import AsyncResult
from celery.signals import task_revoked

from dataplatform.celery import app

REPLY_HEADER = "masklet_reply"



@dataclass(frozen=True)
class Reply:
    """A task's answer: its return value, or the message of its failure."""

    ok: bool
    value: Any


# A read from Redis gives up after SOCKET_TIMEOUT seconds (redis-py's own default is 5, which a BLPOP
# of 5 seconds, the default reply timeout, races with: a TimeoutError instead of "no reply yet").
# A wait longer than BLPOP_SLICE is several BLPOPs, each well within the socket's timeout.
SOCKET_TIMEOUT = 30.0
BLPOP_SLICE = 20.0


@cache
def _redis() -> redis.Redis | None:
    """A client of the result backend's Redis (a pool per process, safe across the worker's fork)."""
    url = str(app.conf.result_backend or "")
    if not url.startswith(("redis://", "rediss://")):
        return None
    return redis.Redis.from_url(url, socket_timeout=SOCKET_TIMEOUT)


def _expiry_seconds() -> int:
    expires = app.conf.result_expires
    return int(expires.total_seconds() if isinstance(expires, timedelta) else expires or 3600)


def reply_key() -> str | None:
    """A new list for one reply, or None when the result backend is not Redis (use Celery's results)."""
    return f"masklet-reply-{uuid.uuid4().hex}" if _redis() is not None else None


def reply_send(key: str, *, value: Any = None, error: str | None = None) -> None:
    """Push the reply (a value, or an error message) onto ``key``, with its expiry, in one round trip."""
    message = json.dumps({"ok": error is None, "value": value if error is None else error})
    with _redis().pipeline(transaction=False) as pipe:
        pipe.rpush(key, message)
        pipe.expire(key, _expiry_seconds())
        pipe.execute()


def reply_wait(key: str, *, timeout: float) -> Reply | None:
    """The reply on ``key``, or None when none came within ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    popped = None
    while popped is None:
        left = deadline - time.monotonic()
        if left <= 0:
            return None
        popped = _redis().blpop([key], timeout=max(0.01, min(left, BLPOP_SLICE)))
    message = json.loads(popped[1])
    return Reply(bool(message["ok"]), message["value"])


def progress_send(key: str, *, done: int, total: int, ttl: int = 120) -> None:
    """Publish how far a long answer got (e.g. a session's replay), for the caller to show while it
    waits; nothing when the result backend is not Redis."""
    client = _redis()
    if client is not None:
        client.set(f"masklet-progress-{key}", json.dumps({"done": done, "total": total}), ex=ttl)


def progress_read(key: str) -> dict | None:
    """The latest ``progress_send`` of ``key`` ({done, total}), or None (none, expired, or no Redis)."""
    client = _redis()
    raw = client.get(f"masklet-progress-{key}") if client is not None else None
    return None if raw is None else json.loads(raw)


def progress_clear(key: str) -> None:
    client = _redis()
    if client is not None:
        client.delete(f"masklet-progress-{key}")


def result_reply(result: AsyncResult) -> Callable[[float], Reply | None]:
    """How to wait on a task's Celery result: ``fetch(timeout)`` is its reply, or None if not yet."""
    def fetch(timeout: float) -> Reply | None:
        try:
            value = result.get(timeout=timeout, propagate=False, interval=0.005)
        except CeleryTimeoutError:
            return None
        return Reply(result.successful(), value)  # failed, or revoked (expired in a queue)

    return fetch


def task_send(name: str, *, args: list, queue: Any, expires: float | None = None,
              argsrepr: str | None = None) -> Callable[[float], Reply | None]:
    """Send task ``name`` (a ``DirectReplyTask``) to ``queue``; how to wait for its answer: a
    direct reply where the result backend is Redis, else its Celery result."""
    key = reply_key()
    options: dict[str, Any] = {"headers": {REPLY_HEADER: key}, "ignore_result": True} if key else {}
    result = app.send_task(name, args=args, queue=queue, expires=expires, argsrepr=argsrepr, **options)
    return (lambda timeout: reply_wait(key, timeout=timeout)) if key else result_reply(result)


class DirectReplyTask(Task):
    """A task that also answers on the list named by its message's ``masklet_reply`` header, if any."""

    def on_success(self, retval: Any, task_id: str, args: tuple, kwargs: dict) -> None:
        key = self.request.get(REPLY_HEADER)
        if key:
            reply_send(key, value=retval)

    def on_failure(self, exc: BaseException, task_id: str, args: tuple, kwargs: dict, einfo: Any) -> None:
        key = self.request.get(REPLY_HEADER)
        if key:
            reply_send(key, error=str(exc))


@task_revoked.connect
def _reply_revoked(sender=None, request=None, expired: bool = False, **kwargs: Any) -> None:
    """A message that expired in the queue (or was revoked) never runs: tell its caller."""
    key = request.get(REPLY_HEADER) if request is not None else None
    if key:
        reply_send(key, error="expired" if expired else "revoked")
