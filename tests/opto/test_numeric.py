"""Numeric optimizers step through the Optimizer interface and reach known optima."""

from __future__ import annotations

import gc
import threading
from collections.abc import Callable
from typing import Any

import numpy as np
import pytest

from optiagent.exceptions import ConfigurationError
from optiagent.opto import (
    CMAES,
    LBFGSB,
    Feedback,
    NelderMead,
    NumericOptimizer,
    Parameter,
    Powell,
    RandomSearch,
    bundle,
)

CENTER = np.array([1.0, -2.0, 0.5])


def shifted_quadratic(x: Any) -> float:
    """Sum of squares around CENTER; minimum 0 at CENTER."""
    return float(np.sum((np.asarray(x, dtype=float) - CENTER) ** 2))


def rosenbrock(x: Any) -> float:
    """Rosenbrock's valley; minimum 0 at (1, ..., 1)."""
    v = np.asarray(x, dtype=float)
    return float(np.sum(100.0 * (v[1:] - v[:-1] ** 2) ** 2 + (1.0 - v[:-1]) ** 2))


def run(optimizer: NumericOptimizer, parameter: Parameter[Any], f: Callable[[Any], float]) -> None:
    """The user's loop: evaluate, give the score, step, until the optimizer is done."""
    while not optimizer.done:
        out = f(parameter.value)
        optimizer.zero_feedback()
        optimizer.backward(out, out)
        optimizer.step()


# (optimizer factory, budget of evaluations) -- each reaches the optimum within its budget.
METHODS: dict[str, tuple[Callable[[list[Parameter[Any]]], NumericOptimizer], int, int]] = {
    # name: (factory, budget on the quadratic, budget on Rosenbrock 2-D)
    "nelder-mead": (lambda p: NelderMead(p, max_evaluations=3000), 600, 400),
    "powell": (lambda p: Powell(p, max_evaluations=3000), 100, 1000),
    "l-bfgs-b": (lambda p: LBFGSB(p, max_evaluations=3000), 60, 400),
    "random-search": (lambda p: RandomSearch(p, seed=1, max_evaluations=10000), 1000, 8000),
    "cma-es": (lambda p: CMAES(p, seed=1, max_evaluations=3000), 1000, 1500),
}


@pytest.mark.parametrize("name", list(METHODS))
def test_shifted_quadratic_3d_reaches_its_minimum(name: str) -> None:
    factory, budget, _ = METHODS[name]
    x = Parameter([0.0, 0.0, 0.0], name="x")
    optimizer = factory([x])
    run(optimizer, x, shifted_quadratic)
    best = optimizer.best
    assert best is not None
    assert best.score < 1e-8, best
    assert best.evaluation <= budget
    np.testing.assert_allclose(x.value, CENTER, atol=1e-4)  # the parameter holds the best point


@pytest.mark.parametrize("name", list(METHODS))
def test_rosenbrock_2d_reaches_its_minimum(name: str) -> None:
    factory, _, budget = METHODS[name]
    x = Parameter([-1.2, 1.0], name="x")
    optimizer = factory([x])
    run(optimizer, x, rosenbrock)
    best = optimizer.best
    assert best is not None
    tolerance = 1e-6 if name != "random-search" else 1e-4
    assert best.score < tolerance, best
    assert _first_below(optimizer.scores, tolerance) <= budget
    np.testing.assert_allclose(best.values["x"], [1.0, 1.0], atol=0.02)


@pytest.mark.parametrize("factory", [NelderMead, LBFGSB, CMAES])
def test_rosenbrock_4d_from_the_origin(factory: Callable[..., NumericOptimizer]) -> None:
    x = Parameter(np.zeros(4), name="x")
    optimizer = factory([x], max_evaluations=4000)
    run(optimizer, x, rosenbrock)
    assert optimizer.best is not None and optimizer.best.score < 1e-6
    assert isinstance(x.value, np.ndarray)


def _first_below(scores: list[float], target: float) -> int:
    return next(i + 1 for i, s in enumerate(scores) if s < target)


def test_several_parameters_and_a_bundled_workflow() -> None:
    a = Parameter(0.0, name="a", description="offset")
    b = Parameter([0.0, 0.0], name="b", bounds=(-1.0, 1.0))

    @bundle
    def loss(a: float, b: list[float]) -> float:
        """Squared distance to a=3, b=(0.5, 2) with b capped at 1."""
        return (a - 3.0) ** 2 + (b[0] - 0.5) ** 2 + (b[1] - 2.0) ** 2

    optimizer = LBFGSB([a, b], max_evaluations=500)
    while not optimizer.done:
        out = loss(a, b)
        optimizer.zero_feedback()
        optimizer.backward(out, out.data)
        optimizer.step()
    assert optimizer.dimension == 3
    assert optimizer.bounds == [(None, None), (-1.0, 1.0), (-1.0, 1.0)]
    assert a.value == pytest.approx(3.0, abs=1e-4)
    assert b.value == pytest.approx([0.5, 1.0], abs=1e-4)  # the upper bound holds
    assert isinstance(a.value, float)


