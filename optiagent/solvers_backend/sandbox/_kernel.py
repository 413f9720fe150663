"""Kernel-enforced confinement of a sandbox child: Landlock, seccomp-bpf and prctl via ctypes.

These are the layers that hold even against native code inside allowed libraries, because the
kernel checks them at every system call. Each one is optional: on a kernel or architecture
without it, `apply_*` returns a reason instead of raising, and the audit hook and rlimits stay
as the remaining layers. Only the standard library is used (this module runs in the zygote).

- Landlock (Linux >= 5.13; ABI probed at run time): files may be written, created, renamed or
  removed only beneath the run directory; files may be read only beneath the given read-only
  paths (Python installation, the packages in use, system libraries); no program may be
  executed; with ABI >= 4 no TCP connect or bind; with ABI >= 6 no signals to processes
  outside the sandbox and no abstract Unix sockets outside it.

The seccomp allow-list is in `_seccomp.py`, the namespaces in `_namespaces.py`.
"""

from __future__ import annotations

import ctypes
import os
import platform
import struct
from collections.abc import Iterable

__all__ = [
    "apply_landlock",
    "landlock_abi",
    "libc",
    "set_no_new_privs",
    "set_parent_death_signal",
]

_PR_SET_PDEATHSIG = 1
_PR_SET_NO_NEW_PRIVS = 38

# Landlock syscall numbers are the same on every architecture (asm-generic numbering).
_SYS_LANDLOCK_CREATE_RULESET = 444
_SYS_LANDLOCK_ADD_RULE = 445
_SYS_LANDLOCK_RESTRICT_SELF = 446
_LANDLOCK_CREATE_RULESET_VERSION = 1
_LANDLOCK_RULE_PATH_BENEATH = 1

_FS_EXECUTE = 1 << 0
_FS_WRITE_FILE = 1 << 1
_FS_READ_FILE = 1 << 2
_FS_READ_DIR = 1 << 3
_FS_REMOVE_DIR = 1 << 4
_FS_REMOVE_FILE = 1 << 5
_FS_MAKE_CHAR = 1 << 6
_FS_MAKE_DIR = 1 << 7
_FS_MAKE_REG = 1 << 8
_FS_MAKE_SOCK = 1 << 9
_FS_MAKE_FIFO = 1 << 10
_FS_MAKE_BLOCK = 1 << 11
_FS_MAKE_SYM = 1 << 12
_FS_REFER = 1 << 13  # ABI 2
_FS_TRUNCATE = 1 << 14  # ABI 3
_FS_IOCTL_DEV = 1 << 15  # ABI 5
_NET_BIND_TCP = 1 << 0  # ABI 4
_NET_CONNECT_TCP = 1 << 1  # ABI 4
_SCOPE_ABSTRACT_UNIX_SOCKET = 1 << 0  # ABI 6
_SCOPE_SIGNAL = 1 << 1  # ABI 6

# Rights that may be granted on a single file (not a directory) in a path-beneath rule.
_FILE_RIGHTS = _FS_EXECUTE | _FS_WRITE_FILE | _FS_READ_FILE | _FS_TRUNCATE | _FS_IOCTL_DEV

_libc: ctypes.CDLL | None = None


def libc() -> ctypes.CDLL:
    """The C library (loaded once), for the system calls Python has no function for."""
    global _libc
    if _libc is None:
        _libc = ctypes.CDLL(None, use_errno=True)
        _libc.syscall.restype = ctypes.c_long
        _libc.prctl.restype = ctypes.c_int
    return _libc


def _prctl(option: int, arg2: int = 0, arg3: object = None) -> None:
    clib = libc()
    third = ctypes.c_ulong(0) if arg3 is None else arg3
    result = clib.prctl(
        ctypes.c_int(option), ctypes.c_ulong(arg2), third, ctypes.c_ulong(0), ctypes.c_ulong(0)
    )
    if result != 0:
        code = ctypes.get_errno()
        raise OSError(code, f"prctl({option}): {os.strerror(code)}")


def set_parent_death_signal(signal_number: int) -> None:
    """Ask the kernel to send `signal_number` to this process when its parent exits."""
    _prctl(_PR_SET_PDEATHSIG, signal_number)


def set_no_new_privs() -> None:
    """Forbid gaining privileges through execve (required before Landlock and seccomp)."""
    _prctl(_PR_SET_NO_NEW_PRIVS, 1)


