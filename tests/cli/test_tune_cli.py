"""`optiagent tune` end to end through the real OpenAI client against a local stub server."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from optiagent.agent.prompts import PromptSet, load_prompts
from optiagent.cli import app
from optiagent.testing import OpenAIStubServer, proposal_reply

runner = CliRunner()
RULE = "Use integers."


def _formulation(i: int, whole: bool) -> dict[str, Any]:
    return {
        "name": f"lots{i}",
        "parameters": [{"name": "hours", "value": 2 * i + 1}],
        "variables": [
            {
                "name": "x",
                "domain": "nonnegative_integer" if whole else "nonnegative_real",
                "description": "lots",
            }
        ],
        "objective": {"sense": "maximize", "expression": "3 * x"},
        "constraints": [{"name": "time", "expression": "2 * x <= hours"}],
    }


def _reply(body: dict[str, Any]) -> str:
    """The agent answers right only with RULE in its system message; the optimizer adds RULE."""
    messages = body["messages"]
    text = "\n".join(m["content"] for m in messages)
    if "modeling_rules (text, " in text:
        rules = PromptSet().modeling_rules + f"\n8. {RULE}"
        return json.dumps({"reasoning": "use integers", "suggestion": {"modeling_rules": rules}})
    number = int(re.search(r"Problem (\d+):", messages[-1]["content"]).group(1))  # type: ignore[union-attr]
    return proposal_reply(_formulation(number, RULE in messages[0]["content"]))


@pytest.fixture
def endpoint(monkeypatch: pytest.MonkeyPatch) -> Iterator[OpenAIStubServer]:
    server = OpenAIStubServer(_reply).start()
    monkeypatch.setenv("OPENAI_BASE_URL", server.base_url)
    monkeypatch.setenv("OPENAI_API_KEY", "test-key")
    monkeypatch.setenv("OPTIAGENT_MODEL", "stub-model")
    monkeypatch.setenv("OPTIAGENT_MAX_REPAIRS", "0")
    yield server
    server.close()


@pytest.fixture
def data_dir(tmp_path: Path) -> Path:
    """A data folder holding a made-up nl4opt file of 12 problems (answers 3 * i)."""
    folder = tmp_path / "data"
    target = folder / "nl4opt" / "LLMOPT" / "nl4opt_test.jsonl"
    target.parent.mkdir(parents=True)
    lines = [
        json.dumps(
            {
                "question": f"Problem {i}: each lot takes 2 hours, {2 * i + 1} hours are free, "
                "a lot earns 3. Choose the lots to maximize earnings.",
                "answer": str(3 * i),
            }
        )
        for i in range(1, 13)
    ]
    target.write_text("\n".join(lines) + "\n")
    return folder


def _tune(data_dir: Path, out: Path, *extra: str) -> Any:
    return runner.invoke(
        app,
        [
            "tune",
            "nl4opt",
            "--data-dir",
            str(data_dir),
            "--train",
            "5",
            "--test",
            "4",
            "--rounds",
            "2",
            "--concurrency",
            "2",
            "--out",
            str(out),
            *extra,
        ],
    )


def test_tune_prints_before_and_after_on_held_out_problems(
    endpoint: OpenAIStubServer, data_dir: Path, tmp_path: Path
) -> None:
    out = tmp_path / "tuned" / "prompts.json"
    outcome = _tune(data_dir, out)
    assert outcome.exit_code == 0, outcome.output
    text = outcome.stdout
    assert "held-out: 4 problems, rule rel1e-6" in text
    assert re.search(r"before \(baseline\) \w+\s+│\s+0\.0%\s+│\s+0/4", text), text
    assert re.search(r"after \(tuned\) \w+\s+│\s+100\.0%\s+│\s+4/4", text), text
    assert "change +100.0 points: 4 fixed, 0 broken" in text
    assert "training accuracy reached 100%" in text
    assert RULE in load_prompts(out).modeling_rules
    assert (tmp_path / "tuned" / "prompts.report.md").is_file()
    assert (tmp_path / "tuned" / "prompts.runs" / "heldout-tuned" / "results.jsonl").is_file()

    # the same --out again is refused instead of overwriting the tuned prompts
    again = _tune(data_dir, out)
    assert again.exit_code == 2 and "choose another --out" in again.output


def test_tuned_prompts_load_in_solve_and_eval(
    endpoint: OpenAIStubServer, data_dir: Path, tmp_path: Path
) -> None:
    out = tmp_path / "p.json"
    outcome = _tune(data_dir, out, "--json")
    assert outcome.exit_code == 0, outcome.output
    payload = json.loads(outcome.stdout)
    assert payload["held_out"]["before"]["accuracy"] == 0.0
    assert payload["held_out"]["after"]["accuracy"] == 1.0
    assert payload["prompts_file"] == str(out) and payload["improved"] is True
    assert not set(payload["split"]["train"]) & set(payload["split"]["test"])

    problem = "Problem 3: each lot takes 2 hours, 7 hours are free, a lot earns 3."
    plain = runner.invoke(app, ["solve", problem, "--json"])
    tuned = runner.invoke(app, ["solve", problem, "--json", "--prompts", str(out)])
    assert plain.exit_code == 0 and tuned.exit_code == 0, tuned.output
    assert json.loads(plain.stdout)["answer"] == 10.5 and json.loads(tuned.stdout)["answer"] == 9

    run = tmp_path / "run"
    evaluated = runner.invoke(
        app,
        ["eval", "nl4opt", "--data-dir", str(data_dir), "--prompts", str(out), "--out", str(run)],
    )
    assert evaluated.exit_code == 0, evaluated.output
    assert "accuracy 100.0% (12/12)" in evaluated.stdout
    config = json.loads((run / "config.json").read_text())
    assert config["system"]["prompts"] == load_prompts(out).digest() != PromptSet().digest()

    twice = runner.invoke(
        app,
        [
            "eval",
            "nl4opt",
            "--data-dir",
            str(data_dir),
            "--prompts",
            str(out),
            "-O",
            f"prompts={out}",
            "--out",
            str(tmp_path / "run2"),
        ],
    )
    assert twice.exit_code == 2 and "given twice" in twice.output


def test_prompts_right_on_every_training_problem_are_kept_without_a_suggestion(
    endpoint: OpenAIStubServer, data_dir: Path, tmp_path: Path
) -> None:
    start = tmp_path / "start.json"
    rules = PromptSet().modeling_rules + f"\n8. {RULE}"
    start.write_text(PromptSet(modeling_rules=rules).model_dump_json())
    outcome = _tune(data_dir, tmp_path / "tuned.json", "--prompts", str(start))
    assert outcome.exit_code == 0, outcome.output
    text = " ".join(outcome.stdout.split())
    assert "the tuned prompts are the baseline prompts: the optimizer made no suggestion" in text
    assert "training (5 problems): training accuracy reached 100%" in text
    optimizer_calls = [r for r in endpoint.requests if "modeling_rules (text, " in str(r)]
    assert not optimizer_calls
