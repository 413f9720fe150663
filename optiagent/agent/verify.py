"""Checks that catch a model that "runs but is wrong", without knowing the right answer.

Errors must be repaired: the solution breaks the model it came from. Warnings are doubts (an
all-zero plan, counted things left continuous, a negative profit, an answer that may not be
what the question asks for): the model is asked once to fix or confirm them.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Literal

from optiagent.agent.proposal import Proposal
from optiagent.formulations.analysis import CheckedFormulation, instance_label
from optiagent.formulations.polynomial import Poly
from optiagent.formulations.schema import Domain, Sense
from optiagent.formulations.solution import SolutionCheck
from optiagent.solvers_backend.cpsat_builder import DEFAULT_BOUND
from optiagent.solvers_backend.results import SolveResult

__all__ = ["Finding", "check_answer_target", "verify_solution"]

Severity = Literal["error", "warning"]

_COUNT_WORDS = re.compile(
    r"\b(people|persons?|workers?|employees?|staff|nurses?|drivers?|trucks?|vans?|cars?|"
    r"vehicles?|buses|bus|ships?|planes?|aircraft|machines?|units?|items?|pieces?|boxes|box|"
    r"packages?|containers?|pallets?|trips?|batch(?:es)?|bottles?|cans?|bags?|chairs?|tables?|"
    r"houses?|rooms?|beds?|servers?|shifts?|teams?|crews?|animals?|cows?|pigs?|chickens?|"
    r"trees?|students?|classes?|tickets?|seats?|products?|computers?|phones?|bikes?)\b",
    re.IGNORECASE,
)
_PROFIT_WORDS = re.compile(r"\b(profit|revenue|income|return|earnings|sales)\b", re.IGNORECASE)
_COST_WORDS = re.compile(r"\b(cost|expense|spend|spending|price|fee)\b", re.IGNORECASE)
_HOW_MANY = re.compile(r"\bhow many\s+(\w+)", re.IGNORECASE)


@dataclass(frozen=True)
class Finding:
    """One doubt about a solution: which check raised it, how serious, and what to do."""

    check: str
    severity: Severity
    message: str

    def __str__(self) -> str:
        return f"[{self.severity}] {self.message}"


def _recheck(solution: SolutionCheck) -> list[Finding]:
    findings = []
    for violated in solution.violated[:5]:
        findings.append(
            Finding(
                "solution_recheck",
                "error",
                f"the solver's solution breaks constraint {violated.label} by "
                f"{violated.violation:.6g} when re-evaluated; the model may be numerically "
                "unstable (very large or very small coefficients, big-M values): rescale it",
            )
        )
    for message in solution.bound_violations[:5]:
        findings.append(Finding("solution_recheck", "error", f"re-evaluated solution: {message}"))
    return findings


def _trivial_plan(result: SolveResult) -> list[Finding]:
    values = result.flat_values()
    if values and all(abs(v) <= 1e-9 for v in values.values()):
        return [
            Finding(
                "trivial_plan",
                "warning",
                "every decision variable is 0 in the optimal solution; check that no "
                "requirement of the problem is missing (a demand, a minimum, a must-do) and "
                "that the objective points the right way",
            )
        ]
    return []


def _counted_continuous(checked: CheckedFormulation, result: SolveResult) -> list[Finding]:
    findings = []
    for variable in checked.formulation.variables:
        if variable.domain not in (Domain.REAL, Domain.NONNEGATIVE_REAL):
            continue
        words = " ".join([variable.name.replace("_", " "), variable.description, variable.units])
        match = _COUNT_WORDS.search(words)
        if not match:
            continue
        fractional = [
            (key, value)
            for key, value in result.values.get(variable.name, {}).items()
            if abs(value - round(value)) > 1e-6
        ]
        if fractional:
            key, value = fractional[0]
            findings.append(
                Finding(
                    "counted_continuous",
                    "warning",
                    f"variable '{variable.name}' seems to count {match.group(0).lower()} but is "
                    f"continuous, and {instance_label(variable.name, key)} = {value:.6g} is "
                    "fractional; if the problem means whole units, make its domain "
                    "nonnegative_integer (or integer)",
                )
            )
    return findings


def _objective_sign(checked: CheckedFormulation, result: SolveResult) -> list[Finding]:
    objective = checked.formulation.objective
    if objective is None or result.objective is None or result.objective >= 0:
        return []
    words = " ".join([objective.description, objective.expression, checked.formulation.description])
    profit = _PROFIT_WORDS.search(words)
    if objective.sense is Sense.MAXIMIZE and profit:
        return [
            Finding(
                "objective_sign",
                "warning",
                f"the maximized {profit.group(0)} is negative ({result.objective:.6g}); check "
                "the signs of the objective terms",
            )
        ]
    # A negative cost is suspicious only when every cost term has a non-negative coefficient:
    # then some variable went negative (a 'real' domain that should be nonnegative_real).
    # With negative terms (returns, credits, risk-adjusted objectives) it can be right.
    polynomial = checked.analysis.objective
    nonnegative_terms = isinstance(polynomial, Poly) and all(
        c >= 0 for m, c in polynomial.terms.items() if m
    )
    if objective.sense is Sense.MINIMIZE and _COST_WORDS.search(words) and nonnegative_terms:
        negative = [k for k, v in result.flat_values().items() if v < -1e-9]
        return [
            Finding(
                "objective_sign",
                "warning",
                f"the minimized cost is negative ({result.objective:.6g}) although every cost "
                f"term has a non-negative coefficient: {', '.join(negative[:3]) or 'a variable'} "
                "is negative; should its domain be nonnegative?",
            )
        ]
    return []


_NOT_A_TARGET = frozenset({"of", "each", "the", "units", "unit", "items", "item", "times"})
_OPTIMIZED = re.compile(
    r"\b(maximi[sz]e|minimi[sz]e|maximum|minimum|optimal|most|least|highest|lowest)\b",
    re.IGNORECASE,
)


def check_answer_target(problem: str, proposal: Proposal) -> list[Finding]:
    """A doubt when the question asks 'how many X' but the answer reports the objective.

    Not raised for 'how many of each ...' and not when the same sentence names what is
    optimized ("how many trucks ... to minimize cost?" is answered by the optimal cost in
    the usual reading of these problems).
    """
    if proposal.answer.expression is not None:
        return []
    match = _HOW_MANY.search(problem)
    if not match or match.group(1).lower() in _NOT_A_TARGET:
        return []
    sentence_end = problem.find("?", match.end())
    sentence = problem[match.start() : sentence_end if sentence_end >= 0 else None]
    if _OPTIMIZED.search(sentence):
        return []
    noun = match.group(1).lower()
    objective = proposal.formulation.objective
    described = " ".join(
        [objective.description if objective else "", proposal.answer.description]
    ).lower()
    if noun.rstrip("s") in described:
        return []
    return [
        Finding(
            "answer_target",
            "warning",
            f"the question asks 'how many {noun}', but the answer reports the objective "
            "value; if the question asks for a quantity other than the objective, set "
            "answer.expression to it (e.g. the sum of the relevant variables)",
        )
    ]


def _at_default_bound(result: SolveResult) -> list[Finding]:
    huge = [label for label, v in result.flat_values().items() if abs(v) >= 0.99 * DEFAULT_BOUND]
    if not huge:
        return []
    return [
        Finding(
            "huge_values",
            "warning",
            f"{huge[0]} = {result.flat_values()[huge[0]]:.6g} is at the edge of what the solver "
            "allows; a capacity or bound is probably missing",
        )
    ]


def _unused_variables(checked: CheckedFormulation) -> list[Finding]:
    used = checked.analysis.used_variables
    unused = [v.name for v in checked.formulation.variables if v.name not in used]
    if not unused:
        return []
    return [
        Finding(
            "unused_variables",
            "warning",
            f"variable(s) {', '.join(unused)} appear in no constraint and not in the objective; "
            "a constraint that should use them is probably missing",
        )
    ]


def verify_solution(
    checked: CheckedFormulation, result: SolveResult, solution: SolutionCheck
) -> list[Finding]:
    """Every finding about a solved model, errors first."""
    findings = _recheck(solution)
    findings += _trivial_plan(result)
    findings += _counted_continuous(checked, result)
    findings += _objective_sign(checked, result)
    findings += _at_default_bound(result)
    findings += _unused_variables(checked)
    return sorted(findings, key=lambda f: f.severity != "error")
