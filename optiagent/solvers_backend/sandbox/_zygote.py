"""The zygote: a warm, long-lived worker process that forks one confined child per run.

Started by `Sandbox` as a fresh interpreter with a scrubbed environment (it is never forked
from the caller, so no secret of the caller is in its memory either). It warms up its family's
solvers, probes which kernel layers work, freezes its heap, tells the parent it is ready, then
serves requests from stdin: for each run it creates a fresh directory, forks a child (see
`_child.py`), and watches the child's stdout, stderr and report pipes and its pidfd in one
event loop, enforcing the wall-clock and output limits with SIGKILL on the child's process
group. It answers on stdout with one framed result per run, and exits (killing its children)
when stdin closes. Standard library plus the family's solver packages only.
"""

from __future__ import annotations

import contextlib
import gc
import json
import os
import selectors
import shutil
import signal
import sys
import tempfile
import time
import traceback
from dataclasses import dataclass, field
from typing import Any

from optiagent.solvers_backend.sandbox import _kernel
from optiagent.solvers_backend.sandbox._child import child_main
from optiagent.solvers_backend.sandbox._warmup import warm_up
from optiagent.solvers_backend.sandbox._wire import FrameReader, encode_frame
from optiagent.solvers_backend.sandbox.policy import readable_roots

__all__ = ["main"]

_READ_CHUNK = 65536
_MAX_REPORT = 256 * 1024
_POLL_S = 0.005  # exit polling interval where the kernel has no pidfd


@dataclass
class _Run:
    id: int
    pid: int
    run_dir: str
    limits: dict[str, Any]
    started: float
    deadline: float
    fds: dict[str, int]
    pidfd: int | None
    stdout: bytearray = field(default_factory=bytearray)
    stderr: bytearray = field(default_factory=bytearray)
    report: bytearray = field(default_factory=bytearray)
    output_total: int = 0
    killed: str | None = None
    truncated: bool = False


