"""Pyomo's file-descriptor capture, without the pipe that can hang a solver (issue 10).

Pyomo's `capture_output(..., capture_fd=True)` (around `scip_direct`'s `optimize()`, and in
the HiGHS and Gurobi interfaces) points fds 1 and 2 at a pipe that a Python thread drains.
`pyscipopt.Model.optimize()` holds the GIL for the whole solve, so that thread never runs:
once SCIP's log fills the pipe (64 KiB), SCIP blocks in `write()` and never reaches its own
time limit. In our worker processes (the solver pool's workers and the sandbox's; never in
the caller's process) the capture goes into an unlinked temporary file instead, which never
blocks a writer; when the capture ends, the file's text is passed on to Pyomo's own streams,
so `tee=True` still prints the log and `results.solver_log` still holds it. Standard library
plus Pyomo (the sandbox's zygote imports it).
"""

from __future__ import annotations

import contextlib
import os
import sys
import tempfile
from typing import Any

__all__ = ["neutralise_fd_capture"]

_MAX_REPLAY = 16 * 1024 * 1024  # the log passed on to Pyomo's streams; RLIMIT_FSIZE caps the file


class _FileCapture:
    """Fds 1 and 2 pointed at an unlinked temporary file, until `stop()` restores them."""

    def __init__(self) -> None:
        self._file = tempfile.TemporaryFile()  # noqa: SIM115 -- closed in stop()
        self._saved: list[int] = []

    def start(self) -> None:
        for stream in (sys.__stdout__, sys.__stderr__):
            with contextlib.suppress(Exception):
                if stream is not None:
                    stream.flush()
        self._saved = [os.dup(1), os.dup(2)]
        os.dup2(self._file.fileno(), 1)
        os.dup2(self._file.fileno(), 2)

    def stop(self) -> str:
        for fd, saved in zip((1, 2), self._saved, strict=True):
            os.dup2(saved, fd)
            os.close(saved)
        self._saved = []
        try:
            self._file.seek(0)
            data = self._file.read(_MAX_REPLAY)
        finally:
            self._file.close()
        return data.decode("utf-8", errors="replace")


def neutralise_fd_capture() -> bool:
    """Make Pyomo's fd capture write to a file instead of a pipe (in this process only).

    Returns False where Pyomo is not installed or its capture class has changed shape.
    """
    try:
        from pyomo.common import tee
    except ImportError:
        return False
    capture = tee.capture_output
    enter_impl = getattr(capture, "_enter_impl", None)
    exit_impl = getattr(capture, "_exit_impl", None)
    if enter_impl is None or exit_impl is None or getattr(capture, "_optiagent_file", False):
        return False

    def enter(self: Any) -> Any:
        wanted = bool(self.capture_fd)
        self.capture_fd = False  # Pyomo then captures sys.stdout/sys.stderr only
        result = enter_impl(self)
        self._optiagent_log = None
        if wanted:
            log = _FileCapture()
            log.start()
            self._optiagent_log = log
        return result

    def exit_(self: Any, et: Any, ev: Any, tb: Any) -> Any:
        log = getattr(self, "_optiagent_log", None)
        if log is not None:
            self._optiagent_log = None
            text = log.stop()
            if text:
                with contextlib.suppress(Exception):
                    sys.stdout.write(text)  # still Pyomo's tee: the log and the tee streams
        return exit_impl(self, et, ev, tb)

    capture._enter_impl = enter
    capture._exit_impl = exit_
    capture._optiagent_file = True
    return True
