"""`SolverPool`: warm worker processes that run every solve, each killed at its deadline.

    pool = SolverPool(workers=4)
    result = pool.solve(checked, "scip", SolveOptions(time_limit=30))   # a SolveResult
    pool.close()

Why processes: a native solver can hang past its own time limit (SCIP blocked in write()
under Pyomo's fd capture, issue 10) and only killing its process stops it; solver libraries
also write to fds 1 and 2, and a library must never touch its host's. So each solve runs in a
worker whose fds 1 and 2 are its own log file, and the caller's process keeps its streams.

- Deadline: the solver's time limit plus `grace` seconds, counted from the moment the model
  is built and the solver starts (building has its own limit, `build_seconds`). Past it the
  worker is killed and replaced, and the result says `time_limit` and that the solver did
  not stop by itself. With no time limit the deadline is `max_seconds`.
- Parallelism: up to `workers` jobs at once (default: the number of CPUs), no lock held
  during a solve; more callers wait for a free worker at most `queue_seconds`.
- Crashes: a worker that dies mid-job (segfault, out of memory) gives `status: error` with
  the cause, and a fresh worker takes the next job.

Workers start on demand (about a second each, once) and stay warm until `close()`, which
also runs at interpreter exit. `default_pool()` is the one `optiagent.solve` uses.
"""

from __future__ import annotations

import atexit
import contextlib
import os
import pickle
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import weakref
from dataclasses import dataclass
from multiprocessing.connection import Connection
from pathlib import Path
from typing import TYPE_CHECKING, Any, cast

from optiagent.exceptions import ConfigurationError, SolverError
from optiagent.formulations.analysis import CheckedFormulation
from optiagent.solvers_backend.results import SolveOptions, SolveResult, SolveStatus

if TYPE_CHECKING:  # the diagnosis package imports Pyomo, which only the workers need
    from optiagent.solvers_backend.diagnosis.report import Diagnosis

__all__ = ["SolverPool", "configure_default_pool", "default_pool"]

_PACKAGE_ROOT = str(Path(__file__).resolve().parents[2])
_BOOTSTRAP = (
    "import sys\n"
    "from optiagent.solvers_backend._pool_worker import main\n"
    "main(int(sys.argv[1]), int(sys.argv[2]))\n"
)
_LOG_TAIL = 1 << 20
_REAP_S = 5.0


class _WorkerGone(Exception):
    """The worker's socket closed; `sent` tells whether it had received the job."""

    def __init__(self, sent: bool) -> None:
        super().__init__("the solver worker process ended")
        self.sent = sent


class _PastDeadline(Exception):
    """The job passed its deadline in `phase` ('build' or 'solve') after `seconds`."""

    def __init__(self, phase: str, seconds: float) -> None:
        super().__init__(phase)
        self.phase = phase
        self.seconds = seconds


class _Worker:
    """The pool's handle on one worker process: its socket, its log file, its process."""

    def __init__(self, python: str, directory: str, number: int) -> None:
        self.log_path = os.path.join(directory, f"worker-{number}.log")
        ours, theirs = socket.socketpair()
        try:
            with open(self.log_path, "a+b") as log:  # fds 1 and 2 of the worker, from its start
                self.process = subprocess.Popen(
                    [python, "-c", _BOOTSTRAP, str(theirs.fileno()), str(os.getpid())],
                    pass_fds=(theirs.fileno(),),
                    stdin=subprocess.DEVNULL,
                    stdout=log,
                    stderr=log,
                    cwd=directory,  # private: nothing there shadows a module
                    env=_worker_environment(),
                    start_new_session=True,  # the host's Ctrl-C is for the host
                )
        except OSError as error:
            ours.close()
            raise SolverError(f"cannot start a solver worker with {python!r}: {error}") from error
        finally:
            theirs.close()
        self.connection = Connection(ours.detach())
        self.info: dict[str, Any] = {}

    def wait_ready(self, seconds: float) -> None:
        """Wait for the worker's warm-up; raise SolverError if it fails or takes too long."""
        try:
            if self.connection.poll(seconds):
                kind, payload = pickle.loads(self.connection.recv_bytes())
                if kind == "ready":
                    self.info = dict(payload)
                    return
                self.kill()
                raise SolverError(f"a solver worker failed to start: {payload}")
        except (EOFError, OSError):
            pass
        else:
            self.kill()
            raise SolverError(
                f"a solver worker did not finish starting within {seconds:.0f} s; check that "
                "pyomo and highspy import in this Python"
            )
        self.kill()
        raise SolverError(
            f"a solver worker exited while starting ({_exit_cause(self.process)}); its log: "
            f"{_tail(self.log_path, 2000) or '(empty)'}"
        )

    @property
    def alive(self) -> bool:
        """True while the process runs."""
        return self.process.poll() is None

    def run(
        self, job: tuple[str, tuple[Any, ...]], build_seconds: float, solve_seconds: float
    ) -> tuple[str, Any]:
        """Send one job and wait for its answer within the deadlines of both phases."""
        try:
            self.connection.send_bytes(pickle.dumps(job, protocol=pickle.HIGHEST_PROTOCOL))
        except OSError as error:
            raise _WorkerGone(sent=False) from error
        started = time.monotonic()
        phase, deadline = "build", started + build_seconds
        try:
            while True:
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    raise _PastDeadline(phase, time.monotonic() - started)
                if not self.connection.poll(remaining):
                    continue
                kind, *payload = pickle.loads(self.connection.recv_bytes())
                if kind == "solving":
                    phase, deadline = "solve", time.monotonic() + solve_seconds
                    continue
                return kind, payload[0]
        except (EOFError, OSError) as error:
            raise _WorkerGone(sent=True) from error

    def kill(self) -> None:
        """Kill the worker (and anything it started) and reap it."""
        with contextlib.suppress(OSError):
            os.killpg(self.process.pid, signal.SIGKILL)
        with contextlib.suppress(subprocess.TimeoutExpired):
            self.process.wait(_REAP_S)
        self.connection.close()

    def stop(self) -> None:
        """Close the socket (an idle worker exits on its own), then make sure it is gone."""
        self.connection.close()
        try:
            self.process.wait(1.0)
        except subprocess.TimeoutExpired:
            self.kill()


