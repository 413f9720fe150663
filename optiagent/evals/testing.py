"""Test doubles for evaluations: a scripted `System` and an in-memory `Dataset`.

    from optiagent.evals.testing import ScriptedSystem, in_memory_dataset
    system = ScriptedSystem({"a": SystemOutput(prediction=3.0)}, delay_s=0.01)
    result = run_evaluation_sync(in_memory_dataset(problems), system, tmp_path / "run")
    system.max_in_flight, [task.id for task in system.tasks]

Used by optiagent's own tests and benchmark; importable by anyone testing code built on the
runner without a model.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
from collections.abc import Callable, Iterable, Mapping
from pathlib import Path
from typing import Any

from optiagent.datasets.records import GroundTruth, Problem, Task
from optiagent.datasets.registry import Dataset
from optiagent.datasets.spec import LoadResult, VersionSpec
from optiagent.evals.systems import SystemOutput

__all__ = ["ScriptedSystem", "in_memory_dataset", "synthetic_problems"]

Reply = SystemOutput | BaseException
Script = Mapping[str, Reply] | Callable[[Task], Reply]


class ScriptedSystem:
    """A `System` whose replies come from a mapping by task id, or a function of the task.

    A reply that is an exception is raised. Tasks without a scripted reply get no answer.
    `delay_s` is awaited before each reply (to make runs slow enough to observe concurrency
    or to be killed); `tasks` records every task received and `max_in_flight` the most solves
    that were running at once.
    """

    def __init__(
        self,
        script: Script,
        *,
        delay_s: float = 0.0,
        name: str = "scripted",
        description: Mapping[str, Any] | None = None,
    ) -> None:
        self.name = name
        self._script = script
        self._delay_s = delay_s
        self._description = dict(description or {"model": None})
        self.tasks: list[Task] = []
        self.in_flight = 0
        self.max_in_flight = 0

    def describe(self) -> dict[str, Any]:
        """Return the description given at construction."""
        return dict(self._description)

    async def solve(self, task: Task) -> SystemOutput:
        """Record the task, wait `delay_s`, then return (or raise) the scripted reply."""
        self.tasks.append(task)
        self.in_flight += 1
        self.max_in_flight = max(self.max_in_flight, self.in_flight)
        try:
            if self._delay_s:
                await asyncio.sleep(self._delay_s)
            reply = self._reply(task)
        finally:
            self.in_flight -= 1
        if isinstance(reply, BaseException):
            raise reply
        return reply

    def _reply(self, task: Task) -> Reply:
        if callable(self._script):
            return self._script(task)
        return self._script.get(task.id, SystemOutput(prediction=None, status="no_answer"))


def in_memory_dataset(
    problems: Iterable[Problem], *, name: str = "synthetic", version: str = "memory"
) -> Dataset:
    """Return a `Dataset` holding the given problems (hashed from their content)."""
    chosen = tuple(problems)
    digest = hashlib.sha256()
    for problem in chosen:
        digest.update(json.dumps(problem.to_dict(), sort_keys=True, default=str).encode())
    spec = VersionSpec(
        dataset=name,
        version=version,
        paths=(),
        loader=lambda _spec, _root: LoadResult(list(chosen)),
        upstream="in memory",
        summary=f"{len(chosen)} problems built in memory",
        category="as given",
        default=True,
    )
    return Dataset(spec=spec, root=Path("."), problems=chosen, sha256=digest.hexdigest())


_CATEGORIES = ("LP", "MILP", "NLP")


def synthetic_problems(count: int) -> list[Problem]:
    """Return `count` small made-up problems with known answers, ids "0", "1", ...

    Problem i has category LP / MILP / NLP in turn and the optimum 1000 + 7.25 * i (a number
    its question never states); every tenth problem (i = 9, 19, ...) is infeasible.
    """
    problems = []
    for i in range(count):
        if i % 10 == 9:
            truth = GroundTruth(kind="infeasible", raw="No Best Solution")
        else:
            optimum = 1000 + 7.25 * i
            truth = GroundTruth(kind="value", value=optimum, raw=repr(optimum))
        problems.append(
            Problem(
                dataset="synthetic",
                version="memory",
                id=str(i),
                question=f"Problem {i}: choose x >= 0 to maximise profit subject to capacity.",
                ground_truth=truth,
                category=_CATEGORIES[i % 3],
                has_table=i % 4 == 0,
                source_file="memory",
                source_line=i + 1,
            )
        )
    return problems
