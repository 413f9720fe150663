"""SCIP through Pyomo (`scip_direct`, from the pyscipopt wheel): global nonlinear solving."""

from __future__ import annotations

from optiagent.formulations.analysis import CheckedFormulation, ProblemClass
from optiagent.solvers_backend.base import Backend
from optiagent.solvers_backend.pyomo_solve import solve_with_pyomo
from optiagent.solvers_backend.results import SolveOptions, SolveResult

__all__ = ["ScipBackend"]


class ScipBackend(Backend):
    """SCIP via Pyomo's `scip_direct`: every class but CP, nonconvex models to global optimality."""

    name = "scip"
    description = "SCIP via Pyomo (scip_direct): LP to MINLP, nonconvex models solved globally"
    module = "pyscipopt"
    package = "pyscipopt"
    supports = frozenset(set(ProblemClass) - {ProblemClass.CP})
    features = frozenset({"global", "time_limit", "threads", "mip_gap"})

    def solve(self, checked: CheckedFormulation, options: SolveOptions) -> SolveResult:
        """Solve with SCIP (no duals: SCIP's Pyomo interface does not return them)."""
        return solve_with_pyomo(checked, "scip_direct", self.name, options)
