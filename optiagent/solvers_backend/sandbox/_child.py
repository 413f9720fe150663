"""The forked child of a zygote: confine itself, run the generated code, exit with its outcome.

Runs in a freshly forked copy of a warm zygote, as process 1 of a PID namespace of its own
(the zygote made it so). The zygote never held this run's code or data: the parent wrote them
into the run's folder, and the child reads them after the fork. Order matters: new session,
parent-death signal, descriptors (stdout and stderr are files in the run's folder, fd 3 the
report pipe), the code, then the mount and IPC namespaces, the confined mounts, a user
namespace of its own, the working directory and environment, rlimits, Landlock, dropped
capabilities, seccomp, and last the audit hook, which refuses the ctypes calls the kernel
layers are made of. The process ends with `os._exit`, its status chosen
from `_wire.EXIT_*`; the report lines on fd 3 only describe. Standard library only.
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

from optiagent.solvers_backend.sandbox import _kernel, _namespaces, _seccomp, _wire
from optiagent.solvers_backend.sandbox._audit import SandboxViolation, install_audit_hook

__all__ = ["child_main"]

_REPORT_FD = 3
_MAX_MESSAGE = 2000
_NPROC_HEADROOM = 256  # threads a run may add (CP-SAT workers, BLAS) beyond what exists now
_NPROC_IN_NAMESPACE = 512  # counted per user namespace: only this run's threads


def child_main(
    *,
    request: Mapping[str, Any],
    zygote_pid: int,
    runs_dir: str,
    readable: tuple[str, ...],
    layers: Mapping[str, bool],
) -> NoReturn:
    """Set up the confinement, run the code from the run's folder, and exit with its outcome."""
    folder = str(request["folder"])
    work_dir = os.path.join(folder, _wire.RUN_WORK)
    namespaced = bool(layers.get("namespaces"))
    try:
        _setup_process(folder, zygote_pid)
        with open(os.path.join(folder, _wire.RUN_CODE), encoding="utf-8") as handle:
            code = handle.read()
        if namespaced:  # this process is already process 1 of its own PID namespace
            _namespaces.enter_run_namespaces()
            _namespaces.confine_mounts(work_dir, runs_dir, readable)
            _namespaces.enter_run_user_namespace()
        _setup_directory(work_dir)
        _setup_limits(request["limits"], namespaced)
        _setup_kernel_layers(work_dir, readable, layers, namespaced)
        if request.get("audit_hook", True):
            install_audit_hook(
                run_dir=work_dir,
                readable_roots=readable,
                report_fd=_REPORT_FD,
                own_pid=os.getpid(),
            )
    except BaseException as error:  # the sandbox itself failed: say so, never run the code
        _report({"kind": "setup_failed", "message": repr(error)[:_MAX_MESSAGE]})
        os._exit(_wire.EXIT_SETUP_FAILED)
    status, outcome = _execute(
        code,
        request.get("filename") or "<generated>",
        bool(request.get("enforce_imports", True)),
        request.get("allowed_imports"),
    )
    _flush()
    if outcome is not None:
        _report(outcome)
    os._exit(status)


def _report(message: Mapping[str, Any]) -> None:
    # A leading newline ends any partial line the program may have written to fd 3 itself.
    data = ("\n" + json.dumps(message) + "\n").encode()
    try:
        while data:
            written = os.write(_REPORT_FD, data)
            data = data[written:]
    except OSError:
        pass


