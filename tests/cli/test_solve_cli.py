"""`optiagent solve` end to end through the real OpenAI client against a local stub server."""

from __future__ import annotations

import copy
import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml
from typer.testing import CliRunner

from optiagent.cli import app
from optiagent.testing import OpenAIStubServer, StubError, proposal_reply, repair_reply

EXAMPLES = Path(__file__).parents[2] / "examples"
runner = CliRunner()


def _example(name: str) -> dict[str, Any]:
    return yaml.safe_load((EXAMPLES / f"{name}.yaml").read_text())


@pytest.fixture
def endpoint(monkeypatch: pytest.MonkeyPatch) -> Any:
    def start(replies: list[Any]) -> OpenAIStubServer:
        server = OpenAIStubServer(replies).start()
        monkeypatch.setenv("OPENAI_BASE_URL", server.base_url)
        monkeypatch.setenv("OPENAI_API_KEY", "test-key")
        monkeypatch.setenv("OPTIAGENT_MODEL", "stub-model")
        return server

    servers: list[OpenAIStubServer] = []
    yield lambda replies: servers.append(start(replies)) or servers[-1]
    for server in servers:
        server.close()


def test_solve_json_through_a_429_and_a_repair(endpoint: Any, tmp_path: Path) -> None:
    broken = copy.deepcopy(_example("wyndor"))
    broken["constraints"]["plant3"]["expression"] = "3*x + 2*yy <= 18"
    server = endpoint(
        [
            StubError(429, "slow down", headers={"Retry-After": "0"}),
            proposal_reply(broken),
            repair_reply(_example("wyndor")),
        ]
    )
    saved, script = tmp_path / "model.yaml", tmp_path / "model.py"
    outcome = runner.invoke(
        app,
        [
            "solve",
            "Wyndor glass ... maximize profit",
            "--json",
            "--save",
            str(saved),
            "--export",
            str(script),
        ],
    )
    assert outcome.exit_code == 0, outcome.output
    payload = json.loads(outcome.stdout)
    assert payload["status"] == "solved" and payload["answer"] == 36 and payload["objective"] == 36
    assert [a["outcome"] for a in payload["attempts"]] == ["invalid", "ok"]
    assert payload["usage"]["calls"] == 2 and payload["usage"]["prompt_tokens"] > 0
    assert payload["formulation"]["name"] == "wyndor"
    assert len(server.requests) == 3  # the 429 was retried
    assert server.requests[1]["response_format"]["type"] == "json_schema"
    finished = subprocess.run(
        [sys.executable, str(script)], capture_output=True, text=True, timeout=120
    )
    assert finished.stdout.strip().splitlines()[-1] == "objective: 36"
    assert yaml.safe_load(saved.read_text())["name"] == "wyndor"


def test_solve_prints_progress_answer_and_formulation(endpoint: Any) -> None:
    endpoint([proposal_reply(_example("transport"), description="transport cost", units="k$")])
    outcome = runner.invoke(app, ["solve", "ship cases at least cost"])
    assert outcome.exit_code == 0, outcome.output
    assert "Answer: 153.675" in outcome.stdout and "ship[seattle,chicago]" in outcome.stdout
    assert "[formulate]" in outcome.stderr and "[solve]" in outcome.stderr


def test_solve_reads_stdin_and_data_files(endpoint: Any, tmp_path: Path) -> None:
    csv = tmp_path / "items.csv"
    csv.write_text("item,value,weight\na,60,10\nb,100,20\nc,120,30\n")
    formulation = {
        "sets": {"I": {"from_table": {"table": "items", "column": "item"}}},
        "parameters": {
            "v": {
                "index": ["I"],
                "from_table": {"table": "items", "column": "value", "index_columns": ["item"]},
            },
            "w": {
                "index": ["I"],
                "from_table": {"table": "items", "column": "weight", "index_columns": ["item"]},
            },
        },
        "variables": {"take": {"index": ["I"], "domain": "binary"}},
        "objective": {"maximize": "sum(v[i] * take[i] for i in I)"},
        "constraints": {"cap": "sum(w[i] * take[i] for i in I) <= 50"},
    }
    server = endpoint([proposal_reply(formulation)])
    outcome = runner.invoke(
        app, ["solve", "-", "--data", str(csv), "--json"], input="knapsack from items.csv"
    )
    assert json.loads(outcome.stdout)["answer"] == 220
    assert "Table 'items'" in server.requests[0]["messages"][1]["content"]


def test_missing_key_is_one_clear_error(monkeypatch: pytest.MonkeyPatch) -> None:
    outcome = runner.invoke(app, ["solve", "maximize something"])
    assert outcome.exit_code == 2
    assert "OPENAI_API_KEY" in outcome.stderr and "Traceback" not in outcome.output


def test_no_problem_given_is_a_clear_error(endpoint: Any) -> None:
    endpoint([])
    outcome = runner.invoke(app, ["solve"])
    assert outcome.exit_code == 2 and "no problem given" in outcome.stderr


def test_failed_run_exits_1(endpoint: Any) -> None:
    endpoint(["not json", "still not json", "never json"])
    outcome = runner.invoke(app, ["solve", "something", "--max-repairs", "0"])
    assert outcome.exit_code == 1 and "failed" in outcome.stdout
