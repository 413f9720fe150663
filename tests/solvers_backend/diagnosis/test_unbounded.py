"""Unbounded models, 'infeasible or unbounded' results, and results that need no diagnosis."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import pytest

from optiagent.formulations.analysis import CheckedFormulation
from optiagent.solvers_backend.api import solve
from optiagent.solvers_backend.diagnosis import diagnose
from optiagent.solvers_backend.results import SolveResult, SolveStatus

Model = Callable[[dict[str, Any] | str], CheckedFormulation]


def _stub(status: SolveStatus) -> SolveResult:
    return SolveResult(status=status, backend="stub")


def test_unbounded_lp_names_the_variables_that_run_off(model: Model) -> None:
    checked = model(
        {
            "variables": {"x": "nonnegative_real", "y": "nonnegative_real"},
            "objective": {"maximize": "x + y"},
            "constraints": {"c1": "x - y <= 1"},
        }
    )
    result = solve(checked)
    assert result.status is SolveStatus.UNBOUNDED
    diagnosis = diagnose(checked, result)
    assert diagnosis is not None and diagnosis.kind == "unbounded" and diagnosis.method == "box"
    assert [
        (r.label, r.direction, r.objective_coefficient, r.constraints) for r in diagnosis.unbounded
    ] == [
        ("x", "+", 1.0, ("c1",)),
        ("y", "+", 1.0, ("c1",)),
    ]
    text = diagnosis.feedback()
    assert text.startswith(
        "The model is unbounded: the objective (maximize x + y) grows without limit."
    )
    assert "x increases (objective coefficient +1); y increases (objective coefficient +1)" in text
    assert "x and y appear only in c1 (x - y <= 1), which does not limit this direction" in text
    assert "Add the missing capacity, resource or demand constraint, or a bound on x and y" in text


def test_minimize_with_free_variables_and_one_in_no_constraint(model: Model) -> None:
    checked = model(
        {
            "variables": {"x": "real", "y": "real", "z": "nonnegative_real"},
            "objective": {"minimize": "x - 2*z"},
            "constraints": {"c1": "x + y >= 1"},
        }
    )
    diagnosis = diagnose(checked, solve(checked))
    assert diagnosis is not None and diagnosis.kind == "unbounded"
    runs = {r.label: (r.direction, r.objective_coefficient) for r in diagnosis.unbounded}
    assert runs == {"x": ("-", 1.0), "y": ("+", None), "z": ("+", -2.0)}
    text = diagnosis.feedback()
    assert "(minimize x - 2*z) decreases without limit" in text
    assert "x decreases (objective coefficient +1)" in text
    assert "z increases (objective coefficient -2)" in text
    assert "z appears in no constraint" in text


def test_indexed_variables_are_grouped_by_name(model: Model) -> None:
    checked = model(
        {
            "sets": {"Items": ["a", "b", "c"]},
            "parameters": {"profit": {"index": ["Items"], "value": [3, 4, 5]}},
            "variables": {"make": {"index": ["Items"]}},
            "objective": {"maximize": "sum(profit[i] * make[i] for i in Items)"},
            "constraints": {"cap_a": "make['a'] <= 10"},
        }
    )
    diagnosis = diagnose(checked, solve(checked))
    assert diagnosis is not None
    assert [r.label for r in diagnosis.unbounded] == ["make[b]", "make[c]"]
    text = diagnosis.feedback()
    assert "make at make[b], make[c] increases (objective coefficient +4, +5)" in text
    assert "make appears in no constraint" in text


def test_infeasible_or_unbounded_from_highs_is_settled_as_unbounded(model: Model) -> None:
    checked = model(
        {
            "variables": {"x": "nonnegative_integer", "y": "nonnegative_integer"},
            "objective": {"maximize": "x + y"},
            "constraints": {"c1": "x - y <= 1"},
        }
    )
    result = solve(checked)
    assert result.status is SolveStatus.INFEASIBLE_OR_UNBOUNDED  # HiGHS's MIP presolve
    diagnosis = diagnose(checked, result)
    assert diagnosis is not None and diagnosis.kind == "unbounded"
    assert {r.label for r in diagnosis.unbounded} == {"x", "y"}
    lines = diagnosis.feedback().splitlines()
    assert "found a feasible point, so the model is unbounded" in lines[1]


def test_infeasible_or_unbounded_settled_as_infeasible(model: Model) -> None:
    checked = model("infeasible.yaml")
    diagnosis = diagnose(checked, _stub(SolveStatus.INFEASIBLE_OR_UNBOUNDED))
    assert diagnosis is not None and diagnosis.kind == "infeasible"
    assert {m.name for m in diagnosis.conflicts} == {"at_least_ten", "at_most_five"}
    assert "found no feasible point, so the model is infeasible" in diagnosis.feedback()


def test_a_bounded_model_reported_infeasible_or_unbounded_is_undetermined(model: Model) -> None:
    checked = model("wyndor.yaml")
    diagnosis = diagnose(checked, _stub(SolveStatus.INFEASIBLE_OR_UNBOUNDED))
    assert diagnosis is not None and diagnosis.kind == "undetermined"
    assert diagnosis.unbounded == []
    text = diagnosis.feedback()
    assert "could not confirm the solver's status" in text and "looks bounded" in text


def test_a_model_reported_unbounded_without_feasible_points_is_explained_as_infeasible(
    model: Model,
) -> None:
    checked = model("infeasible.yaml")
    diagnosis = diagnose(checked, _stub(SolveStatus.UNBOUNDED))
    assert diagnosis is not None and diagnosis.kind == "infeasible"
    assert "reported the model unbounded, but a re-solve found no feasible point" in (
        diagnosis.feedback()
    )


def test_a_model_reported_infeasible_that_is_feasible_gets_a_numerical_warning(
    model: Model,
) -> None:
    diagnosis = diagnose(model("wyndor.yaml"), _stub(SolveStatus.INFEASIBLE))
    assert diagnosis is not None and diagnosis.conflict_sets == []
    assert "may be numerical" in diagnosis.feedback()


@pytest.mark.parametrize(
    "status",
    [SolveStatus.OPTIMAL, SolveStatus.FEASIBLE, SolveStatus.TIME_LIMIT, SolveStatus.ERROR],
)
def test_other_statuses_need_no_diagnosis(model: Model, status: SolveStatus) -> None:
    assert diagnose(model("wyndor.yaml"), _stub(status)) is None


def test_to_dict_is_json_ready_and_carries_the_feedback(model: Model) -> None:
    checked = model("infeasible.yaml")
    diagnosis = diagnose(checked, solve(checked))
    assert diagnosis is not None
    payload = json.loads(json.dumps(diagnosis.to_dict()))
    assert payload["kind"] == "infeasible" and payload["method"] == "iis"
    assert payload["feedback"] == diagnosis.feedback()
    names = {m["name"] for s in payload["conflict_sets"] for m in s["members"]}
    assert names == {"at_least_ten", "at_most_five"}
