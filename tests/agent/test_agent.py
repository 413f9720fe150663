"""The agent end to end with scripted models: every repair path, answers, sampling, data."""

from __future__ import annotations

import asyncio
import copy
import json
from pathlib import Path
from typing import Any

import pytest
import yaml

from optiagent.agent.api import Agent
from optiagent.exceptions import LLMError
from optiagent.testing import FunctionModel, RecordedRequest, ScriptedModel
from optiagent.testing import keep_reply as keep
from optiagent.testing import proposal_reply as proposal
from optiagent.testing import repair_reply as repair

WYNDOR_TEXT = "Wyndor makes doors and windows ... maximize weekly profit."
EXAMPLES = Path(__file__).parents[2] / "examples"


def example(name: str) -> dict[str, Any]:
    """An example formulation as a plain dict (YAML short forms included)."""
    return yaml.safe_load((EXAMPLES / f"{name}.yaml").read_text())


@pytest.fixture
def wyndor() -> dict[str, Any]:
    return example("wyndor")


@pytest.fixture
def broken_wyndor(wyndor: dict[str, Any]) -> dict[str, Any]:
    broken = copy.deepcopy(wyndor)
    broken["constraints"]["plant3"]["expression"] = "3*x + 2*yy <= 18"
    return broken


def test_happy_path(wyndor: dict[str, Any]) -> None:
    model = ScriptedModel([proposal(wyndor, units="thousand dollars")])
    result = Agent(model=model).solve(WYNDOR_TEXT)
    assert result.status == "solved" and result.answer.value == 36
    assert result.repairs == 0 and [a.outcome for a in result.attempts] == ["ok"]
    assert result.usage.calls == 1 and result.usage.prompt_tokens > 0
    assert "plant2" in result.explanation and "shadow price 1.5" in result.explanation
    # the formulate prompt explains the language and carries the problem
    first = model.requests[0]
    assert "FORMULATION LANGUAGE" in first.text and WYNDOR_TEXT in first.last_user_message
    assert first.response_schema is not None and first.response_schema.name == "proposal"


def test_undefined_symbol_is_repaired_from_precise_feedback(
    wyndor: dict[str, Any], broken_wyndor: dict[str, Any]
) -> None:
    model = ScriptedModel([proposal(broken_wyndor), repair(wyndor)])
    result = Agent(model=model).solve(WYNDOR_TEXT)
    assert result.status == "solved" and result.answer.value == 36
    assert [a.outcome for a in result.attempts] == ["invalid", "ok"]
    assert result.repairs == 1
    prompt = model.requests[1].text
    assert "unknown name 'yy'" in prompt and "did you mean 'y'" in prompt
    assert "constraint 'plant3'" in prompt
    # the OptoPrime sections: the trace, the trainable proposal and the problem as an input
    for section in ("#Instruction", "#Code", "#Variables", "#Inputs", "#Feedback"):
        assert section in prompt
    assert WYNDOR_TEXT in prompt and "check_model" in prompt


def test_infeasible_model_feedback_names_the_conflicting_constraints() -> None:
    infeasible = example("infeasible")
    fixed = copy.deepcopy(infeasible)
    fixed["constraints"]["at_most_five"] = "x + y <= 15"
    model = ScriptedModel([proposal(infeasible), repair(fixed)])
    result = Agent(model=model).solve("x + y between 10 and 15, minimize x + y")
    assert result.status == "solved" and result.answer.value == pytest.approx(10)
    assert [a.outcome for a in result.attempts] == ["infeasible", "ok"]
    feedback = result.attempts[0].feedback or ""
    assert "at_least_ten" in feedback and "at_most_five" in feedback
    assert "at_least_ten" in model.requests[1].text


def test_infeasible_model_kept_by_the_model_is_reported_infeasible() -> None:
    infeasible = proposal(example("infeasible"))
    model = ScriptedModel([infeasible, keep(infeasible)])
    result = Agent(model=model).solve("x + y at least 10 and at most 5")
    assert result.status == "infeasible" and result.prediction == "infeasible"
    assert result.repairs == 1 and result.answer is None


def test_invalid_json_then_valid(wyndor: dict[str, Any]) -> None:
    model = ScriptedModel(["I think the answer is 36.", proposal(wyndor)])
    result = Agent(model=model).solve(WYNDOR_TEXT)
    assert result.status == "solved" and result.repairs == 0
    assert "no valid JSON" in model.requests[1].last_user_message
    assert result.usage_log.by_node()["formulate"].calls == 2


