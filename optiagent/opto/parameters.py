"""`Parameter`: a trainable value (text, code, a number, a vector, a pydantic model, JSON).

A parameter is a leaf node whose value an optimizer may replace. Its kind, inferred from the
first value, fixes what a new value must look like: `coerce` turns a candidate (from an LLM's
JSON reply or a numeric optimizer) into a value of that kind, or raises ValueError saying why not.
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable, Sequence
from typing import Any, Literal, TypeVar, cast

import numpy as np
from pydantic import BaseModel

from optiagent.exceptions import ConfigurationError, FormulationError
from optiagent.opto.nodes import Node

__all__ = ["Bound", "Parameter", "ParameterKind"]

T = TypeVar("T")

ParameterKind = Literal["text", "code", "number", "integer", "vector", "structured", "json"]
"""What a parameter holds; `code` is text shown to the LLM as source code."""

Bound = tuple[float | None, float | None]
"""A (lower, upper) bound; None means unbounded on that side."""

_KINDS: tuple[str, ...] = ("text", "code", "number", "integer", "vector", "structured", "json")


class Parameter(Node[T]):
    """A trainable value with a name (unique within an optimizer) and a description.

        prompt = Parameter("Summarize in one line.", name="prompt", description="instruction")
        x = Parameter([0.0, 0.0], name="x", bounds=(-5, 5))

    `bounds` applies to numbers and vectors (one pair for every entry, or one pair per entry);
    `constraint` is a sentence shown to the LLM optimizer (e.g. "must stay under 50 words");
    `check`, if given, is called with every new value after its type is checked and rejects it
    by raising ValueError or FormulationError (OptoPrime quotes the message in its retry).
    A parameter with `trainable=False` is shown to optimizers as an input they cannot change.
    """

    __slots__ = ("_bounds", "_kind", "check", "constraint", "trainable")

    def __init__(
        self,
        value: T,
        *,
        name: str,
        description: str = "",
        trainable: bool = True,
        kind: ParameterKind | None = None,
        constraint: str | None = None,
        bounds: Bound | Sequence[Bound] | None = None,
        check: Callable[[Any], object] | None = None,
    ) -> None:
        if not isinstance(name, str) or not name.strip() or name != name.strip():
            raise ConfigurationError(
                f"a Parameter needs a non-empty name without surrounding spaces, got {name!r}"
            )
        super().__init__(value, name=name, description=description)
        self._kind: ParameterKind = _infer_kind(value, kind, name)
        self.trainable = trainable
        self.constraint = constraint
        self.check = check
        self._bounds = _normalize_bounds(bounds, self._kind, value, name)
        try:
            self._data = self.coerce(value)
        except ValueError as error:
            raise ConfigurationError(
                f"the first value of parameter {name!r} is not valid: {error}"
            ) from error

    # -- value -------------------------------------------------------------------------------

    @property
    def data(self) -> T:
        """The current value."""
        return cast(T, self._data)

    @data.setter
    def data(self, new_value: Any) -> None:
        self._data = self.coerce(new_value)

    @property
    def value(self) -> T:
        """The current value (same as `data`); assigning validates it like `coerce`."""
        return cast(T, self._data)

    @value.setter
    def value(self, new_value: Any) -> None:
        self._data = self.coerce(new_value)

    @property
    def kind(self) -> ParameterKind:
        """What the parameter holds (fixed by its first value or the `kind` argument)."""
        return self._kind

    @property
    def bounds(self) -> list[Bound]:
        """One (lower, upper) pair per numeric entry; empty for non-numeric parameters."""
        return list(self._bounds)

    @property
    def size(self) -> int:
        """How many numbers a numeric parameter holds (0 for other kinds)."""
        if self._kind in ("number", "integer"):
            return 1
        if self._kind == "vector":
            return len(cast(Sequence[float], self._data))
        return 0

    # -- validation ----------------------------------------------------------------------------

    def coerce(self, candidate: Any) -> T:
        """Return `candidate` as a value of this parameter's kind; raise ValueError if it is not."""
        value = self._coerce_kind(candidate)
        if self.check is not None:
            try:
                self.check(value)
            except FormulationError as error:
                raise ValueError(str(error)) from error
        return value

    def _coerce_kind(self, candidate: Any) -> T:
        kind = self._kind
        if kind in ("text", "code"):
            if not isinstance(candidate, str):
                raise ValueError(f"expected a string, got {_json_type(candidate)}")
            return cast(T, candidate)
        if kind in ("number", "integer"):
            number = _as_number(candidate, integer=kind == "integer")
            self._check_bounds([float(number)])
            return cast(T, number)
        if kind == "vector":
            return cast(T, self._coerce_vector(candidate))
        if kind == "structured":
            return cast(T, self._coerce_structured(candidate))
        return cast(T, self._coerce_json(candidate))

    def _coerce_vector(self, candidate: Any) -> Any:
        if isinstance(candidate, np.ndarray):
            candidate = candidate.tolist()
        if isinstance(candidate, str | bytes) or not isinstance(candidate, Sequence):
            raise ValueError(f"expected a list of numbers, got {_json_type(candidate)}")
        numbers = [float(_as_number(item, integer=False)) for item in candidate]
        expected = len(self._bounds) if self._bounds else len(numbers)
        if len(numbers) != expected:
            plural = "s" if expected != 1 else ""
            raise ValueError(f"expected a list of {expected} number{plural}, got {len(numbers)}")
        self._check_bounds(numbers)
        if isinstance(self._data, np.ndarray):
            return np.asarray(numbers, dtype=float)
        return numbers

    def _coerce_structured(self, candidate: Any) -> BaseModel:
        model_type = type(cast(BaseModel, self._data))
        if isinstance(candidate, model_type):
            return model_type.model_validate(candidate.model_dump())
        if isinstance(candidate, str):
            try:
                candidate = json.loads(candidate)
            except json.JSONDecodeError as error:
                raise ValueError(
                    f"expected a JSON object for {model_type.__name__}, got text that is not "
                    f"JSON ({error.msg})"
                ) from None
        if not isinstance(candidate, dict):
            raise ValueError(
                f"expected a JSON object for {model_type.__name__}, got {_json_type(candidate)}"
            )
        return model_type.model_validate(candidate)

    def _coerce_json(self, candidate: Any) -> Any:
        current = self._data
        if type(candidate) is not type(current) and not (
            isinstance(current, int | float)
            and isinstance(candidate, int | float)
            and not isinstance(candidate, bool)
            and not isinstance(current, bool)
        ):
            raise ValueError(f"expected {_json_type(current)}, got {_json_type(candidate)}")
        try:
            json.dumps(candidate)
        except (TypeError, ValueError) as error:
            raise ValueError(f"the value is not JSON-serializable: {error}") from None
        return candidate

    def _check_bounds(self, numbers: Sequence[float]) -> None:
        for index, (number, (low, high)) in enumerate(zip(numbers, self._bounds, strict=False)):
            label = self.name if self._kind != "vector" else f"{self.name}[{index}]"
            if low is not None and number < low:
                raise ValueError(f"{label} = {number:g} is below its lower bound {low:g}")
            if high is not None and number > high:
                raise ValueError(f"{label} = {number:g} is above its upper bound {high:g}")

    # -- views for optimizers -------------------------------------------------------------------

    def to_json(self) -> Any:
        """Return the current value as plain JSON data (lists, dicts, strings, numbers)."""
        value: Any = self._data
        if isinstance(value, BaseModel):
            return value.model_dump(mode="json")
        if isinstance(value, np.ndarray):
            return value.tolist()
        return value

    def type_description(self) -> str:
        """Return the kind in words, as shown to the LLM (e.g. 'vector of 3 numbers')."""
        kind = self._kind
        if kind == "vector":
            return f"vector of {self.size} number{'s' if self.size != 1 else ''}"
        if kind == "structured":
            return f"JSON object of type {type(cast(BaseModel, self._data)).__name__}"
        if kind == "json":
            return f"JSON {_json_type(self._data)}"
        return kind

    def json_schema(self) -> dict[str, Any]:
        """Return the JSON schema a new value must follow (used for structured output)."""
        kind = self._kind
        if kind in ("text", "code"):
            return {"type": "string"}
        if kind == "number":
            return {"type": "number"}
        if kind == "integer":
            return {"type": "integer"}
        if kind == "vector":
            return {
                "type": "array",
                "items": {"type": "number"},
                "minItems": self.size,
                "maxItems": self.size,
            }
        if kind == "structured":
            return type(cast(BaseModel, self._data)).model_json_schema()
        return {"type": _json_type(self._data).removeprefix("a ").removeprefix("an ")}

    def constraints(self) -> list[str]:
        """Return every rule a new value must satisfy, in words (bounds, the user's constraint)."""
        rules: list[str] = []
        if self._kind in ("number", "integer", "vector"):
            rules.extend(_describe_bounds(self.name, self._bounds, self._kind == "vector"))
        if self._kind == "integer":
            rules.append(f"{self.name} must be a whole number")
        if self.constraint:
            rules.append(f"{self.name}: {self.constraint}")
        return rules

    def as_array(self) -> np.ndarray:
        """Return a numeric parameter's value as a 1-D float array."""
        if self._kind not in ("number", "vector"):
            raise ConfigurationError(
                f"parameter {self.name!r} holds {self.type_description()}; numeric optimizers "
                "handle continuous numbers and vectors only: use OptoPrime for it, or start it "
                "from a float (e.g. 3.0 instead of 3) to make it continuous"
            )
        return np.atleast_1d(np.asarray(self.to_json(), dtype=float)).copy()

    def set_array(self, values: np.ndarray) -> None:
        """Set a numeric parameter from a 1-D float array of its size."""
        flat = [float(v) for v in np.asarray(values, dtype=float).ravel()]
        self._data = self.coerce(flat[0] if self._kind == "number" else flat)


