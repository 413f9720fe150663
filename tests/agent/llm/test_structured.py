"""extract_json and the validate-and-retry loop (complete_validated / acomplete_validated)."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from pydantic import BaseModel

from optiagent.agent.llm import (
    ChatReply,
    JsonSchema,
    UsageLog,
    Validated,
    acomplete_validated,
    complete_validated,
    extract_json,
)
from optiagent.agent.llm.structured import format_validation_error
from optiagent.exceptions import LLMError, LLMOutputError
from optiagent.testing import ScriptedModel


class Point(BaseModel):
    x: int
    y: int


SCHEMA = JsonSchema("Point", Point.model_json_schema())
MESSAGES = [
    {"role": "system", "content": "Answer in JSON."},
    {"role": "user", "content": "a point"},
]


# --- extract_json -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ('{"a": 1}', {"a": 1}),
        ("  [1, 2]\n", [1, 2]),
        ("42", 42),
        ('```json\n{"a": {"b": [1, 2]}}\n```', {"a": {"b": [1, 2]}}),
        ('Here you go:\n```\n{"a": 1}\n```\nDone.', {"a": 1}),
        ('```JSON\n{"a": 1}\n```', {"a": 1}),
        ('The answer is {"a": "}"} as asked.', {"a": "}"}),
        (
            'Sure! {"a": {"b": {"c": [1, {"d": 2}]}}} Hope it helps {x}',
            {"a": {"b": {"c": [1, {"d": 2}]}}},
        ),
        ('See note [1]. Result: {"x": 1, "y": 2}', {"x": 1, "y": 2}),
        ('<think>maybe {"x": 0}? no</think>\n{"x": 1, "y": 2}', {"x": 1, "y": 2}),
        ('```python\nprint({"no": 1})\n```\n```json\n{"yes": 1}\n```', {"yes": 1}),
        ('```json\nThe JSON: {"a": 1}\n```', {"a": 1}),
        ('{"s": "with \\"quotes\\" and {braces}"}', {"s": 'with "quotes" and {braces}'}),
    ],
)
def test_extract_json_finds_the_value(text: str, expected: Any) -> None:
    assert extract_json(text) == expected


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ("", "empty"),
        ("   \n", "empty"),
        ("<think>{}</think>", "empty"),
        ("no json here at all", "no JSON object or array"),
        ('{"a": 1,, "b": 2}', "malformed"),
        ('```json\n{"a": 1\n```', "malformed"),
    ],
)
def test_extract_json_says_why_it_failed(text: str, reason: str) -> None:
    with pytest.raises(ValueError, match=reason):
        extract_json(text)


def test_a_cut_off_object_gives_its_parse_error_not_an_inner_object() -> None:
    whole = json.dumps({"sets": [{"name": f"S{i}", "elements": [1, 2]} for i in range(20)]})
    for text in (whole[: len(whole) // 2], "Here it is:\n```json\n" + whole[:200]):
        with pytest.raises(ValueError, match="ends before the JSON is complete"):
            extract_json(text)


def test_a_broken_balanced_object_before_the_answer_is_skipped() -> None:
    assert extract_json('First try {x: 1}, then: {"x": 2}') == {"x": 2}


def test_malformed_json_error_names_the_position() -> None:
    with pytest.raises(ValueError, match=r"line 2, column"):
        extract_json('Answer:\n{"a": 1 "b": 2}')


_json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(max_size=8),
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=5), inner, max_size=4)
    ),
    max_leaves=12,
)


@settings(max_examples=150, deadline=None, derandomize=True)
@given(
    value=st.one_of(st.dictionaries(st.text(max_size=5), _json_values, min_size=1, max_size=4)),
    prefix=st.sampled_from(["", "Here is the JSON:\n", "Result -> ", "Sure.\n\n"]),
    suffix=st.sampled_from(["", "\nLet me know if you need more.", " (done)"]),
    fenced=st.booleans(),
)
def test_extract_json_roundtrips_objects_wrapped_in_prose(
    value: dict[str, Any], prefix: str, suffix: str, fenced: bool
) -> None:
    body = json.dumps(value, indent=2 if fenced else None)
    text = f"{prefix}```json\n{body}\n```{suffix}" if fenced else f"{prefix}{body}{suffix}"
    assert extract_json(text) == value


# --- format_validation_error ------------------------------------------------------------------


def test_validation_errors_are_compact_and_capped() -> None:
    class Many(BaseModel):
        values: list[int]

    with pytest.raises(ValueError) as caught:
        Many.model_validate({"values": ["a"] * 30})
    text = format_validation_error(caught.value, max_lines=5)
    lines = text.splitlines()
    assert lines[0] == "30 validation errors:"
    assert lines[1].startswith("- values.0: Input should be a valid integer")
    assert lines[1].endswith('(got "a")')
    assert lines[-1] == "- ... and 25 more"
    assert len(lines) == 7
    assert "https://" not in text


# --- complete_validated -----------------------------------------------------------------------


def test_valid_first_reply_takes_one_attempt() -> None:
    model = ScriptedModel(['{"x": 1, "y": 2}'])
    result = complete_validated(model, MESSAGES, Point.model_validate, response_schema=SCHEMA)
    assert result.value == Point(x=1, y=2)
    assert result.attempts == 1
    assert result.errors == []
    assert model.requests[0].response_schema is SCHEMA
    assert model.requests[0].messages == MESSAGES


def test_invalid_json_then_valid_quotes_the_parse_error() -> None:
    model = ScriptedModel(['{"x": 1, "y": ', '```json\n{"x": 1, "y": 2}\n```'])
    result = complete_validated(model, MESSAGES, Point.model_validate, response_schema=SCHEMA)
    assert result.value == Point(x=1, y=2)
    assert result.attempts == 2
    assert len(result.replies) == 2
    second = model.requests[1]
    # the model sees its own bad reply, then the error and what to do
    assert second.messages[:2] == MESSAGES
    assert second.messages[2] == {"role": "assistant", "content": '{"x": 1, "y": '}
    feedback = second.messages[3]
    assert feedback["role"] == "user"
    assert "no valid JSON" in feedback["content"]
    assert "malformed" in feedback["content"]
    assert "schema 'Point'" in feedback["content"]
    assert len(result.errors) == 1
    assert result.errors[0] in feedback["content"]


def test_validation_error_then_valid_quotes_location_and_message() -> None:
    model = ScriptedModel(['{"x": "one"}', '{"x": 1, "y": 2}'])
    result = complete_validated(model, MESSAGES, Point.model_validate)
    assert result.value == Point(x=1, y=2)
    feedback = model.requests[1].last_user_message
    assert "- x: Input should be a valid integer" in feedback
    assert '(got "one")' in feedback
    assert "- y: Field required" in feedback
    assert len(result.errors) == 1 and "- y: Field required" in result.errors[0]


def test_plain_value_error_from_validator_is_fed_back() -> None:
    def positive(data: Any) -> int:
        if data["n"] <= 0:
            raise ValueError("n must be positive")
        return int(data["n"])

    model = ScriptedModel(['{"n": -1}', "[]", '{"n": 3}'])
    result = complete_validated(model, MESSAGES, positive, max_attempts=3)
    assert result.value == 3
    assert result.attempts == 3
    assert "n must be positive" in result.errors[0]
    assert "TypeError" in result.errors[1]  # a list where a dict was due


def test_exhausted_attempts_raise_llm_output_error_with_last_reply() -> None:
    model = ScriptedModel(["nope", '{"x": 1}', '{"y": 2}'])
    with pytest.raises(LLMOutputError) as caught:
        complete_validated(model, MESSAGES, Point.model_validate, max_attempts=3)
    error = caught.value
    assert error.last_reply == '{"y": 2}'
    assert error.retryable is False
    assert "3 attempts" in str(error) and "x: Field required" in str(error)
    assert "--model" in str(error)
    assert model.remaining == 0
    # each retry carries the whole history: 2 messages + 2 per failed attempt
    assert [len(r.messages) for r in model.requests] == [2, 4, 6]


def test_truncated_reply_feedback_mentions_the_token_limit() -> None:
    cut = ChatReply('{"x": 1, "y"', model="m", finish_reason="length")
    model = ScriptedModel([cut, '{"x": 1, "y": 2}'])
    result = complete_validated(model, MESSAGES, Point.model_validate)
    assert "cut off" in result.errors[0]


def test_transport_errors_propagate_without_retrying_here() -> None:
    model = ScriptedModel([LLMError("down", retryable=True), '{"x": 1, "y": 2}'])
    with pytest.raises(LLMError, match="down"):
        complete_validated(model, MESSAGES, Point.model_validate)
    assert model.remaining == 1


def test_usage_is_recorded_per_node_for_every_attempt() -> None:
    usage = UsageLog()
    model = ScriptedModel(["bad", '{"x": 1, "y": 2}'])
    result = complete_validated(
        model, MESSAGES, Point.model_validate, usage=usage, node="formulate"
    )
    assert usage.by_node()["formulate"].calls == 2
    assert usage.totals() == result.usage
    assert result.usage.prompt_tokens == sum(r.prompt_tokens for r in result.replies)


def test_sampling_parameters_reach_the_model() -> None:
    model = ScriptedModel(['{"x": 1, "y": 2}'])
    complete_validated(model, MESSAGES, Point.model_validate, temperature=0.7, seed=3)
    assert (model.requests[0].temperature, model.requests[0].seed) == (0.7, 3)


def test_max_attempts_must_be_positive() -> None:
    with pytest.raises(ValueError, match="max_attempts"):
        complete_validated(ScriptedModel([]), MESSAGES, Point.model_validate, max_attempts=0)


def test_async_loop_behaves_like_the_sync_one() -> None:
    model = ScriptedModel(['{"x": "?"}', '{"x": 5, "y": 6}'])

    async def run() -> Validated[Point]:
        return await acomplete_validated(
            model, MESSAGES, Point.model_validate, usage=UsageLog(), node="n"
        )

    result = asyncio.run(run())
    assert result.value == Point(x=5, y=6)
    assert result.attempts == 2
    assert "x: Input should be a valid integer" in model.requests[1].last_user_message


def test_async_exhaustion_raises() -> None:
    model = ScriptedModel(["no", "still no"])
    with pytest.raises(LLMOutputError):
        asyncio.run(acomplete_validated(model, MESSAGES, Point.model_validate, max_attempts=2))
