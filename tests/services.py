"""Checks for the real services the suite talks to, and the loud failure when one is missing."""

from __future__ import annotations

import os
import socket
from urllib.parse import urlparse

REQUIRE_SERVICES = os.environ.get("REQUIRE_SERVICES", "") in {"1", "true", "yes"}


def reachable(host: str, port: int, timeout: float = 1.0) -> bool:
    try:
        with socket.create_connection((host, port), timeout=timeout):
            return True
    except OSError:
        return False


def url_reachable(url: str, default_port: int) -> bool:
    parsed = urlparse(url)
    return reachable(parsed.hostname or "127.0.0.1", parsed.port or default_port)


def missing_services() -> dict[str, str]:
    """Service name → why it is missing, for the services this run is configured to use."""
    missing: dict[str, str] = {}
    database_url = os.environ.get("DATABASE_URL", "")
    if database_url.startswith("postgres") and not url_reachable(database_url, 5432):
        missing["PostgreSQL"] = f"nothing answers at {urlparse(database_url).netloc}"
    redis_url = os.environ.get("REDIS_URL", "redis://127.0.0.1:6379/14")
    if not url_reachable(redis_url, 6379):
        missing["Redis"] = f"nothing answers at {urlparse(redis_url).netloc}"
    return missing
