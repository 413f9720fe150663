"""Scoring rules: when a predicted answer counts as equal to the ground truth.

Every score optiagent prints names its rule. The default, `rel1e-6`, accepts
|pred - gt| <= 1e-6 * max(1, |gt|). The other rules reproduce the conventions of published
evaluations so numbers can be compared with papers (see `RULES`). Whatever the rule, an
infeasible or unbounded ground truth is matched only by the same status, and a ground truth
that is missing is not scored (it counts neither as right nor as wrong).

Predictions are parsed by `parse_prediction`: a number, a string holding a number ("1,200",
"$35", "18.0"), a status ("infeasible", "unbounded", "No Best Solution"), or None. A percent
string keeps the number that is written: "12.5%" is 12.5, because the benchmarks write
percentages the way the question asks for them, not as fractions.

This module is the only place in evaluation code that reads a ground truth.
"""

from __future__ import annotations

import difflib
import math
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

from optiagent.datasets.records import GroundTruth
from optiagent.exceptions import ConfigurationError

__all__ = [
    "DEFAULT_RULE",
    "RULES",
    "Prediction",
    "PredictionKind",
    "ScoringRule",
    "Verdict",
    "get_rule",
    "parse_prediction",
]

PredictionKind = Literal["value", "infeasible", "unbounded", "none", "invalid"]

_NUMBER = re.compile(r"^[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?$")
_THOUSANDS = re.compile(r"^[+-]?\d{1,3}(,\d{3})+(\.\d*)?$")
_INFEASIBLE_TEXTS = frozenset(
    {"infeasible", "no best solution", "no solution", "no feasible solution", "not feasible"}
)
_UNBOUNDED_TEXTS = frozenset({"unbounded"})


@dataclass(frozen=True)
class Prediction:
    """A parsed prediction: a number, a status, none, or invalid (an unreadable string).

    `values` holds reported quantities by name (for OptiBench's all-values rule).
    """

    kind: PredictionKind
    value: float | None = None
    values: Mapping[str, float] = field(default_factory=dict, hash=False)
    raw: Any = None

    def to_json(self) -> float | str | None:
        """Return the prediction as results files store it: a number, a status, or None."""
        if self.kind == "value":
            return self.value
        if self.kind in ("infeasible", "unbounded"):
            return self.kind
        if self.kind == "invalid":
            return str(self.raw)
        return None


def parse_prediction(raw: Any, values: Mapping[str, Any] | None = None) -> Prediction:
    """Return the `Prediction` for a raw answer (number, numeric string, status or None)."""
    parsed_values = _parse_values(values or {})
    if raw is None:
        return Prediction("none", values=parsed_values, raw=raw)
    if isinstance(raw, bool):
        return Prediction("invalid", values=parsed_values, raw=raw)
    if isinstance(raw, (int, float)):
        number = float(raw)
        kind: PredictionKind = "value" if math.isfinite(number) else "invalid"
        return Prediction(kind, number if kind == "value" else None, parsed_values, raw)
    if isinstance(raw, str):
        text = " ".join(raw.strip().split()).lower().rstrip(".")
        if text in _INFEASIBLE_TEXTS:
            return Prediction("infeasible", values=parsed_values, raw=raw)
        if text in _UNBOUNDED_TEXTS:
            return Prediction("unbounded", values=parsed_values, raw=raw)
        if text in ("", "none", "null"):
            return Prediction("none", values=parsed_values, raw=raw)
        parsed = _number_from_text(raw)
        if parsed is not None:
            return Prediction("value", parsed, parsed_values, raw)
    return Prediction("invalid", values=parsed_values, raw=raw)


@dataclass(frozen=True)
class Verdict:
    """The outcome of scoring one prediction: scored or not, correct or not, and why."""

    scored: bool
    correct: bool
    reason: str


Comparison = Callable[[float, float, GroundTruth], bool]


@dataclass(frozen=True)
class ScoringRule:
    """A named rule comparing a predicted objective (or every requested value) with the truth."""

    name: str
    description: str
    compare: Comparison
    all_values: bool = False

    def score(self, prediction: Prediction, truth: GroundTruth) -> Verdict:
        """Return whether `prediction` matches `truth` under this rule."""
        if self.all_values and truth.requested and truth.kind in ("value", "missing"):
            return self._score_all_values(prediction, truth)
        if truth.kind == "missing":
            return Verdict(False, False, f"not scored: no ground truth ({truth.note or 'none'})")
        if truth.kind in ("infeasible", "unbounded"):
            correct = prediction.kind == truth.kind
            return Verdict(True, correct, f"expected {truth.kind}, got {_show(prediction)}")
        if prediction.kind != "value" or prediction.value is None:
            return Verdict(True, False, f"expected {truth.describe()}, got {_show(prediction)}")
        correct = any(self.compare(prediction.value, gt, truth) for gt in truth.accepted)
        return Verdict(True, correct, f"expected {truth.describe()}, got {_show(prediction)}")

    def _score_all_values(self, prediction: Prediction, truth: GroundTruth) -> Verdict:
        wrong: list[str] = []
        for key, expected in truth.requested.items():
            got = prediction.values.get(key)
            if got is None and key == truth.objective_key and prediction.kind == "value":
                got = prediction.value
            if got is None:
                wrong.append(f"{key!r} missing (expected {expected:g})")
            elif not self.compare(got, expected, truth):
                wrong.append(f"{key!r} = {got:g} (expected {expected:g})")
        if wrong:
            shown = "; ".join(wrong[:3]) + (f"; +{len(wrong) - 3} more" if len(wrong) > 3 else "")
            return Verdict(
                True, False, f"{len(wrong)} of {len(truth.requested)} values wrong: {shown}"
            )
        return Verdict(True, True, f"all {len(truth.requested)} requested values match")


