"""The typed result of an agent run: answer, status, formulation, solution, attempts, usage."""

from __future__ import annotations

import math
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
from optiagent.solvers_backend.sandbox import ExecutionResult

__all__ = ["AgentEvent", "AgentResult", "AgentStatus", "Attempt", "Outcome"]

AgentStatus = Literal["solved", "feasible", "infeasible", "unbounded", "failed"]
Route = Literal["ir", "code"]
Outcome = Literal[
    "ok",
    "invalid",
    "unusable_reply",
    "infeasible",
    "unbounded",
    "solver_error",
    "doubtful",
    "answer_error",
    # the code route: how a run of the generated program ended
    "syntax_error",  # the program does not parse
    "rejected",  # the sandbox's static check refused it (imports, builtins, solvers)
    "blocked",  # the sandbox refused an operation at run time (network, files, processes)
    "error",  # an exception, or a memory / output limit
    "timeout",  # the wall-clock or CPU limit, or a solver time limit without a solution
    "no_result",  # it ran but printed no usable status / objective lines
]


@dataclass(frozen=True)
class Attempt:
    """One formulation (IR route) or program (code route) the model proposed, and its fate."""

    number: int
    origin: Literal["formulate", "repair", "write"]
    outcome: Outcome
    proposal: Proposal | None = None
    feedback: str | None = None
    problem_class: str | None = None
    solve_status: str | None = None
    objective: float | None = None
    code: str | None = None  # the program (code route)
    exit_reason: str | None = None  # how its sandbox run ended (code route)

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready record of the attempt."""
        record = {
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
        if self.code is not None or self.exit_reason is not None:
            record["code"] = self.code
            record["exit_reason"] = self.exit_reason
        return record


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
    """Everything an agent run produced.

    `route` says which route produced the answer: "ir" (a checked formulation, solved by our
    backends: `proposal`, `checked`, `solve_result`) or "code" (a generated program run in the
    sandbox: `code`, `execution`).
    """

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
    route: Route = "ir"
    code: str | None = None  # the final program (code route)
    execution: ExecutionResult | None = None  # its last sandbox run (code route)

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
        """The objective value of the final solution (as the program printed it, on the code
        route)."""
        if self.solve_result is not None:
            return self.solve_result.objective
        if self.execution is not None and self.status in ("solved", "feasible"):
            return self.execution.reported.objective
        return None

    def _solve_status(self) -> str | None:
        if self.solve_result is not None:
            return self.solve_result.status.value
        return self.execution.reported.status if self.execution is not None else None

    def _variables(self) -> dict[str, float]:
        if self.solve_result is not None:
            return self.solve_result.flat_values()
        if self.execution is not None and self.status in ("solved", "feasible"):
            values = self.execution.reported.values.items()
            return {label: value for label, value in values if math.isfinite(value)}
        return {}

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
            "solve_status": self._solve_status(),
            "variables": self._variables(),
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
            "route": self.route,
            "code": self.code,
            "execution": self.execution.to_dict() if self.execution is not None else None,
        }

    def formulation_yaml(self) -> str:
        """The final formulation as YAML (empty if there is none)."""
        return dump_formulation(self.formulation) if self.formulation else ""
