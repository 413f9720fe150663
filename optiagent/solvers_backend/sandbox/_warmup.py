"""Warm-up of a zygote: import each family's libraries and solve one tiny model with each solver.

The first solve of each solver loads plugins and native libraries (about 100-200 ms); done
once here, every forked child starts warm. HiGHS's global thread scheduler is reset at the
end: a child forked after multi-threaded HiGHS would otherwise hang on its next MIP
(docs/STACK.md, "Sandbox latency"). Standard library plus the solver packages only.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable

__all__ = ["FAMILIES", "warm_up"]

# Modules imported up front in every family: what generated code reaches for anyway.
_COMMON = (
    "math", "itertools", "functools", "collections", "json", "re", "random", "statistics",
    "fractions", "decimal", "dataclasses", "enum", "typing", "heapq", "csv", "io", "time",
    "datetime", "numpy",
)  # fmt: skip


def _warm_pyomo() -> dict[str, str]:
    import highspy
    import pyomo.environ as pyo
    import pyscipopt

    milp = pyo.ConcreteModel()
    milp.x = pyo.Var([1, 2], domain=pyo.NonNegativeIntegers, bounds=(0, 5))
    milp.c = pyo.Constraint(expr=2 * milp.x[1] + 3 * milp.x[2] <= 7)
    milp.o = pyo.Objective(expr=3 * milp.x[1] + 4 * milp.x[2], sense=pyo.maximize)
    for name in ("highs", "appsi_highs"):
        result = pyo.SolverFactory(name).solve(milp, load_solutions=False)
        if not pyo.check_optimal_termination(result):
            raise RuntimeError(f"warm-up: {name} did not solve a tiny MILP")
    nlp = pyo.ConcreteModel()
    nlp.x = pyo.Var(bounds=(0, 10))
    nlp.y = pyo.Var(bounds=(0, 10))
    nlp.c = pyo.Constraint(expr=nlp.x + nlp.y <= 10)
    nlp.o = pyo.Objective(expr=nlp.x * nlp.y, sense=pyo.maximize)
    result = pyo.SolverFactory("scip_direct").solve(nlp, load_solutions=False)
    if not pyo.check_optimal_termination(result):
        raise RuntimeError("warm-up: scip_direct did not solve a tiny NLP")
    # Stop HiGHS's worker threads so that forked children do not inherit a dead pool.
    highspy.Highs.resetGlobalScheduler(True)
    import pyomo.version

    return {
        "pyomo": str(pyomo.version.version),
        "highspy": _version("highspy"),
        "pyscipopt": str(getattr(pyscipopt, "__version__", "?")),
    }


def _warm_ortools() -> dict[str, str]:
    from ortools.linear_solver import pywraplp
    from ortools.sat.python import cp_model

    model = cp_model.CpModel()
    x = model.new_int_var(0, 10, "x")
    y = model.new_int_var(0, 10, "y")
    model.add(x + y <= 12)
    model.maximize(2 * x + y)
    solver = cp_model.CpSolver()
    solver.parameters.num_workers = 2
    if solver.solve(model) != cp_model.OPTIMAL:
        raise RuntimeError("warm-up: CP-SAT did not solve a tiny model")
    for solver_id in ("GLOP", "SCIP"):
        linear = pywraplp.Solver.CreateSolver(solver_id)
        if linear is None:
            continue
        z = linear.NumVar(0, 3, "z")
        linear.Maximize(z)
        linear.Solve()
    return {"ortools": _version("ortools")}


def _version(distribution: str) -> str:
    from importlib import metadata

    try:
        return metadata.version(distribution)
    except metadata.PackageNotFoundError:
        return "?"


FAMILIES: dict[str, Callable[[], dict[str, str]]] = {
    "pyomo": _warm_pyomo,
    "ortools": _warm_ortools,
}
"""Each worker family and its warm-up (which returns the library versions it loaded)."""


def warm_up(family: str) -> dict[str, str]:
    """Import the common modules and run the family's warm-up; return library versions."""
    for name in _COMMON:
        importlib.import_module(name)
    return FAMILIES[family]()
