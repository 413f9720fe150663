"""The parent's handle on one zygote: how it is started, and how a run's folder is prepared.

The zygote starts as an isolated interpreter (`python -I -B`: no current directory, script
folder, user site-packages or PYTHON* variables on its path, so no file outside the
installed packages is imported), with its working directory in a private folder created
here with mode 0700 (never the shared temporary folder), and an environment built from a
fixed allow-list (`policy.worker_environment`), so no secret of the caller is ever in it.

For each run the parent, not the zygote, creates the run's folder inside that private
folder: the code, the data files, empty stdout and stderr files, and a named pipe for the
report, which the parent opens for reading before the zygote is asked to start the run.
"""

from __future__ import annotations

import contextlib
import itertools
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
from collections.abc import Mapping
from concurrent.futures import Future
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from optiagent.exceptions import CodeExecutionError
from optiagent.solvers_backend.sandbox import _wire
from optiagent.solvers_backend.sandbox._wire import encode_frame, read_frame
from optiagent.solvers_backend.sandbox.policy import worker_environment

__all__ = ["RunFolder", "Worker", "WorkerDied"]

_PACKAGE_ROOT = str(Path(__file__).resolve().parents[3])

# Run as `python -I -B -c`. The parent packages are stubbed so that importing the zygote does
# not run optiagent/__init__.py and whatever it imports; the sandbox modules the zygote needs
# import only the standard library and the solvers. Relative entries are dropped from the
# path for interpreters whose -I does not already do it.
_BOOTSTRAP = """\
import os, sys, types
sys.path[:] = [entry for entry in sys.path if entry and os.path.isabs(entry)]
family, root, base_dir, hook = sys.argv[1], sys.argv[2], sys.argv[3], sys.argv[4] == "on"
for name in ("optiagent", "optiagent.solvers_backend", "optiagent.solvers_backend.sandbox"):
    module = types.ModuleType(name)
    module.__path__ = [os.path.join(root, *name.split("."))]
    sys.modules[name] = module
from optiagent.solvers_backend.sandbox._zygote import main
main(family, base_dir, hook)
"""


class WorkerDied(Exception):
    """The zygote's pipe closed: it exited or was killed.

    `started` tells whether the zygote had acknowledged starting the run: a run that never
    started can be retried on a new worker without running the code twice.
    """

    def __init__(self, started: bool = False) -> None:
        super().__init__("the sandbox worker died")
        self.started = started


@dataclass
class RunFolder:
    """A run's folder in a worker's private folder, and the read end of its report pipe."""

    path: str
    report_fd: int

    @classmethod
    def create(cls, base_dir: str, code: str, files: Mapping[str, bytes]) -> RunFolder:
        """Create the folder with the code, the data files, the output files and the pipe."""
        path = tempfile.mkdtemp(prefix="run-", dir=base_dir)  # mode 0700
        try:
            work = os.path.join(path, _wire.RUN_WORK)
            os.mkdir(work, 0o700)
            with open(os.path.join(path, _wire.RUN_CODE), "w", encoding="utf-8") as handle:
                handle.write(code)
            for name, data in files.items():
                with open(os.path.join(work, name), "wb") as handle:
                    handle.write(data)
            for name in (_wire.RUN_STDOUT, _wire.RUN_STDERR):
                os.close(os.open(os.path.join(path, name), os.O_CREAT | os.O_WRONLY, 0o600))
            fifo = os.path.join(path, _wire.RUN_REPORT)
            os.mkfifo(fifo, 0o600)
            # Opened before the run starts, so the child's open for writing never blocks.
            report_fd = os.open(fifo, os.O_RDONLY | os.O_NONBLOCK | os.O_CLOEXEC)
        except BaseException:
            shutil.rmtree(path, ignore_errors=True)
            raise
        return cls(path, report_fd)

    def remove(self) -> None:
        """Close the pipe and delete the folder."""
        with contextlib.suppress(OSError):
            os.close(self.report_fd)
        shutil.rmtree(self.path, ignore_errors=True)


