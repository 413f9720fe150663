"""Feasibility oracles: solve a model with some elements switched off or made elastic.

Three engines answer the same two questions, `feasible(active)` and
`elastic(active, relaxable)`:

- `HighsEngine` for models whose constraints are linear (LP and MILP feasibility, whatever
  the objective): one highspy model built from the analysis' polynomials, whose row and
  column bounds are switched in place, so each test is a warm re-solve. It also offers
  HiGHS's own irreducible infeasible subset (`iis`).
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
from collections.abc import Iterable
from dataclasses import dataclass, replace
from typing import Any, Protocol

import pyomo.environ as pyo

from optiagent.formulations.polynomial import Poly
from optiagent.solvers_backend.diagnosis.elements import Element, ModelView
from optiagent.solvers_backend.pyomo_builder import PyomoBuild, build_pyomo_model, pyomo_index

__all__ = [
    "Budget",
    "CpSatEngine",
    "ElasticResult",
    "Engine",
    "HighsEngine",
    "PyomoEngine",
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

    def next_solve(self) -> float | None:
        """The time limit for one more solve, or None when the budget is spent."""
        if self.solves >= self.max_solves or self.remaining < _MIN_SOLVE_TIME:
            return None
        self.solves += 1
        return self.remaining


@dataclass(frozen=True)
class ElasticResult:
    """The slack each relaxable element needed; `optimal` is False if the solve stopped early."""

    amounts: dict[Element, tuple[float, str]]  # element -> (amount, "lower" | "upper")
    total: float
    optimal: bool


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
        """The least total slack on `relaxable` that makes `active` feasible (None: none)."""
        ...


def _integer_elements(active: Iterable[Element]) -> frozenset[Element]:
    return frozenset(e for e in active if e[0] == "integer")


# ---------------------------------------------------------------------------------- HiGHS


class HighsEngine:
    """Linear constraints in one highspy model; tests switch bounds in place."""

    supports_elastic = True

    def __init__(self, view: ModelView, budget: Budget) -> None:
        import highspy

        self._highspy = highspy
        self.view = view
        self.budget = budget
        self._inf = highspy.kHighsInf
        self._rows = [self._row_entries(row.relation) for row in view.rows]  # type: ignore[arg-type]
        self._highs = self._new_highs()
        self._load_base(self._highs)
        # the base model has every row free, every column free and continuous: nothing active
        self._state: frozenset[Element] = frozenset()

    def _new_highs(self) -> Any:
        highs = self._highspy.Highs()
        highs.silent()
        return highs

    def _row_entries(self, relation: Any) -> tuple[list[int], list[float], float, float]:
        poly: Poly = relation.body
        coefficients: dict[int, float] = {}
        for monomial, coefficient in poly.terms.items():
            if monomial and coefficient:
                j = self.view.column_index[monomial[0]]
                coefficients[j] = coefficients.get(j, 0.0) + coefficient
        constant = poly.constant
        lower = -self._inf if relation.lower is None else relation.lower - constant
        upper = self._inf if relation.upper is None else relation.upper - constant
        return list(coefficients), list(coefficients.values()), lower, upper

    def _column_bounds(self, j: int, active: frozenset[Element]) -> tuple[float, float]:
        column = self.view.columns[j]
        lower = column.lower if ("lower", j) in active and column.lower is not None else -self._inf
        upper = column.upper if ("upper", j) in active and column.upper is not None else self._inf
        return lower, upper

    def _load_base(self, highs: Any) -> None:
        import numpy as np

        columns = self.view.columns
        highs.addVars(
            len(columns),
            np.array([-self._inf] * len(columns), dtype=np.float64),
            np.array([self._inf] * len(columns), dtype=np.float64),
        )
        self._add_rows(highs, range(len(self._rows)), free=True)

    def _add_rows(self, highs: Any, indices: Iterable[int], *, free: bool) -> None:
        import numpy as np

        lowers, uppers, starts, cols, values = [], [], [], [], []
        for i in indices:
            entries, coefficients, lower, upper = self._rows[i]
            starts.append(len(cols))
            cols += entries
            values += coefficients
            lowers.append(-self._inf if free else lower)
            uppers.append(self._inf if free else upper)
        if not starts:
            return
        highs.addRows(
            len(starts),
            np.array(lowers, dtype=np.float64),
            np.array(uppers, dtype=np.float64),
            len(cols),
            np.array(starts, dtype=np.int32),
            np.array(cols, dtype=np.int32),
            np.array(values, dtype=np.float64),
        )

    def _apply(self, active: frozenset[Element]) -> None:
        """Switch rows, bounds and integrality of the persistent model to `active`."""
        highs = self._highs
        columns_touched: set[int] = set()
        for kind, index in active ^ self._state:
            if kind == "row":
                _, _, lower, upper = self._rows[index]
                if ("row", index) not in active:
                    lower, upper = -self._inf, self._inf
                highs.changeRowBounds(index, lower, upper)
            elif kind in ("lower", "upper"):
                columns_touched.add(index)
            else:
                integral = ("integer", index) in active
                var_type = self._highspy.HighsVarType
                highs.changeColIntegrality(
                    index, var_type.kInteger if integral else var_type.kContinuous
                )
        for j in columns_touched:
            highs.changeColBounds(j, *self._column_bounds(j, active))
        self._state = active

    def _run(self, highs: Any, time_limit: float) -> Any:
        highs.setOptionValue("time_limit", float(time_limit))
        highs.run()
        status = highs.getModelStatus()
        if status == self._highspy.HighsModelStatus.kUnboundedOrInfeasible:
            # presolve may stop at "infeasible or unbounded"; solving without it decides
            highs.setOptionValue("presolve", "off")
            highs.run()
            highs.setOptionValue("presolve", "choose")
            status = highs.getModelStatus()
        return status

    def feasible(self, active: frozenset[Element]) -> bool | None:
        """Whether the active elements hold together (zero objective)."""
        limit = self.budget.next_solve()
        if limit is None:
            return None
        self._apply(active)
        status = self._run(self._highs, limit)
        codes = self._highspy.HighsModelStatus
        if status in (codes.kOptimal, codes.kModelEmpty):
            return True
        if status == codes.kInfeasible:
            return False
        # with a zero objective, "unbounded" cannot happen, so this means infeasible
        if status == codes.kUnboundedOrInfeasible:
            return False
        return None

    def iis(self, active: frozenset[Element]) -> frozenset[Element] | None:
        """HiGHS's irreducible infeasible subset of the LP relaxation of `active`, if any.

        highspy 1.14 offers `Highs.getIis()`. Its default ("light") strategy returned an
        empty set on our test models and it gives no valid set for a MIP, so we ask for
        `kIisStrategyIrreducible` on the continuous relaxation only; callers verify the
        subset with a deletion filter before trusting it.
        """
        limit = self.budget.next_solve()
        if limit is None:
            return None
        relaxation = active - _integer_elements(active)
        self._apply(relaxation)
        highs = self._highs
        if self._run(highs, limit) != self._highspy.HighsModelStatus.kInfeasible:
            return None
        highs.setOptionValue("iis_strategy", int(self._highspy.IisStrategy.kIisStrategyIrreducible))
        try:
            status, found = highs.getIis()
        except Exception:
            return None
        if status != self._highspy.HighsStatus.kOk or not found.valid_:
            return None
        codes = self._highspy.IisBoundStatus
        sides = {
            int(codes.kIisBoundStatusLower): ("lower",),
            int(codes.kIisBoundStatusUpper): ("upper",),
        }
        sides[int(codes.kIisBoundStatusBoxed)] = ("lower", "upper")
        elements: set[Element] = set()
        for i, bound in zip(found.row_index_, found.row_bound_, strict=False):
            if int(bound) in sides:
                elements.add(("row", int(i)))
        for j, bound in zip(found.col_index_, found.col_bound_, strict=False):
            for side in sides.get(int(bound), ()):
                elements.add((side, int(j)))
        chosen = frozenset(elements) & relaxation
        return chosen or None

    def elastic(
        self, active: frozenset[Element], relaxable: frozenset[Element]
    ) -> ElasticResult | None:
        """Minimize the total slack on `relaxable` rows and bounds with the rest in force."""
        import numpy as np

        limit = self.budget.next_solve()
        if limit is None:
            return None
        highs = self._new_highs()
        n = len(self.view.columns)
        bounds = [self._column_bounds(j, active - relaxable) for j in range(n)]
        highs.addVars(
            n,
            np.array([b[0] for b in bounds], dtype=np.float64),
            np.array([b[1] for b in bounds], dtype=np.float64),
        )
        integers = sorted(j for kind, j in active if kind == "integer")
        if integers:
            highs.changeColsIntegrality(
                len(integers),
                np.array(integers, dtype=np.int32),
                np.array([1] * len(integers), dtype=np.uint8),
            )
        slacks: list[tuple[Element, str]] = []
        lowers, uppers, starts, cols, values = [], [], [], [], []

        def slack(element: Element, side: str) -> int:
            slacks.append((element, side))
            return n + len(slacks) - 1

        for kind, index in sorted(active):
            element = (kind, index)
            if kind == "row":
                entries, coefficients, lower, upper = self._rows[index]
                entries, coefficients = list(entries), list(coefficients)
                if element in relaxable:
                    if lower > -self._inf:
                        entries.append(slack(element, "lower"))
                        coefficients.append(1.0)
                    if upper < self._inf:
                        entries.append(slack(element, "upper"))
                        coefficients.append(-1.0)
            elif kind in ("lower", "upper") and element in relaxable:
                column = self.view.columns[index]
                sign = 1.0 if kind == "lower" else -1.0
                entries, coefficients = [index, slack(element, kind)], [1.0, sign]
                bound = column.lower if kind == "lower" else column.upper
                assert bound is not None
                lower, upper = (bound, self._inf) if kind == "lower" else (-self._inf, bound)
            else:
                continue
            starts.append(len(cols))
            cols += entries
            values += coefficients
            lowers.append(lower)
            uppers.append(upper)
        if slacks:
            count = len(slacks)
            highs.addVars(
                count,
                np.zeros(count, dtype=np.float64),
                np.array([self._inf] * count, dtype=np.float64),
            )
            highs.changeColsCost(
                count, np.arange(n, n + count, dtype=np.int32), np.ones(count, dtype=np.float64)
            )
        if starts:
            highs.addRows(
                len(starts),
                np.array(lowers, dtype=np.float64),
                np.array(uppers, dtype=np.float64),
                len(cols),
                np.array(starts, dtype=np.int32),
                np.array(cols, dtype=np.int32),
                np.array(values, dtype=np.float64),
            )
        status = self._run(highs, limit)
        codes = self._highspy.HighsModelStatus
        solved = status in (codes.kOptimal, codes.kModelEmpty)
        has_point = solved or (
            status in (codes.kTimeLimit, codes.kIterationLimit, codes.kSolutionLimit)
            and highs.getInfo().primal_solution_status == 2
        )
        if not has_point:
            return None
        values_out = list(highs.getSolution().col_value)
        return _collect(slacks, values_out[n:], optimal=solved)


def _collect(
    slacks: list[tuple[Element, str]], values: list[float], *, optimal: bool
) -> ElasticResult:
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
        if not answer:
            return None
        results.solution_loader.load_vars()
        values = [float(var.value or 0.0) for var in slack_vars]
        optimal = results.solution_status.name == "optimal"
        return _collect(slacks, values, optimal=optimal)


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
