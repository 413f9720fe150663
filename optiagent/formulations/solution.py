"""Re-check a solution against the formulation without any solver.

The objective and every constraint instance are evaluated with plain numbers at the
solver's values: this finds violated constraints (a solver that lied, or a build that lost
a constraint), tells which constraints bind, and gives the slack of the others.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from optiagent.formulations.analysis import CheckedFormulation, instance_label
from optiagent.formulations.data import Key
from optiagent.formulations.evaluator import GlobalConstraint, IntervalRef, Relation

__all__ = ["ConstraintCheck", "NumericAlgebra", "SolutionCheck", "check_solution", "objective_at"]


class NumericAlgebra:
    """The `Algebra` that evaluates variables to numbers taken from a solution."""

    def __init__(self, values: Mapping[str, Mapping[Key, float]]) -> None:
        self._values = values

    def variable(self, name: str, key: Key) -> float:
        """The solution value of (name, key); a missing value counts as 0."""
        return float(self._values.get(name, {}).get(key, 0.0))

    def apply(self, func: str, args: list[Any]) -> float:
        """Evaluate a nonlinear function numerically (nan outside its domain)."""
        functions = {"exp": math.exp, "log": math.log, "log10": math.log10, "sqrt": math.sqrt}
        try:
            if func == "abs":
                return abs(args[0])
            if func == "min":
                return min(args)
            if func == "max":
                return max(args)
            return functions[func](args[0])
        except (ValueError, OverflowError):
            return math.nan

    def power(self, base: Any, exponent: float) -> float:
        """base ** exponent (nan when undefined)."""
        try:
            result = float(base) ** exponent
        except (ValueError, OverflowError, ZeroDivisionError):
            return math.nan
        return result if isinstance(result, float) else math.nan

    def total(self, items: Iterable[Any]) -> float:
        """math.fsum of the items."""
        return math.fsum(float(item) for item in items)


@dataclass(frozen=True)
class ConstraintCheck:
    """One constraint instance evaluated at the solution."""

    name: str
    label: str
    activity: float
    lower: float | None
    upper: float | None
    violation: float  # 0 when satisfied (within tolerance)
    binding: bool

    @property
    def slack(self) -> float | None:
        """Distance to the nearest bound (None for a global constraint)."""
        gaps = [self.activity - self.lower] if self.lower is not None else []
        gaps += [self.upper - self.activity] if self.upper is not None else []
        return min(gaps) if gaps else None


@dataclass
class SolutionCheck:
    """The formulation evaluated at a solution."""

    objective: float | None
    constraints: list[ConstraintCheck] = field(default_factory=list)
    bound_violations: list[str] = field(default_factory=list)

    @property
    def violated(self) -> list[ConstraintCheck]:
        """Constraint instances the solution does not satisfy."""
        return [c for c in self.constraints if c.violation > 0]

    @property
    def binding(self) -> list[ConstraintCheck]:
        """Constraint instances that hold with equality (active at the solution)."""
        return [c for c in self.constraints if c.binding]

    @property
    def feasible(self) -> bool:
        """True when no constraint or bound is violated."""
        return not self.violated and not self.bound_violations


def _tolerance(*numbers: float | None) -> float:
    scale = max([1.0] + [abs(x) for x in numbers if x is not None])
    return 1e-6 * scale


def _check_relation(name: str, key: Key, part: int, relation: Relation) -> ConstraintCheck:
    activity = float(relation.body)
    lower, upper = relation.lower, relation.upper
    tolerance = _tolerance(activity, lower, upper)
    violation = 0.0
    if lower is not None and activity < lower - tolerance:
        violation = lower - activity
    if upper is not None and activity > upper + tolerance:
        violation = activity - upper
    if math.isnan(activity):
        violation = math.inf
    binding = violation == 0 and any(
        bound is not None and abs(activity - bound) <= tolerance for bound in (lower, upper)
    )
    label = instance_label(name, key) + (f"#{part + 1}" if part else "")
    return ConstraintCheck(name, label, activity, lower, upper, violation, binding)


def _check_global(
    checked: CheckedFormulation,
    name: str,
    key: Key,
    constraint: GlobalConstraint,
    values: Mapping[str, Mapping[Key, float]],
) -> ConstraintCheck:
    label = instance_label(name, key)
    violated = False
    if constraint.kind == "all_different":
        numbers = [round(float(v), 6) for v in constraint.items]
        violated = len(set(numbers)) != len(numbers)
    else:
        evaluator = checked.evaluator(NumericAlgebra(values))
        spans = []
        for ref in constraint.items:
            assert isinstance(ref, IntervalRef)
            start = float(values.get(ref.name, {}).get(ref.key, 0.0))
            variable = evaluator.variables[ref.name]
            spans.append((start, start + float(evaluator.duration(variable, ref.key))))
        spans.sort()
        violated = any(b[0] < a[1] - 1e-6 for a, b in itertools.pairwise(spans))
    return ConstraintCheck(name, label, 0.0, None, None, 1.0 if violated else 0.0, False)


def objective_at(checked: CheckedFormulation, values: Mapping[str, Mapping[Key, float]]) -> float:
    """The objective evaluated exactly at `values` (0 for a feasibility problem)."""
    if checked.parsed.objective is None:
        return 0.0
    evaluator = checked.evaluator(NumericAlgebra(values))
    return float(evaluator.value(checked.parsed.objective, {}))


def check_solution(
    checked: CheckedFormulation, values: Mapping[str, Mapping[Key, float]]
) -> SolutionCheck:
    """Evaluate the objective and every constraint instance at `values`."""
    evaluator = checked.evaluator(NumericAlgebra(values))
    objective = objective_at(checked, values) if checked.parsed.objective is not None else None
    result = SolutionCheck(objective=objective)
    for parsed in checked.parsed.constraints:
        name = parsed.definition.name
        for key, _, relations in evaluator.constraint_instances(parsed.forall, parsed.expression):
            for part, relation in enumerate(relations):
                if isinstance(relation, GlobalConstraint):
                    result.constraints.append(_check_global(checked, name, key, relation, values))
                else:
                    result.constraints.append(_check_relation(name, key, part, relation))
    for variable in checked.formulation.variables:
        for key in checked.data.product(variable.index):
            value = values.get(variable.name, {}).get(key)
            if value is None:
                continue
            message = _bound_violation(checked, variable, key, value)
            if message:
                result.bound_violations.append(message)
    return result


def _bound_violation(checked: CheckedFormulation, variable: Any, key: Key, value: float) -> str:
    label = instance_label(variable.name, key)
    tolerance = _tolerance(value)
    if variable.domain.is_integral and abs(value - round(value)) > 1e-5:
        return f"{label} = {value:g} is not a whole number ({variable.domain.value})"
    if variable.domain.value.startswith("nonnegative") and value < -tolerance:
        return f"{label} = {value:g} is negative"
    if variable.domain.value == "binary" and not (-tolerance <= value <= 1 + tolerance):
        return f"{label} = {value:g} is not 0 or 1"
    for which, sign in (("lower", 1), ("upper", -1)):
        spec = getattr(variable, which)
        if spec is None:
            continue
        if isinstance(spec, str):
            table = checked.data.params[spec]
            bound = table.lookup(key if table.index else ())
        else:
            bound = spec
        if isinstance(bound, (int, float)) and sign * (value - bound) < -_tolerance(value, bound):
            return f"{label} = {value:g} breaks its {which} bound {bound:g}"
    return ""
