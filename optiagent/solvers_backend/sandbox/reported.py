"""The result protocol of generated code, and its one parser.

Generated code (and every script `optiagent export` writes) ends by printing:

    status: optimal            # optimal, feasible, infeasible, unbounded,
                               # infeasible_or_unbounded, time_limit or error
    objective: 36.0            # the LAST objective line wins
    x = 3                      # zero or more variable lines: label = number
    ship[seattle,new-york] = 50.0
    answer: 4                  # optional: the asked quantity when it is not the objective

`parse_reported_result` reads that from a program's stdout. It tolerates prose around the
protocol lines, any case in the keys (`Objective: 36.0`), numbers such as `1e+03`, `-0.0`,
`inf` or `np.float64(3.0)`, and the status words solvers print themselves (`OPTIMAL`,
`infeasibleOrUnbounded`, `maxTimeLimit`, `locallyOptimal`, ...), which it maps onto the
protocol's words. The status words are the values of
`optiagent.solvers_backend.results.SolveStatus`, so `SolveStatus(reported.status)` works.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, field
from typing import Any

__all__ = ["REPORTED_STATUSES", "ReportedResult", "normalize_status", "parse_reported_result"]

REPORTED_STATUSES = (
    "optimal",
    "feasible",
    "infeasible",
    "unbounded",
    "infeasible_or_unbounded",
    "time_limit",
    "error",
)
"""The status words of the protocol (equal to the values of `SolveStatus`)."""

# Words solvers and modelling layers print, squashed (lower case, no space/underscore/dash).
_STATUS_SYNONYMS = {
    "optimal": "optimal",
    "globallyoptimal": "optimal",
    "locallyoptimal": "optimal",  # what pyo.check_optimal_termination also accepts
    "convergencecriteriasatisfied": "optimal",
    "solved": "optimal",
    "feasible": "feasible",
    "infeasible": "infeasible",
    "proveninfeasible": "infeasible",
    "locallyinfeasible": "infeasible",
    "unbounded": "unbounded",
    "infeasibleorunbounded": "infeasible_or_unbounded",
    "infeasibleunbounded": "infeasible_or_unbounded",
    "unboundedorinfeasible": "infeasible_or_unbounded",
    "dualinfeasible": "infeasible_or_unbounded",
    "timelimit": "time_limit",
    "maxtimelimit": "time_limit",
    "timeout": "time_limit",
    "error": "error",
    "modelinvalid": "error",
    "abnormal": "error",
    "solvererror": "error",
    "internalsolvererror": "error",
}

_NUMBER = r"[+-]?(?:(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?|inf(?:inity)?|nan)"
# A number, optionally wrapped as numpy and friends print it: np.float64(3.0), float(3.0).
_VALUE = (
    r"(?:(?:(?:np|numpy)\.[a-z0-9_]+|float|int|Decimal)\(\s*(?P<wrapped>"
    + _NUMBER
    + r")\s*\)|(?P<bare>"
    + _NUMBER
    + r"))"
)
_STATUS_LINE = re.compile(r"^\s*status\s*[:=]\s*(?P<rest>\S.*?)\s*$", re.I)
_OBJECTIVE_LINE = re.compile(
    rf"^\s*(?:optimal\s+)?objective(?:\s+value)?\s*[:=]\s*{_VALUE}(?:\s+[A-Za-z(\[%$].*)?\s*$",
    re.I,
)
_OBJECTIVE_MISSING = re.compile(
    r"^\s*(?:optimal\s+)?objective(?:\s+value)?\s*[:=]\s*(none|n/?a|-|null)\s*$", re.I
)
# `answer:` with a colon only: `answer = 3` stays a variable line, as it always was.
_ANSWER_LINE = re.compile(rf"^\s*answer\s*:\s*{_VALUE}(?:\s+[A-Za-z(\[%$].*)?\s*$", re.I)
_VARIABLE_LINE = re.compile(
    rf"^\s*(?P<label>[A-Za-z_][A-Za-z0-9_.]*(?:\s*\[[^\]\n]*\])?)\s*=\s*{_VALUE}\s*$", re.I
)


@dataclass(frozen=True)
class ReportedResult:
    """What a program reported through the protocol: status, objective and variable values.

    `status` is one of `REPORTED_STATUSES` or None (no recognisable status line);
    `raw_status` keeps the word as printed. `values` maps each variable label, with the
    spaces inside its brackets removed, to its number (the last line for a label wins).
    `answer` is the number of the last `answer:` line (the asked quantity, when the question
    is not about the objective), None if there is none. `objectives` holds every objective
    printed, in order (the last is `objective`).
    """

    status: str | None = None
    objective: float | None = None
    values: dict[str, float] = field(default_factory=dict)
    raw_status: str | None = None
    status_lines: int = 0
    objective_lines: int = 0
    answer: float | None = None
    answer_lines: int = 0
    objectives: tuple[float, ...] = ()

    @property
    def has_status(self) -> bool:
        """True when a status line was found (recognised or not)."""
        return self.status_lines > 0

    @property
    def has_objective(self) -> bool:
        """True when an `objective:` line with a number was found."""
        return self.objective is not None

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dict; non-finite numbers become the strings 'inf', '-inf', 'nan'."""
        return {
            "status": self.status,
            "raw_status": self.raw_status,
            "objective": _json_number(self.objective),
            "answer": _json_number(self.answer),
            "values": {label: _json_number(value) for label, value in self.values.items()},
        }


