"""The trace of a run: the nodes an output depends on, in topological order, printable.

    out = run(prompt, "some text")
    print(graph_of(out))
    #1 prompt (trainable text) = "Summarize in one line."
    #2 text = "some text"
    #3 run(prompt=#1, text=#2) -> "..."

The graph is found by walking the parents of the outputs, so it holds exactly this run's nodes.
A parameter is shown with its current value: print (or `backward`) a trace before `step()`
changes it, as the optimizers do.
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from pydantic import BaseModel

from optiagent.opto.nodes import Node, StepInfo
from optiagent.opto.parameters import Parameter

__all__ = ["Trace", "graph_of", "render_value"]

DEFAULT_VALUE_LIMIT = 200
"""How many characters of a value a printed trace shows by default."""


@dataclass(frozen=True)
class Trace:
    """The nodes that `outputs` depend on, parents before children (ids #1, #2, ... in order)."""

    nodes: tuple[Node[Any], ...]
    outputs: tuple[Node[Any], ...]
    _ids: dict[int, int] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        ids = {id(n): index + 1 for index, n in enumerate(self.nodes)}
        object.__setattr__(self, "_ids", ids)

    def id_of(self, node: Node[Any]) -> int:
        """Return the node's number in this trace (1-based, topological order)."""
        try:
            return self._ids[id(node)]
        except KeyError:
            raise KeyError(f"node {node.name!r} is not part of this trace") from None

    def __contains__(self, node: object) -> bool:
        # Every node of the trace is alive while the trace is, so no other object shares its id.
        return id(node) in self._ids

    def label(self, node: Node[Any]) -> str:
        """Return the node's label in this trace, e.g. '#3'."""
        return f"#{self.id_of(node)}"

    @property
    def parameters(self) -> tuple[Parameter[Any], ...]:
        """The trainable parameters the outputs depend on."""
        return tuple(n for n in self.nodes if isinstance(n, Parameter) and n.trainable)

    @property
    def leaves(self) -> tuple[Node[Any], ...]:
        """Nodes not computed by a step: constants and parameters."""
        return tuple(n for n in self.nodes if n.step is None)

    @property
    def intermediates(self) -> tuple[Node[Any], ...]:
        """Nodes computed by a step that are not outputs."""
        outputs = {id(n) for n in self.outputs}
        return tuple(n for n in self.nodes if n.step is not None and id(n) not in outputs)

    @property
    def steps(self) -> tuple[Node[Any], ...]:
        """Every node computed by a step, in order (the output node of each call)."""
        return tuple(n for n in self.nodes if n.step is not None)

    @property
    def functions(self) -> tuple[StepInfo, ...]:
        """The distinct bundled functions called in this trace, in order of first call."""
        seen: dict[int, StepInfo] = {}
        for n in self.steps:
            assert n.step is not None
            seen.setdefault(id(n.step.info), n.step.info)
        return tuple(seen.values())

    def call_text(self, node: Node[Any]) -> str:
        """Return how a step node was computed, e.g. 'run(prompt=#1, text=#2)'."""
        if node.step is None:
            return self.label(node)
        arguments = ", ".join(f"{name}={self.label(n)}" for name, n in node.step.inputs)
        return f"{node.step.name}({arguments})"

    def line(self, node: Node[Any], *, limit: int | None = DEFAULT_VALUE_LIMIT) -> str:
        """Return one printed line for `node`: its label, how it was made, and its value."""
        label = self.label(node)
        if node.step is None:
            return f"{label} {node.name}{_leaf_tag(node)} = {render_node_value(node, limit)}"
        return f"{label} {self.call_text(node)} -> {render_node_value(node, limit, self)}"

    def render(self, *, limit: int | None = DEFAULT_VALUE_LIMIT) -> str:
        """Return the whole trace, one line per node in topological order."""
        return "\n".join(self.line(n, limit=limit) for n in self.nodes)

    def __str__(self) -> str:
        return self.render()


def graph_of(*outputs: Node[Any] | Any) -> Trace:
    """Return the trace of `outputs`: every node they depend on, parents first.

    A plain value (not a node) counts as a constant output with no history.
    """
    output_nodes = tuple(o if isinstance(o, Node) else Node(o, name="output") for o in outputs)
    return Trace(nodes=tuple(_topological_order(output_nodes)), outputs=output_nodes)


def _topological_order(outputs: Sequence[Node[Any]]) -> list[Node[Any]]:
    # Iterative depth-first post-order: long chains of steps must not hit the recursion limit.
    order: list[Node[Any]] = []
    done: set[int] = set()
    for root in outputs:
        stack: list[tuple[Node[Any], int]] = [(root, 0)]
        while stack:
            current, next_parent = stack.pop()
            if id(current) in done:
                continue
            if next_parent < len(current.parents):
                stack.append((current, next_parent + 1))
                parent = current.parents[next_parent]
                if id(parent) not in done:
                    stack.append((parent, 0))
            else:
                done.add(id(current))
                order.append(current)
    return order


def _leaf_tag(node: Node[Any]) -> str:
    if isinstance(node, Parameter):
        trainable = "trainable" if node.trainable else "fixed"
        return f" ({trainable} {node.type_description()})"
    return ""


def render_node_value(node: Node[Any], limit: int | None, trace: Trace | None = None) -> str:
    """Return a node's value as one line of text (or what went wrong, for a failed node)."""
    if node.error is not None:
        step = node.step
        if step is not None and step.skipped_because is not None:
            cause = step.skipped_because
            if trace is not None:
                failed = dict(step.inputs).get(cause)
                if failed is not None and failed in trace:
                    cause = f"{cause}={trace.label(failed)}"
            return f"not run: its input {cause} had failed"
        text = f"raised {type(node.error).__name__}: {node.error}"
        return truncate(text, limit)
    return render_value(node._data, limit)


def render_value(value: Any, limit: int | None = DEFAULT_VALUE_LIMIT) -> str:
    """Return `value` as one line of JSON-like text, shortened in the middle past `limit`."""
    return truncate(_to_text(value), limit)


def truncate(text: str, limit: int | None) -> str:
    """Return `text`, or its head and tail with the count of characters left out."""
    if limit is None or len(text) <= limit:
        return text
    keep = max(limit - 40, 20)
    head = text[: keep * 2 // 3]
    tail = text[len(text) - keep // 3 :]
    return f"{head} ...[{len(text) - len(head) - len(tail)} characters omitted]... {tail}"


def _to_text(value: Any) -> str:
    if isinstance(value, BaseModel):
        return value.model_dump_json()
    if isinstance(value, np.ndarray):
        return json.dumps(_jsonable(value.tolist()))
    if isinstance(value, np.generic):
        return _to_text(value.item())
    try:
        return json.dumps(_jsonable(value), ensure_ascii=False)
    except (TypeError, ValueError):
        return repr(value)


def _jsonable(value: Any) -> Any:
    if isinstance(value, float) and not math.isfinite(value):
        return str(value)
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_jsonable(v) for v in value]
    if isinstance(value, BaseModel):
        return value.model_dump(mode="json")
    if isinstance(value, np.ndarray):
        return _jsonable(value.tolist())
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, Iterable) and not isinstance(value, str | bytes):
        raise TypeError("not JSON data")
    return value
