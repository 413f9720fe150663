"""The `Backend` interface every solver implements."""

from __future__ import annotations

import importlib.util
from abc import ABC, abstractmethod
from typing import ClassVar

from optiagent.formulations.analysis import CheckedFormulation, ProblemClass
from optiagent.solvers_backend.results import SolveOptions, SolveResult

__all__ = ["Backend"]


class Backend(ABC):
    """A solver: what it can solve, whether it is installed, and how to solve."""

    name: ClassVar[str]
    description: ClassVar[str]
    module: ClassVar[str]  # the Python module whose presence means "installed"
    package: ClassVar[str]  # the pip package that provides it
    supports: ClassVar[frozenset[ProblemClass]]
    features: ClassVar[frozenset[str]] = frozenset()  # e.g. {"duals", "global", "intervals"}

    def is_available(self) -> bool:
        """True if the solver's Python package is installed (checked without importing it)."""
        return importlib.util.find_spec(self.module) is not None

    def incompatibility(self, checked: CheckedFormulation) -> str | None:
        """Why this backend cannot solve `checked`, or None if it can."""
        problem_class = checked.problem_class
        if problem_class in self.supports:
            return None
        supported = ", ".join(c.value for c in self.supports)
        return f"{self.name} cannot solve a {problem_class.value} model (it solves {supported})"

    @abstractmethod
    def solve(self, checked: CheckedFormulation, options: SolveOptions) -> SolveResult:
        """Solve a checked formulation; solver failures come back as status 'error'."""
