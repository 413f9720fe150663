"""The one formatter that turns every kind of failure into feedback a language model can act on.

Each failure kind is a small record; `format_feedback` renders any of them in the same shape:
what failed, where (element, symbol, constraint, line), and what to do. The agent's repair
step, the chat session and the evaluation reports all show these texts.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from optiagent.agent.verify import Finding
from optiagent.formulations.issues import Issue, format_issues
from optiagent.solvers_backend.results import SolveResult, SolveStatus

__all__ = [
    "AnswerFailure",
    "Doubts",
    "Failure",
    "InvalidFormulation",
    "SolveFailure",
    "UnusableReply",
    "format_feedback",
]


@dataclass(frozen=True)
class InvalidFormulation:
    """The formulation failed validation."""

    issues: tuple[Issue, ...]


@dataclass(frozen=True)
class UnusableReply:
    """The model's reply could not be turned into a proposal at all."""

    error: str


@dataclass(frozen=True)
class SolveFailure:
    """The solver produced no usable solution; `diagnosis` explains infeasible/unbounded models."""

    result: SolveResult
    diagnosis: Any = None  # a solvers_backend.diagnosis Diagnosis, when one was made


@dataclass(frozen=True)
class Doubts:
    """The solution exists, but the verification checks doubt it."""

    findings: tuple[Finding, ...]


@dataclass(frozen=True)
class AnswerFailure:
    """The asked quantity could not be computed from the solution."""

    expression: str
    error: str


Failure = InvalidFormulation | UnusableReply | SolveFailure | Doubts | AnswerFailure


def _solve_text(failure: SolveFailure) -> str:
    result = failure.result
    status = result.status
    if failure.diagnosis is not None:
        return failure.diagnosis.feedback()
    if status is SolveStatus.INFEASIBLE:
        return (
            "The model is infeasible: no assignment satisfies all constraints. Check the "
            "direction (<= vs >=) and the data of the constraints, and whether a requirement "
            "was stated too strictly." + (f" Solver: {result.message}" if result.message else "")
        )
    if status is SolveStatus.UNBOUNDED:
        return (
            "The model is unbounded: the objective improves without limit. A capacity, "
            "resource or demand constraint is probably missing, or the objective sense is wrong."
        )
    if status is SolveStatus.INFEASIBLE_OR_UNBOUNDED:
        return (
            "The solver reports the model as infeasible or unbounded. Check the constraint "
            "directions and that every variable is limited by some constraint."
        )
    if status is SolveStatus.TIME_LIMIT:
        return (
            f"The solver found no solution within its time limit ({result.solve_time_s:.0f} s, "
            f"{result.problem_class.value if result.problem_class else 'model'}). Simplify the "
            "model: avoid products of variables and big-M terms where a linear form exists."
        )
    if result.backend == "none":  # the solve step raised before any solver ran
        return f"No solver could run this model: {result.message}"
    return f"The solver failed ({result.backend}): {result.message or 'no details'}"


def _doubts_text(failure: Doubts) -> str:
    return findings_text(
        failure.findings,
        rejected="The solution does not hold up when re-checked:",
        doubted=(
            "The model solved, but these points look doubtful. Fix them if they are mistakes; "
            "if the formulation is right as it is, return it unchanged:"
        ),
    )


def findings_text(findings: Sequence[Finding], *, rejected: str, doubted: str) -> str:
    """The verify step's findings as feedback: errors under `rejected`, doubts under `doubted`."""
    lines: list[str] = []
    for severity, heading in (("error", rejected), ("warning", doubted)):
        chosen = [f"- {f.message}" for f in findings if f.severity == severity]
        if chosen:
            lines += [heading, *chosen]
    return "\n".join(lines)


def format_feedback(failure: Failure) -> str:
    """The feedback text for one failure."""
    if isinstance(failure, InvalidFormulation):
        return (
            "The formulation is not valid in the formulation language.\n"
            f"{format_issues(failure.issues)}"
        )
    if isinstance(failure, UnusableReply):
        return f"The reply could not be used as a proposal: {failure.error}"
    if isinstance(failure, SolveFailure):
        return _solve_text(failure)
    if isinstance(failure, Doubts):
        return _doubts_text(failure)
    return (
        f"The answer expression '{failure.expression}' could not be evaluated on the solution: "
        f"{failure.error}. Write it over the formulation's variables and parameters, or set "
        "it to null when the question asks for the objective value."
    )


def feedback_for_issues(issues: Sequence[Issue]) -> str:
    """Shorthand: the feedback for validation issues."""
    return format_feedback(InvalidFormulation(tuple(issues)))
