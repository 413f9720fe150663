"""A solver worker: a warm process that runs its pool's jobs (solves, diagnoses) one at a time.

Started by `SolverPool` as a fresh interpreter, with its fds 1 and 2 already on its own log
file and its protocol on a socket passed by number. It imports Pyomo and the job code, says
it is ready, loads the solver libraries while no job waits, and answers jobs until the
socket closes. Per job it sends `("solving",)` when the solver starts (the pool's deadline
runs from there) and then `("result", value)` or `("raised", exception)`. The pool kills the
process when a job passes its deadline, so nothing here needs a timeout of its own.
"""

from __future__ import annotations

import contextlib
import ctypes
import functools
import importlib.util
import os
import pickle
import signal
import sys
import time
from collections.abc import Callable
from multiprocessing.connection import Connection
from typing import Any

__all__ = ["main"]

_LOG_TAIL = 1 << 20  # the log kept per solve: its last MiB
_PR_SET_PDEATHSIG = 1


def _start_up() -> dict[str, Any]:
    """Import what every job needs: Pyomo, its solver interfaces and the job code."""
    started = time.perf_counter()
    import pyomo.environ  # noqa: F401

    from optiagent.solvers_backend.worker_capture import neutralise_fd_capture

    # Without it (a Pyomo whose capture changed shape) a SCIP log can fill Pyomo's pipe
    # again; the pool's deadline still ends such a solve.
    capture = "file" if neutralise_fd_capture() else "pipe"
    import optiagent.solvers_backend.jobs  # noqa: F401

    return {
        "pid": os.getpid(),
        "startup_s": round(time.perf_counter() - started, 3),
        "pyomo_capture": capture,
    }


def _tiny_highs_solve() -> None:
    """One solve through Pyomo's HiGHS interface: its first call loads plugins (~0.1 s)."""
    import pyomo.environ as pyo
    from pyomo.contrib.solver.common.factory import SolverFactory

    model = pyo.ConcreteModel()
    model.x = pyo.Var(bounds=(0, 1))
    model.objective = pyo.Objective(expr=model.x, sense=pyo.maximize)
    SolverFactory("highs").solve(
        model, load_solutions=False, raise_exception_on_nonoptimal_result=False
    )


def _warm_while_idle(connection: Connection) -> None:
    """Load the solver libraries one by one, stopping as soon as a job is waiting.

    A one-shot `optiagent run` of an LP then never waits for OR-Tools (0.4 s) or SCIP, and
    a long-lived worker has them all loaded before its next job; a job that arrives first
    imports what it needs itself.
    """
    steps: list[Callable[[], object]] = []
    for module in ("highspy", "pyscipopt", "ortools.sat.python.cp_model"):
        if importlib.util.find_spec(module.split(".")[0]) is not None:
            steps.append(functools.partial(importlib.import_module, module))
            if module == "highspy":
                steps.append(_tiny_highs_solve)
    for step in steps:
        if connection.poll(0):
            return
        with contextlib.suppress(Exception):  # a library that fails here fails its job later
            step()
    _read_log(keep=False)


def _die_with_parent(parent_pid: int) -> None:
    """Ask the kernel to kill this worker when the pool's process ends, however it ends."""
    with contextlib.suppress(OSError, AttributeError):
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(_PR_SET_PDEATHSIG, int(signal.SIGKILL), 0, 0, 0)
    if os.getppid() != parent_pid:  # the parent died before the request took effect
        os._exit(0)


def _send(connection: Connection, message: tuple[Any, ...]) -> None:
    connection.send_bytes(pickle.dumps(message, protocol=pickle.HIGHEST_PROTOCOL))


def _portable(error: BaseException) -> BaseException:
    """The exception itself if it survives pickling, else a SolverError with its text."""
    try:
        pickle.loads(pickle.dumps(error))
        return error
    except Exception:
        from optiagent.exceptions import SolverError

        return SolverError(f"{type(error).__name__}: {error}")


def _read_log(keep: bool) -> str:
    """What fds 1/2 received during the job (its last MiB), then an empty file for the next."""
    for stream in (sys.stdout, sys.stderr):  # what Python code printed is in the file too
        with contextlib.suppress(Exception):
            stream.flush()
    text = ""
    if keep:
        size = os.fstat(1).st_size
        start = max(0, size - _LOG_TAIL)
        text = os.pread(1, size - start, start).decode("utf-8", errors="replace")
    os.ftruncate(1, 0)  # the file is opened for appending: the next write starts at 0
    return text


def _run(connection: Connection, name: str, args: tuple[Any, ...]) -> None:
    from optiagent.solvers_backend.jobs import JOBS
    from optiagent.solvers_backend.phase import listening_for_solver_start
    from optiagent.solvers_backend.results import SolveOptions, SolveResult

    def announce() -> None:
        _send(connection, ("solving",))

    try:
        with listening_for_solver_start(announce):
            value = JOBS[name](*args)
    except Exception as error:
        _read_log(keep=False)
        _send(connection, ("raised", _portable(error)))
        return
    keep = any(isinstance(arg, SolveOptions) and arg.keep_log for arg in args)
    log = _read_log(keep)
    if isinstance(value, SolveResult) and keep and not value.log:
        value.log = log
    _send(connection, ("result", value))


def main(fd: int, parent_pid: int) -> None:
    """Serve jobs on the socket `fd` until it closes (called by the pool's bootstrap)."""
    _die_with_parent(parent_pid)
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # the host's Ctrl-C is for the host
    connection = Connection(fd)
    try:
        info = _start_up()
    except BaseException as error:
        _send(connection, ("fatal", f"{type(error).__name__}: {error}"))
        os._exit(1)
    _read_log(keep=False)
    _send(connection, ("ready", info))
    _warm_while_idle(connection)
    while True:
        try:
            name, args = pickle.loads(connection.recv_bytes())
        except (EOFError, OSError):
            os._exit(0)  # the pool closed or its process ended
        _run(connection, name, args)
