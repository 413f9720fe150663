"""`optiagent run`, `check` and `schema` as a user calls them."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from optiagent.cli import app

EXAMPLES = Path(__file__).parents[2] / "examples"
runner = CliRunner()

EXPECTED = {
    "wyndor": ("optimal", 36.0, "highs", "LP"),
    "transport": ("optimal", 153.675, "highs", "LP"),
    "knapsack": ("optimal", 220.0, "highs", "MILP"),
    "max_product": ("optimal", 25.0, "scip", "nonconvex QP"),
    "projection_qp": ("optimal", 0.5, "highs", "convex QP"),
    "integer_nlp": ("optimal", 0.3075, "scip", "MIQP"),
    "jobshop": ("optimal", 11.0, "cpsat", "CP"),
    "infeasible": ("infeasible", None, "highs", "LP"),
}


@pytest.mark.parametrize("name", list(EXPECTED))
def test_run_json_gives_the_known_optimum(name: str) -> None:
    outcome = runner.invoke(app, ["run", str(EXAMPLES / f"{name}.yaml"), "--json"])
    assert outcome.exit_code == 0, outcome.output
    payload = json.loads(outcome.stdout)
    status, objective, backend, problem_class = EXPECTED[name]
    assert payload["status"] == status
    assert payload["backend"] == backend and payload["problem_class"] == problem_class
    if objective is None:
        assert payload["objective"] is None
    else:
        assert payload["objective"] == pytest.approx(objective, rel=1e-6)
        assert payload["variables"]


def test_run_prints_labels_with_brackets_intact() -> None:
    outcome = runner.invoke(app, ["run", str(EXAMPLES / "transport.yaml")])
    assert outcome.exit_code == 0
    assert "ship[seattle,chicago]" in outcome.stdout
    assert "meet_demand[new-york]" in outcome.stdout
    assert "153.675" in outcome.stdout


def test_forced_impossible_backend_is_one_clear_error() -> None:
    outcome = runner.invoke(app, ["run", str(EXAMPLES / "max_product.yaml"), "--backend", "highs"])
    assert outcome.exit_code == 2
    assert "error:" in outcome.stderr and "scip" in outcome.stderr
    assert "Traceback" not in outcome.output


def test_invalid_formulation_lists_its_issues(tmp_path: Path) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text("variables: {x: {}}\nobjective: {minimize: x}\nconstraints: {c: 'x[i] <= 1'}\n")
    outcome = runner.invoke(app, ["run", str(bad)])
    assert outcome.exit_code == 2
    assert "constraint 'c'" in outcome.stderr and "x[i]" in outcome.stderr


def test_missing_file_is_a_clear_error() -> None:
    outcome = runner.invoke(app, ["run", "no/such/file.yaml"])
    assert outcome.exit_code == 2 and "not found" in outcome.stderr


def test_check_reports_class_and_size() -> None:
    outcome = runner.invoke(app, ["check", str(EXAMPLES / "jobshop.yaml"), "--json"])
    assert json.loads(outcome.stdout) == {
        "valid": True,
        "problem_class": "CP",
        "variables": 9,
        "integer_variables": 9,
        "constraints": 16,
    }


def test_schema_is_the_formulation_json_schema() -> None:
    schema = json.loads(runner.invoke(app, ["schema"]).stdout)
    assert set(schema["properties"]) >= {
        "sets",
        "parameters",
        "variables",
        "objective",
        "constraints",
    }


def test_run_log_option_shows_the_solver_log() -> None:
    outcome = runner.invoke(app, ["run", str(EXAMPLES / "wyndor.yaml"), "--log"])
    assert "HiGHS" in outcome.stdout


def test_check_prints_instance_labels_in_its_summary_verbatim(tmp_path: Path) -> None:
    """Rich read '[seattle]' in the convexity reason as markup and dropped it."""
    model = tmp_path / "square.yaml"
    model.write_text(
        "sets: {S: [seattle, denver]}\n"
        "parameters: {a: {index: [S], value: [1, 2]}}\n"
        "variables: {x: {index: [S], domain: real}, y: {domain: real}}\n"
        "objective: {minimize: \"sum((x[s] - a[s])**2 for s in S) + x['seattle'] * y\"}\n"
    )
    outcome = runner.invoke(app, ["check", str(model)])
    assert outcome.exit_code == 0, outcome.output
    assert "x[seattle]" in " ".join(outcome.output.split())
