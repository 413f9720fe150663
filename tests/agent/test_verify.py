"""The runs-but-wrong checks: each fires on its pattern and stays quiet on the usual cases."""

from __future__ import annotations

from typing import Any

import pytest

from optiagent.agent.proposal import AnswerSpec, Proposal
from optiagent.agent.verify import check_answer_target, verify_solution
from optiagent.formulations.analysis import check_formulation
from optiagent.formulations.io import parse_formulation
from optiagent.formulations.solution import check_solution
from optiagent.solvers_backend.api import solve


def _findings(document: dict[str, Any]) -> list[str]:
    checked = check_formulation(parse_formulation(document))
    result = solve(checked)
    return [f.check for f in verify_solution(checked, result, check_solution(checked, result.values))]


def test_counted_things_left_fractional() -> None:
    staff = {
        "variables": {"trucks": {"description": "number of trucks"}},
        "objective": {"minimize": "trucks"},
        "constraints": {"load": "7 * trucks >= 30"},
    }
    assert "counted_continuous" in _findings(staff)
    staff["variables"]["trucks"]["domain"] = "nonnegative_integer"
    assert "counted_continuous" not in _findings(staff)


def test_all_zero_plan() -> None:
    lazy = {"variables": {"x": {}, "y": {}}, "objective": {"minimize": "3*x + y"}}
    assert "trivial_plan" in _findings(lazy)


def test_negative_cost_only_when_every_term_is_nonnegative() -> None:
    signed = {
        "variables": {"x": {"domain": "real", "lower": -5, "upper": 5}},
        "objective": {"minimize": "2 * x", "description": "total cost"},
    }
    assert "objective_sign" in _findings({**signed, "description": "cost model"})
    credit = {
        "variables": {"x": {"upper": 5}, "y": {"upper": 2}},
        "objective": {"minimize": "x - 10 * y", "description": "net cost after credits"},
    }
    assert "objective_sign" not in _findings(credit)


def test_negative_profit_when_maximized() -> None:
    loss = {
        "variables": {"x": {"lower": 1, "upper": 3}},
        "objective": {"maximize": "-4 * x", "description": "profit"},
    }
    assert "objective_sign" in _findings(loss)


def test_unused_variables() -> None:
    unused = {"variables": {"x": {"upper": 3}, "spare": {}}, "objective": {"maximize": "x"}}
    assert "unused_variables" in _findings(unused)


def _proposal(objective_description: str = "", expression: str | None = None) -> Proposal:
    document = {"variables": {"x": {}}, "objective": {"sense": "maximize", "expression": "x", "description": objective_description}}
    return Proposal(formulation=parse_formulation(document), answer=AnswerSpec(expression=expression))


@pytest.mark.parametrize(
    ("question", "fires"),
    [
        ("A fleet moves 30 tons with 7-ton trucks. How many trucks are needed?", True),
        ("How many of each product should be made to maximize profit?", False),
        ("How many chairs should be made to maximize profit?", False),
        ("What is the maximum profit?", False),
    ],
)
def test_answer_target(question: str, fires: bool) -> None:
    assert bool(check_answer_target(question, _proposal())) is fires


def test_answer_target_is_quiet_when_an_expression_is_given() -> None:
    assert check_answer_target("How many trucks are needed?", _proposal(expression="x")) == []
