"""The pieces of the code route: the program out of a reply, the traced run and verify steps,
and the feedback for every way a run can go wrong.

`run_program` and `verify_program` are recorded with `opto.bundle`, so the repair optimizer
sees the run as `program (trainable) -> run_program -> verify_program`; their docstrings are
the documentation the model reads.
"""

from __future__ import annotations

import ast
import csv
import dataclasses
import io
import math
import re
from collections.abc import Mapping, Sequence

from optiagent.agent.feedback import findings_text
from optiagent.agent.result import Outcome
from optiagent.agent.verify import Finding
from optiagent.formulations.tables import DataTable, describe_tables
from optiagent.opto import bundle
from optiagent.solvers_backend.sandbox import ExecutionResult, ExitReason, Limits, Sandbox

__all__ = [
    "ProgramRunner",
    "TracedExecution",
    "counted_thing",
    "data_files",
    "doubts_feedback",
    "extract_code",
    "failure_feedback",
    "files_description",
    "has_solution",
    "reported_quantities",
    "run_outcome",
    "verify_program",
]

_FENCE = re.compile(
    r"^[ \t]*```[ \t]*(?P<lang>[A-Za-z0-9_+.-]*)[^\n]*\n(?P<body>.*?)(?:^[ \t]*```|\Z)",
    re.S | re.M,
)
_PYTHON_TAGS = {"python", "py", "python3", "py3"}
_CODE_START = re.compile(r"^\s*(import\s+\w|from\s+[\w.]+\s+import\s)", re.M)
_HOW_MANY = re.compile(r"\bhow many\s+(\w+)", re.I)
_COUNTED = re.compile(
    r"^(people|persons?|workers?|employees?|staff|nurses?|doctors?|drivers?|trucks?|vans?|"
    r"cars?|vehicles?|bus(?:es)?|ships?|planes?|aircraft|machines?|units?|items?|pieces?|"
    r"box(?:es)?|packages?|containers?|pallets?|trips?|batch(?:es)?|bottles?|cans?|bags?|"
    r"chairs?|tables?|desks?|houses?|rooms?|beds?|servers?|shifts?|teams?|crews?|animals?|"
    r"cows?|pigs?|chickens?|trees?|students?|classes?|tickets?|seats?|products?|computers?|"
    r"phones?|bikes?|bicycles?|toys?|boats?|loads?|plants?|factories|factory|warehouses?|"
    r"stores?|facilities|facility)$",
    re.I,
)
_TOLERANCE = 1e-6


# -- the program out of a reply -----------------------------------------------------------------


def extract_code(reply: str) -> str | None:
    """The program in a reply: its longest ```python block, or the whole reply if it is code.

    An unclosed fence (a reply cut off at the token limit) counts up to the end of the reply.
    Returns None for a reply with no fence that is prose rather than Python.
    """
    blocks = [(m.group("lang").lower(), m.group("body")) for m in _FENCE.finditer(reply)]
    tagged = [body for lang, body in blocks if lang in _PYTHON_TAGS]
    candidates = tagged or [body for lang, body in blocks if not lang]
    if candidates:
        return max(candidates, key=len).strip("\n").rstrip() + "\n"
    text = reply.strip()
    if not text:
        return None
    try:
        ast.parse(text)
    except SyntaxError:
        # a program with a syntax error still gets run, so its feedback names the line
        return text + "\n" if _CODE_START.search(text) else None
    return text + "\n" if _CODE_START.search(text) or "print(" in text else None


# -- data files ---------------------------------------------------------------------------------


def _from_files(tables: Sequence[DataTable]) -> list[DataTable]:
    # tables copied out of the problem text are already in the prompt
    return [t for t in tables if not t.source.startswith("problem text")]


def data_files(tables: Sequence[DataTable]) -> dict[str, str]:
    """CSV files for the program's folder: one `<table name>.csv` per table given as a file."""
    files: dict[str, str] = {}
    for table in _from_files(tables):
        buffer = io.StringIO()
        writer = csv.writer(buffer, lineterminator="\n")
        writer.writerow(table.columns)
        writer.writerows(table.rows)
        files[f"{table.name}.csv"] = buffer.getvalue()
    return files


def files_description(tables: Sequence[DataTable]) -> str:
    """The data files' names, columns and (first) rows, for the write prompt."""
    given = _from_files(tables)
    if not given:
        return ""
    text = describe_tables(given)
    for table in given:
        text = text.replace(f"Table '{table.name}'", f"File {table.name}.csv", 1)
    return text.replace("(read them with from_table)", "(in the file)")


# -- the traced steps ---------------------------------------------------------------------------