def _relative(tolerance: float) -> Comparison:
    return lambda pred, gt, _truth: abs(pred - gt) <= tolerance * max(1.0, abs(gt))


def _normalised(tolerance: float) -> Comparison:
    return lambda pred, gt, _truth: abs(pred - gt) / (abs(gt) + 1.0) < tolerance


def _absolute(tolerance: float) -> Comparison:
    return lambda pred, gt, _truth: abs(pred - gt) < tolerance


def _orlm(pred: float, gt: float, _truth: GroundTruth) -> bool:
    pred_r, gt_r = round(pred), round(gt)
    if gt_r == 0:
        return abs(pred_r) <= 0.05
    return abs(pred_r - gt_r) / abs(gt_r) <= 0.05


def _mamo(pred: float, gt: float, truth: GroundTruth) -> bool:
    relative = abs(pred - gt) / abs(gt) if gt != 0 else abs(pred - gt) / 1e4
    digits = max(2, truth.decimals)
    return relative <= 1e-4 or abs(pred - gt) < 10.0 ** (-digits)


def _round2(pred: float, gt: float, _truth: GroundTruth) -> bool:
    return abs(round(pred, 2) - round(gt, 2)) < 1e-9


def _exact(pred: float, gt: float, _truth: GroundTruth) -> bool:
    return pred == gt


DEFAULT_RULE = "rel1e-6"

#: Every rule by name, the default first.
RULES: dict[str, ScoringRule] = {
    rule.name: rule
    for rule in (
        ScoringRule(
            "rel1e-6",
            "|pred - gt| <= 1e-6 * max(1, |gt|) on the objective (optiagent default)",
            _relative(1e-6),
        ),
        ScoringRule(
            "norm1e-6",
            "|pred - gt| / (|gt| + 1) < 1e-6 on the objective (SIRL, OptMATH paper, OptiMind)",
            _normalised(1e-6),
        ),
        ScoringRule(
            "optibench_abs1e-4",
            "every requested value (variables and objective) within absolute 1e-4 "
            "(OptiBench paper); objective only where a set lists no values",
            _absolute(1e-4 + 1e-12),
            all_values=True,
        ),
        ScoringRule(
            "llmopt_round2",
            "objective equal after rounding both to 2 decimals (LLMOPT's rounded labels)",
            _round2,
        ),
        ScoringRule(
            "orlm_5pct",
            "loose: both rounded to integers, relative error <= 5% (ORLM, OptMATH repo; "
            "for papers that use it)",
            _orlm,
        ),
        ScoringRule(
            "mamo",
            "relative error <= 1e-4, or absolute error < 10^-max(2, decimals of gt) (MAMO)",
            _mamo,
        ),
        ScoringRule("abs0.01", "|pred - gt| < 0.01 (ORThought / LogiOR)", _absolute(0.01)),
        ScoringRule("abs0.1", "|pred - gt| < 0.1 (OR-LLM-Agent, BWOR)", _absolute(0.1)),
        ScoringRule("exact", "pred == gt exactly (Chain-of-Experts)", _exact),
    )
}


def get_rule(name: str | None) -> ScoringRule:
    """Return the rule with this name (the default when None); unknown names suggest one."""
    if name is None:
        return RULES[DEFAULT_RULE]
    try:
        return RULES[name]
    except KeyError:
        close = difflib.get_close_matches(name, list(RULES), n=1)
        hint = f" Did you mean {close[0]!r}?" if close else ""
        raise ConfigurationError(
            f"unknown scoring rule {name!r}.{hint} Rules: {', '.join(RULES)}"
        ) from None


def _number_from_text(raw: str) -> float | None:
    text = raw.strip()
    if text.endswith("%"):
        text = text[:-1].strip()
    text = text.lstrip("$€£¥").strip()
    if text.startswith(("-$", "+$")):
        text = text[0] + text[2:]
    if _THOUSANDS.match(text):
        text = text.replace(",", "")
    if not _NUMBER.match(text):
        return None
    number = float(text)
    return number if math.isfinite(number) else None


def _parse_values(values: Mapping[str, Any]) -> dict[str, float]:
    parsed: dict[str, float] = {}
    for key, value in values.items():
        prediction = parse_prediction(value)
        if prediction.kind == "value" and prediction.value is not None:
            parsed[str(key)] = prediction.value
    return parsed


def _show(prediction: Prediction) -> str:
    if prediction.kind == "value" and prediction.value is not None:
        value = prediction.value
        return str(int(value)) if value == int(value) and abs(value) < 1e15 else repr(value)
    if prediction.kind == "invalid":
        return f"unreadable {str(prediction.raw)[:40]!r}"
    return prediction.kind