def _infer_kind(value: Any, kind: ParameterKind | None, name: str) -> ParameterKind:
    if kind is not None:
        if kind not in _KINDS:
            raise ConfigurationError(f"unknown kind {kind!r} for {name!r}; use one of {_KINDS}")
        return kind
    if isinstance(value, BaseModel):
        return "structured"
    if isinstance(value, str):
        return "text"
    if isinstance(value, bool):
        return "json"
    if isinstance(value, int):
        return "integer"
    if isinstance(value, float):
        return "number"
    if isinstance(value, np.ndarray):
        if value.ndim != 1:
            raise ConfigurationError(
                f"parameter {name!r}: only 1-D arrays are supported, got shape {value.shape}; "
                "flatten it and reshape inside your function"
            )
        return "vector"
    if (
        isinstance(value, list | tuple)
        and value
        and all(isinstance(v, int | float) and not isinstance(v, bool) for v in value)
    ):
        return "vector"
    try:
        json.dumps(value)
    except (TypeError, ValueError):
        raise ConfigurationError(
            f"parameter {name!r}: cannot train a value of type {type(value).__name__}; use text, a "
            "number, a list of numbers, a pydantic model or JSON data"
        ) from None
    return "json"


def _normalize_bounds(
    bounds: Bound | Sequence[Bound] | None, kind: ParameterKind, value: Any, name: str
) -> tuple[Bound, ...]:
    if kind not in ("number", "integer", "vector"):
        if bounds is not None:
            raise ConfigurationError(f"parameter {name!r} is {kind}: bounds apply to numbers only")
        return ()
    size = 1 if kind != "vector" else len(value)
    if bounds is None:
        return ((None, None),) * size
    pairs: list[Any]
    if len(bounds) == 2 and all(b is None or isinstance(b, int | float) for b in bounds):
        pairs = [bounds] * size
    else:
        pairs = list(bounds)
    if len(pairs) != size:
        raise ConfigurationError(
            f"parameter {name!r} has {size} entries but {len(pairs)} bounds were given; give one "
            "(lower, upper) pair for all or one per entry"
        )
    normalized: list[Bound] = []
    for low, high in pairs:
        low_f = None if low is None or low == -math.inf else float(low)
        high_f = None if high is None or high == math.inf else float(high)
        if low_f is not None and high_f is not None and low_f > high_f:
            raise ConfigurationError(f"parameter {name!r}: lower bound {low} is above upper {high}")
        normalized.append((low_f, high_f))
    return tuple(normalized)


