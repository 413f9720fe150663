"""The parent's verdict on a run: from what it observed, never from what the run claims.

The zygote reports what it saw of the run's process: the wait status (exit code or signal),
the resource usage, and which limit it enforced itself (wall clock, output size). The run's
folder holds its stdout and stderr files, and the report pipe holds what the sandbox code in
the child wrote (the audit hook's refusals, the description of an exception). The program
can write to that pipe too, so its lines are claims: they may describe an error or add a
refusal (worded from the fixed vocabulary of `_blocked.py`), but they never decide the exit
reason. A `SIGSYS` (the seccomp filter killed the process), `SIGXCPU` (CPU limit), the
zygote's own kills and the exit status do. The parent side only; standard library.
"""

from __future__ import annotations

import json
import os
import signal
from collections.abc import Mapping
from typing import Any

from optiagent.solvers_backend.sandbox import _wire
from optiagent.solvers_backend.sandbox._blocked import KERNEL_REFUSAL, describe
from optiagent.solvers_backend.sandbox.reported import parse_reported_result
from optiagent.solvers_backend.sandbox.results import (
    ExecutionError,
    ExecutionResult,
    ExitReason,
    Limits,
)

__all__ = ["read_report", "verdict"]

_MAX_REPORT = 64 * 1024  # what the sandbox code itself writes stays far below this
_MAX_BLOCKED = 20
_MAX_TEXT = 2000

_BY_EXIT_STATUS = {
    _wire.EXIT_OK: ExitReason.OK,
    _wire.EXIT_ERROR: ExitReason.ERROR,
    _wire.EXIT_SYNTAX_ERROR: ExitReason.SYNTAX_ERROR,
    _wire.EXIT_MEMORY_LIMIT: ExitReason.MEMORY_LIMIT,
    _wire.EXIT_BLOCKED: ExitReason.BLOCKED,
    _wire.EXIT_SETUP_FAILED: ExitReason.CRASHED,
    _wire.EXIT_ORPHANED: ExitReason.CRASHED,
}


def read_report(fd: int) -> bytes:
    """Read what is in the (non-blocking) report pipe, up to a cap; the writers are gone."""
    chunks: list[bytes] = []
    size = 0
    while size <= _MAX_REPORT:
        try:
            data = os.read(fd, 65536)
        except BlockingIOError:
            break
        if not data:
            break
        chunks.append(data)
        size += len(data)
    return b"".join(chunks)


def _read_capped(path: str, cap: int) -> tuple[str, bool]:
    try:
        with open(path, "rb") as handle:
            data = handle.read(cap + 1)
    except OSError:
        return "", False
    return data[:cap].decode("utf-8", errors="replace"), len(data) > cap


def _parse_report(raw: bytes) -> tuple[list[str], dict[str, Any] | None, str | None, bool]:
    """(blocked sentences, the done message, a set-up failure, whether junk was found)."""
    blocked: list[str] = []
    done: dict[str, Any] | None = None
    setup: str | None = None
    junk = len(raw) > _MAX_REPORT
    for line in raw[:_MAX_REPORT].decode("utf-8", errors="replace").splitlines():
        if not line.strip():
            continue
        try:
            message = json.loads(line)
        except ValueError:
            junk = True
            continue
        kind = message.get("kind") if isinstance(message, dict) else None
        if kind == "blocked":
            sentence = describe(message.get("event"), message.get("target", ""))
            if sentence not in blocked and len(blocked) < _MAX_BLOCKED:
                blocked.append(sentence)
        elif kind == "done":
            done = message
        elif kind == "setup_failed":
            setup = str(message.get("message", ""))[:_MAX_TEXT]
        else:
            junk = True
    return blocked, done, setup, junk


