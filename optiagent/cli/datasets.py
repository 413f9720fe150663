"""CLI commands: `optiagent datasets list` and `optiagent datasets show`."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer

from optiagent.cli._console import console, print_json
from optiagent.exceptions import DatasetError

DataDirOption = Annotated[
    Path | None,
    typer.Option(
        "--data-dir",
        help="Folder holding the benchmark sets (default: $OPTIAGENT_DATA_DIR).",
        show_default=False,
    ),
]
VersionOption = Annotated[
    str | None,
    typer.Option("--version", help="Source version (default: the recommended one)."),
]
JsonOption = Annotated[bool, typer.Option("--json", help="Print JSON instead of a table.")]


def data_dir(explicit: Path | None) -> Path:
    """Return the data directory from --data-dir, then the OPTIAGENT_DATA_DIR setting."""
    from optiagent.datasets import resolve_data_dir
    from optiagent.settings import Settings

    return resolve_data_dir(explicit, Settings().data_dir)


def register(app: typer.Typer) -> None:
    """Add the `datasets` command group to the root app."""
    group = typer.Typer(
        name="datasets",
        help="List the benchmark sets and look at their problems.",
        no_args_is_help=True,
    )
    group.command("list")(list_command)
    group.command("show")(show_command)
    app.add_typer(group)


def list_command(
    data_dir_option: DataDirOption = None,
    json_output: JsonOption = False,
) -> None:
    """List every set and version with its count, categories, default flag and file hash.

    Without a data directory the catalog is still listed (with where each file comes from),
    so a new user learns what to download.
    """
    from optiagent.datasets import list_versions, load_dataset
    from optiagent.settings import Settings

    root = None
    if data_dir_option is not None or Settings().data_dir is not None:
        root = data_dir(data_dir_option)
    rows: list[dict[str, Any]] = []
    for spec in list_versions():
        try:
            if root is None:
                raise DatasetError("no data directory given (--data-dir / OPTIAGENT_DATA_DIR)")
            rows.append(load_dataset(spec.dataset, spec.version, root).summary())
        except DatasetError as error:
            rows.append(
                {
                    "name": spec.dataset,
                    "version": spec.version,
                    "default": spec.default,
                    "available": False,
                    "count": None,
                    "sha256": None,
                    "paths": list(spec.paths),
                    "upstream": spec.upstream,
                    "summary": spec.summary,
                    "error": str(error),
                }
            )
    if json_output:
        print_json(rows)
        return
    _print_table(rows, root)


def show_command(
    name: Annotated[str, typer.Argument(help="Dataset name, e.g. optibench.")],
    problem_id: Annotated[
        str | None, typer.Argument(metavar="ID", help="Problem id (omit to list the ids).")
    ] = None,
    version: VersionOption = None,
    data_dir_option: DataDirOption = None,
    json_output: JsonOption = False,
) -> None:
    """Print one problem (question, ground truth, metadata), or list the ids of a set."""
    from optiagent.datasets import load_dataset

    dataset = load_dataset(name, version, data_dir(data_dir_option))
    if problem_id is None:
        if json_output:
            print_json([{"id": p.id, "category": p.category} for p in dataset.problems])
            return
        for problem in dataset.problems:
            preview = " ".join(problem.question.split())[:90]
            line = f"{problem.id}\t{problem.category or '-'}\t{preview}"
            console.print(line, highlight=False, markup=False, soft_wrap=True)
        return
    problem = dataset.get(problem_id)
    if json_output:
        print_json(problem.to_dict())
        return
    _print_problem(problem)


def _print_table(rows: list[dict[str, Any]], root: Path | None) -> None:
    title = f"Benchmark sets in {root}" if root else "Benchmark sets (no data directory given)"
    console.print(title, highlight=False)
    header = f"{'name':<15} {'version':<19} {'dflt':<4} {'count':>5}  {'ground truths':<18} "
    console.print(f"[bold]{header}{'sha256':<12}  categories[/]", highlight=False, soft_wrap=True)
    for row in rows:
        lead = f"{row['name']:<15} {row['version']:<19} {_flag(row):<4} "
        if not row["available"]:
            console.print(f"{lead}{'-':>5}  [red]missing[/]", highlight=False, soft_wrap=True)
            continue
        counts = row["ground_truth"]
        truths = ", ".join(
            f"{counts[k]} {label}" for k, label in _TRUTH_LABELS.items() if k in counts
        )
        categories = sorted(row["categories"].items(), key=lambda item: -item[1])
        shown = f"{len(categories)}: " + ", ".join(f"{k} {v}" for k, v in categories)
        line = f"{lead}{row['count']:>5}  {truths:<18} {row['sha256'][:12]}  {shown}"
        console.print(line, highlight=False, markup=False, soft_wrap=True)
    for row in rows:
        if not row["available"]:
            where = f"{row['paths'][0]} from {row['upstream']}"
            console.print(f"[yellow]{row['name']}/{row['version']}[/]: {where}", highlight=False)
    if root is None:
        console.print("Pass --data-dir DIR or set OPTIAGENT_DATA_DIR to load the sets.")


_TRUTH_LABELS = {"value": "num", "infeasible": "inf", "unbounded": "unb", "missing": "none"}


def _flag(row: dict[str, Any]) -> str:
    return "*" if row["default"] else ""


def _print_problem(problem: Any) -> None:
    truth = problem.ground_truth
    console.rule(f"{problem.dataset}/{problem.version} #{problem.id}")
    console.print(f"source: {problem.source_file}:{problem.source_line}", highlight=False)
    console.print(f"category: {problem.category or '-'}    table: {problem.has_table}")
    console.print(f"ground truth: {truth.describe()}   (as written: {truth.raw})", highlight=False)
    if truth.requested:
        console.print("requested values:", highlight=False)
        for key, value in truth.requested.items():
            marker = "  <- objective" if key == truth.objective_key else ""
            console.print(f"  {key}: {value:g}{marker}", highlight=False)
    for key, value in problem.extra.items():
        console.print(f"{key}: {value}", highlight=False, markup=False)
    console.rule("question")
    console.print(problem.question, highlight=False, markup=False)
    for name, text in problem.attachments.items():
        console.rule(f"attachment {name}")
        console.print(text, highlight=False, markup=False)
