"""Linux namespaces of a sandbox run: its own user, PID, mount and IPC namespaces, in its
worker's network namespace.

They are entered through libc `unshare(2)` and `setns(2)` (nothing to install; works without
root where unprivileged user namespaces are enabled). Inside:

- PID: the run is process 1 of a namespace of its own; it cannot see, signal, re-prioritise
  or `prlimit` any process outside it, and a fresh /proc lists only its own processes.
- network: a namespace with only a loopback interface that is down: no network at all (one
  per worker, entered by the zygote at start and shared by its runs).
- mount: every mount is read-only (so `chmod`, `chown`, `utime`, `setxattr`, writes and
  deletions outside the run folder fail with EROFS), except the run folder itself; /tmp,
  /var/tmp, /dev/shm, /run, the homes and the sandbox's own folder of runs are covered with
  empty file systems, so other runs' folders and Unix sockets there are out of sight.
- IPC: System V shared memory and message queues of other processes are out of reach.
- user: the mounts above need it; the run's uid and gid map to the caller's, and all
  capabilities are dropped again before the generated code runs.

Standard library only (this module runs in the zygote).
"""

from __future__ import annotations

import contextlib
import ctypes
import os
import signal
from collections.abc import Iterable
from typing import NoReturn

from optiagent.solvers_backend.sandbox._kernel import libc

__all__ = [
    "confine_mounts",
    "drop_capabilities",
    "enter_run_namespaces",
    "enter_run_user_namespace",
    "enter_worker_namespaces",
    "next_child_in_new_pid_namespace",
    "open_pid_namespace",
    "relay_exit",
    "restore_pid_namespace",
]

_RELAY_LOST = 70  # the relayed child vanished: reported as a failed set-up

_CLONE_NEWNS = 0x00020000
_CLONE_NEWIPC = 0x08000000
_CLONE_NEWUSER = 0x10000000
_CLONE_NEWPID = 0x20000000
_CLONE_NEWNET = 0x40000000
# The worker (zygote) makes its user, network and PID namespaces once, at start, and becomes
# process 1 of that PID namespace; for each run it makes a new PID namespace for its next
# child only (unshare, fork, then setns back), so a run costs one fork, not two. A run makes
# its mount and IPC namespaces with the worker's privileges, confines its mounts, then moves
# into a user namespace of its own, where it holds no privilege over those mounts.
_PER_WORKER = _CLONE_NEWUSER | _CLONE_NEWNET | _CLONE_NEWPID
_PER_RUN = _CLONE_NEWNS | _CLONE_NEWIPC

_MS_NOSUID = 2
_MS_NODEV = 4
_MS_NOEXEC = 8
_MS_BIND = 4096
_MS_REC = 16384
_MS_PRIVATE = 1 << 18

_SYS_MOUNT_SETATTR = 442  # the same number on every architecture (asm-generic)
_AT_FDCWD = -100
_AT_RECURSIVE = 0x8000
_MOUNT_ATTR_RDONLY = 0x1
_MOUNT_ATTR_NOSUID = 0x2

_SYS_CAPSET = 126  # x86_64; the caller checks the architecture
_CAP_VERSION_3 = 0x20080522

# Folders that hold other users' and processes' files (and most Unix sockets): covered by an
# empty tmpfs unless the Python installation lives beneath one of them.
_HIDDEN = ("/tmp", "/var/tmp", "/dev/shm", "/run", "/var/run", "/home", "/root", "/mnt", "/media")


def _check(result: int, what: str) -> None:
    if result != 0:
        code = ctypes.get_errno()
        raise OSError(code, f"{what}: {os.strerror(code)}")


def _unshare(flags: int) -> None:
    _check(libc().unshare(ctypes.c_int(flags)), "unshare")


def _unshare_user(flags: int) -> None:
    """Unshare `flags` (with CLONE_NEWUSER) and map the uid and gid one-to-one."""
    uid, gid = os.geteuid(), os.getegid()  # before: inside they read as the overflow id
    _unshare(flags)
    for name, text in (("setgroups", "deny"), ("uid_map", f"{uid} {uid} 1"),
                       ("gid_map", f"{gid} {gid} 1")):  # fmt: skip
        with open(f"/proc/self/{name}", "w") as handle:
            handle.write(text)


def enter_worker_namespaces() -> None:
    """Move the worker into a new user namespace and a network namespace without any usable
    interface; its next child is process 1 of a new PID namespace (the worker proper)."""
    _unshare_user(_PER_WORKER)


def open_pid_namespace() -> int:
    """An open descriptor of this process's own PID namespace (to return to after a run)."""
    return os.open("/proc/self/ns/pid", os.O_RDONLY | os.O_CLOEXEC)


def next_child_in_new_pid_namespace() -> None:
    """Make this process's next child process 1 of a new PID namespace."""
    _unshare(_CLONE_NEWPID)


def restore_pid_namespace(fd: int) -> None:
    """Make this process's next children join its own PID namespace `fd` again."""
    _check(libc().setns(ctypes.c_int(fd), ctypes.c_int(_CLONE_NEWPID)), "setns")


