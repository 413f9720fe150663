"""Self-consistency: choose the answer most independent samples agree on."""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Sequence

from optiagent.agent.llm import UsageLog
from optiagent.agent.result import AgentResult

__all__ = ["choose_by_agreement", "same_prediction"]


def same_prediction(a: float | str | None, b: float | str | None) -> bool:
    """Whether two predictions agree (numbers to a relative 1e-6, statuses exactly)."""
    if isinstance(a, (int, float)) and isinstance(b, (int, float)):
        return math.isclose(a, b, rel_tol=1e-6, abs_tol=1e-9)
    return a == b


def choose_by_agreement(results: Sequence[AgentResult]) -> AgentResult:
    """The representative of the largest group of agreeing samples, with its confidence.

    Samples without a prediction never win unless nothing else exists. Ties go to the group
    whose best member solved to optimality, then to the one needing fewer repairs.
    """
    if not results:
        raise ValueError("no samples to choose from")
    groups: list[list[AgentResult]] = []
    for result in results:
        for group in groups:
            if same_prediction(group[0].prediction, result.prediction):
                group.append(result)
                break
        else:
            groups.append([result])

    def rank(group: list[AgentResult]) -> tuple[int, int, int, int]:
        has_prediction = int(group[0].prediction is not None)
        solved = int(any(r.status == "solved" for r in group))
        return (has_prediction, len(group), solved, -min(r.repairs for r in group))

    winner = max(groups, key=rank)
    representative = min(winner, key=lambda r: (r.status != "solved", r.repairs))
    usage = UsageLog()
    for result in results:
        usage.merge(result.usage_log)
    events = [event for result in results for event in result.events]
    return dataclasses.replace(
        representative,
        confidence=len(winner) / len(results),
        samples=list(results),
        usage_log=usage,
        events=events,
    )
