"""Media storage: keys for everything the platform stores, and URLs a browser can fetch.

The backend is Django's default storage (a local folder for the demo, S3 or MinIO in
production, chosen by STORAGE_BACKEND); nothing else in the code knows which.
"""

from __future__ import annotations

import logging
import math
import os
import shutil
import tempfile
import time
import uuid
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import IO
from urllib.parse import quote, urlencode

from django.conf import settings
from django.core import signing
from django.core.files.base import ContentFile, File
from django.core.files.storage import default_storage

logger = logging.getLogger("masklet.storage")

COPY_CHUNK = 8 * 1024 * 1024


def video_prefix(video_id: int) -> str:
    return f"videos/{video_id}/"


def frame_key(video_id: int, index: int) -> str:
    return f"videos/{video_id}/frames/{index:05d}.jpg"


def thumbnail_key(video_id: int) -> str:
    return f"videos/{video_id}/thumbnail.jpg"


def source_key(video_id: int, filename: str) -> str:
    safe = "".join(c if c.isalnum() or c in "._-" else "_" for c in filename)[-120:] or "video"
    return f"videos/{video_id}/source/{safe}"


def checkpoint_key(model_version_name: str, suffix: str = ".safetensors") -> str:
    """A new key for a version's checkpoint: never one used before (a token per call), so a copy
    cached under its key can never be a stale one, even after the database is reset and the
    version names start over. ``suffix`` (.safetensors or .pt) tells the engine the file's format."""
    safe = "".join(c if c.isalnum() or c in "._-+" else "_" for c in model_version_name)[:120]
    return f"models/{safe}/{uuid.uuid4().hex[:12]}/model{suffix}"


def export_key(job_id: int, filename: str) -> str:
    return f"exports/{job_id}/{filename}"


def _clear_for_write(key: str) -> None:
    # S3 overwrites in place (file_overwrite), one request; a folder storage would pick a new name.
    if settings.STORAGE_BACKEND != "s3" and default_storage.exists(key):
        default_storage.delete(key)


def put_bytes(key: str, data: bytes) -> str:
    """Write ``data`` at exactly ``key`` (overwriting), return the key."""
    _clear_for_write(key)
    return default_storage.save(key, ContentFile(data))


def put_file(key: str, fileobj: IO[bytes]) -> str:
    """Stream a file object to ``key`` (overwriting), return the key."""
    _clear_for_write(key)
    return default_storage.save(key, File(fileobj))


def open_file(key: str, mode: str = "rb") -> IO[bytes]:
    return default_storage.open(key, mode)


def read_bytes(key: str) -> bytes:
    with default_storage.open(key, "rb") as handle:
        return handle.read()


def size_of(key: str) -> int:
    return default_storage.size(key)


def exists(key: str) -> bool:
    return default_storage.exists(key)


def delete_keys(keys: Iterable[str]) -> None:
    for key in keys:
        default_storage.delete(key)


def delete_prefix(prefix: str, *, keep: Iterable[str] = ()) -> int:
    """Delete every file under ``prefix`` (a folder-like key ending in '/') but the keys in ``keep``;
    returns how many. On a folder storage the folders left empty go too, ``prefix``'s own included."""
    count = _delete_files_under(prefix, frozenset(keep))
    _remove_empty_folders(prefix)
    return count


def _delete_files_under(prefix: str, keep: frozenset[str]) -> int:
    count = 0
    folders, files = _listdir(prefix)
    for name in files:
        if prefix + name not in keep:
            default_storage.delete(prefix + name)
            count += 1
    for folder in folders:
        count += _delete_files_under(f"{prefix}{folder}/", keep)
    return count


def _remove_empty_folders(prefix: str) -> None:
    top = local_path(prefix.rstrip("/"))
    if top is None or not os.path.isdir(top):
        return  # S3 has no folders: a prefix is gone with its last key
    for folder, _, _ in os.walk(top, topdown=False):
        try:
            os.rmdir(folder)
        except OSError:
            pass  # not empty: something kept (or written meanwhile) is in it


def delete_quietly(keys: Iterable[str]) -> None:
    """Delete what can be deleted and log the rest: cleanup must not hide the failure it follows."""
    for key in list(keys):
        try:
            default_storage.delete(key)
        except Exception:  # logged
            logger.exception("Could not delete %s", key)


def save_new(key: str, data: bytes) -> None:
    """Write ``data`` at ``key``, known to be free: one request (no existence check first)."""
    saved = default_storage.save(key, ContentFile(data))
    if saved != key:  # a folder storage renames rather than overwrite: the key was not free after all
        default_storage.delete(saved)
        put_bytes(key, data)


class StorageReadError(Exception):
    """Reading a key failed; ``cause`` is the backend's own exception, for the caller to classify."""

    def __init__(self, key: str, cause: Exception) -> None:
        super().__init__(f"{key}: {cause!r}")
        self.key, self.cause = key, cause


def location() -> str:
    """Which storage this is: the S3 endpoint and bucket, or the media folder."""
    if settings.STORAGE_BACKEND == "s3":
        return f"s3:{settings.S3_ENDPOINT_URL or ''}/{settings.S3_BUCKET}"
    return f"file:{settings.MEDIA_ROOT}"


def fingerprint(key: str) -> str:
    """Size and modification time of the file at ``key``: it changes when the file is replaced."""
    return f"{default_storage.size(key)}-{default_storage.get_modified_time(key).timestamp():.6f}"


