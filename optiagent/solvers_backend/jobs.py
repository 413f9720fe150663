"""The work a solver worker does for its pool: one solve, or one diagnosis.

These functions run in whichever process calls them; `SolverPool` calls them inside its
worker processes (`_worker_main.py`), which is where every solve of the public API runs.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

from optiagent.formulations.analysis import CheckedFormulation
from optiagent.formulations.solution import objective_at
from optiagent.solvers_backend.diagnosis import Diagnosis, diagnose
from optiagent.solvers_backend.phase import solver_starting
from optiagent.solvers_backend.registry import BACKENDS
from optiagent.solvers_backend.results import SolveOptions, SolveResult

__all__ = ["JOBS", "run_diagnosis", "run_solve"]


def run_solve(checked: CheckedFormulation, backend: str, options: SolveOptions) -> SolveResult:
    """Solve `checked` with the named backend; the objective is re-evaluated exactly."""
    result = BACKENDS[backend].solve(checked, options)
    if result.values and result.objective is not None:
        # Report the objective evaluated exactly at the solution: solvers report theirs
        # within their own tolerances (SCIP gave 0.30749997 for a true 0.3075).
        exact = objective_at(checked, result.values)
        if math.isfinite(exact):
            result.objective = exact
    return result


def run_diagnosis(
    checked: CheckedFormulation, result: SolveResult, time_limit: float, max_solves: int
) -> Diagnosis | None:
    """Diagnose an infeasible or unbounded result (see `solvers_backend.diagnosis`)."""
    # The diagnosis keeps its own wall-clock budget from its first step, so its whole run
    # is "solving" for the pool's deadline.
    solver_starting()
    return diagnose(checked, result, time_limit=time_limit, max_solves=max_solves)


JOBS: dict[str, Callable[..., Any]] = {"solve": run_solve, "diagnose": run_diagnosis}
"""Job name -> function, the whole vocabulary of the pool's protocol."""
