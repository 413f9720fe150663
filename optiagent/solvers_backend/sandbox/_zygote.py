"""The zygote: a warm, long-lived worker process that forks one confined child per run.

Started by `Sandbox` as an isolated interpreter (`python -I`, a private working folder, an
environment built from a fixed allow-list), it warms up its family's solvers, enters its
user, network and PID namespaces (the process the parent started stays behind as a relay; the
zygote proper is process 1 of the new PID namespace), probes which kernel layers work,
freezes its heap, tells the parent it is ready, then serves requests from its protocol pipe.
A request names a run folder the parent has already filled (code, data files, empty
stdout/stderr files, the report pipe): the zygote never reads or holds a run's code, data,
output or report, so nothing of one run is in the memory the next one is forked from. For
each run it forks a child (see `_child.py`) into a PID namespace of its own, watches its
pidfd, the wall clock and the sizes of its output files, SIGKILLs the child's process group
at a limit, and answers with what it observed: the wait status, the resource usage and which
limit it enforced. The parent turns that into the result (`_outcome.py`).

Before each fork and after each run it compares its own priority, CPU affinity, scheduler
and rlimits with those it started with; if anything changed it answers `harmed` and exits,
and the parent starts a fresh zygote. Standard library plus the family's solver packages.
"""

from __future__ import annotations

import contextlib
import gc
import os
import resource
import selectors
import shutil
import signal
import sys
import tempfile
import time
import traceback
from dataclasses import dataclass
from typing import Any

from optiagent.solvers_backend.sandbox import _kernel, _namespaces, _seccomp, _wire
from optiagent.solvers_backend.sandbox._child import child_main
from optiagent.solvers_backend.sandbox._warmup import warm_up
from optiagent.solvers_backend.sandbox._wire import FrameReader, encode_frame
from optiagent.solvers_backend.sandbox.policy import readable_roots
from optiagent.solvers_backend.worker_capture import neutralise_fd_capture

__all__ = ["main"]

_READ_CHUNK = 65536
_WATCH_S = 0.02  # how often the output files' sizes are checked while runs are active
_POLL_S = 0.005  # exit polling interval where the kernel has no pidfd
_RLIMITS = tuple(
    getattr(resource, name)
    for name in (
        "RLIMIT_AS",
        "RLIMIT_CPU",
        "RLIMIT_FSIZE",
        "RLIMIT_NOFILE",
        "RLIMIT_NPROC",
        "RLIMIT_DATA",
        "RLIMIT_STACK",
        "RLIMIT_CORE",
    )
    if hasattr(resource, name)
)


@dataclass
class _Run:
    id: int
    pid: int
    folder: str
    limits: dict[str, Any]
    started: float
    deadline: float
    pidfd: int | None
    killed: str | None = None