def _setup_process(folder: str, zygote_pid: int) -> None:
    os.setsid()
    for number in (signal.SIGINT, signal.SIGTERM, signal.SIGPIPE, signal.SIGCHLD):
        signal.signal(number, signal.SIG_DFL)
    if sys.platform.startswith("linux"):
        _kernel.set_parent_death_signal(signal.SIGKILL)
    if _parent_pid() != zygote_pid:  # the zygote died between fork and here
        os._exit(_wire.EXIT_ORPHANED)
    # The descriptors 0-3 are opened here, after the fork: the zygote never holds them.
    flags = os.O_WRONLY | os.O_CLOEXEC
    targets = (
        (os.devnull, os.O_RDONLY),
        (os.path.join(folder, _wire.RUN_STDOUT), flags | os.O_APPEND),
        (os.path.join(folder, _wire.RUN_STDERR), flags | os.O_APPEND),
        (os.path.join(folder, _wire.RUN_REPORT), flags | os.O_NONBLOCK),  # the parent reads
    )
    opened = [os.open(path, mode) for path, mode in targets]
    for number, fd in enumerate(opened):
        os.dup2(fd, number)  # dup2 clears close-on-exec on the copy
    # Non-blocking: a program that fills the pipe itself loses later report lines (the kernel
    # layers decide the outcome) but can never make the sandbox code hang on a write.
    # Everything else the zygote holds (its protocol pipes, pidfds) goes.
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


def _parent_pid() -> int:
    """The parent's process id as the host sees it (getppid() is 0 in a new PID namespace);
    /proc is still the host's here, before the mounts are confined."""
    try:
        with open("/proc/self/stat") as handle:
            return int(handle.read().rsplit(")", 1)[1].split()[1])
    except (OSError, IndexError, ValueError):
        return os.getppid()


def _setup_directory(run_dir: str) -> None:
    os.chdir(run_dir)
    for name in ("HOME", "TMPDIR", "TMP", "TEMP", "PWD"):
        os.environ[name] = run_dir
    tempfile.tempdir = run_dir
    os.umask(0o077)


def _setup_limits(limits: Mapping[str, float], namespaced: bool) -> None:
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
    if namespaced:
        # In its own user namespace the run's threads are counted apart from everyone else's,
        # and the kernel applies the limit even to a uid that is root outside.
        resource.setrlimit(resource.RLIMIT_NPROC, (_NPROC_IN_NAMESPACE, _NPROC_IN_NAMESPACE))
    elif os.geteuid() != 0:
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
    run_dir: str, readable: tuple[str, ...], layers: Mapping[str, bool], namespaced: bool
) -> None:
    if namespaced:
        _namespaces.drop_capabilities()
    if not (layers.get("landlock") or layers.get("seccomp")):
        return
    _kernel.set_no_new_privs()
    if layers.get("landlock"):
        own_proc = "/proc" if namespaced else f"/proc/{os.getpid()}"  # a fresh /proc: only ours
        _kernel.apply_landlock(
            writable=[run_dir], readable=[*readable, own_proc], writable_files=["/dev/null"]
        )
    if layers.get("seccomp"):
        _seccomp.apply_seccomp()


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
) -> tuple[int, dict[str, Any] | None]:
    """Run the code; return the exit status and the description of its error, if any."""
    lines = code.splitlines(keepends=True)
    linecache.cache[filename] = (len(code), None, lines, filename)
    try:
        compiled = compile(code, filename, "exec", dont_inherit=True)
    except SyntaxError as error:
        return _wire.EXIT_SYNTAX_ERROR, {"kind": "done", "error": _syntax_info(error)}
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
            return _wire.EXIT_OK, None
        info = _exception_info(stop, filename, lines)
        info["message"] = f"the code stopped itself with exit status {stop.code!r}"
        return _wire.EXIT_ERROR, {"kind": "done", "error": info}
    except MemoryError as error:
        _print_traceback(error)
        info = _exception_info(error, filename, lines)
        return _wire.EXIT_MEMORY_LIMIT, {"kind": "done", "error": info}
    except BaseException as error:  # every other failure of the generated code is a result
        _print_traceback(error)
        status = _wire.EXIT_BLOCKED if _caused_by_violation(error) else _wire.EXIT_ERROR
        return status, {"kind": "done", "error": _exception_info(error, filename, lines)}
    return _wire.EXIT_OK, None


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
