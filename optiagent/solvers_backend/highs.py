"""HiGHS through Pyomo: LP, MILP and convex QP, with duals and reduced costs for LP."""

from __future__ import annotations

from optiagent.formulations.analysis import CheckedFormulation, ProblemClass
from optiagent.solvers_backend.base import Backend
from optiagent.solvers_backend.pyomo_solve import solve_with_pyomo
from optiagent.solvers_backend.results import SolveOptions, SolveResult

__all__ = ["HighsBackend"]


class HighsBackend(Backend):
    """HiGHS (highspy) via Pyomo's `highs` interface."""

    name = "highs"
    description = "HiGHS via Pyomo: LP, MILP, convex QP; duals and reduced costs for LP"
    module = "highspy"
    package = "highspy"
    supports = frozenset({ProblemClass.LP, ProblemClass.MILP, ProblemClass.CONVEX_QP})
    features = frozenset({"duals", "time_limit", "threads", "mip_gap"})

    def incompatibility(self, checked: CheckedFormulation) -> str | None:
        """Explain why HiGHS must not be used (it would give a wrong 'optimal' or fail)."""
        problem_class = checked.problem_class
        if problem_class is ProblemClass.NONCONVEX_QP:
            analysis = checked.analysis
            if analysis.convex_objective is False:
                found = "its quadratic objective is " + (
                    analysis.convexity or "not convex (minimize) / concave (maximize)"
                )
            else:
                found = "the convexity of its quadratic objective could not be decided" + (
                    f" ({analysis.convexity})" if analysis.convexity else ""
                )
            return (
                f"highs cannot solve this model: {found}; on a nonconvex objective HiGHS "
                "would stop at a stationary point while reporting 'optimal'"
            )
        if problem_class is ProblemClass.MIQP:
            return "highs cannot solve MIQP (integer variables with a quadratic objective)"
        return super().incompatibility(checked)

    def solve(self, checked: CheckedFormulation, options: SolveOptions) -> SolveResult:
        """Solve with HiGHS; LP duals are read when the LP is solved to optimality."""
        return solve_with_pyomo(checked, "highs", self.name, options, want_duals=True)
