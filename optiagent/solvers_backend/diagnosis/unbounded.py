"""Explain an unbounded model: which variables run off, in which direction.

Every variable without a finite bound is boxed to +/-M (M of 10^6 or more, scaled to the
data) and the model is solved again with its objective; the variables that end at the box
are the ones the objective drives without limit. Each is reported with its objective
coefficient and the constraints it appears in, none of which limits that direction.
"""

from __future__ import annotations

from typing import Literal

from optiagent.formulations.analysis import ProblemClass
from optiagent.formulations.polynomial import Poly, VarKey
from optiagent.solvers_backend.diagnosis.elements import ModelView, format_number
from optiagent.solvers_backend.diagnosis.engines import Budget, solve_pyomo_model
from optiagent.solvers_backend.diagnosis.report import Diagnosis, RunOff
from optiagent.solvers_backend.pyomo_builder import build_pyomo_model, pyomo_index

__all__ = ["box_size", "diagnose_unbounded"]

_MIN_BOX = 1e6
_MAX_BOX = 1e9
_HIGHS_CLASSES = (ProblemClass.LP, ProblemClass.MILP, ProblemClass.CONVEX_QP)


def box_size(view: ModelView) -> float:
    """M for the box: 10^6, or 1000 times the largest bound in the data, at most 10^9."""
    numbers = [abs(b) for c in view.columns for b in (c.lower, c.upper) if b is not None]
    for row in view.rows:
        relation = row.relation
        if relation is not None:
            numbers += [abs(b) for b in (relation.lower, relation.upper) if b is not None]
    scale = max(numbers, default=1.0)
    return min(_MAX_BOX, max(_MIN_BOX, 1e3 * scale))


def _objective_coefficient(view: ModelView, var: VarKey) -> float | None:
    objective = view.checked.analysis.objective
    if not isinstance(objective, Poly):
        return None
    coefficient = objective.terms.get((var,))
    return coefficient or None


def _appearances(view: ModelView) -> dict[VarKey, list[str]]:
    found: dict[VarKey, list[str]] = {}
    for row in view.rows:
        for var in view.variables_of(row):
            names = found.setdefault(var, [])
            if row.name not in names:
                names.append(row.name)
    return found


def diagnose_unbounded(
    view: ModelView, budget: Budget, *, status_note: str = ""
) -> Diagnosis | None:
    """The variables that run off; None when the boxed model has no feasible point."""
    checked = view.checked
    definition = checked.formulation.objective
    diagnosis = Diagnosis(kind="unbounded", method="box", status_note=status_note)
    if definition is not None:
        diagnosis.objective_text = f"{definition.sense.value} {definition.expression}"
    diagnosis.constraint_texts = {row.name: row.written for row in view.rows}
    box = box_size(view)
    diagnosis.box = box
    try:
        build = build_pyomo_model(checked)
    except Exception as error:  # e.g. a global constraint, which Pyomo cannot build
        diagnosis.method = "none"
        diagnosis.notes.append(f"The boxed re-solve could not be built ({error}).")
        return _finish(diagnosis, budget)
    variables = []
    for column in view.columns:
        component = build.variables[column.name]
        var = component if not column.key else component[pyomo_index(column.key)]
        if column.lower is None:
            var.setlb(-box)
        if column.upper is None:
            var.setub(box)
        variables.append(var)
    limit = budget.next_solve()
    if limit is None:
        diagnosis.method = "none"
        diagnosis.notes.append("No time was left for the boxed re-solve.")
        return _finish(diagnosis, budget)
    solver = "highs" if checked.problem_class in _HIGHS_CLASSES else "scip_direct"
    answer, results = solve_pyomo_model(build.model, solver, limit)
    if answer is False:
        return None
    if answer is None:
        diagnosis.method = "none"
        diagnosis.notes.append("The boxed re-solve stopped without a solution.")
        return _finish(diagnosis, budget)
    results.solution_loader.load_vars()
    appearances = _appearances(view)
    for column, var in zip(view.columns, variables, strict=True):
        value = float(var.value or 0.0)
        direction: Literal["+", "-"] | None = None
        if column.upper is None and value >= 0.5 * box:
            direction = "+"
        elif column.lower is None and value <= -0.5 * box:
            direction = "-"
        if direction is None:
            continue
        var_key = (column.name, column.key)
        diagnosis.unbounded.append(
            RunOff(
                name=column.name,
                label=column.label,
                direction=direction,
                value=value,
                objective_coefficient=_objective_coefficient(view, var_key),
                constraints=tuple(appearances.get(var_key, ())),
            )
        )
    if not diagnosis.unbounded:
        # an unbounded LP always drives some variable to a large enough box
        diagnosis.kind = "undetermined"
        diagnosis.status_note = ""
        diagnosis.notes.append(
            "The model has feasible points, and with every unbounded variable boxed to "
            f"+/-{format_number(box)} its optimum has no variable at the box, so it looks "
            "bounded: the solver's status may come from numerical trouble (very large or very "
            "small coefficients); check the data's scale and units."
        )
    return _finish(diagnosis, budget)


def _finish(diagnosis: Diagnosis, budget: Budget) -> Diagnosis:
    diagnosis.solves = budget.solves
    diagnosis.elapsed_s = budget.elapsed
    return diagnosis