@dataclass(frozen=True)
class _Limits:
    grace: float
    build_seconds: float
    max_seconds: float
    queue_seconds: float
    startup_seconds: float


class SolverPool:
    """Warm solver processes: N jobs at once, each killed and replaced at its deadline."""

    def __init__(
        self,
        workers: int | None = None,
        *,
        grace: float = 5.0,
        build_seconds: float = 600.0,
        max_seconds: float = 3600.0,
        queue_seconds: float = 3600.0,
        startup_seconds: float = 120.0,
        python: str | None = None,
    ) -> None:
        size = workers if workers is not None else os.cpu_count() or 1
        if size < 1:
            raise ConfigurationError(
                f"a solver pool needs at least 1 worker, not {size}: set "
                "OPTIAGENT_SOLVER_WORKERS (or SolverPool(workers=...)) to 1 or more"
            )
        for name, value in (
            ("grace", grace), ("build_seconds", build_seconds), ("max_seconds", max_seconds),
            ("queue_seconds", queue_seconds), ("startup_seconds", startup_seconds),
        ):  # fmt: skip
            if not value > 0:
                raise ConfigurationError(f"SolverPool({name}=...) must be positive, not {value}")
        self.workers = size
        self.limits = _Limits(grace, build_seconds, max_seconds, queue_seconds, startup_seconds)
        self._python = python or sys.executable
        self._directory = tempfile.mkdtemp(prefix="optiagent-solvers-")  # mode 0700
        self._idle: list[_Worker] = []
        self._busy: set[_Worker] = set()
        self._starting = 0
        self._numbers = iter(range(1, 1 << 62))
        self._changed = threading.Condition()
        self._closed = False
        self._owner = os.getpid()
        self._finalizer = weakref.finalize(self, _shutdown, self._idle, self._busy, self._directory)

    # --- public ---------------------------------------------------------------------------

    def solve(
        self, checked: CheckedFormulation, backend: str, options: SolveOptions
    ) -> SolveResult:
        """Solve `checked` with the named backend in a worker; every outcome is a result."""
        solve_seconds = (
            options.time_limit if options.time_limit is not None else self.limits.max_seconds
        )
        return self._job(
            ("solve", (checked, backend, options)),
            solve_seconds + self.limits.grace,
            checked,
            backend,
            options.time_limit,
        )

    def diagnose(
        self,
        checked: CheckedFormulation,
        result: SolveResult,
        *,
        time_limit: float = 20.0,
        max_solves: int = 400,
    ) -> Diagnosis | None:
        """The `Diagnosis` of an infeasible or unbounded `result` (None for other statuses).

        None also when the diagnosis itself passed its deadline or its worker died.
        """
        answer = self._job(
            ("diagnose", (checked, result, time_limit, max_solves)),
            time_limit + self.limits.grace,
            checked,
            "diagnosis",
            time_limit,
        )
        if isinstance(answer, SolveResult):  # the diagnosis itself hung or crashed
            return None
        return cast("Diagnosis | None", answer)

    def worker_info(self) -> list[dict[str, Any]]:
        """What each live worker reported when it became ready (pid, warm-up time, libraries)."""
        with self._changed:
            return [worker.info for worker in [*self._idle, *self._busy]]

    def close(self) -> None:
        """Stop every worker (a running job is killed) and remove the pool's folder."""
        with self._changed:
            self._closed = True
            self._changed.notify_all()
        self._finalizer()

    def __enter__(self) -> SolverPool:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    # --- jobs -----------------------------------------------------------------------------

    def _job(
        self,
        job: tuple[str, tuple[Any, ...]],
        solve_seconds: float,
        checked: CheckedFormulation,
        label: str,
        time_limit: float | None,
    ) -> Any:
        for _try in range(2):  # a worker found dead before it took the job is replaced once
            worker = self._acquire()
            try:
                kind, payload = worker.run(job, self.limits.build_seconds, solve_seconds)
            except _WorkerGone as gone:
                self._discard(worker)
                if not gone.sent:
                    continue
                return self._crashed(worker, checked, label)
            except _PastDeadline as late:
                self._discard(worker)
                return self._killed(worker, checked, label, late, time_limit)
            self._release(worker)
            if kind == "raised":
                raise payload
            return payload
        raise SolverError("solver workers keep dying before they take a job; see their logs")

    def _killed(
        self,
        worker: _Worker,
        checked: CheckedFormulation,
        label: str,
        late: _PastDeadline,
        time_limit: float | None,
    ) -> SolveResult:
        if late.phase == "build":
            status = SolveStatus.ERROR
            message = (
                f"building the model for {label} took more than {self.limits.build_seconds:.0f} s; "
                "its worker was killed (a model this large needs fewer indexed instances)"
            )
        else:
            status = SolveStatus.TIME_LIMIT
            limit = "no time limit" if time_limit is None else f"a time limit of {time_limit:g} s"
            message = (
                f"{label} did not stop by itself ({limit}, then {self.limits.grace:g} s of "
                f"grace); its worker process was killed after {late.seconds:.1f} s and "
                "replaced, so no solution was kept"
            )
        return SolveResult(
            status=status,
            backend=label,
            problem_class=checked.problem_class,
            solve_time_s=late.seconds,
            log=_tail(worker.log_path, _LOG_TAIL),
            message=message,
        )

    def _crashed(self, worker: _Worker, checked: CheckedFormulation, label: str) -> SolveResult:
        return SolveResult(
            status=SolveStatus.ERROR,
            backend=label,
            problem_class=checked.problem_class,
            log=_tail(worker.log_path, _LOG_TAIL),
            message=(
                f"the {label} solver's worker process died during the solve "
                f"({_exit_cause(worker.process)}); a fresh worker takes the next solve"
            ),
        )

    # --- workers --------------------------------------------------------------------------

    def _acquire(self) -> _Worker:
        """An idle live worker, or a new one if there is room; waits at most queue_seconds."""
        if os.getpid() != self._owner:
            raise SolverError(
                "this SolverPool belongs to the process that created it; a forked child "
                "must create its own (optiagent.solvers_backend.pool.default_pool does)"
            )
        deadline = time.monotonic() + self.limits.queue_seconds
        with self._changed:
            while True:
                if self._closed:
                    raise SolverError("this SolverPool is closed: create a new one")
                while self._idle:
                    worker = self._idle.pop()
                    if worker.alive:
                        self._busy.add(worker)
                        return worker
                    worker.kill()
                if len(self._busy) + self._starting < self.workers:
                    self._starting += 1
                    number = next(self._numbers)
                    break
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    raise SolverError(
                        f"no solver worker became free within {self.limits.queue_seconds:g} s "
                        f"({self.workers} workers, all busy); raise OPTIAGENT_SOLVER_WORKERS "
                        "or lower the concurrency"
                    )
                self._changed.wait(remaining)
        try:
            worker = _spawn(self._python, self._directory, number)
            try:
                worker.wait_ready(self.limits.startup_seconds)
            except BaseException:
                worker.kill()
                raise
        except BaseException:
            with self._changed:
                self._starting -= 1
                self._changed.notify()
            raise
        with self._changed:
            self._starting -= 1
            if self._closed:
                worker.stop()
                raise SolverError("this SolverPool is closed: create a new one")
            self._busy.add(worker)
        return worker

    def _release(self, worker: _Worker) -> None:
        with self._changed:
            self._busy.discard(worker)
            if self._closed:
                worker.stop()
            else:
                self._idle.append(worker)
            self._changed.notify()

    def _discard(self, worker: _Worker) -> None:
        worker.kill()
        with self._changed:
            self._busy.discard(worker)
            self._changed.notify()


