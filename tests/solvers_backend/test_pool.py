"""The solver pool: solves in worker processes that stop at their deadline, in parallel,
without touching this process's streams (issue 10)."""

from __future__ import annotations

import os
import signal
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest

from optiagent.exceptions import ConfigurationError, IncompatibleBackendError, SolverError
from optiagent.formulations.analysis import check_formulation
from optiagent.formulations.io import load_formulation, parse_formulation
from optiagent.solvers_backend.api import diagnose, solve
from optiagent.solvers_backend.pool import SolverPool, default_pool
from optiagent.solvers_backend.registry import choose_backend
from optiagent.solvers_backend.results import SolveOptions, SolveStatus

EXAMPLES = Path(__file__).parents[2] / "examples"
CYLINDER = Path(__file__).parent / "data" / "hemisphere_top_cylinder.yaml"


def _checked(path: Path) -> Any:
    return check_formulation(load_formulation(path))


def _busy_pid(pool: SolverPool, timeout: float = 30.0) -> int:
    """The pid of the worker that is running a job (waits until one is)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with pool._changed:
            busy = [worker for worker in pool._busy if worker.info]
        if busy:
            return busy[0].process.pid
        time.sleep(0.05)
    raise AssertionError("no worker became busy")


@pytest.mark.slow
def test_scip_with_a_long_log_stops_at_its_own_time_limit() -> None:
    """In the caller's process this solve never returned: SCIP's log filled Pyomo's pipe."""
    started = time.monotonic()
    result = solve(_checked(CYLINDER), time_limit=30)
    elapsed = time.monotonic() - started
    assert elapsed < 45
    assert result.status in (SolveStatus.TIME_LIMIT, SolveStatus.OPTIMAL, SolveStatus.FEASIBLE)
    # SCIP stopped by itself with its incumbent (a killed worker keeps no solution).
    assert result.has_solution and result.objective == pytest.approx(131.27, rel=1e-3)
    assert "SCIP" in result.log


@pytest.mark.slow
def test_four_solves_from_threads_run_in_parallel() -> None:
    checked = _checked(CYLINDER)
    with SolverPool(workers=4) as pool:
        started = time.monotonic()
        with ThreadPoolExecutor(max_workers=4) as threads:
            results = list(
                threads.map(
                    lambda _: pool.solve(checked, "scip", SolveOptions(time_limit=8)), range(4)
                )
            )
        elapsed = time.monotonic() - started
    assert all(r.status is SolveStatus.TIME_LIMIT and r.has_solution for r in results)
    # one deadline (8 s + worker start), not four in a row (32 s)
    assert elapsed < 22, elapsed


def test_a_solver_that_does_not_stop_is_killed_at_the_deadline() -> None:
    checked = _checked(CYLINDER)
    with SolverPool(workers=1, grace=1.0) as pool:
        pool.solve(_checked(EXAMPLES / "wyndor.yaml"), "highs", SolveOptions())  # warm
        frozen: list[int] = []

        def freeze_the_solver() -> None:
            pid = _busy_pid(pool)
            os.kill(pid, signal.SIGSTOP)  # a solver stuck in native code, using no CPU
            frozen.append(pid)

        freezer = threading.Thread(target=freeze_the_solver)
        freezer.start()
        started = time.monotonic()
        result = pool.solve(checked, "scip", SolveOptions(time_limit=2))
        elapsed = time.monotonic() - started
        freezer.join()
        assert result.status is SolveStatus.TIME_LIMIT and not result.values
        assert "did not stop by itself" in result.message and "killed" in result.message
        assert elapsed < 10
        with pytest.raises(ProcessLookupError):  # killed and reaped
            os.kill(frozen[0], 0)
        after = pool.solve(_checked(EXAMPLES / "wyndor.yaml"), "highs", SolveOptions())
        assert after.status is SolveStatus.OPTIMAL and after.objective == pytest.approx(36)


def test_a_worker_killed_mid_solve_gives_an_error_and_the_next_solve_works() -> None:
    with SolverPool(workers=1) as pool:
        threading.Thread(
            target=lambda: os.kill(_busy_pid(pool), signal.SIGKILL), daemon=True
        ).start()
        result = pool.solve(_checked(CYLINDER), "scip", SolveOptions(time_limit=20))
        assert result.status is SolveStatus.ERROR
        assert "died" in result.message and "SIGKILL" in result.message
        after = pool.solve(_checked(EXAMPLES / "transport.yaml"), "highs", SolveOptions())
        assert after.status is SolveStatus.OPTIMAL and after.objective == pytest.approx(153.675)


def _fd_target(fd: int) -> tuple[int, int]:
    info = os.fstat(fd)
    return info.st_dev, info.st_ino