@dataclasses.dataclass(frozen=True, repr=False)
class TracedExecution(ExecutionResult):
    """An ExecutionResult whose repr is the short account a trace shows the repair model."""

    @classmethod
    def of(cls, result: ExecutionResult) -> TracedExecution:
        """The same result, as a TracedExecution."""
        fields = {f.name: getattr(result, f.name) for f in dataclasses.fields(ExecutionResult)}
        return cls(**fields)

    def __repr__(self) -> str:
        parts = [f"exit {self.exit_reason.value} after {self.wall_time_s:.2f} s"]
        if self.error is not None:
            line = f" at line {self.error.line}" if self.error.line else ""
            parts.append(f"{self.error.type}{line}: {self.error.message}")
        parts += [f"refused: {what}" for what in self.blocked]
        reported = self.reported
        if self.ok:
            parts.append(f"status {reported.status or 'not reported'}")
            if reported.objective is not None:
                parts.append(f"objective {reported.objective:.10g}")
            if reported.answer is not None:
                parts.append(f"answer {reported.answer:.10g}")
        if self.stdout.strip():
            parts.append(f"stdout: {_tail(self.stdout)!r}")
        return "; ".join(parts)


def _tail(text: str, limit: int = 600) -> str:
    text = text.strip()
    return text if len(text) <= limit else "..." + text[-limit:]


class ProgramRunner:
    """Runs programs in one sandbox with fixed limits and data files: the traced run step."""

    def __init__(
        self, sandbox: Sandbox, limits: Limits, files: Mapping[str, str] | None = None
    ) -> None:
        self.sandbox = sandbox
        self.limits = limits
        self.files = dict(files or {})

    @bundle(name="run_program", catch_errors=False)
    async def run_program(self, program: str) -> ExecutionResult:
        """Run `program` in the sandbox and return what happened.

        First a static check (syntax, imports outside the allowed list, solvers that are not
        installed); then a confined worker process with CPU, memory and wall-clock limits, no
        network and no other programs. The result holds the exit reason (ok, syntax_error,
        rejected, error, timeout, memory_limit, blocked, ...), stdout and stderr, the failing
        line of an error, and the status / objective / answer / variable values parsed from
        the printed `status:`, `name[index] = value`, `answer:` and `objective:` lines.
        """
        result = await self.sandbox.arun(program, limits=self.limits, files=self.files or None)
        return TracedExecution.of(result)


@bundle(name="verify_program")
def verify_program(
    execution: ExecutionResult, report: list[str], counted: str | None
) -> list[Finding]:
    """Check what a program that ran and reported a solution printed.

    Errors: an objective or answer that is not a finite number, a requested report[k] line
    missing. Warnings (doubts to fix or confirm): several different objective values printed,
    every printed variable equal to 0, a fractional answer to "how many <things>".
    """
    reported = execution.reported
    findings: list[Finding] = []
    objective = reported.objective
    if objective is not None and not math.isfinite(objective):
        findings.append(
            Finding(
                "objective",
                "error",
                f"the program printed 'objective: {objective}', which is not a finite number; "
                "a solution that exists has a finite objective: check the model and print "
                "pyo.value(objective) only after a successful solve",
            )
        )
    if reported.answer is not None and not math.isfinite(reported.answer):
        findings.append(
            Finding(
                "answer",
                "error",
                f"the program printed 'answer: {reported.answer}', which is not a finite number",
            )
        )
    missing = [
        f"report[{number}] ({name})"
        for number, name in enumerate(report, start=1)
        if f"report[{number}]" not in reported.values
    ]
    if missing:
        findings.append(
            Finding(
                "report",
                "error",
                "the program printed no line for " + ", ".join(missing) + "; print "
                "report[<number>] = <value> for every quantity the problem asks to report",
            )
        )
    distinct = sorted({round(v, 9) for v in reported.objectives if math.isfinite(v)})
    if len(distinct) > 1:
        shown = ", ".join(f"{v:g}" for v in distinct[:5])
        findings.append(
            Finding(
                "objectives",
                "warning",
                f"the program printed several different objective values ({shown}); the last "
                "one is taken as the answer: print the final objective once",
            )
        )
    plan = {k: v for k, v in reported.values.items() if not k.startswith("report[")}
    if plan and all(abs(v) <= _TOLERANCE for v in plan.values()):
        findings.append(
            Finding(
                "all_zero",
                "warning",
                "every variable the program printed is 0: check that the objective rewards "
                "activity and that requirements (demands, minimums) are constraints; if doing "
                "nothing is really optimal, return the program unchanged",
            )
        )
    value = reported.answer if reported.answer is not None else reported.objective
    fractional = value is not None and math.isfinite(value) and not _whole(value)
    if counted and fractional:
        findings.append(
            Finding(
                "fractional_count",
                "warning",
                f"the question asks how many {counted}, but the reported answer {value:g} is "
                "fractional: should the variables counting them be integers?",
            )
        )
    return findings


