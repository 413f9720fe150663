"""Kill a real runner process mid-run with SIGKILL, resume, and lose or repeat nothing."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from optiagent.datasets.records import Task
from optiagent.evals.runner import run_evaluation_sync
from optiagent.evals.systems import SystemOutput
from optiagent.evals.testing import ScriptedSystem, in_memory_dataset, synthetic_problems

TARGET = Path(__file__).with_name("kill_target.py")
COUNT = 60


def _answer(task: Task) -> SystemOutput:
    return SystemOutput(prediction=1000 + 7.25 * int(task.id), executed=True)


def _complete_ids(results: Path) -> list[str]:
    if not results.is_file():
        return []
    text = results.read_text(encoding="utf-8")
    return [json.loads(line)["id"] for line in text.split("\n")[:-1] if line]


def _wait_for_results(process: subprocess.Popen[bytes], results: Path, at_least: int) -> None:
    deadline = time.monotonic() + 60
    while len(_complete_ids(results)) < at_least:
        if process.poll() is not None:
            _, stderr = process.communicate()
            pytest.fail(f"the runner exited early ({process.returncode}): {stderr.decode()}")
        if time.monotonic() > deadline:
            process.kill()
            pytest.fail("the runner recorded nothing within 60 s")
        time.sleep(0.01)


@pytest.mark.skipif(not hasattr(signal, "SIGKILL"), reason="needs SIGKILL")
def test_killed_run_resumes_without_duplicates_or_losses(tmp_path: Path) -> None:
    run_dir = tmp_path / "run"
    results = run_dir / "results.jsonl"
    process = subprocess.Popen(
        [sys.executable, str(TARGET), str(run_dir), str(COUNT), "0.05"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    _wait_for_results(process, results, at_least=8)
    os.kill(process.pid, signal.SIGKILL)
    process.communicate()
    assert process.returncode == -signal.SIGKILL
    before = _complete_ids(results)
    assert 8 <= len(before) < COUNT, "the kill must land mid-run"
    assert len(set(before)) == len(before)

    # resume in this process: same system name and description, no delay
    system = ScriptedSystem(_answer, name="kill-target")
    data = in_memory_dataset(synthetic_problems(COUNT))
    result = run_evaluation_sync(data, system, run_dir, concurrency=4, resume=True, chart=False)

    after = _complete_ids(results)
    assert len(after) == len(set(after)) == COUNT
    assert sorted(after, key=int) == [str(i) for i in range(COUNT)]
    assert {t.id for t in system.tasks} == {str(i) for i in range(COUNT)} - set(before)
    assert result.already_done == len(before) and result.solved_now == COUNT - len(before)
    assert result.report.overall.problems == COUNT
