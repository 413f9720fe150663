"""Write a run's report files, and rebuild them from a run directory at any time."""

from __future__ import annotations

import json
from pathlib import Path

from optiagent.evals.chart import plot_accuracy
from optiagent.evals.prices import PriceTable
from optiagent.evals.report import Report, build_report, render_markdown
from optiagent.evals.rundir import RunDirectory
from optiagent.exceptions import ConfigurationError

__all__ = ["CHART_NAME", "rebuild_report", "save_report"]

CHART_NAME = "accuracy_by_category.png"


def save_report(directory: Path, report: Report, *, chart: bool = True) -> dict[str, Path]:
    """Write report.json, report.md and (if `chart`) the accuracy chart; return their paths."""
    directory.mkdir(parents=True, exist_ok=True)
    paths = {"json": directory / "report.json", "markdown": directory / "report.md"}
    paths["json"].write_text(
        json.dumps(report.to_dict(), indent=2, default=str) + "\n", encoding="utf-8"
    )
    paths["markdown"].write_text(render_markdown(report), encoding="utf-8")
    if chart:
        paths["chart"] = plot_accuracy(report, directory / CHART_NAME)
    return paths


def rebuild_report(
    directory: Path, prices: PriceTable | None = None, *, chart: bool = True
) -> Report:
    """Return the report of the run in `directory`, rewriting its report files.

    `prices` replaces the price table stored with the run (to add costs afterwards).
    """
    run = RunDirectory(directory)
    config = run.read_config()
    if config is None:
        raise ConfigurationError(f"{directory} is not a run directory (no config.json)")
    report = build_report(config, run.read_results(), prices)
    save_report(run.path, report, chart=chart)
    return report