def _whole(value: float) -> bool:
    return abs(value - round(value)) <= _TOLERANCE * max(1.0, abs(value))


# -- outcomes and feedback ----------------------------------------------------------------------

_EXIT_OUTCOMES: dict[ExitReason, Outcome] = {
    ExitReason.SYNTAX_ERROR: "syntax_error",
    ExitReason.REJECTED: "rejected",
    ExitReason.BLOCKED: "blocked",
    ExitReason.TIMEOUT: "timeout",
    ExitReason.CPU_LIMIT: "timeout",
    ExitReason.ERROR: "error",
    ExitReason.MEMORY_LIMIT: "error",
    ExitReason.OUTPUT_LIMIT: "error",
    ExitReason.CRASHED: "error",
}


def has_solution(execution: ExecutionResult) -> bool:
    """True when the program ran and reported a solution with an objective line."""
    reported = execution.reported
    return (
        execution.ok
        and reported.status in ("optimal", "feasible", "time_limit")
        and reported.objective is not None
    )


def run_outcome(execution: ExecutionResult) -> Outcome | None:
    """How a run failed (syntax_error, rejected, timeout, infeasible, ...), None if it has a
    solution to verify."""
    if not execution.ok:
        return _EXIT_OUTCOMES.get(execution.exit_reason, "error")
    if has_solution(execution):
        return None
    status = execution.reported.status
    if status in ("infeasible", "unbounded"):
        return status  # type: ignore[return-value]  # both are Outcome values
    if status == "time_limit":
        return "timeout"
    if status in ("error", "infeasible_or_unbounded"):
        return "solver_error"
    return "no_result"


_STATUS_ADVICE = {
    "infeasible": (
        "The program reports the model infeasible: no solution satisfies every constraint. "
        "Check each constraint's direction (<= or >=), its data and units, and whether a "
        "requirement was read more strictly than the problem states."
    ),
    "unbounded": (
        "The program reports the model unbounded: the objective improves without limit. A "
        "capacity, budget or demand constraint is probably missing, a variable lacks its "
        "bounds, or the objective sense (maximize/minimize) is wrong."
    ),
    "infeasible_or_unbounded": (
        "The solver could not tell whether the model is infeasible or unbounded. Check the "
        "constraint directions and that every variable is limited by some constraint; to tell "
        "which, solve once with a constant objective: if that is infeasible, the constraints "
        "conflict, otherwise a bound is missing."
    ),
    "time_limit": (
        "The solver stopped at its time limit without a solution. Simplify the model: use "
        "linear forms instead of products of variables, tighter big-M values and bounds on "
        "every integer variable."
    ),
    "error": (
        "The solver reported an error. Make sure the solver suits the model: "
        "SolverFactory('highs') for linear and integer-linear models, 'scip_direct' for "
        "nonlinear ones."
    ),
}
_CONFIRM = (
    " If the program is a faithful model of the problem as stated, return it unchanged and "
    "this status will be the answer."
)


def failure_feedback(execution: ExecutionResult, outcome: Outcome) -> str:
    """The feedback for a run that produced no solution: the sandbox's account of the run,
    plus what the reported status means and what to do about it."""
    text = execution.feedback()
    status = execution.reported.status if execution.ok else None
    if status in _STATUS_ADVICE:
        text += "\n" + _STATUS_ADVICE[status]
        if outcome in ("infeasible", "unbounded"):
            text += _CONFIRM
    elif outcome == "no_result":
        text += (
            "\nThe program must end by printing 'status: <word>', its variable values and "
            "'objective: <number>' (see #Constraints)."
        )
    return text


def doubts_feedback(findings: Sequence[Finding]) -> str:
    """The feedback for a solution the verify step doubts or rejects."""
    return findings_text(
        findings,
        rejected="The program ran, but its output cannot be used as it is:",
        doubted=(
            "The program ran and reported a solution, but these points look doubtful. Fix "
            "them if they are mistakes; if the program is right as it is, return it unchanged:"
        ),
    )


def counted_thing(problem: str) -> str | None:
    """The counted noun of a "how many <things>" question (trucks, workers, ...), or None."""
    for match in _HOW_MANY.finditer(problem):
        if _COUNTED.match(match.group(1)):
            return match.group(1).lower()
    return None


def reported_quantities(execution: ExecutionResult, report: Sequence[str]) -> dict[str, float]:
    """The requested quantities by name, read from the program's report[k] lines."""
    values = execution.reported.values
    found: dict[str, float] = {}
    for number, name in enumerate(report, start=1):
        value = values.get(f"report[{number}]")
        if value is not None and math.isfinite(value):
            found[name] = value
    return found
