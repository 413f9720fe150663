"""The files `optiagent tune` writes: the tuned prompts, and a report in JSON and Markdown.

OUT                      the tuned PromptSet (load with --prompts OUT)
OUT.stem + .report.json  splits, training curve, held-out before/after, flips, settings
OUT.stem + .report.md    the same for people, with the changed prompt texts as diffs
"""

from __future__ import annotations

import difflib
import json
from dataclasses import dataclass
from pathlib import Path

from optiagent.evals.report import GroupStats
from optiagent.evals.tuning.results import TuneResult

__all__ = ["TuneFiles", "render_tune_markdown", "save_tune_result", "tune_files"]

_NOISE_NOTE = (
    "Held-out numbers come from {n} problems: one problem is {step:.1f} points of accuracy, and "
    "a model that samples can move a few problems between two runs of the same prompts. Read "
    "the change together with the flips: the sign test p-value is the chance of a split of "
    "fixed vs broken problems at least this lopsided if tuning made no difference. Small "
    "splits rarely give p < 0.05; use a larger --test for a decision."
)


@dataclass(frozen=True)
class TuneFiles:
    """Where the outputs of one tuning run go."""

    prompts: Path
    report_json: Path
    report_markdown: Path
    runs: Path
    """The folder holding every evaluation run directory of the tuning run."""


def tune_files(out: Path) -> TuneFiles:
    """Return the paths of the outputs for the prompts file `out` (all beside it)."""
    out = Path(out)
    stem = out.name.removesuffix(".json")
    return TuneFiles(
        prompts=out,
        report_json=out.with_name(f"{stem}.report.json"),
        report_markdown=out.with_name(f"{stem}.report.md"),
        runs=out.with_name(f"{stem}.runs"),
    )


def save_tune_result(result: TuneResult, files: TuneFiles) -> None:
    """Write the tuned prompts and both reports."""
    files.prompts.parent.mkdir(parents=True, exist_ok=True)
    files.prompts.write_text(result.tuned.model_dump_json(indent=2) + "\n", encoding="utf-8")
    payload = {**result.to_dict(), "prompts_file": str(files.prompts), "runs": str(files.runs)}
    files.report_json.write_text(json.dumps(payload, indent=2, default=str) + "\n", "utf-8")
    files.report_markdown.write_text(render_tune_markdown(result, files), encoding="utf-8")


def render_tune_markdown(result: TuneResult, files: TuneFiles | None = None) -> str:
    """Return the tuning report as Markdown."""
    held = result.held_out
    lines = [
        f"# Prompt tuning on {result.dataset}/{result.version}",
        "",
        f"- data: sha256 `{result.dataset_sha256[:12]}`, split seed {result.seed}: "
        f"{len(result.train_ids)} training and {len(result.test_ids)} held-out problems "
        "(disjoint; the held-out problems were never shown to the optimizer)",
        f"- scoring rule: {result.rule}",
        f"- agent model: {result.system.get('model')}; optimizer model: "
        f"{result.optimizer_model} ({result.optimizer_usage.calls} call(s), "
        f"{result.optimizer_usage.total_tokens} tokens)",
        f"- prompts: baseline `{result.baseline.digest()}`, tuned `{result.tuned.digest()}` "
        f"(from round {result.best_round}); {result.stop_reason}",
    ]
    if files is not None:
        lines.append(f"- tuned prompts: `{files.prompts}`; evaluation runs: `{files.runs}`")
    lines += [
        "",
        "## Held-out problems: before and after",
        "",
        "| prompts | accuracy | correct | execution rate | tokens |",
        "|---|---:|---:|---:|---:|",
        _stats_row("baseline", held.before),
        _stats_row("tuned", held.after),
        "",
        f"Change: {_points(held.change)}. Fixed (wrong before, right after): "
        f"{_ids(held.fixed)}; broken (right before, wrong after): {_ids(held.broken)}; "
        f"sign test p = {held.p_value:.3g}.",
        "",
    ]
    if not result.improved:
        lines += [
            "No suggestion beat the baseline on the training problems, so the tuned prompts "
            "are the baseline prompts and the held-out problems were evaluated once.",
            "",
        ]
    lines += [
        _NOISE_NOTE.format(n=held.before.scored, step=100 / max(held.before.scored, 1)),
        "",
        "## Training curve",
        "",
        "| round | prompts | accuracy | correct | changed |",
        "|---:|---|---:|---:|---|",
    ]
    for point in result.rounds:
        mark = " (kept)" if point.number == result.best_round else ""
        accuracy = "not evaluated" if point.accuracy is None else _pct(point.accuracy)
        correct = f"{point.correct}/{point.scored}" if point.directory else "-"
        changed = ", ".join(point.changed) or ("-" if point.number == 0 else "nothing")
        lines.append(
            f"| {point.number}{mark} | `{point.prompts_digest}` | {accuracy} | {correct} "
            f"| {changed} |"
        )
    reasons = [p for p in result.rounds if p.reasoning]
    if reasons:
        lines += ["", "### The optimizer's reasoning", ""]
        lines += [f"- round {p.number}: {' '.join(p.reasoning.split())}" for p in reasons]
    lines += ["", "## Prompt changes (baseline -> tuned)", ""]
    changes = [
        (name, getattr(result.baseline, name), getattr(result.tuned, name))
        for name in ("modeling_rules", "example")
    ]
    if all(before == after for _, before, after in changes):
        lines.append("None.")
    for name, before, after in changes:
        if before == after:
            continue
        diff = difflib.unified_diff(
            before.splitlines(), after.splitlines(), "baseline", "tuned", lineterm=""
        )
        lines += [f"### {name}", "", "```diff", *diff, "```", ""]
    return "\n".join(lines).rstrip() + "\n"


def _stats_row(label: str, stats: GroupStats) -> str:
    return (
        f"| {label} | {_pct(stats.accuracy)} | {stats.correct}/{stats.scored} | "
        f"{_pct(stats.execution_rate)} | {stats.total_tokens} |"
    )


def _pct(value: float | None) -> str:
    return "n/a" if value is None else f"{100 * value:.1f}%"


def _points(change: float | None) -> str:
    return "n/a" if change is None else f"{100 * change:+.1f} points"


def _ids(ids: tuple[str, ...]) -> str:
    if not ids:
        return "0"
    shown = ", ".join(ids[:10]) + (f", ... (+{len(ids) - 10})" if len(ids) > 10 else "")
    return f"{len(ids)} ({shown})"
