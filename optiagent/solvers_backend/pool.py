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
also runs when the pool is collected or the interpreter exits. `default_pool()` is the one
`optiagent.solve` uses.
"""

from __future__ import annotations

import itertools
import os
import shutil
import sys
import tempfile
import threading
import time
import weakref
from collections.abc import Callable
from concurrent.futures import Future
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, cast

from optiagent.exceptions import ConfigurationError, SolverError
from optiagent.formulations.analysis import CheckedFormulation
from optiagent.solvers_backend.results import SolveOptions, SolveResult, SolveStatus
from optiagent.solvers_backend.worker import PastDeadline, WorkerGone, WorkerProcess, start_worker

if TYPE_CHECKING:  # the diagnosis package imports Pyomo, which only the workers need
    from optiagent.solvers_backend.diagnosis.report import Diagnosis

__all__ = ["SolverPool", "configure_default_pool", "default_pool"]

_LOG_TAIL = 1 << 20  # the log a result keeps: its last MiB
_SPAWN_MARGIN_S = 60.0  # starting the process itself, before its warm-up


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
        self._idle: list[WorkerProcess] = []
        self._warming: list[Future[WorkerProcess]] = []  # started by prestart(), unclaimed
        self._busy: set[WorkerProcess] = set()
        self._starting = 0
        self._numbers = itertools.count(1)
        self._changed = threading.Condition()
        self._closed = False
        self._owner = os.getpid()
        self._finalizer = weakref.finalize(
            self, _shutdown, self._owner, self._idle, self._busy, self._warming, self._directory
        )

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
            except WorkerGone as gone:
                self._discard(worker)
                if not gone.sent:
                    continue
                return self._crashed(worker, checked, label)
            except PastDeadline as late:
                self._discard(worker)
                return self._killed(worker, checked, label, late, time_limit)
            self._release(worker)
            if kind == "raised":
                raise payload
            return payload
        raise SolverError("solver workers keep dying before they take a job; see their logs")

    def _killed(
        self,
        worker: WorkerProcess,
        checked: CheckedFormulation,
        label: str,
        late: PastDeadline,
        time_limit: float | None,
    ) -> SolveResult:
        if late.phase == "build":
            status = SolveStatus.ERROR
            message = (
                f"building the model for {label} took more than {self.limits.build_seconds:.0f} "
                "s and its worker was killed; for a model this large, raise "
                "SolverPool(build_seconds=...)"
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
            log=worker.log_tail(_LOG_TAIL),
            message=message,
        )

    def _crashed(
        self, worker: WorkerProcess, checked: CheckedFormulation, label: str
    ) -> SolveResult:
        return SolveResult(
            status=SolveStatus.ERROR,
            backend=label,
            problem_class=checked.problem_class,
            log=worker.log_tail(_LOG_TAIL),
            message=(
                "the solver pool was closed during the solve"
                if self._closed
                else f"the {label} solver's worker process died during the solve "
                f"({worker.exit_cause()}); a fresh worker takes the next solve"
            ),
        )

    # --- workers --------------------------------------------------------------------------

    def _acquire(self) -> WorkerProcess:
        """An idle live worker, or a new one if there is room; waits at most queue_seconds."""
        if os.getpid() != self._owner:
            raise SolverError(
                "this SolverPool belongs to the process that created it; a forked child "
                "must create its own (optiagent.solvers_backend.pool.default_pool does)"
            )
        deadline = time.monotonic() + self.limits.queue_seconds
        warming: Future[WorkerProcess] | None = None
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
                if self._warming:  # claim a worker that prestart() is warming up
                    warming = self._warming.pop(0)
                    self._starting += 1
                    break
                if len(self._busy) + self._starting < self.workers:
                    self._starting += 1
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
            worker = self._claim(warming) if warming else None
            worker = worker or self._start_new()
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

    def _claim(self, warming: Future[WorkerProcess]) -> WorkerProcess | None:
        """The prestarted worker once warm, or None if its start failed (start another)."""
        try:
            return warming.result(timeout=self.limits.startup_seconds + _SPAWN_MARGIN_S)
        except Exception:
            return None

    def _start_new(self) -> WorkerProcess:
        """Start a worker and wait until it is warm (it is killed if it does not get there)."""
        worker = start_worker(self._python, self._directory, next(self._numbers))
        try:
            worker.wait_ready(self.limits.startup_seconds)
        except BaseException:
            worker.kill()
            raise
        return worker

    def prestart(self, count: int = 1) -> None:
        """Start up to `count` workers in the background, so the first solves find them warm."""
        with self._changed:
            room = self.workers - len(self._busy) - len(self._idle) - self._starting
            room -= len(self._warming)
            futures: list[Future[WorkerProcess]] = [Future() for _ in range(min(count, room))]
            self._warming.extend(futures)
        for future in futures:
            threading.Thread(target=_warm_into, args=(future, self._start_new), daemon=True).start()

    def _release(self, worker: WorkerProcess) -> None:
        with self._changed:
            self._busy.discard(worker)
            if self._closed:
                worker.stop()
            else:
                self._idle.append(worker)
            self._changed.notify()

    def _discard(self, worker: WorkerProcess) -> None:
        worker.kill()
        with self._changed:
            self._busy.discard(worker)
            self._changed.notify()


# --- the worker processes ---------------------------------------------------------------


def _warm_into(future: Future[WorkerProcess], start: Callable[[], WorkerProcess]) -> None:
    try:
        future.set_result(start())
    except BaseException as error:
        future.set_exception(error)


def _shutdown(
    owner: int,
    idle: list[WorkerProcess],
    busy: set[WorkerProcess],
    warming: list[Future[WorkerProcess]],
    directory: str,
) -> None:
    if os.getpid() != owner:  # a forked child must not stop its parent's workers
        return
    for worker in idle:
        worker.stop()
    for worker in busy:
        worker.kill()
    for future in warming:  # stopped as soon as they are up
        future.add_done_callback(lambda done: done.exception() or done.result().stop())
    idle.clear()
    busy.clear()
    warming.clear()
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