def enter_run_namespaces() -> None:
    """Move this run's process (process 1 of its PID namespace) into new mount and IPC
    namespaces; `confine_mounts` next, then `enter_run_user_namespace`."""
    _unshare(_PER_RUN)


def enter_run_user_namespace() -> None:
    """Move into a user namespace of the run's own (its threads are counted apart for
    RLIMIT_NPROC, and it has no privilege over the mounts just confined)."""
    _unshare_user(_CLONE_NEWUSER)


def _mount(source: str | None, target: str, fstype: str | None, flags: int, data: str = "") -> None:
    result = libc().mount(
        source.encode() if source else None,
        target.encode(),
        fstype.encode() if fstype else None,
        ctypes.c_ulong(flags),
        data.encode() if data else None,
    )
    _check(result, f"mount {target}")


class _MountAttr(ctypes.Structure):
    _fields_ = (
        ("attr_set", ctypes.c_uint64),
        ("attr_clr", ctypes.c_uint64),
        ("propagation", ctypes.c_uint64),
        ("userns_fd", ctypes.c_uint64),
    )


def _set_mount_attributes(path: str, attr_set: int, attr_clr: int, flags: int) -> None:
    attr = _MountAttr(attr_set, attr_clr, 0, 0)
    result = libc().syscall(
        ctypes.c_long(_SYS_MOUNT_SETATTR),
        ctypes.c_int(_AT_FDCWD),
        path.encode(),
        ctypes.c_uint(flags),
        ctypes.byref(attr),
        ctypes.c_size_t(ctypes.sizeof(attr)),
    )
    _check(int(result), f"mount_setattr {path}")


def _beneath(path: str, folder: str) -> bool:
    return path == folder or path.startswith(folder.rstrip("/") + "/")


def confine_mounts(work_dir: str, runs_dir: str, keep: Iterable[str]) -> None:
    """Make every mount read-only but `work_dir`, hide `runs_dir` and the shared folders,
    and mount a /proc of this PID namespace. Call as process 1 of the new namespaces.

    `keep` are folders that must stay visible (the Python installation): a shared folder
    above one of them is not covered.
    """
    kept = [os.path.realpath(path) for path in keep]
    work_fd = os.open(work_dir, os.O_PATH | os.O_DIRECTORY | os.O_CLOEXEC)
    try:
        _mount(None, "/", None, _MS_REC | _MS_PRIVATE)  # nothing propagates back out
        for folder in (*_HIDDEN, os.path.realpath(runs_dir)):
            if os.path.islink(folder) or not os.path.isdir(folder):
                continue
            if any(_beneath(path, folder) for path in kept):
                continue
            _mount("tmpfs", folder, "tmpfs", _MS_NOSUID | _MS_NODEV, "size=16k,mode=0755")
        os.makedirs(work_dir, exist_ok=True)
        # The run folder comes back from its open descriptor, wherever it was covered.
        _mount(f"/proc/self/fd/{work_fd}", work_dir, None, _MS_BIND)
    finally:
        os.close(work_fd)
    _mount("proc", "/proc", "proc", _MS_NOSUID | _MS_NODEV | _MS_NOEXEC)
    _set_mount_attributes("/", _MOUNT_ATTR_RDONLY | _MOUNT_ATTR_NOSUID, 0, _AT_RECURSIVE)
    _set_mount_attributes(work_dir, 0, _MOUNT_ATTR_RDONLY, 0)
    # The run's own /proc stays writable for its uid and gid maps (written next, from inside
    # its user namespace); Landlock keeps the program from writing there.
    _set_mount_attributes("/proc", 0, _MOUNT_ATTR_RDONLY, 0)


class _CapHeader(ctypes.Structure):
    _fields_ = (("version", ctypes.c_uint32), ("pid", ctypes.c_int))


class _CapData(ctypes.Structure):
    _fields_ = (
        ("effective", ctypes.c_uint32),
        ("permitted", ctypes.c_uint32),
        ("inheritable", ctypes.c_uint32),
    )


def drop_capabilities() -> None:
    """Drop every capability of this process (the user namespace granted them all)."""
    header = _CapHeader(_CAP_VERSION_3, 0)
    data = (_CapData * 2)()
    result = libc().syscall(ctypes.c_long(_SYS_CAPSET), ctypes.byref(header), ctypes.byref(data))
    _check(int(result), "capset")


def relay_exit(pid: int) -> NoReturn:
    """Wait for child `pid` and end the way it ended (its exit status, or its signal), so that
    this process's parent sees the child's outcome. Never returns."""
    while True:
        try:
            _, status = os.waitpid(pid, 0)
            break
        except ChildProcessError:
            os._exit(_RELAY_LOST)
    if os.WIFSIGNALED(status):
        number = os.WTERMSIG(status)
        with contextlib.suppress(OSError, ValueError):  # SIGKILL and SIGSTOP refuse both
            signal.signal(number, signal.SIG_DFL)
            signal.pthread_sigmask(signal.SIG_UNBLOCK, [number])
        os.kill(os.getpid(), number)
        os._exit(128 + number)
    os._exit(os.WEXITSTATUS(status) if os.WIFEXITED(status) else _RELAY_LOST)
