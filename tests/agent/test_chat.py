"""Chat sessions with scripted models: solve, edit, diff, undo, history, resume, save, export."""

from __future__ import annotations

import copy
import json
import sqlite3
from pathlib import Path
from typing import Any

import pytest
import yaml

from optiagent.agent.api import Agent
from optiagent.agent.chat import (
    ChatSession,
    ChatVersion,
    list_sessions,
    proposal_diff,
)
from optiagent.agent.prompts import PromptSet
from optiagent.agent.proposal import Proposal
from optiagent.exceptions import ConfigurationError, LLMError, LLMOutputError
from optiagent.formulations.io import dump_formulation, load_formulation
from optiagent.testing import FunctionModel, RecordedRequest, ScriptedModel
from optiagent.testing import keep_reply as keep
from optiagent.testing import proposal_reply as proposal
from optiagent.testing import repair_reply as repair

EXAMPLES = Path(__file__).parents[2] / "examples"
WYNDOR_TEXT = "Wyndor makes doors and windows in three plants ... maximize weekly profit."
STAFFING_TEXT = "84 hours of work, 8-hour shifts, a worker costs 100; minimize the cost."
STAFFING: dict[str, Any] = {
    "name": "staffing",
    "parameters": {"hours": 84, "shift": 8, "wage": 100},
    "variables": {"workers": {"domain": "nonnegative_real"}},
    "objective": {"minimize": "wage * workers"},
    "constraints": {"cover": "shift * workers >= hours"},
}


def staffing_replies(formulation: dict[str, Any] = STAFFING) -> list[str]:
    """A staffing proposal, and the model's confirmation when verify doubts its real workers."""
    reply = proposal(formulation)
    return [reply, keep(reply)]


def example(name: str) -> dict[str, Any]:
    return yaml.safe_load((EXAMPLES / f"{name}.yaml").read_text())


def with_plant3(hours: int) -> dict[str, Any]:
    edited = example("wyndor")
    edited["constraints"]["plant3"]["expression"] = f"3*x + 2*y <= {hours}"
    return edited


@pytest.fixture
def db(tmp_path: Path) -> Path:
    return tmp_path / "sessions.sqlite"


def open_session(replies: list[Any], db: Path, name: str = "plant") -> ChatSession:
    return ChatSession.open(Agent(model=ScriptedModel(replies)), name, db)


def test_first_message_solves_the_problem_and_saves_version_1(db: Path) -> None:
    with open_session([proposal(example("wyndor"), units="k$")], db) as session:
        assert session.current is None and session.problem == "" and not session.resumed
        turn = session.send(WYNDOR_TEXT)
        assert turn.kind == "problem" and turn.recorded and turn.changed
        assert turn.result is not None and turn.result.answer is not None
        assert turn.result.answer.value == 36 and turn.usage.calls == 1
        version = session.current
        assert version is not None and version is turn.version and version.number == 1
        assert version.summary.status == "solved" and version.summary.answer == 36
        assert version.summary.variables == {"x": 2, "y": 6}
        assert session.problem == WYNDOR_TEXT and session.diff == ""
        assert session.last_result is turn.result


def test_edit_changes_one_constraint_shows_the_diff_and_the_new_answer(db: Path) -> None:
    model = ScriptedModel(
        [proposal(example("wyndor")), proposal(with_plant3(24), reasoning="plant 3: 24 hours")]
    )
    with ChatSession.open(Agent(model=model), "plant", db) as session:
        session.send(WYNDOR_TEXT)
        turn = session.send("what if plant 3 had 24 hours")
    assert turn.kind == "edit" and turn.recorded and turn.changed
    assert turn.note == "plant 3: 24 hours"
    assert turn.previous is not None and turn.previous.summary.answer == 36
    assert turn.version is not None and turn.version.number == 2
    assert turn.version.summary.answer == 42  # x = 4, y = 6: 3*4 + 5*6
    assert turn.version.summary.variables == {"x": 4, "y": 6}
    changed = [line for line in turn.diff.splitlines() if line[:1] in "+-"]
    assert changed == [
        "--- v1",
        "+++ v2",
        "-  expression: 3*x + 2*y <= 18",
        "+  expression: 3*x + 2*y <= 24",
    ]
    assert turn.usage.calls == 1  # the edit; the re-solve needed no model call
    # the edit request: the edit system prompt, the problem, the current proposal, the result
    request = model.requests[1]
    assert request.messages[0]["content"] == PromptSet().edit_message()
    user = request.last_user_message
    assert WYNDOR_TEXT in user and "what if plant 3 had 24 hours" in user
    assert "3*x + 2*y <= 18" in user and "Its result: solved: 36" in user
    assert "shadow price" in user  # the explanation tells the model what binds
    assert request.response_schema is not None and request.response_schema.name == "proposal"


