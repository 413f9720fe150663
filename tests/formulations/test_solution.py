"""Re-checking a solution against the formulation without a solver."""

from __future__ import annotations

from pathlib import Path

from optiagent.formulations.analysis import check_formulation
from optiagent.formulations.io import load_formulation
from optiagent.formulations.solution import check_solution

EXAMPLES = Path(__file__).parents[2] / "examples"


def test_optimal_wyndor_point_binds_plants_two_and_three() -> None:
    checked = check_formulation(load_formulation(EXAMPLES / "wyndor.yaml"))
    result = check_solution(checked, {"x": {(): 2.0}, "y": {(): 6.0}})
    assert result.objective == 36 and result.feasible
    assert [c.label for c in result.binding] == ["plant2", "plant3"]


def test_violations_and_bound_breaks_are_found() -> None:
    checked = check_formulation(load_formulation(EXAMPLES / "wyndor.yaml"))
    result = check_solution(checked, {"x": {(): 5.0}, "y": {(): -1.0}})
    assert [c.label for c in result.violated] == ["plant1"]
    assert result.violated[0].violation == 1.0
    assert any("negative" in b for b in result.bound_violations)


def test_integrality_and_overlap_are_checked() -> None:
    checked = check_formulation(load_formulation(EXAMPLES / "jobshop.yaml"))
    zeros = {"task": {key: 0.0 for key in checked.data.product(["Tasks"])}, "makespan": {(): 2.5}}
    result = check_solution(checked, zeros)
    assert any(c.name == "one_task_per_machine" for c in result.violated)
    assert any("whole number" in b for b in result.bound_violations)
