"""The evaluation runner: solve problems concurrently, score them, record them, resume.

`run_evaluation` gives each problem's `Task` (never its ground truth) to a `System`, with at
most `concurrency` problems in flight and a wall-clock budget per problem. A time-out or an
exception is recorded as that problem's result; it never ends the run. Each result is
appended to results.jsonl and flushed the moment it is scored, so a killed run resumes with
`resume=True` without repeating or losing a problem. The report is written at the end.
"""

from __future__ import annotations

import asyncio
import json
import sys
import time
import traceback
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from importlib import metadata
from pathlib import Path
from typing import IO, Any

from optiagent.datasets.records import Problem
from optiagent.datasets.registry import Dataset
from optiagent.evals.prices import PriceTable
from optiagent.evals.publish import save_report
from optiagent.evals.report import Report, build_report
from optiagent.evals.rundir import RunDirectory, append_line, config_differences
from optiagent.evals.scoring import ScoringRule, get_rule, parse_prediction
from optiagent.evals.systems import System, SystemOutput, SystemUsage
from optiagent.exceptions import ConfigurationError

__all__ = [
    "ProgressCallback",
    "RunProgress",
    "RunResult",
    "build_config",
    "run_evaluation",
    "run_evaluation_sync",
]

_ANSWER_CHARS = 500


@dataclass(frozen=True)
class RunProgress:
    """Where a run stands: problems done of total, accuracy so far, tokens, elapsed time."""

    done: int
    total: int
    correct: int
    scored: int
    errors: int
    tokens: int
    elapsed_s: float
    last_id: str | None = None

    @property
    def accuracy(self) -> float | None:
        """Return correct / scored so far (None before anything is scored)."""
        return self.correct / self.scored if self.scored else None


ProgressCallback = Callable[[RunProgress], None]


@dataclass(frozen=True)
class RunResult:
    """What a run returns: its directory, its report, and how many problems it solved now."""

    directory: Path
    report: Report
    solved_now: int
    already_done: int


def build_config(
    dataset: Dataset,
    system: System,
    rule: ScoringRule,
    *,
    concurrency: int,
    timeout_s: float,
    prices: PriceTable,
) -> dict[str, Any]:
    """Return config.json for a run: what is run, on which data, scored how, by which code."""
    description = json.loads(json.dumps(dict(system.describe()), default=str))
    return {
        "format": 1,
        "created_at": _now(),
        "optiagent_version": _package_version(),
        "python": sys.version.split()[0],
        "dataset": {
            "name": dataset.name,
            "version": dataset.version,
            "sha256": dataset.sha256,
            "count": len(dataset.problems),
            "paths": list(dataset.spec.paths),
            "upstream": dataset.spec.upstream,
        },
        "rule": {"name": rule.name, "description": rule.description},
        # model, endpoint and prompts hash always appear, None when a system has none
        "system": {
            "name": system.name,
            "model": None,
            "endpoint": None,
            "prompts_sha256": None,
            **description,
        },
        "run": {"concurrency": concurrency, "timeout_s": timeout_s},
        "prices": prices.to_dict(),
        "resumes": [],
    }