def test_whole_numbers_changes_a_domain_and_the_answer(db: Path) -> None:
    whole = copy.deepcopy(STAFFING)
    whole["variables"]["workers"]["domain"] = "nonnegative_integer"
    with open_session([*staffing_replies(), proposal(whole)], db) as session:
        first = session.send(STAFFING_TEXT).version
        turn = session.send("workers must be whole numbers")
    assert first is not None and first.summary.answer == pytest.approx(1050)
    assert "fractional" in first.summary.warnings[0]  # verify noticed 10.5 workers
    assert turn.version is not None and turn.version.summary.answer == pytest.approx(1100)
    assert turn.version.summary.warnings == []
    changed = [line for line in turn.diff.splitlines()[2:] if line[:1] in "+-"]
    assert changed == ["+  domain: nonnegative_integer"]  # the default domain is not written
    assert turn.version.summary.problem_class == "MILP"


def test_undo_restores_the_previous_version_and_history_lists_versions(db: Path) -> None:
    replies = [proposal(example("wyndor")), proposal(with_plant3(24)), proposal(with_plant3(30))]
    with open_session(replies, db) as session:
        session.send(WYNDOR_TEXT)
        session.send("plant 3 has 24 hours")
        session.send("plant 3 has 30 hours")
        history = session.history()
        assert [v.number for v in history] == [1, 2, 3]
        assert [v.message for v in history] == [
            WYNDOR_TEXT,
            "plant 3 has 24 hours",
            "plant 3 has 30 hours",
        ]
        assert [v.summary.answer for v in history] == [36, 42, 42]
        removed = session.undo()
        assert removed.number == 3 and session.current is history[1]
        assert session.diff == history[1].diff
        session.undo()
        assert session.current is not None and session.current.summary.answer == 36
        assert "3*x + 2*y <= 18" in dump_formulation(session.current.proposal.formulation)
        assert session.last_result is None
    with ChatSession.open(Agent(model=ScriptedModel([])), "plant", db) as reopened:
        assert [v.number for v in reopened.history()] == [1]  # undo was saved


def test_undoing_the_first_version_starts_over(db: Path) -> None:
    replies = [proposal(example("wyndor")), *staffing_replies()]
    with open_session(replies, db) as session:
        session.send(WYNDOR_TEXT)
        session.undo()
        assert session.current is None and session.problem == ""
        with pytest.raises(ConfigurationError, match="nothing to undo"):
            session.undo()
        turn = session.send(STAFFING_TEXT)  # a problem again, not an edit
    assert turn.kind == "problem" and turn.version is not None
    assert turn.version.summary.answer == pytest.approx(1050)


def test_an_edit_that_changes_nothing_makes_no_version_and_solves_nothing(db: Path) -> None:
    wyndor = example("wyndor")
    replies = [proposal(wyndor), proposal(wyndor, reasoning="x is 2 because plant 3 binds")]
    with open_session(replies, db) as session:
        first = session.send(WYNDOR_TEXT)
        turn = session.send("why is x only 2?")
        assert not turn.changed and not turn.recorded and turn.result is None
        assert turn.version is first.version and turn.note == "x is 2 because plant 3 binds"
        assert turn.usage.calls == 1
        assert len(session.history()) == 1


def test_a_broken_edit_is_repaired_and_the_diff_shows_the_final_model(db: Path) -> None:
    broken = with_plant3(24)
    broken["constraints"]["plant3"]["expression"] = "3*x + 2*yy <= 24"
    model = ScriptedModel([proposal(example("wyndor")), proposal(broken), repair(with_plant3(24))])
    with ChatSession.open(Agent(model=model), "plant", db) as session:
        session.send(WYNDOR_TEXT)
        turn = session.send("plant 3 has 24 hours")
    assert turn.version is not None and turn.version.summary.answer == 42
    assert turn.version.summary.repairs == 1 and turn.usage.calls == 2
    assert "yy" not in turn.diff and "+  expression: 3*x + 2*y <= 24" in turn.diff
    assert "unknown name 'yy'" in model.requests[2].text


def test_an_infeasible_edit_is_kept_explained_and_can_be_undone(db: Path) -> None:
    conflicting = example("wyndor")
    conflicting["constraints"]["big_doors"] = "x >= 5"
    edited = proposal(conflicting)
    with open_session([proposal(example("wyndor")), edited, keep(edited)], db) as session:
        session.send(WYNDOR_TEXT)
        turn = session.send("at least 5 doors")
        assert turn.version is not None and turn.version.summary.status == "infeasible"
        assert "+- name: big_doors" in turn.diff
        explained = session.explain()
        assert explained.startswith("v2: infeasible") and "big_doors" in explained
        session.undo()
        assert session.explain().startswith("v1: solved: 36")


