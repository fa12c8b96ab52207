"""The embedded demo (``python manage.py demo``, what ``make demo`` runs) started in a folder of its
own and stopped with everything it started: for ``make screenshots`` and ``tests/test_demo.py``.

The demo runs in a new session (its own process group) on SQLite and the filesystem broker under
``var_dir``; its Celery worker runs in a process group of its own too, so stopping the demo's group
does not reach the worker: the demo stops it on the way out, and the worker also gets SIGTERM when
the demo dies without a way out (``dataplatform.processes.start_celery_worker``). ``stop`` waits
until the worker is gone as well.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import requests

from dataplatform.processes import child_pids

REPO_ROOT = Path(__file__).resolve().parents[1]
# The demo's own settings: whatever services the caller's environment names are not the demo's.
NOT_THE_DEMOS = {"DATABASE_URL", "CELERY_BROKER_URL", "REDIS_URL", "CELERY_RESULT_BACKEND", "STORAGE_BACKEND",
                 "DJANGO_SETTINGS_MODULE", "MEDIA_ROOT", "STATIC_ROOT"}


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def demo_env(var_dir: Path) -> dict[str, str]:
    env = {key: value for key, value in os.environ.items() if key not in NOT_THE_DEMOS}
    env["MASKLET_VAR_DIR"] = str(var_dir)
    return env


def alive(pid: int) -> bool:
    """True while ``pid`` runs (Linux: from /proc; a zombie waiting to be reaped counts as gone)."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False
    return stat.rsplit(")", 1)[1].split()[0] != "Z"


class DemoServer:
    """``manage.py demo`` on a free port with its data under ``var_dir``; its output goes to ``log_path``."""

    def __init__(self, var_dir: Path, *, log_path: Path, port: int | None = None) -> None:
        self.var_dir, self.log_path = var_dir, log_path
        self.port = port or free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.proc: subprocess.Popen | None = None
        self.worker_pids: list[int] = []  # the demo's children (its Celery worker), seen while it served

    def start(self, *, timeout: float = 240.0) -> DemoServer:
        """Start the demo and wait until it serves its API docs (set-up, migrations and ingest first)."""
        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        with open(self.log_path, "w") as log:
            self.proc = subprocess.Popen([sys.executable, "manage.py", "demo", "--port", str(self.port)],
                                         cwd=REPO_ROOT, env=demo_env(self.var_dir), stdout=log,
                                         stderr=subprocess.STDOUT, start_new_session=True)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"the demo exited early:\n{self.log()[-3000:]}")
            try:
                if requests.get(f"{self.url}/api/docs/", timeout=2).status_code == 200:
                    break
            except requests.ConnectionError:
                pass
            time.sleep(0.5)
        else:
            self.stop()
            raise RuntimeError(f"the demo did not serve within {timeout:.0f} s:\n{self.log()[-3000:]}")
        self.worker_pids = self.wait_for_children()
        return self

    def wait_for_children(self, timeout: float = 30.0) -> list[int]:
        """The demo's child processes: the worker starts just before the web server."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            children = child_pids(self.proc.pid)
            if children:
                return children
            time.sleep(0.2)
        return []

    def log(self) -> str:
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""

    def kill(self) -> None:
        """SIGKILL the demo's process group, as a crash or a killed test run would."""
        os.killpg(self.proc.pid, signal.SIGKILL)
        self.proc.wait()

    def stop(self, *, timeout: float = 30.0) -> None:
        """Ctrl-C the demo (it stops its worker), SIGKILL it if it outlives ``timeout``; then wait for
        its worker to be gone, SIGKILLing the worker's group last of all."""
        if self.proc is None:
            return
        if self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGINT)
            try:
                self.proc.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                self.kill()
        for pid in self.worker_pids:
            deadline = time.monotonic() + timeout
            while alive(pid) and time.monotonic() < deadline:
                time.sleep(0.2)
            if alive(pid):
                try:
                    os.killpg(pid, signal.SIGKILL)
                except ProcessLookupError:
                    pass

    def __enter__(self) -> DemoServer:
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()
