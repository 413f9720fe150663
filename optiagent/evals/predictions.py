"""Score a file of predictions made elsewhere: `{"id": ..., "prediction": ...}` per line.

`prediction` is a number, a string holding a number, "infeasible" / "unbounded", or null.
An optional `values` object gives reported quantities by name (OptiBench's all-values rule).
Only the problems listed in the file are scored; ids the dataset does not have are an error.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from optiagent.datasets.registry import Dataset
from optiagent.evals.scoring import ScoringRule, parse_prediction
from optiagent.exceptions import ConfigurationError

__all__ = ["CategoryScore", "ScoreSummary", "read_predictions", "score_predictions"]


def read_predictions(path: Path) -> dict[str, dict[str, Any]]:
    """Return the predictions in a JSON Lines file, by id (as a string)."""
    try:
        text = path.read_text(encoding="utf-8-sig")
    except OSError as error:
        raise ConfigurationError(f"cannot read the predictions file {path}: {error}") from error
    entries: dict[str, dict[str, Any]] = {}
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        try:
            entry = json.loads(line)
        except json.JSONDecodeError as error:
            raise ConfigurationError(f"{path}:{number}: not a JSON object ({error.msg})") from error
        if not isinstance(entry, Mapping) or "id" not in entry or "prediction" not in entry:
            raise ConfigurationError(
                f'{path}:{number}: each line needs "id" and "prediction", e.g. '
                '{"id": "12", "prediction": 3600}'
            )
        key = str(entry["id"])
        if key in entries:
            raise ConfigurationError(f"{path}:{number}: id {key!r} appears twice")
        entries[key] = dict(entry)
    return entries


@dataclass(frozen=True)
class CategoryScore:
    """Counts for one category: problems listed, scored, correct, accuracy."""

    total: int
    scored: int
    correct: int
    accuracy: float | None


@dataclass(frozen=True)
class ScoreSummary:
    """The result of scoring a predictions file against one dataset version."""

    dataset: str
    version: str
    sha256: str
    rule: str
    rule_description: str
    total: int
    scored: int
    correct: int
    accuracy: float | None
    by_category: dict[str, CategoryScore]
    unpredicted: int
    results: list[dict[str, Any]] = field(default_factory=list)

    def to_dict(self, *, with_results: bool = False) -> dict[str, Any]:
        """Return a JSON-ready dict (`results` per problem only when asked)."""
        data: dict[str, Any] = {
            "dataset": self.dataset,
            "version": self.version,
            "sha256": self.sha256,
            "rule": self.rule,
            "rule_description": self.rule_description,
            "total": self.total,
            "scored": self.scored,
            "correct": self.correct,
            "accuracy": self.accuracy,
            "by_category": {k: vars(v) for k, v in self.by_category.items()},
            "unpredicted": self.unpredicted,
        }
        if with_results:
            data["results"] = self.results
        return data


def score_predictions(
    dataset: Dataset, predictions: Mapping[str, Mapping[str, Any]], rule: ScoringRule
) -> ScoreSummary:
    """Score every prediction against its problem's ground truth under `rule`."""
    unknown = [key for key in predictions if key not in {p.id for p in dataset.problems}]
    if unknown:
        raise ConfigurationError(
            f"{len(unknown)} prediction id(s) are not in {dataset.name}/{dataset.version}: "
            f"{', '.join(unknown[:10])} (ids are the dataset's own: see `optiagent datasets show "
            f"{dataset.name}`)"
        )
    results: list[dict[str, Any]] = []
    for problem in dataset.problems:
        entry = predictions.get(problem.id)
        if entry is None:
            continue
        prediction = parse_prediction(entry.get("prediction"), entry.get("values"))
        verdict = rule.score(prediction, problem.ground_truth)
        results.append(
            {
                "id": problem.id,
                "category": problem.category or "uncategorized",
                "scored": verdict.scored,
                "correct": verdict.correct,
                "reason": verdict.reason,
            }
        )
    groups: dict[str, list[dict[str, Any]]] = {}
    for row in results:
        groups.setdefault(row["category"], []).append(row)
    total = _count(results)
    return ScoreSummary(
        dataset=dataset.name,
        version=dataset.version,
        sha256=dataset.sha256,
        rule=rule.name,
        rule_description=rule.description,
        total=total.total,
        scored=total.scored,
        correct=total.correct,
        accuracy=total.accuracy,
        by_category={name: _count(groups[name]) for name in sorted(groups)},
        unpredicted=len(dataset.problems) - len(results),
        results=results,
    )


def _count(rows: list[dict[str, Any]]) -> CategoryScore:
    scored = sum(1 for r in rows if r["scored"])
    correct = sum(1 for r in rows if r["scored"] and r["correct"])
    return CategoryScore(len(rows), scored, correct, correct / scored if scored else None)
