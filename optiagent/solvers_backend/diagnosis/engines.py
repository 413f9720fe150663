"""Feasibility oracles: solve a model with some elements switched off or made elastic.

Three engines answer the same two questions, `feasible(active)` and
`elastic(active, relaxable)`:

- `HighsEngine` (in highs_engine.py) for models whose constraints are linear;
- `PyomoEngine` for nonlinear constraints: the Pyomo build solved by SCIP (global), with
  components deactivated and variable domains/bounds reset for each test.
- `CpSatEngine` for CP models (global constraints): the CP-SAT build of the active
  constraint instances only; bounds stay in force and there is no elastic model.

Every solve draws on a shared `Budget` (wall clock and number of solves); an answer of None
means "unknown" (time limit, solver trouble), which callers treat conservatively.
"""

from __future__ import annotations

import math
import os
import time
from dataclasses import dataclass, replace
from typing import Any, Protocol

import pyomo.environ as pyo

from optiagent.solvers_backend.diagnosis.elements import Element, ModelView
from optiagent.solvers_backend.pyomo_builder import PyomoBuild, build_pyomo_model, pyomo_index

__all__ = [
    "Budget",
    "CpSatEngine",
    "ElasticResult",
    "Engine",
    "PyomoEngine",
    "collect_slacks",
    "solve_pyomo_model",
]

_MIN_SOLVE_TIME = 0.05
_CPSAT_WORKERS = 4


class Budget:
    """The wall-clock time and number of solves a diagnosis may still spend."""

    def __init__(self, time_limit: float, max_solves: int) -> None:
        self.started = time.perf_counter()
        self.deadline = self.started + max(0.0, time_limit)
        self.max_solves = max_solves
        self.solves = 0

    @property
    def remaining(self) -> float:
        """Seconds left."""
        return max(0.0, self.deadline - time.perf_counter())

    @property
    def elapsed(self) -> float:
        """Seconds spent so far."""
        return time.perf_counter() - self.started

    @property
    def exhausted(self) -> bool:
        """True when no further solve is allowed."""
        return self.solves >= self.max_solves or self.remaining < _MIN_SOLVE_TIME

    def next_solve(self) -> float | None:
        """The time limit for one more solve, or None when the budget is spent."""
        if self.exhausted:
            return None
        self.solves += 1
        return self.remaining


@dataclass(frozen=True)
class ElasticResult:
    """The slack each relaxable element needed; `optimal` is False if the solve stopped early."""

    amounts: dict[Element, tuple[float, str]]  # element -> (amount, "lower" | "upper")
    total: float
    optimal: bool
    feasible: bool = True  # False: no amount of slack on the relaxable elements is enough

    @classmethod
    def impossible(cls) -> ElasticResult:
        """The result when the elastic model itself is proven infeasible."""
        return cls(amounts={}, total=math.inf, optimal=True, feasible=False)


class Engine(Protocol):
    """What the diagnosis asks of a solver."""

    view: ModelView
    supports_elastic: bool

    def feasible(self, active: frozenset[Element]) -> bool | None:
        """True/False when the active elements can/cannot hold together; None if unknown."""
        ...

    def elastic(
        self, active: frozenset[Element], relaxable: frozenset[Element]
    ) -> ElasticResult | None:
        """The least total slack on `relaxable` that makes `active` feasible (None: unknown)."""
        ...

    def iis(self, active: frozenset[Element]) -> frozenset[Element] | None:
        """A solver-computed irreducible infeasible subset of `active`, when offered."""
        ...


def collect_slacks(
    slacks: list[tuple[Element, str]], values: list[float], *, optimal: bool
) -> ElasticResult:
    """The elastic result from slack columns (element, side) and their solution values."""
    amounts: dict[Element, tuple[float, str]] = {}
    for (element, side), value in zip(slacks, values, strict=True):
        if value > 1e-7:
            amount, _ = amounts.get(element, (0.0, side))
            amounts[element] = (amount + value, side)
    total = math.fsum(a for a, _ in amounts.values())
    return ElasticResult(amounts=amounts, total=total, optimal=optimal)


# ---------------------------------------------------------------------------------- Pyomo


def solve_pyomo_model(
    model: pyo.ConcreteModel, solver_name: str, time_limit: float
) -> tuple[bool | None, Any]:
    """(feasible?, results) of one solve through Pyomo's v3 interface."""
    from pyomo.contrib.solver.common.factory import SolverFactory

    try:
        # Runs in a solver worker (see solvers_backend/pool.py), where Pyomo's fd capture
        # is off and fds 1/2 are the worker's log file.
        results = SolverFactory(solver_name).solve(
            model,
            load_solutions=False,
            raise_exception_on_nonoptimal_result=False,
            time_limit=time_limit,
        )
    except Exception:
        return None, None
    termination = results.termination_condition.name
    solution = results.solution_status.name
    if solution in ("feasible", "optimal"):
        return True, results
    if termination in ("provenInfeasible", "locallyInfeasible", "infeasibleOrUnbounded"):
        return False, results
    return None, results


