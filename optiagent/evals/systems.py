"""What the evaluation runner calls: the `System` protocol and the `SystemOutput` it returns.

A system solves one `Task` at a time. A `Task` is a problem without its ground truth (see
`optiagent.datasets.Task`): the runner passes `problem.task()` and scores the output itself,
so no system can see an answer. A system may be called concurrently from one event loop;
`solve` must not block it (wrap blocking work with `BlockingSystem` or `asyncio.to_thread`).

    class MySystem:
        name = "mine"
        def describe(self) -> dict[str, Any]:
            return {"model": "gpt-4o-mini", "endpoint": "https://...", "prompts_sha256": "..."}
        async def solve(self, task: Task) -> SystemOutput:
            ...
            return SystemOutput(prediction=42.0, executed=True, status="optimal")
"""

from __future__ import annotations

import asyncio
import math
from abc import ABC, abstractmethod
from collections.abc import Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass, field, fields
from typing import Any, Literal, Protocol, runtime_checkable

from optiagent.datasets.records import Task
from optiagent.formulations.tables import DataTable, parse_csv_text, table_name

__all__ = [
    "BlockingSystem",
    "PredictionValue",
    "System",
    "SystemOutput",
    "SystemUsage",
    "task_inputs",
]

#: A system's answer: the optimal objective, a no-solution status, or None (no answer).
PredictionValue = float | Literal["infeasible", "unbounded"] | None


@dataclass(frozen=True)
class SystemUsage:
    """Model calls and tokens spent on one problem (cached replies cost nothing)."""

    calls: int = 0
    prompt_tokens: int = 0
    completion_tokens: int = 0
    cached_prompt_tokens: int = 0
    cached_completion_tokens: int = 0

    @classmethod
    def from_mapping(cls, data: Mapping[str, Any]) -> SystemUsage:
        """Return a usage from a dict such as `optiagent.agent.llm.Usage.to_dict()`."""
        names = {f.name for f in fields(cls)}
        return cls(**{k: int(v) for k, v in data.items() if k in names and v is not None})

    @property
    def total_tokens(self) -> int:
        """Prompt plus completion tokens."""
        return self.prompt_tokens + self.completion_tokens

    def to_dict(self) -> dict[str, int]:
        """Return the fields as a JSON-ready dict."""
        return asdict(self)


@dataclass(frozen=True)
class SystemOutput:
    """What a system reports for one task.

    - `prediction`: the optimal objective value, "infeasible", "unbounded", or None.
    - `status`: the system's own final status ("optimal", "no_answer", "code_error", ...).
    - `answer_text`: the answer as the system would show it to a user.
    - `executed`: True if a solver result was produced (the execution rate counts these).
    - `repairs`: repair rounds used; `confidence`: self-consistency agreement in [0, 1]
      (share of samples that agree with the chosen answer), None if not sampled.
    - `usage`: model calls and tokens; `final_feedback`: the last feedback the system got
      (shown in the report's failure list); `trace`: anything JSON-able, saved per problem.
    - `values`: reported quantities by the names in `Task.requested` (OptiBench's all-values
      rule); the objective may be given as `prediction` only.
    """

    prediction: PredictionValue
    status: str = "ok"
    answer_text: str = ""
    executed: bool = False
    repairs: int = 0
    confidence: float | None = None
    usage: SystemUsage = field(default_factory=SystemUsage)
    final_feedback: str | None = None
    trace: Any = None
    values: Mapping[str, float] = field(default_factory=dict, hash=False)

    def __post_init__(self) -> None:
        prediction = self.prediction
        if isinstance(prediction, bool) or not (
            prediction is None
            or prediction in ("infeasible", "unbounded")
            or (isinstance(prediction, (int, float)) and math.isfinite(prediction))
        ):
            raise ValueError(
                "SystemOutput.prediction must be a finite number, 'infeasible', 'unbounded' "
                f"or None, got {prediction!r}"
            )
        if self.confidence is not None and not 0.0 <= self.confidence <= 1.0:
            raise ValueError(f"confidence must lie in [0, 1], got {self.confidence!r}")
        if self.repairs < 0:
            raise ValueError(f"repairs must be 0 or more, got {self.repairs!r}")


@runtime_checkable
class System(Protocol):
    """Anything the runner can evaluate: a name, a description, and an async `solve`.

    `describe()` must be deterministic for a given configuration: it is stored in the run's
    config.json and compared on `--resume`. Give at least `model` (the name prices are looked
    up by), `endpoint` and `prompts_sha256`, plus any setting that changes answers (samples,
    repair budget, temperature); never a secret such as an API key.
    """

    name: str

    def describe(self) -> Mapping[str, Any]:
        """Return the settings that identify this system (JSON-ready)."""
        ...

    async def solve(self, task: Task) -> SystemOutput:
        """Return the system's answer to one task."""
        ...


class BlockingSystem(ABC):
    """Base for systems whose work is blocking code: runs `solve_blocking` in worker threads.

    The runner's per-problem time budget cancels the wait, not the thread: a blocking solve
    that overruns keeps its thread until it returns, so give the blocking code its own limits
    (solver time limits, LLM timeouts).
    """

    name: str = "blocking"

    def __init__(self, max_workers: int = 32) -> None:
        self._max_workers = max_workers
        self._executor: ThreadPoolExecutor | None = None

    @abstractmethod
    def describe(self) -> Mapping[str, Any]:
        """Return the settings that identify this system (JSON-ready)."""

    @abstractmethod
    def solve_blocking(self, task: Task) -> SystemOutput:
        """Return the system's answer to one task (called in a worker thread)."""

    async def solve(self, task: Task) -> SystemOutput:
        """Run `solve_blocking` in this system's thread pool and return its output."""
        if self._executor is None:
            self._executor = ThreadPoolExecutor(
                max_workers=self._max_workers, thread_name_prefix=f"{self.name}-solve"
            )
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self._executor, self.solve_blocking, task)

    def close(self) -> None:
        """Release the worker threads (waits for running solves)."""
        if self._executor is not None:
            self._executor.shutdown(wait=True)
            self._executor = None


def task_inputs(task: Task) -> tuple[str, list[DataTable]]:
    """The problem text and data tables of a task, as a user would hand them over.

    CSV attachments become data tables; any other attachment (a JSON of parameters, a sample
    input) is appended to the text under its file name.
    """
    text = task.question.strip()
    tables = []
    for name, content in task.attachments.items():
        if name.lower().endswith(".csv"):
            tables.append(parse_csv_text(content, table_name(name), name))
        else:
            text += f"\n\nAttached file {name}:\n{content.strip()}"
    return text, tables
