"""CLI commands that work on formulation files without any language model: run, check, schema."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.table import Table
from rich.text import Text

from optiagent.cli._console import console, print_json

__all__ = ["register"]

_MAX_ROWS = 50

FileArgument = Annotated[
    Path, typer.Argument(help="formulation file (.yaml, .yml or .json)", show_default=False)
]


def run(
    file: FileArgument,
    backend: Annotated[
        str, typer.Option("--backend", "-b", help="auto, highs, scip or cpsat")
    ] = "auto",
    time_limit: Annotated[
        float, typer.Option("--time-limit", "-t", help="solver time limit in seconds", min=0.001)
    ] = 60.0,
    threads: Annotated[int | None, typer.Option(help="solver threads", min=1)] = None,
    as_json: Annotated[bool, typer.Option("--json", help="print one JSON object")] = False,
    show_log: Annotated[bool, typer.Option("--log", help="print the solver log")] = False,
) -> None:
    """Solve a formulation file and print the status, objective and solution (no LLM)."""
    from optiagent.formulations.analysis import check_formulation
    from optiagent.formulations.io import load_formulation
    from optiagent.formulations.solution import check_solution
    from optiagent.solvers_backend.api import solve
    from optiagent.solvers_backend.pool import default_pool

    default_pool().prestart()  # the solver warms up while the file is read and checked
    checked = check_formulation(load_formulation(file))
    result = solve(checked, backend=backend, time_limit=time_limit, threads=threads)
    solution = check_solution(checked, result.values) if result.has_solution else None
    binding = [c.label for c in solution.binding] if solution else []
    if as_json:
        payload = result.to_dict(include_log=show_log)
        payload["binding_constraints"] = binding
        payload["violated_constraints"] = [c.label for c in solution.violated] if solution else []
        print_json(payload)
    else:
        _print_summary(checked, result, solution)
        if show_log and result.log:
            console.rule("solver log")
            console.print(result.log, highlight=False, markup=False)
    if result.status.value == "error":
        raise typer.Exit(code=1)


def _print_summary(checked: Any, result: Any, solution: Any) -> None:
    name = checked.formulation.name
    console.print(
        Text.assemble(
            (name, "bold"),
            f": {checked.analysis.summary()} -> solved with ",
            (result.backend, "bold"),
        )
    )
    style = "green" if result.status.value == "optimal" else "yellow"
    console.print(f"status: [{style}]{result.status.value}[/]")
    if result.objective is not None:
        console.print(f"objective: [bold]{result.objective:.10g}[/]")
    if result.gap is not None and result.status.value != "optimal":
        console.print(f"best bound: {result.best_bound:.10g} (gap {result.gap:.2%})")
    if result.status.value not in ("optimal", "feasible", "time_limit") and result.message:
        console.print(Text(result.message))
    if not result.has_solution:
        return
    nonzero = {k: v for k, v in result.flat_values().items() if abs(v) > 1e-9}
    table = Table("variable", "value", title=f"non-zero variables ({len(nonzero)})", min_width=36)
    for label, value in list(nonzero.items())[:_MAX_ROWS]:
        table.add_row(Text(label), f"{value:.10g}")
    if len(nonzero) > _MAX_ROWS:
        table.add_row("...", f"{len(nonzero) - _MAX_ROWS} more (use --json)")
    console.print(table)
    if solution is not None and solution.binding:
        duals = result.to_dict().get("duals", {})
        columns = ("constraint", "dual") if duals else ("constraint",)
        rows = Table(*columns, title="binding constraints", min_width=36)
        for check in solution.binding[:_MAX_ROWS]:
            dual = duals.get(check.label)
            cells = [Text(check.label)] + (
                [f"{dual + 0.0:.6g}" if dual is not None else ""] if duals else []
            )
            rows.add_row(*cells)
        console.print(rows)
    if solution is not None and not solution.feasible:
        violated = ", ".join(c.label for c in solution.violated[:10])
        console.print(
            Text.assemble(("warning: ", "red"), f"the solution violates {violated or 'bounds'}")
        )


def check(
    file: FileArgument,
    as_json: Annotated[bool, typer.Option("--json", help="print one JSON object")] = False,
) -> None:
    """Validate a formulation file: report every issue, or its class and size."""
    from optiagent.formulations.analysis import check_formulation
    from optiagent.formulations.io import load_formulation

    checked = check_formulation(load_formulation(file))
    analysis = checked.analysis
    if as_json:
        print_json(
            {
                "valid": True,
                "problem_class": analysis.problem_class.value,
                "variables": analysis.variable_count,
                "integer_variables": analysis.integer_count,
                "constraints": len(analysis.instances),
            }
        )
        return
    # the summary may quote instance labels such as x[seattle], which rich would read as markup
    console.print(Text.assemble(("valid", "green"), f": {analysis.summary()}"))


def schema() -> None:
    """Print the JSON schema of a formulation file (the contract given to language models)."""
    from optiagent.formulations.io import formulation_json_schema

    print(json.dumps(formulation_json_schema(), indent=2))


def register(app: typer.Typer) -> None:
    """Add run, check and schema to the root app."""
    app.command(rich_help_panel="Formulation files")(run)
    app.command(rich_help_panel="Formulation files")(check)
    app.command(rich_help_panel="Formulation files")(schema)
