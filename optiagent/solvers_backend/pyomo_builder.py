"""Build a Pyomo ConcreteModel from a checked formulation.

Components are prefixed (`v_ship`, `c_supply_limit`, `objective`) so that no user name can
collide with an attribute of the Pyomo model; the build keeps maps from our (name, key)
pairs to Pyomo components so values and duals come back under the formulation's names.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

import pyomo.environ as pyo
from pyomo.core.expr.numeric_expr import UnaryFunctionExpression

from optiagent.formulations.analysis import CheckedFormulation
from optiagent.formulations.data import Key
from optiagent.formulations.evaluator import GlobalConstraint, Relation, is_data
from optiagent.formulations.schema import Domain, Sense, VariableDef

__all__ = ["PyomoAlgebra", "PyomoBuild", "build_pyomo_model", "pyomo_index"]

_DOMAINS = {
    Domain.REAL: pyo.Reals,
    Domain.NONNEGATIVE_REAL: pyo.NonNegativeReals,
    Domain.INTEGER: pyo.Integers,
    Domain.NONNEGATIVE_INTEGER: pyo.NonNegativeIntegers,
    Domain.BINARY: pyo.Binary,
    Domain.INTERVAL: pyo.Integers,
}


def pyomo_index(key: Key) -> Any:
    """Pyomo's index for one of our keys: the element itself for one position, else the tuple."""
    return key[0] if len(key) == 1 else key


def _abs(expression: Any) -> Any:
    # Python's abs() gives an AbsExpression, which Pyomo's SCIP interface rejects; the
    # named unary function 'abs' is understood by it (and by every NL writer).
    return UnaryFunctionExpression((expression,), "abs", abs)


class PyomoAlgebra:
    """The `Algebra` that turns expressions into Pyomo expressions over a model's variables."""

    def __init__(self, variables: dict[str, Any]) -> None:
        self._variables = variables

    def variable(self, name: str, key: Key) -> Any:
        """The Pyomo variable for (name, key)."""
        component = self._variables[name]
        return component if not key else component[pyomo_index(key)]

    def apply(self, func: str, args: list[Any]) -> Any:
        """Nonlinear functions; min/max through |a - b| so every NLP solver accepts them."""
        if func == "abs":
            return _abs(args[0])
        if func in ("min", "max"):
            result = args[0]
            for other in args[1:]:
                gap = _abs(result - other)
                result = (result + other + gap) / 2 if func == "max" else (result + other - gap) / 2
            return result
        return getattr(pyo, func)(args[0])

    def power(self, base: Any, exponent: float) -> Any:
        """`base ** exponent` (integral exponents stay integers for the solver's sake)."""
        return base ** (int(exponent) if float(exponent).is_integer() else exponent)

    def total(self, items: Iterable[Any]) -> Any:
        """A Pyomo sum built in one pass."""
        return pyo.quicksum(items)


@dataclass
class PyomoBuild:
    """A built model and the maps back to the formulation's names."""

    model: pyo.ConcreteModel
    variables: dict[str, Any] = field(default_factory=dict)
    variable_keys: dict[str, list[Key]] = field(default_factory=dict)
    constraints: list[tuple[str, Key, Any]] = field(default_factory=list)


def _bound(checked: CheckedFormulation, spec: float | str | None, key: Key) -> float | None:
    if spec is None or isinstance(spec, (int, float)):
        return spec
    table = checked.data.params[spec]
    value = table.lookup(key if table.index else ())
    return float(value) if isinstance(value, (int, float)) else None


def _add_variable(build: PyomoBuild, checked: CheckedFormulation, variable: VariableDef) -> None:
    keys = list(checked.data.product(variable.index))
    lower_spec = variable.lower
    if lower_spec is None and variable.domain is Domain.INTERVAL:
        lower_spec = 0  # a task cannot start before time 0
    bounds = {
        key: (_bound(checked, lower_spec, key), _bound(checked, variable.upper, key))
        for key in keys
    }
    domain = _DOMAINS[variable.domain]
    if variable.index:
        arity = len(keys[0]) if keys else checked.data.arity_of(variable.index)
        index = pyo.Set(initialize=[pyomo_index(k) for k in keys], dimen=arity, ordered=True)
        build.model.add_component(f"v_{variable.name}_index", index)

        def rule(_model: Any, *idx: Any) -> tuple[float | None, float | None]:
            return bounds[tuple(idx)]

        component = pyo.Var(index, domain=domain, bounds=rule)
    else:
        component = pyo.Var(domain=domain, bounds=bounds[()])
    build.model.add_component(f"v_{variable.name}", component)
    build.variables[variable.name] = component
    build.variable_keys[variable.name] = keys


def relation_expression(relation: Relation) -> Any:
    """The Pyomo relational expression of lower <= body <= upper."""
    body, lower, upper = relation.body, relation.lower, relation.upper
    if lower is not None and upper is not None:
        return body == lower if lower == upper else pyo.inequality(lower, body, upper)
    return body <= upper if upper is not None else body >= lower


def build_pyomo_model(checked: CheckedFormulation) -> PyomoBuild:
    """A Pyomo model of a checked formulation (global constraints are not allowed here)."""
    formulation = checked.formulation
    build = PyomoBuild(model=pyo.ConcreteModel(name=formulation.name))
    for variable in formulation.variables:
        _add_variable(build, checked, variable)
    evaluator = checked.evaluator(PyomoAlgebra(build.variables))
    if formulation.objective is not None and checked.parsed.objective is not None:
        sense = pyo.maximize if formulation.objective.sense is Sense.MAXIMIZE else pyo.minimize
        expression = evaluator.value(checked.parsed.objective, {})
        build.model.objective = pyo.Objective(expr=expression, sense=sense)
    else:
        build.model.objective = pyo.Objective(expr=0.0)
    for parsed in checked.parsed.constraints:
        name = parsed.definition.name
        # a chained comparison with variables on both ends yields a second part
        parts: dict[int, dict[Key, Any]] = {}
        instances = evaluator.constraint_instances(parsed.forall, parsed.expression)
        for key, _, relations in instances:
            for part, relation in enumerate(relations):
                if isinstance(relation, GlobalConstraint):
                    raise ValueError(f"{relation.kind} cannot be built in Pyomo")
                if is_data(relation.body):
                    continue  # data-only: true ones are dropped, false ones caught by analysis
                parts.setdefault(part, {})[key] = relation_expression(relation)
        for part, entries in parts.items():
            component_name = f"c_{name}" if part == 0 else f"c_{name}_part{part + 1}"
            _add_constraint(build, name, component_name, entries, scalar=not parsed.forall)
    return build


def _add_constraint(
    build: PyomoBuild, name: str, component_name: str, entries: dict[Key, Any], scalar: bool
) -> None:
    if scalar:
        component = pyo.Constraint(expr=entries[()])
        build.model.add_component(component_name, component)
        build.constraints.append((name, (), component))
        return
    by_index = {pyomo_index(key): expression for key, expression in entries.items()}
    component = pyo.Constraint(list(by_index), rule=lambda _m, *idx: by_index[_unwrap(idx)])
    build.model.add_component(component_name, component)
    for key in entries:
        build.constraints.append((name, key, component[pyomo_index(key)]))


def _unwrap(idx: tuple[Any, ...]) -> Any:
    return idx[0] if len(idx) == 1 else idx