def _process_state() -> dict[str, Any]:
    """What a run must not be able to change about the zygote (compared before each fork)."""
    state: dict[str, Any] = {
        "nice": os.getpriority(os.PRIO_PROCESS, 0),
        "rlimits": [resource.getrlimit(limit) for limit in _RLIMITS],
    }
    if hasattr(os, "sched_getaffinity"):  # Linux
        state["affinity"] = sorted(os.sched_getaffinity(0))
        state["scheduler"] = os.sched_getscheduler(0)
    return state


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
        self.state: dict[str, Any] = {}
        self.audit_hook = True
        self.pid_ns_fd: int | None = None  # its own PID namespace, to return to after a fork
        self.host_pid = os.getpid()

    # --- start-up ---------------------------------------------------------------------

    def start(self, audit_hook: bool) -> None:
        started = time.perf_counter()
        self.audit_hook = audit_hook
        versions = warm_up(self.family)
        neutralise_fd_capture()
        self.readable = readable_roots()
        protections = self._probe_layers()
        protections["audit_hook"] = "on" if audit_hook else "off (testing switch)"
        gc.collect()
        gc.freeze()  # forked children do not copy the warm heap when the collector runs
        self.state = _process_state()
        self._send(
            {
                "op": "ready",
                "family": self.family,
                "pid": self.host_pid,
                "warmup_s": round(time.perf_counter() - started, 3),
                "versions": versions,
                "protections": protections,
                "baseline_vm_bytes": _vm_size(),
                "base_dir": self.base_dir,
                "threads": _thread_count(),
                "sys_path": list(sys.path),
            }
        )

    def _probe_layers(self) -> dict[str, str]:
        """Try each kernel layer once in a throwaway child; keep those that work."""
        protections = {"rlimits": "cpu, address space, file size, core, processes"}
        reasons = {
            "namespaces": self._enter_worker_namespaces(),
            "landlock": "" if _kernel.landlock_abi() > 0 else "this kernel has no Landlock",
            "seccomp": "" if _seccomp.seccomp_supported() else "no tested filter for this machine",
        }
        for layer, reason in reasons.items():
            if not reason:
                ok, text = self._probe(layer)
                reason = "" if ok else text
            self.layers[layer] = not reason
            protections[layer] = text if not reason else f"unavailable: {reason}"
        return protections

    def _probe(self, layer: str) -> tuple[bool, str]:
        read_end, write_end = os.pipe()
        probe_dir = tempfile.mkdtemp(dir=self.base_dir)
        work_dir = os.path.join(probe_dir, _wire.RUN_WORK)
        os.mkdir(work_dir, 0o700)
        pid = self._fork(new_pid_namespace=layer == "namespaces")
        if pid == 0:  # pragma: no cover - runs in the forked probe
            text, code = "", 0
            try:
                text, code = _probe_in_child(layer, work_dir, self.base_dir, self.readable)
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

    def _enter_worker_namespaces(self) -> str:
        """Enter the worker's user, network and PID namespaces, this process staying behind as
        a relay of the worker proper (process 1 there); return why not, or ''."""
        if not sys.platform.startswith("linux"):
            return "not Linux"
        try:
            _namespaces.enter_worker_namespaces()
        except OSError as error:
            return f"no user namespaces here ({error.strerror or error})"
        pid = os.fork()
        if pid != 0:  # the relay: it holds no descriptor, so the parent sees the worker's
            os.closerange(0, resource.getrlimit(resource.RLIMIT_NOFILE)[0])
            _namespaces.relay_exit(pid)
        _kernel.set_parent_death_signal(signal.SIGKILL)
        self.pid_ns_fd = _namespaces.open_pid_namespace()
        with contextlib.suppress(OSError, ValueError):  # /proc is the host's: its pid there
            self.host_pid = int(os.readlink("/proc/self"))
        return ""

    def _fork(self, *, new_pid_namespace: bool) -> int:
        """Fork; with `new_pid_namespace` the child is process 1 of a PID namespace of its own."""
        if not new_pid_namespace or self.pid_ns_fd is None:
            return os.fork()
        _namespaces.next_child_in_new_pid_namespace()
        try:
            pid = os.fork()
        except BaseException:
            _namespaces.restore_pid_namespace(self.pid_ns_fd)
            raise
        if pid != 0:  # the next fork goes to this namespace again, unless asked otherwise
            _namespaces.restore_pid_namespace(self.pid_ns_fd)
        return pid

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
            for key, _ in self.selector.select(self._next_timeout()):
                kind, run = key.data
                if kind == "proto":
                    if not self._read_requests():
                        self._shutdown()
                        return
                else:
                    self._finish(run)
            self._check_limits()
            self._poll_exits()

    def _next_timeout(self) -> float | None:
        if not self.runs:
            return None
        now = time.monotonic()
        timeout = max(0.0, min(run.deadline for run in self.runs.values()) - now)
        timeout = min(timeout, _WATCH_S)
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
                self._check_unharmed(int(message.get("id", -1)))
                try:
                    self._start_run(message)
                except Exception as error:  # a run that cannot start is a result, not a crash
                    self._send(
                        {"op": "failed", "id": message.get("id", -1), "message": repr(error)}
                    )
            elif message.get("op") == "shutdown":
                return False
        return True

    def _check_unharmed(self, run_id: int) -> None:
        """Exit (after telling the parent) if a run changed this process's priority or limits."""
        now = _process_state()
        changed = [key for key, value in now.items() if self.state.get(key) != value]
        if not changed:
            return
        self._send({"op": "harmed", "id": run_id, "changed": changed})
        self._shutdown()
        os._exit(3)

    # --- runs ---------------------------------------------------------------------------

    def _start_run(self, request: dict[str, Any]) -> None:
        folder = str(request["folder"])
        if os.path.dirname(os.path.realpath(folder)) != os.path.realpath(self.base_dir):
            raise ValueError("the run folder is not inside this worker's folder")
        request["audit_hook"] = self.audit_hook
        pid = self._fork(new_pid_namespace=bool(self.layers.get("namespaces")))
        if pid == 0:  # pragma: no cover - the child never returns
            try:
                # Nothing in the child names another run: the table goes before any run code.
                self.runs.clear()
                self.frames = FrameReader()
                child_main(
                    request=request,
                    zygote_pid=self.host_pid,
                    runs_dir=self.base_dir,
                    readable=self.readable,
                    layers=self.layers,
                )
            finally:
                os._exit(_wire.EXIT_SETUP_FAILED)
        started = time.monotonic()
        pidfd = None
        if hasattr(os, "pidfd_open"):
            with contextlib.suppress(OSError):
                pidfd = os.pidfd_open(pid)
        limits = request["limits"]
        run = _Run(
            id=int(request["id"]),
            pid=pid,
            folder=folder,
            limits=limits,
            started=started,
            deadline=started + float(limits["wall_seconds"]),
            pidfd=pidfd,
        )
        if pidfd is not None:
            self.selector.register(pidfd, selectors.EVENT_READ, ("exit", run))
        self.runs[run.id] = run
        self._send({"op": "started", "id": run.id})

    def _output_size(self, run: _Run) -> int:
        total = 0
        for name in (_wire.RUN_STDOUT, _wire.RUN_STDERR):
            with contextlib.suppress(OSError):
                total += os.stat(os.path.join(run.folder, name)).st_size
        return total

    def _kill(self, run: _Run, reason: str) -> None:
        if run.killed is None:
            run.killed = reason
        for kill in (os.killpg, os.kill):  # the group, and the child itself if setsid failed
            with contextlib.suppress(OSError):
                kill(run.pid, signal.SIGKILL)

    def _check_limits(self) -> None:
        now = time.monotonic()
        for run in list(self.runs.values()):
            if run.killed is not None:
                continue
            if now >= run.deadline:
                self._kill(run, "timeout")
            elif self._output_size(run) > int(run.limits["output_bytes"]):
                self._kill(run, "output_limit")

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
        with contextlib.suppress(OSError):  # anything the child left behind in its group
            os.killpg(run.pid, signal.SIGKILL)
        if run.pidfd is not None:
            self.selector.unregister(run.pidfd)
            os.close(run.pidfd)
        del self.runs[run.id]
        if run.killed is None and self._output_size(run) > int(run.limits["output_bytes"]):
            run.killed = "output_limit"  # written between two checks, then exited
        self._send(
            {
                "op": "result",
                "id": run.id,
                "status": status,
                "killed": run.killed,
                "wall_time_s": elapsed,
                "cpu_time_s": float(rusage.ru_utime + rusage.ru_stime),
                "max_rss_bytes": int(rusage.ru_maxrss) * 1024,
            }
        )
        self._check_unharmed(-1)

    def _shutdown(self) -> None:
        for run in list(self.runs.values()):
            self._kill(run, "crashed")
        for run in list(self.runs.values()):
            with contextlib.suppress(ChildProcessError):
                os.waitpid(run.pid, 0)


