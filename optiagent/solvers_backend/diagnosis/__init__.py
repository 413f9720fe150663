"""Diagnose infeasible and unbounded models for the agent's repair loop.

`diagnose(checked, result)` returns None for a result that has a solution (or that is not
infeasible/unbounded), and otherwise a `Diagnosis` whose `feedback()` text names the
conflicting constraints and the least change that resolves them, or the variables that run
off in an unbounded model. Nothing of the caller's `CheckedFormulation` is modified: every
solve uses a model built afresh.
"""

from __future__ import annotations

from optiagent.formulations.analysis import CheckedFormulation
from optiagent.solvers_backend.diagnosis.elements import ModelView
from optiagent.solvers_backend.diagnosis.engines import (
    Budget,
    CpSatEngine,
    Engine,
    PyomoEngine,
)
from optiagent.solvers_backend.diagnosis.highs_engine import HighsEngine
from optiagent.solvers_backend.diagnosis.infeasible import diagnose_infeasible
from optiagent.solvers_backend.diagnosis.report import (
    Change,
    Conflict,
    ConflictKind,
    ConflictSet,
    Diagnosis,
    DiagnosisKind,
    DiagnosisMethod,
    Repair,
    RunOff,
)
from optiagent.solvers_backend.diagnosis.unbounded import diagnose_unbounded
from optiagent.solvers_backend.results import SolveResult, SolveStatus

__all__ = [
    "Change",
    "Conflict",
    "ConflictKind",
    "ConflictSet",
    "Diagnosis",
    "DiagnosisKind",
    "DiagnosisMethod",
    "Repair",
    "RunOff",
    "diagnose",
]

DIAGNOSED = frozenset(
    {SolveStatus.INFEASIBLE, SolveStatus.UNBOUNDED, SolveStatus.INFEASIBLE_OR_UNBOUNDED}
)
"""The statuses `diagnose` explains; others give None."""


def _engine(view: ModelView, budget: Budget) -> tuple[Engine | None, str]:
    """The feasibility oracle for this model, or None with the reason."""
    try:
        if view.has_globals:
            return CpSatEngine(view, budget), ""
        if view.linear:
            return HighsEngine(view, budget), ""
        return PyomoEngine(view, budget, "scip_direct"), ""
    except Exception as error:  # a build or solver library problem: explain, don't fail
        return None, f"The diagnosis could not build its model ({type(error).__name__}: {error})."


def _undetermined(budget: Budget, note: str) -> Diagnosis:
    return Diagnosis(
        kind="undetermined",
        method="none",
        notes=[note],
        solves=budget.solves,
        elapsed_s=budget.elapsed,
    )


def diagnose(
    checked: CheckedFormulation,
    result: SolveResult,
    *,
    time_limit: float = 20.0,
    max_solves: int = 400,
) -> Diagnosis | None:
    """Why `result` has no optimum: conflicts (infeasible) or runaway variables (unbounded).

    Returns None unless the status is infeasible, unbounded or infeasible_or_unbounded. The
    diagnosis spends at most `time_limit` seconds and `max_solves` solves; what it could not
    finish is said in its notes.
    """
    if result.status not in DIAGNOSED:
        return None
    budget = Budget(time_limit, max_solves)
    view = ModelView.of(checked)
    if result.status is SolveStatus.UNBOUNDED:
        found = diagnose_unbounded(view, budget)
        if found is not None:
            return found
        engine, problem = _engine(view, budget)
        answer = engine.feasible(view.elements()) if engine else None
        if answer is False:
            note = (
                "The solver reported the model unbounded, but a re-solve found no feasible "
                "point at all, so it is infeasible."
            )
            return diagnose_infeasible(view, engine, budget, status_note=note)
        return _undetermined(
            budget,
            problem
            or "The solver reported the model unbounded, but no variable could be shown to "
            "run off within the box; check the data's scale.",
        )
    if (
        result.status is SolveStatus.INFEASIBLE_OR_UNBOUNDED
        and not checked.analysis.trivially_false
    ):
        engine, problem = _engine(view, budget)
        answer = engine.feasible(view.elements()) if engine else None
        if answer is True:
            note = (
                "The solver reported 'infeasible or unbounded'; a solve without the objective "
                "found a feasible point, so the model is unbounded."
            )
            found = diagnose_unbounded(view, budget, status_note=note)
            if found is not None:
                return found
        if answer is False:
            note = (
                "The solver reported 'infeasible or unbounded'; a solve without the objective "
                "found no feasible point, so the model is infeasible."
            )
            return diagnose_infeasible(view, engine, budget, status_note=note)
        return _undetermined(
            budget,
            problem
            or "The solver reported 'infeasible or unbounded' and the diagnosis could not "
            "decide which within its time limit.",
        )
    engine, problem = _engine(view, budget)
    return diagnose_infeasible(view, engine, budget, problem=problem)