class Worker:
    """The parent's handle on one zygote: a process, a reader thread, futures by request id."""

    def __init__(self, family: str, python: str, audit_hook: bool = True) -> None:
        self.family = family
        # The parent owns the zygote's private folder (0700), its working directory and the
        # home of every run's folder, so that it is removed even if the zygote is killed.
        self.base_dir = os.path.realpath(tempfile.mkdtemp(prefix=f"optiagent-sandbox-{family}-"))
        try:
            self._proc = subprocess.Popen(
                [
                    python,
                    "-I",
                    "-B",
                    "-c",
                    _BOOTSTRAP,
                    family,
                    _PACKAGE_ROOT,
                    self.base_dir,
                    "on" if audit_hook else "off",
                ],
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                stderr=subprocess.DEVNULL,
                env=worker_environment(home=self.base_dir),
                cwd=self.base_dir,
                close_fds=True,
                start_new_session=True,
            )
        except OSError as error:
            shutil.rmtree(self.base_dir, ignore_errors=True)
            raise CodeExecutionError(
                f"cannot start the {family} sandbox worker with {python!r}: {error}; "
                "pass Sandbox(python=...) a Python that has pyomo, highspy, pyscipopt and ortools"
            ) from error
        self.pid = self._proc.pid
        self.info: dict[str, Any] | None = None
        self._fatal: str | None = None
        self._ready = threading.Event()
        self._state = threading.Lock()
        self._write = threading.Lock()
        self._pending: dict[int, Future[dict[str, Any]]] = {}
        self._started: set[int] = set()
        self._ids = itertools.count(1)
        self._alive = True
        self._reader = threading.Thread(
            target=self._read_loop, name=f"optiagent-sandbox-{family}", daemon=True
        )
        self._reader.start()

    @property
    def alive(self) -> bool:
        """True while the zygote runs and its pipe is open."""
        return self._alive and self._proc.poll() is None

    @property
    def busy(self) -> bool:
        """True while a run sent to this zygote has not been answered."""
        with self._state:
            return bool(self._pending)

    def _read_loop(self) -> None:
        stream = self._proc.stdout
        assert stream is not None
        while True:
            try:
                message = read_frame(stream)
            except (OSError, ValueError):
                message = None
            if message is None:
                break
            op = message.get("op")
            if op == "ready":
                self.info = message
                # The worker proper: in its own PID namespace it is a child of the process
                # started here, which only relays its exit.
                self.pid = int(message.get("pid") or self.pid)
                self._ready.set()
            elif op == "fatal":
                self._fatal = str(message.get("message", ""))
                self._ready.set()
            elif op == "started":
                with self._state:
                    self._started.add(int(message.get("id", -1)))
            elif op in ("result", "failed", "harmed"):
                with self._state:
                    run_id = int(message.get("id", -1))
                    future = self._pending.pop(run_id, None)
                    self._started.discard(run_id)
                if future is not None:
                    future.set_result(message)
        with self._state:
            self._alive = False
            pending = list(self._pending.items())
            self._pending.clear()
        self._ready.set()
        for run_id, future in pending:
            future.set_exception(WorkerDied(started=run_id in self._started))

    def wait_ready(self, timeout: float) -> dict[str, Any]:
        """Block until the zygote has warmed up; raise CodeExecutionError if it cannot start."""
        if not self._ready.wait(timeout):
            self.kill()
            raise CodeExecutionError(
                f"the {self.family} sandbox worker did not finish warming up within "
                f"{timeout:.0f} s; "
                "check that pyomo, highspy, pyscipopt and ortools import in this Python"
            )
        if self._fatal is not None:
            raise CodeExecutionError(
                f"the {self.family} sandbox worker failed to start:\n{self._fatal.strip()}"
            )
        if self.info is None:
            code = self._proc.poll()
            raise CodeExecutionError(
                f"the {self.family} sandbox worker exited during start-up (exit status {code}); "
                f"try: {sys.executable} -c 'import pyomo.environ, highspy, pyscipopt'"
            )
        return self.info

    def submit(self, request: dict[str, Any]) -> tuple[int, Future[dict[str, Any]]]:
        """Send a run request; return its id and the future of the zygote's answer."""
        future: Future[dict[str, Any]] = Future()
        with self._state:
            if not self._alive:
                raise WorkerDied()
            run_id = next(self._ids)
            self._pending[run_id] = future
        frame = encode_frame({**request, "id": run_id})
        try:
            with self._write:
                stdin = self._proc.stdin
                assert stdin is not None
                stdin.write(frame)
                stdin.flush()
        except (OSError, ValueError) as error:
            with self._state:
                self._pending.pop(run_id, None)
                self._alive = False
            raise WorkerDied() from error
        return run_id, future

    def kill(self) -> None:
        """Kill the zygote at once (its children die with it: parent-death signal)."""
        self._alive = False
        with contextlib.suppress(OSError):
            os.killpg(self._proc.pid, signal.SIGKILL)
        _reap(self._proc, 5.0)
        shutil.rmtree(self.base_dir, ignore_errors=True)

    def close(self, timeout: float = 5.0) -> None:
        """Ask the zygote to stop (it kills its runs), reap it and remove its folder."""
        try:
            if self._proc.stdin is not None:
                self._proc.stdin.close()
        except OSError:
            pass
        try:
            self._proc.wait(timeout)
        except subprocess.TimeoutExpired:
            self.kill()
        if self._proc.stdout is not None:
            self._proc.stdout.close()
        shutil.rmtree(self.base_dir, ignore_errors=True)


def _reap(proc: subprocess.Popen[bytes], timeout: float) -> None:
    with contextlib.suppress(subprocess.TimeoutExpired):
        proc.wait(timeout)
