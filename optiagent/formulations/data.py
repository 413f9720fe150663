"""Resolve a formulation's sets and parameters into lookup tables, reporting bad data as Issues.

Parameter values arrive in the shapes people and language models write: nested mappings
(`{seattle: {chicago: 1.7}}`), dense lists in set order, or keys such as "a,b" for a set of
pairs. All are flattened here into one table keyed by index tuples, so everything downstream
looks a value up the same way.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any

from optiagent.formulations.issues import Issue, IssueKind
from optiagent.formulations.schema import Formulation, ParameterDef, SetDef

__all__ = ["Key", "ModelData", "ParamTable", "SetData", "Value", "flatten_key", "resolve_data"]

Value = float | int | str
"""A parameter value: a number, or an element name for element-valued parameters."""
Key = tuple[Any, ...]
"""A flattened index: one entry per index position (a pair set contributes two)."""


@dataclass(frozen=True)
class SetData:
    """A resolved index set: its elements in order and its dimension (2 for pairs)."""

    name: str
    elements: tuple[Any, ...]
    dimension: int
    members: frozenset[Any] = field(repr=False)

    def position_values(self, position: int) -> set[Any]:
        """The distinct values found at one position of the elements (all for dimension 1)."""
        return set(self._lookups[position])

    def match(self, raw: Any, position: int = 0) -> Any:
        """The value at `position` that a key part ("1", " 'a' ", 2) names, or None."""
        return _coerce_one(raw, self._lookups[position])

    @cached_property
    def _lookups(self) -> tuple[dict[Any, Any], ...]:
        # built once per set: matching a key used to rebuild these per key, which made
        # loading a mapping parameter quadratic in its size
        if self.dimension == 1:
            return ({element: element for element in self.elements},)
        lookups: tuple[dict[Any, Any], ...] = tuple({} for _ in range(self.dimension))
        for element in self.elements:
            for lookup, value in zip(lookups, element, strict=True):
                lookup.setdefault(value, value)
        return lookups


@dataclass(frozen=True)
class ParamTable:
    """A resolved parameter: values keyed by flattened index tuples (() for a scalar)."""

    name: str
    index: tuple[str, ...]
    arity: int
    values: dict[Key, Value]
    default: float | None

    def lookup(self, key: Key) -> Value | None:
        """The value at `key`, the default if there is none, or None if neither exists."""
        if key in self.values:
            return self.values[key]
        return self.default


@dataclass
class ModelData:
    """All data of a formulation: sets and parameters, ready for lookup."""

    sets: dict[str, SetData] = field(default_factory=dict)
    params: dict[str, ParamTable] = field(default_factory=dict)

    def arity_of(self, set_names: tuple[str, ...] | list[str]) -> int:
        """Total number of index positions of a product of sets."""
        return sum(self.sets[s].dimension for s in set_names if s in self.sets)

    def product(self, set_names: tuple[str, ...] | list[str]) -> Iterator[Key]:
        """Every flattened key of the product of the given sets, in set order."""
        keys: list[Key] = [()]
        for name in set_names:
            data = self.sets[name]
            keys = [k + _as_tuple(e) for k in keys for e in data.elements]
        return iter(keys)


def flatten_key(values: Iterable[Any]) -> Key:
    """Join loop values into one key, unpacking tuple elements (pairs count as two)."""
    parts: list[Any] = []
    for value in values:
        parts.extend(value if isinstance(value, tuple) else (value,))
    return tuple(parts)


def _as_tuple(element: Any) -> tuple[Any, ...]:
    return element if isinstance(element, tuple) else (element,)


def _number(value: Any) -> Value | None:
    """A numeric value from a number or numeric string; element names pass through."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, str):
        text = value.strip().replace(",", "") if value.strip() else value
        try:
            number = float(text)
        except ValueError:
            return value  # an element-valued parameter, e.g. machine[j] = "M1"
        return number if math.isfinite(number) else None
    return None


