"""`Sandbox`: warm worker processes (one zygote per solver family) that run generated code.

    with Sandbox() as sandbox:
        result = sandbox.run(code)          # family picked from the imports
        print(result.exit_reason, result.reported.objective, result.feedback())

Each family ('pyomo': Pyomo + HiGHS + SCIP; 'ortools': CP-SAT and pywraplp) has one long-lived
zygote process, started as a fresh interpreter with a scrubbed environment and warmed up once;
every run is a child forked from it, so a small script costs tens of milliseconds instead of
the ~0.6 s of a cold interpreter. Code importing `ortools` goes to the OR-Tools zygote
(HiGHS and OR-Tools bundle clashing copies of libhighs; see docs/STACK.md).

Thread safety and parallelism: `run` may be called from any number of threads, and `arun`
from any number of asyncio tasks (it runs `run` in a worker thread). At most `max_parallel`
runs execute at once across all families (a semaphore; the default is the number of CPUs);
the others wait their turn, and their wall-clock limit starts when they start.

Recovery: if a zygote dies (killed, out of memory) the run in flight returns `crashed` and the
next run starts a new zygote; if a zygote stops answering for `wall_seconds` + 30 s it is
killed and replaced the same way.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import weakref
from collections.abc import Iterable, Mapping
from concurrent.futures import Future
from concurrent.futures import TimeoutError as FutureTimeout
from pathlib import Path
from typing import Any

from optiagent.exceptions import CodeExecutionError, ConfigurationError
from optiagent.solvers_backend.sandbox._wire import encode_frame, read_frame
from optiagent.solvers_backend.sandbox.checks import ALLOWED_IMPORTS, check_code, detect_family
from optiagent.solvers_backend.sandbox.policy import worker_environment
from optiagent.solvers_backend.sandbox.reported import parse_reported_result
from optiagent.solvers_backend.sandbox.results import (
    ExecutionError,
    ExecutionResult,
    ExitReason,
    Limits,
)

__all__ = ["FAMILY_NAMES", "Sandbox", "rejected_result"]

FAMILY_NAMES: tuple[str, ...] = ("pyomo", "ortools")
"""The worker families: 'pyomo' (Pyomo, HiGHS, SCIP) and 'ortools' (CP-SAT, pywraplp)."""

_GRACE_S = 30.0  # beyond wall_seconds before a silent zygote is declared dead
_PACKAGE_ROOT = str(Path(__file__).resolve().parents[3])

# Started with `python -c` (its environment is the allow-list of `worker_environment`). The
# parent packages are stubbed so that importing the zygote does not run optiagent/__init__.py
# and whatever it imports; the sandbox modules the zygote needs import only the standard
# library and the solvers.
_BOOTSTRAP = """\
import os, sys, types
family, root, base_dir = sys.argv[1], sys.argv[2], sys.argv[3]
for name in ("optiagent", "optiagent.solvers_backend", "optiagent.solvers_backend.sandbox"):
    module = types.ModuleType(name)
    module.__path__ = [os.path.join(root, *name.split("."))]
    sys.modules[name] = module
