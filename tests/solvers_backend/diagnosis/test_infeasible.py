"""Infeasible models: the conflicting constraints, bounds and integrality, and what must give."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from optiagent.formulations.analysis import CheckedFormulation, check_formulation
from optiagent.formulations.io import dump_formulation, parse_formulation
from optiagent.solvers_backend.api import solve
from optiagent.solvers_backend.diagnosis import Diagnosis, diagnose
from optiagent.solvers_backend.results import SolveStatus

Model = Callable[[dict[str, Any] | str], CheckedFormulation]
Example = Callable[[str], dict[str, Any]]


def _diagnosis(checked: CheckedFormulation, **options: Any) -> Diagnosis:
    result = solve(checked, time_limit=10)
    assert result.status is SolveStatus.INFEASIBLE
    diagnosis = diagnose(checked, result, **options)
    assert diagnosis is not None and diagnosis.kind == "infeasible"
    return diagnosis


def _repairs(diagnosis: Diagnosis, set_index: int = 0) -> dict[tuple[str, str], float]:
    return {(r.kind, r.name): r.total for r in diagnosis.conflict_sets[set_index].repairs}


def test_example_names_both_constraints_and_the_amount(model: Model) -> None:
    diagnosis = _diagnosis(model("infeasible.yaml"))
    assert diagnosis.method == "iis"
    (conflict,) = diagnosis.conflict_sets
    assert conflict.irreducible
    assert {m.name for m in conflict.members} == {"at_least_ten", "at_most_five"}
    assert _repairs(diagnosis) == {
        ("constraint", "at_least_ten"): pytest.approx(5),
        ("constraint", "at_most_five"): pytest.approx(5),
    }
    text = diagnosis.feedback()
    assert text.startswith("The model is infeasible.")
    assert "constraint at_least_ten: x + y >= 10" in text
    assert "constraint at_most_five: x + y <= 5" in text
    assert "relax at_most_five by 5 (x + y <= 10 instead of <= 5)" in text
    assert "relax at_least_ten by 5 (x + y >= 5 instead of >= 10)" in text
    assert "direction (<= vs >=)" in text


def test_transport_shortfall_names_supply_and_demand_and_the_shortfall(
    short_transport: CheckedFormulation,
) -> None:
    diagnosis = _diagnosis(short_transport)
    (conflict,) = diagnosis.conflict_sets
    assert {m.name for m in conflict.members} == {"supply_limit", "meet_demand"}
    assert len(conflict.members) == 5  # every plant and every market takes part
    assert _repairs(diagnosis) == {
        ("constraint", "supply_limit"): pytest.approx(50),
        ("constraint", "meet_demand"): pytest.approx(50),
    }
    text = diagnosis.feedback()
    assert "supply_limit (sum(ship[p, m] for m in Markets) <= supply[p], for p in Plants)" in text
    assert (
        "all 2 instances: supply_limit[seattle] (<= 350), supply_limit[san-diego] (<= 500)" in text
    )
    assert "all 3 instances" in text and "meet_demand[chicago] (>= 300)" in text
    assert "relax supply_limit by 50" in text and "relax meet_demand by 50" in text


def test_a_declared_bound_against_a_constraint(model: Model) -> None:
    checked = model(
        {
            "variables": {"x": {"domain": "real", "upper": 4}, "y": "nonnegative_real"},
            "objective": {"minimize": "x + y"},
            "constraints": {"need_six": "x >= 6", "unrelated": "x + y <= 100"},
        }
    )
    diagnosis = _diagnosis(checked)
    (conflict,) = diagnosis.conflict_sets
    assert [(m.kind, m.name, m.bound) for m in conflict.members] == [
        ("constraint", "need_six", 6),
        ("upper_bound", "x", 4),
    ]
    assert _repairs(diagnosis) == {
        ("constraint", "need_six"): pytest.approx(2),
        ("upper_bound", "x"): pytest.approx(2),
    }
    text = diagnosis.feedback()
    assert "the upper bound of x: x <= 4 (declared upper bound 4)" in text
    assert "raise the upper bound of x by 2 (x <= 6 instead of <= 4)" in text
    assert "unrelated" not in text
    assert "the variables' bounds and domains" in text


def test_indexed_bounds_from_a_parameter(model: Model) -> None:
    checked = model(
        {
            "sets": {"Items": ["a", "b", "c"]},
            "parameters": {"cap": {"index": ["Items"], "value": {"a": 4, "b": 3, "c": 5}}},
            "variables": {"make": {"index": ["Items"], "upper": "cap"}},
            "objective": {"minimize": "sum(make[i] for i in Items)"},
            "constraints": {"total": "sum(make[i] for i in Items) >= 20"},
        }
    )
    diagnosis = _diagnosis(checked)
    assert _repairs(diagnosis) == {
        ("constraint", "total"): pytest.approx(8),
        ("upper_bound", "make"): pytest.approx(8),
    }
    text = diagnosis.feedback()
    assert "the upper bounds of make (declared upper bound: parameter cap), all 3 instances" in text
    assert "make[b] <= 3" in text


def test_integrality_that_the_lp_relaxation_hides(model: Model) -> None:
    checked = model(
        {
            "variables": {"x": "integer"},
            "objective": {"minimize": "x"},
            "constraints": {"half": "2*x == 3"},
        }
    )
    diagnosis = _diagnosis(checked)
    assert diagnosis.integrality_involved is True
    assert diagnosis.method == "deletion_filter"
    (conflict,) = diagnosis.conflict_sets
    assert {(m.kind, m.name) for m in conflict.members} == {
        ("constraint", "half"),
        ("integrality", "x"),
    }
    assert _repairs(diagnosis) == {
        ("constraint", "half"): pytest.approx(1),
        ("integrality", "x"): 0.0,
    }
    text = diagnosis.feedback()
    assert "x must take whole values (domain integer)" in text
    assert "let x take fractional values" in text
    assert "Integrality is part of the conflict" in text
    assert "2*x == 2 instead of == 3" in text or "2*x == 4 instead of == 3" in text


def test_a_milp_whose_relaxation_is_infeasible_uses_the_iis(example: Example) -> None:
    document = example("knapsack.yaml")
    document["constraints"]["enough"] = "sum(weight[i] * take[i] for i in Items) >= 70"
    diagnosis = _diagnosis(check_formulation(parse_formulation(document)))
    assert diagnosis.method == "iis" and diagnosis.integrality_involved is False
    (conflict,) = diagnosis.conflict_sets
    assert {(m.kind, m.name) for m in conflict.members} == {
        ("constraint", "enough"),
        ("constraint", "fits"),
    }
    # at most 60 kg exist, so a larger capacity alone cannot reach 70
    assert _repairs(diagnosis) == {("constraint", "enough"): pytest.approx(20)}
    assert conflict.blocked == ["fits"]
    text = diagnosis.feedback()
    assert "relax enough by 20" in text
    assert "Changing only fits cannot restore feasibility" in text


def test_bounds_that_come_from_a_binary_domain(example: Example) -> None:
    document = example("knapsack.yaml")
    document["parameters"]["capacity"]["value"] = 100
    document["constraints"]["enough"] = "sum(weight[i] * take[i] for i in Items) >= 70"
    diagnosis = _diagnosis(check_formulation(parse_formulation(document)))
    (conflict,) = diagnosis.conflict_sets
    assert {(m.kind, m.name) for m in conflict.members} == {
        ("constraint", "enough"),
        ("upper_bound", "take"),
    }
    assert _repairs(diagnosis) == {
        ("constraint", "enough"): pytest.approx(10),
        ("upper_bound", "take"): pytest.approx(1),
    }
    text = diagnosis.feedback()
    assert "the upper bounds of take (domain binary), all 3 instances: take[item1] <= 1" in text
    assert "let take exceed the upper bound of its domain binary by 1" in text


def test_two_independent_conflicts_are_both_reported(model: Model) -> None:
    checked = model(
        {
            "variables": {
                "a": "nonnegative_real",
                "b": "nonnegative_real",
                "c": "nonnegative_real",
            },
            "objective": {"minimize": "a + b + c"},
            "constraints": {
                "a_min": "a >= 5",
                "a_max": "a <= 3",
                "bc_min": "b + c >= 7",
                "bc_max": "b + c <= 1",
                "total": "a + b + c <= 100",
            },
        }
    )
    diagnosis = _diagnosis(checked)
    found = sorted(sorted(m.name for m in s.members) for s in diagnosis.conflict_sets)
    assert found == [["a_max", "a_min"], ["bc_max", "bc_min"]]
    assert all(not r.fixes_model for s in diagnosis.conflict_sets for r in s.repairs)
    # the whole-model relaxation gives 6 on one of bc_min/bc_max and 2 on one of a_min/a_max
    assert diagnosis.elastic_total == pytest.approx(8)
    amounts = sorted((m.relax_by or 0.0, m.name[:2]) for m in diagnosis.elastic)
    assert amounts == [(pytest.approx(2), "a_"), (pytest.approx(6), "bc")]
    text = diagnosis.feedback()
    assert "Conflict 1 of 2" in text and "Conflict 2 of 2" in text
    assert "which resolves this conflict only" in text
    assert "Relaxing every constraint as little as possible in total (total 8)" in text
    assert "constraint total" not in text


def test_nonlinear_conflict_through_scip(model: Model) -> None:
    checked = model(
        {
            "variables": {"x": "nonnegative_real", "y": {"upper": 4}},
            "objective": {"minimize": "x + y"},
            "constraints": {"area": "x * y >= 20", "x_cap": "x <= 3", "loose": "x + y <= 50"},
        }
    )
    diagnosis = _diagnosis(checked)
    assert diagnosis.method == "deletion_filter"
    (conflict,) = diagnosis.conflict_sets
    kinds = {(m.kind, m.name) for m in conflict.members}
    assert {("constraint", "area"), ("constraint", "x_cap"), ("upper_bound", "y")} <= kinds
    assert ("constraint", "loose") not in kinds
    repairs = _repairs(diagnosis)
    assert repairs[("constraint", "x_cap")] == pytest.approx(2, rel=1e-4)
    assert repairs[("constraint", "area")] == pytest.approx(8, rel=1e-4)
    assert repairs[("upper_bound", "y")] == pytest.approx(20 / 3 - 4, rel=1e-4)
    text = diagnosis.feedback()
    assert "constraint area: x * y >= 20" in text and "relax x_cap by 2" in text


def test_a_nonlinear_constraint_with_variables_on_both_sides(model: Model) -> None:
    checked = model(
        {
            "variables": {"x": "nonnegative_real", "y": "nonnegative_real"},
            "objective": {"minimize": "x"},
            "constraints": {"curve": "exp(x) <= y", "y_cap": "y <= 0.5"},
        }
    )
    diagnosis = _diagnosis(checked)
    (conflict,) = diagnosis.conflict_sets
    assert {(m.kind, m.name) for m in conflict.members} == {
        ("constraint", "curve"),
        ("constraint", "y_cap"),
        ("lower_bound", "x"),
    }
    text = diagnosis.feedback()
    assert "relax curve by 0.5 (curve: its left side may exceed its right side by 0.5)" in text
    assert "let x go below the lower bound of its domain nonnegative_real by 0.693147" in text


def test_instances_of_one_constraint_that_fail_on_their_own(model: Model) -> None:
    checked = model(
        {
            "sets": {"T": [1, 2, 3, 4]},
            "variables": {"x": {"index": ["T"], "domain": "real"}},
            "objective": {"minimize": "sum(x[t] * x[t] for t in T)"},
            "constraints": {"square": {"forall": "t in T", "expression": "x[t] * x[t] <= 2 - t"}},
        }
    )
    diagnosis = _diagnosis(checked)
    assert sorted(m.label for m in diagnosis.conflicts) == ["square[3]", "square[4]"]
    assert all(s.irreducible and len(s.members) == 1 for s in diagnosis.conflict_sets)
    text = diagnosis.feedback()
    assert "Conflict 1 of 2: this cannot hold, even with everything else removed:" in text
    assert "square[4] <= 0 instead of <= -2" in text  # solver noise (-1e-09) is rounded away
    assert diagnosis.elastic_total == pytest.approx(3)


def test_scheduling_conflict_through_cp_sat(example: Example) -> None:
    document = example("jobshop.yaml")
    document["constraints"]["deadline"] = "makespan <= 8"
    diagnosis = _diagnosis(check_formulation(parse_formulation(document)))
    (conflict,) = diagnosis.conflict_sets
    assert conflict.irreducible
    # machine 1 has 2 + 4 + 4 = 10 hours of work: its no-overlap, the three tasks'
    # makespan bounds and the deadline conflict
    assert [m.label for m in conflict.members if m.name == "one_task_per_machine"] == [
        "one_task_per_machine[1]"
    ]
    assert {m.label for m in conflict.members if m.name == "makespan_bound"} == {
        "makespan_bound[0,1]",
        "makespan_bound[1,2]",
        "makespan_bound[2,0]",
    }
    text = diagnosis.feedback()
    assert "constraint deadline: makespan <= 8" in text
    assert "Variable bounds and domains were kept in force" in text


def test_a_false_data_only_constraint_is_reported_with_any_other_conflict(model: Model) -> None:
    checked = model(
        {
            "parameters": {"cap": 3},
            "variables": {"x": "nonnegative_real", "y": "nonnegative_real"},
            "objective": {"minimize": "x"},
            "constraints": {"bad": "cap >= 5", "lo": "x + y >= 10", "hi": "x + y <= 5"},
        }
    )
    diagnosis = _diagnosis(checked)
    assert [s.members[0].kind for s in diagnosis.conflict_sets] == ["data", "constraint"]
    text = diagnosis.feedback()
    assert "bad (cap >= 5) reduces to 3 >= 5 without any variable" in text
    assert "Fix the data or the expression" in text
    assert "constraint lo: x + y >= 10" in text


def test_only_a_data_only_conflict(model: Model) -> None:
    checked = model(
        {
            "parameters": {"cap": 3},
            "variables": {"x": "nonnegative_real"},
            "objective": {"minimize": "x"},
            "constraints": {"bad": "cap >= 5", "ok": "x >= 1"},
        }
    )
    diagnosis = _diagnosis(checked)
    assert diagnosis.method == "trivial"
    assert [m.name for m in diagnosis.conflicts] == ["bad"]


def test_the_callers_formulation_is_left_alone(short_transport: CheckedFormulation) -> None:
    before = dump_formulation(short_transport.formulation, "json")
    instances = list(short_transport.analysis.instances)
    objective = short_transport.analysis.objective
    _diagnosis(short_transport)
    assert dump_formulation(short_transport.formulation, "json") == before
    assert short_transport.analysis.instances == instances
    assert short_transport.analysis.objective is objective


def test_an_exhausted_budget_says_so(short_transport: CheckedFormulation) -> None:
    diagnosis = _diagnosis(short_transport, max_solves=1)
    assert diagnosis.conflict_sets == [] and diagnosis.solves == 1
    assert "used up its budget (1 solve," in diagnosis.feedback()


def test_a_partial_search_does_not_claim_irreducibility(
    short_transport: CheckedFormulation,
) -> None:
    diagnosis = _diagnosis(short_transport, max_solves=3)
    (conflict,) = diagnosis.conflict_sets
    assert not conflict.irreducible
    assert "may include parts that are not needed" in diagnosis.feedback()