def _probe_in_child(
    layer: str, work_dir: str, base_dir: str, readable: tuple[str, ...]
) -> tuple[str, int]:  # pragma: no cover - runs in the forked probe
    if layer == "namespaces":  # the same steps as a run's, in a PID namespace of its own
        _namespaces.enter_run_namespaces()
        _namespaces.confine_mounts(work_dir, base_dir, readable)
        _namespaces.enter_run_user_namespace()
        _namespaces.drop_capabilities()
        try:  # the folder of runs must now be out of reach (read-only and empty)
            os.mkdir(os.path.join(base_dir, "probe"))
        except OSError:
            if os.getpid() == 1:
                return "user, PID, mount and IPC namespaces per run, network per worker", 0
        return "mounts could not be confined in the new namespaces", 1
    _kernel.set_no_new_privs()
    if layer == "landlock":
        text = _kernel.apply_landlock(
            writable=[work_dir], readable=readable, writable_files=["/dev/null"]
        )
        return text, 0
    return _seccomp.apply_seccomp(), 0


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


def main(family: str, base_dir: str, audit_hook: bool = True) -> None:
    """Run a zygote for `family` on this process's stdin/stdout (called by the bootstrap).

    `base_dir` is an existing private folder; the parent creates each run's folder in it.
    `audit_hook=False` is the testing switch that runs the code without the audit hook.
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
        zygote.start(audit_hook)
    except BaseException as error:  # tell the parent why, then stop
        zygote._send({"op": "fatal", "message": "".join(traceback.format_exception(error))[-4000:]})
        os._exit(1)
    zygote.serve()
    os._exit(0)
