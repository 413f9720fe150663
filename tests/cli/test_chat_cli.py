"""`optiagent chat` driven through CliRunner with piped input, against a local stub endpoint."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml
from typer.testing import CliRunner

from optiagent.cli import app
from optiagent.testing import OpenAIStubServer, StubError, proposal_reply

EXAMPLES = Path(__file__).parents[2] / "examples"
PROBLEM = "Wyndor makes doors and windows in three plants ... maximize weekly profit."
runner = CliRunner()


def wyndor(plant3_hours: int = 18) -> dict[str, Any]:
    formulation = yaml.safe_load((EXAMPLES / "wyndor.yaml").read_text())
    formulation["constraints"]["plant3"]["expression"] = f"3*x + 2*y <= {plant3_hours}"
    return formulation


@pytest.fixture
def endpoint(monkeypatch: pytest.MonkeyPatch) -> Iterator[Callable[[list[Any]], OpenAIStubServer]]:
    servers: list[OpenAIStubServer] = []

    def start(replies: list[Any]) -> OpenAIStubServer:
        server = OpenAIStubServer(replies).start()
        servers.append(server)
        monkeypatch.setenv("OPENAI_BASE_URL", server.base_url)
        monkeypatch.setenv("OPENAI_API_KEY", "test-key")
        monkeypatch.setenv("OPTIAGENT_MODEL", "stub-model")
        return server

    yield start
    for server in servers:
        server.close()


def chat(db: Path, lines: list[str], *args: str) -> Any:
    return runner.invoke(
        app, ["chat", "--db", str(db), *args], input="".join(f"{line}\n" for line in lines)
    )


def test_solve_edit_undo_show_history_save_and_export(
    endpoint: Callable[[list[Any]], OpenAIStubServer], tmp_path: Path
) -> None:
    server = endpoint(
        [proposal_reply(wyndor()), proposal_reply(wyndor(24), reasoning="plant 3 gets 24 hours")]
    )
    db, saved, script = tmp_path / "s.sqlite", tmp_path / "model.yaml", tmp_path / "model.py"
    lines = [
        PROBLEM,
        "what if plant 3 had 24 hours",
        "/history",
        "/undo",
        "/show",
        "/diff",
        "/explain",
        f"/save {saved}",
        f"/export {script}",
        "/quit",
        "this line is never read",
    ]
    outcome = chat(db, lines, "--session", "glass")
    assert outcome.exit_code == 0, outcome.output
    out, err = outcome.stdout, outcome.stderr
    assert "Answer: 36" in out
    assert "model: plant 3 gets 24 hours" in out
    assert "-  expression: 3*x + 2*y <= 18\n+  expression: 3*x + 2*y <= 24" in out
    assert "Answer: 42   (was 36)" in out
    assert "what if plant 3 had 24 hours" in out.split("> /history")[1]  # the history table
    assert "undid v2 (what if plant 3 had 24 hours)" in out and "now at v1: solved: 36" in out
    assert "3x + 2y ≤ 18" in out.split("> /show")[1]  # the formulation is v1 again
    assert "v1 is the first version" in out
    assert "v1: solved: 36" in out.split("> /explain")[1]
    assert f"formulation saved to {saved}" in out and f"script written to {script}" in out
    assert "[edit] asking the model" in err and "[solve]" in err and "saved as v2" in err
    assert len(server.requests) == 2
    assert yaml.safe_load(saved.read_text())["constraints"][2]["expression"] == "3*x + 2*y <= 18"
    finished = subprocess.run(
        [sys.executable, str(script)], capture_output=True, text=True, timeout=120
    )
    assert finished.stdout.strip().splitlines()[-1] == "objective: 36"


def test_a_session_resumes_in_a_new_run(
    endpoint: Callable[[list[Any]], OpenAIStubServer], tmp_path: Path
) -> None:
    db = tmp_path / "s.sqlite"
    endpoint([proposal_reply(wyndor())])
    first = chat(db, [PROBLEM], "-s", "glass")  # ends at the end of input, no /quit
    assert first.exit_code == 0 and "Answer: 36" in first.stdout
    assert "session 'glass' (new)" in first.stderr
    server = endpoint([proposal_reply(wyndor(24)), proposal_reply(wyndor(24), reasoning="same")])
    second = chat(db, ["plant 3 has 24 hours", "why is y 6?", "/history"], "-s", "glass")
    assert second.exit_code == 0, second.output
    assert "session 'glass' resumed" in second.stderr and "v1, solved: 36" in second.stderr
    assert "--- v1\n+++ v2" in second.stdout and "Answer: 42   (was 36)" in second.stdout
    assert "model: same\nno change to the formulation; nothing was re-solved" in second.stdout
    history = second.stdout.split("> /history")[1]
    assert "solved: 36" in history and "solved: 42" in history
    assert PROBLEM in server.requests[0]["messages"][1]["content"]  # the edit saw the problem
    listed = runner.invoke(app, ["chat", "--list", "--db", str(db)])
    assert listed.exit_code == 0 and "glass" in listed.stdout and "solved: 42" in listed.stdout


def test_errors_are_reported_and_the_repl_goes_on(
    endpoint: Callable[[list[Any]], OpenAIStubServer], tmp_path: Path
) -> None:
    endpoint([StubError(400, "the endpoint rejects this request"), proposal_reply(wyndor())])
    lines = [
        "/show",
        "/undo",
        "/frobnicate",
        PROBLEM,  # the endpoint answers 400
        PROBLEM,
        f"/export {tmp_path / 'missing' / 'model.py'}",
        "/help",
    ]
    outcome = chat(tmp_path / "s.sqlite", lines, "--session", "e")
    assert outcome.exit_code == 0, outcome.output
    err = outcome.stderr
    assert "no formulation yet: send the problem first" in err
    assert "nothing to undo" in err
    assert "unknown command /frobnicate; commands: /show" in err
    assert "the endpoint rejects this request" in err and "the session is unchanged" in err
    assert "cannot write" in err
    assert "Answer: 36" in outcome.stdout
    assert "/export [FILE]" in outcome.stdout.split("> /help")[1]
    assert "Traceback" not in outcome.output


def test_first_message_from_the_command_line_and_multi_line_messages(
    endpoint: Callable[[list[Any]], OpenAIStubServer], tmp_path: Path
) -> None:
    server = endpoint([proposal_reply(wyndor()), proposal_reply(wyndor(24))])
    db = tmp_path / "s.sqlite"
    first = chat(db, [], PROBLEM, "-s", "m")
    assert first.exit_code == 0 and "Answer: 36" in first.stdout
    second = chat(db, ['"""', "plant 3 now has", "24 hours", '"""', "/quit"], "-s", "m")
    assert second.exit_code == 0 and "Answer: 42" in second.stdout
    assert "plant 3 now has\n24 hours" in server.requests[1]["messages"][1]["content"]


def test_default_session_name_and_database(
    endpoint: Callable[[list[Any]], OpenAIStubServer],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    endpoint([])
    monkeypatch.setenv("HOME", str(tmp_path))
    outcome = runner.invoke(app, ["chat"], input="/quit\n")
    assert outcome.exit_code == 0, outcome.output
    assert "session 'chat-" in outcome.stderr and "(new)" in outcome.stderr
    assert (tmp_path / ".optiagent" / "sessions.sqlite").is_file()
    listed = runner.invoke(app, ["chat", "--list"])
    assert "no sessions in" in listed.stdout  # nothing was said, so nothing was saved


def test_bad_options_are_one_clear_error(
    endpoint: Callable[[list[Any]], OpenAIStubServer], tmp_path: Path
) -> None:
    endpoint([])
    missing = runner.invoke(app, ["chat", "--db", str(tmp_path / "s"), "-d", "nowhere.csv"])
    assert missing.exit_code == 2 and "data file not found" in missing.stderr
    not_a_db = tmp_path / "notes.txt"
    not_a_db.write_text("not a database\n" * 100)
    broken = runner.invoke(app, ["chat", "--db", str(not_a_db), "-s", "x"], input="")
    assert broken.exit_code == 2 and "cannot open the session database" in broken.stderr