def test_schema_error_is_quoted_back(wyndor: dict[str, Any]) -> None:
    bad = json.loads(proposal(wyndor))
    bad["formulation"]["variables"]["x"]["domian"] = "binary"
    model = ScriptedModel([json.dumps(bad), proposal(wyndor)])
    result = Agent(model=model).solve(WYNDOR_TEXT)
    assert result.status == "solved"
    assert "domian" in model.requests[1].last_user_message


def test_repair_budget_running_out_is_a_clear_final_status(broken_wyndor: dict[str, Any]) -> None:
    model = ScriptedModel([proposal(broken_wyndor), repair(broken_wyndor)])
    result = Agent(model=model, max_repairs=1).solve(WYNDOR_TEXT)
    assert result.status == "failed" and result.answer is None
    assert result.repairs == 1 and "unknown name 'yy'" in (result.final_feedback or "")
    assert model.remaining == 0


def test_unusable_replies_everywhere_end_in_failed_not_a_crash() -> None:
    model = ScriptedModel(["nope", "still nope", "no"])
    result = Agent(model=model).solve(WYNDOR_TEXT)
    assert result.status == "failed" and "no valid reply" in (result.final_feedback or "")


def test_answer_expression_is_evaluated_by_our_code(wyndor: dict[str, Any]) -> None:
    model = ScriptedModel([proposal(wyndor, "x", units="batches", description="doors")])
    result = Agent(model=model).solve(WYNDOR_TEXT + " How many doors?")
    assert result.answer.value == 2 and result.objective == 36
    assert result.answer.text == "2 (doors, batches)"


def test_bad_answer_expression_is_repaired(wyndor: dict[str, Any]) -> None:
    model = ScriptedModel([proposal(wyndor, "doors"), repair(wyndor, "y")])
    result = Agent(model=model).solve(WYNDOR_TEXT)
    assert result.answer.value == 6
    assert [a.outcome for a in result.attempts] == ["ok", "answer_error", "ok"]
    assert "'doors'" in model.requests[1].text


def test_doubt_confirmed_by_the_model_is_kept_as_a_warning() -> None:
    staff = {
        "variables": {"workers": {"domain": "nonnegative_real", "description": "number of workers"}},
        "objective": {"minimize": "20 * workers"},
        "constraints": {"cover": "3 * workers >= 10"},
    }
    first = proposal(staff)
    model = ScriptedModel([first, keep(first)])
    result = Agent(model=model).solve("Hire workers to cover 10 hours, 3 hours each.")
    assert result.status == "solved" and result.answer.value == pytest.approx(200 / 3)
    assert any("seems to count workers" in w for w in result.warnings)
    assert "seems to count workers" in model.requests[1].text


def test_doubt_fixed_by_the_model() -> None:
    staff = {
        "variables": {"workers": {"domain": "nonnegative_real", "description": "number of workers"}},
        "objective": {"minimize": "20 * workers"},
        "constraints": {"cover": "3 * workers >= 10"},
    }
    whole = copy.deepcopy(staff)
    whole["variables"]["workers"]["domain"] = "nonnegative_integer"
    model = ScriptedModel([proposal(staff), repair(whole)])
    result = Agent(model=model).solve("Hire workers to cover 10 hours, 3 hours each.")
    assert result.answer.value == 80 and result.warnings == []


def test_a_solved_attempt_is_kept_when_later_repairs_break_the_model(
    broken_wyndor: dict[str, Any],
) -> None:
    lazy = {"variables": {"x": {"description": "items made"}}, "objective": {"minimize": "x"}}
    model = ScriptedModel([proposal(lazy), repair(broken_wyndor)])
    result = Agent(model=model, max_repairs=1).solve("make items")
    assert result.status == "solved" and result.answer.value == 0
    assert any("attempt 1" in w for w in result.warnings)


def test_self_consistency_reports_agreement(wyndor: dict[str, Any]) -> None:
    odd = copy.deepcopy(wyndor)
    odd["constraints"]["plant1"]["expression"] = "x <= 1"

    def reply(request: RecordedRequest) -> str:
        return proposal(odd if request.seed == 1 else wyndor)

    model = FunctionModel(reply)
    result = Agent(model=model, samples=3, seed=0).solve(WYNDOR_TEXT)
    assert result.answer.value == 36 and result.confidence == pytest.approx(2 / 3)
    assert sorted(result.to_dict()["samples"]) == [33.0, 36.0, 36.0]
    assert result.usage.calls == 3
    assert {r.temperature for r in model.requests} == {0.7}


