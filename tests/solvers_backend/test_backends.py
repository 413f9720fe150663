"""Every example on every backend that accepts it, and every status path."""

from __future__ import annotations

import math
import random
from pathlib import Path
from typing import Any

import pytest

from optiagent.exceptions import ConfigurationError, IncompatibleBackendError
from optiagent.formulations.analysis import check_formulation
from optiagent.formulations.io import load_formulation, parse_formulation
from optiagent.solvers_backend.api import solve
from optiagent.solvers_backend.registry import BACKENDS, ROUTES, choose_backend, get_backend
from optiagent.solvers_backend.results import SolveOptions, SolveStatus

EXAMPLES = Path(__file__).parents[2] / "examples"
OPTIMA = {
    "wyndor": 36.0,
    "transport": 153.675,
    "knapsack": 220.0,
    "max_product": 25.0,
    "projection_qp": 0.5,
    "integer_nlp": 0.3075,
    "jobshop": 11.0,
}


def _checked(name: str) -> Any:
    return check_formulation(load_formulation(EXAMPLES / f"{name}.yaml"))


@pytest.mark.parametrize("backend", list(BACKENDS))
@pytest.mark.parametrize("name", [*OPTIMA, "infeasible"])
def test_example_on_backend(name: str, backend: str) -> None:
    checked = _checked(name)
    reason = BACKENDS[backend].incompatibility(checked)
    if reason:
        with pytest.raises(IncompatibleBackendError):
            solve(checked, backend=backend)
        pytest.skip(f"{backend} does not accept {name}: {reason}")
    result = solve(checked, backend=backend, time_limit=30)
    assert result.backend == backend
    if name == "infeasible":
        assert result.status is SolveStatus.INFEASIBLE and result.objective is None
        return
    assert result.status is SolveStatus.OPTIMAL, result.message
    assert math.isclose(result.objective, OPTIMA[name], rel_tol=1e-6, abs_tol=1e-6)


@pytest.mark.parametrize(
    ("name", "backend"),
    [
        ("wyndor", "highs"),
        ("transport", "highs"),
        ("knapsack", "highs"),
        ("max_product", "scip"),
        ("projection_qp", "highs"),
        ("integer_nlp", "scip"),
        ("jobshop", "cpsat"),
    ],
)
def test_automatic_routing(name: str, backend: str) -> None:
    assert choose_backend(_checked(name)).name == backend


def test_highs_never_gets_a_nonconvex_qp() -> None:
    assert "highs" not in ROUTES[_checked("max_product").problem_class]
    with pytest.raises(IncompatibleBackendError, match="stationary point") as refused:
        solve(_checked("max_product"), backend="highs")
    assert "not concave: the product term of x and y" in str(refused.value)  # the reason


def test_nonlinear_model_on_cpsat_is_refused_with_the_right_backend_named() -> None:
    with pytest.raises(IncompatibleBackendError, match="scip"):
        solve(_checked("integer_nlp"), backend="cpsat")


def test_unknown_backend_suggests_the_closest() -> None:
    with pytest.raises(ConfigurationError, match="did you mean 'highs'"):
        get_backend("higs")


def test_lp_duals_and_reduced_costs() -> None:
    result = solve(_checked("wyndor"))
    assert result.duals == {"plant1": {(): 0.0}, "plant2": {(): 1.5}, "plant3": {(): 1.0}}
    assert set(result.reduced_costs) == {"x", "y"}


def test_values_are_keyed_by_the_formulation_names() -> None:
    result = solve(_checked("transport"))
    assert result.value("ship", "seattle", "chicago") == pytest.approx(300)
    assert result.flat_values()["ship[san-diego,topeka]"] == pytest.approx(275)


