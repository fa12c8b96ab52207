"""The embedded demo on SQLite takes concurrent clients while a job writes: no "database is locked".

The suite runs on PostgreSQL, so the load runs in a subprocess on a SQLite file of its own
(tests/dataplatform/sqlite_load.py), with the settings the demo gets from a sqlite:// DATABASE_URL.
With the former options (rollback journal, deferred transactions) the same load failed about
60 % of its calls with "database is locked".
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from tests.test_demo import REPO_ROOT, demo_env

ROUNDS = 30
CLIENTS_PER_ROLE = 3


@pytest.mark.slow
def test_concurrent_queue_calls_and_job_progress_never_find_the_database_locked(tmp_path: Path) -> None:
    env = demo_env(tmp_path / "var")
    env["DATABASE_URL"] = f"sqlite:///{tmp_path / 'demo.sqlite3'}"
    result = subprocess.run([sys.executable, "-m", "tests.dataplatform.sqlite_load", str(ROUNDS),
                             str(CLIENTS_PER_ROLE)], cwd=REPO_ROOT,
                            env=env, capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr[-3000:]
    outcome = json.loads(result.stdout.strip().splitlines()[-1])

    assert outcome["errors"] == 0, outcome["first_errors"]
    assert outcome["journal_mode"] == "wal"
    # Every call did its work: each annotator and reviewer got an item every round (each gives it
    # back before asking again), every queued task exists, the job's last progress is recorded.
    assert outcome["tasks_leased"] == CLIENTS_PER_ROLE * ROUNDS
    assert outcome["reviews_leased"] == CLIENTS_PER_ROLE * ROUNDS
    assert outcome["tasks"] == CLIENTS_PER_ROLE + ROUNDS
    assert outcome["job_progress"] == ROUNDS
