"""Answer parsing: every spelling the sources use becomes a number, a status, or 'missing'."""

from __future__ import annotations

import math

import pytest
from hypothesis import given
from hypothesis import strategies as st

from optiagent.datasets.ground_truth import parse_answer, parse_results


@pytest.mark.parametrize(
    ("raw", "value"),
    [
        (3600, 3600.0),
        (18.0, 18.0),
        ("1160.0", 1160.0),
        (" 219816.0 ", 219816.0),
        ("-7.5", -7.5),
        ("1e6", 1e6),
        (0, 0.0),
        ("[18.0]", 18.0),
        ([42], 42.0),
    ],
)
def test_numbers(raw: object, value: float) -> None:
    truth = parse_answer(raw)
    assert truth.kind == "value" and truth.value == value


def test_list_answers_keep_alternatives() -> None:
    truth = parse_answer("[10.5, 11]")
    assert truth.value == 10.5 and truth.alternatives == (11.0,)
    assert truth.accepted == (10.5, 11.0)


@pytest.mark.parametrize(
    "raw", ["No Best Solution", "no best solution", -9999, "-99999", "-9999.0"]
)
def test_no_solution_markers_are_infeasible(raw: object) -> None:
    truth = parse_answer(raw)
    assert truth.kind == "infeasible" and truth.value is None and truth.note


def test_unbounded_text() -> None:
    assert parse_answer("Unbounded").kind == "unbounded"


@pytest.mark.parametrize(
    "raw", [None, "", "  ", "null", "abc", "[]", "[1, 'x']", True, float("nan"), "inf", {}]
)
def test_unreadable_or_empty_answers_are_missing_with_a_note(raw: object) -> None:
    truth = parse_answer(raw)
    assert truth.kind == "missing" and truth.note


def test_decimals_come_from_the_written_answer() -> None:
    assert parse_answer("12.50").decimals == 2
    assert parse_answer("3").decimals == 0
    assert parse_answer(1.125).decimals == 3


def test_results_dict_with_objective_key() -> None:
    truth = parse_results({"x": "1.0", "Total Cost": "18000.0"}, objective_key="Total Cost")
    assert truth.value == 18000.0 and truth.requested == {"x": 1.0, "Total Cost": 18000.0}
    assert truth.raw == "18000.0"


def test_results_without_objective_and_dropped_keys() -> None:
    truth = parse_results({"a": "1", "b": "2", "z": "9"}, objective_key=None, drop_keys=("z",))
    assert truth.kind == "missing" and truth.requested == {"a": 1.0, "b": 2.0}
    assert parse_results({"a": "oops"}, objective_key="a").kind == "missing"


@given(st.floats(allow_nan=False, allow_infinity=False).filter(lambda x: x not in (-9999, -99999)))
def test_any_finite_number_round_trips_as_text(number: float) -> None:
    truth = parse_answer(repr(number))
    assert truth.kind == "value" and truth.value == number and math.isfinite(truth.value)
