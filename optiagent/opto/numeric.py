"""Score-driven optimizers for numeric parameters, stepping through the `Optimizer` interface.

Every numeric optimizer works on the numbers and vectors it was given, flattened into one point
x. The loop is the same as for OptoPrime: the parameters hold a point, the user evaluates it,
`backward(output, score)` records the score and `step()` moves the parameters to the next point
to evaluate. Scores are minimized; pass `maximize=True` to maximize them. A NaN score counts as
the worst possible. `best` holds the best point seen; when the optimizer is `done` (converged or
out of budget) its parameters hold that best point.

This module holds the shared base and two evolution strategies (`RandomSearch`, `CMAES`); the
scipy methods (`NelderMead`, `Powell`, `LBFGSB`) are in `optiagent.opto.scipy_methods`.
"""

from __future__ import annotations

import math
from abc import abstractmethod
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

import numpy as np

from optiagent.exceptions import ConfigurationError
from optiagent.opto.optimizer import Optimizer, StepResult
from optiagent.opto.parameters import Parameter

__all__ = ["CMAES", "BestPoint", "NumericOptimizer", "RandomSearch"]


@dataclass(frozen=True)
class BestPoint:
    """The best point evaluated so far: parameter values by name, its score, when it was seen."""

    values: dict[str, Any]
    score: float
    evaluation: int
    """1-based number of the evaluation that produced it."""


class NumericOptimizer(Optimizer):
    """Base of score-driven optimizers; subclasses say where to go after each evaluated point."""

    def __init__(
        self,
        parameters: Iterable[Parameter[Any]],
        *,
        maximize: bool = False,
        max_evaluations: int | None = None,
    ) -> None:
        super().__init__(parameters)
        arrays = [p.as_array() for p in self.parameters]
        self._sizes = [a.size for a in arrays]
        self._x = np.concatenate(arrays)
        bounds = [b for p in self.parameters for b in p.bounds]
        self._lower = np.array([-np.inf if lo is None else lo for lo, _ in bounds])
        self._upper = np.array([np.inf if hi is None else hi for _, hi in bounds])
        self._sign = -1.0 if maximize else 1.0
        if max_evaluations is not None and max_evaluations < 1:
            raise ConfigurationError(f"max_evaluations must be at least 1, got {max_evaluations}")
        self.max_evaluations = max_evaluations
        self._evaluations = 0
        self._best: tuple[np.ndarray, float, int] | None = None
        self._done = False
        self.scores: list[float] = []
        """The score of every evaluation, in order, as the user gave it."""

    # -- public state ----------------------------------------------------------------------------

    @property
    def dimension(self) -> int:
        """How many numbers are optimized (all parameters flattened)."""
        return int(self._x.size)

    @property
    def evaluations(self) -> int:
        """How many scored points this optimizer has received."""
        return self._evaluations

    @property
    def done(self) -> bool:
        """True once the method converged or used its budget; the parameters then hold `best`."""
        return self._done

    @property
    def best(self) -> BestPoint | None:
        """The best point seen (None before the first step)."""
        if self._best is None:
            return None
        x, score, evaluation = self._best
        return BestPoint(self._values_at(x), self._sign * score, evaluation)

    @property
    def bounds(self) -> list[tuple[float | None, float | None]]:
        """The (lower, upper) bound of every flattened coordinate."""
        return [
            (None if math.isinf(lo) else float(lo), None if math.isinf(hi) else float(hi))
            for lo, hi in zip(self._lower, self._upper, strict=True)
        ]

    # -- the interface -----------------------------------------------------------------------------

    def step(self) -> StepResult:
        """Take the score of the current point and move the parameters to the next point."""
        score = self._score_from_feedback()
        self._feedback.clear()
        if self._done:
            return self._finish("already finished")
        self._evaluations += 1
        self.scores.append(self._sign * score)
        if self._best is None or score < self._best[1]:
            self._best = (self._x.copy(), score, self._evaluations)
        if self.max_evaluations is not None and self._evaluations >= self.max_evaluations:
            return self._finish(f"used the budget of {self.max_evaluations} evaluations")
        following = self._advance(self._x.copy(), score)
        if following is None:
            return self._finish("converged")
        return self._move_to(np.clip(np.asarray(following, dtype=float), self._lower, self._upper))

    def close(self) -> None:
        """Release any resource the method holds (a no-op unless a subclass needs one)."""

    @abstractmethod
    def _advance(self, x: np.ndarray, score: float) -> np.ndarray | None:
        """Given the score (to minimize) of point x, return the next point, or None when done."""

    # -- helpers -----------------------------------------------------------------------------------

    def _score_from_feedback(self) -> float:
        pairs = self._require_feedback()
        scores: list[float] = []
        for _, feedback in pairs:
            if feedback.score is None:
                raise ConfigurationError(
                    f"{type(self).__name__} needs a numeric score: call opt.backward(output, 0.42) "
                    "or opt.backward(output, Feedback(score=0.42)); text-only feedback is for "
                    "OptoPrime"
                )
            scores.append(feedback.score)
        # Several backward calls before one step score the same point (e.g. a batch): average.
        mean = float(np.mean(scores))
        return math.inf if math.isnan(mean) else self._sign * mean

    def _values_at(self, x: np.ndarray) -> dict[str, Any]:
        values: dict[str, Any] = {}
        offset = 0
        for parameter, size in zip(self.parameters, self._sizes, strict=True):
            chunk = x[offset : offset + size]
            offset += size
            values[parameter.name] = (
                float(chunk[0]) if parameter.kind == "number" else _like(parameter.value, chunk)
            )
        return values

    def _write(self, x: np.ndarray) -> dict[str, Any]:
        offset = 0
        for parameter, size in zip(self.parameters, self._sizes, strict=True):
            parameter.set_array(x[offset : offset + size])
            offset += size
        return self.values()

    def _move_to(self, x: np.ndarray) -> StepResult:
        self._x = x
        return StepResult(updates=self._write(x))

    def _finish(self, why: str) -> StepResult:
        first_time = not self._done
        self._done = True
        if first_time:
            self.close()
        assert self._best is not None
        self._x = self._best[0].copy()
        updates = self._write(self._x)
        return StepResult(
            updates=updates, reasoning=f"{why}; parameters hold the best point", done=True
        )


