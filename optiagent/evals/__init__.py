"""Evaluations: scoring rules, the resumable concurrent runner, reports and run comparison.

    from optiagent.datasets import load_dataset
    from optiagent.evals import run_evaluation_sync
    result = run_evaluation_sync(load_dataset("nl4opt", None, data_dir), my_system, Path("runs/x"))
    result.report.overall.accuracy

A system is anything that satisfies `System` (see `optiagent.evals.systems`); it receives a
`Task`, never a ground truth.
"""

from __future__ import annotations

from optiagent.evals.compare import Comparison, compare_runs
from optiagent.evals.factory import (
    SystemConfig,
    SystemEntry,
    available_systems,
    build_system,
    register_system,
)
from optiagent.evals.predictions import ScoreSummary, read_predictions, score_predictions
from optiagent.evals.prices import Price, PriceTable
from optiagent.evals.publish import rebuild_report, save_report
from optiagent.evals.replay import ReplaySystem
from optiagent.evals.report import GroupStats, Report, build_report
from optiagent.evals.runner import RunProgress, RunResult, run_evaluation, run_evaluation_sync
from optiagent.evals.scoring import (
    DEFAULT_RULE,
    RULES,
    Prediction,
    ScoringRule,
    Verdict,
    get_rule,
    parse_prediction,
)
from optiagent.evals.systems import BlockingSystem, System, SystemOutput, SystemUsage

__all__ = [
    "DEFAULT_RULE",
    "RULES",
    "BlockingSystem",
    "Comparison",
    "GroupStats",
    "Prediction",
    "Price",
    "PriceTable",
    "ReplaySystem",
    "Report",
    "RunProgress",
    "RunResult",
    "ScoreSummary",
    "ScoringRule",
    "System",
    "SystemConfig",
    "SystemEntry",
    "SystemOutput",
    "SystemUsage",
    "Verdict",
    "available_systems",
    "build_report",
    "build_system",
    "compare_runs",
    "get_rule",
    "parse_prediction",
    "read_predictions",
    "rebuild_report",
    "register_system",
    "run_evaluation",
    "run_evaluation_sync",
    "save_report",
    "score_predictions",
]
