"""The agent under the evaluation runner: predictions, reported values, traces, attachments."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import yaml

from optiagent.agent.api import Agent
from optiagent.datasets import GroundTruth, Problem
from optiagent.evals.agent_system import AgentSystem, task_inputs
from optiagent.evals.factory import available_systems
from optiagent.evals.runner import run_evaluation_sync
from optiagent.evals.testing import in_memory_dataset
from optiagent.testing import FunctionModel, RecordedRequest, proposal_reply

EXAMPLES = Path(__file__).parents[2] / "examples"


def _example(name: str) -> dict[str, Any]:
    return yaml.safe_load((EXAMPLES / f"{name}.yaml").read_text())


def _problem(id_: str, question: str, truth: float, **extra: Any) -> Problem:
    return Problem(
        dataset="mini",
        version="memory",
        id=id_,
        question=question,
        ground_truth=GroundTruth(kind="value", value=truth, raw=str(truth), **extra),
        category="LP",
        has_table=False,
        source_file="memory",
        source_line=None,
    )


def _model() -> FunctionModel:
    def reply(request: RecordedRequest) -> str:
        text = request.last_user_message
        if "Wyndor" in text:
            return proposal_reply(_example("wyndor"))
        spec = {"expression": None}
        if "Report these quantities" in text:
            spec = {"expression": None}
            return json.dumps(
                {
                    "reasoning": "",
                    "formulation": _example("knapsack"),
                    "answer": {
                        **spec,
                        "report": {
                            "Items taken": "sum(take[i] for i in Items)",
                            "Best value": "sum(value[i] * take[i] for i in Items)",
                        },
                    },
                }
            )
        return proposal_reply(_example("knapsack"))

    return FunctionModel(reply)


def test_agent_is_registered_as_the_default_system() -> None:
    assert available_systems()[0].name == "agent"


def test_runner_scores_the_agent_and_keeps_its_traces(tmp_path: Path) -> None:
    problems = [
        _problem("w", "Wyndor glass: maximize profit.", 36.0),
        _problem("k", "Pack the knapsack.", 220.0),
        _problem("wrong", "Wyndor glass, but the truth here is 35.", 35.0),
        _problem(
            "ob",
            "Pack the knapsack and report what you took.",
            220.0,
            requested={"Items taken": 2.0, "Best value": 220.0},
            objective_key="Best value",
        ),
    ]
    model = _model()
    system = AgentSystem(Agent(model=model))
    run = run_evaluation_sync(in_memory_dataset(problems), system, tmp_path / "run", concurrency=2)
    results = {
        r["id"]: r
        for r in map(json.loads, (tmp_path / "run" / "results.jsonl").read_text().splitlines())
    }
    assert results["w"]["correct"] and results["k"]["correct"] and not results["wrong"]["correct"]
    assert run.report.to_dict()["overall"]["accuracy"] == 0.75
    trace = json.loads((tmp_path / "run" / "traces" / "w.json").read_text())
    assert "formulation" in json.dumps(trace) and "#Code" not in json.dumps(trace)
    # the OptiBench-style report reached the model and came back as values
    assert results["ob"]["values"] == {"Items taken": 2.0, "Best value": 220.0}
    # no request ever carried a ground truth
    assert all("35" not in r.text or "truth here is 35" in r.text for r in model.requests)


def test_attachments_become_text_or_tables() -> None:
    from optiagent.datasets import Task

    task = Task(
        "d",
        "v",
        "1",
        "Solve it.",
        attachments={"parameters.json": '{"a": 1}', "costs.csv": "i,c\na,1\nb,2\n"},
    )
    text, tables = task_inputs(task)
    assert "Attached file parameters.json" in text and '"a": 1' in text
    assert tables[0].name == "costs" and tables[0].rows == (("a", 1), ("b", 2))
