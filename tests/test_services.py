"""The suite's real services answer, and the Celery worker runs tasks against them."""

from __future__ import annotations

import boto3
import pytest
import redis
from django.db import connection

from tests.services import missing_services


def test_configured_services_are_reachable() -> None:
    assert missing_services() == {}


@pytest.mark.django_db
def test_database_is_postgresql() -> None:
    assert connection.vendor == "postgresql"
    with connection.cursor() as cursor:
        cursor.execute("select version()")
        assert "PostgreSQL" in cursor.fetchone()[0]


def test_redis_round_trip() -> None:
    import os

    client = redis.Redis.from_url(os.environ["REDIS_URL"])
    client.set("masklet-test-key", "value", ex=10)
    assert client.get("masklet-test-key") == b"value"


def test_s3_server_speaks_http(s3_server: str) -> None:
    client = boto3.client("s3", endpoint_url=s3_server, region_name="us-east-1",
                          aws_access_key_id="testing", aws_secret_access_key="testing")
    client.create_bucket(Bucket="masklet-smoke")
    client.put_object(Bucket="masklet-smoke", Key="a/b.txt", Body=b"hello")
    assert client.get_object(Bucket="masklet-smoke", Key="a/b.txt")["Body"].read() == b"hello"
    assert s3_server.startswith("http://127.0.0.1:")


def test_default_storage_on_s3_presigns_urls(s3_storage: str) -> None:
    from dataplatform import storage

    key = storage.put_bytes("videos/1/frames/00000.jpg", b"jpeg bytes")
    assert storage.read_bytes(key) == b"jpeg bytes"
    url = storage.url_for(key)
    assert "X-Amz-Signature=" in url and s3_storage in url
    import requests

    assert requests.get(url, timeout=10).content == b"jpeg bytes"
    assert storage.delete_prefix("videos/1/") == 1
    assert not storage.exists(key)


def test_a_real_celery_worker_answers(celery_worker) -> None:
    from workers.maintenance import ping

    assert ping.delay("masklet").get(timeout=30) == "pong:masklet"


def test_a_missing_reference_fails_under_require_services_and_skips_with_its_reason_otherwise(monkeypatch) -> None:
    from tests import services

    name = "sam2_not_installed_here"
    monkeypatch.setattr(services, "REQUIRE_SERVICES", True)
    with pytest.raises(pytest.fail.Exception, match="REQUIRE_SERVICES=1") as failed:
        services.require_reference(name)
    assert name in str(failed.value) and "rf-sam-2" in str(failed.value)
    monkeypatch.setattr(services, "REQUIRE_SERVICES", False)
    with pytest.raises(pytest.skip.Exception, match=name) as skipped:
        services.require_reference(name)
    assert "rf-sam-2" in str(skipped.value)
    assert services.require_reference("json").__name__ == "json"  # an importable module is returned