def test_asking_for_another_quantity_shows_in_the_diff(db: Path) -> None:
    wyndor = example("wyndor")
    replies = [proposal(wyndor), proposal(wyndor, "x", units="batches", description="doors")]
    with open_session(replies, db) as session:
        session.send(WYNDOR_TEXT)
        turn = session.send("how many doors should be made?")
    assert turn.changed and turn.version is not None and turn.version.summary.answer == 2
    assert "-# answer: the objective" in turn.diff and "+# answer: x" in turn.diff
    assert "+# answer units: batches" in turn.diff


def test_a_session_resumes_after_a_restart(db: Path) -> None:
    replies = [proposal(example("wyndor")), proposal(with_plant3(24))]
    with open_session(replies, db) as session:
        session.send(WYNDOR_TEXT)
        session.send("what if plant 3 had 24 hours")
        before = session.history()
    # a new process: a new agent and model, the same file and name
    model = ScriptedModel([proposal(with_plant3(30))])
    with ChatSession.open(Agent(model=model), "plant", db) as resumed:
        assert resumed.resumed and resumed.problem == WYNDOR_TEXT
        assert resumed.history() == before
        current = resumed.current
        assert current is not None and current.number == 2 and current.summary.answer == 42
        assert "3*x + 2*y <= 24" in dump_formulation(current.proposal.formulation)
        assert resumed.explain().startswith("v2: solved: 42")
        turn = resumed.send("and with 30 hours?")
    assert turn.version is not None and turn.version.number == 3
    assert "-  expression: 3*x + 2*y <= 24" in turn.diff  # continued from v2
    assert "3*x + 2*y <= 24" in model.requests[0].last_user_message


def test_two_sessions_in_one_file_stay_apart(db: Path) -> None:
    with open_session([proposal(example("wyndor"))], db, "glass") as glass:
        glass.send(WYNDOR_TEXT)
    replies = staffing_replies() + staffing_replies(STAFFING | {"name": "s2"})
    with open_session(replies, db, "staff") as s:
        s.send(STAFFING_TEXT)
        s.send("rename it")
    with open_session([], db, "glass") as glass, open_session([], db, "staff") as staff:
        assert [v.summary.answer for v in glass.history()] == [36]
        assert [v.summary.answer for v in staff.history()] == [pytest.approx(1050)] * 2
        assert glass.problem == WYNDOR_TEXT and staff.problem == STAFFING_TEXT
    infos = {info.name: info for info in list_sessions(db)}
    assert set(infos) == {"glass", "staff"}
    assert infos["glass"].versions == 1 and infos["glass"].headline == "solved: 36"
    assert infos["staff"].versions == 2 and infos["staff"].problem == STAFFING_TEXT
    assert list_sessions(db.parent / "absent.sqlite") == []


def test_a_failed_edit_call_leaves_the_session_as_it_was(db: Path) -> None:
    replies: list[Any] = [
        proposal(example("wyndor")),
        LLMError("endpoint down", retryable=False),
        "no json",
        "still none",
        "never",
    ]
    with open_session(replies, db) as session:
        session.send(WYNDOR_TEXT)
        with pytest.raises(LLMError):
            session.send("plant 3 has 24 hours")
        with pytest.raises(LLMOutputError):
            session.send("plant 3 has 24 hours")
        assert len(session.history()) == 1
    with open_session([], db) as reopened:
        assert len(reopened.history()) == 1


def test_no_formulation_from_the_first_message_records_nothing(db: Path) -> None:
    with open_session(["nope", "still nope", "no", proposal(example("wyndor"))], db) as session:
        turn = session.send(WYNDOR_TEXT)
        assert turn.result is not None and turn.result.status == "failed"
        assert turn.version is None and not turn.recorded and session.current is None
        assert session.send(WYNDOR_TEXT).kind == "problem"  # the problem again
        assert session.current is not None and session.current.summary.answer == 36


def test_save_writes_the_current_formulation_and_export_a_script(db: Path, tmp_path: Path) -> None:
    with open_session([proposal(example("wyndor")), proposal(with_plant3(24))], db) as session:
        with pytest.raises(ConfigurationError, match="send the problem first"):
            session.save(tmp_path / "none.yaml")
        session.send(WYNDOR_TEXT)
        session.send("plant 3 has 24 hours")
        saved = session.save(tmp_path / "model.yaml")
        script = session.export(tmp_path / "model.py")
        assert "3x + 2y ≤ 24" in session.show() and "**Answer:** the objective" in session.show()
        with pytest.raises(ConfigurationError, match="cannot write"):
            session.save(tmp_path / "missing" / "dir" / "x.yaml")
    formulation = load_formulation(saved)
    assert formulation.constraints[2].expression == "3*x + 2*y <= 24"
    assert "pyomo" in script.read_text() and "<= 24" in script.read_text()


