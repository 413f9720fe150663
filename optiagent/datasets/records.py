"""The records every loader produces: `Problem`, its `GroundTruth`, and the answer-free `Task`.

A `Problem` carries the ground truth; a `Task` is the view of it a solving system receives and
has no field that could hold an answer. Evaluation code hands systems `problem.task()` only,
so no system can read the ground truth by accident or on purpose.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

__all__ = [
    "GroundTruth",
    "GroundTruthKind",
    "Problem",
    "SkippedRecord",
    "Task",
]

GroundTruthKind = Literal["value", "infeasible", "unbounded", "missing"]

_DECIMALS = re.compile(r"^[+-]?\d*\.(\d+)$")


@dataclass(frozen=True)
class GroundTruth:
    """A parsed reference answer: a number, a no-solution status, or missing (kept, not scored).

    `value` is the optimal objective; `alternatives` are further accepted values (a list-valued
    answer matches any element). `requested` holds every quantity OptiBench asks for (variable
    values and objective) for its all-values rule; `objective_key` names the one that is the
    objective. `raw` is the answer as written in the source (the MAMO rule reads its decimals)
    and `note` says why a ground truth is missing or which no-solution marker was read.
    """

    kind: GroundTruthKind
    value: float | None = None
    alternatives: tuple[float, ...] = ()
    requested: Mapping[str, float] = field(default_factory=dict, hash=False)
    objective_key: str | None = None
    raw: str = ""
    note: str | None = None

    def __post_init__(self) -> None:
        if (self.kind == "value") != (self.value is not None):
            raise ValueError(f"a {self.kind!r} ground truth cannot have value={self.value!r}")
        if self.value is not None and not math.isfinite(self.value):
            raise ValueError(f"ground truth value must be finite, got {self.value!r}")

    @property
    def accepted(self) -> tuple[float, ...]:
        """Return every objective value that counts as correct (empty unless kind is 'value')."""
        return () if self.value is None else (self.value, *self.alternatives)

    @property
    def decimals(self) -> int:
        """Return how many decimals the source wrote (0 for an integer or a non-number)."""
        match = _DECIMALS.match(self.raw.strip())
        return len(match.group(1)) if match else 0

    def describe(self) -> str:
        """Return a short human-readable form, e.g. '3600', 'infeasible', 'missing (null)'."""
        if self.kind == "value":
            text = _format_number(self.value)
            if self.alternatives:
                text += " (or " + ", ".join(_format_number(v) for v in self.alternatives) + ")"
            return text
        if self.kind == "missing":
            return f"missing ({self.note})" if self.note else "missing"
        return self.kind

    def to_dict(self) -> dict[str, Any]:
        """Return a JSON-ready dict of every field."""
        return {
            "kind": self.kind,
            "value": self.value,
            "alternatives": list(self.alternatives),
            "requested": dict(self.requested),
            "objective_key": self.objective_key,
            "raw": self.raw,
            "note": self.note,
        }


@dataclass(frozen=True)
class Task:
    """What a solving system is given: the problem as a user would state it, never the answer.

    `requested` names the quantities the benchmark asks to report (OptiBench's result keys,
    without their values) so that a system can report them for the all-values rule; it is empty
    for sets that ask for the objective only. `attachments` maps a file name to its text for
    problems that come with data files (a user would attach them).
    """

    dataset: str
    version: str
    id: str
    question: str
    requested: tuple[str, ...] = ()
    attachments: Mapping[str, str] = field(default_factory=dict, hash=False)

    def to_dict(self) -> dict[str, Any]:
        """Return a JSON-ready dict of every field."""
        return {
            "dataset": self.dataset,
            "version": self.version,
            "id": self.id,
            "question": self.question,
            "requested": list(self.requested),
            "attachments": dict(self.attachments),
        }


@dataclass(frozen=True)
class Problem:
    """One benchmark problem with its ground truth and where it came from.

    `id` is the record's own `id`, `index` or `problem_id` field as a string, the key of a keyed
    container (ORThought summaries, per-problem folders), or else the 0-based position in the
    file. `category` is the source's own label (its meaning per set is in the registry);
    `source_file` is relative to the data directory and `source_line` is 1-based.
    """

    dataset: str
    version: str
    id: str
    question: str
    ground_truth: GroundTruth
    category: str | None
    has_table: bool
    source_file: str
    source_line: int | None
    attachments: Mapping[str, str] = field(default_factory=dict, hash=False)
    extra: Mapping[str, Any] = field(default_factory=dict, hash=False)

    def task(self) -> Task:
        """Return the answer-free view a solving system receives."""
        return Task(
            dataset=self.dataset,
            version=self.version,
            id=self.id,
            question=self.question,
            requested=tuple(self.ground_truth.requested),
            attachments=dict(self.attachments),
        )

    def to_dict(self) -> dict[str, Any]:
        """Return a JSON-ready dict of every field, ground truth included."""
        return {
            "dataset": self.dataset,
            "version": self.version,
            "id": self.id,
            "category": self.category,
            "has_table": self.has_table,
            "source_file": self.source_file,
            "source_line": self.source_line,
            "ground_truth": self.ground_truth.to_dict(),
            "question": self.question,
            "attachments": dict(self.attachments),
            "extra": dict(self.extra),
        }


@dataclass(frozen=True)
class SkippedRecord:
    """A row of a source file that is not a problem (e.g. a blank placeholder), and why."""

    source_file: str
    source_line: int | None
    reason: str


def _format_number(value: float | None) -> str:
    if value is None:
        return "none"
    if value == int(value) and abs(value) < 1e15:
        return str(int(value))
    return repr(value)
