"""CLI commands: `optiagent eval` - run, score, compare and report evaluations.

`optiagent eval DATASET [options]` is short for `optiagent eval run DATASET [options]`: the
group treats a first argument that is not one of its subcommands as the dataset of `run`.
"""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer
from typer.core import TyperGroup

from optiagent.cli._console import console, err_console, print_json
from optiagent.cli.datasets import DataDirOption, JsonOption, VersionOption, data_dir
from optiagent.exceptions import ConfigurationError

if TYPE_CHECKING:
    from optiagent.evals.compare import Comparison
    from optiagent.evals.prices import PriceTable
    from optiagent.evals.report import GroupStats, Report

_SUBCOMMANDS_HELP = (
    "Evaluate a system on a benchmark, score prediction files, compare and report runs.\n\n"
    "`optiagent eval DATASET [OPTIONS]` is short for `optiagent eval run DATASET [OPTIONS]`."
)


class _EvalGroup(TyperGroup):
    """The `eval` group: a first argument that is not a subcommand is the dataset of `run`."""

    def parse_args(self, ctx: typer.Context, args: list[str]) -> list[str]:
        """Insert `run` before the arguments when they do not start with a subcommand."""
        if args and args[0] not in self.commands and args[0] not in ctx.help_option_names:
            args = ["run", *args]
        return super().parse_args(ctx, args)


RuleOption = Annotated[
    str | None,
    typer.Option("--rule", help="Scoring rule (default rel1e-6; see `optiagent eval rules`)."),
]
PricesOption = Annotated[
    Path | None,
    typer.Option(
        "--prices",
        help='JSON/YAML file: {"model": {"prompt": usd_per_1M, "completion": usd_per_1M}}.',
        show_default=False,
    ),
]


def register(app: typer.Typer) -> None:
    """Add the `eval` command group to the root app."""
    group = typer.Typer(
        name="eval",
        cls=_EvalGroup,
        help=_SUBCOMMANDS_HELP,
        no_args_is_help=True,
    )
    group.command("run")(run_command)
    group.command("score")(score_command)
    group.command("compare")(compare_command)
    group.command("report")(report_command)
    group.command("rules")(rules_command)
    group.command("systems")(systems_command)
    app.add_typer(group)


def run_command(
    dataset: Annotated[str, typer.Argument(help="Dataset name, e.g. optibench.")],
    version: VersionOption = None,
    data_dir_option: DataDirOption = None,
    limit: Annotated[int | None, typer.Option(help="Run only the first N problems.")] = None,
    ids: Annotated[
        list[str] | None,
        typer.Option("--ids", help="Problem ids to run (repeat, or separate with commas)."),
    ] = None,
    concurrency: Annotated[int, typer.Option(min=1, help="Problems in flight at once.")] = 4,
    out: Annotated[
        Path | None,
        typer.Option(help="Run directory (default runs/<dataset>-<version>-<system>-<time>)."),
    ] = None,
    resume: Annotated[
        bool, typer.Option("--resume", help="Continue the run in --out, skipping done problems.")
    ] = False,
    model: Annotated[str | None, typer.Option(help="Model name (default: setting).")] = None,
    samples: Annotated[
        int | None, typer.Option(min=1, help="Samples for self-consistency (default: setting).")
    ] = None,
    max_repairs: Annotated[
        int | None, typer.Option(min=0, help="Repair rounds (default: setting).")
    ] = None,
    system: Annotated[
        str, typer.Option("--system", help="System to evaluate (see `optiagent eval systems`).")
    ] = "agent",
    system_option: Annotated[
        list[str] | None,
        typer.Option("--system-option", "-O", help="KEY=VALUE option for the system (repeat)."),
    ] = None,
    prompts: Annotated[
        Path | None,
        typer.Option(
            "--prompts",
            help="Prompts file for the agent, e.g. saved by `optiagent tune` "
            "(same as -O prompts=FILE; its hash is recorded in config.json).",
        ),
    ] = None,
    rule: RuleOption = None,
    timeout: Annotated[
        float, typer.Option(min=0.001, help="Wall-clock budget per problem, seconds.")
    ] = 600.0,
    prices: PricesOption = None,
    json_output: JsonOption = False,
) -> None:
    """Run a system on a benchmark; write results, traces and a report to a run directory."""
    import asyncio

    from optiagent.datasets import load_dataset, select
    from optiagent.evals.factory import SystemConfig, build_system
    from optiagent.evals.runner import run_evaluation
    from optiagent.evals.scoring import get_rule
    from optiagent.settings import Settings

    get_rule(rule)  # fail on a misspelt rule before loading anything
    if resume and out is None:
        raise ConfigurationError("--resume needs --out DIR: the run directory to continue")
    price_table = _prices(prices)
    loaded = load_dataset(dataset, version, data_dir(data_dir_option))
    chosen = select(loaded.problems, _split_ids(ids), limit)
    overrides = {"model": model, "samples": samples, "max_repairs": max_repairs}
    settings = Settings(**{k: v for k, v in overrides.items() if v is not None})
    built = build_system(system, SystemConfig(settings, _system_options(system_option, prompts)))
    directory = out or _default_out(loaded.name, loaded.version, system)

    from optiagent.solvers_backend.pool import default_pool

    default_pool().prestart(concurrency)  # at most its size; warm while the first calls run
    view = _ProgressView(f"{loaded.name}/{loaded.version}")
    try:
        result = asyncio.run(
            run_evaluation(
                loaded,
                built,
                directory,
                problems=chosen,
                rule=rule,
                concurrency=concurrency,
                timeout_s=timeout,
                resume=resume,
                prices=price_table,
                on_progress=view.update,
            )
        )
    except KeyboardInterrupt:
        view.stop()
        err_console.print(
            f"interrupted: finished problems are saved; continue with --resume --out {directory}",
            highlight=False,
        )
        raise typer.Exit(code=130) from None
    finally:
        view.stop()
    if json_output:
        print_json({"directory": str(result.directory), **result.report.to_dict()})
        return
    overall = result.report.overall
    console.print(
        f"{result.solved_now} problem(s) solved now, {result.already_done} already recorded; "
        f"accuracy {_pct(overall.accuracy)} ({overall.correct}/{overall.scored}) under rule "
        f"{result.report.run['rule']}",
        highlight=False,
    )
    console.print(f"report: {result.directory / 'report.md'}", highlight=False)