class _Resolver:
    def __init__(self, formulation: Formulation) -> None:
        self.formulation = formulation
        self.data = ModelData()
        self.issues: list[Issue] = []

    def _issue(self, kind: IssueKind, element: str, message: str, **extra: Any) -> None:
        self.issues.append(Issue(kind, element, message, **extra))

    def run(self) -> ModelData:
        scalars = [p for p in self.formulation.parameters if not p.index]
        indexed = [p for p in self.formulation.parameters if p.index]
        for parameter in scalars:
            self._parameter(parameter)
        for set_def in self.formulation.sets:
            self._set(set_def)
        for parameter in indexed:
            self._parameter(parameter)
        return self.data

    # sets ------------------------------------------------------------------------------
    def _range_end(self, set_def: SetDef, which: str, value: int | str | None) -> int | None:
        element = f"set '{set_def.name}'"
        if value is None:
            self._issue(
                IssueKind.BAD_SET,
                element,
                f"a range set needs both 'first' and 'last' ('{which}' is missing)",
                field=which,
                suggestion="give first and last, or list the elements",
            )
            return None
        if isinstance(value, int):
            return value
        table = self.data.params.get(value)
        if table is None or table.index:
            self._issue(
                IssueKind.UNKNOWN_SYMBOL if table is None else IssueKind.WRONG_KIND,
                element,
                f"'{which}' refers to '{value}', which is not a scalar parameter",
                field=which,
                symbol=value,
                suggestion="use an integer or the name of a scalar parameter",
            )
            return None
        number = table.values.get(())
        if not isinstance(number, (int, float)) or float(number) != int(number):
            self._issue(
                IssueKind.BAD_SET,
                element,
                f"'{which}' parameter '{value}' = {number!r} is not an integer",
                field=which,
                symbol=value,
            )
            return None
        return int(number)

    def _set(self, set_def: SetDef) -> None:
        element = f"set '{set_def.name}'"
        if set_def.name in self.data.sets:
            return  # duplicate names are reported by validation
        has_range = set_def.first is not None or set_def.last is not None
        if set_def.from_table is not None:
            return  # unresolved: the table was not given (reported by resolve_tables)
        if set_def.elements is not None and has_range:
            self._issue(
                IssueKind.BAD_SET,
                element,
                "give either 'elements' or 'first'/'last', not both",
                suggestion="keep one way of defining the set",
            )
            return
        if set_def.elements is None and not has_range:
            self._issue(
                IssueKind.BAD_SET,
                element,
                "the set has no elements and no range",
                suggestion="list 'elements', or give 'first' and 'last' for 1..n",
            )
            return
        if has_range:
            first = self._range_end(set_def, "first", set_def.first)
            last = self._range_end(set_def, "last", set_def.last)
            if first is None or last is None:
                return
            if last - first > 10_000_000:
                self._issue(IssueKind.BAD_SET, element, f"range {first}..{last} is too large")
                return
            elements: tuple[Any, ...] = tuple(range(first, last + 1))
        else:
            assert set_def.elements is not None
            elements = tuple(tuple(e) if isinstance(e, list) else e for e in set_def.elements)
        dimensions = {len(e) if isinstance(e, tuple) else 1 for e in elements}
        if len(dimensions) > 1:
            self._issue(
                IssueKind.BAD_SET,
                element,
                f"elements mix single values and tuples of sizes {sorted(dimensions)}",
                field="elements",
                suggestion="make every element the same shape, e.g. all pairs [a, b]",
            )
            return
        seen: set[Any] = set()
        duplicates = [e for e in elements if e in seen or seen.add(e)]  # type: ignore[func-returns-value]
        if duplicates:
            self._issue(
                IssueKind.BAD_SET,
                element,
                f"duplicate elements: {', '.join(map(repr, duplicates[:5]))}",
                field="elements",
                suggestion="list each element once",
            )
            return
        dimension = dimensions.pop() if dimensions else 1
        self.data.sets[set_def.name] = SetData(
            set_def.name, elements, dimension, frozenset(elements)
        )

    # parameters ------------------------------------------------------------------------
    def _parameter(self, parameter: ParameterDef) -> None:
        element = f"parameter '{parameter.name}'"
        if parameter.name in self.data.params:
            return
        missing_sets = [s for s in parameter.index if s not in self.data.sets]
        if missing_sets:
            # unknown set names are reported by validation with a suggestion
            return
        values: dict[Key, Value] = {}
        problems: list[str] = []
        if parameter.value is None:
            if parameter.from_table is None:  # an unresolved from_table is reported elsewhere
                self._issue(
                    IssueKind.BAD_PARAMETER,
                    element,
                    "the parameter has no value",
                    field="value",
                    suggestion="give 'value', or 'from_table' to read it from a data table",
                )
            return
        if not parameter.index:
            number = _number(parameter.value)
            if number is None or isinstance(parameter.value, (list, dict)):
                self._issue(
                    IssueKind.BAD_PARAMETER,
                    element,
                    f"a scalar parameter needs a single number, got {_preview(parameter.value)}",
                    field="value",
                    suggestion="give a number, or list the sets it is indexed by under 'index'",
                )
                return
            values[()] = number
        else:
            sets = [self.data.sets[s] for s in parameter.index]
            self._flatten(parameter.value, sets, (), values, problems)
        for problem in problems[:3]:
            self._issue(
                IssueKind.BAD_PARAMETER,
                element,
                problem,
                field="value",
                suggestion="give one value per element of "
                + " x ".join(parameter.index)
                + " (a nested mapping or lists in set order)",
            )
        if len(problems) > 3:
            self._issue(
                IssueKind.BAD_PARAMETER, element, f"... and {len(problems) - 3} more such problems"
            )
        arity = self.data.arity_of(parameter.index)
        self.data.params[parameter.name] = ParamTable(
            parameter.name, tuple(parameter.index), arity, values, parameter.default
        )

    def _flatten(
        self,
        value: Any,
        sets: list[SetData],
        prefix: Key,
        out: dict[Key, Value],
        problems: list[str],
    ) -> None:
        if not sets:
            number = _number(value)
            if number is None:
                problems.append(f"value at {_label(prefix)} is {_preview(value)}, not a number")
            else:
                out[prefix] = number
            return
        current, rest = sets[0], sets[1:]
        if isinstance(value, list):
            if len(value) != len(current.elements):
                problems.append(
                    f"list at {_label(prefix) if prefix else 'top level'} has {len(value)} "
                    f"entries but set '{current.name}' has {len(current.elements)} elements"
                )
                return
            for item, sub in zip(current.elements, value, strict=True):
                self._flatten(sub, rest, prefix + _as_tuple(item), out, problems)
            return
        if isinstance(value, dict):
            self._flatten_mapping(value, current, rest, prefix, out, problems)
            return
        problems.append(
            f"expected values for the elements of set '{current.name}' at "
            f"{_label(prefix) if prefix else 'top level'}, got {_preview(value)}"
        )

    def _flatten_mapping(
        self,
        mapping: dict[Any, Any],
        current: SetData,
        rest: list[SetData],
        prefix: Key,
        out: dict[Key, Value],
        problems: list[str],
    ) -> None:
        for raw_key, sub in mapping.items():
            if current.dimension > 1 and isinstance(sub, dict) and not _is_joined(raw_key):
                # a set of pairs written as a nested mapping {a: {b: v}}
                self._flatten_nested_tuple(raw_key, sub, current, rest, prefix, out, problems)
                continue
            element = _coerce_element(raw_key, current)
            if element is None:
                problems.append(
                    f"key {raw_key!r} is not an element of set '{current.name}' "
                    f"(elements: {_elements_preview(current)})"
                )
                continue
            self._flatten(sub, rest, prefix + _as_tuple(element), out, problems)

    def _flatten_nested_tuple(
        self,
        first_key: Any,
        mapping: dict[Any, Any],
        current: SetData,
        rest: list[SetData],
        prefix: Key,
        out: dict[Key, Value],
        problems: list[str],
    ) -> None:
        partial: list[tuple[tuple[Any, ...], Any]] = [((first_key,), mapping)]
        for _ in range(current.dimension - 1):
            expanded = []
            for keys, sub in partial:
                if not isinstance(sub, dict):
                    problems.append(f"expected a mapping under {keys!r} for set '{current.name}'")
                    continue
                expanded.extend(((*keys, k), v) for k, v in sub.items())
            partial = expanded
        for keys, sub in partial:
            element = _coerce_element(keys, current)
            if element is None:
                problems.append(
                    f"key {keys!r} is not an element of set '{current.name}' "
                    f"(elements: {_elements_preview(current)})"
                )
                continue
            self._flatten(sub, rest, prefix + _as_tuple(element), out, problems)