def test_this_process_streams_and_fds_are_never_touched() -> None:
    streams = (sys.stdout, sys.stderr, sys.__stdout__, sys.__stderr__)
    targets = (_fd_target(1), _fd_target(2))
    names = ["wyndor", "transport", "knapsack", "max_product", "jobshop"]
    checked = [_checked(EXAMPLES / f"{name}.yaml") for name in names] * 10
    with ThreadPoolExecutor(max_workers=8) as threads:
        results = list(threads.map(lambda c: solve(c, time_limit=30), checked))
    assert {r.status for r in results} == {SolveStatus.OPTIMAL}
    assert all(r.log for r in results)
    assert (sys.stdout, sys.stderr, sys.__stdout__, sys.__stderr__) == streams
    assert (_fd_target(1), _fd_target(2)) == targets
    for fd in (1, 2):
        os.write(fd, b"")  # still open and writable
    print("", end="", flush=True)


def test_diagnosis_runs_in_a_worker() -> None:
    checked = _checked(EXAMPLES / "infeasible.yaml")
    result = solve(checked)
    assert result.status is SolveStatus.INFEASIBLE
    found = diagnose(checked, result, time_limit=10)
    assert found is not None and found.kind == "infeasible"
    assert diagnose(checked, solve(_checked(EXAMPLES / "wyndor.yaml"))) is None


def test_exceptions_of_the_job_reach_the_caller() -> None:
    with SolverPool(workers=1) as pool, pytest.raises(KeyError, match="nosuch"):
        pool.solve(_checked(EXAMPLES / "wyndor.yaml"), "nosuch", SolveOptions())


def test_a_continuous_variable_in_a_cp_model_is_named_not_called_a_missing_package() -> None:
    document = load_formulation(EXAMPLES / "jobshop.yaml").model_dump(mode="json")
    for variable in document["variables"]:
        if variable["name"] == "makespan":
            variable["domain"] = "nonnegative_real"
    checked = check_formulation(parse_formulation(document))
    with pytest.raises(IncompatibleBackendError) as raised:
        choose_backend(checked)
    message = str(raised.value)
    assert "cpsat: variable 'makespan' is continuous" in message
    assert "CP-SAT takes integer and interval variables only" in message
    assert "declare it integer" in message and "not installed" not in message


def test_bad_pool_settings_say_what_to_change() -> None:
    with pytest.raises(ConfigurationError, match="OPTIAGENT_SOLVER_WORKERS"):
        SolverPool(workers=0)
    with pytest.raises(ConfigurationError, match="grace"):
        SolverPool(grace=0)


def test_a_closed_pool_refuses_work_and_the_default_pool_is_replaced() -> None:
    pool = SolverPool(workers=1)
    pool.close()
    with pytest.raises(SolverError, match="closed"):
        pool.solve(_checked(EXAMPLES / "wyndor.yaml"), "highs", SolveOptions())
    first = default_pool()
    assert default_pool() is first


def test_a_forked_child_neither_uses_nor_stops_its_parents_workers() -> None:
    wyndor = _checked(EXAMPLES / "wyndor.yaml")
    with SolverPool(workers=1) as pool:
        assert pool.solve(wyndor, "highs", SolveOptions()).status is SolveStatus.OPTIMAL
        child = os.fork()
        if child == 0:  # pragma: no cover - the child reports through its exit status
            code = 0
            try:
                pool.solve(wyndor, "highs", SolveOptions())
                code = 1
            except SolverError:
                pool.close()  # must leave the parent's worker alone
            os._exit(code)
        _, status = os.waitpid(child, 0)
        assert os.WIFEXITED(status) and os.WEXITSTATUS(status) == 0
        assert pool.solve(wyndor, "highs", SolveOptions()).status is SolveStatus.OPTIMAL
        assert len(pool.worker_info()) == 1


def test_a_prestarted_worker_takes_the_first_solve() -> None:
    wyndor = _checked(EXAMPLES / "wyndor.yaml")
    with SolverPool(workers=2) as pool:
        pool.prestart(5)  # capped at the pool's size
        assert len(pool._warming) == 2
        assert pool.solve(wyndor, "highs", SolveOptions()).status is SolveStatus.OPTIMAL
        assert pool.solve(wyndor, "highs", SolveOptions()).status is SolveStatus.OPTIMAL
        # one prestarted worker was claimed and reused; the other is still unclaimed
        assert len(pool.worker_info()) == 1 and len(pool._warming) == 1
        warming = pool._warming[0]
    started = warming.result(timeout=60)  # closing stopped it once it was up
    started.process.wait(timeout=10)
    assert not started.alive
