"""Build an OR-Tools CP-SAT model from a checked formulation's expanded polynomials.

CP-SAT works on integers: every variable must be integral and every constraint must have
integer coefficients. Decimal data is scaled by a power of ten per constraint (so 0.5*x <= 2
becomes 5*x <= 20); a product of two integer variables becomes an auxiliary variable tied by
a multiplication equality. Anything else (continuous variables, exp/log/...) is refused
with a reason before any model is built.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

from optiagent.exceptions import IncompatibleBackendError
from optiagent.formulations.analysis import CheckedFormulation, ProblemClass
from optiagent.formulations.data import Key
from optiagent.formulations.evaluator import GlobalConstraint, IntervalRef, Relation
from optiagent.formulations.polynomial import Monomial, Nonlinear, Poly, VarKey
from optiagent.formulations.schema import Domain, VariableDef

__all__ = ["CpSatBuild", "build_cpsat_model", "cpsat_obstacle"]

DEFAULT_BOUND = 10**9
"""Bound given to integer variables that have none (CP-SAT needs finite domains)."""
_MAX_SCALE_DIGITS = 6


def cpsat_obstacle(checked: CheckedFormulation) -> str | None:
    """Why CP-SAT cannot take this model, or None if it can."""
    continuous = [v.name for v in checked.formulation.variables if not v.domain.is_integral]
    if continuous:
        names = ", ".join(f"'{n}'" for n in continuous[:5])
        plural = len(continuous) > 1
        them = "them" if plural else "it"
        fix = (
            f"declare {them} integer (measure time or amounts in whole units)"
            if checked.problem_class is ProblemClass.CP
            else f"use highs or scip, or declare {them} integer for whole units"
        )
        return (
            f"variable{'s' if plural else ''} {names} {'are' if plural else 'is'} continuous; "
            f"CP-SAT takes integer and interval variables only: {fix}"
        )
    analysis = checked.analysis
    if analysis.nonlinear_functions or analysis.objective_degree is None:
        functions = ", ".join(sorted(analysis.nonlinear_functions)) or "nonlinear terms"
        return f"cpsat cannot handle {functions}; use scip for nonlinear models"
    if (
        analysis.constraint_degree is None
        or max(analysis.objective_degree, analysis.constraint_degree) > 2
    ):
        return "cpsat handles linear constraints and products of two variables only; use scip"
    return None


@dataclass
class CpSatBuild:
    """A CP-SAT model and the maps back to the formulation's names."""

    model: Any
    variables: dict[VarKey, Any] = field(default_factory=dict)
    objective_scale: float = 1.0
    objective_offset: float = 0.0


def _bound(checked: CheckedFormulation, spec: float | str | None, key: Key) -> float | None:
    if spec is None or isinstance(spec, (int, float)):
        return spec
    table = checked.data.params[spec]
    value = table.lookup(key if table.index else ())
    return float(value) if isinstance(value, (int, float)) else None


def _integer_bounds(
    checked: CheckedFormulation, variable: VariableDef, key: Key
) -> tuple[int, int]:
    lower = _bound(checked, variable.lower, key)
    upper = _bound(checked, variable.upper, key)
    if variable.domain is Domain.BINARY:
        lower = 0 if lower is None else max(0.0, lower)
        upper = 1 if upper is None else min(1.0, upper)
    if lower is None:
        nonnegative = variable.domain in (Domain.NONNEGATIVE_INTEGER, Domain.INTERVAL)
        lower = 0 if nonnegative else -DEFAULT_BOUND
    if upper is None:
        upper = DEFAULT_BOUND
    return math.ceil(lower - 1e-9), math.floor(upper + 1e-9)


def _scale(numbers: list[float], what: str) -> int:
    """The smallest power of ten that makes every number an integer."""
    for digits in range(_MAX_SCALE_DIGITS + 1):
        factor = 10**digits
        if all(
            abs(x * factor - round(x * factor)) <= 1e-9 * max(1.0, abs(x * factor)) for x in numbers
        ):
            return factor
    raise IncompatibleBackendError(
        f"cpsat needs integer coefficients, and {what} has coefficients that stay fractional "
        f"after scaling by 10^{_MAX_SCALE_DIGITS}; use highs or scip"
    )


