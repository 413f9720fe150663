"""`Optimizer`: the one interface of every optimizer (LLM or numeric).

opt = SomeOptimizer([param, ...])
for _ in range(rounds):
    out = workflow(param)                  # a Node (from a bundled call) or a plain value
    opt.zero_feedback()
    opt.backward(out, feedback)            # text, a score, or Feedback(text=..., score=...)
    opt.step()                             # the parameters now hold the next values to try
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from optiagent.exceptions import ConfigurationError
from optiagent.opto.feedback import Feedback, FeedbackLike
from optiagent.opto.graph import Trace, graph_of
from optiagent.opto.parameters import Parameter

__all__ = ["Optimizer", "StepResult"]


@dataclass(frozen=True)
class StepResult:
    """What one `step()` did: the new values by parameter name, and why."""

    updates: dict[str, Any] = field(default_factory=dict)
    """Parameters whose value changed, by name, with their new value."""
    reasoning: str = ""
    """The LLM's reasoning (OptoPrime) or a short note (numeric optimizers)."""
    attempts: int = 0
    """LLM calls made for this step (0 for numeric optimizers)."""
    done: bool = False
    """True when the optimizer has finished (converged or out of budget) and will not move."""


class Optimizer(ABC):
    """Base of every optimizer: trainable parameters and the feedback given since the last step."""

    def __init__(self, parameters: Iterable[Parameter[Any]]) -> None:
        self._parameters = _checked_parameters(parameters, type(self).__name__)
        self._feedback: list[tuple[Trace, Feedback]] = []

    @property
    def parameters(self) -> tuple[Parameter[Any], ...]:
        """The parameters this optimizer updates."""
        return self._parameters

    def parameter(self, name: str) -> Parameter[Any]:
        """Return the parameter called `name`; raise KeyError naming the known ones."""
        for parameter in self._parameters:
            if parameter.name == name:
                return parameter
        known = ", ".join(p.name for p in self._parameters)
        raise KeyError(f"no parameter named {name!r}; this optimizer has: {known}")

    def values(self) -> dict[str, Any]:
        """Return the current value of every parameter, by name."""
        return {p.name: p.value for p in self._parameters}

    @property
    def done(self) -> bool:
        """True when the optimizer will not move any more (OptoPrime never stops by itself)."""
        return False

    @property
    def feedback(self) -> tuple[tuple[Trace, Feedback], ...]:
        """The (trace of an output, feedback on it) pairs given since the last `zero_feedback`."""
        return tuple(self._feedback)

    def zero_feedback(self) -> None:
        """Forget the feedback given so far (call before each round of `backward`)."""
        self._feedback.clear()

    def backward(self, output: Any, feedback: FeedbackLike) -> None:
        """Record `feedback` on `output` (a Node whose trace is kept, or a plain value)."""
        self._feedback.append((graph_of(output), Feedback.of(feedback)))

    @abstractmethod
    def step(self) -> StepResult:
        """Update the parameters from the recorded feedback and return what changed."""

    async def astep(self) -> StepResult:
        """Async `step`; optimizers that call a model override it to not block the event loop."""
        return self.step()

    def _require_feedback(self) -> list[tuple[Trace, Feedback]]:
        if not self._feedback:
            raise ConfigurationError(
                f"{type(self).__name__}.step() was called without feedback: call "
                "opt.backward(output, feedback) after computing the output and before step()"
            )
        return list(self._feedback)


def _checked_parameters(
    parameters: Iterable[Parameter[Any]], owner: str
) -> tuple[Parameter[Any], ...]:
    checked = tuple(parameters)
    if not checked:
        raise ConfigurationError(f"{owner} needs at least one Parameter to optimize")
    names: set[str] = set()
    for parameter in checked:
        if not isinstance(parameter, Parameter):
            raise ConfigurationError(
                f"{owner} optimizes Parameter objects, got {type(parameter).__name__}: wrap the "
                "value as Parameter(value, name=...)"
            )
        if not parameter.trainable:
            raise ConfigurationError(
                f"parameter {parameter.name!r} is not trainable (trainable=False); leave it out "
                f"of the {owner} or make it trainable"
            )
        if parameter.name in names:
            raise ConfigurationError(
                f"two parameters of this {owner} are named {parameter.name!r}; names must be "
                "unique because suggestions address parameters by name"
            )
        names.add(parameter.name)
    return checked
