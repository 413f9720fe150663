"""The one error tree of optiagent.

Every error the library raises on purpose derives from `OptiAgentError`:

    OptiAgentError
    ├── ConfigurationError          a setting, argument or file the user must fix
    │   ├── MissingDependencyError  an optional package is not installed (names the extra)
    │   └── IncompatibleBackendError  no backend (or not the forced one) can solve this model
    ├── FormulationError            a formulation that does not validate (carries the issues)
    ├── SolverError                 a solver crashed or misbehaved (not infeasible/unbounded:
    │                               those are statuses of a SolveResult, never exceptions)
    ├── CodeExecutionError          generated code could not be run in the sandbox
    ├── LLMError                    the language model could not be reached (`retryable` flag)
    │   └── LLMOutputError          the model answered, but not with anything usable
    ├── DatasetError                a benchmark file is missing or malformed
    └── RepairBudgetExhausted       the agent used every repair attempt without success

The CLI turns these into one readable message; library users catch `OptiAgentError`.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

__all__ = [
    "CodeExecutionError",
    "ConfigurationError",
    "DatasetError",
    "FormulationError",
    "IncompatibleBackendError",
    "LLMError",
    "LLMOutputError",
    "MissingDependencyError",
    "OptiAgentError",
    "RepairBudgetExhausted",
    "SolverError",
]


class OptiAgentError(Exception):
    """Base class of every error optiagent raises on purpose."""


class ConfigurationError(OptiAgentError):
    """A setting, argument or input file is wrong; the message says how to fix it."""


class MissingDependencyError(ConfigurationError):
    """An optional dependency is missing; the message names the package and the extra."""

    def __init__(self, package: str, extra: str | None = None, purpose: str = "") -> None:
        hint = f"pip install 'optiagent[{extra}]'" if extra else f"pip install {package}"
        what = f" (needed for {purpose})" if purpose else ""
        super().__init__(f"the package {package!r} is not installed{what}; install it with: {hint}")
        self.package = package
        self.extra = extra


class IncompatibleBackendError(ConfigurationError):
    """No backend can solve this model (or not the one forced); says why each one refused."""


class FormulationError(OptiAgentError):
    """A formulation failed validation; `issues` holds every problem found."""

    def __init__(self, issues: Sequence[Any], message: str | None = None) -> None:
        self.issues = list(issues)
        if message is None:
            lines = [str(issue) for issue in self.issues] or ["the formulation is invalid"]
            message = "\n".join(lines)
        super().__init__(message)


class SolverError(OptiAgentError):
    """A solver failed in a way that is not a solve status (crash, bad build, missing binary)."""


class CodeExecutionError(OptiAgentError):
    """Generated code could not be run (the sandbox itself failed, not the code)."""


class LLMError(OptiAgentError):
    """The language model could not be reached or refused the request."""

    def __init__(self, message: str, *, retryable: bool = False) -> None:
        super().__init__(message)
        self.retryable = retryable


class LLMOutputError(LLMError):
    """The model replied, but its reply stayed unusable after the allowed retries."""

    def __init__(self, message: str, *, last_reply: str | None = None) -> None:
        super().__init__(message, retryable=False)
        self.last_reply = last_reply


class DatasetError(OptiAgentError):
    """A benchmark file is missing, unreadable or not in the expected shape."""


class RepairBudgetExhausted(OptiAgentError):
    """The agent used all its repair attempts; `last_feedback` says what still failed."""

    def __init__(self, attempts: int, last_feedback: str) -> None:
        super().__init__(
            f"no valid answer after {attempts} attempts; last feedback:\n{last_feedback}"
        )
        self.attempts = attempts
        self.last_feedback = last_feedback