class _Zygote:
    def __init__(self, family: str, proto_in: int, proto_out: int, base_dir: str) -> None:
        self.family = family
        self.proto_in = proto_in
        self.proto_out = proto_out
        self.frames = FrameReader()
        self.selector = selectors.DefaultSelector()
        self.runs: dict[int, _Run] = {}
        self.readable: tuple[str, ...] = ()
        self.layers: dict[str, bool] = {}
        self.base_dir = base_dir  # created (and removed, if this process is killed) by the parent

    # --- start-up ---------------------------------------------------------------------

    def start(self) -> None:
        started = time.perf_counter()
        versions = warm_up(self.family)
        self.readable = readable_roots()
        protections = self._probe_layers()
        gc.collect()
        gc.freeze()  # forked children do not copy the warm heap when the collector runs
        self._send(
            {
                "op": "ready",
                "family": self.family,
                "pid": os.getpid(),
                "warmup_s": round(time.perf_counter() - started, 3),
                "versions": versions,
                "protections": protections,
                "baseline_vm_bytes": _vm_size(),
                "base_dir": self.base_dir,
                "threads": _thread_count(),
            }
        )

    def _probe_layers(self) -> dict[str, str]:
        """Try the kernel layers once in a throwaway child; keep those that work."""
        protections = {"audit_hook": "on", "rlimits": "cpu, address space, file size, core"}
        wanted = {
            "landlock": _kernel.landlock_abi() > 0,
            "seccomp": _kernel.seccomp_supported(),
        }
        for layer, available in wanted.items():
            if not available:
                self.layers[layer] = False
                protections[layer] = (
                    "unavailable: this kernel has no Landlock"
                    if layer == "landlock"
                    else "unavailable: no tested filter for this machine"
                )
                continue
            ok, text = self._probe(layer)
            self.layers[layer] = ok
            protections[layer] = text if ok else f"unavailable: {text}"
        return protections

    def _probe(self, layer: str) -> tuple[bool, str]:
        read_end, write_end = os.pipe()
        probe_dir = tempfile.mkdtemp(dir=self.base_dir)
        pid = os.fork()
        if pid == 0:  # pragma: no cover - runs in the forked probe
            text = ""
            code = 0
            try:
                _kernel.set_no_new_privs()
                if layer == "landlock":
                    text = _kernel.apply_landlock(
                        writable=[probe_dir], readable=self.readable, writable_files=["/dev/null"]
                    )
                else:
                    text = _kernel.apply_seccomp()
            except BaseException as error:
                text, code = repr(error), 1
            os.write(write_end, text.encode()[:4000])
            os._exit(code)
        os.close(write_end)
        _, status = os.waitpid(pid, 0)
        text = os.read(read_end, 4096).decode(errors="replace")
        os.close(read_end)
        shutil.rmtree(probe_dir, ignore_errors=True)
        return os.WIFEXITED(status) and os.WEXITSTATUS(status) == 0, text

    # --- protocol ---------------------------------------------------------------------

    def _send(self, message: dict[str, Any]) -> None:
        data = encode_frame(message)
        view = memoryview(data)
        while view:
            written = os.write(self.proto_out, view)
            view = view[written:]

    def serve(self) -> None:
        os.set_blocking(self.proto_in, False)
        self.selector.register(self.proto_in, selectors.EVENT_READ, ("proto", None))
        while True:
            timeout = self._next_timeout()
            for key, _ in self.selector.select(timeout):
                kind, run = key.data
                if kind == "proto":
                    if not self._read_requests():
                        self._shutdown()
                        return
                elif kind == "exit":
                    self._finish(run)
                else:
                    self._read_pipe(run, kind)
            self._check_deadlines()
            self._poll_exits()

    def _next_timeout(self) -> float | None:
        if not self.runs:
            return None
        now = time.monotonic()
        timeout = max(0.0, min(run.deadline for run in self.runs.values()) - now)
        if any(run.pidfd is None for run in self.runs.values()):
            timeout = min(timeout, _POLL_S)
        return timeout

    def _read_requests(self) -> bool:
        try:
            data = os.read(self.proto_in, _READ_CHUNK)
        except BlockingIOError:
            return True
        if not data:
            return False
        for message in self.frames.feed(data):
            if message.get("op") == "run":
                try:
                    self._start_run(message)
                except Exception as error:  # a run that cannot start is a result, not a crash
                    self._send(_internal_failure(message.get("id", -1), error))
            elif message.get("op") == "shutdown":
                return False
        return True

    # --- runs ---------------------------------------------------------------------------

    def _start_run(self, request: dict[str, Any]) -> None:
        run_dir = tempfile.mkdtemp(prefix="run-", dir=self.base_dir)
        fds: list[int] = []
        try:
            for name, text in (request.get("files") or {}).items():
                safe = os.path.basename(name)
                with open(os.path.join(run_dir, safe), "wb") as handle:
                    handle.write(text.encode("latin-1") if isinstance(text, str) else bytes(text))
            for _ in range(3):
                fds.extend(os.pipe())
            zygote_pid = os.getpid()
            pid = os.fork()
        except BaseException:  # no child: release what this run took, then report it
            for fd in fds:
                os.close(fd)
            shutil.rmtree(run_dir, ignore_errors=True)
            raise
        out_r, out_w, err_r, err_w, rep_r, rep_w = fds
        limits = request["limits"]
        if pid == 0:  # pragma: no cover - the child never returns
            try:
                child_main(
                    request=request,
                    run_dir=run_dir,
                    stdout_fd=out_w,
                    stderr_fd=err_w,
                    report_fd=rep_w,
                    zygote_pid=zygote_pid,
                    readable=self.readable,
                    layers=self.layers,
                )
            finally:
                os._exit(70)
        for fd in (out_w, err_w, rep_w):
            os.close(fd)
        started = time.monotonic()
        pidfd = None
        if hasattr(os, "pidfd_open"):
            try:
                pidfd = os.pidfd_open(pid)
            except OSError:
                pidfd = None
        run = _Run(
            id=int(request["id"]),
            pid=pid,
            run_dir=run_dir,
            limits=limits,
            started=started,
            deadline=started + float(limits["wall_seconds"]),
            fds={"stdout": out_r, "stderr": err_r, "report": rep_r},
            pidfd=pidfd,
        )
        for kind, fd in run.fds.items():
            os.set_blocking(fd, False)
            self.selector.register(fd, selectors.EVENT_READ, (kind, run))
        if pidfd is not None:
            self.selector.register(pidfd, selectors.EVENT_READ, ("exit", run))
        self.runs[run.id] = run
        self._send({"op": "started", "id": run.id})

    def _read_pipe(self, run: _Run, kind: str) -> None:
        fd = run.fds.get(kind)
        if fd is None:
            return
        try:
            data = os.read(fd, _READ_CHUNK)
        except BlockingIOError:
            return
        if not data:
            self.selector.unregister(fd)
            os.close(fd)
            del run.fds[kind]
            return
        self._store(run, kind, data)

    def _store(self, run: _Run, kind: str, data: bytes) -> None:
        if kind == "report":
            if len(run.report) < _MAX_REPORT:
                run.report += data[: _MAX_REPORT - len(run.report)]
            return
        cap = int(run.limits["output_bytes"])
        room = max(0, cap - run.output_total)
        buffer = run.stdout if kind == "stdout" else run.stderr
        buffer += data[:room]
        run.output_total += len(data)
        if run.output_total > cap and not run.truncated:
            run.truncated = True
            self._kill(run, "output_limit")

    def _kill(self, run: _Run, reason: str) -> None:
        if run.killed is None:
            run.killed = reason
        for kill in (os.killpg, os.kill):  # the group, and the child itself if setsid failed
            with contextlib.suppress(OSError):
                kill(run.pid, signal.SIGKILL)

    def _check_deadlines(self) -> None:
        now = time.monotonic()
        for run in list(self.runs.values()):
            if run.killed is None and now >= run.deadline:
                self._kill(run, "timeout")

    def _poll_exits(self) -> None:
        for run in list(self.runs.values()):
            if run.pidfd is None:
                pid, status, rusage = os.wait4(run.pid, os.WNOHANG)
                if pid:
                    self._finish(run, (status, rusage))

    def _finish(self, run: _Run, reaped: tuple[int, Any] | None = None) -> None:
        if self.runs.get(run.id) is not run:
            return  # already finished earlier in the same batch of events
        status, rusage = reaped if reaped is not None else os.wait4(run.pid, 0)[1:]
        elapsed = time.monotonic() - run.started
        for kind in list(run.fds):
            self._drain(run, kind)
        with contextlib.suppress(OSError):  # anything the child left behind in its group
            os.killpg(run.pid, signal.SIGKILL)
        if run.pidfd is not None:
            self.selector.unregister(run.pidfd)
            os.close(run.pidfd)
        del self.runs[run.id]
        shutil.rmtree(run.run_dir, ignore_errors=True)
        self._send(_result_message(run, status, rusage, elapsed))

    def _drain(self, run: _Run, kind: str) -> None:
        fd = run.fds.pop(kind)
        try:
            while True:
                data = os.read(fd, _READ_CHUNK)
                if not data:
                    break
                self._store(run, kind, data)
        except BlockingIOError:
            pass  # a straggler still holds the pipe: it is killed with the group right after
        self.selector.unregister(fd)
        os.close(fd)

    def _shutdown(self) -> None:
        for run in list(self.runs.values()):
            self._kill(run, "crashed")
        for run in list(self.runs.values()):
            with contextlib.suppress(ChildProcessError):
                os.waitpid(run.pid, 0)
        shutil.rmtree(self.base_dir, ignore_errors=True)