def score_command(
    dataset: Annotated[str, typer.Argument(help="Dataset name, e.g. optibench.")],
    predictions: Annotated[
        Path, typer.Argument(help='JSON Lines file of {"id": ..., "prediction": ...}.')
    ],
    version: VersionOption = None,
    data_dir_option: DataDirOption = None,
    rule: RuleOption = None,
    json_output: JsonOption = False,
) -> None:
    """Score a predictions file; print accuracy overall and per category."""
    from optiagent.datasets import load_dataset
    from optiagent.evals.predictions import read_predictions, score_predictions
    from optiagent.evals.scoring import get_rule

    scoring = get_rule(rule)
    entries = read_predictions(predictions)
    loaded = load_dataset(dataset, version, data_dir(data_dir_option))
    summary = score_predictions(loaded, entries, scoring)
    if json_output:
        print_json(summary.to_dict())
        return
    console.print(
        f"{summary.dataset}/{summary.version} (sha256 {summary.sha256[:12]}), rule "
        f"{summary.rule}: {summary.rule_description}",
        highlight=False,
    )
    for name, part in summary.by_category.items():
        console.print(
            f"  {name:<32} {_pct(part.accuracy):>7}  ({part.correct}/{part.scored})",
            highlight=False,
        )
    console.print(
        f"accuracy {_pct(summary.accuracy)} ({summary.correct}/{summary.scored} scored, "
        f"{summary.total} predicted, {summary.unpredicted} without a prediction)",
        highlight=False,
    )


def compare_command(
    run_a: Annotated[Path, typer.Argument(help="First run directory (A).")],
    run_b: Annotated[Path, typer.Argument(help="Second run directory (B).")],
    json_output: JsonOption = False,
) -> None:
    """Print two runs side by side and the problems that flipped between them."""
    from optiagent.evals.compare import compare_runs

    comparison = compare_runs(run_a, run_b)
    if json_output:
        print_json(comparison.to_dict())
        return
    _print_comparison(comparison)


def report_command(
    run_dir: Annotated[Path, typer.Argument(help="Run directory.")],
    prices: PricesOption = None,
    json_output: JsonOption = False,
) -> None:
    """Rebuild report.md, report.json and the chart of a run directory."""
    from optiagent.evals.publish import rebuild_report

    report = rebuild_report(run_dir, _prices(prices) if prices else None)
    if json_output:
        print_json(report.to_dict())
        return
    _print_groups(report)
    console.print(f"report: {run_dir / 'report.md'}", highlight=False)


def rules_command(json_output: JsonOption = False) -> None:
    """List the scoring rules."""
    from optiagent.evals.scoring import DEFAULT_RULE, RULES

    if json_output:
        print_json([{"name": r.name, "description": r.description} for r in RULES.values()])
        return
    for rule in RULES.values():
        mark = "*" if rule.name == DEFAULT_RULE else " "
        console.print(f"{mark} {rule.name:<18} {rule.description}", highlight=False)


def systems_command() -> None:
    """List the systems `optiagent eval --system` can build."""
    from optiagent.evals.factory import available_systems

    for entry in available_systems():
        console.print(f"{entry.name:<12} {entry.description}", highlight=False)


