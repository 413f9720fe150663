"""`optiagent export` and `optiagent show` as a user calls them."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from optiagent.cli import app

EXAMPLES = Path(__file__).parents[2] / "examples"
runner = CliRunner()


def _example(name: str) -> str:
    return str(EXAMPLES / f"{name}.yaml")


def test_export_writes_a_pyomo_script_that_runs_on_its_own(tmp_path: Path) -> None:
    target = tmp_path / "scripts" / "transport.py"
    outcome = runner.invoke(
        app, ["export", _example("transport"), "--to", "pyomo", "-o", str(target)]
    )
    assert outcome.exit_code == 0, outcome.output
    assert "wrote" in outcome.stderr and "python" in outcome.stderr
    assert outcome.stdout == ""
    run = subprocess.run(
        [sys.executable, str(target)],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=tmp_path,
        check=False,
    )
    assert run.returncode == 0, run.stderr
    lines = run.stdout.strip().splitlines()
    assert lines[0] == "status: optimal"
    assert lines[-1] == "objective: 153.675"


def test_export_prints_the_script_to_stdout() -> None:
    outcome = runner.invoke(app, ["export", _example("jobshop"), "--to", "ortools"])
    assert outcome.exit_code == 0, outcome.output
    assert outcome.stdout.startswith('"""jobshop: ')
    assert "from ortools.sat.python import cp_model" in outcome.stdout
    compile(outcome.stdout, "jobshop.py", "exec")


@pytest.mark.parametrize(
    ("arguments", "expected"),
    [
        (["max_product", "--to", "pyomo"], 'SolverFactory("scip_direct")'),
        (["knapsack", "--to", "pyomo", "--backend", "scip"], 'SolverFactory("scip_direct")'),
        (["knapsack", "--to", "pyomo", "-b", "scip_direct"], 'SolverFactory("scip_direct")'),
        (["knapsack", "--to", "pyomo"], 'SolverFactory("highs")'),
        (["knapsack", "--to", "ortools", "--backend", "cbc"], 'CreateSolver("CBC")'),
        (["wyndor", "--to", "ortools", "--time-limit", "5"], "TIME_LIMIT = 5  # seconds"),
    ],
)
def test_export_routes_the_solver(arguments: list[str], expected: str) -> None:
    name, *options = arguments
    outcome = runner.invoke(app, ["export", _example(name), *options])
    assert outcome.exit_code == 0, outcome.output
    assert expected in outcome.stdout


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        (["jobshop", "--to", "pyomo"], "--to ortools"),
        (["integer_nlp", "--to", "ortools"], "--to pyomo"),
        (["max_product", "--to", "pyomo", "--backend", "highs"], "use --backend scip"),
        (["knapsack", "--to", "pyomo", "--backend", "cpsat"], "--to ortools --backend cpsat"),
        (["knapsack", "--to", "ortools", "--backend", "glop"], "LPs only"),
        (["wyndor", "--to", "julia"], "choose --to pyomo or --to ortools"),
    ],
)
def test_refused_exports_exit_2_with_the_way_out(arguments: list[str], message: str) -> None:
    name, *options = arguments
    outcome = runner.invoke(app, ["export", _example(name), *options])
    assert outcome.exit_code == 2
    assert "error:" in outcome.stderr
    assert message in " ".join(outcome.stderr.split())
    assert outcome.stdout == ""
    assert "Traceback" not in outcome.output


def test_export_of_an_invalid_formulation_lists_its_issues(tmp_path: Path) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text("variables: {x: {}}\nobjective: {minimize: x + y}\n")
    outcome = runner.invoke(app, ["export", str(bad), "--to", "pyomo"])
    assert outcome.exit_code == 2
    assert "unknown name 'y'" in outcome.stderr


def test_show_prints_markdown_source_when_piped() -> None:
    outcome = runner.invoke(app, ["show", _example("transport")])
    assert outcome.exit_code == 0, outcome.output
    assert outcome.stdout.startswith("# transport\n")
    assert "    ∑(m ∈ Markets) ship[p, m] ≤ supply[p]    for all p ∈ Plants" in outcome.stdout
    assert outcome.stderr == ""
    raw = runner.invoke(app, ["show", _example("transport"), "--raw"])
    assert raw.stdout == outcome.stdout


def test_show_latex() -> None:
    outcome = runner.invoke(app, ["show", _example("knapsack"), "--format", "latex"])
    assert outcome.exit_code == 0, outcome.output
    assert r"\max \quad & \sum_{i \in \mathit{Items}} \mathit{value}_{i} \cdot" in outcome.stdout
    assert outcome.stdout.rstrip().endswith(r"\end{align*}")


def test_show_renders_on_a_terminal(monkeypatch: pytest.MonkeyPatch) -> None:
    from rich.console import Console

    monkeypatch.setattr(Console, "is_terminal", property(lambda _self: True))
    outcome = runner.invoke(app, ["show", _example("wyndor")])
    assert outcome.exit_code == 0, outcome.output
    assert "## Objective" not in outcome.stdout  # rendered: headings lose their hashes
    assert "Objective" in outcome.stdout


def test_show_works_on_an_invalid_formulation_and_says_so(tmp_path: Path) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text("variables: {x: {}}\nconstraints: {c: 'x <= = 3'}\n")
    outcome = runner.invoke(app, ["show", str(bad)])
    assert outcome.exit_code == 0
    assert "    x <= = 3" in outcome.stdout
    assert "note: the formulation has 1 issue(s)" in outcome.stderr
    assert "optiagent check" in outcome.stderr


def test_show_rejects_an_unknown_format() -> None:
    outcome = runner.invoke(app, ["show", _example("wyndor"), "--format", "html"])
    assert outcome.exit_code == 2
    assert "choose --format markdown or --format latex" in outcome.stderr
