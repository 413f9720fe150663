"""Parameter kinds, validation of new values, bounds, and Feedback coercion."""

from __future__ import annotations

import numpy as np
import pytest
from pydantic import BaseModel

from optiagent.exceptions import ConfigurationError, FormulationError
from optiagent.opto import Feedback, Parameter


class Plan(BaseModel):
    """A small structured parameter, standing in for a formulation."""

    items: list[str]
    budget: float


def test_kind_is_inferred_from_the_first_value() -> None:
    assert Parameter("hi", name="p").kind == "text"
    assert Parameter("x = 1", name="c", kind="code").kind == "code"
    assert Parameter(1.5, name="a").kind == "number"
    assert Parameter(3, name="k").kind == "integer"
    assert Parameter([1, 2], name="v").kind == "vector"
    assert Parameter(np.zeros(3), name="w").kind == "vector"
    assert Parameter(Plan(items=["a"], budget=1.0), name="plan").kind == "structured"
    assert Parameter({"temperature": 0.2}, name="cfg").kind == "json"


def test_vector_values_become_floats_and_keep_their_container() -> None:
    listed = Parameter([1, 2], name="v")
    assert listed.value == [1.0, 2.0]
    array = Parameter(np.array([1.0, 2.0]), name="w")
    array.value = [3, 4]
    assert isinstance(array.value, np.ndarray)
    assert array.value.tolist() == [3.0, 4.0]


@pytest.mark.parametrize(
    ("value", "candidate", "message"),
    [
        ("text", 3, "expected a string"),
        (1.0, "two", "expected a number"),
        (1.0, True, "expected a number"),
        (2, 2.5, "whole number"),
        ([0.0, 0.0], [1.0], "list of 2 numbers"),
        ([0.0, 0.0], "1,2", "list of numbers"),
        ({"a": 1}, [1], "expected an object"),
    ],
)
def test_coerce_rejects_values_of_the_wrong_type(
    value: object, candidate: object, message: str
) -> None:
    parameter = Parameter(value, name="p")
    with pytest.raises(ValueError, match=message):
        parameter.coerce(candidate)


def test_integer_accepts_a_whole_float() -> None:
    parameter = Parameter(2, name="k")
    parameter.value = 5.0
    assert parameter.value == 5 and isinstance(parameter.value, int)


def test_structured_value_is_validated_back_into_its_model() -> None:
    parameter = Parameter(Plan(items=["a"], budget=1.0), name="plan")
    parameter.value = {"items": ["b", "c"], "budget": 2}
    assert parameter.value == Plan(items=["b", "c"], budget=2.0)
    parameter.value = '{"items": [], "budget": 0}'
    assert parameter.value.budget == 0.0
    with pytest.raises(ValueError, match="budget"):
        parameter.coerce({"items": []})
    assert parameter.to_json() == {"items": [], "budget": 0.0}
    assert parameter.json_schema()["title"] == "Plan"


def test_bounds_are_checked_and_described() -> None:
    x = Parameter([0.0, 0.0], name="x", bounds=(-1, 1))
    with pytest.raises(ValueError, match=r"x\[1\] = 2 is above its upper bound 1"):
        x.coerce([0.0, 2.0])
    assert x.constraints() == ["every entry of x must lie in [-1, 1]"]
    y = Parameter(0.5, name="y", bounds=(0, None), constraint="keep it small")
    assert y.constraints() == ["y must be >= 0", "y: keep it small"]
    with pytest.raises(ConfigurationError, match="3 entries but 2 bounds"):
        Parameter([0.0, 0.0, 0.0], name="z", bounds=[(0, 1), (0, 1)])


def test_bad_parameters_are_configuration_errors() -> None:
    with pytest.raises(ConfigurationError, match="name"):
        Parameter(1.0, name=" ")
    with pytest.raises(ConfigurationError, match="cannot train a value of type object"):
        Parameter(object(), name="o")
    with pytest.raises(ConfigurationError, match="bounds apply to numbers"):
        Parameter("t", name="t", bounds=(0, 1))


def test_feedback_accepts_text_scores_and_both() -> None:
    assert Feedback.of("too long") == Feedback(text="too long")
    assert Feedback.of(3) == Feedback(score=3.0)
    both = Feedback(text="close", score=0.25)
    assert Feedback.of(both) is both
    assert both.render() == "score: 0.25\nclose"
    with pytest.raises(ConfigurationError):
        Feedback()
    with pytest.raises(ConfigurationError):
        Feedback.of(None)  # type: ignore[arg-type]


def test_a_check_rejects_values_and_its_message_is_kept() -> None:
    def short(text: str) -> None:
        if len(text.split()) > 3:
            raise ValueError("use at most 3 words")

    def valid_plan(plan: Plan) -> None:
        if plan.budget < 0:
            raise FormulationError(["budget: must not be negative"])

    prompt = Parameter("one two", name="prompt", check=short)
    with pytest.raises(ValueError, match="at most 3 words"):
        prompt.value = "one two three four"
    assert prompt.value == "one two"
    plan = Parameter(Plan(items=[], budget=1.0), name="plan", check=valid_plan)
    with pytest.raises(ValueError, match="budget: must not be negative"):
        plan.coerce({"items": [], "budget": -1})
    with pytest.raises(ConfigurationError, match="first value of parameter 'p' is not valid"):
        Parameter("one two three four", name="p", check=short)
    with pytest.raises(ConfigurationError, match="below its lower bound"):
        Parameter(-1.0, name="q", bounds=(0, 1))
