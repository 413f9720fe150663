"""The agent's configuration, its per-run context, and the LangGraph state of one run."""

from __future__ import annotations

import operator
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Annotated, Any, TypedDict

from optiagent.agent.feedback import Failure
from optiagent.agent.llm import ChatModel, UsageLog
from optiagent.agent.prompts import PromptSet
from optiagent.agent.proposal import Proposal
from optiagent.agent.result import AgentEvent, AgentResult, Attempt
from optiagent.agent.verify import Finding
from optiagent.formulations.analysis import CheckedFormulation
from optiagent.formulations.solution import SolutionCheck
from optiagent.formulations.tables import DataTable
from optiagent.opto import Node, OptoPrime, Parameter
from optiagent.solvers_backend.results import SolveResult

__all__ = ["AgentConfig", "AgentState", "RunContext", "SolvedAttempt"]


@dataclass(frozen=True)
class AgentConfig:
    """How the agent runs: repair budget, solver limits, sampling, and which checks apply."""

    max_repairs: int = 3
    time_limit: float = 60.0
    backend: str = "auto"
    threads: int | None = None
    temperature: float | None = None
    seed: int | None = None
    output_attempts: int = 3  # replies per LLM step before its JSON counts as unusable
    diagnose: bool = True  # name conflicting constraints / running variables
    diagnosis_time_limit: float = 20.0
    review_warnings: bool = True  # ask once to fix or confirm doubtful solutions


@dataclass
class RunContext:
    """What the nodes of one run share: the model, prompts, config, usage and progress sink."""

    model: ChatModel
    prompts: PromptSet
    config: AgentConfig
    usage: UsageLog = field(default_factory=UsageLog)
    on_event: Callable[[AgentEvent], None] | None = None
    sample: int = 0
    events: list[AgentEvent] = field(default_factory=list)

    def emit(self, node: str, message: str, seconds: float = 0.0) -> None:
        """Record progress and pass it to the caller's callback."""
        event = AgentEvent(node, message, seconds, self.sample)
        self.events.append(event)
        if self.on_event is not None:
            self.on_event(event)


@dataclass(frozen=True)
class SolvedAttempt:
    """An attempt that produced a solution: the fallback if later repairs break the model."""

    number: int
    proposal: Proposal
    checked: CheckedFormulation
    result: SolveResult
    findings: tuple[Finding, ...]


class AgentState(TypedDict, total=False):
    """The LangGraph state of one run (no checkpointer: values may be live objects)."""

    problem: str
    tables: list[DataTable]
    report: list[str]  # quantities the caller wants reported by name (OptiBench's results)
    given: Proposal | None  # start from this proposal instead of asking the model (chat edits)
    proposal: Parameter[Proposal]
    optimizer: OptoPrime
    origin: str  # where the current proposal came from: "formulate" or "repair"
    checked: CheckedFormulation | None
    check_node: Node[Any] | None
    result: SolveResult | None
    result_node: Node[Any] | None
    solution: SolutionCheck | None
    findings: list[Finding]
    output: Node[Any] | None  # the traced node the current feedback is about
    failure: Failure | None
    feedback: str | None
    soft: bool  # the failure is a doubt the model may confirm
    accepted: bool  # the model kept the formulation after an infeasible/unbounded/doubt report
    reviewed: bool  # doubts were already shown once
    repairs: int
    exhausted: bool  # the repair budget is used up
    best: SolvedAttempt | None  # the latest attempt that produced a solution (a fallback)
    attempts: Annotated[list[Attempt], operator.add]
    final: AgentResult | None
