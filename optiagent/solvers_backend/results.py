"""One result type for every solver: status, objective, values, duals, bound, gap, time, log.

Infeasible, unbounded and time-limit outcomes are statuses of a `SolveResult`, never
exceptions; so is a solver crash (`error`, with the message), so that the agent can turn
any outcome into feedback.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from optiagent.formulations.analysis import ProblemClass, instance_label
from optiagent.formulations.data import Key

__all__ = ["SolveOptions", "SolveResult", "SolveStatus", "Values"]

Values = dict[str, dict[Key, float]]
"""Per variable (or constraint) name: index key -> number; scalars use the key ()."""


class SolveStatus(StrEnum):
    """The shared status names of every backend."""

    OPTIMAL = "optimal"
    FEASIBLE = "feasible"  # a solution without proof of optimality (e.g. stopped early)
    INFEASIBLE = "infeasible"
    UNBOUNDED = "unbounded"
    INFEASIBLE_OR_UNBOUNDED = "infeasible_or_unbounded"
    TIME_LIMIT = "time_limit"  # stopped by the time limit; values hold the incumbent if any
    ERROR = "error"

    @property
    def has_solution(self) -> bool:
        """Whether results with this status can carry variable values."""
        return self in (SolveStatus.OPTIMAL, SolveStatus.FEASIBLE, SolveStatus.TIME_LIMIT)


@dataclass(frozen=True)
class SolveOptions:
    """Knobs every backend honours."""

    time_limit: float | None = 60.0
    threads: int | None = None
    mip_gap: float | None = None
    keep_log: bool = True


@dataclass(repr=False)
class SolveResult:
    """What a backend returns for one solve."""

    status: SolveStatus
    backend: str
    problem_class: ProblemClass | None = None
    objective: float | None = None
    values: Values = field(default_factory=dict)
    duals: Values | None = None
    reduced_costs: Values | None = None
    best_bound: float | None = None
    gap: float | None = None
    solve_time_s: float = 0.0
    log: str = ""
    message: str = ""

    @property
    def has_solution(self) -> bool:
        """True when variable values are available."""
        return self.status.has_solution and bool(self.values)

    def __repr__(self) -> str:
        """A short summary (shown in traces): status, objective and the non-zero values."""
        nonzero = [f"{k}={v:.6g}" for k, v in self.flat_values().items() if abs(v) > 1e-9]
        shown = ", ".join(nonzero[:12]) + (
            f", ... ({len(nonzero)} non-zero)" if len(nonzero) > 12 else ""
        )
        objective = "none" if self.objective is None else f"{self.objective:.10g}"
        text = (
            f"SolveResult(status={self.status.value}, objective={objective}, backend={self.backend}"
        )
        if nonzero:
            text += f", values: {shown}"
        elif self.message and not self.status.has_solution:
            text += f", {self.message}"
        return text + ")"

    def value(self, name: str, *key: Any) -> float:
        """The value of variable `name` at an index, e.g. value("ship", "seattle", "chicago")."""
        return self.values[name][tuple(key)]

    def flat_values(self) -> dict[str, float]:
        """Every variable value under a readable label such as ship[seattle,chicago]."""
        return {
            instance_label(name, key): value
            for name, entries in self.values.items()
            for key, value in entries.items()
        }

    def to_dict(self, include_log: bool = False) -> dict[str, Any]:
        """A JSON-ready summary (variables and duals under readable labels)."""
        payload: dict[str, Any] = {
            "status": self.status.value,
            "objective": self.objective,
            "backend": self.backend,
            "problem_class": self.problem_class.value if self.problem_class else None,
            "variables": self.flat_values(),
            "best_bound": self.best_bound,
            "gap": self.gap,
            "solve_time_s": round(self.solve_time_s, 6),
            "message": self.message,
        }
        if self.duals is not None:
            payload["duals"] = {
                instance_label(name, key): value
                for name, entries in self.duals.items()
                for key, value in entries.items()
            }
        if self.reduced_costs is not None:
            payload["reduced_costs"] = {
                instance_label(name, key): value
                for name, entries in self.reduced_costs.items()
                for key, value in entries.items()
            }
        if include_log:
            payload["log"] = self.log
        return payload
