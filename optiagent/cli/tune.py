"""CLI command: `optiagent tune` - improve the agent's prompts on a benchmark's training split."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer
from rich.table import Table
from rich.text import Text

from optiagent.cli._console import console, err_console, print_json
from optiagent.cli.agent import BaseUrlOption, CacheOption, ModelOption
from optiagent.cli.datasets import DataDirOption, JsonOption, VersionOption, data_dir
from optiagent.exceptions import ConfigurationError

if TYPE_CHECKING:
    from optiagent.agent.llm import ChatModel
    from optiagent.evals.tuning import TuneEvent, TuneFiles, TuneResult

__all__ = ["register", "tune"]


def register(app: typer.Typer) -> None:
    """Add `tune` to the root app."""
    app.command(rich_help_panel="Language model")(tune)


def tune(
    dataset: Annotated[str, typer.Argument(help="Dataset name, e.g. nl4opt.")],
    version: VersionOption = None,
    data_dir_option: DataDirOption = None,
    train: Annotated[int, typer.Option(min=1, help="Training problems.")] = 20,
    test: Annotated[int, typer.Option(min=1, help="Held-out problems.")] = 20,
    seed: Annotated[int, typer.Option(help="Seed of the train/held-out split.")] = 0,
    rounds: Annotated[int, typer.Option(min=0, help="Optimizer steps.")] = 3,
    batch: Annotated[
        int | None,
        typer.Option(min=1, help="Training problems per round (default: all of them)."),
    ] = None,
    model: ModelOption = None,
    base_url: BaseUrlOption = None,
    optimizer_model: Annotated[
        str | None,
        typer.Option("--optimizer-model", help="Model proposing new prompts (default: --model)."),
    ] = None,
    rule: Annotated[
        str | None, typer.Option("--rule", help="Scoring rule (default rel1e-6).")
    ] = None,
    concurrency: Annotated[int, typer.Option(min=1, help="Problems in flight at once.")] = 4,
    timeout: Annotated[
        float, typer.Option(min=0.001, help="Wall-clock budget per problem, seconds.")
    ] = 600.0,
    max_repairs: Annotated[
        int | None, typer.Option(min=0, help="Repair rounds (default: setting).")
    ] = None,
    cache: CacheOption = None,
    prompts: Annotated[
        Path | None,
        typer.Option("--prompts", help="Start from this prompts file (default: built-in)."),
    ] = None,
    out: Annotated[
        Path | None,
        typer.Option(
            "--out",
            help="Tuned prompts file (default tune/<dataset>-<version>-<time>/prompts.json); "
            "the report and the evaluation runs are written beside it.",
        ),
    ] = None,
    json_output: JsonOption = False,
) -> None:
    """Tune the agent's modeling rules and example on training problems; report held-out.

    The split is fixed by --seed; the held-out problems are never shown to the optimizer.
    The tuned prompts load with `optiagent solve --prompts FILE` and
    `optiagent eval DATASET --prompts FILE`.
    """
    import asyncio

    from optiagent.cli.agent import build_agent
    from optiagent.datasets import load_dataset
    from optiagent.evals.scoring import get_rule
    from optiagent.evals.tuning import (
        TuneOptions,
        agent_factory,
        save_tune_result,
        tune_files,
        tune_prompts,
    )

    get_rule(rule)  # fail on a misspelt rule before loading anything
    options = TuneOptions(
        rounds=rounds, batch=batch, rule=rule, concurrency=concurrency, timeout_s=timeout
    )
    loaded = load_dataset(dataset, version, data_dir(data_dir_option))
    files = tune_files(out or _default_out(loaded.name, loaded.version))
    _check_free(files)
    agent = build_agent(
        model=model, base_url=base_url, cache=cache, prompts=prompts, max_repairs=max_repairs
    )
    optimizer = _optimizer_model(optimizer_model, agent.model, base_url, cache)
    view = _TuneView(quiet=json_output)
    try:
        result = asyncio.run(
            tune_prompts(
                loaded,
                agent_factory(agent),
                optimizer,
                files.runs,
                train=train,
                test=test,
                seed=seed,
                baseline=agent.prompts,
                options=options,
                on_event=view.update,
            )
        )
    except KeyboardInterrupt:
        view.stop()
        err_console.print(
            f"interrupted: the evaluations so far are in {files.runs}; tuning does not resume, "
            "start again with another --out",
            highlight=False,
        )
        raise typer.Exit(code=130) from None
    finally:
        view.stop()
    save_tune_result(result, files)
    if json_output:
        print_json(
            {
                **result.to_dict(),
                "prompts_file": str(files.prompts),
                "report": str(files.report_markdown),
                "runs": str(files.runs),
            }
        )
        return
    _print_result(result, files)


def _default_out(dataset: str, version: str) -> Path:
    stamp = datetime.now().strftime("%Y%m%d-%H%M%S")
    return Path("tune") / f"{dataset}-{version}-{stamp}" / "prompts.json"


def _check_free(files: TuneFiles) -> None:
    taken = [
        path for path in (files.prompts, files.report_json, files.report_markdown) if path.exists()
    ]
    if files.runs.is_dir() and any(files.runs.iterdir()):
        taken.append(files.runs)
    if taken:
        raise ConfigurationError(
            f"{', '.join(str(p) for p in taken)} already exist(s); choose another --out so "
            "an earlier tuning run is not overwritten"
        )


def _optimizer_model(
    name: str | None, agent_model: ChatModel, base_url: str | None, cache: Path | None
) -> ChatModel:
    if name is None:
        return agent_model
    from optiagent.agent.llm import resolve_chat_model
    from optiagent.settings import Settings

    settings = Settings()
    return resolve_chat_model(
        name,
        base_url=base_url,
        cache=cache or settings.cache,
        timeout=settings.llm_timeout,
        max_retries=settings.llm_max_retries,
    )


class _TuneView:
    """One progress bar per evaluation on stderr, and a line per finished round or step."""

    def __init__(self, *, quiet: bool) -> None:
        self._quiet = quiet
        self._progress: Any = None
        self._bars: dict[str, Any] = {}

    def update(self, event: TuneEvent) -> None:
        """Show an evaluation's progress, or print what a round or a step did."""
        if self._quiet:
            return
        if event.kind == "progress" and event.progress is not None:
            self._bar(event.phase, event.progress.total, event.progress.done)
        elif event.kind == "evaluated":
            accuracy = "n/a" if event.accuracy is None else f"{100 * event.accuracy:.1f}%"
            self._print(Text.assemble((event.phase, "cyan"), f": accuracy {accuracy}"))
        elif event.kind == "step":
            self._print(
                Text.assemble((f"optimizer round {event.round}", "cyan"), f": {event.message}")
            )
        elif event.kind == "step_failed":
            self._print(
                Text.assemble(
                    (f"optimizer round {event.round}", "yellow"), ": no usable suggestion"
                )
            )

    def _bar(self, label: str, total: int, done: int) -> None:
        if self._progress is None:
            from rich.progress import (
                BarColumn,
                MofNCompleteColumn,
                Progress,
                TextColumn,
                TimeElapsedColumn,
            )

            self._progress = Progress(
                TextColumn("{task.description}"),
                BarColumn(),
                MofNCompleteColumn(),
                TimeElapsedColumn(),
                console=err_console,
            )
            self._progress.start()
        if label not in self._bars:
            self._bars[label] = self._progress.add_task(label, total=total)
        self._progress.update(self._bars[label], completed=done, total=total)

    def _print(self, text: Text) -> None:
        if self._progress is not None:
            self._progress.console.print(text)
        else:
            err_console.print(text)

    def stop(self) -> None:
        """Stop the bars (calling it twice is harmless)."""
        if self._progress is not None:
            self._progress.stop()
            self._progress = None


