"""The pool's handle on one solver worker process: start it, send it a job, kill it.

The worker's side is `_worker_main.py`. The handle speaks to it over a socket pair with
pickled messages, and never waits without a deadline: the warm-up, each phase of a job
(build, then solve) and the reaping of a killed process all have one.
"""

from __future__ import annotations

import contextlib
import os
import pickle
import re
import signal
import socket
import subprocess
import threading
from concurrent.futures import ThreadPoolExecutor
from multiprocessing.connection import Connection
from pathlib import Path
from time import monotonic
from typing import Any

from optiagent.exceptions import SolverError

__all__ = ["PastDeadline", "WorkerGone", "WorkerProcess", "start_worker"]

_PACKAGE_ROOT = str(Path(__file__).resolve().parents[2])
_BOOTSTRAP = (
    "import sys\n"
    "from optiagent.solvers_backend._worker_main import main\n"
    "main(int(sys.argv[1]), int(sys.argv[2]))\n"
)
_REAP_S = 5.0
_SPAWN_S = 60.0  # starting a process takes milliseconds; the warm-up is waited for apart
# A solver worker runs our own code on the caller's model: it needs no credentials.
_SECRET = re.compile(r"KEY|TOKEN|SECRET|PASSW|CREDENTIAL|COOKIE|^OPENAI_|^AWS_", re.I)


class WorkerGone(Exception):
    """The worker's socket closed; `sent` tells whether it had received the job."""

    def __init__(self, sent: bool) -> None:
        super().__init__("the solver worker process ended")
        self.sent = sent


class PastDeadline(Exception):
    """The job passed its deadline in `phase` ('build' or 'solve') after `seconds`."""

    def __init__(self, phase: str, seconds: float) -> None:
        super().__init__(phase)
        self.phase = phase
        self.seconds = seconds


class WorkerProcess:
    """One worker process: its socket, its log file (its fds 1 and 2), its process."""

    def __init__(self, python: str, directory: str, number: int) -> None:
        self.log_path = os.path.join(directory, f"worker-{number}.log")
        self.info: dict[str, Any] = {}
        ours, theirs = socket.socketpair()
        try:
            with open(self.log_path, "a+b") as log:  # fds 1 and 2 of the worker, from its start
                self.process = subprocess.Popen(
                    [python, "-c", _BOOTSTRAP, str(theirs.fileno()), str(os.getpid())],
                    pass_fds=(theirs.fileno(),),
                    stdin=subprocess.DEVNULL,
                    stdout=log,
                    stderr=log,
                    cwd=directory,  # private (0700): nothing there shadows a module
                    env=_environment(),
                    start_new_session=True,  # the host's Ctrl-C is for the host
                )
        except OSError as error:
            ours.close()
            raise SolverError(f"cannot start a solver worker with {python!r}: {error}") from error
        finally:
            theirs.close()
        self.connection = Connection(ours.detach())

    @property
    def alive(self) -> bool:
        """True while the process runs."""
        return self.process.poll() is None

    def wait_ready(self, seconds: float) -> None:
        """Wait for the warm-up; raise SolverError (and kill the worker) if it fails."""
        problem = None
        try:
            if self.connection.poll(seconds):
                kind, payload = pickle.loads(self.connection.recv_bytes())
                if kind == "ready":
                    self.info = dict(payload)
                    return
                problem = f"a solver worker failed to start: {payload}"
            else:
                problem = (
                    f"a solver worker did not finish starting within {seconds:.0f} s; check "
                    "that pyomo and highspy import in this Python"
                )
        except (EOFError, OSError):
            pass
        self.kill()
        raise SolverError(
            problem
            or f"a solver worker exited while starting ({self.exit_cause()}); its log: "
            f"{self.log_tail(2000) or '(empty)'}"
        )

    def run(
        self, job: tuple[str, tuple[Any, ...]], build_seconds: float, solve_seconds: float
    ) -> tuple[str, Any]:
        """Send one job; return ('result' | 'raised', payload) within both phases' deadlines.

        Raises PastDeadline (the caller kills the worker) or WorkerGone.
        """
        try:
            self.connection.send_bytes(pickle.dumps(job, protocol=pickle.HIGHEST_PROTOCOL))
        except OSError as error:
            raise WorkerGone(sent=False) from error
        started = monotonic()
        phase, deadline = "build", started + build_seconds
        try:
            while True:
                remaining = deadline - monotonic()
                if remaining <= 0:
                    raise PastDeadline(phase, monotonic() - started)
                if not self.connection.poll(remaining):
                    continue
                kind, *payload = pickle.loads(self.connection.recv_bytes())
                if kind == "solving":  # the model is built: the solver's deadline starts
                    phase, deadline = "solve", monotonic() + solve_seconds
                    continue
                return kind, payload[0]
        except (EOFError, OSError) as error:
            raise WorkerGone(sent=True) from error

    def kill(self) -> None:
        """Kill the worker (and anything it started) and reap it."""
        with contextlib.suppress(OSError):
            os.killpg(self.process.pid, signal.SIGKILL)
        with contextlib.suppress(subprocess.TimeoutExpired):
            self.process.wait(_REAP_S)
        self.connection.close()

    def stop(self) -> None:
        """Close the socket (an idle worker exits on its own); kill it if it lingers."""
        self.connection.close()
        try:
            self.process.wait(1.0)
        except subprocess.TimeoutExpired:
            self.kill()

    def exit_cause(self) -> str:
        """How the process ended, in words ('killed by SIGSEGV', 'exit status 1', ...)."""
        code = self.process.poll()
        if code is None:
            return "still running"
        if code >= 0:
            return f"exit status {code}"
        try:
            name = signal.Signals(-code).name
        except ValueError:
            name = str(-code)
        hint = " (out of memory, or killed from outside)" if name == "SIGKILL" else ""
        return f"killed by {name}{hint}"

    def log_tail(self, size: int) -> str:
        """The last `size` bytes the worker wrote to its fds 1 and 2."""
        try:
            with open(self.log_path, "rb") as handle:
                handle.seek(0, os.SEEK_END)
                handle.seek(max(0, handle.tell() - size))
                return handle.read().decode("utf-8", errors="replace")
        except OSError:
            return ""


def _environment() -> dict[str, str]:
    env = {name: value for name, value in os.environ.items() if not _SECRET.search(name)}
    # The worker imports optiagent from where this process did, installed or not.
    env["PYTHONPATH"] = os.pathsep.join(
        [_PACKAGE_ROOT, *([os.environ["PYTHONPATH"]] if os.environ.get("PYTHONPATH") else [])]
    )
    env["PYTHONUNBUFFERED"] = "1"  # a killed worker's log keeps its last lines
    return env


# A worker asks the kernel to kill it when its parent ends (PR_SET_PDEATHSIG), and Linux sends
# that signal when the *thread* that started it exits. Callers reach the pool from short-lived
# threads (asyncio.to_thread, a runner's executor), so every worker is started from the one
# thread of this executor, which lives as long as the process.
_spawner: tuple[int, ThreadPoolExecutor] | None = None
_spawner_lock = threading.Lock()


def start_worker(python: str, directory: str, number: int) -> WorkerProcess:
    """A started worker process, not yet warm (call `wait_ready`)."""
    global _spawner
    with _spawner_lock:
        if _spawner is None or _spawner[0] != os.getpid():  # a forked child needs its own
            _spawner = (os.getpid(), ThreadPoolExecutor(1, "optiagent-solver-spawner"))
        executor = _spawner[1]
    return executor.submit(WorkerProcess, python, directory, number).result(timeout=_SPAWN_S)
