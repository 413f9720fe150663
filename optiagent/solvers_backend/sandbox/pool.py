"""`Sandbox`: warm worker processes (one zygote per solver family) that run generated code.

    with Sandbox() as sandbox:
        result = sandbox.run(code)          # family picked from the imports
        print(result.exit_reason, result.reported.objective, result.feedback())

Each family ('pyomo': Pyomo + HiGHS + SCIP; 'ortools': CP-SAT and pywraplp) has one long-lived
zygote process, started as an isolated interpreter with a fixed environment and warmed up once
(see `_worker.py`); every run is a child forked from it, confined by the kernel (see the package
docstring), so a small script costs tens of milliseconds instead of the ~0.5 s of a cold
interpreter. Code importing `ortools` goes to the OR-Tools zygote
(HiGHS and OR-Tools bundle clashing copies of libhighs; see docs/STACK.md).

Thread safety and parallelism: `run` may be called from any number of threads, and `arun`
from any number of asyncio tasks (it runs `run` in a worker thread). At most `max_parallel`
runs execute at once across all families (a semaphore; the default is the number of CPUs);
the others wait their turn, and their wall-clock limit starts when they start.

Recovery: if a zygote dies (killed, out of memory) the run in flight returns `crashed` and the
next run starts a new zygote; if a zygote stops answering for `wall_seconds` + 30 s it is
killed and replaced the same way. A zygote found harmed (its priority, affinity, scheduler or
rlimits changed) or a run that failed at set-up replaces the zygote, and the run, of which
nothing ran yet, is retried once on the fresh one.
"""

from __future__ import annotations

import asyncio
import os
import sys
import threading
import time
import weakref
from collections.abc import Iterable, Mapping
from concurrent.futures import TimeoutError as FutureTimeout
from typing import Any

from optiagent.exceptions import CodeExecutionError, ConfigurationError
from optiagent.solvers_backend.sandbox._outcome import read_report, verdict
from optiagent.solvers_backend.sandbox._worker import RunFolder, Worker, WorkerDied
from optiagent.solvers_backend.sandbox.checks import ALLOWED_IMPORTS, check_code, detect_family
from optiagent.solvers_backend.sandbox.results import (
    ExecutionError,
    ExecutionResult,
    ExitReason,
    Limits,
)

__all__ = ["FAMILY_NAMES", "Sandbox", "rejected_result"]

FAMILY_NAMES: tuple[str, ...] = ("pyomo", "ortools")
"""The worker families: 'pyomo' (Pyomo, HiGHS, SCIP) and 'ortools' (CP-SAT, pywraplp)."""

_GRACE_S = 30.0  # beyond wall_seconds before a silent zygote is declared dead
_HOOK_SWITCH = "OPTIAGENT_SANDBOX_AUDIT_HOOK"  # "off": the testing switch (see Sandbox)


def _close_all(workers: dict[str, Worker | None]) -> None:
    for family, worker in list(workers.items()):
        workers[family] = None
        if worker is not None:
            worker.close()


def rejected_result(
    issues: Iterable[object], *, family: str = "", limits: Limits | None = None
) -> ExecutionResult:
    """The result for code the static check refused (a syntax error or disallowed parts)."""
    found = list(issues)
    first = found[0] if found else None
    kind = getattr(first, "kind", None)
    error = None
    if first is not None:
        error = ExecutionError(
            type="SyntaxError" if kind == "syntax" else "Rejected",
            message=str(getattr(first, "message", first)),
            line=getattr(first, "line", None),
            source=getattr(first, "source", None),
        )
    return ExecutionResult(
        exit_reason=ExitReason.SYNTAX_ERROR if kind == "syntax" else ExitReason.REJECTED,
        error=error,
        issues=tuple(str(issue) for issue in found),
        family=family,
        limits=limits or Limits(),
    )


