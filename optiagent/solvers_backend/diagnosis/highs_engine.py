"""The HiGHS feasibility oracle for models whose constraints are linear (LP and MILP).

One highspy model is built from the analysis' polynomials (whatever the objective, the
feasibility model of linear constraints is an LP or a MILP); tests switch row bounds, column
bounds and integrality in place, so each is a warm re-solve. It also offers HiGHS's own
irreducible infeasible subset.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import numpy as np

from optiagent.formulations.polynomial import Poly
from optiagent.solvers_backend.diagnosis.elements import Element, ModelView
from optiagent.solvers_backend.diagnosis.engines import Budget, ElasticResult, collect_slacks

__all__ = ["HighsEngine"]


def _integer_elements(active: Iterable[Element]) -> frozenset[Element]:
    return frozenset(e for e in active if e[0] == "integer")


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
        columns = self.view.columns
        highs.addVars(
            len(columns),
            np.array([-self._inf] * len(columns), dtype=np.float64),
            np.array([self._inf] * len(columns), dtype=np.float64),
        )
        self._add_free_rows(highs)

    def _add_free_rows(self, highs: Any) -> None:
        """Every row, switched off (free) until `_apply` gives it its bounds."""
        lowers: list[float] = []
        uppers: list[float] = []
        values: list[float] = []
        starts: list[int] = []
        cols: list[int] = []
        for entries, coefficients, _, _ in self._rows:
            starts.append(len(cols))
            cols += entries
            values += coefficients
            lowers.append(-self._inf)
            uppers.append(self._inf)
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
        sides: dict[int, tuple[str, ...]] = {
            int(codes.kIisBoundStatusLower): ("lower",),
            int(codes.kIisBoundStatusUpper): ("upper",),
            int(codes.kIisBoundStatusBoxed): ("lower", "upper"),
        }
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
        limit = self.budget.next_solve()
        if limit is None:
            return None
        highs = self._new_highs()
        n = len(self.view.columns)
        hard = active - relaxable
        bounds = [self._column_bounds(j, hard) for j in range(n)]
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
        lowers: list[float] = []
        uppers: list[float] = []
        values: list[float] = []
        starts: list[int] = []
        cols: list[int] = []

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
        if status in (codes.kInfeasible, codes.kUnboundedOrInfeasible):
            return ElasticResult.impossible()  # a minimization of slacks cannot be unbounded
        if not has_point:
            return None
        values_out = list(highs.getSolution().col_value)
        return collect_slacks(slacks, values_out[n:], optimal=solved)
