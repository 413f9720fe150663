"""The agent as an evaluation system: `optiagent eval DATASET --system agent`."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from optiagent.agent.api import Agent
from optiagent.agent.result import AgentResult
from optiagent.datasets import Task
from optiagent.evals.factory import SystemConfig
from optiagent.evals.systems import SystemOutput, SystemUsage, task_inputs

__all__ = ["AgentSystem", "build_agent", "task_inputs"]


def output_of(result: AgentResult) -> SystemOutput:
    """The runner's record of one agent run."""
    usage = result.usage
    trace = result.to_dict()
    trace["events"] = [event.to_dict() for event in result.events]
    trace["opto_trace"] = result.trace_text
    return SystemOutput(
        prediction=result.prediction,
        status=result.status,
        answer_text=result.answer.text if result.answer else "",
        executed=_executed(result),
        repairs=result.repairs,
        confidence=result.confidence,
        usage=SystemUsage.from_mapping(usage.to_dict()),
        final_feedback=result.final_feedback,
        trace=trace,
        values=dict(result.answer.reported) if result.answer else {},
    )


def _executed(result: AgentResult) -> bool:
    """A solver result was produced: by our backends (IR route) or by the program (code route)."""
    if result.solve_result is not None:
        return True
    execution = result.execution
    return execution is not None and execution.ok and execution.reported.status is not None


class AgentSystem:
    """Runs the repair-loop agent on each task."""

    name = "agent"

    def __init__(self, agent: Agent) -> None:
        self.agent = agent

    def describe(self) -> Mapping[str, Any]:
        """The model, endpoint, prompts hash and settings of the agent."""
        return self.agent.describe()

    async def solve(self, task: Task) -> SystemOutput:
        """Solve one task; the task never holds its answer."""
        text, tables = task_inputs(task)
        result = await self.agent.asolve(text, data=tables, report=task.requested)
        return output_of(result)

    def close(self) -> None:
        """Stop the agent's sandbox workers (code route)."""
        self.agent.close()


def build_agent(config: SystemConfig) -> AgentSystem:
    """The factory behind --system agent (options: route ir|code|auto, backend, time_limit,
    prompts)."""
    settings, options = config.settings, config.options
    agent = Agent(
        model=settings.model,
        cache=settings.cache,
        timeout=settings.llm_timeout,
        max_retries=settings.llm_max_retries,
        max_repairs=settings.max_repairs,
        samples=settings.samples,
        time_limit=float(options.get("time_limit", settings.time_limit)),
        backend=options.get("backend", "auto"),
        threads=settings.threads,
        prompts=options.get("prompts"),
        route=options.get("route", "ir"),
    )
    return AgentSystem(agent)
