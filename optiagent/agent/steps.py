"""The traced steps of one agent attempt: check, solve, verify.

Each step is recorded with `opto.bundle`, so the repair optimizer (OptoPrime) sees the run as
a small graph: the proposal (trainable) and the problem (an input) flow through these steps;
their docstrings are the documentation the model reads. Keep them precise.
"""

from __future__ import annotations

from optiagent.agent.proposal import Proposal
from optiagent.agent.verify import Finding, verify_solution
from optiagent.formulations.analysis import CheckedFormulation, check_formulation
from optiagent.formulations.solution import check_solution
from optiagent.formulations.tables import DataTable
from optiagent.opto import bundle
from optiagent.solvers_backend.api import solve
from optiagent.solvers_backend.results import SolveOptions, SolveResult

__all__ = ["check_model", "solve_model", "verify_model"]


@bundle
def check_model(proposal: Proposal, tables: list[DataTable]) -> CheckedFormulation:
    """Validate proposal.formulation against the formulation language and read its data tables.

    Raises FormulationError listing every issue: unknown names, wrong index counts, data that
    does not fit its sets, constraints without a comparison, variables inside conditions.
    On success the model's class (LP, MILP, convex QP, nonconvex QP, MIQP, QCP, NLP, MINLP, CP)
    is known.
    """
    return check_formulation(proposal.formulation, tables)


@bundle
def solve_model(checked: CheckedFormulation, backend: str, options: SolveOptions) -> SolveResult:
    """Solve the checked model with a solver suited to its class.

    LP, MILP and convex QP go to HiGHS, nonconvex and nonlinear models to SCIP (global), and
    scheduling/CP models to CP-SAT. Returns the status (optimal, infeasible, unbounded,
    time_limit, error), the objective value and every variable's value.
    """
    return solve(checked, backend=backend, options=options)


@bundle
def verify_model(checked: CheckedFormulation, result: SolveResult) -> list[Finding]:
    """Re-check the solution without the solver and look for signs of a wrong model.

    Errors: a constraint or bound the solution breaks when re-evaluated. Warnings: an
    all-zero plan, counted things (people, trucks, units) left continuous with fractional
    values, a negative profit or cost, values at the solver's limits, variables used nowhere.
    """
    return verify_solution(checked, result, check_solution(checked, result.values))
