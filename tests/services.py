"""Checks for the real services the suite talks to, and the loud failure when one is missing.

The reference SAM 2 (``rf-sam-2``, import name ``sam2``) is treated the same way: a test that
needs it gets it from ``require_reference``, which fails under REQUIRE_SERVICES=1 and otherwise
skips with a reason that says what is missing and how to install it.
"""

from __future__ import annotations

import importlib
import os
import socket
from types import ModuleType
from urllib.parse import urlparse

import pytest

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


REFERENCE_INSTALL = 'pip install --no-deps "rf-sam-2==1.0.3" (make install does it)'


def require_reference(module: str = "sam2") -> ModuleType:
    """Import ``module`` of the reference SAM 2 for a parity test.

    Missing, the test fails with REQUIRE_SERVICES=1 (CI: a parity suite that silently skips proves
    nothing) and is skipped otherwise, the reason naming the package and how to install it.
    """
    try:
        return importlib.import_module(module)
    except ImportError as exc:
        message = f"the reference SAM 2 is not importable ({module}: {exc}); install it with {REFERENCE_INSTALL}"
        if REQUIRE_SERVICES:
            pytest.fail(f"{message}. REQUIRE_SERVICES=1: failing instead of skipping.", pytrace=False)
        pytest.skip(message)