def _claimed_error(done: Mapping[str, Any] | None) -> ExecutionError | None:
    error = done.get("error") if done else None
    if not isinstance(error, Mapping):
        return None
    line = error.get("line")
    source = error.get("source")
    return ExecutionError(
        type=str(error.get("type", "Error"))[:100],
        message=str(error.get("message", ""))[:_MAX_TEXT],
        line=line if isinstance(line, int) and not isinstance(line, bool) else None,
        source=str(source)[:500] if source is not None else None,
    )


def _signal_name(number: int) -> str:
    try:
        return signal.Signals(number).name
    except ValueError:
        return str(number)


def _reason(
    observed: Mapping[str, Any], limits: Limits, signal_number: int | None, code: int | None
) -> ExitReason:
    killed = observed.get("killed")
    if killed in ("timeout", "output_limit"):
        return ExitReason(killed)
    cpu = observed.get("cpu_time_s")
    if signal_number == signal.SIGSYS:
        return ExitReason.BLOCKED
    if signal_number == signal.SIGXCPU or (
        signal_number == signal.SIGKILL and cpu is not None and cpu >= limits.cpu_seconds - 0.05
    ):
        return ExitReason.CPU_LIMIT
    if signal_number == signal.SIGXFSZ:
        return ExitReason.OUTPUT_LIMIT
    if signal_number is not None:
        return ExitReason.CRASHED
    return _BY_EXIT_STATUS.get(code, ExitReason.ERROR) if code is not None else ExitReason.CRASHED


def verdict(
    observed: Mapping[str, Any], folder: str, report: bytes, family: str, limits: Limits
) -> ExecutionResult:
    """The result of a run from the zygote's observation, its output files and its report."""
    status = int(observed["status"])
    signal_number = os.WTERMSIG(status) if os.WIFSIGNALED(status) else None
    code = os.WEXITSTATUS(status) if os.WIFEXITED(status) else None
    stdout, out_cut = _read_capped(os.path.join(folder, _wire.RUN_STDOUT), limits.output_bytes)
    room = max(0, limits.output_bytes - len(stdout.encode("utf-8", errors="replace")))
    stderr, err_cut = _read_capped(os.path.join(folder, _wire.RUN_STDERR), room)
    blocked, done, setup, junk = _parse_report(report)
    reason = _reason(observed, limits, signal_number, code)
    if signal_number == signal.SIGSYS:
        blocked.insert(0, KERNEL_REFUSAL)
    if junk and reason in (ExitReason.OK, ExitReason.ERROR):
        blocked.append(describe("report"))
    if blocked and reason in (ExitReason.OK, ExitReason.ERROR):
        reason = ExitReason.BLOCKED  # refused even if the code caught the exception
    error = None
    if code in (_wire.EXIT_ERROR, _wire.EXIT_SYNTAX_ERROR, _wire.EXIT_MEMORY_LIMIT,
                _wire.EXIT_BLOCKED):  # fmt: skip
        error = _claimed_error(done)
    if code == _wire.EXIT_SETUP_FAILED and setup is not None:
        error = ExecutionError(type="SandboxSetupError", message=setup)
    if error is None and reason in (ExitReason.CRASHED, ExitReason.ERROR):
        if signal_number is not None:
            message = f"the process was killed by signal {_signal_name(signal_number)}"
            error = ExecutionError(type="Signal", message=message)
        else:
            message = f"the process ended with exit status {code} before the code finished"
            error = ExecutionError(type="Exit", message=message)
    if reason is ExitReason.BLOCKED and error is None and blocked:
        error = ExecutionError(type="SandboxViolation", message=blocked[0])
    return ExecutionResult(
        exit_reason=reason,
        stdout=stdout,
        stderr=stderr,
        reported=parse_reported_result(stdout),
        wall_time_s=float(observed.get("wall_time_s") or 0.0),
        error=error,
        blocked=tuple(blocked),
        family=family,
        limits=limits,
        cpu_time_s=observed.get("cpu_time_s"),
        max_rss_bytes=observed.get("max_rss_bytes"),
        signal=signal_number,
        output_truncated=out_cut or err_cut or observed.get("killed") == "output_limit",
    )