def _as_number(candidate: Any, *, integer: bool) -> int | float:
    if isinstance(candidate, bool) or not isinstance(candidate, int | float | np.number):
        raise ValueError(f"expected a number, got {_json_type(candidate)}")
    number = float(candidate)
    if not math.isfinite(number):
        raise ValueError(f"expected a finite number, got {number}")
    if integer:
        if not number.is_integer():
            raise ValueError(f"expected a whole number, got {number:g}")
        return int(number)
    return number


def _describe_bounds(name: str, bounds: Sequence[Bound], is_vector: bool) -> list[str]:
    rules: list[str] = []
    distinct = set(bounds)
    if len(distinct) == 1 and is_vector:
        low, high = bounds[0]
        rule = _bound_sentence(f"every entry of {name}", low, high)
        return [rule] if rule else []
    for index, (low, high) in enumerate(bounds):
        rule = _bound_sentence(f"{name}[{index}]" if is_vector else name, low, high)
        if rule:
            rules.append(rule)
    return rules


def _bound_sentence(label: str, low: float | None, high: float | None) -> str:
    if low is not None and high is not None:
        return f"{label} must lie in [{low:g}, {high:g}]"
    if low is not None:
        return f"{label} must be >= {low:g}"
    if high is not None:
        return f"{label} must be <= {high:g}"
    return ""


def _json_type(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, int | float):
        return "a number"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, dict):
        return "an object"
    if isinstance(value, list | tuple):
        return "an array"
    return f"a {type(value).__name__}"