def test_data_files_travel_with_the_session(db: Path, tmp_path: Path) -> None:
    csv = tmp_path / "items.csv"
    csv.write_text("item,value,weight\na,60,10\nb,100,20\nc,120,30\n")
    table = {"table": "items", "index_columns": ["item"]}
    knapsack = {
        "sets": {"I": {"from_table": {"table": "items", "column": "item"}}},
        "parameters": {
            "v": {"index": ["I"], "from_table": {**table, "column": "value"}},
            "w": {"index": ["I"], "from_table": {**table, "column": "weight"}},
            "cap": 50,
        },
        "variables": {"take": {"index": ["I"], "domain": "binary"}},
        "objective": {"maximize": "sum(v[i] * take[i] for i in I)"},
        "constraints": {"capacity": "sum(w[i] * take[i] for i in I) <= cap"},
    }
    bigger = copy.deepcopy(knapsack)
    bigger["parameters"]["cap"] = 60
    model = ScriptedModel([proposal(knapsack), proposal(bigger)])
    with ChatSession.open(Agent(model=model), "bag", db, data=[csv]) as session:
        assert session.send("pack items.csv").version.summary.answer == 220  # type: ignore[union-attr]
        assert session.send("capacity 60").version.summary.answer == 280  # type: ignore[union-attr]
        saved = yaml.safe_load(session.save(tmp_path / "bag.yaml").read_text())
    assert "Table 'items'" in model.requests[1].last_user_message
    assert "from_table" not in json.dumps(saved)  # the saved file stands alone
    with ChatSession.open(Agent(model=ScriptedModel([])), "bag", db) as resumed:
        assert resumed.data == [csv.resolve()]
    other = tmp_path / "other.csv"
    other.write_text("item,value,weight\na,1,1\n")
    with pytest.raises(ConfigurationError, match="was started with"):
        ChatSession.open(Agent(model=ScriptedModel([])), "bag", db, data=[other])
    with pytest.raises(ConfigurationError, match="data file not found"):
        ChatSession.open(Agent(model=ScriptedModel([])), "new", db, data=[tmp_path / "no.csv"])


def test_bad_names_messages_and_files_are_clear_errors(db: Path, tmp_path: Path) -> None:
    with pytest.raises(ConfigurationError, match="route='ir'"):
        ChatSession.open(Agent(model=ScriptedModel([]), route="code"), "c", db)
    with pytest.raises(ConfigurationError, match="session name is empty"):
        open_session([], db, "  ")
    with open_session([], db) as session, pytest.raises(ConfigurationError, match="empty"):
        session.send("   ")
    not_a_db = tmp_path / "notes.txt"
    not_a_db.write_text("these are notes, not a database\n" * 100)
    with pytest.raises(ConfigurationError, match="cannot open the session database"):
        open_session([], not_a_db)


def test_versions_survive_a_json_round_trip() -> None:
    reply = json.loads(proposal(example("transport"), "sum(ship[p, m] for p in P for m in M)"))
    version = ChatVersion.model_validate(
        {
            "number": 3,
            "message": "m",
            "proposal": reply,
            "summary": {"status": "solved", "answer": 1.5, "variables": {"ship[a,b]": 2.0}},
            "diff": "--- v2\n+++ v3\n",
        }
    )
    record = json.loads(json.dumps(version.to_record()))
    assert ChatVersion.from_record(record) == version


def test_proposal_diff_is_empty_for_the_same_model() -> None:
    same = Proposal.model_validate_json(proposal(example("wyndor"), reasoning="a"))
    other = Proposal.model_validate_json(proposal(example("wyndor"), reasoning="b"))
    assert proposal_diff(same, other, "v1", "v2") == ""


def test_the_database_is_a_langgraph_checkpoint_store(db: Path) -> None:
    with open_session([proposal(example("wyndor"))], db) as session:
        session.send(WYNDOR_TEXT)
    with sqlite3.connect(db) as connection:
        threads = connection.execute("SELECT DISTINCT thread_id FROM checkpoints").fetchall()
    assert threads == [("plant",)]


def test_edit_requests_can_be_answered_by_a_function_model(db: Path) -> None:
    """A FunctionModel that reads the requested hours from the message: several edits in a row."""

    def reply(request: RecordedRequest) -> str:
        text = request.last_user_message
        if "Requested change" not in text:
            return proposal(example("wyndor"))
        hours = int(text.rsplit("Requested change:", 1)[1].split()[1])
        return proposal(with_plant3(hours))

    with ChatSession.open(Agent(model=FunctionModel(reply)), "fn", db) as session:
        session.send(WYNDOR_TEXT)
        answers = [session.send(f"give {h} hours to plant 3").version for h in (12, 24)]
    assert [v.summary.answer for v in answers if v] == [30, 42]  # (x, y) = (0, 6) and (4, 6)
