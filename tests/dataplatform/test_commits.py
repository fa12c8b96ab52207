"""A prompt's commit is visible at once and on disk before its answer: the commit does not wait
for the disk, a flush sent right after does, and waiting for that flush makes the commit durable."""

from __future__ import annotations

import pytest
from django.db import connection, transaction

from dataplatform.commits import commit_without_waiting, flush_start
from dataplatform.models import Project


def one(sql: str, params: list | None = None):
    with connection.cursor() as cursor:
        cursor.execute(sql, params or [])
        return cursor.fetchone()[0]


@pytest.mark.django_db(transaction=True)
def test_a_commit_not_waiting_is_on_disk_once_its_flush_is_done() -> None:
    with transaction.atomic():
        assert commit_without_waiting()
        assert one("SHOW synchronous_commit") == "off"  # for this transaction only
        Project.objects.create(name="Flushed")
    assert one("SHOW synchronous_commit") == "on"
    committed = one("SELECT pg_current_wal_insert_lsn()::text")  # past the commit record
    flush = flush_start()
    assert flush is not None and not flush.done
    flush.wait()
    assert flush.done
    assert one("SELECT pg_current_wal_flush_lsn() >= %s::pg_lsn", [committed])
    flush.wait()  # idempotent; and the connection serves queries again
    assert Project.objects.filter(name="Flushed").exists()


@pytest.mark.django_db(transaction=True)
def test_inside_a_caller_s_transaction_commits_stay_as_they_are() -> None:
    with transaction.atomic():
        with transaction.atomic():
            assert not commit_without_waiting()  # not the outermost block: the caller's commit decides
        assert one("SHOW synchronous_commit") == "on"
        assert flush_start() is None  # nothing is committed yet