def _result_message(run: _Run, status: int, rusage: Any, elapsed: float) -> dict[str, Any]:
    blocked: list[str] = []
    done: dict[str, Any] | None = None
    for line in bytes(run.report).decode("utf-8", errors="replace").splitlines():
        try:
            message = json.loads(line)
        except ValueError:
            continue
        if not isinstance(message, dict):
            continue
        if message.get("kind") == "blocked" and isinstance(message.get("what"), str):
            if message["what"] not in blocked:
                blocked.append(message["what"])
        elif message.get("kind") == "done":
            done = message
    signal_number = os.WTERMSIG(status) if os.WIFSIGNALED(status) else None
    exit_code = os.WEXITSTATUS(status) if os.WIFEXITED(status) else None
    cpu = float(rusage.ru_utime + rusage.ru_stime) if rusage is not None else None
    error = done.get("error") if done else None
    reason = _exit_reason(run, done, blocked, signal_number, exit_code, cpu)
    if reason == "crashed" and done and done.get("outcome") == "setup_failed":
        error = {
            "type": "SandboxSetupError",
            "message": done.get("message", ""),
            "line": None,
            "source": None,
        }
    elif reason in ("crashed", "error") and error is None:
        error = _process_error(signal_number, exit_code)
    return {
        "op": "result",
        "id": run.id,
        "exit_reason": reason,
        "stdout": bytes(run.stdout).decode("utf-8", errors="replace"),
        "stderr": bytes(run.stderr).decode("utf-8", errors="replace"),
        "error": error,
        "blocked": blocked,
        "wall_time_s": elapsed,
        "cpu_time_s": cpu,
        "max_rss_bytes": int(rusage.ru_maxrss) * 1024 if rusage is not None else None,
        "signal": signal_number,
        "output_truncated": run.truncated,
    }


