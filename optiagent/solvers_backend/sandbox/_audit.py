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

from optiagent.solvers_backend.sandbox._blocked import describe

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
    "shutil.move": "rename",
}
_LIST_EVENTS = {"os.listdir", "os.scandir", "glob.glob"}
_SIGNAL_EVENTS = {"os.kill", "os.killpg", "signal.pthread_kill"}
_WRITE_FLAGS = os.O_WRONLY | os.O_RDWR | os.O_CREAT | os.O_TRUNC | os.O_APPEND
# Every event the hook looks at: all others (most of them, and the frequent ones) return at
# once, so the hook costs one set lookup per event.
_WATCHED = frozenset(
    {"open", "socket.__new__", "object.__setattr__"}
    | _NETWORK_EVENTS | _SPAWN_EVENTS | _FORK_EVENTS | _CTYPES_EVENTS | _GC_EVENTS
    | _LIMIT_EVENTS | set(_MODIFY_EVENTS) | _LIST_EVENTS | _SIGNAL_EVENTS
)  # fmt: skip


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
    writes one JSON line `{"kind": "blocked", "event": ..., "target": ...}` to `report_fd`
    at once (so no later message can take it back); the parent words it (`_blocked.py`).
    """
    write_roots = (os.path.realpath(run_dir), "/dev/null")
    read_roots = (*write_roots, f"/proc/{own_pid}", *readable_roots)
    hook = _make_hook(write_roots, read_roots, own_pid, report_fd)
    import sys

    sys.addaudithook(hook)


def _make_hook(
    write_roots: tuple[str, ...],
    read_roots: tuple[str, ...],
    own_pid: int,
    report_fd: int,
) -> Callable[[str, tuple[Any, ...]], None]:
    # The hook has no switch a program could reach through a frame and turn off (no "busy"
    # flag: the path checks raise no audit events themselves). It stays feedback only: the
    # kernel layers are the wall, so tampering with it changes what is said, not what holds.
    realpath = os.path.realpath
    af_unix = socket.AF_UNIX
    write = os.write
    dumps = json.dumps
    watched = _WATCHED

    reported = [0]  # a program that tampers with it only silences its own feedback

    def refuse(event: str, target: str = "") -> None:
        if reported[0] < _MAX_REPORTED:
            reported[0] += 1
            line = "\n" + dumps({"kind": "blocked", "event": event, "target": target[:300]})
            with contextlib.suppress(OSError):
                write(report_fd, (line + "\n").encode())
        raise SandboxViolation(f"blocked by the sandbox: {describe(event, target)}")

    def resolve(value: Any) -> str | None:
        text = _path_text(value)
        return None if text is None else realpath(text)

    def check_read(path: str) -> None:
        if _within(path, read_roots):
            return
        parts = path.split("/")
        if path.startswith("/proc/") and len(parts) > 2 and parts[2].isdigit():
            refuse("proc:read", path)
        refuse("open:read", path)

    def hook(event: str, args: tuple[Any, ...]) -> None:
        if event not in watched:
            return
        if event == "open":
            path = resolve(args[0]) if args else None
            if path is None:
                return
            mode = args[1] if len(args) > 1 else None
            flags = args[2] if len(args) > 2 and isinstance(args[2], int) else 0
            writing = (
                any(c in mode for c in "wax+") if isinstance(mode, str) else flags & _WRITE_FLAGS
            )
            if writing and not _within(path, write_roots):
                refuse("open:write", path)
            if not writing:
                check_read(path)
            return
        if event in _MODIFY_EVENTS:
            paths = [resolve(args[i]) for i in _MODIFY_EVENTS[event] if i < len(args)]
            for path in paths:
                if path is not None and not _within(path, write_roots):
                    refuse("modify:" + _VERBS.get(event, "change"), f"{path} ({event})")
            return
        if event in _LIST_EVENTS:
            path = resolve(args[0]) if args and args[0] is not None else None
            if path is not None:
                check_read(path)
            return
        if event == "socket.__new__":
            family = args[1] if len(args) > 1 else None
            if family != af_unix and family != -1:
                refuse(event, _socket_kind(family, args[2] if len(args) > 2 else None))
            return
        if event in _NETWORK_EVENTS:
            target = _describe_address(args[1:] if event.startswith("socket.") else args)
            refuse("network", f"{event} {target}".strip())
        if event in _SPAWN_EVENTS:
            refuse("spawn", f"{event} {_describe_command(args)}".strip())
        if event in _FORK_EVENTS:
            refuse("fork", event)
        if event in _SIGNAL_EVENTS:
            pid = args[0] if args else None
            if event == "os.kill" and pid in (own_pid, 0):
                return
            refuse("signal", f"{pid} ({event})")
        if event in _CTYPES_EVENTS:
            refuse("ctypes", event)
        if event in _GC_EVENTS:
            refuse("gc", event)
        if event in _LIMIT_EVENTS:
            refuse("limits", event)
        if event == "object.__setattr__" and len(args) > 1 and args[1] == "__code__":
            refuse("code")

    return hook
