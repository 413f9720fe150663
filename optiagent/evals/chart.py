"""The accuracy-per-category bar chart of a report (PNG, matplotlib's Agg backend)."""

from __future__ import annotations

from pathlib import Path

from optiagent.evals.report import Report

__all__ = ["plot_accuracy"]

_MAX_LABEL = 28


def plot_accuracy(report: Report, path: Path) -> Path:
    """Draw accuracy per category (scored count on each bar) into a PNG file; return its path."""
    # the Agg canvas is attached to this figure only: no global backend switch, no pyplot
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    groups = [(name, stats) for name, stats in report.by_category.items() if stats.scored]
    names = [_label(name) for name, _ in groups]
    values = [100 * (stats.accuracy or 0.0) for _, stats in groups]
    height = max(3.0, 0.35 * len(groups) + 1.6)
    figure = Figure(figsize=(8, height), layout="constrained")
    FigureCanvasAgg(figure)
    axes = figure.add_subplot()
    bars = axes.barh(names, values, color="#4477aa")
    for bar, (_, stats) in zip(bars, groups, strict=True):
        axes.text(
            bar.get_width() + 1,
            bar.get_y() + bar.get_height() / 2,
            f"{stats.correct}/{stats.scored}",
            va="center",
            fontsize=8,
        )
    overall = report.overall.accuracy
    if overall is not None:
        axes.axvline(100 * overall, color="#cc6677", linestyle="--")
    axes.set_xlim(0, 110)
    axes.invert_yaxis()
    axes.set_xlabel("accuracy (%)")
    run = report.run
    shown = "n/a" if overall is None else f"{100 * overall:.1f}% (dashed line)"
    axes.set_title(
        f"{run['dataset']}/{run['version']} - {run['system']} - rule {run['rule']}\n"
        f"overall accuracy {shown}",
        fontsize=10,
    )
    if not groups:
        axes.text(50, 0, "no scored problems", ha="center")
    path.parent.mkdir(parents=True, exist_ok=True)
    figure.savefig(path, dpi=110)
    return path


def _label(name: str) -> str:
    return name if len(name) <= _MAX_LABEL else name[: _MAX_LABEL - 1] + "…"