def _exit_reason(
    run: _Run,
    done: dict[str, Any] | None,
    blocked: list[str],
    signal_number: int | None,
    exit_code: int | None,
    cpu: float | None,
) -> str:
    if run.killed is not None:
        return run.killed
    if done is not None:
        outcome = str(done.get("outcome"))
        if outcome == "setup_failed":
            return "crashed"
        if outcome == "memory_limit":
            return "memory_limit"
        if blocked and outcome in ("ok", "error", "blocked"):
            return "blocked"
        return outcome if outcome in ("ok", "error", "syntax_error", "blocked") else "crashed"
    cpu_limit = float(run.limits["cpu_seconds"])
    if signal_number == signal.SIGXCPU or (
        signal_number == signal.SIGKILL and cpu is not None and cpu >= cpu_limit - 0.05
    ):
        return "cpu_limit"
    if signal_number == signal.SIGXFSZ:
        return "output_limit"
    if blocked:
        return "blocked"
    if signal_number is not None:
        return "crashed"
    return "error"


def _process_error(signal_number: int | None, exit_code: int | None) -> dict[str, Any]:
    if signal_number is not None:
        try:
            name = signal.Signals(signal_number).name
        except ValueError:
            name = str(signal_number)
        message = f"the process was killed by signal {name}"
        return {"type": "Signal", "message": message, "line": None, "source": None}
    message = f"the process ended with exit status {exit_code} before the code finished"
    return {"type": "Exit", "message": message, "line": None, "source": None}


def _internal_failure(run_id: int, error: BaseException) -> dict[str, Any]:
    return {
        "op": "result",
        "id": run_id,
        "exit_reason": "crashed",
        "stdout": "",
        "stderr": "",
        "error": {"type": "SandboxError", "message": repr(error), "line": None, "source": None},
        "blocked": [],
        "wall_time_s": 0.0,
        "cpu_time_s": None,
        "max_rss_bytes": None,
        "signal": None,
        "output_truncated": False,
    }


def _vm_size() -> int | None:
    try:
        with open("/proc/self/status") as handle:
            for line in handle:
                if line.startswith("VmSize:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        return None
    return None


def _thread_count() -> int | None:
    try:
        return len(os.listdir("/proc/self/task"))
    except OSError:
        return None


def main(family: str, base_dir: str) -> None:
    """Run a zygote for `family` on this process's stdin/stdout (called by the bootstrap).

    `base_dir` is an existing private folder; each run gets a fresh folder inside it.
    """
    # The protocol moves off fds 0/1 so that nothing printed by a library corrupts it.
    proto_in = os.dup(0)
    proto_out = os.dup(1)
    devnull = os.open(os.devnull, os.O_RDWR)
    os.dup2(devnull, 0)
    os.dup2(devnull, 1)
    sys.stdout = open(os.devnull, "w")  # noqa: SIM115 -- lives as long as the process
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # the parent's Ctrl-C is for the parent
    zygote = _Zygote(family, proto_in, proto_out, base_dir)
    try:
        zygote.start()
    except BaseException as error:  # tell the parent why, then stop
        zygote._send({"op": "fatal", "message": "".join(traceback.format_exception(error))[-4000:]})
        shutil.rmtree(zygote.base_dir, ignore_errors=True)
        os._exit(1)
    zygote.serve()
    os._exit(0)