def _like(template: Any, chunk: np.ndarray) -> Any:
    if isinstance(template, np.ndarray):
        return chunk.astype(float).copy()
    return [float(v) for v in chunk]


class _OnePlusOneES(NumericOptimizer):
    """(1+1) evolution strategy with success-rule step size and optional covariance learning.

    After Igel, Suttorp and Hansen (2006), "A computational efficient covariance matrix update
    and a (1+1)-CMA for evolution strategies". Without `max_evaluations` the budget is
    1000 * (dimension + 1) evaluations, so that a flat score cannot keep it running forever.
    """

    _adapt_covariance = False

    def __init__(
        self,
        parameters: Iterable[Parameter[Any]],
        *,
        sigma: float | None = None,
        seed: int | None = None,
        tolerance: float = 1e-10,
        maximize: bool = False,
        max_evaluations: int | None = None,
    ) -> None:
        super().__init__(parameters, maximize=maximize, max_evaluations=max_evaluations)
        n = self.dimension
        if max_evaluations is None:
            self.max_evaluations = 1000 * (n + 1)
        self._rng = np.random.default_rng(seed)
        self._sigma = float(sigma) if sigma is not None else self._default_sigma()
        if self._sigma <= 0:
            raise ConfigurationError(f"sigma must be positive, got {self._sigma}")
        # On a plateau every try "succeeds" and the step size would grow without end.
        self._max_sigma = 1e6 * self._sigma
        self._tolerance = tolerance
        self._covariance: np.ndarray = np.eye(n)
        self._factor: np.ndarray = np.eye(n)
        self._path = np.zeros(n)
        self._success_rate = 2.0 / 11.0
        self._damping = 1.0 + n / 2.0
        self._target_rate = 2.0 / 11.0
        self._rate_learning = 1.0 / 12.0
        self._path_learning = 2.0 / (n + 2.0)
        self._covariance_learning = 2.0 / (n**2 + 6.0)
        self._threshold = 0.44
        self._parent: tuple[np.ndarray, float] | None = None
        self._last_step: np.ndarray | None = None

    @property
    def sigma(self) -> float:
        """The current global step size."""
        return self._sigma

    def _default_sigma(self) -> float:
        widths = self._upper - self._lower
        finite = widths[np.isfinite(widths)]
        if finite.size == widths.size and finite.size:
            return float(0.2 * np.mean(finite))
        return 1.0

    def _advance(self, x: np.ndarray, score: float) -> np.ndarray | None:
        if self._parent is None:
            self._parent = (x, score)
        else:
            self._learn(x, score)
        if self._sigma * math.sqrt(float(np.max(np.diag(self._covariance)))) < self._tolerance:
            return None
        parent_x = self._parent[0]
        step = self._factor @ self._rng.standard_normal(self.dimension)
        candidate = np.clip(parent_x + self._sigma * step, self._lower, self._upper)
        # Clipping shortens the step; learn from the step actually taken.
        self._last_step = (candidate - parent_x) / self._sigma
        return candidate

    def _learn(self, x: np.ndarray, score: float) -> None:
        assert self._parent is not None and self._last_step is not None
        success = score <= self._parent[1]
        step, sigma = self._last_step, self._sigma
        self._success_rate += self._rate_learning * (float(success) - self._success_rate)
        self._sigma = min(
            self._max_sigma,
            sigma
            * math.exp(
                (self._success_rate - self._target_rate)
                / (self._damping * (1.0 - self._target_rate))
            ),
        )
        if not success:
            return
        self._parent = (x, score)
        if self._adapt_covariance:
            self._update_covariance(step)

    def _update_covariance(self, step: np.ndarray) -> None:
        cc, ccov = self._path_learning, self._covariance_learning
        if self._success_rate < self._threshold:
            self._path = (1 - cc) * self._path + math.sqrt(cc * (2 - cc)) * step
            self._covariance = (1 - ccov) * self._covariance + ccov * np.outer(
                self._path, self._path
            )
        else:
            self._path = (1 - cc) * self._path
            self._covariance = (1 - ccov) * self._covariance + ccov * (
                np.outer(self._path, self._path) + cc * (2 - cc) * self._covariance
            )
        self._covariance = (self._covariance + self._covariance.T) / 2.0
        try:
            self._factor = np.linalg.cholesky(self._covariance)
        except np.linalg.LinAlgError:
            # Round-off made C indefinite: restart the shape, keep the step size.
            self._covariance = np.eye(self.dimension)
            self._factor = np.eye(self.dimension)
            self._path = np.zeros(self.dimension)


class RandomSearch(_OnePlusOneES):
    """Gaussian random search around the best point: a (1+1) evolution strategy.

    Each step tries the best point plus a random normal step of size `sigma`; the step size
    grows while more than about 1 in 5 tries succeed and shrinks otherwise. Deterministic for a
    given `seed`. Stops when the step size falls below `tolerance`.
    """

    _adapt_covariance = False


class CMAES(_OnePlusOneES):
    """(1+1)-CMA-ES: random search that also learns the shape (covariance) of good steps.

    Like `RandomSearch`, plus a covariance matrix updated from successful steps, which lets it
    follow curved valleys such as Rosenbrock's. Good for a few to a few dozen numbers.
    """

    _adapt_covariance = True
