"""The runner: concurrency limit, failures recorded, no ground truth to systems, resume."""

from __future__ import annotations

import asyncio
import json
import threading
import time
from pathlib import Path

import pytest

from optiagent.datasets.records import Task
from optiagent.evals.rundir import RunDirectory
from optiagent.evals.runner import RunProgress, run_evaluation, run_evaluation_sync
from optiagent.evals.systems import BlockingSystem, SystemOutput
from optiagent.evals.testing import ScriptedSystem, in_memory_dataset, synthetic_problems
from optiagent.exceptions import ConfigurationError


def _right_on_even(task: Task) -> SystemOutput:
    """Answer from the task alone: the formula behind synthetic optima, on even ids only."""
    i = int(task.id)
    if i % 10 == 9:
        return SystemOutput(prediction="infeasible", executed=True)
    value = 1000 + 7.25 * i if i % 2 == 0 else -1.0
    return SystemOutput(prediction=value, executed=True)


def _lines(directory: Path) -> list[dict]:
    text = (directory / "results.jsonl").read_text(encoding="utf-8")
    return [json.loads(line) for line in text.splitlines()]


def test_every_problem_is_recorded_and_scored(tmp_path: Path) -> None:
    data = in_memory_dataset(synthetic_problems(20))
    result = run_evaluation_sync(
        data, ScriptedSystem(_right_on_even), tmp_path / "run", chart=False
    )
    records = _lines(tmp_path / "run")
    assert sorted(int(r["id"]) for r in records) == list(range(20))
    right = {r["id"] for r in records if r["correct"]}
    expected = {str(i) for i in range(20) if i % 2 == 0 or i % 10 == 9}
    assert right == expected
    assert result.report.overall.correct == len(expected) and result.solved_now == 20
    assert all((tmp_path / "run" / r["trace"]).is_file() for r in records)


@pytest.mark.parametrize(("concurrency", "expected"), [(1, 1), (3, 3), (50, 12)])
def test_concurrency_limit_is_respected(tmp_path: Path, concurrency: int, expected: int) -> None:
    system = ScriptedSystem(_right_on_even, delay_s=0.01)
    data = in_memory_dataset(synthetic_problems(12))
    run_evaluation_sync(data, system, tmp_path / "run", concurrency=concurrency, chart=False)
    assert system.max_in_flight == expected
    assert len(system.tasks) == 12


class _Troublesome:
    """Crashes, hangs, misbehaves or answers depending on the task id."""

    name = "troublesome"

    def describe(self) -> dict[str, object]:
        return {"model": None}

    async def solve(self, task: Task) -> SystemOutput:
        if task.id == "1":
            raise RuntimeError("model endpoint exploded")
        if task.id == "2":
            await asyncio.sleep(30)
        if task.id == "3":
            raise TimeoutError("LLM call timed out")  # the system's own, not the budget
        if task.id == "4":
            return 42.0  # type: ignore[return-value]
        return _right_on_even(task)


def test_crashes_and_timeouts_are_recorded_not_fatal(tmp_path: Path) -> None:
    data = in_memory_dataset(synthetic_problems(8))
    run_evaluation_sync(data, _Troublesome(), tmp_path / "run", timeout_s=0.3, chart=False)
    records = {r["id"]: r for r in _lines(tmp_path / "run")}
    assert len(records) == 8
    assert records["1"]["status"] == "error" and "exploded" in records["1"]["error"]
    assert records["2"]["status"] == "timeout" and "0.3 s" in records["2"]["error"]
    assert records["3"]["status"] == "error" and "LLM call timed out" in records["3"]["error"]
    assert records["4"]["status"] == "error" and "not SystemOutput" in records["4"]["error"]
    for broken in "1234":
        assert records[broken]["scored"] and not records[broken]["correct"]
    assert records["0"]["status"] == "ok" and records["0"]["correct"]
    trace = json.loads((tmp_path / "run" / records["1"]["trace"]).read_text())
    assert "RuntimeError" in trace["traceback"]


def test_systems_never_receive_the_ground_truth(tmp_path: Path) -> None:
    problems = synthetic_problems(10)
    secrets = {repr(p.ground_truth.value) for p in problems if p.ground_truth.value}

    def spy(task: Task) -> SystemOutput:
        assert type(task) is Task and not hasattr(task, "ground_truth")
        text = json.dumps(task.to_dict())
        assert not any(secret in text for secret in secrets)
        return SystemOutput(prediction=None)

    system = ScriptedSystem(spy)
    run_evaluation_sync(in_memory_dataset(problems), system, tmp_path / "run", chart=False)
    records = _lines(tmp_path / "run")
    assert all(r["status"] == "ok" for r in records), [r["error"] for r in records]
    assert len(system.tasks) == 10


def test_resume_runs_only_what_is_missing(tmp_path: Path) -> None:
    problems = synthetic_problems(10)
    data = in_memory_dataset(problems)
    run_evaluation_sync(
        data, ScriptedSystem(_right_on_even), tmp_path / "run", problems=problems[:4], chart=False
    )
    second = ScriptedSystem(_right_on_even)
    result = run_evaluation_sync(data, second, tmp_path / "run", resume=True, chart=False)
    assert sorted(t.id for t in second.tasks) == [str(i) for i in range(4, 10)]
    ids = [r["id"] for r in _lines(tmp_path / "run")]
    assert sorted(ids, key=int) == [str(i) for i in range(10)] and len(set(ids)) == 10
    assert (result.solved_now, result.already_done) == (6, 4)
    config = json.loads((tmp_path / "run" / "config.json").read_text())
    assert len(config["resumes"]) == 1