def _json_number(value: float | None) -> float | str | None:
    if value is None or math.isfinite(value):
        return value
    return str(value)


def normalize_status(word: str) -> str | None:
    """Map a status as printed (`OPTIMAL`, `infeasibleOrUnbounded`, `TerminationCondition.optimal`,
    `optimal (gap 0%)`) to a protocol word, or None if it is not recognisable."""
    text = word.strip().strip("'\"`").strip()
    candidates = [text]
    first = re.split(r"[\s(,;]", text, maxsplit=1)[0].rstrip(".:")
    candidates.append(first)
    candidates.append(first.rsplit(".", 1)[-1])  # TerminationCondition.optimal, cp_model.OPTIMAL
    for candidate in candidates:
        squashed = re.sub(r"[\s_\-]", "", candidate).lower()
        if squashed in _STATUS_SYNONYMS:
            return _STATUS_SYNONYMS[squashed]
    return None


def _number(match: re.Match[str]) -> float:
    text = match.group("wrapped") or match.group("bare")
    return float(text)


def _label(raw: str) -> str:
    name, bracket, rest = raw.partition("[")
    if not bracket:
        return name.strip()
    return name.strip() + "[" + re.sub(r"\s+", "", rest)


def parse_reported_result(stdout: str) -> ReportedResult:
    """Parse the protocol lines out of a program's stdout into a `ReportedResult`."""
    status: str | None = None
    raw_status: str | None = None
    objective: float | None = None
    answer: float | None = None
    values: dict[str, float] = {}
    objectives: list[float] = []
    status_lines = objective_lines = answer_lines = 0
    for line in stdout.splitlines():
        if not line.strip():
            continue
        match = _STATUS_LINE.match(line)
        if match:
            status_lines += 1
            raw_status = match.group("rest")
            status = normalize_status(raw_status)
            continue
        match = _OBJECTIVE_LINE.match(line)
        if match:
            objective_lines += 1
            objective = _number(match)
            objectives.append(objective)
            continue
        if _OBJECTIVE_MISSING.match(line):
            objective_lines += 1
            objective = None
            continue
        match = _ANSWER_LINE.match(line)
        if match:
            answer_lines += 1
            answer = _number(match)
            continue
        match = _VARIABLE_LINE.match(line)
        if match:
            values[_label(match.group("label"))] = _number(match)
    return ReportedResult(
        status=status,
        objective=objective,
        values=values,
        raw_status=raw_status,
        status_lines=status_lines,
        objective_lines=objective_lines,
        answer=answer,
        answer_lines=answer_lines,
        objectives=tuple(objectives),
    )