async def run_evaluation(
    dataset: Dataset,
    system: System,
    out_dir: Path,
    *,
    problems: Sequence[Problem] | None = None,
    rule: str | None = None,
    concurrency: int = 4,
    timeout_s: float = 600.0,
    resume: bool = False,
    prices: PriceTable | None = None,
    on_progress: ProgressCallback | None = None,
    chart: bool = True,
) -> RunResult:
    """Run `system` on `problems` (default: all of `dataset`) and write the run to `out_dir`."""
    if concurrency < 1:
        raise ConfigurationError(f"concurrency must be at least 1, got {concurrency}")
    if not timeout_s > 0:
        raise ConfigurationError(f"the per-problem time budget must be positive, got {timeout_s}")
    scoring = get_rule(rule)
    prices = prices or PriceTable()
    selection = _unique(dataset.problems if problems is None else problems)
    config = build_config(
        dataset, system, scoring, concurrency=concurrency, timeout_s=timeout_s, prices=prices
    )
    directory = RunDirectory(out_dir)
    with directory:
        config = _prepare(directory, config, resume)
        done_records = directory.read_results()
        done_ids = {str(r.get("id")) for r in done_records}
        pending = [p for p in selection if p.id not in done_ids]
        tracker = _Tracker(
            total=len(selection),
            records=[r for r in done_records if str(r.get("id")) in {p.id for p in selection}],
            on_progress=on_progress,
        )
        with directory.open_for_append() as handle:
            await _solve_all(
                pending, system, scoring, directory, handle, tracker, concurrency, timeout_s
            )
        report = build_report(config, directory.read_results(), prices)
        save_report(directory.path, report, chart=chart)
    return RunResult(directory.path, report, len(pending), len(selection) - len(pending))


def run_evaluation_sync(*args: Any, **kwargs: Any) -> RunResult:
    """Run `run_evaluation` in a new event loop (for callers that are not async)."""
    return asyncio.run(run_evaluation(*args, **kwargs))


def _prepare(directory: RunDirectory, config: dict[str, Any], resume: bool) -> dict[str, Any]:
    existing = directory.read_config()
    if directory.exists() and not resume:
        raise ConfigurationError(
            f"{directory.path} already holds a run; pass --resume to continue it, "
            "or choose another --out directory"
        )
    if existing is None:
        if directory.results_path.is_file() and directory.read_results():
            raise ConfigurationError(
                f"{directory.path} has results but no config.json; cannot check what they were "
                "run with - use another --out directory"
            )
        directory.write_config(config)
        return config
    differences = config_differences(existing, config)
    if differences:
        raise ConfigurationError(
            f"refusing to resume {directory.path}: it was run with different settings ("
            + "; ".join(differences)
            + "). Resume with the original settings or choose another --out directory"
        )
    existing.setdefault("resumes", []).append({"at": _now(), **config["run"]})
    directory.write_config(existing)
    return existing


class _Tracker:
    """Counts finished problems and reports progress after each one."""

    def __init__(
        self,
        total: int,
        records: list[dict[str, Any]],
        on_progress: ProgressCallback | None,
    ) -> None:
        self.total = total
        self.started = time.perf_counter()
        self.on_progress = on_progress
        self.done = len(records)
        self.correct = sum(1 for r in records if r.get("scored") and r.get("correct"))
        self.scored = sum(1 for r in records if r.get("scored"))
        self.errors = sum(1 for r in records if r.get("status") != "ok")
        self.tokens = sum(_tokens(r) for r in records)
        self.report(None)

    def add(self, record: Mapping[str, Any]) -> None:
        self.done += 1
        self.scored += bool(record.get("scored"))
        self.correct += bool(record.get("scored") and record.get("correct"))
        self.errors += record.get("status") != "ok"
        self.tokens += _tokens(record)
        self.report(str(record.get("id")))

    def report(self, last_id: str | None) -> None:
        if self.on_progress is None:
            return
        elapsed = time.perf_counter() - self.started
        self.on_progress(
            RunProgress(
                self.done,
                self.total,
                self.correct,
                self.scored,
                self.errors,
                self.tokens,
                elapsed,
                last_id,
            )
        )


async def _solve_all(
    pending: list[Problem],
    system: System,
    rule: ScoringRule,
    directory: RunDirectory,
    handle: IO[str],
    tracker: _Tracker,
    concurrency: int,
    timeout_s: float,
) -> None:
    queue: asyncio.Queue[Problem] = asyncio.Queue()
    for problem in pending:
        queue.put_nowait(problem)

    async def worker() -> None:
        while True:
            try:
                problem = queue.get_nowait()
            except asyncio.QueueEmpty:
                return
            record, trace = await _solve_one(problem, system, rule, timeout_s)
            record["trace"] = directory.write_trace(problem.id, trace)
            append_line(handle, record)
            tracker.add(record)

    try:
        async with asyncio.TaskGroup() as group:
            for _ in range(min(concurrency, len(pending))):
                group.create_task(worker())
    except BaseExceptionGroup as failure:
        raise failure.exceptions[0] from None


