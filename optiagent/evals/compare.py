"""Compare two runs side by side: metrics per group and the problems that flipped."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from optiagent.evals.report import GroupStats, Report, build_report
from optiagent.evals.rundir import RunDirectory
from optiagent.exceptions import ConfigurationError

__all__ = ["Comparison", "compare_runs"]


@dataclass(frozen=True)
class Comparison:
    """Two runs' metrics per group ("all" first), the flipped problems, and any caveats."""

    a: dict[str, Any]
    b: dict[str, Any]
    groups: dict[str, tuple[GroupStats | None, GroupStats | None]]
    flipped: list[dict[str, Any]]
    only_in_a: list[str]
    only_in_b: list[str]
    warnings: list[str]

    @property
    def fixed(self) -> list[dict[str, Any]]:
        """Return the problems wrong in A and right in B."""
        return [f for f in self.flipped if f["b_correct"]]

    @property
    def broken(self) -> list[dict[str, Any]]:
        """Return the problems right in A and wrong in B."""
        return [f for f in self.flipped if f["a_correct"]]

    def to_dict(self) -> dict[str, Any]:
        """Return a JSON-ready dict."""
        return {
            "a": self.a,
            "b": self.b,
            "warnings": self.warnings,
            "groups": {
                name: {
                    "a": a.to_dict() if a else None,
                    "b": b.to_dict() if b else None,
                }
                for name, (a, b) in self.groups.items()
            },
            "flipped": self.flipped,
            "only_in_a": self.only_in_a,
            "only_in_b": self.only_in_b,
        }


def compare_runs(run_a: Path, run_b: Path) -> Comparison:
    """Return the comparison of the runs stored in two run directories."""
    report_a, records_a = _load(run_a)
    report_b, records_b = _load(run_b)
    groups: dict[str, tuple[GroupStats | None, GroupStats | None]] = {
        "all": (report_a.overall, report_b.overall)
    }
    for name in sorted(set(report_a.by_category) | set(report_b.by_category)):
        groups[name] = (report_a.by_category.get(name), report_b.by_category.get(name))
    flipped = []
    for problem_id, a in records_a.items():
        b = records_b.get(problem_id)
        if b is None or not (a.get("scored") and b.get("scored")):
            continue
        if bool(a.get("correct")) != bool(b.get("correct")):
            flipped.append(
                {
                    "id": problem_id,
                    "category": a.get("category"),
                    "ground_truth": a.get("ground_truth"),
                    "a_correct": bool(a.get("correct")),
                    "b_correct": bool(b.get("correct")),
                    "a_prediction": a.get("prediction"),
                    "b_prediction": b.get("prediction"),
                }
            )
    return Comparison(
        a={**report_a.run, "directory": str(run_a)},
        b={**report_b.run, "directory": str(run_b)},
        groups=groups,
        flipped=flipped,
        only_in_a=sorted(set(records_a) - set(records_b)),
        only_in_b=sorted(set(records_b) - set(records_a)),
        warnings=_warnings(report_a.run, report_b.run),
    )


def _load(directory: Path) -> tuple[Report, dict[str, Mapping[str, Any]]]:
    run = RunDirectory(directory)
    config = run.read_config()
    if config is None:
        raise ConfigurationError(f"{directory} is not a run directory (no config.json)")
    records = run.read_results()
    return build_report(config, records), {str(r.get("id")): r for r in records}


def _warnings(a: Mapping[str, Any], b: Mapping[str, Any]) -> list[str]:
    warnings = []
    if (a["dataset"], a["version"]) != (b["dataset"], b["version"]):
        warnings.append(
            f"different datasets: {a['dataset']}/{a['version']} vs {b['dataset']}/{b['version']}"
        )
    elif a["dataset_sha256"] != b["dataset_sha256"]:
        warnings.append("same dataset name but different file hashes: the data changed")
    if a["rule"] != b["rule"]:
        warnings.append(f"different scoring rules: {a['rule']} vs {b['rule']}")
    return warnings
