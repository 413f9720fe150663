"""`solve` and `diagnose`: a formulation to a SolveResult, or a failed result to its reasons.

Both run the solver in a worker process of a `SolverPool` (the default pool unless one is
given), never in the caller's process: see `pool.py` for why and for the deadlines.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from optiagent.formulations.analysis import CheckedFormulation, check_formulation
from optiagent.formulations.schema import Formulation
from optiagent.solvers_backend.pool import SolverPool, default_pool
from optiagent.solvers_backend.registry import choose_backend
from optiagent.solvers_backend.results import SolveOptions, SolveResult, SolveStatus

if TYPE_CHECKING:  # the diagnosis package imports Pyomo, which only the workers need
    from optiagent.solvers_backend.diagnosis.report import Diagnosis

__all__ = ["diagnose", "solve"]


def solve(
    model: Formulation | CheckedFormulation,
    *,
    backend: str = "auto",
    time_limit: float | None = 60.0,
    threads: int | None = None,
    mip_gap: float | None = None,
    options: SolveOptions | None = None,
    pool: SolverPool | None = None,
) -> SolveResult:
    """Check, route and solve a formulation in a solver worker; every outcome is a status.

    Raises FormulationError for an invalid formulation and ConfigurationError (or its
    subclasses) for a backend that is unknown, missing or unable to solve this class.
    """
    checked = model if isinstance(model, CheckedFormulation) else check_formulation(model)
    if options is None:
        options = SolveOptions(time_limit=time_limit, threads=threads, mip_gap=mip_gap)
    chosen = choose_backend(checked, backend)
    if checked.analysis.trivially_false:
        return SolveResult(
            status=SolveStatus.INFEASIBLE,
            backend=chosen.name,
            problem_class=checked.problem_class,
            message="; ".join(checked.analysis.trivially_false),
        )
    return (pool or default_pool()).solve(checked, chosen.name, options)


def diagnose(
    checked: CheckedFormulation,
    result: SolveResult,
    *,
    time_limit: float = 20.0,
    max_solves: int = 400,
    pool: SolverPool | None = None,
) -> Diagnosis | None:
    """Why `result` has no optimum (conflicting constraints, runaway variables), or None.

    Runs `solvers_backend.diagnosis.diagnose` in a solver worker; None also when the
    diagnosis itself could not finish within `time_limit` plus the pool's grace.
    """
    return (pool or default_pool()).diagnose(
        checked, result, time_limit=time_limit, max_solves=max_solves
    )