from optiagent.solvers_backend.sandbox._zygote import main
main(family, base_dir)
"""


class _WorkerDied(Exception):
    """The zygote's pipe closed: it exited or was killed.

    `started` tells whether the zygote had acknowledged starting the run: a run that never
    started can be retried on a new worker without running the code twice.
    """

    def __init__(self, started: bool = False) -> None:
        super().__init__("the sandbox worker died")
        self.started = started


class _Worker:
    """The parent's handle on one zygote: a process, a reader thread, futures by request id."""

    def __init__(self, family: str, python: str) -> None:
        self.family = family
        # The parent owns the folder of the runs, so that it is removed even if the zygote
        # is killed before it can clean up.
        self.base_dir = tempfile.mkdtemp(prefix=f"optiagent-sandbox-{family}-")
        try:
            self._proc = subprocess.Popen(
                [python, "-c", _BOOTSTRAP, family, _PACKAGE_ROOT, self.base_dir],
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                stderr=subprocess.DEVNULL,
                env=worker_environment(),
                cwd=tempfile.gettempdir(),
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
                self._ready.set()
            elif op == "fatal":
                self._fatal = str(message.get("message", ""))
                self._ready.set()
            elif op == "started":
                with self._state:
                    self._started.add(int(message.get("id", -1)))
            elif op == "result":
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
            future.set_exception(_WorkerDied(started=run_id in self._started))

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
                raise _WorkerDied()
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
            raise _WorkerDied() from error
        return run_id, future

    def kill(self) -> None:
        """Kill the zygote at once (its children die with it: parent-death signal)."""
        self._alive = False
        with contextlib.suppress(OSError):
            os.killpg(self._proc.pid, signal.SIGKILL)
        _reap(self._proc, 5.0)
        shutil.rmtree(self.base_dir, ignore_errors=True)

    def close(self, timeout: float = 5.0) -> None:
        """Ask the zygote to stop (it kills its runs and removes its folders), then reap it."""
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


def _close_all(workers: dict[str, _Worker | None]) -> None:
    for family, worker in list(workers.items()):
        workers[family] = None
        if worker is not None:
            worker.close()


def rejected_result(
    issues: Iterable[object], *, family: str = "", limits: Limits | None = None
) -> ExecutionResult:
    """The result for code the static check refused (a syntax error or disallowed parts)."""
    found = list(issues)
    first = found[0] if found else None
    kind = getattr(first, "kind", None)
    error = None
    if first is not None:
        error = ExecutionError(
            type="SyntaxError" if kind == "syntax" else "Rejected",
            message=str(getattr(first, "message", first)),
            line=getattr(first, "line", None),
            source=getattr(first, "source", None),
        )
    return ExecutionResult(
        exit_reason=ExitReason.SYNTAX_ERROR if kind == "syntax" else ExitReason.REJECTED,
        error=error,
        issues=tuple(str(issue) for issue in found),
        family=family,
        limits=limits or Limits(),
    )


class Sandbox:
    """A pool of warm, confined worker processes that run generated Pyomo / OR-Tools code."""

    def __init__(
        self,
        *,
        limits: Limits | None = None,
        max_parallel: int | None = None,
        families: Iterable[str] = FAMILY_NAMES,
        python: str | None = None,
        startup_timeout: float = 120.0,
        prestart: bool = True,
    ) -> None:
        self.limits = limits or Limits()
        self.families = tuple(families)
        unknown = [family for family in self.families if family not in FAMILY_NAMES]
        if unknown:
            raise ConfigurationError(
                f"unknown sandbox families {unknown}: choose from {list(FAMILY_NAMES)}"
            )
        self.max_parallel = max_parallel or os.cpu_count() or 2
        if self.max_parallel < 1:
            raise ConfigurationError("max_parallel must be at least 1")
        self._python = python or sys.executable
        self._startup_timeout = startup_timeout
        self._slots = threading.BoundedSemaphore(self.max_parallel)
        self._workers: dict[str, _Worker | None] = dict.fromkeys(self.families)
        self._start_locks = {family: threading.Lock() for family in self.families}
        self._closed = False
        self._finalizer = weakref.finalize(self, _close_all, self._workers)
        if prestart:  # start warming up now, in parallel; the first run waits for it
            for family in self.families:
                self._workers[family] = _Worker(family, self._python)

    # --- lifecycle ----------------------------------------------------------------------

    def __enter__(self) -> Sandbox:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def close(self) -> None:
        """Stop every worker (running code is killed); the sandbox cannot be used afterwards."""
        self._closed = True
        self._finalizer()

    def worker_info(self, family: str = "pyomo") -> dict[str, Any]:
        """Start `family`'s worker if needed and return what it reported when ready.

        Keys: pid, warmup_s, versions, protections (layer -> description, or
        "unavailable: why"), baseline_vm_bytes, threads, base_dir (the folder of its runs).
        """
        return self._ready_worker(family).wait_ready(self._startup_timeout)

    def worker_pid(self, family: str = "pyomo") -> int:
        """The process id of `family`'s zygote (starting it if needed)."""
        return self._ready_worker(family).pid

    def _ready_worker(self, family: str) -> _Worker:
        if self._closed:
            raise CodeExecutionError("this Sandbox is closed: create a new one")
        if family not in self._start_locks:
            raise ConfigurationError(
                f"this Sandbox has no {family!r} worker: it was created with families="
                f"{list(self.families)}"
            )
        with self._start_locks[family]:
            worker = self._workers.get(family)
            if worker is None or not worker.alive:
                if worker is not None:
                    worker.kill()
                worker = _Worker(family, self._python)
                self._workers[family] = worker
        worker.wait_ready(self._startup_timeout)
        return worker

    def _discard(self, family: str, worker: _Worker) -> None:
        with self._start_locks[family]:
            worker.kill()
            if self._workers.get(family) is worker:
                self._workers[family] = None

    # --- running code ---------------------------------------------------------------------

    def run(
        self,
        code: str,
        *,
        limits: Limits | None = None,
        family: str | None = None,
        filename: str = "<generated>",
        files: Mapping[str, str | bytes] | None = None,
        check: bool = True,
    ) -> ExecutionResult:
        """Run `code` in a warm, confined worker and return what happened (never raises for
        anything the code does; raises CodeExecutionError only if the sandbox cannot start).

        `family` defaults to `detect_family(code)`. `files` (name -> content) are written into
        the run's directory first, for code that reads data files by relative name.
        `check=False` skips the static check and the import allow-list (the audit hook, the
        kernel layers and the limits still apply): for trusted scripts only.
        """
        limits = limits or self.limits
        chosen = family or detect_family(code)
        if check:
            issues = check_code(code)
            if issues:
                return rejected_result(issues, family=chosen, limits=limits)
        request = {
            "op": "run",
            "code": code,
            "filename": filename,
            "limits": limits.to_dict(),
            "files": _wire_files(files),
            "enforce_imports": check,
            "allowed_imports": sorted(ALLOWED_IMPORTS),
        }
        with self._slots:
            return self._run_in_worker(chosen, request, limits)

    async def arun(
        self,
        code: str,
        *,
        limits: Limits | None = None,
        family: str | None = None,
        filename: str = "<generated>",
        files: Mapping[str, str | bytes] | None = None,
        check: bool = True,
    ) -> ExecutionResult:
        """`run` for asyncio code: awaits the result without blocking the event loop."""
        return await asyncio.to_thread(
            self.run, code, limits=limits, family=family, filename=filename, files=files,
            check=check,
        )  # fmt: skip

    def _run_in_worker(
        self, family: str, request: dict[str, Any], limits: Limits
    ) -> ExecutionResult:
        for _attempt in range(2):  # a worker found dead before the run started is replaced once
            worker = self._ready_worker(family)
            try:
                _, future = worker.submit(request)
            except _WorkerDied:
                self._discard(family, worker)
                continue
            try:
                message = future.result(timeout=limits.wall_seconds + _GRACE_S)
            except _WorkerDied as died:
                self._discard(family, worker)
                if not died.started:
                    continue  # the worker died before forking the run: nothing ran yet
                return _worker_failure(
                    family, limits, "the sandbox worker process died while running the code "
                    "(killed from outside, or the machine ran out of memory); it has been "
                    "restarted: run the code again",
                )  # fmt: skip
            except FutureTimeout:
                self._discard(family, worker)
                return _worker_failure(
                    family, limits, "the sandbox worker stopped answering and was restarted; "
                    "run the code again",
                )  # fmt: skip
            return _to_result(message, family, limits)
        raise CodeExecutionError(f"the {family} sandbox worker keeps dying at start-up")


def _wire_files(files: Mapping[str, str | bytes] | None) -> dict[str, str]:
    wired: dict[str, str] = {}
    for name, content in (files or {}).items():
        if not name or name in (".", "..") or "/" in name or "\\" in name or "\0" in name:
            raise ConfigurationError(
                f"sandbox file name {name!r} must be a plain file name (no folders)"
            )
        data = content.encode("utf-8") if isinstance(content, str) else bytes(content)
        wired[name] = data.decode("latin-1")  # bytes survive JSON one-to-one this way
    return wired


def _to_result(message: Mapping[str, Any], family: str, limits: Limits) -> ExecutionResult:
    stdout = str(message.get("stdout", ""))
    error = message.get("error")
    return ExecutionResult(
        exit_reason=ExitReason(message["exit_reason"]),
        stdout=stdout,
        stderr=str(message.get("stderr", "")),
        reported=parse_reported_result(stdout),
        wall_time_s=float(message.get("wall_time_s") or 0.0),
        error=ExecutionError(**error) if isinstance(error, dict) else None,
        blocked=tuple(message.get("blocked") or ()),
        family=family,
        limits=limits,
        cpu_time_s=message.get("cpu_time_s"),
        max_rss_bytes=message.get("max_rss_bytes"),
        signal=message.get("signal"),
        output_truncated=bool(message.get("output_truncated")),
    )


def _worker_failure(family: str, limits: Limits, message: str) -> ExecutionResult:
    return ExecutionResult(
        exit_reason=ExitReason.CRASHED,
        error=ExecutionError(type="WorkerDied", message=message),
        family=family,
        limits=limits,
    )
