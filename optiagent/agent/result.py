"""The typed result of an agent run: answer, status, formulation, solution, attempts, usage."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

from optiagent.agent.answer import Answer
from optiagent.agent.llm import Usage, UsageLog
from optiagent.agent.proposal import Proposal
from optiagent.formulations.analysis import CheckedFormulation
from optiagent.formulations.io import dump_formulation
from optiagent.formulations.schema import Formulation
from optiagent.formulations.solution import SolutionCheck
from optiagent.solvers_backend.results import SolveResult

__all__ = ["AgentEvent", "AgentResult", "AgentStatus", "Attempt", "Outcome"]

AgentStatus = Literal["solved", "feasible", "infeasible", "unbounded", "failed"]
Outcome = Literal[
    "ok",
    "invalid",
    "unusable_reply",
    "infeasible",
    "unbounded",
    "solver_error",
    "doubtful",
    "answer_error",
]


@dataclass(frozen=True)
class Attempt:
    """One formulation the model proposed and what became of it."""

    number: int
    origin: Literal["formulate", "repair"]
    outcome: Outcome
    proposal: Proposal | None = None
    feedback: str | None = None
    problem_class: str | None = None
    solve_status: str | None = None
    objective: float | None = None

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready record of the attempt."""
        return {
            "number": self.number,
            "origin": self.origin,
            "outcome": self.outcome,
            "problem_class": self.problem_class,
            "solve_status": self.solve_status,
            "objective": self.objective,
            "feedback": self.feedback,
            "reasoning": self.proposal.reasoning if self.proposal else None,
            "formulation": self.proposal.formulation.model_dump(mode="json", exclude_defaults=True)
            if self.proposal
            else None,
        }


@dataclass(frozen=True)
class AgentEvent:
    """Progress of a run, node by node (what the CLI shows while it works)."""

    node: str
    message: str
    seconds: float = 0.0
    sample: int = 0

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready record."""
        return {
            "node": self.node,
            "message": self.message,
            "seconds": round(self.seconds, 4),
            "sample": self.sample,
        }


@dataclass
class AgentResult:
    """Everything an agent run produced."""

    status: AgentStatus
    answer: Answer | None = None
    proposal: Proposal | None = None
    checked: CheckedFormulation | None = None
    solve_result: SolveResult | None = None
    solution_check: SolutionCheck | None = None
    explanation: str = ""
    attempts: list[Attempt] = field(default_factory=list)
    repairs: int = 0  # repair rounds run (a round may keep the formulation unchanged)
    usage_log: UsageLog = field(default_factory=UsageLog)
    events: list[AgentEvent] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    final_feedback: str | None = None
    trace_text: str = ""
    confidence: float | None = None
    samples: list[AgentResult] = field(default_factory=list)

    @property
    def formulation(self) -> Formulation | None:
        """The final formulation, with data tables resolved (None if none was valid)."""
        if self.checked is not None:
            return self.checked.formulation
        return self.proposal.formulation if self.proposal else None

    @property
    def usage(self) -> Usage:
        """Tokens, calls and latency summed over the run (all samples included)."""
        return self.usage_log.totals()

    @property
    def prediction(self) -> float | str | None:
        """The number answering the question, 'infeasible' / 'unbounded', or None."""
        if self.status in ("infeasible", "unbounded"):
            return self.status
        return self.answer.value if self.answer else None

    @property
    def objective(self) -> float | None:
        """The objective value of the final solution."""
        return self.solve_result.objective if self.solve_result else None

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready summary: the CLI's --json output and the evaluation traces."""
        usage = self.usage
        formulation = self.formulation
        return {
            "status": self.status,
            "answer": self.answer.value if self.answer else None,
            "answer_text": self.answer.text if self.answer else None,
            "units": self.answer.units if self.answer else None,
            "reported": self.answer.reported if self.answer else {},
            "objective": self.objective,
            "problem_class": self.checked.problem_class.value if self.checked else None,
            "backend": self.solve_result.backend if self.solve_result else None,
            "solve_status": self.solve_result.status.value if self.solve_result else None,
            "variables": self.solve_result.flat_values() if self.solve_result else {},
            "explanation": self.explanation,
            "warnings": self.warnings,
            "confidence": self.confidence,
            "formulation": formulation.model_dump(mode="json", exclude_defaults=True)
            if formulation
            else None,
            "answer_expression": self.proposal.answer.expression if self.proposal else None,
            "attempts": [a.to_dict() for a in self.attempts],
            "repairs": self.repairs,
            "final_feedback": self.final_feedback,
            "usage": {
                "calls": usage.calls,
                "prompt_tokens": usage.prompt_tokens,
                "completion_tokens": usage.completion_tokens,
                "latency_s": round(usage.latency_s, 3),
                "by_node": {k: v.to_dict() for k, v in self.usage_log.by_node().items()},
            },
            "samples": [s.prediction for s in self.samples] if self.samples else None,
        }

    def formulation_yaml(self) -> str:
        """The final formulation as YAML (empty if there is none)."""
        return dump_formulation(self.formulation) if self.formulation else ""
