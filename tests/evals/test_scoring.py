"""Scoring rules on the edge cases: zero, negative, huge, floats, percentages, statuses."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from optiagent.datasets.ground_truth import parse_answer
from optiagent.datasets.records import GroundTruth
from optiagent.evals.scoring import DEFAULT_RULE, RULES, get_rule, parse_prediction
from optiagent.exceptions import ConfigurationError


def score(rule: str, prediction: object, answer: object, values: dict | None = None) -> bool:
    verdict = get_rule(rule).score(parse_prediction(prediction, values), parse_answer(answer))
    assert verdict.scored
    return verdict.correct


@pytest.mark.parametrize(
    ("raw", "kind", "value"),
    [
        (42, "value", 42.0),
        ("18.0", "value", 18.0),
        (" 1,200.5 ", "value", 1200.5),
        ("$35", "value", 35.0),
        ("-$35", "value", -35.0),
        ("12.5%", "value", 12.5),
        ("1e3", "value", 1000.0),
        ("infeasible", "infeasible", None),
        ("Infeasible.", "infeasible", None),
        ("No Best Solution", "infeasible", None),
        ("UNBOUNDED", "unbounded", None),
        (None, "none", None),
        ("", "none", None),
        ("about 12", "invalid", None),
        ("1,20", "invalid", None),
        (float("nan"), "invalid", None),
        (True, "invalid", None),
    ],
)
def test_parse_prediction(raw: object, kind: str, value: float | None) -> None:
    prediction = parse_prediction(raw)
    assert prediction.kind == kind and prediction.value == value


def test_default_rule_is_relative_one_in_a_million() -> None:
    assert DEFAULT_RULE == "rel1e-6" and next(iter(RULES)) == DEFAULT_RULE
    assert score("rel1e-6", 1_000_000.9, 1_000_000)  # 0.9 <= 1e-6 * 1e6
    assert not score("rel1e-6", 1_000_001.1, 1_000_000)
    assert score("rel1e-6", 0.0000009, 0)  # |gt| < 1 uses an absolute 1e-6
    assert not score("rel1e-6", 0.000002, 0)
    assert score("rel1e-6", -250.0002, -250)
    assert not score("rel1e-6", 250, -250)


def test_integers_printed_as_floats_and_strings() -> None:
    assert score("rel1e-6", "18.0", 18)
    assert score("rel1e-6", 18, "18.0")
    assert score("exact", "3600", 3600.0)


def test_huge_values() -> None:
    assert score("rel1e-6", 4.3166592e12, 4316659.2e6)
    assert not score("rel1e-6", 4.3167e12, 4316659.2e6)
    assert score("norm1e-6", 1e15 + 1e8, 1e15)


def test_percentages_keep_the_written_number() -> None:
    assert score("rel1e-6", "12.5%", 12.5)
    assert not score("rel1e-6", "12.5%", 0.125)


def test_status_ground_truths_match_only_the_same_status() -> None:
    for rule in RULES:
        assert score(rule, "infeasible", "No Best Solution")
        assert not score(rule, "unbounded", "No Best Solution")
        assert not score(rule, -9999, -9999)  # a marker, not a number to hit
        assert not score(rule, None, "infeasible")
        assert score(rule, "unbounded", "unbounded")
        assert not score(rule, "infeasible", 12)


def test_missing_ground_truth_is_not_scored() -> None:
    verdict = get_rule("rel1e-6").score(parse_prediction(5), parse_answer(None))
    assert not verdict.scored and "no ground truth" in verdict.reason


def test_list_ground_truth_accepts_any_element() -> None:
    assert score("rel1e-6", 11, "[10.5, 11]")
    assert not score("rel1e-6", 12, "[10.5, 11]")


def test_orlm_rounds_to_integers_then_allows_five_percent() -> None:
    assert score("orlm_5pct", 104.4, 100)
    assert not score("orlm_5pct", 105.6, 100)  # rounds to 106: 6% off
    assert score("orlm_5pct", 0.4, 0)  # both round to 0
    assert not score("orlm_5pct", 0.6, 0)
    assert score("orlm_5pct", -95.2, -100)


def test_mamo_uses_relative_or_written_decimals() -> None:
    assert score("mamo", 10000.5, "10000")  # relative 5e-5
    assert score("mamo", 12.004, "12")  # |err| < 0.01 (at least 2 decimals)
    assert not score("mamo", 12.02, "12")
    assert score("mamo", 1.2344, "1.2345")  # relative 8e-5
    assert score("mamo", 0.9, "0")  # zero gt: |pred| / 1e4 <= 1e-4
    assert not score("mamo", 1.5, "0")


def test_llmopt_round2_and_absolute_rules() -> None:
    assert score("llmopt_round2", 10.3333333, 10.33)
    assert not score("llmopt_round2", 10.336, 10.33)
    assert score("abs0.01", 5.009, 5)
    assert not score("abs0.01", 5.011, 5)
    assert score("abs0.1", 32.5, 32.43)
    assert not score("abs0.1", 32.6, 32.43)


def _optibench_truth() -> GroundTruth:
    requested = {"x": 10.0, "y": 2.5, "Total Profit": 3600.0}
    return GroundTruth(
        kind="value", value=3600.0, requested=requested, objective_key="Total Profit", raw="3600.0"
    )


def test_optibench_rule_checks_every_requested_value() -> None:
    rule = get_rule("optibench_abs1e-4")
    truth = _optibench_truth()
    good = parse_prediction(3600.00005, {"x": 10, "y": "2.50009"})
    assert rule.score(good, truth).correct  # the objective may come as the prediction
    off = rule.score(parse_prediction(3600, {"x": 10, "y": 2.5002}), truth)
    assert not off.correct and "'y'" in off.reason
    missing = rule.score(parse_prediction(3600), truth)
    assert not missing.correct and "2 of 3 values wrong" in missing.reason


def test_optibench_rule_scores_records_without_objective() -> None:
    truth = GroundTruth(kind="missing", requested={"a": 1.0, "b": 0.0}, note="no objective")
    rule = get_rule("optibench_abs1e-4")
    assert rule.score(parse_prediction(None, {"a": 1, "b": 0}), truth).correct
    assert not get_rule("rel1e-6").score(parse_prediction(1), truth).scored


def test_optibench_rule_falls_back_to_the_objective_elsewhere() -> None:
    assert score("optibench_abs1e-4", 7.00009, 7)
    assert not score("optibench_abs1e-4", 7.0002, 7)


def test_unknown_rule_suggests_one() -> None:
    with pytest.raises(ConfigurationError, match="Did you mean 'orlm_5pct'"):
        get_rule("orlm5pct")


def test_every_rule_has_a_description() -> None:
    assert all(rule.description and rule.name == key for key, rule in RULES.items())


finite = st.floats(min_value=-1e12, max_value=1e12, allow_nan=False)


@given(finite)
def test_the_truth_itself_is_correct_under_every_rule(value: float) -> None:
    truth = GroundTruth(kind="value", value=value, raw=repr(value))
    for rule in RULES.values():
        assert rule.score(parse_prediction(value), truth).correct, rule.name


@given(finite)
def test_default_rule_rejects_a_clear_miss(value: float) -> None:
    miss = value + 2e-6 * max(1.0, abs(value)) + 1e-9
    truth = GroundTruth(kind="value", value=value, raw=repr(value))
    assert not get_rule(DEFAULT_RULE).score(parse_prediction(miss), truth).correct
