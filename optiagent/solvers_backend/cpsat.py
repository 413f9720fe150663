"""OR-Tools CP-SAT: scheduling (intervals, no-overlap), all-different, pure-integer models."""

from __future__ import annotations

import os
import time

from optiagent.formulations.analysis import CheckedFormulation, ProblemClass
from optiagent.formulations.polynomial import Poly
from optiagent.solvers_backend.base import Backend
from optiagent.solvers_backend.cpsat_builder import build_cpsat_model, cpsat_obstacle
from optiagent.solvers_backend.phase import solver_starting
from optiagent.solvers_backend.results import SolveOptions, SolveResult, SolveStatus, Values

__all__ = ["CpSatBackend"]

_DEFAULT_WORKERS = 8


class CpSatBackend(Backend):
    """CP-SAT on integer models with global constraints; the natural home of scheduling."""

    name = "cpsat"
    description = "OR-Tools CP-SAT: CP and scheduling, pure-integer linear models"
    module = "ortools"
    package = "ortools"
    supports = frozenset(
        {ProblemClass.CP, ProblemClass.MILP, ProblemClass.MIQP, ProblemClass.NONCONVEX_QP}
    )
    features = frozenset({"intervals", "all_different", "time_limit", "threads"})

    def incompatibility(self, checked: CheckedFormulation) -> str | None:
        """CP-SAT takes CP and pure-integer models with at most products of two variables."""
        obstacle = cpsat_obstacle(checked)
        if obstacle:
            return obstacle
        return super().incompatibility(checked)

    def solve(self, checked: CheckedFormulation, options: SolveOptions) -> SolveResult:
        """Build the CP-SAT model and solve it; the search log is kept when asked."""
        from ortools.sat.python import cp_model

        started = time.perf_counter()
        build = build_cpsat_model(checked)
        solver = cp_model.CpSolver()
        log: list[str] = []
        if options.time_limit is not None:
            solver.parameters.max_time_in_seconds = float(options.time_limit)
        solver.parameters.num_workers = options.threads or min(
            _DEFAULT_WORKERS, os.cpu_count() or 1
        )
        if options.mip_gap is not None:
            solver.parameters.relative_gap_limit = options.mip_gap
        if options.keep_log:
            solver.parameters.log_search_progress = True
            solver.parameters.log_to_stdout = False
            solver.log_callback = log.append
        solver_starting()
        try:
            code = solver.solve(build.model)
        except Exception as error:
            return SolveResult(
                status=SolveStatus.ERROR,
                backend=self.name,
                problem_class=checked.problem_class,
                solve_time_s=time.perf_counter() - started,
                log="\n".join(log),
                message=f"cp-sat failed: {type(error).__name__}: {error}",
            )
        wall = time.perf_counter() - started
        hit_limit = options.time_limit is not None and solver.wall_time >= 0.98 * options.time_limit
        status = {
            cp_model.OPTIMAL: SolveStatus.OPTIMAL,
            cp_model.FEASIBLE: SolveStatus.TIME_LIMIT if hit_limit else SolveStatus.FEASIBLE,
            cp_model.INFEASIBLE: SolveStatus.INFEASIBLE,
            cp_model.MODEL_INVALID: SolveStatus.ERROR,
        }.get(code, SolveStatus.TIME_LIMIT if hit_limit else SolveStatus.ERROR)
        result = SolveResult(
            status=status,
            backend=self.name,
            problem_class=checked.problem_class,
            solve_time_s=wall,
            log="\n".join(log),
            message=f"cp-sat status: {solver.status_name(code)}",
        )
        if code in (cp_model.OPTIMAL, cp_model.FEASIBLE):
            values: Values = {}
            for (name, key), var in build.variables.items():
                values.setdefault(name, {})[key] = float(solver.value(var))
            result.values = values
            objective = checked.analysis.objective
            if isinstance(objective, Poly):
                # evaluate exactly: the solver saw coefficients scaled to integers
                result.objective = objective.evaluate(
                    {var_key: values[var_key[0]][var_key[1]] for var_key in build.variables}
                )
                scale, offset = build.objective_scale, build.objective_offset
                result.best_bound = solver.best_objective_bound / scale + offset
                result.gap = abs(result.objective - result.best_bound) / max(
                    1e-10, abs(result.objective)
                )
            else:
                result.objective = 0.0
        return result
