"""The answer: the asked quantity computed by our code from the solution, and an explanation.

The language model only says *which* expression answers the question; the number itself is
evaluated here on the solver's values, never by the model. The explanation is grounded in
the solution: the decisions taken, the binding constraints and, for LPs, their shadow prices.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

from optiagent.agent.proposal import AnswerSpec
from optiagent.formulations.analysis import CheckedFormulation
from optiagent.formulations.evaluator import EvaluationError, is_data
from optiagent.formulations.expressions import ExpressionSyntaxError, parse_expression
from optiagent.formulations.solution import NumericAlgebra, SolutionCheck
from optiagent.solvers_backend.results import SolveResult

__all__ = ["Answer", "AnswerError", "compute_answer", "evaluate_on_solution", "explain"]

_MAX_LISTED = 8


class AnswerError(ValueError):
    """The answer expression cannot be evaluated (becomes feedback for a repair)."""


@dataclass(frozen=True)
class Answer:
    """The asked quantity and how to read it."""

    value: float | None
    units: str = ""
    description: str = ""
    expression: str | None = None  # None: the objective
    reported: dict[str, float] = field(default_factory=dict)  # requested quantities by name

    @property
    def text(self) -> str:
        """e.g. '36 (maximum weekly profit, thousand dollars)'."""
        if self.value is None:
            return "no value"
        shown = f"{self.value:.10g}"
        details = ", ".join(part for part in (self.description, self.units) if part)
        return f"{shown} ({details})" if details else shown


def evaluate_on_solution(
    expression: str, checked: CheckedFormulation, result: SolveResult
) -> float:
    """The value of an expression over the formulation's symbols at the solution."""
    try:
        tree = parse_expression(expression)
        value = checked.evaluator(NumericAlgebra(result.values)).value(tree, {})
    except (ExpressionSyntaxError, EvaluationError) as error:
        hint = f" ({error.suggestion})" if error.suggestion else ""
        raise AnswerError(f"{error.message}{hint}") from None
    if not is_data(value) or isinstance(value, (str, tuple)):
        raise AnswerError("the expression does not evaluate to a number")
    number = float(value)
    if not math.isfinite(number):
        raise AnswerError(f"the expression evaluates to {number}")
    return number


def compute_answer(spec: AnswerSpec, checked: CheckedFormulation, result: SolveResult) -> Answer:
    """Evaluate the asked quantity (the objective when no expression is given) and the report."""
    reported = {}
    for name, expression in spec.report.items():
        try:
            reported[name] = evaluate_on_solution(expression, checked, result)
        except AnswerError as error:
            raise AnswerError(f"report[{name!r}] = '{expression}': {error}") from None
    if spec.expression is None or not spec.expression.strip():
        return Answer(result.objective, spec.units, spec.description, None, reported)
    value = evaluate_on_solution(spec.expression, checked, result)
    return Answer(value, spec.units, spec.description, spec.expression, reported)


def explain(
    checked: CheckedFormulation, result: SolveResult, solution: SolutionCheck | None
) -> str:
    """A short explanation grounded in the solution: decisions, binding constraints, duals."""
    formulation = checked.formulation
    lines = []
    if result.objective is not None and formulation.objective is not None:
        sense = formulation.objective.sense.value
        what = formulation.objective.description
        target = f"{sense}s {what}" if what else f"has the {sense[:-1]}ed objective value"
        lines.append(f"The {result.status.value} solution {target}: {result.objective:.10g}.")
    nonzero = [(k, v) for k, v in result.flat_values().items() if abs(v) > 1e-9]
    if nonzero:
        shown = ", ".join(f"{k} = {v:.6g}" for k, v in nonzero[:_MAX_LISTED])
        more = f" and {len(nonzero) - _MAX_LISTED} more" if len(nonzero) > _MAX_LISTED else ""
        lines.append(f"Decisions: {shown}{more}.")
    if solution is not None and solution.binding:
        duals = result.to_dict().get("duals", {})
        described = {c.name: c.description for c in formulation.constraints}
        parts = []
        for check in solution.binding[:_MAX_LISTED]:
            text = check.label
            if described.get(check.name):
                text += f" ({described[check.name]})"
            dual = duals.get(check.label)
            if dual is not None and abs(dual) > 1e-9:
                text += f", shadow price {dual:.6g}"
            parts.append(text)
        lines.append("Limiting constraints: " + "; ".join(parts) + ".")
    return " ".join(lines)
