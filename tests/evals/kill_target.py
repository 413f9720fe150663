"""Run a slow scripted system over synthetic problems into a run directory.

Started as a subprocess by test_kill_resume.py, which kills it mid-run with SIGKILL. Usage:
    python kill_target.py RUN_DIR COUNT DELAY_S
"""

from __future__ import annotations

import sys
from pathlib import Path

from optiagent.datasets.records import Task
from optiagent.evals.runner import run_evaluation_sync
from optiagent.evals.systems import SystemOutput
from optiagent.evals.testing import ScriptedSystem, in_memory_dataset, synthetic_problems


def answer(task: Task) -> SystemOutput:
    """Answer from the task id alone (the synthetic optimum formula)."""
    return SystemOutput(prediction=1000 + 7.25 * int(task.id), executed=True)


def main() -> None:
    """Run COUNT problems with DELAY_S each, four at a time, into RUN_DIR."""
    run_dir, count, delay = Path(sys.argv[1]), int(sys.argv[2]), float(sys.argv[3])
    data = in_memory_dataset(synthetic_problems(count))
    system = ScriptedSystem(answer, delay_s=delay, name="kill-target")
    run_evaluation_sync(data, system, run_dir, concurrency=4, resume=True, chart=False)


if __name__ == "__main__":
    main()
