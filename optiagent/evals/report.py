"""Reports: the metrics of a run, overall and per category, as JSON and Markdown.

Accuracy is correct / scored, where scored problems are those with a ground truth (errors and
time-outs count as wrong). Execution rate is the share of problems for which a solver result
was produced. Average repairs and self-consistency agreement are over problems that returned
an answer. Cost uses the run's price table; a model without a price has no cost (n/a).
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

from optiagent.evals.prices import PriceTable

__all__ = ["GroupStats", "Report", "build_report", "percentile", "render_markdown"]

_FEEDBACK_CHARS = 300


def percentile(values: Sequence[float], q: float) -> float | None:
    """Return the q-th percentile (0-100) by linear interpolation, None for no values."""
    if not values:
        return None
    ordered = sorted(values)
    rank = (len(ordered) - 1) * q / 100.0
    low, high = math.floor(rank), math.ceil(rank)
    return ordered[low] + (ordered[high] - ordered[low]) * (rank - low)


@dataclass(frozen=True)
class GroupStats:
    """The metrics of one group of problems (all of them, or one category)."""

    problems: int
    scored: int
    correct: int
    accuracy: float | None
    not_scored: int
    executed: int
    execution_rate: float | None
    errors: int
    timeouts: int
    avg_repairs: float | None
    agreement: float | None
    calls: int
    prompt_tokens: int
    completion_tokens: int
    cost_usd: float | None
    latency_s: dict[str, float | None] = field(default_factory=dict)

    @classmethod
    def of(
        cls, records: Sequence[Mapping[str, Any]], model: str | None, prices: PriceTable
    ) -> GroupStats:
        """Return the metrics of these result records."""
        scored = [r for r in records if r.get("scored")]
        correct = sum(1 for r in scored if r.get("correct"))
        answered = [r for r in records if r.get("status") == "ok"]
        executed = sum(1 for r in records if r.get("executed"))
        confidences = [float(r["confidence"]) for r in answered if r.get("confidence") is not None]
        usage = [r.get("usage") or {} for r in records]
        prompt = sum(int(u.get("prompt_tokens", 0)) for u in usage)
        completion = sum(int(u.get("completion_tokens", 0)) for u in usage)
        billed_prompt = prompt - sum(int(u.get("cached_prompt_tokens", 0)) for u in usage)
        billed_completion = completion - sum(
            int(u.get("cached_completion_tokens", 0)) for u in usage
        )
        latencies = [float(r["latency_s"]) for r in records if r.get("latency_s") is not None]
        return cls(
            problems=len(records),
            scored=len(scored),
            correct=correct,
            accuracy=_ratio(correct, len(scored)),
            not_scored=len(records) - len(scored),
            executed=executed,
            execution_rate=_ratio(executed, len(records)),
            errors=sum(1 for r in records if r.get("status") == "error"),
            timeouts=sum(1 for r in records if r.get("status") == "timeout"),
            avg_repairs=_mean([float(r.get("repairs") or 0) for r in answered]),
            agreement=_mean(confidences),
            calls=sum(int(u.get("calls", 0)) for u in usage),
            prompt_tokens=prompt,
            completion_tokens=completion,
            cost_usd=prices.cost(model, billed_prompt, billed_completion) if records else None,
            latency_s={
                "p50": percentile(latencies, 50),
                "p90": percentile(latencies, 90),
                "p95": percentile(latencies, 95),
                "p99": percentile(latencies, 99),
                "max": max(latencies) if latencies else None,
                "mean": _mean(latencies),
            },
        )

    @property
    def total_tokens(self) -> int:
        """Prompt plus completion tokens."""
        return self.prompt_tokens + self.completion_tokens

    def to_dict(self) -> dict[str, Any]:
        """Return a JSON-ready dict (with `total_tokens`)."""
        data = asdict(self)
        data["total_tokens"] = self.total_tokens
        return data


@dataclass(frozen=True)
class Report:
    """Everything report.md and report.json show for one run."""

    run: dict[str, Any]
    overall: GroupStats
    by_category: dict[str, GroupStats]
    by_table: dict[str, GroupStats]
    failures: list[dict[str, Any]]
    not_scored: list[dict[str, Any]]

    def to_dict(self) -> dict[str, Any]:
        """Return the report as a JSON-ready dict."""
        return {
            "run": self.run,
            "overall": self.overall.to_dict(),
            "by_category": {k: v.to_dict() for k, v in self.by_category.items()},
            "by_table": {k: v.to_dict() for k, v in self.by_table.items()},
            "failures": self.failures,
            "not_scored": self.not_scored,
        }


def build_report(
    config: Mapping[str, Any],
    records: Iterable[Mapping[str, Any]],
    prices: PriceTable | None = None,
) -> Report:
    """Return the report of a run from its config and result records."""
    rows = list(records)
    if prices is None:
        prices = PriceTable.from_mapping(config.get("prices") or {}, origin="config.json prices")
    model = _model(config)
    by_category = _grouped(rows, lambda r: r.get("category") or "uncategorized", model, prices)
    by_table = _grouped(
        rows, lambda r: "table" if r.get("has_table") else "no table", model, prices
    )
    failures = [_failure(r) for r in rows if _failed(r)]
    not_scored = [
        {"id": r.get("id"), "reason": r.get("reason"), "prediction": r.get("prediction")}
        for r in rows
        if not r.get("scored")
    ]
    return Report(
        run=_run_info(config, model),
        overall=GroupStats.of(rows, model, prices),
        by_category=by_category,
        by_table=by_table,
        failures=failures,
        not_scored=not_scored,
    )


def render_markdown(report: Report) -> str:
    """Return report.md: settings, overall metrics, per-category tables and failures."""
    run = report.run
    lines = [
        f"# Evaluation: {run['dataset']}/{run['version']} with {run['system']}",
        "",
        f"- rule: `{run['rule']}` - {run['rule_description']}",
        f"- dataset sha256: `{run['dataset_sha256']}` ({run['dataset_count']} problems in file)",
        f"- system: `{run['system']}`, model: `{run['model'] or 'n/a'}`, "
        f"endpoint: `{run['endpoint'] or 'n/a'}`, prompts: `{run['prompts_sha256'] or 'n/a'}`",
        f"- optiagent {run['optiagent_version']}, created {run['created_at']}",
        "",
        "## Overall",
        "",
        *_table({"all": report.overall}),
        "",
        "## By category",
        "",
        *_table(report.by_category),
        "",
        "## By table / no table",
        "",
        *_table(report.by_table),
        "",
        f"## Failures ({len(report.failures)})",
        "",
    ]
    if report.failures:
        lines += [
            "| id | category | status | prediction | ground truth | feedback |",
            "|---|---|---|---|---|---|",
        ]
        for failure in report.failures:
            feedback = _cell(failure.get("feedback") or failure.get("reason") or "")
            lines.append(
                f"| {_cell(failure['id'])} | {_cell(failure.get('category') or '-')} | "
                f"{failure['status']} | {_cell(failure.get('prediction'))} | "
                f"{_cell(failure.get('ground_truth'))} | {feedback} |"
            )
    else:
        lines.append("None.")
    if report.not_scored:
        lines += [
            "",
            f"{len(report.not_scored)} problem(s) have no ground truth and were not scored.",
        ]
    return "\n".join(lines) + "\n"


def _table(groups: Mapping[str, GroupStats]) -> list[str]:
    header = (
        "| group | problems | scored | accuracy | exec rate | errors | timeouts | avg repairs "
        "| agreement | tokens | cost USD | p50 s | p95 s |"
    )
    lines = [header, "|" + "---|" * 13]
    for name, stats in groups.items():
        lines.append(
            f"| {_cell(name)} | {stats.problems} | {stats.scored} | "
            f"{_pct(stats.accuracy)} ({stats.correct}/{stats.scored}) | "
            f"{_pct(stats.execution_rate)} | {stats.errors} | {stats.timeouts} | "
            f"{_num(stats.avg_repairs)} | {_pct(stats.agreement)} | {stats.total_tokens} | "
            f"{_money(stats.cost_usd)} | {_num(stats.latency_s.get('p50'))} | "
            f"{_num(stats.latency_s.get('p95'))} |"
        )
    return lines


def _grouped(
    rows: list[Mapping[str, Any]], key: Any, model: str | None, prices: PriceTable
) -> dict[str, GroupStats]:
    groups: dict[str, list[Mapping[str, Any]]] = {}
    for row in rows:
        groups.setdefault(str(key(row)), []).append(row)
    return {name: GroupStats.of(groups[name], model, prices) for name in sorted(groups)}


def _failed(record: Mapping[str, Any]) -> bool:
    if record.get("status") != "ok":
        return True
    return bool(record.get("scored")) and not record.get("correct")


def _failure(record: Mapping[str, Any]) -> dict[str, Any]:
    return {
        "id": record.get("id"),
        "category": record.get("category"),
        "status": record.get("status"),
        "prediction": record.get("prediction"),
        "ground_truth": record.get("ground_truth"),
        "reason": record.get("reason"),
        "feedback": record.get("final_feedback") or record.get("error"),
        "trace": record.get("trace"),
    }


def _run_info(config: Mapping[str, Any], model: str | None) -> dict[str, Any]:
    dataset = config.get("dataset") or {}
    rule = config.get("rule") or {}
    system = config.get("system") or {}
    return {
        "dataset": dataset.get("name"),
        "version": dataset.get("version"),
        "dataset_sha256": dataset.get("sha256"),
        "dataset_count": dataset.get("count"),
        "rule": rule.get("name"),
        "rule_description": rule.get("description"),
        "system": system.get("name"),
        "model": model,
        "endpoint": system.get("endpoint"),
        "prompts_sha256": system.get("prompts_sha256"),
        "optiagent_version": config.get("optiagent_version"),
        "created_at": config.get("created_at"),
    }


def _model(config: Mapping[str, Any]) -> str | None:
    system = config.get("system") or {}
    model = system.get("model")
    return str(model) if model else None


def _ratio(numerator: int, denominator: int) -> float | None:
    return numerator / denominator if denominator else None


def _mean(values: Sequence[float]) -> float | None:
    return sum(values) / len(values) if values else None


def _pct(value: float | None) -> str:
    return "n/a" if value is None else f"{100 * value:.1f}%"


def _num(value: float | None) -> str:
    return "n/a" if value is None else f"{value:.2f}"


def _money(value: float | None) -> str:
    return "n/a" if value is None else f"{value:.4f}"


def _cell(value: Any) -> str:
    text = "" if value is None else str(value)
    text = " ".join(text.split()).replace("|", "\\|")
    return text if len(text) <= _FEEDBACK_CHARS else text[: _FEEDBACK_CHARS - 3] + "..."