def test_maximize_flips_the_sign_and_best_keeps_the_users_sign() -> None:
    x = Parameter([0.0, 0.0, 0.0], name="x")
    optimizer = NelderMead([x], maximize=True, max_evaluations=2000)
    run(optimizer, x, lambda v: 5.0 - shifted_quadratic(v))
    assert optimizer.best is not None
    assert optimizer.best.score == pytest.approx(5.0, abs=1e-8)
    assert max(optimizer.scores) == optimizer.best.score


def test_budget_stops_and_restores_the_best_point() -> None:
    x = Parameter([-1.2, 1.0], name="x")
    optimizer = NelderMead([x], max_evaluations=25)
    run(optimizer, x, rosenbrock)
    assert optimizer.evaluations == 25
    assert optimizer.best is not None
    assert rosenbrock(x.value) == optimizer.best.score == min(optimizer.scores)
    assert optimizer.feedback == ()  # step consumed the feedback
    optimizer.backward(None, 1.0)
    assert optimizer.step().done
    assert optimizer.evaluations == 25


def test_nan_scores_count_as_the_worst() -> None:
    x = Parameter([0.0], name="x")
    optimizer = NelderMead([x], max_evaluations=200)
    run(optimizer, x, lambda v: float("nan") if v[0] < -0.5 else (v[0] - 1.0) ** 2)
    assert optimizer.best is not None and optimizer.best.values["x"][0] == pytest.approx(
        1.0, abs=1e-4
    )


def test_text_feedback_is_refused_with_a_hint() -> None:
    x = Parameter(1.0, name="x")
    optimizer = Powell([x])
    optimizer.backward(None, "too big")
    with pytest.raises(ConfigurationError, match="needs a numeric score"):
        optimizer.step()
    optimizer.zero_feedback()
    with pytest.raises(ConfigurationError, match="without feedback"):
        optimizer.step()
    optimizer.backward(None, Feedback(text="ok", score=2.0))
    assert optimizer.step().updates["x"] != 1.0


def test_text_and_integer_parameters_are_refused() -> None:
    with pytest.raises(ConfigurationError, match="use OptoPrime"):
        NelderMead([Parameter("text", name="t")])
    with pytest.raises(ConfigurationError, match="from a float"):
        CMAES([Parameter(3, name="k")])
    with pytest.raises(ConfigurationError, match="not trainable"):
        RandomSearch([Parameter(1.0, name="f", trainable=False)])
    with pytest.raises(ConfigurationError, match="unique"):
        RandomSearch([Parameter(1.0, name="f"), Parameter(2.0, name="f")])


def test_random_search_is_deterministic_for_a_seed() -> None:
    def trajectory(seed: int) -> list[float]:
        x = Parameter([0.0, 0.0, 0.0], name="x")
        optimizer = RandomSearch([x], seed=seed, max_evaluations=50)
        run(optimizer, x, shifted_quadratic)
        return optimizer.scores

    assert trajectory(3) == trajectory(3)
    assert trajectory(3) != trajectory(4)


def test_abandoned_scipy_optimizers_end_their_worker_thread() -> None:
    before = {t.ident for t in threading.enumerate()}
    x = Parameter([0.0, 0.0], name="x")
    optimizer = Powell([x])
    for _ in range(3):
        optimizer.backward(None, rosenbrock(x.value))
        optimizer.step()
    worker = next(t for t in threading.enumerate() if t.ident not in before)
    assert worker.name == "opto-scipy" and worker.is_alive()
    del optimizer
    gc.collect()
    worker.join(timeout=5)
    assert not worker.is_alive()


def test_the_same_point_is_never_asked_twice() -> None:
    x = Parameter([3.0, -1.0], name="x")
    optimizer = Powell([x], max_evaluations=2000)
    seen: set[tuple[float, ...]] = set()
    while not optimizer.done:
        point = tuple(x.value)
        assert point not in seen
        seen.add(point)
        optimizer.backward(None, rosenbrock(point))
        optimizer.step()


def test_a_flat_score_cannot_run_forever() -> None:
    x = Parameter([0.0, 0.0], name="x")
    optimizer = RandomSearch([x], seed=0)
    run(optimizer, x, lambda v: 1.0)
    assert optimizer.evaluations == optimizer.max_evaluations == 3000


def test_a_failing_scipy_method_raises_in_the_callers_thread_then_stops() -> None:
    x = Parameter([0.0], name="x")
    optimizer = NelderMead([x], options={"initial_simplex": [[0.0]]})  # refused by scipy
    optimizer.backward(None, 1.0)
    with pytest.raises(ValueError, match="initial_simplex"):
        optimizer.step()
    optimizer.backward(None, 1.0)
    assert optimizer.step().done
