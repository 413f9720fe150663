"""The single-shot baseline: `optiagent eval DATASET --system baseline`.

The classic approach, in our own words: one prompt asking for a complete solver program, one
run of that program in the sandbox, and its printed result is the answer. No formulation IR,
no verification, no repair and no retry (only the transport retries the model client makes
on its own). Run it with the same model and scoring rule as the agent, and the difference
between the two runs is what the agent's checks and repairs add.

    system = BaselineSystem(OpenAIChatModel("gpt-4o-mini"))
    output = await system.solve(task)      # output.trace: prompt, reply, code, execution
    system.close()                         # stops the sandbox workers it started
"""

from __future__ import annotations

import math
import threading
from typing import Any

from optiagent.agent.code.program import (
    data_files,
    extract_code,
    files_description,
    reported_quantities,
)
from optiagent.agent.code.route import code_limits
from optiagent.agent.code_prompts import baseline_digest, baseline_messages
from optiagent.agent.llm import ChatModel, Usage, resolve_chat_model
from optiagent.datasets import Task
from optiagent.evals.factory import SystemConfig
from optiagent.evals.systems import PredictionValue, SystemOutput, SystemUsage, task_inputs
from optiagent.solvers_backend.sandbox import ExecutionResult, Limits, Sandbox

__all__ = ["BaselineSystem", "baseline_prediction", "build_baseline"]

_SOLVED = ("optimal", "feasible", "time_limit")


def baseline_prediction(execution: ExecutionResult) -> PredictionValue:
    """What one run answers: the `answer:` line, else the objective; 'infeasible' /
    'unbounded' as reported; None when the program printed no usable result."""
    if not execution.ok:
        return None
    reported = execution.reported
    if reported.status in ("infeasible", "unbounded"):
        return reported.status  # type: ignore[return-value]  # both are PredictionValue words
    if reported.status not in _SOLVED:
        return None
    for value in (reported.answer, reported.objective):
        if value is not None and math.isfinite(value):
            return value
    return None


class BaselineSystem:
    """One prompt, one program, one sandboxed run per task: the agent's point of comparison."""

    name = "baseline"

    def __init__(
        self,
        model: ChatModel,
        sandbox: Sandbox | None = None,
        limits: Limits | None = None,
        *,
        time_limit: float = 60.0,
        temperature: float | None = None,
        seed: int | None = None,
    ) -> None:
        self.model = model
        self.limits = limits or code_limits(time_limit)
        self.temperature = temperature
        self.seed = seed
        self._sandbox = sandbox
        self._owns_sandbox = sandbox is None
        self._lock = threading.Lock()

    def describe(self) -> dict[str, Any]:
        """The model, endpoint, prompts hash and run limits of the baseline."""
        return {
            "system": "baseline",
            "model": self.model.name,
            "endpoint": getattr(self.model, "base_url", None),
            "prompts_sha256": baseline_digest(),
            "temperature": self.temperature,
            "seed": self.seed,
            "wall_seconds": self.limits.wall_seconds,
            "cpu_seconds": self.limits.cpu_seconds,
            "memory_bytes": self.limits.memory_bytes,
        }

    def _get_sandbox(self) -> Sandbox:
        with self._lock:
            if self._sandbox is None:
                self._sandbox = Sandbox(limits=self.limits, prestart=False)
            return self._sandbox

    async def solve(self, task: Task) -> SystemOutput:
        """Ask once for a program, run it once, and report what it printed."""
        text, tables = task_inputs(task)
        messages = baseline_messages(
            text, files_description=files_description(tables), report=task.requested
        )
        reply = await self.model.acomplete(messages, temperature=self.temperature, seed=self.seed)
        usage = SystemUsage.from_mapping(Usage.of(reply).to_dict())
        trace: dict[str, Any] = {
            "system": "baseline",
            "messages": messages,
            "reply": reply.text,
            "code": None,
            "execution": None,
        }
        code = extract_code(reply.text)
        if code is None:
            return SystemOutput(
                prediction=None,
                status="no_program",
                usage=usage,
                final_feedback="the reply held no Python program",
                trace=trace,
            )
        execution = await self._get_sandbox().arun(
            code, limits=self.limits, files=data_files(tables) or None
        )
        trace["code"] = code
        trace["execution"] = execution.to_dict()
        prediction = baseline_prediction(execution)
        reported = execution.reported
        status = (reported.status or "no_result") if execution.ok else execution.exit_reason.value
        return SystemOutput(
            prediction=prediction,
            status=status,
            answer_text=_answer_text(prediction),
            executed=execution.ok and reported.status is not None,
            usage=usage,
            final_feedback=None if isinstance(prediction, float) else execution.feedback(),
            trace=trace,
            values=reported_quantities(execution, task.requested),
        )

    def close(self) -> None:
        """Stop the sandbox workers this system started (a given sandbox is left open)."""
        with self._lock:
            sandbox, owned = self._sandbox, self._owns_sandbox
            if owned:
                self._sandbox = None
        if sandbox is not None and owned:
            sandbox.close()


def _answer_text(prediction: PredictionValue) -> str:
    if prediction is None:
        return ""
    return prediction if isinstance(prediction, str) else f"{prediction:.10g}"


def build_baseline(config: SystemConfig) -> BaselineSystem:
    """The factory behind --system baseline (options: time_limit)."""
    settings, options = config.settings, config.options
    model = resolve_chat_model(
        settings.model,
        cache=settings.cache,
        timeout=settings.llm_timeout,
        max_retries=settings.llm_max_retries,
    )
    return BaselineSystem(model, time_limit=float(options.get("time_limit", settings.time_limit)))
