"""The single-shot baseline under the evaluation runner: one request and one run per problem."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from optiagent.datasets import GroundTruth, Problem, Task
from optiagent.evals.baseline import BaselineSystem, baseline_prediction
from optiagent.evals.factory import SystemConfig, available_systems, build_system
from optiagent.evals.runner import run_evaluation_sync
from optiagent.evals.systems import System
from optiagent.evals.testing import in_memory_dataset
from optiagent.settings import Settings
from optiagent.solvers_backend.sandbox import ExecutionResult, ExitReason, Sandbox
from optiagent.solvers_backend.sandbox import parse_reported_result as parse
from optiagent.testing import FunctionModel, RecordedRequest

WYNDOR = """\
import pyomo.environ as pyo

m = pyo.ConcreteModel()
m.x = pyo.Var(within=pyo.NonNegativeReals)
m.y = pyo.Var(within=pyo.NonNegativeReals)
m.profit = pyo.Objective(expr=3 * m.x + 5 * m.y, sense=pyo.maximize)
m.plant1 = pyo.Constraint(expr=m.x <= 4)
m.plant2 = pyo.Constraint(expr=2 * m.y <= 12)
m.plant3 = pyo.Constraint(expr=3 * m.x + 2 * m.y <= 18)
results = pyo.SolverFactory("highs").solve(m, load_solutions=False)
if pyo.check_optimal_termination(results):
    m.solutions.load_from(results)
    print("status: optimal")
    print(f"report[1] = {pyo.value(m.x)}")
    print(f"objective: {pyo.value(m.profit)}")
else:
    print(f"status: {results.solver.termination_condition}")
