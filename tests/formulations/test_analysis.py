"""Classification of models into LP, MILP, convex QP, ..., CP."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from optiagent.formulations.analysis import ProblemClass, check_formulation
from optiagent.formulations.io import load_formulation, parse_formulation

EXAMPLES = Path(__file__).parents[2] / "examples"


def _class(
    objective: dict[str, str], constraints: dict[str, str], integer: bool = False
) -> ProblemClass:
    domain = "integer" if integer else "real"
    document: dict[str, Any] = {
        "variables": {
            "x": {"domain": domain, "lower": -5, "upper": 5},
            "y": {"lower": 0, "upper": 5},
        },
        "objective": objective,
        "constraints": constraints,
    }
    return check_formulation(parse_formulation(document)).problem_class


@pytest.mark.parametrize(
    ("objective", "constraints", "integer", "expected"),
    [
        ({"maximize": "x + y"}, {"c": "x + 2*y <= 4"}, False, ProblemClass.LP),
        ({"maximize": "x + y"}, {"c": "x + 2*y <= 4"}, True, ProblemClass.MILP),
        ({"minimize": "x**2 + y**2 - x*y"}, {"c": "x + y >= 1"}, False, ProblemClass.CONVEX_QP),
        ({"maximize": "-(x - 1)**2 - y**2"}, {"c": "x + y >= 1"}, False, ProblemClass.CONVEX_QP),
        ({"minimize": "x*y"}, {"c": "x + y >= 1"}, False, ProblemClass.NONCONVEX_QP),
        ({"maximize": "x**2"}, {"c": "x + y >= 1"}, False, ProblemClass.NONCONVEX_QP),
        ({"minimize": "x**2 + y"}, {"c": "x + y >= 1"}, True, ProblemClass.MIQP),
        ({"minimize": "x + y"}, {"c": "x**2 + y**2 <= 4"}, False, ProblemClass.QCP),
        ({"minimize": "x + y"}, {"c": "x*y >= 1"}, True, ProblemClass.MINLP),
        ({"minimize": "exp(x) + y"}, {"c": "x + y >= 1"}, False, ProblemClass.NLP),
        ({"minimize": "x + y"}, {"c": "sqrt(y) >= 1"}, True, ProblemClass.MINLP),
        ({"minimize": "x**3"}, {"c": "x + y >= 1"}, False, ProblemClass.NLP),
        ({"minimize": "abs(x - 2)"}, {"c": "x + y >= 1"}, False, ProblemClass.NLP),
        ({"minimize": "x / y"}, {"c": "x + y >= 1"}, False, ProblemClass.NLP),
    ],
)
def test_classes(
    objective: dict[str, str], constraints: dict[str, str], integer: bool, expected: ProblemClass
) -> None:
    assert _class(objective, constraints, integer) is expected


def test_global_constraints_make_a_cp_model() -> None:
    document = {
        "sets": {"I": [1, 2, 3]},
        "variables": {"v": {"index": ["I"], "domain": "integer", "lower": 1, "upper": 3}},
        "objective": {"minimize": "v[1]"},
        "constraints": {"distinct": "all_different(v[i] for i in I)"},
    }
    assert check_formulation(parse_formulation(document)).problem_class is ProblemClass.CP


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("wyndor", ProblemClass.LP),
        ("transport", ProblemClass.LP),
        ("knapsack", ProblemClass.MILP),
        ("max_product", ProblemClass.NONCONVEX_QP),
        ("projection_qp", ProblemClass.CONVEX_QP),
        ("integer_nlp", ProblemClass.MIQP),
        ("jobshop", ProblemClass.CP),
        ("infeasible", ProblemClass.LP),
    ],
)
def test_examples_are_classified(name: str, expected: ProblemClass) -> None:
    assert check_formulation(load_formulation(EXAMPLES / f"{name}.yaml")).problem_class is expected


def test_data_only_constraint_that_is_false_is_recorded() -> None:
    document = {
        "parameters": {"a": 3},
        "variables": {"x": {}},
        "objective": {"minimize": "x"},
        "constraints": {"impossible": "a >= 5", "fine": "a <= 5"},
    }
    analysis = check_formulation(parse_formulation(document)).analysis
    assert len(analysis.trivially_false) == 1 and "impossible" in analysis.trivially_false[0]
    assert analysis.instances == []


def test_instances_are_labelled_by_their_loop_values() -> None:
    checked = check_formulation(load_formulation(EXAMPLES / "transport.yaml"))
    labels = [i.label for i in checked.analysis.instances]
    assert "supply_limit[seattle]" in labels and "meet_demand[topeka]" in labels
