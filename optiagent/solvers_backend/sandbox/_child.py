"""The forked child of a zygote: confine itself, run the generated code, report how it ended.

Runs in a freshly forked copy of a warm zygote. Order matters: new session, parent-death
signal, file descriptors, working directory and environment, rlimits, then the kernel layers
(no_new_privs, Landlock, seccomp), then the audit hook, which must come last because it
refuses the ctypes calls the kernel layers are made of. The outcome is one JSON line on
file descriptor 3; the process always ends with `os._exit`. Standard library only.
"""

from __future__ import annotations

import builtins
import contextlib
import io
import json
import linecache
import os
import resource
import signal
import sys
import tempfile
import traceback
from collections.abc import Callable, Mapping
from typing import Any, NoReturn

from optiagent.solvers_backend.sandbox import _kernel
from optiagent.solvers_backend.sandbox._audit import SandboxViolation, install_audit_hook

__all__ = ["child_main"]

_REPORT_FD = 3
_MAX_MESSAGE = 2000
_NPROC_HEADROOM = 256  # threads a run may add (CP-SAT workers, BLAS) beyond what exists now


def child_main(
    *,
    request: Mapping[str, Any],
    run_dir: str,
    stdout_fd: int,
    stderr_fd: int,
    report_fd: int,
    zygote_pid: int,
    readable: tuple[str, ...],
    layers: Mapping[str, bool],
) -> NoReturn:
    """Set up the confinement, run `request['code']`, write the outcome, and exit."""
    try:
        _setup_process(stdout_fd, stderr_fd, report_fd, zygote_pid)
        _setup_directory(run_dir)
        _setup_limits(request["limits"])
        _setup_kernel_layers(run_dir, readable, layers)
        install_audit_hook(
            run_dir=run_dir, readable_roots=readable, report_fd=_REPORT_FD, own_pid=os.getpid()
        )
    except BaseException as error:  # the sandbox itself failed: say so, never run the code
        _report({"kind": "done", "outcome": "setup_failed", "message": repr(error)[:_MAX_MESSAGE]})
        os._exit(70)
    outcome = _execute(
        request["code"],
        request.get("filename") or "<generated>",
        bool(request.get("enforce_imports", True)),
        request.get("allowed_imports"),
    )
    _flush()
    _report(outcome)
    os._exit(0)


def _report(message: Mapping[str, Any]) -> None:
    data = (json.dumps(message) + "\n").encode()
    try:
        while data:
            written = os.write(_REPORT_FD, data)
            data = data[written:]
    except OSError:
        pass


def _setup_process(stdout_fd: int, stderr_fd: int, report_fd: int, zygote_pid: int) -> None:
    os.setsid()
    for number in (signal.SIGINT, signal.SIGTERM, signal.SIGPIPE, signal.SIGCHLD):
        signal.signal(number, signal.SIG_DFL)
    if sys.platform.startswith("linux"):
        _kernel.set_parent_death_signal(signal.SIGKILL)
    if os.getppid() != zygote_pid:  # the zygote died between fork and here
        os._exit(71)
    devnull = os.open(os.devnull, os.O_RDONLY)
    os.dup2(devnull, 0)
    os.dup2(stdout_fd, 1)
    os.dup2(stderr_fd, 2)
    os.dup2(report_fd, _REPORT_FD)
    # Everything else the zygote holds (its protocol pipes, other runs' pipes) goes.
    os.closerange(_REPORT_FD + 1, resource.getrlimit(resource.RLIMIT_NOFILE)[0])
    sys.stdin = io.TextIOWrapper(io.FileIO(0, "r", closefd=False), encoding="utf-8")
    sys.stdout = io.TextIOWrapper(
        io.FileIO(1, "w", closefd=False),
        encoding="utf-8",
        errors="backslashreplace",
        line_buffering=True,  # output survives a kill: the last lines are the useful ones
    )
    sys.stderr = io.TextIOWrapper(
        io.FileIO(2, "w", closefd=False),
        encoding="utf-8",
        errors="backslashreplace",
        write_through=True,
    )


def _setup_directory(run_dir: str) -> None:
    os.chdir(run_dir)
    for name in ("HOME", "TMPDIR", "TMP", "TEMP", "PWD"):
        os.environ[name] = run_dir
    tempfile.tempdir = run_dir
    os.umask(0o077)


def _setup_limits(limits: Mapping[str, float]) -> None:
    cpu = max(1, int(limits["cpu_seconds"] + 0.999))
    resource.setrlimit(resource.RLIMIT_CPU, (cpu, cpu + 1))
    memory = int(limits["memory_bytes"])
    resource.setrlimit(resource.RLIMIT_AS, (memory, memory))
    file_bytes = int(limits["file_bytes"])
    resource.setrlimit(resource.RLIMIT_FSIZE, (file_bytes, file_bytes))
    resource.setrlimit(resource.RLIMIT_CORE, (0, 0))
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    cap = 256 if hard == resource.RLIM_INFINITY else min(256, hard)
    resource.setrlimit(resource.RLIMIT_NOFILE, (min(soft, cap), cap))
    if os.geteuid() != 0:
        # Per user, so it only helps as a backstop: a fork bomb fails once the user's own
        # process count reaches it. Root ignores it; seccomp and the audit hook stop forks.
        resource.setrlimit(resource.RLIMIT_NPROC, _nproc_limit())