class Sandbox:
    """A pool of warm, confined worker processes that run generated Pyomo / OR-Tools code."""

    def __init__(
        self,
        *,
        limits: Limits | None = None,
        max_parallel: int | None = None,
        families: Iterable[str] = FAMILY_NAMES,
        python: str | None = None,
        startup_timeout: float = 120.0,
        prestart: bool = True,
    ) -> None:
        self.limits = limits or Limits()
        self.families = tuple(families)
        unknown = [family for family in self.families if family not in FAMILY_NAMES]
        if unknown:
            raise ConfigurationError(
                f"unknown sandbox families {unknown}: choose from {list(FAMILY_NAMES)}"
            )
        self.max_parallel = max_parallel or os.cpu_count() or 2
        if self.max_parallel < 1:
            raise ConfigurationError("max_parallel must be at least 1")
        self._python = python or sys.executable
        self._startup_timeout = startup_timeout
        # Testing switch: OPTIAGENT_SANDBOX_AUDIT_HOOK=off when the Sandbox is created runs the
        # code without the audit hook, to check that every guarantee holds on the kernel alone.
        self._audit_hook = os.environ.get(_HOOK_SWITCH, "on").strip().lower() != "off"
        self._slots = threading.BoundedSemaphore(self.max_parallel)
        self._workers: dict[str, Worker | None] = dict.fromkeys(self.families)
        self._start_locks = {family: threading.Lock() for family in self.families}
        self._closed = False
        self._finalizer = weakref.finalize(self, _close_all, self._workers)
        if prestart:  # start warming up now, in parallel; the first run waits for it
            for family in self.families:
                self._workers[family] = Worker(family, self._python, self._audit_hook)

    # --- lifecycle ----------------------------------------------------------------------

    def __enter__(self) -> Sandbox:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def close(self) -> None:
        """Stop every worker (running code is killed); the sandbox cannot be used afterwards."""
        self._closed = True
        self._finalizer()

    def worker_info(self, family: str = "pyomo") -> dict[str, Any]:
        """Start `family`'s worker if needed and return what it reported when ready.

        Keys: pid, warmup_s, versions, protections (layer -> description, or
        "unavailable: why"), baseline_vm_bytes, threads, base_dir (the folder of its runs).
        """
        return self._ready_worker(family).wait_ready(self._startup_timeout)

    def worker_pid(self, family: str = "pyomo") -> int:
        """The process id of `family`'s zygote (starting it if needed)."""
        return self._ready_worker(family).pid

    def _ready_worker(self, family: str) -> Worker:
        if self._closed:
            raise CodeExecutionError("this Sandbox is closed: create a new one")
        if family not in self._start_locks:
            raise ConfigurationError(
                f"this Sandbox has no {family!r} worker: it was created with families="
                f"{list(self.families)}"
            )
        with self._start_locks[family]:
            worker = self._workers.get(family)
            if worker is None or not worker.alive:
                if worker is not None:
                    worker.kill()
                worker = Worker(family, self._python, self._audit_hook)
                self._workers[family] = worker
        worker.wait_ready(self._startup_timeout)
        return worker

    def _discard(self, family: str, worker: Worker) -> None:
        with self._start_locks[family]:
            worker.kill()
            if self._workers.get(family) is worker:
                self._workers[family] = None

    def _retire(self, family: str, worker: Worker, limits: Limits) -> None:
        """Take `worker` out of service: new runs go to a fresh one, and this one is closed
        once the runs it still has end (a run cannot kill its neighbours by faking a failed
        set-up), or at their deadline."""
        retired = f"{family} (retired {worker.pid})"  # still closed by close() meanwhile
        with self._start_locks[family]:
            if self._workers.get(family) is worker:
                self._workers[family] = None
            self._workers[retired] = worker
        deadline = time.monotonic() + limits.wall_seconds + _GRACE_S

        def close_when_idle() -> None:
            while worker.busy and time.monotonic() < deadline:
                time.sleep(0.05)
            if self._workers.pop(retired, None) is not None:
                worker.close()

        threading.Thread(
            target=close_when_idle, name="optiagent-sandbox-retire", daemon=True
        ).start()

    # --- running code ---------------------------------------------------------------------

    def run(
        self,
        code: str,
        *,
        limits: Limits | None = None,
        family: str | None = None,
        filename: str = "<generated>",
        files: Mapping[str, str | bytes] | None = None,
        check: bool = True,
    ) -> ExecutionResult:
        """Run `code` in a warm, confined worker and return what happened (never raises for
        anything the code does; raises CodeExecutionError only if the sandbox cannot start).

        `family` defaults to `detect_family(code)`. `files` (name -> content) are written into
        the run's directory first, for code that reads data files by relative name.
        `check=False` skips the static check and the import allow-list (the audit hook, the
        kernel layers and the limits still apply): for trusted scripts only.
        """
        limits = limits or self.limits
        chosen = family or detect_family(code)
        if check:
            issues = check_code(code)
            if issues:
                return rejected_result(issues, family=chosen, limits=limits)
        request = {
            "op": "run",
            "filename": filename,
            "limits": limits.to_dict(),
            "enforce_imports": check,
            "allowed_imports": sorted(ALLOWED_IMPORTS),
        }
        data = _checked_files(files)
        with self._slots:
            return self._run_in_worker(chosen, request, code, data, limits)

    async def arun(
        self,
        code: str,
        *,
        limits: Limits | None = None,
        family: str | None = None,
        filename: str = "<generated>",
        files: Mapping[str, str | bytes] | None = None,
        check: bool = True,
    ) -> ExecutionResult:
        """`run` for asyncio code: awaits the result without blocking the event loop."""
        return await asyncio.to_thread(
            self.run, code, limits=limits, family=family, filename=filename, files=files,
            check=check,
        )  # fmt: skip

    def _run_in_worker(
        self,
        family: str,
        request: dict[str, Any],
        code: str,
        files: Mapping[str, bytes],
        limits: Limits,
    ) -> ExecutionResult:
        # A run that did not start (dead or harmed worker, failed set-up before the code ran)
        # is retried once on a fresh worker: nothing of it ran, so it cannot run twice.
        for attempt in range(2):
            worker = self._ready_worker(family)
            folder = RunFolder.create(worker.base_dir, code, files)
            try:
                result = self._attempt(
                    worker, family, {**request, "folder": folder.path}, folder, limits,
                    may_retry=attempt == 0,
                )  # fmt: skip
            finally:
                folder.remove()
            if result is not None:
                return result
        raise CodeExecutionError(f"the {family} sandbox worker keeps dying at start-up")

    def _attempt(
        self, worker: Worker, family: str, request: dict[str, Any], folder: RunFolder,
        limits: Limits, *, may_retry: bool,
    ) -> ExecutionResult | None:  # fmt: skip
        """One try on `worker`: the result, or None if the run never started (retry it)."""
        try:
            _, future = worker.submit(request)
        except WorkerDied:
            self._discard(family, worker)
            return None
        try:
            message = future.result(timeout=limits.wall_seconds + _GRACE_S)
        except WorkerDied as died:
            self._discard(family, worker)
            if not died.started:
                return None  # the worker died before forking the run: nothing ran yet
            return _worker_failure(
                family, limits, "the sandbox worker process died while running the code "
                "(killed from outside, or the machine ran out of memory); it has been "
                "restarted: run the code again",
            )  # fmt: skip
        except FutureTimeout:
            self._discard(family, worker)
            return _worker_failure(
                family, limits, "the sandbox worker stopped answering and was restarted; "
                "run the code again",
            )  # fmt: skip
        if message.get("op") in ("harmed", "failed"):
            self._retire(family, worker, limits)  # it could not fork this run: a fresh one will
            if may_retry:
                return None
            return _worker_failure(family, limits, "the sandbox could not start the run twice")
        result = verdict(message, folder.path, read_report(folder.report_fd), family, limits)
        if result.error is not None and result.error.type == "SandboxSetupError":
            # The code never ran (or the program faked it): a fresh worker takes the next runs,
            # this one ends once its other runs have ended, and the run is retried once.
            self._retire(family, worker, limits)
            return None if may_retry else result
        return result


def _checked_files(files: Mapping[str, str | bytes] | None) -> dict[str, bytes]:
    checked: dict[str, bytes] = {}
    for name, content in (files or {}).items():
        if not name or name in (".", "..") or "/" in name or "\\" in name or "\0" in name:
            raise ConfigurationError(
                f"sandbox file name {name!r} must be a plain file name (no folders)"
            )
        checked[name] = content.encode("utf-8") if isinstance(content, str) else bytes(content)
    return checked


def _worker_failure(family: str, limits: Limits, message: str) -> ExecutionResult:
    return ExecutionResult(
        exit_reason=ExitReason.CRASHED,
        error=ExecutionError(type="WorkerDied", message=message),
        family=family,
        limits=limits,
    )