def _hard_knapsack() -> Any:
    rng = random.Random(7)
    items = [f"i{k}" for k in range(60)]
    document = {
        "sets": {"I": items, "R": list(range(8))},
        "parameters": {
            "v": {"index": ["I"], "value": [rng.randint(10, 99) for _ in items]},
            "w": {
                "index": ["R", "I"],
                "value": [[rng.randint(5, 60) for _ in items] for _ in range(8)],
            },
            "cap": {
                "index": ["R"],
                "value": [sum(rng.randint(5, 60) for _ in items) // 3 for _ in range(8)],
            },
        },
        "variables": {"take": {"index": ["I"], "domain": "binary"}},
        "objective": {"maximize": "sum(v[i] * take[i] for i in I)"},
        "constraints": {
            "res": {"forall": "r in R", "expression": "sum(w[r, i] * take[i] for i in I) <= cap[r]"}
        },
    }
    return parse_formulation(document)


def test_time_limit_returns_the_incumbent_and_gap() -> None:
    result = solve(_hard_knapsack(), time_limit=0.2, threads=1)
    assert result.status is SolveStatus.TIME_LIMIT
    assert result.objective is not None and result.best_bound >= result.objective
    assert result.gap is not None and result.gap > 0
    assert all(v in (0.0, 1.0) for v in result.values["take"].values())


def test_unbounded_status() -> None:
    document = {
        "variables": {"x": {}, "y": {}},
        "objective": {"maximize": "x + y"},
        "constraints": {"c": "x - y <= 1"},
    }
    assert solve(parse_formulation(document)).status in (
        SolveStatus.UNBOUNDED,
        SolveStatus.INFEASIBLE_OR_UNBOUNDED,
    )


def test_trivially_false_constraint_is_infeasible_without_a_solver_call() -> None:
    document = {
        "parameters": {"a": 3},
        "variables": {"x": {}},
        "objective": {"minimize": "x"},
        "constraints": {"impossible": "a >= 5"},
    }
    result = solve(parse_formulation(document))
    assert result.status is SolveStatus.INFEASIBLE and "impossible" in result.message


def test_feasibility_problem_without_objective() -> None:
    document = {"variables": {"x": {"upper": 3}}, "constraints": {"c": "x >= 2"}}
    result = solve(parse_formulation(document))
    assert result.status is SolveStatus.OPTIMAL and 2 <= result.value("x") <= 3


def test_solver_crash_becomes_an_error_status(monkeypatch: pytest.MonkeyPatch) -> None:
    from pyomo.contrib.solver.solvers.highs import Highs

    def explode(*_args: Any, **_kwargs: Any) -> None:
        raise RuntimeError("simulated crash")

    monkeypatch.setattr(Highs, "solve", explode)
    # The backend itself, in this process: the pool's workers run this same call.
    result = BACKENDS["highs"].solve(_checked("wyndor"), SolveOptions())
    assert result.status is SolveStatus.ERROR and "simulated crash" in result.message


def test_solver_log_is_captured() -> None:
    assert "HiGHS" in solve(_checked("wyndor")).log
    assert solve(_checked("jobshop")).log


def test_concurrent_solves_in_threads_do_not_collide() -> None:
    """Pyomo redirects stdout/stderr fds during each solve; parallel in-process solves used
    to close each other's pipes ("Bad file descriptor"). Each runs in its own worker now."""
    from concurrent.futures import ThreadPoolExecutor

    checked = [_checked(name) for name in ("wyndor", "transport", "knapsack", "max_product")] * 3
    with ThreadPoolExecutor(max_workers=6) as pool:
        results = list(pool.map(lambda c: solve(c, time_limit=30), checked))
    assert [r.status for r in results] == [SolveStatus.OPTIMAL] * len(checked)
    assert [round(r.objective, 3) for r in results[:4]] == [36.0, 153.675, 220.0, 25.0]
    assert all(r.log for r in results)


def test_missing_dependency_only_when_every_fitting_backend_is_missing(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from optiagent.exceptions import MissingDependencyError

    monkeypatch.setattr(type(BACKENDS["cpsat"]), "is_available", lambda self: False)
    with pytest.raises(MissingDependencyError, match="ortools"):
        choose_backend(_checked("jobshop"))


def test_each_refusal_is_named_when_no_backend_fits(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(type(BACKENDS["highs"]), "is_available", lambda self: False)
    monkeypatch.setattr(type(BACKENDS["scip"]), "incompatibility", lambda self, c: "scip says no")
    with pytest.raises(IncompatibleBackendError) as raised:
        choose_backend(_checked("wyndor"))
    message = str(raised.value)
    assert "highs: the package 'highspy' is not installed" in message
    assert "scip: scip says no" in message
