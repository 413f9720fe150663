"""The result-protocol parser: the lines generated code prints, and everything around them."""

from __future__ import annotations

import math

import pytest
from hypothesis import given
from hypothesis import strategies as st

from optiagent.solvers_backend.results import SolveStatus
from optiagent.solvers_backend.sandbox import (
    REPORTED_STATUSES,
    normalize_status,
    parse_reported_result,
)


def test_protocol_lines_are_read() -> None:
    out = "status: optimal\nobjective: 36.0\nx = 3\nship[seattle,new-york] = 50.0\n"
    reported = parse_reported_result(out)
    assert reported.status == "optimal"
    assert reported.objective == 36.0
    assert reported.values == {"x": 3.0, "ship[seattle,new-york]": 50.0}


def test_prose_around_the_protocol_is_ignored() -> None:
    out = (
        "Running HiGHS 1.14.0\nPresolving model\nSolver status: ok\nTotal cost = 5 units\n"
        "Note: done.\nstatus: feasible\nobjective: 7\n"
    )
    reported = parse_reported_result(out)
    assert reported.status == "feasible"
    assert reported.objective == 7.0
    assert reported.values == {}


def test_last_objective_line_wins() -> None:
    reported = parse_reported_result("objective: 1\nobjective: 2\nObjective: 3.5\n")
    assert reported.objective == 3.5
    assert reported.objective_lines == 3


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("1e+03", 1000.0),
        ("-2.5E-3", -0.0025),
        ("+7", 7.0),
        (".5", 0.5),
        ("3.", 3.0),
        ("inf", math.inf),
        ("-inf", -math.inf),
        ("Infinity", math.inf),
        ("np.float64(36.0)", 36.0),
        ("float(2)", 2.0),
    ],
)
def test_number_forms(text: str, expected: float) -> None:
    assert parse_reported_result(f"objective: {text}").objective == expected
    assert parse_reported_result(f"x = {text}").values["x"] == expected


def test_negative_zero_and_nan() -> None:
    reported = parse_reported_result("objective: -0.0\ny = nan")
    assert reported.objective == 0.0
    assert math.copysign(1.0, reported.objective) == -1.0
    assert math.isnan(reported.values["y"])


@pytest.mark.parametrize(
    "line",
    ["Objective: 36.0", "OBJECTIVE: 36", "objective value: 36", "Optimal objective: 36.0",
     "objective = 36", "  objective:36  ", "objective: 36.0 USD"],
)  # fmt: skip
def test_objective_key_variants(line: str) -> None:
    assert parse_reported_result(line).objective == 36.0


@pytest.mark.parametrize(
    ("printed", "expected"),
    [
        ("optimal", "optimal"),
        ("OPTIMAL", "optimal"),
        ("Optimal (gap 0%)", "optimal"),
        ("TerminationCondition.optimal", "optimal"),
        ("locallyOptimal", "optimal"),
        ("FEASIBLE", "feasible"),
        ("infeasible", "infeasible"),
        ("INFEASIBLE", "infeasible"),
        ("unbounded", "unbounded"),
        ("infeasibleOrUnbounded", "infeasible_or_unbounded"),
        ("infeasible_or_unbounded", "infeasible_or_unbounded"),
        ("infeasible or unbounded", "infeasible_or_unbounded"),
        ("maxTimeLimit", "time_limit"),
        ("time_limit", "time_limit"),
        ("MODEL_INVALID", "error"),
        ("error", "error"),
    ],
)
def test_status_words(printed: str, expected: str) -> None:
    reported = parse_reported_result(f"status: {printed}")
    assert reported.status == expected
    assert reported.raw_status == printed
    assert normalize_status(printed) == expected


def test_unknown_status_is_kept_raw() -> None:
    reported = parse_reported_result("status: UNKNOWN\n")
    assert reported.status is None
    assert reported.raw_status == "UNKNOWN"
    assert reported.has_status


def test_objective_none_clears_the_value() -> None:
    reported = parse_reported_result("objective: 5\nstatus: infeasible\nobjective: None\n")
    assert reported.objective is None
    assert reported.status == "infeasible"


def test_variable_labels() -> None:
    out = "x[1, 2] = 3\nm.y = 4\nflow[(a, b)] = 5\nz_2=6\nx[1,2] = 7\n"
    values = parse_reported_result(out).values
    assert values == {"x[1,2]": 7.0, "m.y": 4.0, "flow[(a,b)]": 5.0, "z_2": 6.0}


@pytest.mark.parametrize(
    "line", ["x = 3 + 2", "x == 3", "total = 5 units", "= 3", "1x = 3", "x = [1, 2]", "x = abc"]
)
def test_lines_that_are_not_variables(line: str) -> None:
    assert parse_reported_result(line).values == {}


def test_empty_output() -> None:
    reported = parse_reported_result("")
    assert reported.status is None and reported.objective is None and reported.values == {}
    assert not reported.has_status and not reported.has_objective


def test_statuses_match_solve_status() -> None:
    assert set(REPORTED_STATUSES) == {status.value for status in SolveStatus}


def test_to_dict_is_json_safe() -> None:
    reported = parse_reported_result("status: optimal\nobjective: inf\nx = nan")
    data = reported.to_dict()
    assert data["objective"] == "inf" and data["values"] == {"x": "nan"}


@given(st.floats(allow_nan=False), st.sampled_from(REPORTED_STATUSES))
def test_round_trip_of_printed_values(value: float, status: str) -> None:
    reported = parse_reported_result(f"noise\nstatus: {status}\nobjective: {value}\nv = {value!r}")
    assert reported.status == status
    assert reported.objective == value
    assert reported.values["v"] == value
