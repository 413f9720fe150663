"""Values that remember how they were computed: `Node`, the `Step` that made one, `StepError`.

A node points at its parents, so the graph of a run is found by walking back from its output
(`optiagent.opto.graph_of`). No graph is kept anywhere else: two runs in two threads or two
asyncio tasks build two separate graphs without any shared state.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Generic, TypeVar

from optiagent.exceptions import OptiAgentError

__all__ = ["Node", "Step", "StepError", "StepInfo", "node"]

T = TypeVar("T")


@dataclass(frozen=True)
class StepInfo:
    """What is known about a bundled function: its name, docstring and source code."""

    name: str
    doc: str
    source: str | None


@dataclass(frozen=True)
class Step:
    """One call of a bundled function: the function and its inputs by argument name."""

    info: StepInfo
    inputs: tuple[tuple[str, Node[Any]], ...]
    skipped_because: str | None = None
    """Set when the call did not run because an input had failed (the label of that input)."""

    @property
    def name(self) -> str:
        """The function's name."""
        return self.info.name


class StepError(OptiAgentError):
    """Raised when the value of a failed node is read; `node` is the failed node, for backward.

    A bundled step that raises does not raise at the call site: its output is a node that
    carries the exception (`node.error`), so the optimizer can see the failure in the trace.
    Reading `node.data` of such a node raises this error, with the original as `__cause__`.
    """

    def __init__(self, node: Node[Any]) -> None:
        error = node.error
        step = node.step
        where = f"the step {step.name!r}" if step is not None else f"the node {node.name!r}"
        super().__init__(
            f"{where} failed with {type(error).__name__}: {error}; check `node.failed` before "
            "reading `node.data`, or pass the node to `opt.backward(node, feedback)`"
        )
        self.node = node


class Node(Generic[T]):
    """A value in a traced computation, with the step that computed it and that step's inputs.

    `data` (alias `value`) is the plain value. Nodes made by a `bundle`d call have a `step` and
    `parents`; constants and parameters have neither. Nodes compare by identity.
    """

    __slots__ = ("_data", "description", "error", "name", "parents", "step")

    def __init__(
        self,
        data: T,
        *,
        name: str = "value",
        description: str = "",
        step: Step | None = None,
        error: BaseException | None = None,
    ) -> None:
        self._data = data
        self.name = name
        self.description = description
        self.step = step
        self.error = error
        self.parents: tuple[Node[Any], ...] = _unique_parents(step)

    @property
    def data(self) -> T:
        """The plain value; raises StepError if the step that made this node failed."""
        if self.error is not None:
            raise StepError(self) from self.error
        return self._data

    @property
    def value(self) -> T:
        """The plain value (same as `data`)."""
        return self.data

    @property
    def failed(self) -> bool:
        """True when the step that made this node raised (or an input of it had failed)."""
        return self.error is not None

    @property
    def is_leaf(self) -> bool:
        """True for constants and parameters (nodes not computed by a step)."""
        return self.step is None

    def __repr__(self) -> str:
        if self.error is not None:
            shown = f"error={type(self.error).__name__}: {self.error}"
        else:
            shown = f"data={self._data!r}"
        text = f"{type(self).__name__}({self.name!r}, {shown})"
        return text if len(text) <= 200 else text[:197] + "..."


def _unique_parents(step: Step | None) -> tuple[Node[Any], ...]:
    if step is None:
        return ()
    seen: set[int] = set()
    parents: list[Node[Any]] = []
    for _, parent in step.inputs:
        if id(parent) not in seen:
            seen.add(id(parent))
            parents.append(parent)
    return tuple(parents)


def node(value: T | Node[T], *, name: str = "value", description: str = "") -> Node[T]:
    """Return `value` as a node: a node is returned as it is, anything else becomes a constant.

    Use `Parameter` for a value an optimizer may change.
    """
    if isinstance(value, Node):
        return value
    return Node(value, name=name, description=description)
