"""The five-element formulation: sets, parameters, variables, objective, constraints.

These pydantic models define the shape of a formulation file (YAML or JSON) and the JSON
schema handed to a language model. They check shape only; meaning (names that exist, index
counts, data that fits its sets) is checked by `optiagent.formulations.validation`, which
reports every problem as an `Issue` with a suggestion.

Files may use a shorter form for hand-written models: each section may be a mapping from
name to definition instead of a list, a scalar parameter may be given as a bare number, a
constraint as a bare expression string (named c1, c2, ... by its position in a list), and the
objective as `{maximize: "3*x + 5*y"}`.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

__all__ = [
    "ConstraintDef",
    "Domain",
    "Element",
    "Formulation",
    "Objective",
    "ParameterDef",
    "Sense",
    "SetDef",
    "TableColumn",
    "TableValues",
    "VariableDef",
]

Element = str | int
"""A set element: a name or an integer."""


class Domain(StrEnum):
    """The values a decision variable may take."""

    REAL = "real"
    NONNEGATIVE_REAL = "nonnegative_real"
    INTEGER = "integer"
    NONNEGATIVE_INTEGER = "nonnegative_integer"
    BINARY = "binary"
    INTERVAL = "interval"

    @property
    def is_integral(self) -> bool:
        """True for domains whose values are whole numbers."""
        return self in (Domain.INTEGER, Domain.NONNEGATIVE_INTEGER, Domain.BINARY, Domain.INTERVAL)


_DOMAIN_ALIASES = {
    "continuous": Domain.REAL,
    "reals": Domain.REAL,
    "free": Domain.REAL,
    "nonnegative": Domain.NONNEGATIVE_REAL,
    "non_negative": Domain.NONNEGATIVE_REAL,
    "nonnegativereals": Domain.NONNEGATIVE_REAL,
    "nonnegative_continuous": Domain.NONNEGATIVE_REAL,
    "non_negative_real": Domain.NONNEGATIVE_REAL,
    "int": Domain.INTEGER,
    "integers": Domain.INTEGER,
    "nonnegativeintegers": Domain.NONNEGATIVE_INTEGER,
    "non_negative_integer": Domain.NONNEGATIVE_INTEGER,
    "natural": Domain.NONNEGATIVE_INTEGER,
    "bool": Domain.BINARY,
    "boolean": Domain.BINARY,
    "binaries": Domain.BINARY,
}


class Sense(StrEnum):
    """Direction of optimization."""

    MINIMIZE = "minimize"
    MAXIMIZE = "maximize"


_SENSE_ALIASES = {"min": Sense.MINIMIZE, "minimise": Sense.MINIMIZE, "max": Sense.MAXIMIZE}
_SENSE_ALIASES["maximise"] = Sense.MAXIMIZE


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", populate_by_name=True)


class TableColumn(_Strict):
    """A column of a data table given with the problem (a CSV file or a table in the text)."""

    table: str = Field(description="name of the table, as listed with the problem")
    column: str = Field(description="column whose distinct values, in order, are the elements")


class TableValues(_Strict):
    """Parameter values read from a data table: a long table (one row per index) or a wide one.

    Long: `column` holds the values and `index_columns` one column per index set. Wide (one
    column per element of the last index set, e.g. week1, week2, ...): `columns` lists those
    columns in that set's order and `index_columns` covers the other index sets.
    """

    table: str = Field(description="name of the table, as listed with the problem")
    column: str | None = Field(None, description="column holding the values (a long table)")
    columns: list[str] | None = Field(
        None,
        description="instead of column, for a wide table: the value columns, one per element "
        "of the parameter's last index set, in that set's order",
    )
    index_columns: list[str] = Field(
        default_factory=list,
        description="columns holding the index elements, one per index set (with columns: "
        "one per index set but the last), in the order of the parameter's index",
    )

    @model_validator(mode="after")
    def _one_kind_of_value_column(self) -> TableValues:
        if (self.column is None) == (self.columns is None):
            raise ValueError(
                "give either 'column' (one value column) or 'columns' (a wide table: one "
                "column per element of the last index set), exactly one of them"
            )
        if self.columns is not None and not self.columns:
            raise ValueError("'columns' is empty: list the value columns in set order")
        return self


class SetDef(_Strict):
    """An index set: explicit elements, the integer range first..last, or a table column."""

    name: str = Field(description="identifier, e.g. Plants")
    elements: list[Element | list[Element]] | None = Field(
        None,
        description="explicit elements (names or integers); a list of pairs/tuples "
        "makes a set of tuples, e.g. arcs [[a, b], [b, c]]",
    )
    first: int | str | None = Field(
        None, description="first integer of a range set (a number or a scalar parameter name)"
    )
    last: int | str | None = Field(
        None, description="last integer of a range set, inclusive (number or parameter name)"
    )
    from_table: TableColumn | None = Field(
        None, description="read the elements from a column of a data table instead"
    )
    description: str = ""


class ParameterDef(_Strict):
    """A named constant: a scalar, or values indexed by one or more sets."""

    name: str = Field(description="identifier, e.g. cost")
    index: list[str] = Field(
        default_factory=list, description="names of the sets it is indexed by; empty for a scalar"
    )
    value: Any = Field(
        None,
        description="a number for a scalar; for an indexed parameter a mapping from element "
        "to value (nested for several sets, e.g. {seattle: {chicago: 1.7}}) or a list in the "
        "order of the set's elements",
    )
    from_table: TableValues | None = Field(
        None, description="read the values from a data table instead of writing them out"
    )
    default: float | None = Field(None, description="value for indices missing from `value`")
    units: str = ""
    description: str = ""


class VariableDef(_Strict):
    """A decision variable, optionally indexed by sets."""

    name: str = Field(description="identifier, e.g. ship")
    index: list[str] = Field(
        default_factory=list, description="names of the sets it is indexed by; empty for a scalar"
    )
    domain: Domain = Field(
        Domain.NONNEGATIVE_REAL,
        description="real, nonnegative_real, integer, nonnegative_integer, binary, or "
        "interval (a scheduling task: an integer start time with a fixed duration)",
    )
    lower: float | str | None = Field(
        None, description="lower bound: a number or the name of a parameter with the same index"
    )
    upper: float | str | None = Field(
        None, description="upper bound: a number or the name of a parameter with the same index"
    )
    duration: float | str | None = Field(
        None, description="interval variables only: duration (number or parameter name)"
    )
    units: str = ""
    description: str = ""

    @field_validator("domain", mode="before")
    @classmethod
    def _domain_alias(cls, value: Any) -> Any:
        if isinstance(value, str):
            key = value.strip().lower().replace("-", "_").replace(" ", "_")
            return _DOMAIN_ALIASES.get(key, key)
        return value


class Objective(_Strict):
    """What to optimize: a sense and an expression."""

    sense: Sense = Field(description="minimize or maximize")
    expression: str = Field(description="e.g. sum(cost[i] * x[i] for i in Items)")
    description: str = ""

    @field_validator("sense", mode="before")
    @classmethod
    def _sense_alias(cls, value: Any) -> Any:
        if isinstance(value, str):
            key = value.strip().lower()
            return _SENSE_ALIASES.get(key, key)
        return value


class ConstraintDef(_Strict):
    """A named constraint, optionally repeated for every element of one or more sets."""

    name: str = Field(description="identifier, e.g. supply_limit")
    expression: str = Field(
        description="a comparison with <=, >= or == (e.g. sum(x[p, m] for m in M) <= cap[p]), "
        "or a global constraint: all_different(...), no_overlap(...)"
    )
    forall: str | None = Field(
        None,
        description="quantifier binding the free indices, e.g. 'p in P' or "
        "'p in P, t in T if t > 1'; omit for a single constraint",
    )
    description: str = ""


def _named_list(value: Any, shorthand: str | None) -> Any:
    """Turn {name: definition} into [{name: ..., ...}] (lists pass through)."""
    if not isinstance(value, dict):
        return value
    items = []
    for name, definition in value.items():
        if isinstance(definition, dict):
            items.append({"name": name, **definition})
        elif shorthand is not None:
            items.append({"name": name, shorthand: definition})
        else:
            items.append({"name": name, "value": definition})
    return items


def _unnamed_constraints(value: Any) -> Any:
    """Name the bare expression strings of a constraint list c1, c2, ... by their position."""
    if not isinstance(value, list):
        return value
    return [
        {"name": f"c{number}", "expression": item} if isinstance(item, str) else item
        for number, item in enumerate(value, start=1)
    ]


class Formulation(_Strict):
    """A complete optimization model in the five-element form."""

    name: str = Field("model", description="short identifier of the model")
    description: str = Field("", description="what the model decides, in one or two sentences")
    sets: list[SetDef] = Field(default_factory=list)
    parameters: list[ParameterDef] = Field(default_factory=list)
    variables: list[VariableDef] = Field(default_factory=list)
    objective: Objective | None = Field(None, description="omit for a feasibility problem")
    constraints: list[ConstraintDef] = Field(default_factory=list)

    @model_validator(mode="before")
    @classmethod
    def accept_short_forms(cls, data: Any) -> Any:
        """Rewrite the short {name: definition} forms of a document into the list form."""
        if not isinstance(data, dict):
            return data
        data = dict(data)
        if "sets" in data:
            data["sets"] = _named_list(data["sets"], "elements")
        if "parameters" in data:
            data["parameters"] = _named_list(data["parameters"], None)
        if "variables" in data:
            data["variables"] = _named_list(data["variables"], "domain")
        if "constraints" in data:
            data["constraints"] = _unnamed_constraints(
                _named_list(data["constraints"], "expression")
            )
        objective = data.get("objective")
        if (
            isinstance(objective, dict)
            and "expression" not in objective
            and "sense" not in objective
        ):
            senses = [
                k for k in objective if str(k).lower() in ("minimize", "maximize", "min", "max")
            ]
            if len(senses) == 1:  # {maximize: "3*x + 5*y", description: ...}
                rest = {k: v for k, v in objective.items() if k != senses[0]}
                data["objective"] = {"sense": senses[0], "expression": objective[senses[0]], **rest}
        return data

    def symbol_names(self) -> set[str]:
        """Every set, parameter and variable name defined in the formulation."""
        groups = (self.sets, self.parameters, self.variables)
        return {item.name for group in groups for item in group}