"""

PROGRAMS = {
    "Wyndor": WYNDOR,
    "Crash": "data = {'a': 1}\nprint('status: optimal')\nprint(data['b'])\n",
    "Nothing": "x = 0\nwhile x < 1:\n    pass\n",
    "Empty": "print('status: infeasible')\n",
    "Words": None,  # a reply without a program
}


def _problem(id_: str, question: str, truth: float | str, **extra: Any) -> Problem:
    kind = truth if isinstance(truth, str) else "value"
    value = None if isinstance(truth, str) else truth
    return Problem(
        dataset="mini",
        version="memory",
        id=id_,
        question=question,
        ground_truth=GroundTruth(kind=kind, value=value, raw=str(truth), **extra),  # type: ignore[arg-type]
        category="LP",
        has_table=False,
        source_file="memory",
        source_line=None,
    )


def _model() -> FunctionModel:
    def reply(request: RecordedRequest) -> str:
        text = request.last_user_message
        for key, code in PROGRAMS.items():
            if key in text:
                return f"```python\n{code}```" if code else "I would use an LP solver."
        raise AssertionError(f"unexpected problem: {text}")

    return FunctionModel(reply, name="scripted-baseline")


@pytest.fixture(scope="module")
def sandbox() -> Iterator[Sandbox]:
    """One sandbox for the module (warm workers)."""
    with Sandbox(prestart=False) as shared:
        yield shared


def test_runner_scores_the_baseline_one_request_per_problem(
    sandbox: Sandbox, tmp_path: Path
) -> None:
    problems = [
        _problem("w", "Wyndor glass: maximize profit.", 36.0),
        _problem("wrong", "Wyndor glass, but the truth here is 35.", 35.0),
        _problem("crash", "Crash: a program that raises.", 1.0),
        _problem("inf", "Empty: nothing satisfies both limits.", "infeasible"),
        _problem("words", "Words only.", 2.0),
        _problem(
            "ob",
            "Wyndor glass: report the doors too.",
            36.0,
            requested={"Doors": 2.0, "Profit": 36.0},
            objective_key="Profit",
        ),
    ]
    model = _model()
    system = BaselineSystem(model, sandbox=sandbox)
    run = run_evaluation_sync(in_memory_dataset(problems), system, tmp_path / "run", concurrency=3)
    results = {
        r["id"]: r
        for r in map(json.loads, (tmp_path / "run" / "results.jsonl").read_text().splitlines())
    }
    assert results["w"]["correct"] and not results["wrong"]["correct"]
    assert results["inf"]["correct"] and results["ob"]["correct"]
    assert not results["crash"]["correct"] and not results["crash"]["executed"]
    assert results["w"]["executed"] and results["inf"]["executed"]
    assert not results["words"]["executed"]
    assert results["ob"]["values"] == {"Doors": 2.0}
    overall = run.report.to_dict()["overall"]
    assert overall["accuracy"] == pytest.approx(3 / 6)
    # single shot: one model request per problem, never a repair
    assert len(model.requests) == len(problems)
    assert all(len(r.messages) == 2 for r in model.requests)
    saved = json.loads((tmp_path / "run" / "traces" / "crash.json").read_text())
    trace = saved["output"]["trace"]
    assert trace["code"] == PROGRAMS["Crash"] and "Crash" in trace["messages"][1]["content"]
    assert trace["reply"].startswith("```python") and trace["system"] == "baseline"
    assert trace["execution"]["exit_reason"] == "error"
    assert trace["execution"]["error"]["type"] == "KeyError"
    assert "KeyError at line 3" in saved["output"]["final_feedback"]
    # the report's request reached the program's prompt
    ob_request = next(r for r in model.requests if "report the doors" in r.text)
    assert "1. Doors" in ob_request.text and "2. Profit" in ob_request.text
    assert not sandbox._closed  # a given sandbox stays open


def test_a_slow_program_is_stopped_and_not_executed(sandbox: Sandbox) -> None:
    import asyncio

    from optiagent.solvers_backend.sandbox import Limits

    system = BaselineSystem(_model(), sandbox=sandbox, limits=Limits(wall_seconds=1.0))
    output = asyncio.run(system.solve(Task("mini", "memory", "n", "Nothing: loops.")))
    assert output.prediction is None and output.status == "timeout" and not output.executed
    assert "ran longer than 1 s" in (output.final_feedback or "")
    assert output.usage.calls == 1 and output.repairs == 0


def test_prediction_rules() -> None:
    def run(stdout: str, reason: ExitReason = ExitReason.OK) -> ExecutionResult:
        return ExecutionResult(reason, stdout=stdout, reported=parse(stdout))

    assert baseline_prediction(run("status: optimal\nobjective: 3")) == 3
    assert baseline_prediction(run("status: optimal\nanswer: 4\nobjective: 3")) == 4
    assert baseline_prediction(run("status: unbounded")) == "unbounded"
    assert baseline_prediction(run("status: time_limit\nobjective: 7")) == 7
    assert baseline_prediction(run("status: optimal")) is None
    assert baseline_prediction(run("objective: 3")) is None
    assert baseline_prediction(run("status: optimal\nobjective: nan")) is None
    assert baseline_prediction(run("status: optimal\nobjective: 3", ExitReason.ERROR)) is None


def test_baseline_is_registered_and_described(monkeypatch: pytest.MonkeyPatch) -> None:
    entry = next(e for e in available_systems() if e.name == "baseline")
    assert "single-shot" in entry.description
    monkeypatch.setenv("OPENAI_API_KEY", "test-key")
    monkeypatch.setenv("OPENAI_BASE_URL", "http://127.0.0.1:9/v1")
    config = SystemConfig(Settings(model="some-model"), {"time_limit": "5"})
    system = build_system("baseline", config)
    assert isinstance(system, BaselineSystem) and isinstance(system, System)
    described = system.describe()
    assert described["system"] == "baseline" and described["model"] == "some-model"
    assert described["endpoint"] == "http://127.0.0.1:9/v1"
    assert len(described["prompts_sha256"]) == 12 and described["wall_seconds"] == 15.0
    system.close()  # nothing started: closing is a no-op
