"""`run_script_cold`: the plain `python script.py` path, for debugging and as a baseline.

It starts a fresh interpreter per run (about 0.6 s for a Pyomo script), with the worker
environment (no secrets), a fresh temporary directory, rlimits and a wall-clock kill of the
process group. It has no audit hook, no Landlock and no seccomp: use it for trusted scripts
and for measuring, and `Sandbox.run` for generated code.
"""

from __future__ import annotations

import contextlib
import os
import re
import resource
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Mapping
from pathlib import Path

from optiagent.solvers_backend.sandbox.policy import worker_environment
from optiagent.solvers_backend.sandbox.reported import parse_reported_result
from optiagent.solvers_backend.sandbox.results import (
    ExecutionError,
    ExecutionResult,
    ExitReason,
    Limits,
)

__all__ = ["run_script_cold"]

_SCRIPT_NAME = "script.py"
_FRAME = re.compile(r'File "(?P<file>[^"]+)", line (?P<line>\d+)')
_EXCEPTION = re.compile(r"^(?P<type>[A-Za-z_][\w.]*): ?(?P<message>.*)$")


def run_script_cold(
    script: str | Path,
    *,
    limits: Limits | None = None,
    python: str | None = None,
    files: Mapping[str, str | bytes] | None = None,
) -> ExecutionResult:
    """Run a script file (a Path) or a code string in a fresh `python` process.

    A `str` is taken as code, a `Path` as a file to copy into the run directory; `files`
    (name -> content) are written beside it. Returns the
    same `ExecutionResult` as `Sandbox.run`, with the error line taken from the traceback.
    """
    limits = limits or Limits()
    run_dir = tempfile.mkdtemp(prefix="optiagent-cold-")
    try:
        target = Path(run_dir) / _SCRIPT_NAME
        for name, content in (files or {}).items():
            data = content.encode("utf-8") if isinstance(content, str) else bytes(content)
            (Path(run_dir) / Path(name).name).write_bytes(data)
        if isinstance(script, Path):
            shutil.copyfile(script, target)
            code = script.read_text(encoding="utf-8", errors="replace")
        else:
            target.write_text(script, encoding="utf-8")
            code = script
        return _run(target, code, limits, python or sys.executable)
    finally:
        shutil.rmtree(run_dir, ignore_errors=True)


def _limit_setter(limits: Limits) -> Callable[[], None]:
    cpu = max(1, int(limits.cpu_seconds + 0.999))
    memory = int(limits.memory_bytes)
    # Output goes to files in the run directory, so RLIMIT_FSIZE also caps the output.
    file_bytes = max(int(limits.file_bytes), int(limits.output_bytes) + 1)

    def apply() -> None:  # runs in the child between fork and exec: system calls only
        resource.setrlimit(resource.RLIMIT_CPU, (cpu, cpu + 1))
        resource.setrlimit(resource.RLIMIT_AS, (memory, memory))
        resource.setrlimit(resource.RLIMIT_FSIZE, (file_bytes, file_bytes))
        resource.setrlimit(resource.RLIMIT_CORE, (0, 0))

    return apply


def _run(target: Path, code: str, limits: Limits, python: str) -> ExecutionResult:
    run_dir = target.parent
    env = worker_environment()
    env.update(HOME=str(run_dir), TMPDIR=str(run_dir))
    out_path, err_path = run_dir / ".stdout", run_dir / ".stderr"
    started = time.perf_counter()
    timed_out = False
    with open(out_path, "wb") as out, open(err_path, "wb") as err:
        proc = subprocess.Popen(
            [python, _SCRIPT_NAME],
            cwd=run_dir,
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=out,
            stderr=err,
            start_new_session=True,
            preexec_fn=_limit_setter(limits),
        )
        try:
            proc.wait(timeout=limits.wall_seconds)
        except subprocess.TimeoutExpired:
            timed_out = True
        with contextlib.suppress(OSError):
            os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()
    wall = time.perf_counter() - started
    stdout, out_cut = _read_capped(out_path, limits.output_bytes)
    stderr, err_cut = _read_capped(err_path, limits.output_bytes)
    returncode = proc.returncode
    signal_number = -returncode if returncode < 0 else None
    error = _error_from_traceback(stderr, code) if returncode else None
    reason = _reason(timed_out, returncode, signal_number, stderr, out_cut or err_cut)
    if error is None and reason in (ExitReason.ERROR, ExitReason.CRASHED):
        error = ExecutionError(type="Exit", message=f"the process ended with status {returncode}")
    return ExecutionResult(
        exit_reason=reason,
        stdout=stdout,
        stderr=stderr,
        reported=parse_reported_result(stdout),
        wall_time_s=wall,
        error=error,
        family="cold",
        limits=limits,
        cpu_time_s=None,
        max_rss_bytes=None,
        signal=signal_number,
        output_truncated=out_cut or err_cut,
    )


def _read_capped(path: Path, cap: int) -> tuple[str, bool]:
    with open(path, "rb") as handle:
        data = handle.read(cap + 1)
    return data[:cap].decode("utf-8", errors="replace"), len(data) > cap


def _reason(
    timed_out: bool, returncode: int, signal_number: int | None, stderr: str, truncated: bool
) -> ExitReason:
    if timed_out:
        return ExitReason.TIMEOUT
    if signal_number == signal.SIGXCPU:
        return ExitReason.CPU_LIMIT
    if signal_number == signal.SIGXFSZ or truncated:
        return ExitReason.OUTPUT_LIMIT
    if signal_number is not None:
        return ExitReason.CRASHED
    if returncode == 0:
        return ExitReason.OK
    last = stderr.strip().splitlines()[-1:] or [""]
    if "MemoryError" in last[0]:
        return ExitReason.MEMORY_LIMIT
    if last[0].startswith("SyntaxError"):
        return ExitReason.SYNTAX_ERROR
    return ExitReason.ERROR


def _error_from_traceback(stderr: str, code: str) -> ExecutionError | None:
    """Read the exception and the last frame of the script from a printed traceback."""
    if "Traceback" not in stderr and "SyntaxError" not in stderr:
        return None
    line: int | None = None
    for frame in _FRAME.finditer(stderr):
        if os.path.basename(frame.group("file")) == _SCRIPT_NAME:
            line = int(frame.group("line"))
    lines = stderr.strip().splitlines()
    kind, message = "Error", lines[-1] if lines else ""
    match = _EXCEPTION.match(lines[-1]) if lines else None
    if match:
        kind, message = match.group("type").rsplit(".", 1)[-1], match.group("message")
    source_lines = code.splitlines()
    source = source_lines[line - 1].strip() if line and 0 < line <= len(source_lines) else None
    return ExecutionError(type=kind, message=message[:2000], line=line, source=source)
