"""The `replay` system: answers read from a predictions file, through the whole harness.

Use it to get a full run directory and report (execution rate, per-category tables, chart,
`eval compare`) for predictions another tool produced, or to measure the harness itself with
zero model latency. The file is the `eval score` format, one JSON object per line:
`{"id": ..., "prediction": ...}`, optionally with `values`, `executed`, `repairs`,
`confidence`, `usage` and `final_feedback`. A problem without a line gets no answer.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from optiagent.datasets.readers import sha256_file
from optiagent.datasets.records import Task
from optiagent.evals.predictions import read_predictions
from optiagent.evals.scoring import parse_prediction
from optiagent.evals.systems import PredictionValue, SystemOutput, SystemUsage
from optiagent.exceptions import ConfigurationError

__all__ = ["ReplaySystem"]


class ReplaySystem:
    """Answers each task with the line of a predictions file that has its id."""

    name = "replay"

    def __init__(
        self, answers: Mapping[str, Mapping[str, Any]], *, source: str = "", sha256: str = ""
    ) -> None:
        self._answers = dict(answers)
        self._source = source
        self._sha256 = sha256

    @classmethod
    def from_file(cls, path: Path) -> ReplaySystem:
        """Return a replay system reading the predictions in `path` (JSON Lines)."""
        return cls(read_predictions(path), source=str(path), sha256=sha256_file(path))

    @classmethod
    def from_options(cls, options: Mapping[str, str]) -> ReplaySystem:
        """Return a replay system from CLI options (`predictions=FILE`)."""
        unknown = set(options) - {"predictions"}
        if unknown or "predictions" not in options:
            raise ConfigurationError(
                "the replay system takes one option: --system-option predictions=FILE "
                f'(a JSON Lines file of {{"id": ..., "prediction": ...}}); got {dict(options)}'
            )
        return cls.from_file(Path(options["predictions"]))

    def describe(self) -> dict[str, Any]:
        """Return the predictions file and its hash (a changed file cannot be resumed into)."""
        return {"model": None, "predictions": self._source, "predictions_sha256": self._sha256}

    async def solve(self, task: Task) -> SystemOutput:
        """Return the recorded answer for this task's id (no answer if there is none)."""
        entry = self._answers.get(task.id)
        if entry is None:
            return SystemOutput(prediction=None, status="no_prediction")
        raw = entry.get("prediction")
        parsed = parse_prediction(raw, entry.get("values"))
        prediction: PredictionValue = None
        if parsed.kind == "value":
            prediction = parsed.value
        elif parsed.kind in ("infeasible", "unbounded"):
            prediction = parsed.kind  # type: ignore[assignment]
        usage = entry.get("usage")
        return SystemOutput(
            prediction=prediction,
            status="unreadable_prediction" if parsed.kind == "invalid" else "replayed",
            answer_text="" if raw is None else str(raw),
            executed=bool(entry.get("executed", prediction is not None)),
            repairs=int(entry.get("repairs") or 0),
            confidence=entry.get("confidence"),
            usage=SystemUsage.from_mapping(usage) if isinstance(usage, Mapping) else SystemUsage(),
            final_feedback=entry.get("final_feedback"),
            values=dict(parsed.values),
        )
