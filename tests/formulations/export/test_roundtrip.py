"""Export round trips: every exported script, run on its own, prints the known optimum.

All scripts of this module start together (a thread pool of subprocesses) when the first
test asks for one, so the module costs about as long as its slowest few scripts.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from optiagent.exceptions import IncompatibleBackendError
from optiagent.formulations.export import to_ortools_script, to_pyomo_script
from optiagent.formulations.io import load_formulation
from optiagent.formulations.schema import Formulation

EXAMPLES = Path(__file__).resolve().parents[3] / "examples"
MODELS = Path(__file__).resolve().parent / "models"

EXPORTERS: dict[str, Callable[..., str]] = {
    "pyomo": to_pyomo_script,
    "ortools": to_ortools_script,
}


@dataclass(frozen=True)
class Case:
    """A formulation, a target (and solver), and what the script must report."""

    source: str  # "example" or "model"
    name: str
    target: str
    status: str
    objective: float | None
    solver: str | None = None
    tolerance: float = 1e-6

    @property
    def id(self) -> str:
        return f"{self.target}-{self.name}" + (f"-{self.solver}" if self.solver else "")

    def formulation(self) -> Formulation:
        folder = EXAMPLES if self.source == "example" else MODELS
        return load_formulation(folder / f"{self.name}.yaml")

    def script(self) -> str:
        return EXPORTERS[self.target](self.formulation(), self.solver)


def _examples(target: str, *rows: tuple[str, str, float | None, float]) -> list[Case]:
    return [
        Case("example", name, target, status, value, None, tol) for name, status, value, tol in rows
    ]


CASES = [
    *_examples(
        "pyomo",
        ("wyndor", "optimal", 36.0, 1e-6),
        ("transport", "optimal", 153.675, 1e-6),
        ("knapsack", "optimal", 220.0, 1e-6),
        ("max_product", "optimal", 25.0, 1e-4),
        ("projection_qp", "optimal", 0.5, 1e-4),
        ("integer_nlp", "optimal", 0.3075, 1e-4),
        ("infeasible", "infeasible", None, 0),
    ),
    *_examples(
        "ortools",
        ("wyndor", "optimal", 36.0, 1e-6),
        ("transport", "optimal", 153.675, 1e-6),
        ("knapsack", "optimal", 220.0, 1e-6),
        ("jobshop", "optimal", 11.0, 1e-6),
        ("infeasible", "infeasible", None, 0),
    ),
    Case("model", "flow", "pyomo", "optimal", 53.0),
    Case("model", "flow", "ortools", "optimal", 53.0),
    Case("model", "nonlinear_mix", "pyomo", "optimal", 4.07, tolerance=1e-4),
    Case("model", "empty_sums", "pyomo", "infeasible", None),
    Case("model", "empty_sums", "pyomo", "infeasible", None, solver="scip_direct"),
    Case("model", "empty_sums", "ortools", "infeasible", None),
    Case("model", "unbounded", "pyomo", "unbounded", None),
    Case("model", "unbounded", "ortools", "unbounded", None),
    Case("model", "unbounded", "ortools", "infeasible_or_unbounded", None, solver="glop"),
    Case("model", "intervals", "pyomo", "optimal", 0.0),
    Case("model", "intervals", "ortools", "optimal", 0.0),
    Case("model", "intervals", "ortools", "optimal", 0.0, solver="cbc"),
    Case("model", "chain_int", "pyomo", "optimal", 16.0),
    Case("model", "chain_int", "ortools", "optimal", 16.0),
    Case("model", "chain_int", "ortools", "optimal", 16.0, solver="scip"),
    Case("model", "int_frac", "pyomo", "optimal", 10.0),
    Case("model", "int_frac", "ortools", "optimal", 10.0),
    Case("model", "all_different", "ortools", "optimal", 14.0),
    Case("model", "collisions", "pyomo", "optimal", 44.0),
    Case("model", "collisions", "ortools", "optimal", 44.0),
    Case("model", "collisions", "ortools", "optimal", 44.0, solver="scip"),
]


@pytest.fixture(scope="module")
def started(script_runner: Any) -> Any:
    """Start every case's script at once (inside an xdist worker, each test starts its own)."""
    if "PYTEST_XDIST_WORKER" not in os.environ:
        for case in CASES:
            script_runner.submit(case.id, case.script())
    return script_runner


@pytest.mark.parametrize("case", CASES, ids=lambda case: case.id)
def test_exported_script_reports_the_known_result(case: Case, started: Any) -> None:
    run = started.run(case.id, case.script())
    assert run.returncode == 0, run.describe()
    assert run.status == case.status, run.describe()
    assert run.last_line.startswith("objective: "), run.describe()
    if case.objective is None:
        assert run.objective is None
    else:
        assert run.objective == pytest.approx(case.objective, abs=case.tolerance), run.describe()


def test_variable_lines_follow_the_protocol(started: Any) -> None:
    case = next(c for c in CASES if c.id == "pyomo-transport")
    run = started.run(case.id, case.script())
    assert run.lines[0] == "status: optimal"
    assert run.values == pytest.approx(
        {
            "ship[seattle,chicago]": 300.0,
            "ship[san-diego,new-york]": 325.0,
            "ship[san-diego,topeka]": 275.0,
        }
    )


def test_interval_starts_are_reported_under_the_interval_name(started: Any) -> None:
    case = next(c for c in CASES if c.id == "ortools-jobshop")
    run = started.run(case.id, case.script())
    assert run.values["makespan"] == 11
    starts = {label: value for label, value in run.values.items() if label.startswith("task[")}
    assert starts  # task[0,0] starts at 0 and is therefore not printed
    assert all(label.count(",") == 1 for label in starts)


@pytest.mark.parametrize(
    ("target", "name", "hint"),
    [
        ("pyomo", "jobshop", "--to ortools"),
        ("ortools", "max_product", "--to pyomo"),
        ("ortools", "projection_qp", "--to pyomo"),
        ("ortools", "integer_nlp", "--to pyomo"),
    ],
)
def test_targets_refuse_what_they_cannot_express(target: str, name: str, hint: str) -> None:
    with pytest.raises(IncompatibleBackendError, match=hint):
        EXPORTERS[target](load_formulation(EXAMPLES / f"{name}.yaml"))
