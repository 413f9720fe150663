"""`optiagent solve`: a problem in plain language in, a checked answer out (uses an LLM)."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer
from rich.markdown import Markdown
from rich.table import Table
from rich.text import Text

from optiagent.cli._console import console, err_console, print_json
from optiagent.exceptions import ConfigurationError

if TYPE_CHECKING:
    from optiagent.agent.api import Agent
    from optiagent.agent.result import AgentEvent, AgentResult

__all__ = ["build_agent", "read_problem", "register"]

_MAX_ROWS = 40

ModelOption = Annotated[
    str | None, typer.Option("--model", "-m", help="model name (default: OPTIAGENT_MODEL)")
]
BaseUrlOption = Annotated[
    str | None,
    typer.Option("--base-url", help="OpenAI-compatible endpoint (default: OPENAI_BASE_URL)"),
]
CacheOption = Annotated[
    Path | None, typer.Option("--cache", help="SQLite file caching model replies")
]
PromptsOption = Annotated[
    Path | None, typer.Option("--prompts", help="prompts file saved by `optiagent tune`")
]


def read_problem(text: str | None, file: Path | None) -> str:
    """The problem from the argument, a file, or stdin ('-')."""
    if file is not None and text is not None:
        raise ConfigurationError("give the problem either as TEXT or with --file, not both")
    if file is not None:
        if not file.is_file():
            raise ConfigurationError(f"problem file not found: {file}")
        return file.read_text(encoding="utf-8")
    if text == "-":
        return sys.stdin.read()
    if not text:
        raise ConfigurationError(
            'no problem given: optiagent solve "A bakery makes ..." (or --file F, or - for stdin)'
        )
    return text


def build_agent(
    *,
    model: str | None,
    base_url: str | None,
    cache: Path | None,
    prompts: Path | None,
    max_repairs: int | None = None,
    samples: int | None = None,
    time_limit: float | None = None,
    backend: str = "auto",
    route: str = "ir",
    **extra: Any,
) -> Agent:
    """An Agent configured from the options, then OPTIAGENT_* settings, then defaults."""
    from optiagent.agent.api import Agent
    from optiagent.settings import Settings
    from optiagent.solvers_backend.pool import default_pool

    default_pool().prestart()  # a warm solver by the time the model has answered
    settings = Settings()

    def on_retry(event: Any) -> None:
        err_console.print(
            f"[yellow]model endpoint busy ({event.reason}); retry {event.attempt} "
            f"in {event.delay_s:.1f} s[/]"
        )

    return Agent(
        model=model or settings.model,
        base_url=base_url,
        cache=cache or settings.cache,
        timeout=settings.llm_timeout,
        max_retries=settings.llm_max_retries,
        on_retry=on_retry,
        max_repairs=settings.max_repairs if max_repairs is None else max_repairs,
        samples=settings.samples if samples is None else samples,
        time_limit=settings.time_limit if time_limit is None else time_limit,
        threads=settings.threads,
        backend=backend,
        prompts=prompts,
        route=route,
        **extra,
    )


def _progress(quiet: bool) -> Any:
    def show(event: AgentEvent) -> None:
        if quiet:
            return
        sample = f" #{event.sample + 1}" if event.sample else ""
        took = f" ({event.seconds:.2f} s)" if event.seconds >= 0.01 else ""
        err_console.print(
            Text.assemble((f"[{event.node}{sample}] ", "cyan"), event.message, (took, "dim"))
        )

    return show


def _print_result(result: AgentResult) -> None:
    from optiagent.formulations.render import to_markdown

    colour = {"solved": "green", "feasible": "yellow"}.get(result.status, "red")
    console.rule("answer")
    if result.answer is not None:
        console.print(Text.assemble(("Answer: ", "bold"), (result.answer.text, "bold " + colour)))
    console.print(
        Text.assemble("status: ", (result.status, colour), f"   repairs: {result.repairs}")
    )
    if result.confidence is not None:
        console.print(f"agreement of {len(result.samples)} samples: {result.confidence:.0%}")
    if result.explanation:
        console.print(Text(result.explanation))
    for warning in result.warnings:
        console.print(Text.assemble(("warning: ", "yellow"), warning))
    if result.final_feedback and result.status not in ("solved", "feasible"):
        console.print(Text(result.final_feedback))
    if result.formulation is not None:
        console.rule("formulation")
        console.print(Markdown(to_markdown(result.formulation)))
    if result.code is not None:
        from rich.syntax import Syntax

        console.rule("program (code route)")
        # wrapped, not cropped: a program cut at the terminal's edge would read as wrong code
        console.print(Syntax(result.code, "python", line_numbers=True, word_wrap=True))
        reported = result.execution.reported if result.execution is not None else None
        if reported is not None and result.status in ("solved", "feasible"):
            _print_values(reported.values)
    if result.solve_result is not None and result.solve_result.has_solution:
        _print_values(result.solve_result.flat_values())
    usage = result.usage
    console.print(
        f"[dim]{usage.calls} model call(s), {usage.prompt_tokens} prompt + "
        f"{usage.completion_tokens} completion tokens[/]"
    )


def _print_values(values: dict[str, float]) -> None:
    """Print the non-zero values as a table (the first _MAX_ROWS of them)."""
    nonzero = [(k, v) for k, v in values.items() if abs(v) > 1e-9]
    console.print(f"solution: {len(nonzero)} non-zero value(s)")
    table = Table("variable", "value")
    for label, value in nonzero[:_MAX_ROWS]:
        table.add_row(Text(label), f"{value:.10g}")
    if len(nonzero) > _MAX_ROWS:
        table.add_row("...", f"{len(nonzero) - _MAX_ROWS} more (use --json)")
    console.print(table)


def _save_outputs(result: AgentResult, save: Path | None, export: Path | None) -> None:
    from optiagent.formulations.export import ortools_obstacle, to_ortools_script, to_pyomo_script
    from optiagent.formulations.io import save_formulation

    if export is not None and result.code is not None:
        # the code route's program is itself a standalone script
        export.write_text(result.code, encoding="utf-8")
        err_console.print(f"script written to {export}")
        export = None
    if save is not None and result.formulation is None and result.code is not None:
        raise ConfigurationError(
            "the code route produces a program, not a formulation: use --export FILE to save it"
        )
    if (save or export) and result.formulation is None:
        raise ConfigurationError("no valid formulation was produced, so nothing was saved")
    if save is not None and result.formulation is not None:
        save_formulation(result.formulation, save)
        err_console.print(f"formulation saved to {save}")
    if export is not None and result.checked is not None:
        checked = result.checked
        use_ortools = checked.analysis.global_constraints and ortools_obstacle(checked) is None
        script = to_ortools_script(checked) if use_ortools else to_pyomo_script(checked)
        export.write_text(script, encoding="utf-8")
        err_console.print(f"script written to {export}")


def solve(
    text: Annotated[
        str | None, typer.Argument(help="the problem in plain language, or - for stdin")
    ] = None,
    file: Annotated[Path | None, typer.Option("--file", "-f", help="read the problem")] = None,
    data: Annotated[
        list[Path] | None, typer.Option("--data", "-d", help="CSV data file (repeatable)")
    ] = None,
    model: ModelOption = None,
    base_url: BaseUrlOption = None,
    max_repairs: Annotated[int | None, typer.Option(min=0, help="repair rounds")] = None,
    samples: Annotated[
        int | None, typer.Option(min=1, help="independent formulations (self-consistency)")
    ] = None,
    time_limit: Annotated[
        float | None, typer.Option("--time-limit", min=0.001, help="solver limit (s)")
    ] = None,
    backend: Annotated[str, typer.Option("--backend", "-b", help="auto, highs, scip, cpsat")] = (
        "auto"
    ),
    route: Annotated[
        str,
        typer.Option(
            "--route",
            help="ir: a checked formulation; code: a generated program run in the sandbox; "
            "auto: ir, then code if no usable formulation",
        ),
    ] = "ir",
    cache: CacheOption = None,
    prompts: PromptsOption = None,
    save: Annotated[Path | None, typer.Option("--save", help="save the formulation")] = None,
    export: Annotated[
        Path | None, typer.Option("--export", help="write a standalone solver script")
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="print one JSON object")] = False,
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="no progress lines")] = False,
) -> None:
    """Formulate, solve, check and explain a problem written in plain language."""
    problem = read_problem(text, file)
    if save is not None and route == "code":
        raise ConfigurationError(
            "the code route produces a program, not a formulation: use --export FILE to save it"
        )
    agent = build_agent(
        model=model,
        base_url=base_url,
        cache=cache,
        prompts=prompts,
        max_repairs=max_repairs,
        samples=samples,
        time_limit=time_limit,
        backend=backend,
        route=route,
    )
    with agent:  # stops the sandbox workers of the code route
        result = agent.solve(problem, data=list(data or []), on_event=_progress(quiet or as_json))
    _save_outputs(result, save, export)
    if as_json:
        print_json(result.to_dict())
    else:
        _print_result(result)
    if result.status == "failed":
        raise typer.Exit(code=1)


def register(app: typer.Typer) -> None:
    """Add `solve` to the root app."""
    app.command(rich_help_panel="Language model")(solve)