async def _solve_one(
    problem: Problem, system: System, rule: ScoringRule, timeout_s: float
) -> tuple[dict[str, Any], dict[str, Any]]:
    """Solve one task within its budget; return its result record and its trace."""
    task = problem.task()
    started_at = _now()
    start = time.perf_counter()
    output: SystemOutput | None = None
    status, error, trace_text = "ok", None, None
    budget = asyncio.timeout(timeout_s)
    try:
        async with budget:
            result = await system.solve(task)
        if not isinstance(result, SystemOutput):
            raise TypeError(
                f"{system.name}.solve returned {type(result).__name__}, not SystemOutput"
            )
        output = result
    except TimeoutError as exc:
        status = "timeout" if budget.expired() else "error"
        error = f"no answer within {timeout_s:g} s" if budget.expired() else _describe(exc)
        trace_text = None if budget.expired() else traceback.format_exc()
    except Exception as exc:
        status, error, trace_text = "error", _describe(exc), traceback.format_exc()
    latency = time.perf_counter() - start
    prediction = parse_prediction(
        output.prediction if output else None, output.values if output else None
    )
    verdict = rule.score(prediction, problem.ground_truth)
    usage = output.usage if output else SystemUsage()
    record: dict[str, Any] = {
        "id": problem.id,
        "category": problem.category,
        "has_table": problem.has_table,
        "status": status,
        "error": error,
        "scored": verdict.scored,
        "correct": verdict.correct,
        "reason": verdict.reason,
        "prediction": prediction.to_json(),
        "values": dict(prediction.values),
        "ground_truth": problem.ground_truth.describe(),
        "system_status": output.status if output else None,
        "answer_text": (output.answer_text[:_ANSWER_CHARS] if output else ""),
        "executed": bool(output and output.executed),
        "repairs": output.repairs if output else 0,
        "confidence": output.confidence if output else None,
        "usage": usage.to_dict(),
        "latency_s": round(latency, 6),
        "final_feedback": output.final_feedback if output else None,
        "finished_at": _now(),
    }
    trace = {
        "id": problem.id,
        "task": task.to_dict(),
        "status": status,
        "error": error,
        "traceback": trace_text,
        "started_at": started_at,
        "latency_s": round(latency, 6),
        "output": _output_dict(output),
    }
    return record, trace


def _unique(problems: Sequence[Problem]) -> list[Problem]:
    """Return the problems with repeated ids dropped (first kept): each id runs once."""
    seen: set[str] = set()
    unique = []
    for problem in problems:
        if problem.id not in seen:
            seen.add(problem.id)
            unique.append(problem)
    return unique


def _output_dict(output: SystemOutput | None) -> dict[str, Any] | None:
    if output is None:
        return None
    return {
        "prediction": output.prediction,
        "status": output.status,
        "answer_text": output.answer_text,
        "executed": output.executed,
        "repairs": output.repairs,
        "confidence": output.confidence,
        "usage": output.usage.to_dict(),
        "final_feedback": output.final_feedback,
        "values": dict(output.values),
        "trace": output.trace,
    }


def _describe(exc: BaseException) -> str:
    text = str(exc)
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__


def _tokens(record: Mapping[str, Any]) -> int:
    usage = record.get("usage") or {}
    return int(usage.get("prompt_tokens", 0)) + int(usage.get("completion_tokens", 0))


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


def _package_version() -> str:
    try:
        return metadata.version("optiagent")
    except metadata.PackageNotFoundError:
        return "unknown"