def test_an_existing_run_is_not_overwritten_without_resume(tmp_path: Path) -> None:
    data = in_memory_dataset(synthetic_problems(2))
    run_evaluation_sync(data, ScriptedSystem(_right_on_even), tmp_path / "run", chart=False)
    with pytest.raises(ConfigurationError, match="--resume"):
        run_evaluation_sync(data, ScriptedSystem(_right_on_even), tmp_path / "run", chart=False)


@pytest.mark.parametrize("change", ["rule", "system", "dataset"])
def test_resume_refuses_different_settings(tmp_path: Path, change: str) -> None:
    problems = synthetic_problems(4)
    run_evaluation_sync(
        in_memory_dataset(problems), ScriptedSystem(_right_on_even), tmp_path / "run", chart=False
    )
    system = ScriptedSystem(_right_on_even)
    data = in_memory_dataset(problems)
    rule = None
    if change == "rule":
        rule = "orlm_5pct"
    elif change == "system":
        system = ScriptedSystem(_right_on_even, description={"model": "other-model"})
    else:
        data = in_memory_dataset(synthetic_problems(5))
    with pytest.raises(ConfigurationError, match="refusing to resume") as info:
        run_evaluation_sync(data, system, tmp_path / "run", resume=True, rule=rule, chart=False)
    expected = {"rule": "rule.name", "system": "system", "dataset": "dataset.sha256"}[change]
    assert expected in str(info.value)
    assert not system.tasks


def test_a_cut_off_last_line_is_dropped_and_rerun(tmp_path: Path) -> None:
    problems = synthetic_problems(6)
    data = in_memory_dataset(problems)
    run_dir = tmp_path / "run"
    run_evaluation_sync(
        data, ScriptedSystem(_right_on_even), run_dir, problems=problems[:3], chart=False
    )
    with (run_dir / "results.jsonl").open("a", encoding="utf-8") as handle:
        handle.write('{"id": "3", "status": "ok", "corr')  # what a kill mid-write leaves
    assert [r["id"] for r in RunDirectory(run_dir).read_results()] == ["0", "1", "2"]
    second = ScriptedSystem(_right_on_even)
    run_evaluation_sync(data, second, run_dir, resume=True, chart=False)
    assert sorted(t.id for t in second.tasks) == ["3", "4", "5"]
    assert sorted(r["id"] for r in _lines(run_dir)) == [str(i) for i in range(6)]


def test_two_writers_cannot_share_a_directory(tmp_path: Path) -> None:
    with RunDirectory(tmp_path / "run"), pytest.raises(ConfigurationError, match="another"):
        RunDirectory(tmp_path / "run").lock()
    RunDirectory(tmp_path / "run").lock().unlock()  # free again once the holder is done


def test_progress_is_reported_after_every_problem(tmp_path: Path) -> None:
    seen: list[RunProgress] = []
    data = in_memory_dataset(synthetic_problems(5))
    run_evaluation_sync(
        data, ScriptedSystem(_right_on_even), tmp_path / "run", on_progress=seen.append, chart=False
    )
    assert [p.done for p in seen] == [0, 1, 2, 3, 4, 5]
    assert seen[-1].total == 5 and seen[-1].scored == 5 and seen[-1].accuracy == 3 / 5


def test_invalid_run_options(tmp_path: Path) -> None:
    data = in_memory_dataset(synthetic_problems(1))
    with pytest.raises(ConfigurationError, match="concurrency"):
        run_evaluation_sync(data, ScriptedSystem(_right_on_even), tmp_path / "a", concurrency=0)
    with pytest.raises(ConfigurationError, match="budget"):
        run_evaluation_sync(data, ScriptedSystem(_right_on_even), tmp_path / "b", timeout_s=0)
    with pytest.raises(ConfigurationError, match="unknown scoring rule"):
        run_evaluation_sync(data, ScriptedSystem(_right_on_even), tmp_path / "c", rule="nope")


class _Sleepy(BlockingSystem):
    name = "sleepy"

    def __init__(self) -> None:
        super().__init__(max_workers=8)
        self.threads: set[int] = set()

    def describe(self) -> dict[str, object]:
        return {"model": None}

    def solve_blocking(self, task: Task) -> SystemOutput:
        self.threads.add(threading.get_ident())
        time.sleep(0.05)
        return _right_on_even(task)


def test_blocking_systems_run_in_parallel_threads(tmp_path: Path) -> None:
    system = _Sleepy()
    data = in_memory_dataset(synthetic_problems(8))
    asyncio.run(run_evaluation(data, system, tmp_path / "run", concurrency=4, chart=False))
    system.close()
    assert len(system.threads) >= 2  # solves overlapped in several worker threads
    assert len(_lines(tmp_path / "run")) == 8


def test_a_repeated_problem_runs_once(tmp_path: Path) -> None:
    problems = synthetic_problems(3)
    system = ScriptedSystem(_right_on_even)
    data = in_memory_dataset(problems)
    run_evaluation_sync(data, system, tmp_path / "run", problems=problems * 2, chart=False)
    assert [r["id"] for r in _lines(tmp_path / "run")].count("1") == 1
    assert len(system.tasks) == 3