class PyomoEngine:
    """Nonlinear constraints: the Pyomo build, solved by SCIP with parts switched off."""

    supports_elastic = True

    def __init__(self, view: ModelView, budget: Budget, solver_name: str = "scip_direct") -> None:
        self.view = view
        self.budget = budget
        self.solver_name = solver_name
        self._build, self._row_data, self._var_data = self._fresh()
        model = self._build.model
        model.objective.deactivate()
        model.diagnosis_zero_objective = pyo.Objective(expr=0.0)

    def _fresh(self) -> tuple[PyomoBuild, list[Any], list[Any]]:
        build = build_pyomo_model(self.view.checked)
        by_instance: dict[tuple[str, Any, int], Any] = {}
        for name, key, data in build.constraints:
            component = data.parent_component().local_name
            part = 0
            suffix = component[len(f"c_{name}") :]
            if suffix.startswith("_part"):
                part = int(suffix[len("_part") :]) - 1
            by_instance[(name, key, part)] = data
        rows = [
            by_instance.get((row.name, row.instance.key, row.instance.part))
            for row in self.view.rows
        ]
        variables = []
        for column in self.view.columns:
            component = build.variables[column.name]
            variables.append(component if not column.key else component[pyomo_index(column.key)])
        return build, rows, variables

    def _apply(self, rows: list[Any], variables: list[Any], active: frozenset[Element]) -> None:
        for i, data in enumerate(rows):
            if data is None:
                continue
            if ("row", i) in active:
                data.activate()
            else:
                data.deactivate()
        for j, var in enumerate(variables):
            column = self.view.columns[j]
            var.domain = pyo.Integers if ("integer", j) in active else pyo.Reals
            var.setlb(column.lower if ("lower", j) in active else None)
            var.setub(column.upper if ("upper", j) in active else None)

    def iis(self, active: frozenset[Element]) -> frozenset[Element] | None:
        """Not offered: SCIP's Pyomo interface has no conflict analysis to ask for."""
        return None

    def feasible(self, active: frozenset[Element]) -> bool | None:
        """Whether the active elements hold together (zero objective)."""
        limit = self.budget.next_solve()
        if limit is None:
            return None
        self._apply(self._row_data, self._var_data, active)
        answer, _ = solve_pyomo_model(self._build.model, self.solver_name, limit)
        return answer

    def elastic(
        self, active: frozenset[Element], relaxable: frozenset[Element]
    ) -> ElasticResult | None:
        """Minimize the total slack on `relaxable` in a fresh build with the rest in force."""
        limit = self.budget.next_solve()
        if limit is None:
            return None
        build, rows, variables = self._fresh()
        model = build.model
        model.objective.deactivate()
        self._apply(rows, variables, active - relaxable)
        slacks: list[tuple[Element, str]] = []
        model.diagnosis_slack = pyo.VarList(domain=pyo.NonNegativeReals)
        model.diagnosis_elastic = pyo.ConstraintList()
        slack_vars: list[Any] = []

        def slack(element: Element, side: str) -> Any:
            var = model.diagnosis_slack.add()
            slacks.append((element, side))
            slack_vars.append(var)
            return var

        for kind, index in sorted(relaxable & active):
            if kind == "row":
                data = rows[index]
                if data is None:
                    continue
                body = data.body
                if data.lb is not None:
                    body = body + slack((kind, index), "lower")
                if data.ub is not None:
                    body = body - slack((kind, index), "upper")
                if data.lb is not None and data.ub is not None:
                    model.diagnosis_elastic.add(pyo.inequality(data.lb, body, data.ub))
                elif data.ub is not None:
                    model.diagnosis_elastic.add(body <= data.ub)
                else:
                    model.diagnosis_elastic.add(body >= data.lb)
                data.deactivate()
            elif kind in ("lower", "upper"):
                column = self.view.columns[index]
                var = variables[index]
                if kind == "lower":
                    model.diagnosis_elastic.add(var + slack((kind, index), kind) >= column.lower)
                else:
                    model.diagnosis_elastic.add(var - slack((kind, index), kind) <= column.upper)
        model.diagnosis_objective = pyo.Objective(
            expr=pyo.quicksum(slack_vars) if slack_vars else 0.0
        )
        answer, results = solve_pyomo_model(model, self.solver_name, limit)
        if answer is False:
            return ElasticResult.impossible()
        if answer is None:
            return None
        results.solution_loader.load_vars()
        values = [float(var.value or 0.0) for var in slack_vars]
        optimal = results.solution_status.name == "optimal"
        return collect_slacks(slacks, values, optimal=optimal)


# ---------------------------------------------------------------------------------- CP-SAT


class CpSatEngine:
    """CP models: CP-SAT on the active constraint instances (bounds always in force)."""

    supports_elastic = False

    def __init__(self, view: ModelView, budget: Budget) -> None:
        self.view = view
        self.budget = budget

    def feasible(self, active: frozenset[Element]) -> bool | None:
        """Whether the active constraint instances hold together (objective dropped)."""
        from ortools.sat.python import cp_model

        from optiagent.solvers_backend.cpsat_builder import build_cpsat_model

        limit = self.budget.next_solve()
        if limit is None:
            return None
        checked = self.view.checked
        instances = [row.instance for i, row in enumerate(self.view.rows) if ("row", i) in active]
        # a copy with fewer instances and no objective: the caller's object is left alone
        subset = replace(
            checked, analysis=replace(checked.analysis, instances=instances, objective=None)
        )
        try:
            build = build_cpsat_model(subset)
        except Exception:
            return None
        solver = cp_model.CpSolver()
        solver.parameters.max_time_in_seconds = float(limit)
        solver.parameters.num_workers = min(_CPSAT_WORKERS, os.cpu_count() or 1)
        code = solver.solve(build.model)
        if code in (cp_model.OPTIMAL, cp_model.FEASIBLE):
            return True
        if code == cp_model.INFEASIBLE:
            return False
        return None

    def elastic(
        self, active: frozenset[Element], relaxable: frozenset[Element]
    ) -> ElasticResult | None:
        """Not offered for CP models (a global constraint has no slack to measure)."""
        return None

    def iis(self, active: frozenset[Element]) -> frozenset[Element] | None:
        """Not offered: the deletion filter finds the conflict."""
        return None
