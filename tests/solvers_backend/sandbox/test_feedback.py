"""Feedback texts for each exit reason, built from results without running anything."""

from __future__ import annotations

from optiagent.solvers_backend.sandbox import (
    ExecutionError,
    ExecutionResult,
    ExitReason,
    Limits,
    parse_reported_result,
)


def _result(reason: ExitReason, **fields: object) -> ExecutionResult:
    return ExecutionResult(exit_reason=reason, **fields)  # type: ignore[arg-type]


def test_timeout_names_the_limit_and_what_to_do() -> None:
    text = _result(ExitReason.TIMEOUT, limits=Limits(wall_seconds=60)).feedback()
    assert text.startswith("the code ran longer than 60 s and was stopped")
    assert "time limit" in text and "loop never ends" in text


def test_error_names_line_source_and_exception() -> None:
    error = ExecutionError("ValueError", "bad bound", 12, "m.c = Constraint(expr=m.x <= -1)")
    text = _result(ExitReason.ERROR, error=error).feedback()
    assert "line 12: `m.c = Constraint(expr=m.x <= -1)`" in text
    assert "ValueError" in text and "bad bound" in text


def test_error_inside_a_library_says_so() -> None:
    text = _result(ExitReason.ERROR, error=ExecutionError("RuntimeError", "boom")).feedback()
    assert "inside a library" in text


def test_hints_for_common_solver_mistakes() -> None:
    cases = {
        "No value for uninitialized NumericValue object x": "load_solutions=False",
        "Solver (highs) did not exit normally": "check_optimal_termination",
        "Cannot solve MIQP problems with HiGHS": "scip_direct",
        "No executable found for solver 'glpk'": "SolverFactory('highs')",
    }
    for message, advice in cases.items():
        error = ExecutionError("RuntimeError", message, 3, "res = opt.solve(m)")
        assert advice in _result(ExitReason.ERROR, error=error).feedback(), message


def test_memory_and_output_and_cpu() -> None:
    limits = Limits(memory_bytes=1024**3, output_bytes=5000, cpu_seconds=7)
    error = ExecutionError("MemoryError", "", 2, "x = [0] * 10**10")
    text = _result(ExitReason.MEMORY_LIMIT, error=error, limits=limits).feedback()
    assert "out of memory at line 2" in text and "1 GiB" in text
    assert "more than 5000 bytes" in _result(ExitReason.OUTPUT_LIMIT, limits=limits).feedback()
    assert "more than 7 s of CPU" in _result(ExitReason.CPU_LIMIT, limits=limits).feedback()


def test_blocked_lists_every_refusal() -> None:
    blocked = ("the code tried to use the network (socket.connect to 1.2.3.4:80); no", "second")
    text = _result(ExitReason.BLOCKED, blocked=blocked).feedback()
    assert "socket.connect to 1.2.3.4:80" in text and "- second" in text
    assert "no network, no other programs" in text


def test_output_tails_are_attached() -> None:
    stdout = "\n".join(f"line {i}" for i in range(100))
    text = _result(ExitReason.TIMEOUT, stdout=stdout, stderr="warning: slow").feedback()
    assert "Last lines of stdout:" in text and "line 99" in text and "line 10\n" not in text
    assert "warning: slow" in text


def test_success_states() -> None:
    done = _result(
        ExitReason.OK, reported=parse_reported_result("status: optimal\nobjective: 36"),
        wall_time_s=0.05,
    )  # fmt: skip
    assert done.complete
    assert done.feedback() == "the code ran successfully (0.05 s): status optimal, objective 36."
    odd = _result(ExitReason.OK, reported=parse_reported_result("status: solved-ish"))
    assert "is not one of optimal" in odd.feedback()
    no_status = _result(ExitReason.OK, reported=parse_reported_result("objective: 3"))
    assert "no `status:` line" in no_status.feedback()
