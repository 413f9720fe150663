"""What a chat session keeps: versions of the proposal with a summary of their results.

Everything here is plain data that survives a round trip through JSON, because versions are
stored by the LangGraph checkpointer; live objects (the AgentResult of a turn) only travel in
`ChatTurn`, which is never stored.
"""

from __future__ import annotations

import difflib
from dataclasses import dataclass, field
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from optiagent.agent.llm import Usage
from optiagent.agent.proposal import AnswerSpec, Proposal
from optiagent.agent.result import AgentResult, AgentStatus
from optiagent.formulations.io import dump_formulation

__all__ = ["ChatTurn", "ChatVersion", "ResultSummary", "proposal_diff"]

# Nonzero variable values kept per version: enough for any model a person reads in a chat,
# bounded so that a large model does not bloat every checkpoint.
_MAX_STORED_VALUES = 1000


class ResultSummary(BaseModel):
    """The JSON-able part of an AgentResult that a chat session keeps for each version."""

    model_config = ConfigDict(frozen=True)

    status: AgentStatus
    answer: float | None = None
    answer_text: str | None = None
    units: str = ""
    objective: float | None = None
    explanation: str = ""
    warnings: list[str] = Field(default_factory=list)
    final_feedback: str | None = None
    repairs: int = 0
    problem_class: str | None = None
    variables: dict[str, float] = Field(default_factory=dict)  # nonzero values only

    @classmethod
    def of(cls, result: AgentResult) -> ResultSummary:
        """The summary of an agent run."""
        values: dict[str, float] = {}
        if result.solve_result is not None and result.solve_result.has_solution:
            nonzero = (
                (k, v) for k, v in result.solve_result.flat_values().items() if abs(v) > 1e-9
            )
            values = dict(list(nonzero)[:_MAX_STORED_VALUES])
        answer = result.answer
        return cls(
            status=result.status,
            answer=answer.value if answer else None,
            answer_text=answer.text if answer else None,
            units=answer.units if answer else "",
            objective=result.objective,
            explanation=result.explanation,
            warnings=list(result.warnings),
            final_feedback=result.final_feedback,
            repairs=result.repairs,
            problem_class=result.checked.problem_class.value if result.checked else None,
            variables=values,
        )

    @property
    def headline(self) -> str:
        """e.g. 'solved: 36 (weekly profit)' or 'infeasible'."""
        if self.answer_text is not None:
            return f"{self.status}: {self.answer_text}"
        return self.status


class ChatVersion(BaseModel):
    """One version of the session's model: the message that made it, the proposal, its result."""

    model_config = ConfigDict(frozen=True)

    number: int = Field(ge=1)
    message: str
    proposal: Proposal
    summary: ResultSummary
    diff: str = ""  # unified diff from the previous version ('' for the first)
    note: str = ""  # the model's one-line account of the change

    @property
    def kind(self) -> Literal["problem", "edit"]:
        """'problem' for the first version, 'edit' for the others."""
        return "problem" if self.number == 1 else "edit"

    def to_record(self) -> dict[str, Any]:
        """The version as JSON-able data, as stored by the checkpointer."""
        return self.model_dump(mode="json")

    @classmethod
    def from_record(cls, record: dict[str, Any]) -> ChatVersion:
        """The version stored as `record`."""
        return cls.model_validate(record)


@dataclass(frozen=True)
class ChatTurn:
    """What one message did: the version it made (or why it made none) and the live result."""

    message: str
    kind: Literal["problem", "edit"]
    version: ChatVersion | None  # the current version after the turn (None: nothing recorded)
    previous: ChatVersion | None  # the current version before the turn
    result: AgentResult | None  # None when the edit changed nothing and nothing was re-solved
    changed: bool  # the formulation or the answer specification changed
    diff: str = ""
    note: str = ""
    usage: Usage = field(default_factory=Usage)  # model calls of the turn: edit and solve

    @property
    def recorded(self) -> bool:
        """True when the turn added a version to the session."""
        return self.version is not None and self.version is not self.previous


def _spec_lines(spec: AnswerSpec) -> str:
    """The answer specification as YAML comment lines, appended to a diffed formulation."""
    asked = spec.expression if spec.expression is not None else "the objective"
    lines = [f"# answer: {asked}"]
    if spec.units:
        lines.append(f"# answer units: {spec.units}")
    if spec.description:
        lines.append(f"# answer description: {spec.description}")
    for name, expression in spec.report.items():
        lines.append(f"# report {name}: {expression}")
    return "\n".join(lines) + "\n"


def proposal_diff(before: Proposal, after: Proposal, old_label: str, new_label: str) -> str:
    """A unified diff of the formulation YAML of two proposals ('' when the models agree).

    A change of the asked quantity (the answer specification) shows as changed comment lines
    at the end, so that "how many doors?" is visible although the formulation stays the same.
    """
    old_text, new_text = dump_formulation(before.formulation), dump_formulation(after.formulation)
    if before.answer != after.answer:
        old_text += _spec_lines(before.answer)
        new_text += _spec_lines(after.answer)
    lines = difflib.unified_diff(
        old_text.splitlines(keepends=True),
        new_text.splitlines(keepends=True),
        fromfile=old_label,
        tofile=new_label,
    )
    return "".join(lines)
