"""The moment a backend hands its built model to the solver, announced to whoever listens.

A solver worker listens so that its pool can start the solve's deadline (time limit + grace)
when the solver starts, not when the build starts: building a model of 10^5 variables takes
longer than many time limits. In the caller's process nobody listens and the call costs
nothing.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator
from contextvars import ContextVar

__all__ = ["listening_for_solver_start", "solver_starting"]

_LISTENER: ContextVar[Callable[[], None] | None] = ContextVar("solver_start_listener", default=None)


def solver_starting() -> None:
    """Tell the listener, if any, that the model is built and the solver starts now."""
    listener = _LISTENER.get()
    if listener is not None:
        listener()


@contextlib.contextmanager
def listening_for_solver_start(listener: Callable[[], None]) -> Iterator[None]:
    """Call `listener` each time a backend starts its solver inside this block."""
    token = _LISTENER.set(listener)
    try:
        yield
    finally:
        _LISTENER.reset(token)
