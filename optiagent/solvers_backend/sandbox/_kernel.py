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
- seccomp-bpf (x86_64 only, where it is tested): no fork/vfork/clone of a new process (threads
  are allowed), no execve, no sockets other than AF_UNIX, no ptrace or process_vm_readv/writev,
  and none of the administrative calls (mount, reboot, kexec, bpf, io_uring, keyctl, ...).
"""

from __future__ import annotations

import ctypes
import errno
import os
import platform
import struct
from collections.abc import Iterable

__all__ = [
    "apply_landlock",
    "apply_seccomp",
    "landlock_abi",
    "set_no_new_privs",
    "set_parent_death_signal",
]

_PR_SET_PDEATHSIG = 1
_PR_SET_SECCOMP = 22
_PR_SET_NO_NEW_PRIVS = 38
_SECCOMP_MODE_FILTER = 2

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


def _get_libc() -> ctypes.CDLL:
    global _libc
    if _libc is None:
        _libc = ctypes.CDLL(None, use_errno=True)
        _libc.syscall.restype = ctypes.c_long
        _libc.prctl.restype = ctypes.c_int
    return _libc


def _prctl(option: int, arg2: int = 0, arg3: object = None) -> None:
    libc = _get_libc()
    third = ctypes.c_ulong(0) if arg3 is None else arg3
    result = libc.prctl(
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
    libc = _get_libc()
    version = libc.syscall(
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
    libc = _get_libc()
    buffer = ctypes.create_string_buffer(attr, len(attr))
    ruleset = libc.syscall(
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
            _add_path_rule(libc, int(ruleset), path, write_rights)
        for path in readable:
            _add_path_rule(libc, int(ruleset), path, read_rights)
        for path in writable_files:
            _add_path_rule(libc, int(ruleset), path, (_FS_READ_FILE | _FS_WRITE_FILE) & handled_fs)
        if libc.syscall(
            ctypes.c_long(_SYS_LANDLOCK_RESTRICT_SELF), ctypes.c_int(ruleset), ctypes.c_uint32(0)
        ):
            code = ctypes.get_errno()
            raise OSError(code, f"landlock_restrict_self: {os.strerror(code)}")
    finally:
        os.close(int(ruleset))
    return f"Landlock ABI {abi} ({described})"


def _add_path_rule(libc: ctypes.CDLL, ruleset: int, path: str, rights: int) -> None:
    try:
        fd = os.open(path, os.O_PATH | os.O_CLOEXEC)
    except OSError:
        return  # a path that does not exist needs no rule
    try:
        if not os.path.isdir(path):
            rights &= _FILE_RIGHTS
        rule = _PathBeneath(allowed_access=rights, parent_fd=fd)
        result = libc.syscall(
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


# --- seccomp-bpf -------------------------------------------------------------------------

_AUDIT_ARCH_X86_64 = 0xC000003E
_X32_SYSCALL_BIT = 0x40000000
_CLONE_THREAD = 0x00010000
_AF_UNIX = 1

_RET_ALLOW = 0x7FFF0000
_RET_KILL_PROCESS = 0x80000000
_RET_ERRNO = 0x00050000

_BPF_LD_W_ABS = 0x20
_BPF_JEQ_K = 0x15
_BPF_JGE_K = 0x35
_BPF_RET_K = 0x06
_BPF_AND_K = 0x54

# struct seccomp_data: int nr; u32 arch; u64 ip; u64 args[6]  (little endian low words)
_OFFSET_NR = 0
_OFFSET_ARCH = 4
_OFFSET_ARG0 = 16

# x86_64 numbers of the calls refused outright with EPERM.
_X86_64_DENIED = {
    "fork": 57,
    "vfork": 58,
    "execve": 59,
    "execveat": 322,
    "ptrace": 101,
    "process_vm_readv": 310,
    "process_vm_writev": 311,
    "mount": 165,
    "umount2": 166,
    "pivot_root": 155,
    "chroot": 161,
    "acct": 163,
    "settimeofday": 164,
    "swapon": 167,
    "swapoff": 168,
    "reboot": 169,
    "sethostname": 170,
    "setdomainname": 171,
    "iopl": 172,
    "ioperm": 173,
    "init_module": 175,
    "delete_module": 176,
    "quotactl": 179,
    "clock_settime": 227,
    "kexec_load": 246,
    "add_key": 248,
    "request_key": 249,
    "keyctl": 250,
    "unshare": 272,
    "perf_event_open": 298,
    "name_to_handle_at": 303,
    "open_by_handle_at": 304,
    "setns": 308,
    "finit_module": 313,
    "kexec_file_load": 320,
    "bpf": 321,
    "userfaultfd": 323,
    "io_uring_setup": 425,
}
_X86_64_SOCKET = 41
_X86_64_CLONE = 56
_X86_64_CLONE3 = 435


def _instruction(code: int, jt: int, jf: int, k: int) -> bytes:
    return struct.pack("<HBBI", code, jt, jf, k)


def _x86_64_program() -> bytes:
    eperm = _RET_ERRNO | errno.EPERM
    out = [
        _instruction(_BPF_LD_W_ABS, 0, 0, _OFFSET_ARCH),
        _instruction(_BPF_JEQ_K, 1, 0, _AUDIT_ARCH_X86_64),
        _instruction(_BPF_RET_K, 0, 0, _RET_KILL_PROCESS),
        _instruction(_BPF_LD_W_ABS, 0, 0, _OFFSET_NR),
        _instruction(_BPF_JGE_K, 0, 1, _X32_SYSCALL_BIT),
        _instruction(_BPF_RET_K, 0, 0, eperm),
    ]
    for number in sorted(_X86_64_DENIED.values()):
        out += [_instruction(_BPF_JEQ_K, 0, 1, number), _instruction(_BPF_RET_K, 0, 0, eperm)]
    # clone3 passes its flags in memory the filter cannot read: ENOSYS makes glibc fall back
    # to clone, whose flags it can check.
    out += [
        _instruction(_BPF_JEQ_K, 0, 1, _X86_64_CLONE3),
        _instruction(_BPF_RET_K, 0, 0, _RET_ERRNO | errno.ENOSYS),
    ]
    # clone: a thread (CLONE_THREAD set) is fine, a new process is not.
    out += [
        _instruction(_BPF_JEQ_K, 0, 5, _X86_64_CLONE),
        _instruction(_BPF_LD_W_ABS, 0, 0, _OFFSET_ARG0),
        _instruction(_BPF_AND_K, 0, 0, _CLONE_THREAD),
        _instruction(_BPF_JEQ_K, 0, 1, 0),
        _instruction(_BPF_RET_K, 0, 0, eperm),
        _instruction(_BPF_RET_K, 0, 0, _RET_ALLOW),
    ]
    # socket: only AF_UNIX (first argument, the domain).
    out += [
        _instruction(_BPF_JEQ_K, 0, 4, _X86_64_SOCKET),
        _instruction(_BPF_LD_W_ABS, 0, 0, _OFFSET_ARG0),
        _instruction(_BPF_JEQ_K, 1, 0, _AF_UNIX),
        _instruction(_BPF_RET_K, 0, 0, _RET_ERRNO | errno.EACCES),
        _instruction(_BPF_RET_K, 0, 0, _RET_ALLOW),
    ]
    out.append(_instruction(_BPF_RET_K, 0, 0, _RET_ALLOW))
    return b"".join(out)


class _SockFprog(ctypes.Structure):
    _fields_ = (("len", ctypes.c_ushort), ("filter", ctypes.c_void_p))


def seccomp_supported() -> bool:
    """Whether this module has a tested seccomp filter for the running machine."""
    return platform.system() == "Linux" and platform.machine() in ("x86_64", "AMD64")


def apply_seccomp() -> str:
    """Install the seccomp filter; return a short description, or why it was skipped.

    Requires `set_no_new_privs()` first. Raises OSError if the kernel rejects the filter.
    """
    if not seccomp_supported():
        return f"unavailable: no tested filter for {platform.system()} {platform.machine()}"
    program = _x86_64_program()
    buffer = ctypes.create_string_buffer(program, len(program))
    fprog = _SockFprog(len=len(program) // 8, filter=ctypes.addressof(buffer))
    _prctl(_PR_SET_SECCOMP, _SECCOMP_MODE_FILTER, ctypes.byref(fprog))
    return "seccomp (x86_64)"
