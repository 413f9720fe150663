"""`solve`: from a formulation to a SolveResult in one call (check, route, build, solve)."""

from __future__ import annotations

from optiagent.formulations.analysis import CheckedFormulation, check_formulation
from optiagent.formulations.schema import Formulation
from optiagent.solvers_backend.registry import choose_backend
from optiagent.solvers_backend.results import SolveOptions, SolveResult, SolveStatus

__all__ = ["solve"]


def solve(
    model: Formulation | CheckedFormulation,
    *,
    backend: str = "auto",
    time_limit: float | None = 60.0,
    threads: int | None = None,
    mip_gap: float | None = None,
    options: SolveOptions | None = None,
) -> SolveResult:
    """Check, route and solve a formulation; infeasible, unbounded and errors are statuses.

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
    return chosen.solve(checked, options)
