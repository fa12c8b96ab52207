"""Starting and stopping a Celery worker process: for the embedded demo, the simulated
annotators, the benchmarks and the test suite, which all run one beside themselves."""

from __future__ import annotations

import ctypes
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import IO

REPO_ROOT = Path(__file__).resolve().parents[1]
_LIBC = ctypes.CDLL(None, use_errno=True) if sys.platform.startswith("linux") else None
_PR_SET_PDEATHSIG = 1


def start_celery_worker(*, queues: str = "cpu,gpu", hostname: str | None = None, env: dict | None = None,
                        log: IO | None = None, loglevel: str = "WARNING", concurrency: int = 1) -> subprocess.Popen:
    """A ``celery worker`` process in its own process group (so stopping it takes its pool too).

    On Linux the worker also gets SIGTERM (a warm shutdown) when the calling thread's process dies,
    even by SIGKILL: being in its own group, it would otherwise outlive a killed demo as an orphan.
    Call it from a thread that lives as long as the worker should (the main thread).
    """
    command = [sys.executable, "-m", "celery", "-A", "dataplatform", "worker", "-Q", queues,
               "-c", str(concurrency), "--loglevel", loglevel]
    if hostname:
        command += ["-n", hostname, "--without-gossip", "--without-mingle"]
    return subprocess.Popen(command, cwd=REPO_ROOT, env=env if env is not None else {**os.environ},
                            stdout=log, stderr=subprocess.STDOUT if log is not None else None,
                            start_new_session=True, preexec_fn=_stop_with(os.getpid()))


def _stop_with(parent: int) -> Callable[[], None] | None:
    """For ``preexec_fn``: the child gets SIGTERM when ``parent`` dies (Linux's parent-death signal)."""
    if _LIBC is None:
        return None

    def arm() -> None:  # runs in the child between fork and exec; the signal survives exec
        _LIBC.prctl(_PR_SET_PDEATHSIG, signal.SIGTERM)
        if os.getppid() != parent:  # the parent died before the signal was armed
            os.kill(os.getpid(), signal.SIGTERM)

    return arm


def child_pids(pid: int) -> list[int]:
    """The ids of ``pid``'s live child processes (Linux: from /proc; elsewhere none)."""
    children = []
    for entry in Path("/proc").iterdir() if Path("/proc").is_dir() else ():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:  # exited meanwhile
            continue
        # "pid (command) state ppid ...": the command may hold spaces and parentheses.
        if int(stat.rsplit(")", 1)[1].split()[1]) == pid:
            children.append(int(entry.name))
    return children


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
