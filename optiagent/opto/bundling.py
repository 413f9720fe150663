"""`bundle`: record each call of a function as one step of the traced graph.

    @bundle
    def summarize(prompt: str, text: str) -> str:
        \"\"\"Ask the model to summarize `text` following `prompt`.\"\"\"
        ...

    out = summarize(prompt_parameter, "long text")   # a Node; out.data is the summary

Arguments may be nodes (their `.data` is passed to the function) or plain values (recorded as
constants); nodes inside lists, tuples and dicts are found too. The function runs on plain
values and its result becomes a node whose parents are the input nodes.

Errors are values: if the function raises an `Exception`, the call returns a node carrying it
(`out.failed`, `out.error`), so the trace shows where the run failed and an optimizer can read
it; a later bundled step that receives a failed node does not run and passes the failure on.
Reading `.data` of a failed node raises `StepError`. Use `@bundle(catch_errors=False)` to let
exceptions propagate unchanged instead.
"""

from __future__ import annotations

import functools
import inspect
import re
import textwrap
from collections.abc import Callable, Coroutine
from dataclasses import dataclass, field
from typing import Any, ParamSpec, TypeVar, overload

from optiagent.opto.nodes import Node, Step, StepInfo

__all__ = ["bundle", "step_info"]

P = ParamSpec("P")
R = TypeVar("R")

_DEF_LINE = re.compile(r"^(async\s+)?def\s")
_RECEIVER_NAMES = ("self", "cls")


@overload
def bundle(  # type: ignore[overload-overlap]  # async first: a coroutine function is callable too
    function: Callable[P, Coroutine[Any, Any, R]],
) -> Callable[..., Coroutine[Any, Any, Node[R]]]: ...


@overload
def bundle(function: Callable[P, R]) -> Callable[..., Node[R]]: ...


@overload
def bundle(
    function: None = None, *, name: str | None = None, catch_errors: bool = True
) -> Callable[[Callable[P, R]], Callable[..., Any]]: ...


def bundle(
    function: Callable[..., Any] | None = None,
    *,
    name: str | None = None,
    catch_errors: bool = True,
) -> Any:
    """Return `function` wrapped so that each call returns a Node recorded as one traced step.

    Works on plain and `async` functions, as `@bundle` or `@bundle(name=..., catch_errors=...)`.
    """

    def decorate(target: Callable[..., Any]) -> Callable[..., Any]:
        info = _make_info(target, name)
        signature = inspect.signature(target)

        if inspect.iscoroutinefunction(target):

            @functools.wraps(target)
            async def async_call(*args: Any, **kwargs: Any) -> Node[Any]:
                call = _Call.prepare(info, signature, args, kwargs)
                if call.failed_input is not None:
                    return call.skipped()
                try:
                    result = await target(*call.args, **call.kwargs)
                except Exception as error:
                    if not catch_errors:
                        raise
                    return call.failed(error)
                return call.finished(result)

            wrapper: Callable[..., Any] = async_call
        else:

            @functools.wraps(target)
            def call_now(*args: Any, **kwargs: Any) -> Node[Any]:
                call = _Call.prepare(info, signature, args, kwargs)
                if call.failed_input is not None:
                    return call.skipped()
                try:
                    result = target(*call.args, **call.kwargs)
                except Exception as error:
                    if not catch_errors:
                        raise
                    return call.failed(error)
                return call.finished(result)

            wrapper = call_now
        wrapper.__opto_step__ = info  # type: ignore[attr-defined]
        return wrapper

    if function is not None:
        return decorate(function)
    return decorate


def step_info(function: Callable[..., Any]) -> StepInfo | None:
    """Return the StepInfo of a bundled function (None for a function that is not bundled)."""
    return getattr(function, "__opto_step__", None)


@dataclass
class _Call:
    """One call being made: plain arguments for the function, input nodes for the trace."""

    info: StepInfo
    args: tuple[Any, ...]
    kwargs: dict[str, Any]
    inputs: list[tuple[str, Node[Any]]] = field(default_factory=list)
    failed_input: tuple[str, Node[Any]] | None = None

    @classmethod
    def prepare(
        cls,
        info: StepInfo,
        signature: inspect.Signature,
        args: tuple[Any, ...],
        kwargs: dict[str, Any],
    ) -> _Call:
        bound = signature.bind(*args, **kwargs)
        bound.apply_defaults()
        call = cls(info, (), {})
        for position, (argument, value) in enumerate(list(bound.arguments.items())):
            if position == 0 and argument in _RECEIVER_NAMES and not isinstance(value, Node):
                continue  # the receiver of a method is context, not an input worth tracing
            bound.arguments[argument] = call._unwrap(value, argument)
        call.args, call.kwargs = bound.args, bound.kwargs
        return call

    def _unwrap(self, value: Any, label: str) -> Any:
        if isinstance(value, Node):
            self.inputs.append((label, value))
            if value.error is not None and self.failed_input is None:
                self.failed_input = (label, value)
            return value._data
        if _holds_node(value):
            if isinstance(value, dict):
                return {k: self._unwrap(v, f"{label}[{k}]") for k, v in value.items()}
            items = [self._unwrap(v, f"{label}[{i}]") for i, v in enumerate(value)]
            return items if isinstance(value, list) else tuple(items)
        self.inputs.append((label, Node(value, name=label)))
        return value

    def _step(self, skipped_because: str | None = None) -> Step:
        return Step(self.info, tuple(self.inputs), skipped_because)

    def finished(self, result: Any) -> Node[Any]:
        if isinstance(result, Node):
            # A node returned from inside is part of this step; its own history stays hidden.
            return Node(result._data, name=self.info.name, step=self._step(), error=result.error)
        return Node(result, name=self.info.name, step=self._step())

    def failed(self, error: Exception) -> Node[Any]:
        return Node(None, name=self.info.name, step=self._step(), error=error)

    def skipped(self) -> Node[Any]:
        assert self.failed_input is not None
        label, upstream = self.failed_input
        return Node(None, name=self.info.name, step=self._step(label), error=upstream.error)


def _holds_node(value: Any) -> bool:
    if type(value) in (list, tuple):
        return any(isinstance(v, Node) or _holds_node(v) for v in value)
    if type(value) is dict:
        return any(isinstance(v, Node) or _holds_node(v) for v in value.values())
    return False


def _make_info(function: Callable[..., Any], name: str | None) -> StepInfo:
    qualified = getattr(function, "__qualname__", None) or getattr(function, "__name__", None)
    qualified = str(qualified or "step")
    readable = qualified.split("<locals>.")[-1]
    return StepInfo(
        name=name or readable, doc=inspect.getdoc(function) or "", source=_source(function)
    )


def _source(function: Callable[..., Any]) -> str | None:
    try:
        text = textwrap.dedent(inspect.getsource(function))
    except (OSError, TypeError):
        return None
    lines = text.splitlines()
    # Drop the decorator lines (even multi-line ones): the step is the function itself.
    for index, line in enumerate(lines):
        if _DEF_LINE.match(line):
            return "\n".join(lines[index:]).rstrip()
    return text.rstrip()