# --- the worker processes ---------------------------------------------------------------


class _Spawner:
    """Starts worker processes from one long-lived thread.

    A worker asks the kernel to kill it when its parent ends (PR_SET_PDEATHSIG), and Linux
    sends that signal when the *thread* that started it exits. Callers reach the pool from
    short-lived threads (asyncio.to_thread, a runner's executor), so the workers are started
    from this thread, which lives as long as the process.
    """

    def __init__(self) -> None:
        self._requests: list[tuple[tuple[Any, ...], _Result]] = []
        self._wake = threading.Condition()
        self._thread = threading.Thread(target=self._loop, name="optiagent-solver-spawner")
        self._thread.daemon = True
        self._thread.start()

    def _loop(self) -> None:
        while True:
            with self._wake:
                while not self._requests:
                    self._wake.wait()
                args, result = self._requests.pop(0)
            try:
                result.set(_Worker(*args), None)
            except BaseException as error:
                result.set(None, error)

    def spawn(self, *args: Any) -> _Worker:
        """A started worker, not yet ready (errors of the start are raised here)."""
        result = _Result()
        with self._wake:
            self._requests.append((args, result))
            self._wake.notify()
        return result.get()


class _Result:
    def __init__(self) -> None:
        self._done = threading.Event()
        self._value: _Worker | None = None
        self._error: BaseException | None = None

    def set(self, value: _Worker | None, error: BaseException | None) -> None:
        self._value, self._error = value, error
        self._done.set()

    def get(self) -> _Worker:
        # Starting a process takes milliseconds (the warm-up is waited for by the caller).
        if not self._done.wait(60):
            raise SolverError("the solver-worker spawner did not start a process within 60 s")
        if self._error is not None:
            raise self._error
        assert self._value is not None
        return self._value


