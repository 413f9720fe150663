"""CLI commands `export` (a formulation as a standalone Pyomo / OR-Tools script) and `show`
(a formulation as readable math)."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.text import Text

from optiagent.cli._console import console, err_console
from optiagent.exceptions import ConfigurationError, IncompatibleBackendError

if TYPE_CHECKING:
    from optiagent.formulations.analysis import CheckedFormulation

__all__ = ["register"]

_TARGETS = ("pyomo", "ortools")
_FORMATS = ("markdown", "latex")
_PYOMO_SOLVER_OF_BACKEND = {"highs": "highs", "scip": "scip_direct"}

FileArgument = Annotated[
    Path, typer.Argument(help="formulation file (.yaml, .yml or .json)", show_default=False)
]


def export(
    file: FileArgument,
    to: Annotated[str, typer.Option("--to", "-t", help="pyomo or ortools", show_default=False)],
    output: Annotated[
        Path | None,
        typer.Option("--output", "-o", help="write the script here instead of to stdout"),
    ] = None,
    backend: Annotated[
        str,
        typer.Option(
            "--backend",
            "-b",
            help="solver the script uses: auto (by problem class); for pyomo highs or scip; "
            "for ortools cpsat, clp, glop, scip or cbc",
        ),
    ] = "auto",
    time_limit: Annotated[
        float,
        typer.Option("--time-limit", help="time limit written into the script (s)", min=0.001),
    ] = 60.0,
) -> None:
    """Write a formulation as a standalone Python script that builds, solves and prints it.

    The script prints the status, the non-zero values and last `objective: <value>`.

    A model the target cannot express is refused with the way out (exit status 2).
    """
    from optiagent.formulations.analysis import check_formulation
    from optiagent.formulations.export import to_ortools_script, to_pyomo_script
    from optiagent.formulations.io import load_formulation

    target = to.strip().lower()
    if target not in _TARGETS:
        raise ConfigurationError(f"unknown target '{to}'; choose --to pyomo or --to ortools")
    checked = check_formulation(load_formulation(file))
    if target == "pyomo":
        solver = _pyomo_solver(checked, backend)
        script = to_pyomo_script(checked, solver, time_limit=time_limit)
    else:
        choice = None if backend == "auto" else backend.strip().lower()
        script = to_ortools_script(checked, choice, time_limit=time_limit)
    if output is None:
        typer.echo(script, nl=False)
        return
    output.parent.mkdir(parents=True, exist_ok=True)
    output.write_text(script, encoding="utf-8")
    err_console.print(
        Text.assemble(
            "wrote ",
            (str(output), "bold"),
            f" ({target} script for a {checked.problem_class.value} model); run it with: ",
            (f"python {output}", "bold"),
        )
    )


def _pyomo_solver(checked: CheckedFormulation, backend: str) -> str | None:
    """The Pyomo solver for `backend`, routed like `optiagent run` does (None for a model with
    global constraints: the exporter refuses it with its own message)."""
    from optiagent.solvers_backend.registry import choose_backend

    if checked.analysis.global_constraints:
        return None
    name = backend.strip().lower()
    if name == "scip_direct":  # the Pyomo name of the scip backend
        name = "scip"
    chosen = choose_backend(checked, name)
    solver = _PYOMO_SOLVER_OF_BACKEND.get(chosen.name)
    if solver is None:
        raise IncompatibleBackendError(
            f"{chosen.name} is not a Pyomo solver; use --backend highs or scip, "
            f"or export with --to ortools --backend {chosen.name}"
        )
    return solver


def show(
    file: FileArgument,
    output_format: Annotated[
        str, typer.Option("--format", "-f", help="markdown or latex")
    ] = "markdown",
    raw: Annotated[
        bool,
        typer.Option("--raw", help="print the Markdown source even on a terminal"),
    ] = False,
) -> None:
    """Show a formulation as readable math: Markdown (rendered on a terminal) or LaTeX.

    Markdown is rendered on a terminal and printed as source when piped or with --raw.

    LaTeX is printed as a fragment for amsmath (an align* block and item lists).
    """
    from optiagent.formulations.analysis import validate_formulation
    from optiagent.formulations.io import load_formulation
    from optiagent.formulations.render import to_latex, to_markdown

    chosen = output_format.strip().lower()
    if chosen not in _FORMATS:
        raise ConfigurationError(
            f"unknown format '{output_format}'; choose --format markdown or --format latex"
        )
    formulation = load_formulation(file)
    text = to_markdown(formulation) if chosen == "markdown" else to_latex(formulation)
    if chosen == "markdown" and console.is_terminal and not raw:
        from rich.markdown import Markdown

        console.print(Markdown(text))
    else:
        typer.echo(text, nl=False)
    issues = validate_formulation(formulation)
    if issues:
        err_console.print(
            f"note: the formulation has {len(issues)} issue(s); "
            f"see them with: optiagent check {file}",
            highlight=False,
            markup=False,
        )


def register(app: typer.Typer) -> None:
    """Add export and show to the root app."""
    app.command(rich_help_panel="Formulation files")(export)
    app.command(rich_help_panel="Formulation files")(show)
