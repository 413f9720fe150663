"""Turn the many ways benchmarks write an answer into one `GroundTruth`, once, at load time.

Sources write the optimal objective as a JSON number, a numeric string, a JSON list of
acceptable values (`"[18.0]"`), or one of several "no solution" spellings: the text
`"No Best Solution"`, the numbers `-9999` / `-99999` (SIRL's and ORLM's markers), or `null`.
Markers become `infeasible` (the sources do not distinguish infeasible from unbounded);
`null`, empty and unreadable answers become `missing` with a note, so they are kept and
reported but never scored.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping
from typing import Any

from optiagent.datasets.records import GroundTruth

__all__ = [
    "NO_SOLUTION_NUMBERS",
    "NO_SOLUTION_TEXTS",
    "missing",
    "parse_answer",
    "parse_results",
]

#: Numbers some sources write instead of an objective when a problem has no optimum.
NO_SOLUTION_NUMBERS: frozenset[float] = frozenset({-9999.0, -99999.0})
#: Texts (compared case-insensitively) that mean "no optimal solution exists".
NO_SOLUTION_TEXTS: frozenset[str] = frozenset({"no best solution", "no solution", "infeasible"})


def missing(note: str, raw: Any = None) -> GroundTruth:
    """Return a 'no ground truth' record that explains why (kept, flagged, not scored)."""
    return GroundTruth(kind="missing", raw=_raw_text(raw), note=note)


def parse_answer(raw: Any) -> GroundTruth:
    """Return the ground truth for one answer field as it appears in a source file."""
    raw_text = _raw_text(raw)
    if raw is None:
        return missing("null in the source", raw)
    if isinstance(raw, bool):
        return missing(f"unreadable answer {raw_text}", raw)
    if isinstance(raw, (int, float)):
        return _from_number(float(raw), raw_text)
    if isinstance(raw, (list, tuple)):
        return _from_list(list(raw), raw_text)
    if isinstance(raw, str):
        return _from_text(raw, raw_text)
    return missing(f"unreadable answer {raw_text[:60]}", raw)


def parse_results(
    results: Mapping[str, Any],
    *,
    objective_key: str | None,
    drop_keys: tuple[str, ...] = (),
) -> GroundTruth:
    """Return the ground truth of an OptiBench-style `results` dict.

    Every entry is a requested quantity (for the all-values rule). `objective_key` names the
    entry holding the objective; pass None when the dict lists no objective (the ground truth
    is then 'missing' for objective-only rules but keeps its requested values). `drop_keys`
    removes entries documented as belonging to another problem.
    """
    requested: dict[str, float] = {}
    for key, value in results.items():
        if key in drop_keys:
            continue
        number = _to_float(value)
        if number is None:
            return missing(f"unreadable value {value!r} for {key!r} in results", value)
        requested[key] = number
    raw = json.dumps(dict(results), ensure_ascii=False)
    if objective_key is None:
        return GroundTruth(
            kind="missing",
            requested=requested,
            raw=raw,
            note="results list no objective value (variable values only)",
        )
    if objective_key not in requested:
        return missing(f"objective key {objective_key!r} not in results", raw)
    objective_raw = str(results[objective_key])
    return GroundTruth(
        kind="value",
        value=requested[objective_key],
        requested=requested,
        objective_key=objective_key,
        raw=objective_raw,
    )


def _raw_text(raw: Any) -> str:
    if raw is None:
        return "null"
    if isinstance(raw, str):
        return raw
    try:
        return json.dumps(raw, ensure_ascii=False)
    except (TypeError, ValueError):
        return repr(raw)


def _from_number(number: float, raw_text: str) -> GroundTruth:
    if not math.isfinite(number):
        return missing(f"non-finite answer {raw_text}", raw_text)
    if number in NO_SOLUTION_NUMBERS:
        return GroundTruth(kind="infeasible", raw=raw_text, note=f"no-solution marker {raw_text}")
    return GroundTruth(kind="value", value=number, raw=raw_text)


def _from_list(items: list[Any], raw_text: str) -> GroundTruth:
    numbers = [_to_float(item) for item in items]
    if not numbers:
        return missing("empty answer list", raw_text)
    if any(number is None for number in numbers):
        return missing(f"unreadable answer list {raw_text[:60]}", raw_text)
    first = _from_number(numbers[0], raw_text)  # type: ignore[arg-type]
    if first.kind != "value" or len(numbers) == 1:
        return first
    return GroundTruth(
        kind="value",
        value=first.value,
        alternatives=tuple(numbers[1:]),  # type: ignore[arg-type]
        raw=raw_text,
    )


def _from_text(text: str, raw_text: str) -> GroundTruth:
    stripped = text.strip()
    if not stripped:
        return missing("empty answer", raw_text)
    lowered = stripped.lower()
    if lowered in NO_SOLUTION_TEXTS:
        return GroundTruth(kind="infeasible", raw=raw_text, note=f"no-solution text {stripped!r}")
    if lowered == "unbounded":
        return GroundTruth(kind="unbounded", raw=raw_text)
    if lowered in ("null", "none"):
        return missing("null in the source", raw_text)
    number = _to_float(stripped)
    if number is not None:
        return _from_number(number, raw_text)
    if stripped.startswith("["):
        try:
            items = json.loads(stripped)
        except json.JSONDecodeError:
            return missing(f"unreadable answer {stripped[:60]!r}", raw_text)
        if isinstance(items, list):
            return _from_list(items, raw_text)
    return missing(f"unreadable answer {stripped[:60]!r}", raw_text)


def _to_float(value: Any) -> float | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, (int, float)):
        return float(value)
    if isinstance(value, str):
        try:
            return float(value.strip())
        except ValueError:
            return None
    return None
