"""Convexity of quadratic objectives at any size: symbolic shapes, certificates, factorisations."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

from optiagent.formulations import convexity
from optiagent.formulations.analysis import ProblemClass, check_formulation
from optiagent.formulations.convexity import decide_convexity
from optiagent.formulations.io import parse_formulation
from optiagent.formulations.polynomial import Poly
from optiagent.formulations.schema import Sense
from optiagent.solvers_backend.api import solve
from optiagent.solvers_backend.registry import choose_backend


def _analysis(objective: dict[str, str], n: int = 0, **extra: Any) -> Any:
    document: dict[str, Any] = {
        "sets": {"I": {"first": 1, "last": max(n, 1)}},
        "parameters": {"a": {"index": ["I"], "value": [(i * 37) % 101 / 10 for i in range(n)]}},
        "variables": {"x": {"index": ["I"], "domain": "real"}, "y": {}, "z": {}},
        "objective": objective,
        **extra,
    }
    if not n:
        del document["parameters"]
    return check_formulation(parse_formulation(document))


def _matrix_poly(hessian: np.ndarray) -> Poly:
    """The quadratic form 1/2 x'Hx as a polynomial with no shape known (read numerically)."""
    terms: dict[Any, float] = {}
    size = hessian.shape[0]
    for i in range(size):
        for j in range(i, size):
            value = hessian[i, j] / 2 if i == j else hessian[i, j]
            if value:
                terms[(("v", (i,)), ("v", (j,)))] = float(value)
    return Poly(terms)


@pytest.mark.parametrize(
    ("sense", "expression", "convex", "why"),
    [
        ("minimize", "(y + z)**2", True, "sum of squares"),
        ("minimize", "y*y + 2*y*z + z*z", True, "diagonally dominant"),  # semidefinite
        ("minimize", "y**2 + z**2 - y*z", True, "diagonally dominant"),
        ("maximize", "-(y - 1)**2 - z**2", True, "sum of squares"),
        (
            "minimize",
            "y*y + z*z + x[1]*x[1] + 1.5*y*z + 1.5*z*x[1] + 1.5*y*x[1]",
            True,
            "Cholesky",
        ),
        ("minimize", "y*z", False, "product term of y and z"),
        ("maximize", "y**2", False, "y**2 has a positive coefficient"),
        ("minimize", "2*(y - z)**2 - (y + z)**2", False, "product term"),
        ("minimize", "y*y + 2*y*z + z*z + x[1]*x[1] + y*x[1]", False, "curvature"),
        ("minimize", "3*y**2 + 2*y", True, "sum of squares"),
        ("minimize", "y + z", None, ""),
    ],
)
def test_small_objectives(sense: str, expression: str, convex: bool | None, why: str) -> None:
    analysis = _analysis({sense: expression}).analysis
    if convex is None:
        assert analysis.problem_class is ProblemClass.LP
        return
    expected = ProblemClass.CONVEX_QP if convex else ProblemClass.NONCONVEX_QP
    assert analysis.problem_class is expected and analysis.convex_objective is convex
    assert why in analysis.convexity


def test_the_factorisations_agree_with_dense_eigenvalues() -> None:
    rng = np.random.default_rng(7)
    for trial in range(40):
        size = int(rng.choice([3, 12, 40, 90]))
        basis = rng.normal(size=(size, size)) * (rng.random((size, size)) < 0.15)
        hessian = basis @ basis.T  # semidefinite, often singular
        if trial % 2:
            hessian -= 0.05 * np.abs(hessian).max() * np.eye(size)  # now indefinite
        expected = bool(np.linalg.eigvalsh(hessian).min() >= -1e-9 * np.abs(hessian).max())
        verdict = decide_convexity(_matrix_poly(hessian), Sense.MINIMIZE)
        assert verdict.convex is expected, (trial, size, verdict.reason)
        flipped = decide_convexity(_matrix_poly(-hessian), Sense.MAXIMIZE)
        assert flipped.convex is expected, (trial, size, flipped.reason)


def _tridiagonal(n: int, first: float = 2.0) -> Poly:
    """The expansion of sum((x[i] + 2*x[i+1])**2): semidefinite, row 1 not dominant."""
    terms: dict[Any, float] = {}
    for i in range(n):
        terms[(("x", (i,)), ("x", (i,)))] = first / 2 if i == 0 else (8 if i == n - 1 else 10) / 2
        if i + 1 < n:
            terms[(("x", (i,)), ("x", (i + 1,)))] = 4.0
    return Poly(terms)


def test_a_large_semidefinite_band_is_convex_and_a_slight_dent_is_not() -> None:
    semidefinite = decide_convexity(_tridiagonal(50_000), Sense.MINIMIZE)
    assert semidefinite.convex is True and "Cholesky" in semidefinite.reason
    # 2 - 0.002 on the first diagonal entry: every entry and 2x2 block still looks fine, but
    # the null direction (..., 4, -2, 1) of the band now has negative curvature
    dented = decide_convexity(_tridiagonal(50_000, first=1.998), Sense.MINIMIZE)
    assert dented.convex is False and "x[0]" in dented.reason


def test_many_small_blocks_are_tested_together() -> None:
    terms: dict[Any, float] = {}
    for i in range(5_000):  # (u + 2v)**2 + v**2 per block, expanded: row u is not dominant
        u, v = ("u", (i,)), ("v", (i,))
        terms[(u, u)], terms[(u, v)], terms[(v, v)] = 1.0, 4.0, 5.0
        w = ("w", (i,))
        terms[(u, w)], terms[(w, w)] = 0.1, 1.0
    assert decide_convexity(Poly(dict(terms)), Sense.MINIMIZE).convex is True
    terms[(("u", (4_321,)), ("w", (4_321,)))] = 0.9
    verdict = decide_convexity(Poly(terms), Sense.MINIMIZE)
    assert verdict.convex is False and "u[4321]" in verdict.reason


