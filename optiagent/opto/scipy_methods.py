"""scipy's Nelder-Mead, Powell and L-BFGS-B behind the push-style `Optimizer` interface.

scipy's `minimize` pulls: it calls f(x) when it wants a value. Our loop pushes: the user
evaluates the point held by the parameters and calls `step()`. The bridge runs `minimize` in a
worker thread whose f(x) hands x to `step()` and waits for the next score; the two threads
strictly take turns, so the sequence of points is exactly scipy's and fully deterministic.
Points scipy asks for twice are answered from a cache, so every evaluation the user makes is a
new point. L-BFGS-B estimates gradients by finite differences: each costs `dimension` extra
evaluations, which go through the same loop.
"""

from __future__ import annotations

import contextlib
import queue
import threading
import weakref
from collections.abc import Callable, Iterable, Mapping
from typing import TYPE_CHECKING, Any, ClassVar

import numpy as np

from optiagent.opto.numeric import NumericOptimizer
from optiagent.opto.parameters import Parameter

if TYPE_CHECKING:
    from scipy.optimize import OptimizeResult

__all__ = ["LBFGSB", "NelderMead", "Powell", "ScipyOptimizer"]

Objective = Callable[[np.ndarray], float]


class _Stop(BaseException):
    """Unwinds scipy's loop when the optimizer is closed early (a BaseException: never caught)."""


class _AskTellBridge:
    """Runs a pull-style minimizer in a worker thread and exposes it as ask (next point) / tell."""

    def __init__(self, solve: Callable[[Objective], OptimizeResult]) -> None:
        self._solve = solve
        self._asks: queue.Queue[tuple[str, Any]] = queue.Queue(maxsize=1)
        self._tells: queue.Queue[tuple[str, float]] = queue.Queue(maxsize=1)
        self._cache: dict[bytes, float] = {}
        self._thread: threading.Thread | None = None
        self._finished = False
        self.result: OptimizeResult | None = None

    @property
    def started(self) -> bool:
        return self._thread is not None

    def start(self, x0: np.ndarray, score: float) -> np.ndarray | None:
        """Start the worker knowing the score of x0; return the first point it asks for."""
        self._cache[_key(x0)] = score
        self._thread = threading.Thread(target=self._run, name="opto-scipy", daemon=True)
        self._thread.start()
        return self._next_point()

    def tell(self, score: float) -> np.ndarray | None:
        """Answer the pending point with `score`; return the next point (None when finished)."""
        if self._finished:  # the worker is gone: nobody would ever ask again
            return None
        self._tells.put(("score", score))
        return self._next_point()

    def close(self) -> None:
        """Stop a worker that is waiting for a score (safe to call at any time, more than once)."""
        thread = self._thread
        if thread is not None and thread.is_alive():
            with contextlib.suppress(queue.Full):
                self._tells.put_nowait(("stop", 0.0))
            thread.join(timeout=5.0)

    def _next_point(self) -> np.ndarray | None:
        kind, payload = self._asks.get()
        if kind == "ask":
            return payload  # type: ignore[no-any-return]
        self._finished = True
        if kind == "error":
            raise payload
        self.result = payload
        return None

    def _run(self) -> None:
        try:
            result = self._solve(self._objective)
        except _Stop:
            return
        except BaseException as error:  # handed to the caller's thread, which re-raises it
            self._asks.put(("error", error))
            return
        self._asks.put(("done", result))

    def _objective(self, x: np.ndarray) -> float:
        point = np.array(x, dtype=float).ravel()
        key = _key(point)
        if key in self._cache:
            return self._cache[key]
        self._asks.put(("ask", point))
        kind, score = self._tells.get()
        if kind == "stop":
            raise _Stop
        self._cache[key] = score
        return score


def _key(x: np.ndarray) -> bytes:
    return np.ascontiguousarray(x, dtype=float).tobytes()


class ScipyOptimizer(NumericOptimizer):
    """A `scipy.optimize.minimize` method stepped one evaluation at a time (no gradients needed).

    `options` go to `minimize` as they are (they override this class's defaults). The worker
    thread ends when the method converges, when `close()` is called, or when the optimizer is
    garbage-collected.
    """

    method: ClassVar[str] = "Nelder-Mead"
    default_options: ClassVar[Mapping[str, Any]] = {}
    budget_option: ClassVar[str] = "maxfev"

    def __init__(
        self,
        parameters: Iterable[Parameter[Any]],
        *,
        options: Mapping[str, Any] | None = None,
        maximize: bool = False,
        max_evaluations: int | None = None,
    ) -> None:
        # scipy.optimize takes about 0.7 s to import; users of OptoPrime alone never need it.
        from scipy.optimize import Bounds, minimize

        super().__init__(parameters, maximize=maximize, max_evaluations=max_evaluations)
        merged = dict(self.default_options)
        if max_evaluations is not None:
            merged[self.budget_option] = max_evaluations
        merged.update(options or {})
        self.options = merged
        bounded = bool(np.isfinite(self._lower).any() or np.isfinite(self._upper).any())
        bounds = Bounds(self._lower, self._upper) if bounded else None
        method, x0 = self.method, self._x.copy()

        def solve(objective: Objective) -> OptimizeResult:
            return minimize(objective, x0, method=method, bounds=bounds, options=merged)

        # The bridge must not refer back to this object, so that dropping the optimizer ends
        # the worker thread through the finalizer.
        self._bridge = _AskTellBridge(solve)
        self._finalizer = weakref.finalize(self, self._bridge.close)

    @property
    def result(self) -> OptimizeResult | None:
        """scipy's own result once the method has finished (None before)."""
        return self._bridge.result

    def close(self) -> None:
        """Stop the worker thread (the optimizer is then done)."""
        self._finalizer()

    def _advance(self, x: np.ndarray, score: float) -> np.ndarray | None:
        if not self._bridge.started:
            return self._bridge.start(x, score)
        return self._bridge.tell(score)


class NelderMead(ScipyOptimizer):
    """scipy's Nelder-Mead simplex search (derivative-free; `adaptive` above 3 dimensions)."""

    method = "Nelder-Mead"
    default_options: ClassVar[Mapping[str, Any]] = {"xatol": 1e-8, "fatol": 1e-12}
    budget_option = "maxfev"

    def __init__(
        self,
        parameters: Iterable[Parameter[Any]],
        *,
        options: Mapping[str, Any] | None = None,
        maximize: bool = False,
        max_evaluations: int | None = None,
    ) -> None:
        parameters = tuple(parameters)
        dimension = sum(p.as_array().size for p in parameters)
        merged = {"adaptive": dimension > 3, **(options or {})}
        super().__init__(
            parameters, options=merged, maximize=maximize, max_evaluations=max_evaluations
        )


class Powell(ScipyOptimizer):
    """scipy's Powell method: line searches along a set of directions (derivative-free)."""

    method = "Powell"
    default_options: ClassVar[Mapping[str, Any]] = {"xtol": 1e-8, "ftol": 1e-12}
    budget_option = "maxfev"


class LBFGSB(ScipyOptimizer):
    """scipy's L-BFGS-B with finite-difference gradients (`dimension` evaluations per gradient)."""

    method = "L-BFGS-B"
    default_options: ClassVar[Mapping[str, Any]] = {"ftol": 1e-15, "gtol": 1e-10}
    budget_option = "maxfun"
