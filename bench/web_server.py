"""gunicorn on a free local port, on a bench's throwaway database: the web server as in production."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Sequence
from pathlib import Path

from django.db import connection

REPO_ROOT = Path(__file__).resolve().parents[1]
PRODUCTION_ARGS = ("--workers", "3", "--timeout", "120")  # docker/Dockerfile's CMD (sync workers)
ACCESS_LOG_FORMAT = "%(m)s %(U)s ?%(q)s %(s)s %(D)s"  # method, path, query, status, request time (µs)


def database_url(database_name: str) -> str:
    """DATABASE_URL for another process on ``database_name`` (a bench's test database)."""
    db = connection.settings_dict
    return (f"postgres://{db['USER']}:{db['PASSWORD']}@{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}/"
            f"{database_name}")


def start_gunicorn(database_name: str, *, args: Sequence[str] = PRODUCTION_ARGS, static: bool = False,
                   access_log: Path | None = None) -> tuple[subprocess.Popen, str]:
    """gunicorn with ``args`` on a free port; ``static`` collects the static files for whitenoise first;
    ``access_log`` gets a line per request in ``ACCESS_LOG_FORMAT`` (gunicorn's own request time)."""
    if static:
        from django.core.management import call_command

        call_command("collectstatic", interactive=False, verbosity=0)
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    env = {**os.environ, "DATABASE_URL": database_url(database_name)}
    logging = ["--access-logfile", str(access_log), "--access-logformat", ACCESS_LOG_FORMAT] if access_log else []
    proc = subprocess.Popen([sys.executable, "-m", "gunicorn", "dataplatform.wsgi:application", "--bind",
                             f"127.0.0.1:{port}", *args, "--log-level", "warning", *logging],
                            cwd=REPO_ROOT, env=env, start_new_session=True)
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            urllib.request.urlopen(f"{base}/api/", timeout=2).read()
            return proc, base
        except urllib.error.HTTPError:
            return proc, base  # it answers (the API root may want a login)
        except OSError:
            time.sleep(0.3)
    proc.kill()
    raise SystemExit("gunicorn did not answer in 60 s.")