class _Builder:
    def __init__(self, checked: CheckedFormulation) -> None:
        from ortools.sat.python import cp_model

        self.cp_model = cp_model
        self.checked = checked
        self.build = CpSatBuild(model=cp_model.CpModel())
        self.products: dict[Monomial, Any] = {}
        self.intervals: dict[VarKey, Any] = {}
        self.variables = {v.name: v for v in checked.formulation.variables}

    def add_variables(self) -> None:
        model = self.build.model
        for variable in self.checked.formulation.variables:
            for key in self.checked.data.product(variable.index):
                lower, upper = _integer_bounds(self.checked, variable, key)
                label = f"{variable.name}{list(key) if key else ''}"
                var = model.new_int_var(lower, upper, label)
                self.build.variables[(variable.name, key)] = var

    def _product(self, monomial: Monomial) -> Any:
        if monomial in self.products:
            return self.products[monomial]
        a, b = (self.build.variables[v] for v in monomial)
        corners = [
            x * y
            for x in (a.proto.domain[0], a.proto.domain[-1])
            for y in (b.proto.domain[0], b.proto.domain[-1])
        ]
        product = self.build.model.new_int_var(min(corners), max(corners), "product")
        self.build.model.add_multiplication_equality(product, [a, b])
        self.products[monomial] = product
        return product

    def linear(self, poly: Poly, factor: float) -> Any:
        expression: Any = 0
        for monomial, coefficient in poly.terms.items():
            if not monomial or coefficient == 0:
                continue
            var = (
                self.build.variables[monomial[0]] if len(monomial) == 1 else self._product(monomial)
            )
            expression += round(coefficient * factor) * var
        return expression

    def relation(self, label: str, relation: Relation) -> None:
        body = relation.body
        if isinstance(body, Nonlinear):
            raise IncompatibleBackendError(f"cpsat cannot handle the nonlinear constraint {label}")
        poly = body if isinstance(body, Poly) else Poly({(): float(body)})
        constant = poly.constant
        numbers = [c for m, c in poly.terms.items() if m]
        numbers += [b - constant for b in (relation.lower, relation.upper) if b is not None]
        factor = _scale(numbers, f"constraint {label}")
        expression = self.linear(poly, factor)
        lower = None if relation.lower is None else round((relation.lower - constant) * factor)
        upper = None if relation.upper is None else round((relation.upper - constant) * factor)
        model = self.build.model
        if lower is not None and upper is not None:
            model.add_linear_constraint(expression, lower, upper)
        elif upper is not None:
            model.add(expression <= upper)
        else:
            model.add(expression >= lower)

    def interval(self, ref: IntervalRef) -> Any:
        var_key = (ref.name, ref.key)
        if var_key not in self.intervals:
            variable = self.variables[ref.name]
            duration = self.checked.evaluator(None).duration(variable, ref.key)
            if float(duration) != int(duration):
                raise IncompatibleBackendError(
                    f"cpsat needs integer durations; {ref.name} has duration {duration}"
                )
            start = self.build.variables[var_key]
            self.intervals[var_key] = self.build.model.new_fixed_size_interval_var(
                start, int(duration), f"interval {ref.name}"
            )
        return self.intervals[var_key]

    def global_constraint(self, label: str, constraint: GlobalConstraint) -> None:
        if constraint.kind == "no_overlap":
            self.build.model.add_no_overlap([self.interval(ref) for ref in constraint.items])
            return
        expressions = []
        for item in constraint.items:
            if isinstance(item, Nonlinear):
                raise IncompatibleBackendError(f"all_different in {label} needs linear terms")
            poly = item if isinstance(item, Poly) else Poly({(): float(item)})
            factor = _scale([c for c in poly.terms.values()], f"constraint {label}")
            if factor != 1:
                raise IncompatibleBackendError(
                    f"all_different in {label} needs integer-valued terms"
                )
            expressions.append(self.linear(poly, 1) + round(poly.constant))
        self.build.model.add_all_different(expressions)

    def objective(self) -> None:
        objective = self.checked.analysis.objective
        definition = self.checked.formulation.objective
        if objective is None or definition is None:
            return
        if isinstance(objective, Nonlinear):
            raise IncompatibleBackendError("cpsat cannot handle a nonlinear objective; use scip")
        numbers = [c for m, c in objective.terms.items() if m]
        try:
            factor = _scale(numbers, "the objective")
        except IncompatibleBackendError:
            factor = 10**_MAX_SCALE_DIGITS  # fractional objectives: scaled and rounded
        expression = self.linear(objective, factor)
        self.build.objective_scale = float(factor)
        self.build.objective_offset = objective.constant
        if definition.sense.value == "maximize":
            self.build.model.maximize(expression)
        else:
            self.build.model.minimize(expression)


def build_cpsat_model(checked: CheckedFormulation) -> CpSatBuild:
    """A CP-SAT model of a checked formulation (raises IncompatibleBackendError if impossible)."""
    obstacle = cpsat_obstacle(checked)
    if obstacle:
        raise IncompatibleBackendError(obstacle)
    builder = _Builder(checked)
    builder.add_variables()
    for instance in checked.analysis.instances:
        if isinstance(instance.relation, GlobalConstraint):
            builder.global_constraint(instance.label, instance.relation)
        else:
            builder.relation(instance.label, instance.relation)
    builder.objective()
    return builder.build