def test_over_the_budget_is_undecided_and_says_so() -> None:
    verdict = decide_convexity(_tridiagonal(2_000), Sense.MINIMIZE, budget=1_000)
    assert verdict.convex is None
    assert "undecided" in verdict.reason and "budget" in verdict.reason


def test_a_block_over_the_budget_does_not_hide_a_nonconvex_one() -> None:
    basis = np.random.default_rng(3).normal(size=(40, 40))
    dense = _matrix_poly(basis @ basis.T + np.eye(40)).terms  # 40 variables: about 2e4 flops
    dented = _tridiagonal(100, first=1.9).terms  # larger, but cheap, and not convex
    verdict = decide_convexity(Poly({**dense, **dented}), Sense.MINIMIZE, budget=20_000)
    assert verdict.convex is False and "x[0]" in verdict.reason
    alone = decide_convexity(Poly(dict(dense)), Sense.MINIMIZE, budget=20_000)
    assert alone.convex is None and "40 variables" in alone.reason


def test_an_undecided_model_is_routed_to_scip_with_the_reason(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(convexity, "FLOP_BUDGET", 100.0)
    objective = "sum(c[i] * x[i] * x[i] for i in I) + sum(4 * x[i] * x[i + 1] for i in I if i < 60)"
    checked = _analysis(
        {"minimize": objective}, 60, parameters={"c": {"index": ["I"], "value": [1] + [5] * 59}}
    )
    analysis = checked.analysis
    assert analysis.problem_class is ProblemClass.NONCONVEX_QP
    assert analysis.convex_objective is None
    assert (
        "convexity undecided" in analysis.summary() and "treated as nonconvex" in analysis.summary()
    )
    assert choose_backend(checked).name == "scip"


@pytest.mark.parametrize("n", [5_000, 50_000])
def test_least_squares_at_scale_is_a_convex_qp_that_highs_accepts(n: int) -> None:
    checked = _analysis({"minimize": "sum((x[i] - a[i])**2 for i in I)"}, n)
    assert checked.problem_class is ProblemClass.CONVEX_QP
    assert "sum of squares" in checked.analysis.convexity
    assert choose_backend(checked, "highs").name == "highs"
    assert choose_backend(checked).name == "highs"


@pytest.mark.parametrize("n", [5_000, 50_000])
def test_nonconvex_qps_at_scale_stay_nonconvex(n: int) -> None:
    one_negative = _analysis({"minimize": "sum((x[i] - a[i])**2 for i in I) - 2 * x[7]**2"}, n)
    assert one_negative.problem_class is ProblemClass.NONCONVEX_QP
    assert "x[7]**2 has a negative coefficient" in one_negative.analysis.convexity
    product = _analysis({"minimize": "sum(x[i]**2 for i in I) + 3 * x[1] * x[2]"}, n)
    assert product.problem_class is ProblemClass.NONCONVEX_QP
    assert "product term of x[1] and x[2]" in product.analysis.convexity
    for checked in (one_negative, product):
        assert choose_backend(checked).name == "scip"


def test_least_squares_solved_by_highs_matches_the_closed_form() -> None:
    # HiGHS's active-set QP solver keeps a dense reduced Hessian (it stops above 4,000 free
    # variables and slows as n**3 below), so the solve runs at a size it handles well
    n = 600
    a = [(i * 37) % 101 / 10 for i in range(n)]
    free = _analysis({"minimize": "sum((x[i] - a[i])**2 for i in I)"}, n)
    result = solve(free, backend="highs")
    assert result.objective == pytest.approx(0, abs=1e-6)
    values = result.flat_values()
    assert values["x[1]"] == pytest.approx(a[0], abs=1e-6)
    assert values[f"x[{n}]"] == pytest.approx(a[-1], abs=1e-6)
    total = 1_000.0
    constrained = _analysis(
        {"minimize": "sum((x[i] - a[i])**2 for i in I)"},
        n,
        constraints={"total": "sum(x[i] for i in I) == 1000"},
    )
    result = solve(constrained, backend="highs")
    shift = (total - sum(a)) / n  # projection onto sum(x) == total moves every x[i] equally
    assert result.objective == pytest.approx(n * shift**2, rel=1e-6)
    values = result.flat_values()
    assert values["x[1]"] == pytest.approx(a[0] + shift, abs=1e-5)
    assert values[f"x[{n}]"] == pytest.approx(a[-1] + shift, abs=1e-5)


@pytest.mark.parametrize("shift", [0.0, -0.5])
def test_x_q_x_with_q_given_as_a_parameter(shift: float) -> None:
    n = 60
    basis = np.random.default_rng(11).normal(size=(n, n // 2))
    q = basis @ basis.T  # rank n/2: semidefinite
    q += shift * np.abs(q).max() * np.eye(n)
    checked = _analysis(
        {"minimize": "sum(Q[i, j] * x[i] * x[j] for i in I for j in I)"},
        n,
        parameters={"Q": {"index": ["I", "I"], "value": q.tolist()}},
    )
    convex = shift == 0.0
    assert checked.analysis.convex_objective is convex, checked.analysis.convexity
    assert checked.problem_class is (
        ProblemClass.CONVEX_QP if convex else ProblemClass.NONCONVEX_QP
    )
