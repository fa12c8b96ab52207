"""The embedded demo's broker and result store on plain files, made safe for concurrent use.

Kombu's filesystem transport and Celery's filesystem result backend write a file in place while
a reader may already pick it up: under load the reader sees half a message (a JSONDecodeError
that kills the worker) or half a result. Here every write goes to a temporary name that readers
ignore and is then renamed into place, which is atomic on one filesystem.
"""

from __future__ import annotations

import os
import uuid
from time import monotonic

from celery.backends.filesystem import FilesystemBackend
from kombu.transport import filesystem
from kombu.utils.encoding import str_to_bytes
from kombu.utils.json import dumps


def write_atomically(path: str | bytes, data: bytes) -> None:
    """Write ``data`` at ``path`` so that a reader sees either nothing or all of it."""
    path = os.fsdecode(path)
    folder, name = os.path.split(path)
    temporary = os.path.join(folder, f".{name}.{uuid.uuid4().hex}.partial")
    with open(temporary, "wb") as handle:
        handle.write(data)
    os.replace(temporary, path)


class AtomicFilesystemChannel(filesystem.Channel):
    def _put(self, queue, payload, **kwargs) -> None:
        # Same file name as kombu's (readers pick files ending in ".<queue>.msg"), written atomically.
        filename = f"{int(round(monotonic() * 1000))}_{uuid.uuid4()}.{queue}.msg"
        try:
            write_atomically(os.path.join(self.data_folder_out, filename), str_to_bytes(dumps(payload)))
        except OSError as exc:
            raise filesystem.ChannelError(f"Cannot add file {filename!r} to directory") from exc


class AtomicFilesystemTransport(filesystem.Transport):
    Channel = AtomicFilesystemChannel


class AtomicFilesystemBackend(FilesystemBackend):
    def set(self, key, value) -> None:
        write_atomically(self._filename(key), value if isinstance(value, bytes) else str(value).encode())