def _is_joined(key: Any) -> bool:
    return isinstance(key, str) and "," in key


def _coerce_one(raw: Any, candidates: dict[Any, Any]) -> Any:
    if raw in candidates:
        return raw
    text = str(raw).strip().strip("'\"")
    if text in candidates:
        return text
    try:
        number = int(text)
    except ValueError:
        return None
    return number if number in candidates else None


def _coerce_element(raw: Any, data: SetData) -> Any:
    """Match a mapping key ("1", "a,b", "(a, b)", a tuple) to an element of `data`, or None."""
    if data.dimension == 1:
        return data.match(raw)
    if isinstance(raw, str):
        parts: list[Any] = raw.strip().strip("()[]").split(",")
    elif isinstance(raw, (tuple, list)):
        parts = list(raw)
    else:
        return None
    if len(parts) != data.dimension:
        return None
    element = tuple(data.match(p, i) for i, p in enumerate(parts))
    return element if element in data.members else None


def _label(key: Key) -> str:
    return "[" + ", ".join(map(str, key)) + "]"


def _preview(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


def _elements_preview(data: SetData) -> str:
    shown = ", ".join(map(str, data.elements[:8]))
    return shown + (", ..." if len(data.elements) > 8 else "")


def resolve_data(formulation: Formulation) -> tuple[ModelData, list[Issue]]:
    """Resolve all sets and parameters; return the data and the issues found on the way."""
    resolver = _Resolver(formulation)
    data = resolver.run()
    return data, resolver.issues
