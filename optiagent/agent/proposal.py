"""What the language model returns: a formulation plus what the question asks for.

The JSON schema of `Proposal` is the contract of the formulate and repair steps: it is sent
as structured output where the endpoint supports it, and every reply is validated against
it (a failure is fed back to the model with the error quoted).
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from optiagent.agent.llm import JsonSchema
from optiagent.formulations.schema import Formulation

__all__ = ["AnswerSpec", "Proposal", "proposal_schema"]


class AnswerSpec(BaseModel):
    """Which number answers the question, and in what units."""

    model_config = ConfigDict(extra="forbid")

    expression: str | None = Field(
        None,
        description="null when the question asks for the optimal objective value; otherwise "
        "an expression over the variables and parameters whose value is asked for, e.g. "
        "'trucks' or 'sum(x[i] for i in Products)'",
    )
    units: str = Field("", description="units of the answer, e.g. 'dollars', 'hours'")
    description: str = Field("", description="what the number means, in a few words")
    report: dict[str, str] = Field(
        default_factory=dict,
        description="only when the problem lists quantities to report: each listed name -> an "
        "expression over the variables for its value (the objective: its expression)",
    )


class Proposal(BaseModel):
    """A formulation of the problem and the specification of the asked quantity."""

    model_config = ConfigDict(extra="forbid")

    reasoning: str = Field(
        "",
        description="brief notes (a few sentences): the decisions, the data, the assumptions "
        "made where the problem is ambiguous",
    )
    formulation: Formulation
    answer: AnswerSpec = Field(default_factory=AnswerSpec)

    def same_model(self, other: Proposal) -> bool:
        """True when the formulation and the answer specification are unchanged."""
        return self.formulation == other.formulation and self.answer == other.answer


def proposal_schema() -> JsonSchema:
    """The Proposal JSON schema, as structured output for the model."""
    schema: dict[str, Any] = Proposal.model_json_schema()
    return JsonSchema(name="proposal", schema=schema, strict=False)
