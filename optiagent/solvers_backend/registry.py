"""The explicit, ordered registry of backends and the routing of problem classes to them."""

from __future__ import annotations

from optiagent.exceptions import (
    ConfigurationError,
    IncompatibleBackendError,
    MissingDependencyError,
)
from optiagent.formulations.analysis import CheckedFormulation, ProblemClass
from optiagent.formulations.issues import closest
from optiagent.solvers_backend.base import Backend
from optiagent.solvers_backend.cpsat import CpSatBackend
from optiagent.solvers_backend.highs import HighsBackend
from optiagent.solvers_backend.scip import ScipBackend

__all__ = ["BACKENDS", "ROUTES", "choose_backend", "get_backend"]

BACKENDS: dict[str, Backend] = {
    "highs": HighsBackend(),
    "scip": ScipBackend(),
    "cpsat": CpSatBackend(),
}
"""Every backend, in order of preference."""

ROUTES: dict[ProblemClass, tuple[str, ...]] = {
    ProblemClass.LP: ("highs", "scip"),
    ProblemClass.MILP: ("highs", "scip", "cpsat"),
    ProblemClass.CONVEX_QP: ("highs", "scip"),
    ProblemClass.NONCONVEX_QP: ("scip",),
    ProblemClass.MIQP: ("scip",),
    ProblemClass.QCP: ("scip",),
    ProblemClass.NLP: ("scip",),
    ProblemClass.MINLP: ("scip",),
    ProblemClass.CP: ("cpsat",),
}
"""Which backends solve each class by default, best first (HiGHS never sees a nonconvex QP)."""


def get_backend(name: str) -> Backend:
    """The backend registered under `name` (an unknown name suggests the closest one)."""
    backend = BACKENDS.get(name.lower())
    if backend is None:
        hint = closest(name, BACKENDS)
        suggestion = f"did you mean '{hint}'? " if hint else ""
        raise ConfigurationError(
            f"unknown backend '{name}'; {suggestion}choose one of: auto, {', '.join(BACKENDS)}"
        )
    return backend


def choose_backend(checked: CheckedFormulation, backend: str = "auto") -> Backend:
    """The backend to use: the route for the problem class, or the forced one if it can."""
    if backend != "auto":
        chosen = get_backend(backend)
        if not chosen.is_available():
            raise MissingDependencyError(chosen.package, purpose=f"the {chosen.name} backend")
        reason = chosen.incompatibility(checked)
        if reason:
            fitting = [
                name
                for name in ROUTES[checked.problem_class]
                if BACKENDS[name].incompatibility(checked) is None
            ]
            hint = (
                f"; use --backend {fitting[0]} (or auto)"
                if fitting and "; use" not in reason
                else ""
            )
            raise IncompatibleBackendError(reason + hint)
        return chosen
    refusals: list[str] = []
    missing: list[Backend] = []
    for name in ROUTES[checked.problem_class]:
        candidate = BACKENDS[name]
        if not candidate.is_available():
            missing.append(candidate)
            refusals.append(f"{name}: the package '{candidate.package}' is not installed")
            continue
        reason = candidate.incompatibility(checked)
        if reason is None:
            return candidate
        refusals.append(f"{name}: {reason}")
    problem = f"{checked.problem_class.value} models"
    if len(missing) == len(refusals):  # nothing refused the model: packages are missing
        raise MissingDependencyError(missing[0].package, purpose=problem)
    raise IncompatibleBackendError(
        f"no installed backend can solve this {checked.problem_class.value} model. "
        + "; ".join(refusals)
    )
