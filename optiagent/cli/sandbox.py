"""CLI command `optiagent exec`: run a script in the sandbox and show what it reported."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from optiagent.cli._console import console, err_console, print_json
from optiagent.exceptions import ConfigurationError

_FAMILIES = ("auto", "pyomo", "ortools")


def register(app: typer.Typer) -> None:
    """Add this module's commands to the root app."""
    app.command("exec")(exec_script)


def exec_script(
    script: Annotated[
        Path, typer.Argument(help="Python file to run (Pyomo / OR-Tools code).", show_default=False)
    ],
    timeout: Annotated[
        float, typer.Option("--timeout", "-t", help="Wall-clock limit in seconds.", min=0.1)
    ] = 60.0,
    cpu: Annotated[
        float | None,
        typer.Option("--cpu", help="CPU-time limit in seconds (default: the wall limit)."),
    ] = None,
    memory: Annotated[
        int, typer.Option("--memory", "-m", help="Address-space limit in MiB.", min=64)
    ] = 2048,
    family: Annotated[
        str, typer.Option("--family", help="Worker: auto (from the imports), pyomo or ortools.")
    ] = "auto",
    files: Annotated[
        list[Path] | None,
        typer.Option("--file", "-f", help="Data file to copy into the run folder (repeatable)."),
    ] = None,
    no_check: Annotated[
        bool,
        typer.Option(
            "--no-check", help="Skip the static check and import allow-list (trusted scripts)."
        ),
    ] = False,
    check_only: Annotated[
        bool, typer.Option("--check-only", help="Only run the static check, do not execute.")
    ] = False,
    cold: Annotated[
        bool,
        typer.Option("--cold", help="Plain `python script.py` with limits only (no confinement)."),
    ] = False,
    as_json: Annotated[
        bool, typer.Option("--json", help="Print the result as one JSON object.")
    ] = False,
) -> None:
    """Run a script in the sandbox and print its output and the status/objective it reported.

    Exit status 0 when the script ran to its end, 1 otherwise (the feedback says why).
    """
    from optiagent.solvers_backend.sandbox import (
        Limits,
        Sandbox,
        check_code,
        detect_family,
        rejected_result,
        run_script_cold,
    )

    if family not in _FAMILIES:
        raise ConfigurationError(f"--family must be one of {', '.join(_FAMILIES)}, not {family!r}")
    if not script.is_file():
        raise ConfigurationError(f"no such script: {script}")
    code = script.read_text(encoding="utf-8", errors="replace")
    if check_only:
        issues = check_code(code)
        for issue in issues:
            err_console.print(str(issue), highlight=False, markup=False, soft_wrap=True)
        if not issues:
            console.print(f"{script}: no issues (worker family: {detect_family(code)})")
        raise typer.Exit(1 if issues else 0)
    limits = Limits(
        wall_seconds=timeout,
        cpu_seconds=cpu if cpu is not None else timeout,
        memory_bytes=memory * 1024 * 1024,
    )
    data = {path.name: path.read_bytes() for path in files or []}
    chosen = detect_family(code) if family == "auto" else family
    issues = [] if no_check or cold else check_code(code)
    protections: dict[str, str] = {"cold": "rlimits only (no confinement)"} if cold else {}
    if issues:  # refused before any worker starts
        result = rejected_result(issues, family=chosen, limits=limits)
    elif cold:
        result = run_script_cold(script, limits=limits, files=data)
    else:
        with Sandbox(families=[chosen], limits=limits, max_parallel=1) as sandbox:
            # Which layers hold on this machine (a missing one says "unavailable: why").
            protections = dict(sandbox.worker_info(chosen)["protections"])
            result = sandbox.run(
                code, family=chosen, filename=script.name, files=data, check=not no_check
            )
    if as_json:
        print_json({**result.to_dict(), "protections": protections})
        raise typer.Exit(0 if result.ok else 1)
    if result.stdout:
        typer.echo(result.stdout, nl=not result.stdout.endswith("\n"))
    if result.stderr:
        typer.echo(result.stderr, nl=not result.stderr.endswith("\n"), err=True)
    reported = result.reported
    summary = (
        f"[{result.exit_reason.value}] status: {reported.status or '-'}  "
        f"objective: {'-' if reported.objective is None else f'{reported.objective:g}'}  "
        f"({result.wall_time_s:.2f} s, {result.family} worker)"
    )
    err_console.print(summary, highlight=False, markup=False)
    if not result.ok:
        err_console.print(result.feedback(), highlight=False, markup=False, soft_wrap=True)
        raise typer.Exit(1)
