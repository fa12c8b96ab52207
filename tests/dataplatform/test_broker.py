"""The embedded demo's file broker and result store: a reader never sees half a message."""

from __future__ import annotations

import threading
from pathlib import Path

from kombu import Connection

from dataplatform.broker import AtomicFilesystemBackend, write_atomically


def test_concurrent_writes_and_reads_always_see_whole_messages(tmp_path: Path) -> None:
    folder = tmp_path / "queue"
    folder.mkdir()
    options = {"data_folder_in": str(folder), "data_folder_out": str(folder),
               "control_folder": str(tmp_path / "control"),
               "processed_folder": str(tmp_path / "processed"), "store_processed": False}
    big = "x" * 8_000_000  # large enough that kombu's own in-place write is caught half-way
    sent = 40
    with Connection("filesystem://", transport="dataplatform.broker:AtomicFilesystemTransport",
                    transport_options=options) as producer_conn, \
         Connection("filesystem://", transport="dataplatform.broker:AtomicFilesystemTransport",
                    transport_options=options) as consumer_conn:
        queue = consumer_conn.SimpleQueue("work")
        producer = producer_conn.SimpleQueue("work")

        def produce() -> None:
            for index in range(sent):
                producer.put({"index": index, "body": big})

        thread = threading.Thread(target=produce)
        thread.start()
        received = []
        while len(received) < sent:
            message = queue.get(timeout=30)
            assert message.payload["body"] == big
            received.append(message.payload["index"])
            message.ack()
        thread.join()
    assert sorted(received) == list(range(sent))
    assert not [p for p in folder.iterdir() if p.name.endswith(".partial")], "no temporary file is left"


def test_result_backend_writes_whole_results(tmp_path: Path) -> None:
    from dataplatform.celery import app

    backend = AtomicFilesystemBackend(app=app, url=f"file://{tmp_path}")
    backend.set(b"celery-task-meta-1", b'{"status": "SUCCESS"}')
    assert backend.get(b"celery-task-meta-1") == b'{"status": "SUCCESS"}'
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith("celery-task-meta")] == ["celery-task-meta-1"]


def test_write_atomically_replaces_the_whole_file(tmp_path: Path) -> None:
    (tmp_path / "out").mkdir()
    target = tmp_path / "out" / "a.msg"
    write_atomically(target, b"first, longer content")
    write_atomically(str(target).encode(), b"second")
    assert target.read_bytes() == b"second"
    assert [p.name for p in (tmp_path / "out").iterdir()] == ["a.msg"]
