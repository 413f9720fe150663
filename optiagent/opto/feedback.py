"""Feedback on an output: a text (an error, a critique), a score, or both."""

from __future__ import annotations

import math
from dataclasses import dataclass

from optiagent.exceptions import ConfigurationError

__all__ = ["Feedback", "FeedbackLike"]


@dataclass(frozen=True)
class Feedback:
    """What the user says about an output: `text` for an LLM optimizer, `score` for a numeric one.

    Numeric optimizers minimize the score unless they were built with `maximize=True`.
    """

    text: str | None = None
    score: float | None = None

    def __post_init__(self) -> None:
        if self.text is None and self.score is None:
            raise ConfigurationError(
                "Feedback needs a text, a score or both: Feedback(text=..., score=...)"
            )
        if self.score is not None:
            if isinstance(self.score, bool) or not isinstance(self.score, int | float):
                raise ConfigurationError(
                    f"Feedback.score must be a number, got {type(self.score).__name__}: "
                    "pass a float, e.g. Feedback(score=0.5)"
                )
            object.__setattr__(self, "score", float(self.score))

    @classmethod
    def of(cls, value: FeedbackLike) -> Feedback:
        """Return `value` as a Feedback: a str becomes the text, a number becomes the score."""
        if isinstance(value, Feedback):
            return value
        if isinstance(value, str):
            return cls(text=value)
        if isinstance(value, int | float) and not isinstance(value, bool):
            return cls(score=float(value))
        raise ConfigurationError(
            f"feedback must be a str, a number or a Feedback, got {type(value).__name__}"
        )

    def render(self) -> str:
        """Return the feedback as the text an LLM reads: the score line, then the text."""
        parts: list[str] = []
        if self.score is not None:
            parts.append(f"score: {_format_score(self.score)}")
        if self.text:
            parts.append(self.text)
        return "\n".join(parts) if parts else "(empty feedback)"


FeedbackLike = Feedback | str | float | int
"""What `Optimizer.backward` accepts as feedback."""


def _format_score(score: float) -> str:
    if math.isnan(score) or math.isinf(score):
        return str(score)
    return f"{score:.10g}"
