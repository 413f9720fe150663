"""The Python audit hook installed in every sandbox child just before the generated code runs.

It refuses, at the Python level, what generated code must not do, and reports each refusal
in words the LLM can act on. It covers what CPython raises audit events for: sockets and
name resolution, subprocess / os.system / os.exec* / os.posix_spawn / os.fork / pty, signals
to other processes, ctypes (loading, calling, raw memory), writing, creating, deleting or
renaming files outside the run directory, reading files outside the readable roots, other
processes' /proc entries, resource limits, and heap introspection through `gc`.

It is best effort: native code inside allowed libraries raises no audit events, and a
Python-level hook can in principle be subverted from Python. The kernel layers (Landlock,
seccomp, rlimits; see `_kernel.py`) enforce the same policy where the kernel offers them.
This module imports only the standard library: it runs in the zygote.
"""

from __future__ import annotations

import contextlib
import json
import os
import socket
from collections.abc import Callable, Sequence
from typing import Any

__all__ = ["SandboxViolation", "install_audit_hook"]


class SandboxViolation(PermissionError):
    """Raised inside the generated code when the sandbox refuses an operation."""


_MAX_REPORTED = 20

_NETWORK_EVENTS = {
    "socket.connect",
    "socket.bind",
    "socket.sendto",
    "socket.sendmsg",
    "socket.getaddrinfo",
    "socket.gethostbyname",
    "socket.gethostbyaddr",
    "socket.getnameinfo",
    "urllib.Request",
    "http.client.connect",
    "ftplib.connect",
    "smtplib.connect",
    "poplib.connect",
    "imaplib.open",
    "nntplib.connect",
    "telnetlib.Telnet.open",
    "webbrowser.open",
}
_SPAWN_EVENTS = {
    "subprocess.Popen",
    "os.system",
    "os.exec",
    "os.posix_spawn",
    "os.spawn",
    "os.startfile",
    "os.popen",
    "pty.spawn",
}
_FORK_EVENTS = {"os.fork", "os.forkpty"}
_CTYPES_EVENTS = {
    "ctypes.dlopen",
    "ctypes.dlsym",
    "ctypes.dlsym/handle",
    "ctypes.call_function",
    "ctypes.cdata",
    "ctypes.cdata/buffer",
    "ctypes.addressof",
    "ctypes.string_at",
    "ctypes.wstring_at",
    "ctypes.set_errno",
    "ctypes.PyObj_FromPtr",
}
_GC_EVENTS = {"gc.get_objects", "gc.get_referrers", "gc.get_referents"}
_LIMIT_EVENTS = {"resource.setrlimit", "resource.prlimit"}
# event -> index of each path argument that the code would modify
_MODIFY_EVENTS: dict[str, tuple[int, ...]] = {
    "os.remove": (0,),
    "os.rmdir": (0,),
    "os.rename": (0, 1),
    "os.link": (0, 1),
    "os.symlink": (1,),
    "os.mkdir": (0,),
    "os.mkfifo": (0,),
    "os.mknod": (0,),
    "os.chmod": (0,),
    "os.chown": (0,),
    "os.chflags": (0,),
    "os.lchflags": (0,),
    "os.truncate": (0,),
    "os.utime": (0,),
    "os.setxattr": (0,),
    "os.removexattr": (0,),
    "shutil.rmtree": (0,),
    "shutil.copyfile": (1,),
    "shutil.copytree": (1,),
    "shutil.move": (0, 1),
    "shutil.chown": (0,),
}
_VERBS = {
    "os.remove": "delete",
    "os.rmdir": "delete",
    "shutil.rmtree": "delete",
    "os.rename": "rename",
    "shutil.move": "move",
}
_LIST_EVENTS = {"os.listdir", "os.scandir", "glob.glob"}
_WRITE_FLAGS = os.O_WRONLY | os.O_RDWR | os.O_CREAT | os.O_TRUNC | os.O_APPEND


def _path_text(value: Any) -> str | None:
    if isinstance(value, bytes):
        return os.fsdecode(value)
    if isinstance(value, str):
        return value
    if isinstance(value, os.PathLike):
        return os.fsdecode(os.fspath(value))
    return None


def _within(path: str, roots: Sequence[str]) -> bool:
    return any(path == root or path.startswith(root.rstrip("/") + "/") for root in roots)


def _describe_address(args: tuple[Any, ...]) -> str:
    for value in args:
        if isinstance(value, tuple) and value:
            return ":".join(str(part) for part in value[:2])
        if isinstance(value, (str, bytes)) and value:
            return _path_text(value) or ""
    return ""


def _describe_command(args: tuple[Any, ...]) -> str:
    for value in args[:2]:
        if isinstance(value, (list, tuple)) and value:
            return " ".join(str(part) for part in value)[:200]
        if isinstance(value, (str, bytes)):
            return str(_path_text(value))[:200]
    return ""


def _socket_kind(family: Any, kind: Any) -> str:
    names = []
    for enum, value in ((socket.AddressFamily, family), (socket.SocketKind, kind)):
        try:
            names.append(enum(value).name)
        except (ValueError, TypeError):
            names.append(str(value))
    return ", ".join(names)


