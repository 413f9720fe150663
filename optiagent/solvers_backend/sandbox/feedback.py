"""Turn an `ExecutionResult` into feedback an LLM can act on: what failed, where, what to do.

The agent passes these messages to the model verbatim, so each says what happened in plain
words, points at the failing line of the generated code (`line 12: m.c = Constraint(...)`),
and ends with a concrete next step.
"""

from __future__ import annotations

import math
import re
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from optiagent.solvers_backend.sandbox.results import ExecutionError, ExecutionResult

__all__ = ["format_feedback"]

_TAIL_LINES = 15
_TAIL_CHARS = 2000
_GiB = 1024**3

# (exception type or None, message pattern, advice) for errors generated code often makes.
_HINTS: tuple[tuple[str | None, str, str], ...] = (
    (
        None,
        r"No value for uninitialized|has no value|value is None|NoneType.*(float|int)",
        "a variable has no value, usually because the solve did not succeed: solve with "
        "load_solutions=False, test pyo.check_optimal_termination(result), and print "
        "'status: <termination condition>' instead of reading values when it fails",
    ),
    (
        None,
        r"NoFeasibleSolutionError|NoOptimalSolutionError|no feasible solution"
        r"|Solver .* did not exit normally",
        "the solver found no solution, and the code tried to load one: call "
        ".solve(model, load_solutions=False), then check pyo.check_optimal_termination(result) "
        "and print 'status: infeasible' (or the termination condition) when it fails",
    ),
    (
        None,
        r"Cannot solve MIQP|IncompatibleModelError|quadratic constraint|DegreeError",
        "HiGHS cannot solve this model class (MIQP, quadratic constraints or nonlinear terms): "
        "use SolverFactory('scip_direct')",
    ),
    (
        None,
        r"No executable found for solver|executable .* not found|solver .* is not available",
        "that solver is not installed here: use SolverFactory('highs') for LP/MILP/convex QP "
        "or SolverFactory('scip_direct') for nonlinear models",
    ),
    (
        "ModuleNotFoundError",
        r".",
        "that module is not installed here: use only pyomo, ortools, highspy, pyscipopt, numpy, "
        "scipy and the standard library",
    ),
    (
        "NameError",
        r".",
        "a name is used before it is defined (a typo, a missing import, or data left out of "
        "the code): define it before this line",
    ),
    (
        "KeyError",
        r".",
        "an index is missing from a dict or an indexed component: check that every set "
        "element used here has data",
    ),
    (
        "Resource temporarily unavailable",
        r".",
        "the solver could not start its threads under the memory limit: use fewer workers "
        "(CP-SAT: solver.parameters.num_workers = 1) or a smaller model",
    ),
)


def _where(error: ExecutionError | None) -> str:
    if error is None or error.line is None:
        return ""
    if error.source:
        return f"line {error.line}: `{error.source}`"
    return f"line {error.line}"


def _tail(text: str) -> str:
    lines = text.rstrip().splitlines()[-_TAIL_LINES:]
    tail = "\n".join(lines)
    return tail[-_TAIL_CHARS:]


def _hint(error: ExecutionError) -> str | None:
    text = f"{error.type}: {error.message}"
    for kind, pattern, advice in _HINTS:
        if kind is not None and kind != error.type and kind not in error.message:
            continue
        if re.search(pattern, text, re.I | re.S):
            return advice
    return None


def _seconds(value: float) -> str:
    return f"{value:g} s"


def _memory(value: int) -> str:
    return f"{value / _GiB:.2g} GiB" if value >= _GiB else f"{value // (1024 * 1024)} MiB"