def landlock_abi() -> int:
    """Return the Landlock ABI version the running kernel offers, or 0 if it has none."""
    if platform.system() != "Linux":
        return 0
    clib = libc()
    version = clib.syscall(
        ctypes.c_long(_SYS_LANDLOCK_CREATE_RULESET),
        None,
        ctypes.c_size_t(0),
        ctypes.c_uint32(_LANDLOCK_CREATE_RULESET_VERSION),
    )
    return max(int(version), 0)


class _PathBeneath(ctypes.Structure):
    _pack_ = 1
    _fields_ = (("allowed_access", ctypes.c_uint64), ("parent_fd", ctypes.c_int32))


def _handled_fs(abi: int) -> int:
    rights = (1 << 13) - 1  # EXECUTE .. MAKE_SYM
    if abi >= 2:
        rights |= _FS_REFER
    if abi >= 3:
        rights |= _FS_TRUNCATE
    if abi >= 5:
        rights |= _FS_IOCTL_DEV
    return rights


def apply_landlock(
    *, writable: Iterable[str], readable: Iterable[str], writable_files: Iterable[str] = ()
) -> str:
    """Confine this process with Landlock; return a short description, or why it was skipped.

    `writable` directories get every right but execute; `readable` paths (directories or
    files) may be read; `writable_files` (such as /dev/null) may be read and written. Paths
    that do not exist are skipped. Raises OSError only if the kernel rejects a rule.
    """
    abi = landlock_abi()
    if abi < 1:
        return "unavailable: this kernel has no Landlock"
    handled_fs = _handled_fs(abi)
    attr = struct.pack("<Q", handled_fs)
    described = "files"
    if abi >= 4:
        attr += struct.pack("<Q", _NET_BIND_TCP | _NET_CONNECT_TCP)
        described += ", TCP"
    if abi >= 6:
        attr += struct.pack("<Q", _SCOPE_ABSTRACT_UNIX_SOCKET | _SCOPE_SIGNAL)
        described += ", signals"
    clib = libc()
    buffer = ctypes.create_string_buffer(attr, len(attr))
    ruleset = clib.syscall(
        ctypes.c_long(_SYS_LANDLOCK_CREATE_RULESET),
        buffer,
        ctypes.c_size_t(len(attr)),
        ctypes.c_uint32(0),
    )
    if ruleset < 0:
        code = ctypes.get_errno()
        raise OSError(code, f"landlock_create_ruleset: {os.strerror(code)}")
    try:
        read_rights = _FS_READ_FILE | _FS_READ_DIR
        write_rights = handled_fs & ~_FS_EXECUTE
        for path in writable:
            _add_path_rule(clib, int(ruleset), path, write_rights)
        for path in readable:
            _add_path_rule(clib, int(ruleset), path, read_rights)
        for path in writable_files:
            _add_path_rule(clib, int(ruleset), path, (_FS_READ_FILE | _FS_WRITE_FILE) & handled_fs)
        if clib.syscall(
            ctypes.c_long(_SYS_LANDLOCK_RESTRICT_SELF), ctypes.c_int(ruleset), ctypes.c_uint32(0)
        ):
            code = ctypes.get_errno()
            raise OSError(code, f"landlock_restrict_self: {os.strerror(code)}")
    finally:
        os.close(int(ruleset))
    return f"Landlock ABI {abi} ({described})"


def _add_path_rule(clib: ctypes.CDLL, ruleset: int, path: str, rights: int) -> None:
    try:
        fd = os.open(path, os.O_PATH | os.O_CLOEXEC)
    except OSError:
        return  # a path that does not exist needs no rule
    try:
        if not os.path.isdir(path):
            rights &= _FILE_RIGHTS
        rule = _PathBeneath(allowed_access=rights, parent_fd=fd)
        result = clib.syscall(
            ctypes.c_long(_SYS_LANDLOCK_ADD_RULE),
            ctypes.c_int(ruleset),
            ctypes.c_int(_LANDLOCK_RULE_PATH_BENEATH),
            ctypes.byref(rule),
            ctypes.c_uint32(0),
        )
        if result != 0:
            code = ctypes.get_errno()
            raise OSError(code, f"landlock_add_rule({path}): {os.strerror(code)}")
    finally:
        os.close(fd)
