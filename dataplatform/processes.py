"""Starting and stopping a Celery worker process: for the embedded demo, the simulated
annotators, the benchmarks and the test suite, which all run one beside themselves."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import IO

REPO_ROOT = Path(__file__).resolve().parents[1]


def start_celery_worker(*, queues: str = "cpu,gpu", hostname: str | None = None, env: dict | None = None,
                        log: IO | None = None, loglevel: str = "WARNING", concurrency: int = 1) -> subprocess.Popen:
    """A ``celery worker`` process in its own process group (so stopping it takes its pool too)."""
    command = [sys.executable, "-m", "celery", "-A", "dataplatform", "worker", "-Q", queues,
               "-c", str(concurrency), "--loglevel", loglevel]
    if hostname:
        command += ["-n", hostname, "--without-gossip", "--without-mingle"]
    return subprocess.Popen(command, cwd=REPO_ROOT, env=env if env is not None else {**os.environ},
                            stdout=log, stderr=subprocess.STDOUT if log is not None else None,
                            start_new_session=True)


def wait_for_worker(proc: subprocess.Popen, *, hostname: str | None = None, timeout: float = 60.0) -> bool:
    """Until the worker (``hostname``, or any) answers a ping: False if it exited or time ran out."""
    from dataplatform.celery import app

    destination = [hostname.replace("%h", os.uname().nodename)] if hostname else None
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            return False
        if app.control.ping(destination=destination, timeout=0.5):
            return True
    return False


def stop_process_group(proc: subprocess.Popen, *, timeout: float = 20.0) -> None:
    """SIGTERM the process's group (a warm shutdown), then SIGKILL it if it outlives ``timeout``."""
    if proc.poll() is not None:
        return
    os.killpg(proc.pid, signal.SIGTERM)
    try:
        proc.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()