class _ProgressView:
    """A rich progress bar on stderr, started at the first update (after the run's checks)."""

    def __init__(self, label: str) -> None:
        self._label = label
        self._progress: Any = None
        self._bar: Any = None

    def update(self, state: Any) -> None:
        """Show done/total, accuracy so far, tokens and elapsed time."""
        if self._progress is None:
            from rich.progress import (
                BarColumn,
                MofNCompleteColumn,
                Progress,
                TextColumn,
                TimeElapsedColumn,
            )

            self._progress = Progress(
                TextColumn(self._label),
                BarColumn(),
                MofNCompleteColumn(),
                TextColumn("acc {task.fields[accuracy]}"),
                TextColumn("tokens {task.fields[tokens]}"),
                TimeElapsedColumn(),
                console=err_console,
            )
            self._progress.start()
            self._bar = self._progress.add_task("eval", total=state.total, accuracy="n/a", tokens=0)
        accuracy = "n/a" if state.accuracy is None else f"{100 * state.accuracy:.1f}%"
        self._progress.update(
            self._bar,
            completed=state.done,
            total=state.total,
            accuracy=accuracy,
            tokens=state.tokens,
        )

    def stop(self) -> None:
        """Stop the bar (if it was started); calling it twice is harmless."""
        if self._progress is not None:
            self._progress.stop()
            self._progress = None


def _prices(path: Path | None) -> PriceTable:
    from optiagent.evals.prices import PriceTable

    return PriceTable.load(path) if path else PriceTable()


def _system_options(pairs: list[str] | None, prompts: Path | None) -> dict[str, str]:
    from optiagent.evals.factory import parse_options

    options = parse_options(pairs)
    if prompts is not None:
        if "prompts" in options:
            raise ConfigurationError(
                "the prompts file is given twice (--prompts and -O prompts=...); keep one"
            )
        options["prompts"] = str(prompts)
    return options


def _split_ids(ids: list[str] | None) -> list[str] | None:
    if not ids:
        return None
    return [part.strip() for value in ids for part in value.split(",") if part.strip()]


def _default_out(dataset: str, version: str, system: str) -> Path:
    stamp = datetime.now().strftime("%Y%m%d-%H%M%S")
    return Path("runs") / f"{dataset}-{version}-{system}-{stamp}"


def _print_groups(report: Report) -> None:
    groups = {"all": report.overall, **report.by_category}
    for name, stats in groups.items():
        console.print(f"{name:<32} {_stats_line(stats)}", highlight=False)


def _stats_line(stats: GroupStats) -> str:
    return (
        f"{_pct(stats.accuracy):>7} ({stats.correct}/{stats.scored})  exec "
        f"{_pct(stats.execution_rate)}  tokens {stats.total_tokens}"
    )


def _print_comparison(comparison: Comparison) -> None:
    from rich.table import Table

    for label, run in (("A", comparison.a), ("B", comparison.b)):
        console.print(
            f"{label}: {run['directory']}  {run['dataset']}/{run['version']}  system "
            f"{run['system']}  model {run['model'] or 'n/a'}  rule {run['rule']}",
            highlight=False,
        )
    for warning in comparison.warnings:
        console.print(f"[yellow]warning:[/] {warning}", highlight=False)
    table = Table()
    for column in (
        "group",
        "n",
        "acc A",
        "acc B",
        "diff",
        "exec A",
        "exec B",
        "tokens A",
        "tokens B",
    ):
        table.add_column(column, justify="left" if column == "group" else "right")
    for name, (a, b) in comparison.groups.items():
        diff = "n/a"
        if a and b and a.accuracy is not None and b.accuracy is not None:
            diff = f"{100 * (b.accuracy - a.accuracy):+.1f}"
        table.add_row(
            name,
            f"{a.problems if a else 0}/{b.problems if b else 0}",
            _pct(a.accuracy) if a else "-",
            _pct(b.accuracy) if b else "-",
            diff,
            _pct(a.execution_rate) if a else "-",
            _pct(b.execution_rate) if b else "-",
            str(a.total_tokens) if a else "-",
            str(b.total_tokens) if b else "-",
        )
    console.print(table)
    for title, rows in (
        ("right in B only", comparison.fixed),
        ("right in A only", comparison.broken),
    ):
        shown = ", ".join(str(r["id"]) for r in rows) or "none"
        console.print(f"{title} ({len(rows)}): {shown}", highlight=False)
    if comparison.only_in_a or comparison.only_in_b:
        console.print(
            f"only in A: {len(comparison.only_in_a)} problem(s), only in B: "
            f"{len(comparison.only_in_b)}",
            highlight=False,
        )


def _pct(value: float | None) -> str:
    return "n/a" if value is None else f"{100 * value:.1f}%"
