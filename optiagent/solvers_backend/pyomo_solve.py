"""Solve a Pyomo build with a solver from Pyomo's v3 interface and map its outcome.

HiGHS and SCIP are both driven through `pyomo.contrib.solver` with
`raise_exception_on_nonoptimal_result=False` and `load_solutions=False`, so every outcome,
including infeasible and unbounded models, comes back as a result to map, never an
exception. This runs inside a solver worker (`pool.py`), where Pyomo's fd capture writes to
a file instead of a pipe (`worker_capture.py`), and the log reaches `SolveResult.log` through
`tee`. Called in any other process, Pyomo redirects that process's fds 1 and 2 during the
solve.
"""

from __future__ import annotations

import io
import math
import time
from typing import Any

from optiagent.formulations.analysis import CheckedFormulation
from optiagent.solvers_backend.phase import solver_starting
from optiagent.solvers_backend.pyomo_builder import PyomoBuild, build_pyomo_model, pyomo_index
from optiagent.solvers_backend.results import SolveOptions, SolveResult, SolveStatus, Values

__all__ = ["solve_with_pyomo"]


def _status(termination: str, solution: str) -> SolveStatus:
    if termination == "convergenceCriteriaSatisfied":
        return SolveStatus.OPTIMAL if solution == "optimal" else SolveStatus.FEASIBLE
    if termination in ("maxTimeLimit", "iterationLimit"):
        return SolveStatus.TIME_LIMIT
    if termination in ("provenInfeasible", "locallyInfeasible"):
        return SolveStatus.INFEASIBLE
    if termination == "unbounded":
        return SolveStatus.UNBOUNDED
    if termination == "infeasibleOrUnbounded":
        return SolveStatus.INFEASIBLE_OR_UNBOUNDED
    if termination in ("objectiveLimit", "minStepLength") and solution in ("feasible", "optimal"):
        return SolveStatus.FEASIBLE
    return SolveStatus.ERROR


def _finite(value: Any) -> float | None:
    if value is None:
        return None
    number = float(value)
    return number if math.isfinite(number) else None


def _read_values(build: PyomoBuild) -> Values:
    values: Values = {}
    for name, component in build.variables.items():
        entries = {}
        for key in build.variable_keys[name]:
            var = component if not key else component[pyomo_index(key)]
            if var.value is None:
                continue
            value = float(var.value)
            # integer variables come back as 0.9999999 within the solver's tolerance
            if var.is_integer() and abs(value - round(value)) <= 1e-6:
                value = float(round(value))
            entries[key] = value
        values[name] = entries
    return values


def _read_duals(build: PyomoBuild, results: Any) -> tuple[Values | None, Values | None]:
    try:
        duals = results.solution_loader.get_duals()
        reduced = results.solution_loader.get_reduced_costs()
    except Exception:
        return None, None
    dual_values: Values = {}
    for name, key, constraint in build.constraints:
        if constraint in duals:
            dual_values.setdefault(name, {})[key] = float(duals[constraint])
    reduced_values: Values = {}
    for name, component in build.variables.items():
        for key in build.variable_keys[name]:
            var = component if not key else component[pyomo_index(key)]
            if var in reduced:
                reduced_values.setdefault(name, {})[key] = float(reduced[var])
    return dual_values, reduced_values


def solve_with_pyomo(
    checked: CheckedFormulation,
    solver_name: str,
    backend_name: str,
    options: SolveOptions,
    *,
    solver_options: dict[str, Any] | None = None,
    want_duals: bool = False,
) -> SolveResult:
    """Build `checked` in Pyomo, solve it with `solver_name` and map the outcome."""
    from pyomo.contrib.solver.common.factory import SolverFactory

    started = time.perf_counter()
    build = build_pyomo_model(checked)
    solver = SolverFactory(solver_name)
    log = io.StringIO()
    config: dict[str, Any] = {
        "load_solutions": False,
        "raise_exception_on_nonoptimal_result": False,
        "tee": log if options.keep_log else False,
    }
    if options.time_limit is not None:
        config["time_limit"] = options.time_limit
    if options.threads is not None:
        config["threads"] = options.threads
    if options.mip_gap is not None:
        config["rel_gap"] = options.mip_gap
    if solver_options:
        config["solver_options"] = solver_options
    solver_starting()
    try:
        results = solver.solve(build.model, **config)
    except Exception as error:
        return SolveResult(
            status=SolveStatus.ERROR,
            backend=backend_name,
            problem_class=checked.problem_class,
            solve_time_s=time.perf_counter() - started,
            log=log.getvalue(),
            message=f"{solver_name} failed: {type(error).__name__}: {error}",
        )
    termination = results.termination_condition.name
    solution = results.solution_status.name
    status = _status(termination, solution)
    result = SolveResult(
        status=status,
        backend=backend_name,
        problem_class=checked.problem_class,
        best_bound=_finite(results.objective_bound),
        solve_time_s=time.perf_counter() - started,
        log=log.getvalue(),
        message=f"termination: {termination}, solution: {solution}",
    )
    if solution in ("feasible", "optimal"):
        results.solution_loader.load_vars()
        result.values = _read_values(build)
        result.objective = _finite(results.incumbent_objective)
        if result.objective is None and checked.formulation.objective is None:
            result.objective = 0.0
        if want_duals and status is SolveStatus.OPTIMAL and checked.analysis.integer_count == 0:
            result.duals, result.reduced_costs = _read_duals(build, results)
    if (
        result.objective is not None
        and result.best_bound is not None
        and checked.analysis.integer_count
    ):
        result.gap = abs(result.objective - result.best_bound) / max(1e-10, abs(result.objective))
    return result
