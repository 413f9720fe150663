"""The types the sandbox takes and returns: `Limits`, `ExitReason`, `ExecutionResult`."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from enum import StrEnum
from typing import Any

from optiagent.exceptions import ConfigurationError
from optiagent.solvers_backend.sandbox.feedback import format_feedback
from optiagent.solvers_backend.sandbox.reported import ReportedResult

__all__ = ["ExecutionError", "ExecutionResult", "ExitReason", "Limits"]

_MIB = 1024 * 1024


@dataclass(frozen=True)
class Limits:
    """Resource limits for one run of generated code.

    - `cpu_seconds`: CPU time of the run (RLIMIT_CPU; all threads count).
    - `wall_seconds`: wall-clock time; on expiry the whole process group is killed (SIGKILL),
      even if a solver is stuck in native code.
    - `memory_bytes`: address space (RLIMIT_AS). The warm worker's own mappings (about
      0.25-0.4 GiB: Python, Pyomo, the solvers) count against it; CP-SAT with its thread
      stacks needs at least 512 MiB.
    - `output_bytes`: stdout plus stderr; beyond it the run is stopped and the output cut.
    - `file_bytes`: the largest file the code may write in its directory (RLIMIT_FSIZE).

    The limits are not passed to the solvers: generated code should set its own solver time
    limit below `wall_seconds` (Pyomo `solve(m, timelimit=...)`, CP-SAT
    `parameters.max_time_in_seconds`) so that a slow solve ends with status `time_limit` and
    its incumbent rather than being killed; the timeout feedback says so.
    """

    cpu_seconds: float = 30.0
    wall_seconds: float = 60.0
    memory_bytes: int = 2048 * _MIB
    output_bytes: int = 1 * _MIB
    file_bytes: int = 64 * _MIB

    def __post_init__(self) -> None:
        if self.cpu_seconds <= 0 or self.wall_seconds <= 0:
            raise ConfigurationError("sandbox limits: cpu_seconds and wall_seconds must be > 0")
        if self.memory_bytes < 64 * _MIB:
            raise ConfigurationError(
                "sandbox limits: memory_bytes must be at least 64 MiB "
                "(the warm worker alone maps about 300 MiB; use 1 GiB or more)"
            )
        if self.output_bytes < 1024 or self.file_bytes < 1024:
            raise ConfigurationError("sandbox limits: output_bytes and file_bytes must be >= 1024")

    def to_dict(self) -> dict[str, float | int]:
        """The limits as a plain dict (the wire format to the worker)."""
        return asdict(self)


class ExitReason(StrEnum):
    """How a run ended."""

    OK = "ok"  # the code ran to its end (it may still report infeasible, etc.)
    ERROR = "error"  # the code raised an exception (or exited with a non-zero status)
    SYNTAX_ERROR = "syntax_error"  # the code does not parse
    REJECTED = "rejected"  # the static check refused it before running
    TIMEOUT = "timeout"  # wall-clock limit: the process group was killed
    CPU_LIMIT = "cpu_limit"  # CPU-time limit
    MEMORY_LIMIT = "memory_limit"  # address-space limit (MemoryError)
    OUTPUT_LIMIT = "output_limit"  # printed (or wrote) too much
    BLOCKED = "blocked"  # the sandbox refused an operation (network, processes, files, ...)
    CRASHED = "crashed"  # the worker died (a signal), or the sandbox itself failed


@dataclass(frozen=True)
class ExecutionError:
    """A short account of what went wrong: exception type, message and the failing line."""

    type: str
    message: str
    line: int | None = None
    source: str | None = None  # the text of that line of the generated code

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dict."""
        return asdict(self)


@dataclass(frozen=True)
class ExecutionResult:
    """Everything one sandboxed run produced; `feedback()` turns it into a message for an LLM."""

    exit_reason: ExitReason
    stdout: str = ""
    stderr: str = ""
    reported: ReportedResult = field(default_factory=ReportedResult)
    wall_time_s: float = 0.0
    error: ExecutionError | None = None
    blocked: tuple[str, ...] = ()  # each operation the sandbox refused, in words
    issues: tuple[str, ...] = ()  # static-check findings (exit reason `rejected`)
    family: str = ""
    limits: Limits = field(default_factory=Limits)
    cpu_time_s: float | None = None
    max_rss_bytes: int | None = None
    signal: int | None = None
    output_truncated: bool = False

    @property
    def ok(self) -> bool:
        """True when the code ran to its end without an error."""
        return self.exit_reason is ExitReason.OK

    @property
    def complete(self) -> bool:
        """True when the code ran and reported a status, plus an objective where one is due."""
        if not self.ok or self.reported.status is None:
            return False
        if self.reported.status in ("optimal", "feasible"):
            return self.reported.objective is not None
        return True

    def feedback(self) -> str:
        """A precise message an LLM can act on: what failed, where, and what to do."""
        return format_feedback(self)

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dict of every field, plus `feedback`."""
        return {
            "exit_reason": self.exit_reason.value,
            "ok": self.ok,
            "complete": self.complete,
            "reported": self.reported.to_dict(),
            "wall_time_s": round(self.wall_time_s, 6),
            "cpu_time_s": self.cpu_time_s,
            "max_rss_bytes": self.max_rss_bytes,
            "signal": self.signal,
            "error": self.error.to_dict() if self.error else None,
            "blocked": list(self.blocked),
            "issues": list(self.issues),
            "family": self.family,
            "limits": self.limits.to_dict(),
            "output_truncated": self.output_truncated,
            "stdout": self.stdout,
            "stderr": self.stderr,
            "feedback": self.feedback(),
        }