_spawner: _Spawner | None = None
_spawner_pid = 0
_spawner_lock = threading.Lock()


def _spawn(python: str, directory: str, number: int) -> _Worker:
    global _spawner, _spawner_pid
    with _spawner_lock:
        if _spawner is None or _spawner_pid != os.getpid():
            _spawner, _spawner_pid = _Spawner(), os.getpid()
        spawner = _spawner
    return spawner.spawn(python, directory, number)


def _worker_environment() -> dict[str, str]:
    env = dict(os.environ)
    # The worker imports optiagent from where this process did, installed or not.
    env["PYTHONPATH"] = os.pathsep.join(
        [_PACKAGE_ROOT, *([env["PYTHONPATH"]] if env.get("PYTHONPATH") else [])]
    )
    env["PYTHONUNBUFFERED"] = "1"  # a killed worker's log keeps its last lines
    return env


def _exit_cause(process: subprocess.Popen[bytes]) -> str:
    code = process.poll()
    if code is None:
        return "still running"
    if code < 0:
        try:
            name = signal.Signals(-code).name
        except ValueError:
            name = str(-code)
        hint = " (out of memory, or killed from outside)" if name == "SIGKILL" else ""
        return f"killed by {name}{hint}"
    return f"exit status {code}"


def _tail(path: str, size: int) -> str:
    try:
        with open(path, "rb") as handle:
            handle.seek(0, os.SEEK_END)
            handle.seek(max(0, handle.tell() - size))
            return handle.read().decode("utf-8", errors="replace")
    except OSError:
        return ""


def _shutdown(idle: list[_Worker], busy: set[_Worker], directory: str) -> None:
    for worker in [*idle, *busy]:
        worker.kill() if worker in busy else worker.stop()
    idle.clear()
    busy.clear()
    shutil.rmtree(directory, ignore_errors=True)


# --- the default pool -------------------------------------------------------------------

_default: SolverPool | None = None
_default_lock = threading.Lock()


def default_pool() -> SolverPool:
    """The process-wide pool `optiagent.solve` uses (created on first use, one per CPU)."""
    global _default
    with _default_lock:
        if _default is None or _default._owner != os.getpid() or _default._closed:
            _default = SolverPool()
        return _default


def configure_default_pool(workers: int | None = None, *, grace: float = 5.0) -> SolverPool:
    """Replace the default pool with one of `workers` workers and `grace` seconds of grace."""
    global _default
    pool = SolverPool(workers, grace=grace)
    with _default_lock:
        previous, _default = _default, pool
    if previous is not None and previous._owner == os.getpid():
        previous.close()
    return pool


@atexit.register
def _close_default_pool() -> None:
    if _default is not None and _default._owner == os.getpid():
        _default.close()