def test_csv_data_reaches_the_formulation_through_from_table(tmp_path: Path) -> None:
    csv = tmp_path / "items.csv"
    csv.write_text("item,value,weight\n" + "\n".join(f"i{k},{k % 7 + 1},{k % 5 + 1}" for k in range(40)))
    formulation = {
        "sets": {"Items": {"from_table": {"table": "items", "column": "item"}}},
        "parameters": {
            "value": {"index": ["Items"], "from_table": {"table": "items", "column": "value", "index_columns": ["item"]}},
            "weight": {"index": ["Items"], "from_table": {"table": "items", "column": "weight", "index_columns": ["item"]}},
        },
        "variables": {"take": {"index": ["Items"], "domain": "binary"}},
        "objective": {"maximize": "sum(value[i] * take[i] for i in Items)"},
        "constraints": {"fits": "sum(weight[i] * take[i] for i in Items) <= 10"},
    }
    model = ScriptedModel([proposal(formulation)])
    result = Agent(model=model).solve("Pick items from items.csv within weight 10.", data=[csv])
    assert result.status == "solved" and result.answer.value > 0
    prompt = model.requests[0].text
    assert "Table 'items' (40 rows" in prompt and "35 more rows" in prompt
    take = next(v for v in result.formulation.parameters if v.name == "value")
    assert take.from_table is None and len(take.value) == 40


def test_two_agents_with_different_models_side_by_side(wyndor: dict[str, Any]) -> None:
    knapsack = example("knapsack")
    first = Agent(model=ScriptedModel([proposal(wyndor)], name="model-a"))
    second = Agent(model=ScriptedModel([proposal(knapsack)], name="model-b"))

    async def both() -> list[Any]:
        return await asyncio.gather(first.asolve(WYNDOR_TEXT), second.asolve("knapsack"))

    a, b = asyncio.run(both())
    assert (a.answer.value, b.answer.value) == (36, 220)
    assert a.usage.calls == 1 and b.usage.calls == 1


def test_transport_errors_reach_the_caller(wyndor: dict[str, Any]) -> None:
    model = ScriptedModel([LLMError("endpoint unreachable", retryable=True)])
    with pytest.raises(LLMError, match="unreachable"):
        Agent(model=model).solve(WYNDOR_TEXT)


def test_progress_events_node_by_node(wyndor: dict[str, Any], broken_wyndor: dict[str, Any]) -> None:
    events: list[str] = []
    model = ScriptedModel([proposal(broken_wyndor), repair(wyndor)])
    Agent(model=model).solve(WYNDOR_TEXT, on_event=lambda e: events.append(e.node))
    assert events[:3] == ["formulate", "formulate", "check"]
    assert "repair" in events and events[-1] == "answer"


def test_result_to_dict_has_the_documented_keys(wyndor: dict[str, Any]) -> None:
    payload = Agent(model=ScriptedModel([proposal(wyndor)])).solve(WYNDOR_TEXT).to_dict()
    assert {"status", "answer", "objective", "formulation", "attempts", "usage"} <= set(payload)
    assert set(payload["usage"]) >= {"calls", "prompt_tokens", "completion_tokens"}
    json.dumps(payload)


def test_a_given_proposal_is_solved_without_asking_the_model(wyndor: dict[str, Any]) -> None:
    from optiagent.agent.proposal import Proposal

    given = Proposal.model_validate(json.loads(proposal(wyndor)))
    model = ScriptedModel([])
    result = Agent(model=model).solve(WYNDOR_TEXT, proposal=given)
    assert result.status == "solved" and result.answer.value == 36 and model.requests == []


def test_a_model_no_backend_takes_becomes_feedback_and_is_repaired() -> None:
    """A CP model with a continuous variable once crashed the agent with a false
    'ortools is not installed'; now the reason is feedback and the repair makes it integer."""
    jobshop = example("jobshop")
    continuous = copy.deepcopy(jobshop)
    continuous["variables"]["makespan"]["domain"] = "nonnegative_real"
    model = ScriptedModel([proposal(continuous), repair(jobshop)])
    result = Agent(model=model).solve("Schedule three jobs on three machines ... makespan.")
    assert result.status == "solved" and result.answer.value == 11
    assert [a.outcome for a in result.attempts] == ["solver_error", "ok"]
    feedback = result.attempts[0].feedback or ""
    assert "variable 'makespan' is continuous" in feedback
    assert "CP-SAT takes integer and interval variables only" in feedback
    assert "not installed" not in feedback
    assert "variable 'makespan' is continuous" in model.requests[1].text


def test_every_repair_failing_in_the_solve_step_ends_with_a_clear_status() -> None:
    continuous = example("jobshop")
    continuous["variables"]["makespan"]["domain"] = "nonnegative_real"
    replies = [proposal(continuous)] + [repair(continuous)] * 2
    result = Agent(model=ScriptedModel(replies), max_repairs=2).solve("Schedule ... makespan.")
    assert result.status != "solved"
    assert [a.outcome for a in result.attempts] == ["solver_error"] * 3
    assert "makespan" in (result.attempts[-1].feedback or "")
