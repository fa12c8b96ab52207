"""Direct replies on Redis through a real worker: a task's answer, its failure's message, and a
message that expired in the queue each come back on the caller's list, with nothing stored as a
Celery result."""

from __future__ import annotations

from datetime import timedelta

import redis
from django.utils import timezone

from dataplatform.celery import app
from dataplatform.replies import REPLY_HEADER, reply_key, reply_wait, task_send


def test_a_task_answers_on_the_caller_s_list(celery_worker) -> None:
    fetch = task_send("workers.ping", args=["x"], queue="cpu")
    reply = fetch(30)
    assert reply is not None and (reply.ok, reply.value) == (True, "pong:x")
    assert fetch(0.05) is None  # popped: read once


def test_a_failure_answers_with_its_message(celery_worker) -> None:
    reply = task_send("session.prompt", args=[987654321, 1, 0, 0], queue="cpu")(60)
    assert reply is not None and not reply.ok and "Task 987654321 does not exist" in reply.value


def test_an_expired_message_answers_expired_and_stores_no_result(celery_worker) -> None:
    key = reply_key()
    assert key is not None  # the suite's result backend is Redis
    result = app.send_task("workers.ping", args=["late"], queue="cpu", headers={REPLY_HEADER: key},
                           ignore_result=True, expires=timezone.now() - timedelta(seconds=1))
    reply = reply_wait(key, timeout=30)
    assert reply is not None and (reply.ok, reply.value) == (False, "expired")
    client = redis.Redis.from_url(str(app.conf.result_backend))
    assert not client.exists(f"celery-task-meta-{result.id}")


def test_a_wait_longer_than_redis_s_read_timeout_is_no_reply_yet_then_the_reply(monkeypatch) -> None:
    """A worker answering after more than redis-py's default socket timeout (5 s, the default reply
    timeout too) is waited for, not a TimeoutError (a 500 on the click that waited)."""
    import threading

    from dataplatform import replies

    monkeypatch.setattr(replies, "BLPOP_SLICE", 2.0)  # several BLPOPs in one wait
    key = reply_key()
    assert key is not None
    assert reply_wait(key, timeout=6.0) is None
    timer = threading.Timer(5.5, replies.reply_send, args=(key,), kwargs={"value": "late"})
    timer.start()
    try:
        reply = reply_wait(key, timeout=30.0)
    finally:
        timer.cancel()
    assert reply is not None and (reply.ok, reply.value) == (True, "late")