def _print_result(result: TuneResult, files: TuneFiles) -> None:
    held = result.held_out
    # titles as lines of their own: a table's title wraps at the (narrow) table's width
    console.print(
        Text(f"held-out: {len(result.test_ids)} problems, rule {result.rule}", style="bold")
    )
    table = Table()
    for column in ("prompts", "accuracy", "correct", "exec", "tokens"):
        table.add_column(column, justify="left" if column == "prompts" else "right")
    for label, digest, stats in (
        ("before (baseline)", result.baseline.digest(), held.before),
        ("after (tuned)", result.tuned.digest(), held.after),
    ):
        table.add_row(
            f"{label} {digest}",
            _pct(stats.accuracy),
            f"{stats.correct}/{stats.scored}",
            _pct(stats.execution_rate),
            str(stats.total_tokens),
        )
    console.print(table)
    change = "n/a" if held.change is None else f"{100 * held.change:+.1f} points"
    console.print(
        f"change {change}: {len(held.fixed)} fixed, {len(held.broken)} broken "
        f"(sign test p = {held.p_value:.3g}); small held-out splits are noisy, see the report",
        highlight=False,
    )
    if not result.improved:
        why = (
            "no suggestion beat them on the training problems"
            if len(result.rounds) > 1
            else "the optimizer made no suggestion"
        )
        console.print(f"the tuned prompts are the baseline prompts: {why}", highlight=False)
    console.print(
        Text(f"training ({len(result.train_ids)} problems): {result.stop_reason}", style="bold")
    )
    curve = Table()
    for column in ("round", "prompts", "accuracy", "changed"):
        curve.add_column(column, justify="right" if column == "round" else "left")
    for point in result.rounds:
        kept = " kept" if point.number == result.best_round else ""
        accuracy = "-" if point.accuracy is None else f"{_pct(point.accuracy)} "
        if point.directory is not None:
            accuracy += f"({point.correct}/{point.scored})"
        curve.add_row(
            f"{point.number}{kept}",
            point.prompts_digest,
            accuracy,
            Text(", ".join(point.changed) or "-"),
        )
    console.print(curve)
    console.print(f"tuned prompts: {files.prompts}", highlight=False)
    console.print(f"report: {files.report_markdown}", highlight=False)


def _pct(value: float | None) -> str:
    return "n/a" if value is None else f"{100 * value:.1f}%"