def local_path(key: str) -> str | None:
    """The file's path on this machine for a folder storage; None for a remote one (S3)."""
    try:
        return default_storage.path(key)
    except NotImplementedError:
        return None


@contextmanager
def local_copy(key: str, *, prefix: str = "masklet-") -> Iterator[str]:
    """A local path to the file at ``key``: the file itself on a folder storage, else a temporary copy.

    Tools that need a seekable file by name (the video decoder) read it there; a failure to read
    raises StorageReadError carrying the backend's exception.
    """
    local = local_path(key)
    if local is not None:
        if not os.path.isfile(local):
            raise StorageReadError(key, FileNotFoundError(key))
        yield local
        return
    with tempfile.NamedTemporaryFile(prefix=prefix, suffix=Path(key).suffix[:16]) as copy:
        try:
            with open_file(key) as remote:
                shutil.copyfileobj(remote, copy, COPY_CHUNK)
        except Exception as error:  # the caller classifies it
            raise StorageReadError(key, error) from error
        copy.flush()
        yield copy.name


def status_of(error: Exception) -> int | None:
    """The HTTP status of an S3 client error, if it is one."""
    response = getattr(error, "response", None)
    if isinstance(response, dict):
        return response.get("ResponseMetadata", {}).get("HTTPStatusCode")
    return None


def is_transient(error: Exception) -> bool:
    """Storage did not answer (connection lost, timeout, throttling, 5xx): worth a retry later."""
    try:
        from botocore.exceptions import ConnectionError as BotoConnectionError
        from botocore.exceptions import ConnectTimeoutError, ReadTimeoutError
    except ImportError:  # pragma: no cover - boto3 is a dependency
        return isinstance(error, ConnectionError | TimeoutError)
    if isinstance(error, BotoConnectionError | ConnectTimeoutError | ReadTimeoutError | ConnectionError
                  | TimeoutError):
        return True
    status = status_of(error)
    return status is not None and (status >= 500 or status == 429)


def _listdir(prefix: str) -> tuple[list[str], list[str]]:
    try:
        return default_storage.listdir(prefix.rstrip("/"))
    except FileNotFoundError:
        return [], []


def url_for(key: str, *, expires: int | None = None) -> str:
    """A URL the browser can fetch the file at ``key`` from, valid for ``expires`` seconds."""
    return urls_for([key], expires=expires)[0]


def urls_for(keys: list[str], *, expires: int | None = None) -> list[str]:
    """URLs the browser can fetch: presigned on S3 (optionally via a public endpoint), signed by the
    server on local storage; valid for ``expires`` seconds (default S3_PRESIGNED_EXPIRY).

    Every media URL the platform hands out is made here. Holding one is the authorization to read
    that one file until it expires, so only endpoints that checked the caller's role call this.
    """
    expiry = expires or settings.S3_PRESIGNED_EXPIRY
    if settings.STORAGE_BACKEND != "s3":
        expires_at = math.ceil(time.time()) + expiry  # a whole second, never shorter than asked
        return [_signed_media_url(key, expires_at) for key in keys]
    client = _public_s3_client() if settings.S3_PUBLIC_ENDPOINT_URL else default_storage.connection.meta.client
    bucket = default_storage.bucket_name
    return [client.generate_presigned_url("get_object", Params={"Bucket": bucket, "Key": key}, ExpiresIn=expiry)
            for key in keys]


MEDIA_SIGNATURE_SEP = ":"  # between key, expiry and signature in what is signed


class MediaAccessDenied(Exception):
    """A media request without a valid, unexpired signature for exactly the key it asks for."""


def media_signature_check(*, key: str, expires: str, signature: str) -> None:
    """Raise MediaAccessDenied unless ``signature`` was issued by ``urls_for`` for exactly ``key``
    and ``expires`` (a Unix time), and that time has not passed."""
    if not (expires.isascii() and expires.isdigit()):
        raise MediaAccessDenied("The link is not a valid media link.")
    try:
        _media_signer().unsign(f"{key}{MEDIA_SIGNATURE_SEP}{expires}{MEDIA_SIGNATURE_SEP}{signature}")
    except signing.BadSignature as error:
        raise MediaAccessDenied("The link is not a valid media link.") from error
    if int(expires) < time.time():
        raise MediaAccessDenied("The link has expired; reload the page for a fresh one.")


def _media_signer() -> signing.Signer:
    return signing.Signer(salt="masklet.media", sep=MEDIA_SIGNATURE_SEP)


def _signed_media_url(key: str, expires_at: int) -> str:
    signed = _media_signer().sign(f"{key}{MEDIA_SIGNATURE_SEP}{expires_at}")
    signature = signed.rsplit(MEDIA_SIGNATURE_SEP, 1)[1]
    query = urlencode({"expires": expires_at, "signature": signature})
    return f"{settings.MEDIA_URL}{quote(key)}?{query}"


_public_client = None


def _public_s3_client():
    global _public_client
    if _public_client is None:
        import boto3
        from botocore.config import Config

        _public_client = boto3.client(
            "s3",
            endpoint_url=settings.S3_PUBLIC_ENDPOINT_URL,
            region_name=settings.S3_REGION,
            aws_access_key_id=settings.S3_ACCESS_KEY_ID,
            aws_secret_access_key=settings.S3_SECRET_ACCESS_KEY,
            config=Config(signature_version="s3v4", s3={"addressing_style": "path"}),
        )
    return _public_client
