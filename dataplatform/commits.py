"""Commits visible at once whose flush to disk overlaps other work, and is awaited before answering.

A PostgreSQL commit waits until its WAL is on disk (an fdatasync: about 4 ms on a virtual
machine's disk, the largest single cost of a click's web request). A click's prompt must be
committed before its worker is asked (a worker that lost the session reads it back) and on disk
before the answer goes back, but nothing needs the disk in between. So:

1. ``commit_without_waiting()`` inside the prompt's transaction turns ``synchronous_commit`` off
   for that transaction only: its commit is visible to every other connection at once.
2. ``flush_start()`` right after the commit sends, without waiting for the reply, a statement whose
   own transaction writes WAL (a transactional ``pg_logical_emit_message``, allowed to any role)
   and therefore commits only once the WAL up to it, the prompt's commit record included, is on
   disk. The server does that while the worker computes the mask.
3. ``DiskFlush.wait()`` after the worker's answer (normally already done) makes the prompt durable
   before the answer goes back; a failure there fails the request.

Between 2 and 3 the connection is busy: nothing may use it (the caller waits before any query).
Anywhere else (SQLite, or inside a caller's transaction, where nothing is committed yet) both are
no-ops and commits stay as they are.
"""

from __future__ import annotations

import select

from django.db import connection

from dataplatform.errors import ApplicationError

_FLUSH_SQL = b"SELECT pg_logical_emit_message(true, 'masklet', 'flush')"


def _applies() -> bool:
    """PostgreSQL through psycopg 3 (whose libpq connection can send without waiting)."""
    return connection.vendor == "postgresql" and hasattr(connection.connection, "pgconn")


def commit_without_waiting() -> bool:
    """Call first in an outermost ``atomic`` block: its commit will not wait for the disk. Whether
    it applied (then call ``flush_start`` after the commit)."""
    if not (_applies() and len(connection.atomic_blocks) == 1):
        return False
    with connection.cursor() as cursor:
        cursor.execute("SELECT set_config('synchronous_commit', 'off', true)")
    return True


class DiskFlush:
    """The flush to disk of everything this connection committed, under way on the server."""

    def __init__(self) -> None:
        self._pgconn = connection.connection.pgconn
        self._pgconn.send_query(_FLUSH_SQL)
        while self._pgconn.flush():  # the socket is non-blocking: finish sending first
            select.select([], [self._pgconn.socket], [])
        self._done = False

    @property
    def done(self) -> bool:
        """Whether ``wait`` returned (the server may have finished earlier)."""
        return self._done

    def wait(self) -> None:
        """Block until the flush is done (idempotent); fails the request if it failed."""
        if self._done:
            return
        self._done = True
        error = ""
        while (result := self._pgconn.get_result()) is not None:  # blocks until the server replies
            if result.error_message:
                error = result.error_message.decode(errors="replace").strip()
        if error:
            raise ApplicationError(f"The database did not confirm that your prompt was saved: {error}",
                                   status_code=503, code="database_unavailable")


def flush_start() -> DiskFlush | None:
    """Start flushing this connection's commits to disk (after ``commit_without_waiting``)."""
    if not _applies() or connection.in_atomic_block:
        return None
    return DiskFlush()