def format_feedback(result: ExecutionResult) -> str:
    """Return the feedback message for `result` (one paragraph, plus output tails)."""
    reason = result.exit_reason.value
    limits = result.limits
    error = result.error
    where = _where(error)
    parts: list[str]
    if reason == "ok":
        return _ok_feedback(result)
    if reason == "rejected":
        parts = ["the code was not run: it uses things the sandbox does not allow:"]
        parts += [f"- {issue}" for issue in result.issues]
        parts.append("Rewrite those parts and send the whole program again.")
        return "\n".join(parts)
    if reason == "syntax_error":
        message = error.message if error else "invalid syntax"
        location = f" at {where}" if where else ""
        return (
            f"the code does not parse: {message}{location}. "
            "Fix the syntax and send the whole program again."
        )
    if reason == "timeout":
        parts = [
            f"the code ran longer than {_seconds(limits.wall_seconds)} and was stopped; the model "
            "may be too large for the solver in that time, or a loop never ends. Pass a solver "
            "time limit (Pyomo: solve(m, timelimit=...); CP-SAT: "
            "solver.parameters.max_time_in_seconds = ...), print 'status: time_limit' with the "
            "best objective found, and check loops for an exit."
        ]
    elif reason == "cpu_limit":
        parts = [
            f"the code used more than {_seconds(limits.cpu_seconds)} of CPU time and was stopped; "
            "pass a solver time limit, use fewer solver threads, or simplify the model."
        ]
    elif reason == "memory_limit":
        location = f" at {where}" if where else ""
        parts = [
            f"the code ran out of memory{location} (limit {_memory(limits.memory_bytes)}); it "
            "builds something far too large (a huge list or array, or a dense model over a "
            "large product of sets): build only the indices that are needed."
        ]
    elif reason == "output_limit":
        parts = [
            f"the code printed (or wrote) more than {limits.output_bytes} bytes and was stopped; "
            "print only the status, the objective and the nonzero variable values, and turn off "
            "solver logs (tee=False)."
        ]
    elif reason == "blocked":
        parts = ["the sandbox refused an operation the code attempted:"]
        parts += [f"- {what}" for what in result.blocked] or [
            f"- {error.message}" if error else "- (no details)"
        ]
        if where:
            parts.append(f"It happened at {where}.")
        parts.append(
            "Generated code may only build and solve the model and print the result: no "
            "network, no other programs, no files outside its own folder."
        )
    elif reason == "error":
        parts = [_error_sentence(error, where)]
    else:  # crashed
        detail = error.message if error else "the worker process died"
        parts = [
            f"the code crashed the process running it ({detail}); this usually means a solver "
            "failed in native code, often from running out of memory: simplify the model or "
            "try another solver (SolverFactory('highs') or SolverFactory('scip_direct'))."
        ]
    if reason not in ("error",) and result.blocked and reason != "blocked":
        parts.append("The sandbox also refused: " + "; ".join(result.blocked))
    return _with_output(" ".join(parts) if reason != "blocked" else "\n".join(parts), result)


def _error_sentence(error: ExecutionError | None, where: str) -> str:
    if error is None:
        return "the code failed without an error message."
    if error.type == "Exit":
        return f"{error.message}; let the program end normally after printing the results."
    location = f" at {where}" if where else ""
    text = f"the code raised {error.type}{location}: {error.message}"
    if not where:
        text += " (inside a library, not at a line of the code)"
    hint = _hint(error)
    if hint:
        return f"{text}. {hint[0].upper()}{hint[1:]}."
    return f"{text}. Fix the cause and send the whole program again."


def _with_output(message: str, result: ExecutionResult) -> str:
    sections = [message]
    if result.stdout.strip():
        sections.append("Last lines of stdout:\n" + _tail(result.stdout))
    # A refusal's traceback only repeats the refusal (through the sandbox's own frames).
    if result.stderr.strip() and result.exit_reason.value not in ("ok", "blocked"):
        sections.append("Last lines of stderr:\n" + _tail(result.stderr))
    return "\n\n".join(sections)


def _ok_feedback(result: ExecutionResult) -> str:
    reported = result.reported
    took = f"{result.wall_time_s:.2f} s"
    if reported.status is None and reported.objective is None:
        if reported.has_status:
            return (
                f"the code ran ({took}) but its status line says {reported.raw_status!r}, which "
                "is not one of optimal, feasible, infeasible, unbounded, "
                "infeasible_or_unbounded, time_limit, error: print one of those words"
            )
        return (
            f"the code ran ({took}) but printed no `status:` and no `objective:` line; end with "
            "print(f'status: {status}') (optimal, feasible, infeasible, unbounded, ...) and "
            "print(f'objective: {value}')"
        )
    if reported.status in ("optimal", "feasible") and reported.objective is None:
        return (
            f"the code ran ({took}) and reported status {reported.status} but printed no "
            "`objective:` line; end with print(f'objective: {value}')"
        )
    if reported.status is None:
        return (
            f"the code ran ({took}) and printed objective {reported.objective} but no "
            "`status:` line; also print(f'status: {status}')"
        )
    if reported.objective is not None and math.isnan(reported.objective):
        return (
            f"the code ran ({took}) and reported status {reported.status}, but the objective is NaN"
        )
    objective = "" if reported.objective is None else f", objective {reported.objective:g}"
    blocked = ""
    if result.blocked:
        blocked = " The sandbox refused: " + "; ".join(result.blocked)
    return f"the code ran successfully ({took}): status {reported.status}{objective}.{blocked}"