def _nproc_limit() -> tuple[int, int]:
    """RLIMIT_NPROC for the child: what the whole system runs now, plus room for this run.

    Linux counts every thread of the user against it, so a limit below the user's current
    thread count would stop even the solver's threads. The system-wide thread count (field 4
    of /proc/loadavg, "running/total") is an upper bound of the user's, read in one call.
    """
    soft, hard = resource.getrlimit(resource.RLIMIT_NPROC)
    try:
        with open("/proc/loadavg") as handle:
            total = int(handle.read().split()[3].split("/")[1])
    except (OSError, IndexError, ValueError):
        return soft, hard
    wanted = total + _NPROC_HEADROOM
    if hard != resource.RLIM_INFINITY:
        wanted = min(wanted, hard)
    if soft != resource.RLIM_INFINITY:
        wanted = min(wanted, soft)
    return wanted, hard


def _setup_kernel_layers(
    run_dir: str, readable: tuple[str, ...], layers: Mapping[str, bool]
) -> None:
    if not (layers.get("landlock") or layers.get("seccomp")):
        return
    _kernel.set_no_new_privs()
    if layers.get("landlock"):
        _kernel.apply_landlock(
            writable=[run_dir],
            readable=[*readable, f"/proc/{os.getpid()}"],
            writable_files=["/dev/null"],
        )
    if layers.get("seccomp"):
        _kernel.apply_seccomp()


def _flush() -> None:
    for stream in (sys.stdout, sys.stderr):
        with contextlib.suppress(Exception):
            stream.flush()


def _guarded_import(allowed: frozenset[str]) -> Callable[..., Any]:
    """An `__import__` for the generated code's own builtins (libraries keep the real one).

    Only code whose globals are the generated module's (its statements, its functions, and
    eval/exec smuggled into its namespace) can reach this function, so every call is checked.
    """
    real_import = builtins.__import__

    def guarded(
        name: str, globals: Any = None, locals: Any = None, fromlist: Any = (), level: int = 0
    ) -> Any:
        if level != 0 or name.split(".")[0] not in allowed:
            raise ImportError(
                f"import {name} is not allowed in generated code "
                "(see optiagent.solvers_backend.sandbox.ALLOWED_IMPORTS)",
                name=name,
            )
        return real_import(name, globals, locals, fromlist, level)

    return guarded


def _execute(
    code: str, filename: str, enforce_imports: bool, allowed: list[str] | None
) -> dict[str, Any]:
    lines = code.splitlines(keepends=True)
    linecache.cache[filename] = (len(code), None, lines, filename)
    try:
        compiled = compile(code, filename, "exec", dont_inherit=True)
    except SyntaxError as error:
        return {"kind": "done", "outcome": "syntax_error", "error": _syntax_info(error)}
    module_globals: dict[str, Any] = {"__name__": "__main__", "__file__": filename}
    if enforce_imports and allowed is not None:
        own_builtins = dict(vars(builtins))
        own_builtins["__import__"] = _guarded_import(frozenset(allowed))
        module_globals["__builtins__"] = own_builtins
    else:
        module_globals["__builtins__"] = builtins
    try:
        exec(compiled, module_globals)
    except SystemExit as stop:
        if stop.code in (None, 0):
            return {"kind": "done", "outcome": "ok"}
        info = _exception_info(stop, filename, lines)
        info["message"] = f"the code stopped itself with exit status {stop.code!r}"
        return {"kind": "done", "outcome": "error", "error": info}
    except MemoryError as error:
        _print_traceback(error)
        return {
            "kind": "done",
            "outcome": "memory_limit",
            "error": _exception_info(error, filename, lines),
        }
    except BaseException as error:  # every other failure of the generated code is a result
        _print_traceback(error)
        outcome = "blocked" if _caused_by_violation(error) else "error"
        return {
            "kind": "done",
            "outcome": outcome,
            "error": _exception_info(error, filename, lines),
        }
    return {"kind": "done", "outcome": "ok"}


def _print_traceback(error: BaseException) -> None:
    # Start at the generated code: the frame of `_execute` itself is noise for the reader.
    tb = error.__traceback__.tb_next if error.__traceback__ is not None else None
    with contextlib.suppress(Exception):
        traceback.print_exception(type(error), error, tb, file=sys.stderr)


def _caused_by_violation(error: BaseException) -> bool:
    seen: set[int] = set()
    current: BaseException | None = error
    while current is not None and id(current) not in seen:
        if isinstance(current, SandboxViolation):
            return True
        seen.add(id(current))
        current = current.__cause__ or current.__context__
    return False


def _syntax_info(error: SyntaxError) -> dict[str, Any]:
    source = (error.text or "").strip() or None
    return {
        "type": "SyntaxError",
        "message": str(error.msg),
        "line": error.lineno,
        "source": source,
    }


def _exception_info(error: BaseException, filename: str, lines: list[str]) -> dict[str, Any]:
    line: int | None = None
    for frame, lineno in traceback.walk_tb(error.__traceback__):
        if frame.f_code.co_filename == filename:
            line = lineno
    source = lines[line - 1].strip() if line and 0 < line <= len(lines) else None
    try:
        message = str(error)
    except Exception:
        message = repr(error)
    return {
        "type": type(error).__name__,
        "message": message[:_MAX_MESSAGE],
        "line": line,
        "source": source,
    }
