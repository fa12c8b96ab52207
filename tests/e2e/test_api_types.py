"""The web UI's API types are generated from the backend's OpenAPI schema: fail when the committed
frontend/openapi.yaml or frontend/src/api/schema.d.ts fall behind it (`npm run check:api`)."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys

import pytest

from tests.e2e.conftest import REPO_ROOT
from tests.services import REQUIRE_SERVICES

FRONTEND = REPO_ROOT / "frontend"


def test_generated_api_types_match_the_backend_schema():
    node = shutil.which("node")
    generator = FRONTEND / "node_modules" / ".bin" / "openapi-typescript"
    if node is None or not generator.exists():
        why = "Node.js or frontend/node_modules is missing: run `npm ci` in frontend/"
        if REQUIRE_SERVICES:
            pytest.fail(why)
        pytest.skip(why)
    result = subprocess.run([node, "scripts/check-api.mjs"], cwd=FRONTEND, capture_output=True, text=True,
                            env={**os.environ, "PYTHON": sys.executable},
                            timeout=180)
    assert result.returncode == 0, result.stdout + result.stderr