def install_audit_hook(
    *,
    run_dir: str,
    readable_roots: Sequence[str],
    report_fd: int,
    own_pid: int,
) -> None:
    """Install the audit hook for this process (irrevocable); refusals go to `report_fd`.

    `run_dir` is the only writable directory; `readable_roots` (real paths) plus `run_dir`
    are the only readable trees. Each refusal raises `SandboxViolation` in the caller and
    writes one JSON line `{"kind": "blocked", "event": ..., "what": ...}` to `report_fd`.
    """
    write_roots = (os.path.realpath(run_dir), "/dev/null")
    read_roots = (*write_roots, f"/proc/{own_pid}", *readable_roots)
    state = {"reported": 0, "busy": False}
    hook = _make_hook(write_roots, read_roots, own_pid, report_fd, state)
    import sys

    sys.addaudithook(hook)


def _make_hook(
    write_roots: tuple[str, ...],
    read_roots: tuple[str, ...],
    own_pid: int,
    report_fd: int,
    state: dict[str, Any],
) -> Callable[[str, tuple[Any, ...]], None]:
    realpath = os.path.realpath
    af_unix = socket.AF_UNIX
    write = os.write
    dumps = json.dumps

    def refuse(event: str, what: str) -> None:
        if state["reported"] < _MAX_REPORTED:
            state["reported"] += 1
            line = dumps({"kind": "blocked", "event": event, "what": what}) + "\n"
            with contextlib.suppress(OSError):
                write(report_fd, line.encode())
        raise SandboxViolation(f"blocked by the sandbox: {what}")

    def resolve(value: Any) -> str | None:
        text = _path_text(value)
        return None if text is None else realpath(text)

    def check_read(event: str, path: str) -> None:
        if _within(path, read_roots):
            return
        parts = path.split("/")
        if path.startswith("/proc/") and len(parts) > 2 and parts[2].isdigit():
            refuse(
                event,
                f"the code tried to read {path}, another process's data; generated code "
                "must not inspect other processes",
            )
        else:
            refuse(
                event,
                f"the code tried to read {path}, outside its working directory and the "
                "Python installation; generated code must take its data from the code itself",
            )

    def hook(event: str, args: tuple[Any, ...]) -> None:
        if state["busy"]:
            return
        if event == "open":
            state["busy"] = True
            try:
                path = resolve(args[0]) if args else None
                mode = args[1] if len(args) > 1 else None
                flags = args[2] if len(args) > 2 and isinstance(args[2], int) else 0
            finally:
                state["busy"] = False
            if path is None:
                return
            writing = (
                any(c in mode for c in "wax+") if isinstance(mode, str) else flags & _WRITE_FLAGS
            )
            if writing and not _within(path, write_roots):
                refuse(
                    event,
                    f"the code tried to write the file {path} outside its working directory; "
                    "write files only with relative paths (they go to a temporary folder that "
                    "is deleted afterwards), or print the results instead",
                )
            if not writing:
                check_read(event, path)
            return
        if event in _MODIFY_EVENTS:
            state["busy"] = True
            try:
                paths = [resolve(args[i]) for i in _MODIFY_EVENTS[event] if i < len(args)]
            finally:
                state["busy"] = False
            for path in paths:
                if path is not None and not _within(path, write_roots):
                    verb = _VERBS.get(event, "change")
                    refuse(
                        event,
                        f"the code tried to {verb} {path} ({event}) outside its working "
                        "directory; generated code may change only files it created itself",
                    )
            return
        if event in _LIST_EVENTS:
            state["busy"] = True
            try:
                path = resolve(args[0]) if args and args[0] is not None else None
            finally:
                state["busy"] = False
            if path is not None:
                check_read(event, path)
            return
        if event == "socket.__new__":
            family = args[1] if len(args) > 1 else None
            if family != af_unix and family != -1:
                kind = _socket_kind(family, args[2] if len(args) > 2 else None)
                refuse(
                    event,
                    f"the code tried to open a network connection (socket.socket({kind})); "
                    "generated code must not use the network: put the data in the code",
                )
            return
        if event in _NETWORK_EVENTS:
            target = _describe_address(args[1:] if event.startswith("socket.") else args)
            refuse(
                event,
                f"the code tried to use the network ({event}"
                + (f" to {target}" if target else "")
                + "); generated code must not use the network: put the data in the code",
            )
        if event in _SPAWN_EVENTS:
            command = _describe_command(args)
            refuse(
                event,
                f"the code tried to start another program ({event}"
                + (f" {command}" if command else "")
                + "); generated code must not run programs: build and solve the model in Python "
                "(SolverFactory('highs') or SolverFactory('scip_direct'), or OR-Tools)",
            )
        if event in _FORK_EVENTS:
            refuse(
                event,
                f"the code tried to create a new process ({event}); generated code must run "
                "in a single process",
            )
        if event in ("os.kill", "os.killpg", "signal.pthread_kill"):
            pid = args[0] if args else None
            if event == "os.kill" and pid in (own_pid, 0):
                return
            refuse(event, f"the code tried to send a signal to process {pid} ({event})")
        if event in _CTYPES_EVENTS:
            refuse(
                event,
                f"the code tried to use native code through ctypes ({event}); generated code "
                "must not load or call native libraries",
            )
        if event in _GC_EVENTS:
            refuse(event, f"the code tried to inspect the interpreter's heap ({event})")
        if event in _LIMIT_EVENTS:
            refuse(event, f"the code tried to change its resource limits ({event})")
        if event == "object.__setattr__" and len(args) > 1 and args[1] == "__code__":
            refuse(event, "the code tried to replace a function's code object")

    return hook
