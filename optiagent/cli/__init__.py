"""The `optiagent` command line: a typer app whose commands live in one module per area.

The CLI only parses arguments and renders results; every command calls the same library
functions a Python user would. Errors derived from `OptiAgentError` are printed as one
readable message (exit status 2) instead of a traceback.
"""

from __future__ import annotations

import typer
from typer.core import TyperGroup

from optiagent.cli import agent, chat, datasets, evals, export, model, sandbox, tune
from optiagent.cli._console import print_error
from optiagent.exceptions import ConfigurationError, OptiAgentError

__all__ = ["app", "main"]


class _Group(TyperGroup):
    """The root command group: turns an `OptiAgentError` into one message and exit status 2."""

    def invoke(self, ctx: typer.Context) -> object:
        try:
            return super().invoke(ctx)
        except OptiAgentError as error:
            print_error(str(error))
            raise typer.Exit(code=2) from error


app = typer.Typer(
    cls=_Group,
    name="optiagent",
    help="Turn optimization problems written in plain language into solved, checked models.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)


@app.callback()
def _configure_solvers() -> None:
    """Size the solver worker pool from OPTIAGENT_SOLVER_WORKERS / OPTIAGENT_SOLVER_GRACE."""
    from pydantic import ValidationError

    from optiagent.settings import Settings
    from optiagent.solvers_backend.pool import configure_default_pool

    try:
        settings = Settings()
    except ValidationError as error:
        problems = "; ".join(
            f"OPTIAGENT_{'_'.join(map(str, e['loc'])).upper()}: {e['msg']}" for e in error.errors()
        )
        raise ConfigurationError(f"invalid setting: {problems}") from None
    configure_default_pool(settings.solver_workers, grace=settings.solver_grace)


for _area in (model, export, agent, chat, sandbox, datasets, evals, tune):
    _area.register(app)


def main() -> None:
    """Run the command line (the `optiagent` console script)."""
    app()
