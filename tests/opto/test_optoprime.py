"""OptoPrime: the prompt it builds, how suggestions update parameters, retries, model wiring."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import numpy as np
import pytest
from pydantic import BaseModel

from optiagent.exceptions import ConfigurationError, FormulationError, LLMOutputError
from optiagent.opto import Feedback, OptoPrime, Parameter, PromptLimits, bundle
from optiagent.opto.prompts import SECTIONS, SYSTEM_PROMPT
from optiagent.testing import FunctionModel, OpenAIStubServer, RecordedRequest, ScriptedModel


class Plan(BaseModel):
    """A structured parameter, standing in for a formulation."""

    items: list[str]
    budget: float


@bundle
def draft(instruction: str, text: str) -> str:
    """Write a summary of `text` following `instruction`."""
    return f"{instruction} -> {text[:40]}"


@bundle
def polish(summary: str) -> str:
    """Clean up the summary."""
    return summary.strip().capitalize()


def reply(suggestion: dict[str, Any], reasoning: str = "because") -> str:
    return json.dumps({"reasoning": reasoning, "suggestion": suggestion})


def one_run(prompt: Parameter[str], text: str = "the quick brown fox") -> Any:
    return polish(draft(prompt, text))


def test_the_prompt_has_every_section_in_order_and_the_feedback() -> None:
    prompt = Parameter(
        "Summarize in one line.",
        name="prompt",
        description="instruction given to the summarizer",
        constraint="at most 20 words",
    )
    model = ScriptedModel([reply({"prompt": "Summarize in five words."})])
    opt = OptoPrime([prompt], model=model, objective="Make the summaries shorter.")
    out = one_run(prompt)
    opt.zero_feedback()
    opt.backward(out, "too long: keep it under five words")
    opt.step()

    request = model.requests[0]
    assert request.messages[0] == {"role": "system", "content": SYSTEM_PROMPT}
    user = request.last_user_message
    positions = [user.index(f"{header}\n") for header in SECTIONS]
    assert positions == sorted(positions)
    section = _sections(user)
    assert section["#Instruction"] == "Make the summaries shorter."
    assert section["#Code"] == "#3 = draft(instruction=#1, text=#2)\n#4 = polish(summary=#3)"
    assert "[draft] Write a summary of `text` following `instruction`." in section["#Documentation"]
    assert "def polish(summary: str) -> str:" in section["#Documentation"]
    assert section["#Variables"].startswith(
        "prompt (text, #1): instruction given to the summarizer\ncurrent value:\n```\n"
        "Summarize in one line.\n```"
    )
    assert section["#Constraints"] == "- prompt: at most 20 words"
    assert section["#Inputs"] == '#2 text = "the quick brown fox"'
    assert section["#Others"].startswith('#3 draft(instruction=#1, text=#2) -> "Summarize')
    assert section["#Outputs"].startswith("#4 polish(summary=#3) -> ")
    assert section["#Feedback"] == "too long: keep it under five words"
    assert section["#Memory"] == "(none)"
    assert request.response_schema is not None
    assert request.response_schema.schema["properties"]["suggestion"]["properties"] == {
        "prompt": {"type": "string"}
    }


def _sections(user: str) -> dict[str, str]:
    found: dict[str, str] = {}
    for header, following in zip(SECTIONS, (*SECTIONS[1:], None), strict=True):
        start = user.index(f"{header}\n") + len(header) + 1
        end = user.index(f"\n\n{following}\n") if following else len(user)
        found[header] = user[start:end]
    return found


def test_a_suggestion_updates_the_named_parameter_and_is_remembered() -> None:
    prompt = Parameter("Summarize.", name="prompt")
    tone = Parameter("neutral", name="tone")
    model = ScriptedModel(
        [
            reply({"prompt": "Summarize briefly."}, reasoning="the output was long"),
            reply({"tone": "friendly", "prompt": "Summarize briefly."}),
        ]
    )
    opt = OptoPrime([prompt, tone], model=model, memory_size=1)
    opt.backward(one_run(prompt), Feedback(text="too long", score=0.2))
    result = opt.step()
    assert prompt.value == "Summarize briefly." and tone.value == "neutral"
    assert result.updates == {"prompt": "Summarize briefly."}
    assert result.reasoning == "the output was long" and result.attempts == 1
    assert opt.feedback == ()  # step consumed the feedback

    opt.backward(one_run(prompt), "better, but cold")
    second = opt.step()
    assert second.updates == {"tone": "friendly"}  # an unchanged value is not an update
    memory = _sections(model.requests[1].last_user_message)["#Memory"]
    assert '1. values: {"prompt": "Summarize.", "tone": "neutral"}' in memory
    assert "feedback: score: 0.2\n   too long" in memory
    assert len(opt.memory) == 1 and opt.memory[0].feedback == "better, but cold"


def test_bad_replies_are_retried_with_the_error_quoted() -> None:
    x = Parameter([0.0, 0.0], name="x", bounds=(-1, 1))
    model = ScriptedModel(
        [
            "I think x should grow.",
            reply({"y": [1, 2]}),
            reply({"x": [0.5]}),
            reply({"x": [0.5, 3.0]}),
            '{"reasoning": "ok", "suggestion": {"x": [0.5, -0.5]}}',
        ]
    )
    opt = OptoPrime([x], model=model, max_attempts=5)
    opt.backward(x, 1.0)
    result = opt.step()
    assert x.value == [0.5, -0.5]
    assert result.attempts == 5
    follow_ups = [r.messages[-1]["content"] for r in model.requests[1:]]
    assert "holds no valid JSON" in follow_ups[0]
    assert "'y' is not a trainable variable; the variables are 'x'" in follow_ups[1]
    assert "'x' (vector of 2 numbers): expected a list of 2 numbers, got 1" in follow_ups[2]
    assert "x[1] = 3 is above its upper bound 1" in follow_ups[3]
    assert model.requests[1].messages[-2] == {
        "role": "assistant",
        "content": "I think x should grow.",
    }


def test_unusable_replies_raise_after_the_budget_and_change_nothing() -> None:
    prompt = Parameter("keep", name="prompt")
    model = ScriptedModel(['{"reasoning": "x"}', '{"suggestion": ["a"]}'])
    opt = OptoPrime([prompt], model=model, max_attempts=2)
    opt.backward(one_run(prompt), "bad")
    with pytest.raises(LLMOutputError, match="no valid reply in 2 attempts") as raised:
        opt.step()
    assert '"suggestion" must be an object' in str(raised.value)
    assert prompt.value == "keep"
    assert len(opt.feedback) == 1  # kept, so the step can be tried again
    assert len(opt.memory) == 0
    assert 'no "suggestion" key' in model.requests[1].last_user_message


def test_structured_parameters_are_validated_into_their_model() -> None:
    plan = Parameter(Plan(items=["a"], budget=1.0), name="plan", description="the plan")
    model = ScriptedModel(
        [
            reply({"plan": {"items": ["a", "b"]}}),
            reply({"plan": {"items": ["a", "b"], "budget": 2.5}}),
        ]
    )
    opt = OptoPrime([plan], model=model)
    opt.backward(plan, "add b and raise the budget")
    opt.step()
    assert plan.value == Plan(items=["a", "b"], budget=2.5)
    first = model.requests[0].last_user_message
    assert (
        "plan (JSON object of type Plan, #1): the plan\n"
        'current value: {"items": ["a"], "budget": 1.0}' in first
    )
    retry = model.requests[1].last_user_message
    assert (
        "'plan' (JSON object of type Plan): 1 validation error:\n- budget: Field required" in retry
    )


def test_a_parameter_check_failure_is_retried_with_its_message() -> None:
    def no_negative_budget(plan: Plan) -> None:
        if plan.budget < 0:
            raise FormulationError(["the budget must not be negative"])

    plan = Parameter(Plan(items=[], budget=1.0), name="plan", check=no_negative_budget)
    model = ScriptedModel(
        [reply({"plan": {"items": [], "budget": -2}}), reply({"plan": {"items": [], "budget": 2}})]
    )
    opt = OptoPrime([plan], model=model)
    opt.backward(plan, "change the budget")
    assert opt.step().attempts == 2
    assert plan.value.budget == 2.0
    assert "the budget must not be negative" in model.requests[1].last_user_message


def test_the_response_schema_moves_nested_definitions_to_the_root() -> None:
    class Outer(BaseModel):
        plans: list[Plan]

    outer = Parameter(Outer(plans=[]), name="outer")
    count = Parameter(2, name="count")
    opt = OptoPrime([outer, count], model=ScriptedModel([]))
    assert opt.response_schema is not None
    schema = opt.response_schema.schema
    assert "Plan" in schema["$defs"]
    properties = schema["properties"]["suggestion"]["properties"]
    assert "$defs" not in properties["outer"]
    assert properties["count"] == {"type": "integer"}
    assert (
        OptoPrime([count], model=ScriptedModel([]), structured_output=False).response_schema is None
    )


def test_long_intermediate_values_are_shortened_but_variables_never_are() -> None:
    long_prompt = "word " * 400
    prompt = Parameter(long_prompt, name="prompt")
    model = ScriptedModel([reply({})])
    opt = OptoPrime([prompt], model=model, limits=PromptLimits(others=120, outputs=150))
    opt.backward(one_run(prompt, "x" * 3000), "fine")
    result = opt.step()
    section = _sections(model.requests[0].last_user_message)
    assert long_prompt in section["#Variables"]
    assert "characters omitted" in section["#Others"] and len(section["#Others"]) < 300
    assert "characters omitted" not in section["#Inputs"]
    assert result.updates == {}


def test_several_outputs_get_their_own_feedback() -> None:
    prompt = Parameter("Say it.", name="prompt")
    model = ScriptedModel([reply({"prompt": "Say it twice."})])
    opt = OptoPrime([prompt], model=model)
    first, second = one_run(prompt, "alpha"), one_run(prompt, "beta")
    opt.backward(first, "missing detail")
    opt.backward(second, Feedback(score=0.5))
    opt.step()
    section = _sections(model.requests[0].last_user_message)
    assert section["#Feedback"] == "on output #4:\nmissing detail\n\non output #7:\nscore: 0.5"
    assert section["#Code"].count("= draft(") == 2
    assert section["#Variables"].count("prompt (text, #1)") == 1


def test_a_failed_step_is_shown_as_feedback_material() -> None:
    limit = Parameter(0.0, name="limit", description="divisor")

    @bundle
    def ratio(total: float, limit: float) -> float:
        """Divide the total by the limit."""
        return total / limit

    out = ratio(10.0, limit)
    assert out.failed
    model = ScriptedModel([reply({"limit": 2.0})])
    opt = OptoPrime([limit], model=model)
    opt.backward(out, f"the step failed: {out.error}")
    opt.step()
    section = _sections(model.requests[0].last_user_message)
    assert "raised ZeroDivisionError: float division by zero" in section["#Outputs"]
    assert limit.value == 2.0


def test_astep_uses_the_async_client() -> None:
    x = Parameter(1.0, name="x")
    model = FunctionModel(lambda request: reply({"x": 0.5}))
    opt = OptoPrime([x], model=model)
    opt.backward(x, 3.0)
    result = asyncio.run(opt.astep())
    assert result.updates == {"x": 0.5} and len(model.requests) == 1


def test_a_users_text_workflow_improves_with_feedback() -> None:
    """The README loop: a FunctionModel plays the LLM and shortens the prompt when told."""
    prompt = Parameter("Summarize the text in three detailed paragraphs.", name="prompt")

    @bundle
    def summarize(prompt: str, text: str) -> str:
        """Pretend summarizer: longer instructions give longer summaries."""
        return " ".join(text.split()[: len(prompt.split()) * 2])

    def shorten(request: RecordedRequest) -> str:
        user = request.last_user_message
        if "#Feedback\ntoo long" not in user:
            return reply({}, "keep it")
        current = user.split("current value:\n```\n")[1].split("\n```")[0]
        return reply({"prompt": " ".join(current.split()[:-2])}, "drop words")

    opt = OptoPrime([prompt], model=FunctionModel(shorten))
    text = "one two three four five six seven eight nine ten eleven twelve thirteen fourteen"
    lengths = []
    for _ in range(4):
        out = summarize(prompt, text)
        lengths.append(len(out.data.split()))
        opt.zero_feedback()
        opt.backward(out, "too long" if lengths[-1] > 6 else "good")
        opt.step()
    assert lengths == [14, 10, 6, 6]
    assert prompt.value == "Summarize the text"


def test_model_names_build_the_agents_client(monkeypatch: pytest.MonkeyPatch) -> None:
    x = Parameter(1.0, name="x")
    with pytest.raises(ConfigurationError):
        OptoPrime([x], model="gpt-4o-mini")  # no OPENAI_API_KEY in tests
    monkeypatch.setenv("OPENAI_API_KEY", "test-key")
    monkeypatch.setenv("OPTIAGENT_MODEL", "from-env")
    assert OptoPrime([x]).model.name == "from-env"
    assert OptoPrime([x], model="named").model.name == "named"


def test_optoprime_talks_to_an_endpoint_from_the_environment(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    with OpenAIStubServer([reply({"x": [0.25]}, "move toward zero")]) as server:
        monkeypatch.setenv("OPENAI_BASE_URL", server.base_url)
        monkeypatch.setenv("OPENAI_API_KEY", "local")
        x = Parameter(np.array([1.0]), name="x")
        opt = OptoPrime([x], model="local-model")
        opt.backward(x, "too big")
        result = opt.step()
    assert x.value.tolist() == [0.25] and result.reasoning == "move toward zero"
    body = server.requests[0]
    assert body["model"] == "local-model"
    assert "#Feedback\ntoo big" in body["messages"][1]["content"]
    assert body["response_format"]["type"] == "json_schema"
