"""Validation issues: what is wrong in a formulation, where, and how to fix it.

An `Issue` is written for two readers: a person at a terminal and a language model that will
be asked to repair the formulation. Both need the same three things: the element (which
constraint, which parameter), the exact symbol and position, and a concrete suggestion.
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable
from dataclasses import dataclass
from enum import StrEnum

__all__ = ["Issue", "IssueKind", "closest", "format_issues"]


class IssueKind(StrEnum):
    """Every kind of validation issue (one test per kind keeps the messages honest)."""

    SCHEMA = "schema"  # the document does not have the five-element shape
    SYNTAX = "syntax"  # an expression does not parse
    FORBIDDEN = "forbidden"  # a construct outside the expression language
    DUPLICATE_NAME = "duplicate_name"
    RESERVED_NAME = "reserved_name"
    UNKNOWN_SYMBOL = "unknown_symbol"
    WRONG_KIND = "wrong_kind"  # a set used as a number, a parameter iterated over, ...
    ARITY = "arity"  # wrong number of indices
    INDEX_OUT_OF_SET = "index_out_of_set"
    MISSING_VALUE = "missing_value"  # a parameter has no value for an index it is used at
    BAD_SET = "bad_set"
    BAD_PARAMETER = "bad_parameter"
    BAD_VARIABLE = "bad_variable"
    BAD_CONSTRAINT = "bad_constraint"
    BAD_OBJECTIVE = "bad_objective"
    VARIABLE_IN_DATA = "variable_in_data"  # a variable where only data may appear
    ARITHMETIC = "arithmetic"  # division by zero, overflow, log of a negative number in data


@dataclass(frozen=True)
class Issue:
    """One problem found in a formulation, with where it is and how to fix it."""

    kind: IssueKind
    element: str  # e.g. "constraint 'supply'", "parameter 'cost'", "objective"
    message: str
    symbol: str | None = None
    field: str | None = None  # e.g. "expression", "forall", "value", "upper"
    text: str | None = None  # the source text the position refers to
    position: int | None = None  # 0-based column in `text`
    suggestion: str | None = None

    def __str__(self) -> str:
        where = self.element
        if self.field:
            where += f", {self.field}"
        if self.position is not None:
            where += f", column {self.position + 1}"
        lines = [f"{where}: {self.message}"]
        if self.text is not None and self.position is not None and len(self.text) <= 400:
            lines.append(f"    {self.text}")
            lines.append("    " + " " * self.position + "^")
        if self.suggestion:
            lines.append(f"    fix: {self.suggestion}")
        return "\n".join(lines)

    def to_dict(self) -> dict[str, object]:
        """The issue as a JSON-ready dict."""
        return {
            "kind": self.kind.value,
            "element": self.element,
            "field": self.field,
            "symbol": self.symbol,
            "position": self.position,
            "message": self.message,
            "suggestion": self.suggestion,
        }


def format_issues(issues: Iterable[Issue]) -> str:
    """All issues as one numbered text block, the form fed back to a language model."""
    items = list(issues)
    if not items:
        return "no issues"
    header = f"{len(items)} problem{'s' if len(items) != 1 else ''} in the formulation:"
    body = [f"{n}. {issue}" for n, issue in enumerate(items, 1)]
    return "\n".join([header, *body])


def closest(name: str, candidates: Iterable[str]) -> str | None:
    """The candidate most similar to `name`, if one is similar enough to suggest."""
    pool = list(candidates)
    lowered = {c.lower(): c for c in pool}
    if name.lower() in lowered:
        return lowered[name.lower()]
    matches = difflib.get_close_matches(name, pool, n=1, cutoff=0.6)
    return matches[0] if matches else None
