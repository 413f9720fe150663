"""Reports built from a scripted run: every metric, the failure list, the chart, comparisons."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from optiagent.datasets.records import Task
from optiagent.evals.compare import compare_runs
from optiagent.evals.prices import PriceTable
from optiagent.evals.publish import rebuild_report
from optiagent.evals.report import percentile
from optiagent.evals.runner import run_evaluation_sync
from optiagent.evals.systems import SystemOutput, SystemUsage
from optiagent.evals.testing import ScriptedSystem, in_memory_dataset, synthetic_problems
from optiagent.exceptions import ConfigurationError

PRICES = PriceTable.from_mapping({"test-model": {"prompt": 1.0, "completion": 2.0}})


def _scripted(task: Task) -> SystemOutput:
    """Ids 0-5: right (0 and 3 needed a repair); 6: wrong with feedback; 7: no solver result."""
    i = int(task.id)
    usage = SystemUsage(calls=2, prompt_tokens=1000, completion_tokens=500)
    if i == 6:
        return SystemOutput(
            prediction=1.0,
            executed=True,
            repairs=3,
            usage=usage,
            final_feedback="constraint cap_2 is violated by 4.0",
            confidence=0.25,
        )
    if i == 7:
        return SystemOutput(prediction=None, status="code_error", usage=usage, repairs=3)
    return SystemOutput(
        prediction=1000 + 7.25 * i,
        executed=True,
        repairs=1 if i % 3 == 0 else 0,
        usage=usage,
        confidence=1.0,
    )


@pytest.fixture
def run_dir(tmp_path: Path) -> Path:
    system = ScriptedSystem(_scripted, description={"model": "test-model", "endpoint": "local"})
    data = in_memory_dataset(synthetic_problems(8))
    run_evaluation_sync(data, system, tmp_path / "run", prices=PRICES)
    return tmp_path / "run"


def test_report_json_has_every_metric(run_dir: Path) -> None:
    report = json.loads((run_dir / "report.json").read_text())
    overall = report["overall"]
    assert (overall["problems"], overall["scored"], overall["correct"]) == (8, 8, 6)
    assert overall["accuracy"] == pytest.approx(6 / 8)
    assert overall["execution_rate"] == pytest.approx(7 / 8)
    assert overall["avg_repairs"] == pytest.approx((1 + 1 + 3 + 3) / 8)
    assert overall["agreement"] == pytest.approx((6 * 1.0 + 0.25) / 7)
    assert (overall["calls"], overall["prompt_tokens"], overall["completion_tokens"]) == (
        16,
        8000,
        4000,
    )
    assert overall["cost_usd"] == pytest.approx((8000 * 1.0 + 4000 * 2.0) / 1e6)
    assert set(overall["latency_s"]) == {"p50", "p90", "p95", "p99", "max", "mean"}
    assert report["run"]["rule"] == "rel1e-6" and report["run"]["model"] == "test-model"
    assert set(report["by_category"]) == {"LP", "MILP", "NLP"}
    assert report["by_category"]["LP"]["problems"] == 3
    assert set(report["by_table"]) == {"table", "no table"}


def test_failures_carry_their_final_feedback(run_dir: Path) -> None:
    report = json.loads((run_dir / "report.json").read_text())
    failures = {f["id"]: f for f in report["failures"]}
    assert set(failures) == {"6", "7"}
    assert failures["6"]["feedback"] == "constraint cap_2 is violated by 4.0"
    assert failures["7"]["prediction"] is None and failures["7"]["ground_truth"] == "1050.75"
    markdown = (run_dir / "report.md").read_text()
    assert "rel1e-6" in markdown and "|pred - gt| <= 1e-6 * max(1, |gt|)" in markdown
    assert "constraint cap_2 is violated by 4.0" in markdown
    assert "## By category" in markdown and "| MILP |" in markdown


def test_chart_is_a_png(run_dir: Path) -> None:
    assert (run_dir / "accuracy_by_category.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_report_is_rebuilt_from_the_directory_with_new_prices(run_dir: Path) -> None:
    (run_dir / "report.json").unlink()
    cheaper = PriceTable.from_mapping({"test-model": {"prompt": 0.5, "completion": 0.5}})
    report = rebuild_report(run_dir, cheaper, chart=False)
    assert report.overall.cost_usd == pytest.approx(12000 * 0.5 / 1e6)
    assert json.loads((run_dir / "report.json").read_text())["overall"]["correct"] == 6
    with pytest.raises(ConfigurationError, match="not a run directory"):
        rebuild_report(run_dir / "traces")


def test_unknown_model_has_no_cost(tmp_path: Path) -> None:
    data = in_memory_dataset(synthetic_problems(2))
    system = ScriptedSystem(_scripted, description={"model": "unpriced"})
    result = run_evaluation_sync(data, system, tmp_path / "run", prices=PRICES, chart=False)
    assert result.report.overall.cost_usd is None
    assert "n/a" in (tmp_path / "run" / "report.md").read_text()


def test_compare_lists_flipped_problems(run_dir: Path, tmp_path: Path) -> None:
    def better(task: Task) -> SystemOutput:
        return SystemOutput(prediction=1000 + 7.25 * int(task.id), executed=True)

    def worse(task: Task) -> SystemOutput:
        return better(task) if task.id != "2" else SystemOutput(prediction=0.0)

    data = in_memory_dataset(synthetic_problems(8))
    system = ScriptedSystem(better, description={"model": "test-model", "endpoint": "local"})
    other = tmp_path / "other"
    run_evaluation_sync(data, system, other, chart=False)
    comparison = compare_runs(run_dir, other)
    assert {f["id"] for f in comparison.fixed} == {"6", "7"}
    assert comparison.broken == [] and comparison.warnings == []
    assert comparison.groups["all"][1].correct == 8
    third = tmp_path / "third"
    run_evaluation_sync(data, ScriptedSystem(worse), third, rule="orlm_5pct", chart=False)
    reverse = compare_runs(other, third)
    assert [f["id"] for f in reverse.broken] == ["2"]
    assert any("different scoring rules" in w for w in reverse.warnings)


def test_percentile_interpolates() -> None:
    assert percentile([], 50) is None
    assert percentile([3.0], 99) == 3.0
    assert percentile([1.0, 2.0, 3.0, 4.0], 50) == 2.5
    assert percentile([0.0, 10.0], 90) == pytest.approx(9.0)


def test_price_files(tmp_path: Path) -> None:
    path = tmp_path / "prices.yaml"
    path.write_text("m:\n  prompt: 0.15\n  completion: 0.6\n", encoding="utf-8")
    table = PriceTable.load(path)
    assert table.cost("m", 1_000_000, 1_000_000) == pytest.approx(0.75)
    with pytest.raises(ConfigurationError, match="'prompt' and 'completion'"):
        PriceTable.from_mapping({"m": {"input": 1}})
    with pytest.raises(ConfigurationError, match=">= 0"):
        PriceTable.from_mapping({"m": {"prompt": -1, "completion": 1}})
