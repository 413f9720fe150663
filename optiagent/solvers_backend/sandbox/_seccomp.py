"""The seccomp-bpf filter of a sandbox run: an allow-list of system calls (x86_64 only).

Everything not listed is refused with EPERM, so a program sees a clean `PermissionError`.
The calls that only an escape attempt makes (new processes, execve, ptrace, raw devices,
anonymous memory files, namespaces, mounts, keyrings, bpf, io_uring, sockets, ...) kill the
whole process instead (SIGSYS): the zygote sees the signal and reports the run as `blocked`,
a refusal the program can neither catch nor hide. Calls that could reach another process
(`prlimit64`, `setpriority`, `sched_set*`) are allowed only on the caller itself, and
`prlimit64` only to read limits. The list was measured with `strace -f -c` on Python, numpy,
scipy, Pyomo with HiGHS and SCIP, CP-SAT with 4 workers and pywraplp, plus the usual file and
thread calls of the standard library. Standard library only (this module runs in the zygote).
"""

from __future__ import annotations

import ctypes
import errno
import platform
import struct

__all__ = ["KILLED_CALLS", "apply_seccomp", "seccomp_supported"]

_PR_SET_SECCOMP = 22
_SECCOMP_MODE_FILTER = 2
_AUDIT_ARCH_X86_64 = 0xC000003E
_X32_SYSCALL_BIT = 0x40000000
_CLONE_THREAD = 0x00010000

_RET_ALLOW = 0x7FFF0000
_RET_KILL_PROCESS = 0x80000000
_RET_ERRNO = 0x00050000
_EPERM = _RET_ERRNO | errno.EPERM

_LD_W_ABS = 0x20
_JEQ_K = 0x15
_JGE_K = 0x35
_JSET_K = 0x45
_RET_K = 0x06

_OFFSET_NR = 0
_OFFSET_ARCH = 4
_OFFSET_ARGS = 16  # struct seccomp_data: int nr; u32 arch; u64 ip; u64 args[6]

# x86_64 numbers (asm/unistd_64.h). Frequent calls first: the filter is a linear scan.
_ALLOWED = {
    "read": 0, "write": 1, "futex": 202, "mmap": 9, "munmap": 11, "close": 3, "openat": 257,
    "newfstatat": 262, "fstat": 5, "lseek": 8, "mprotect": 10, "brk": 12, "madvise": 28,
    "getdents64": 217, "ioctl": 16, "fcntl": 72, "rt_sigaction": 13, "rt_sigprocmask": 14,
    "rt_sigreturn": 15, "sched_yield": 24, "getpid": 39, "gettid": 186, "clock_gettime": 228,
    "clock_nanosleep": 230, "nanosleep": 35, "pread64": 17, "pwrite64": 18, "readv": 19,
    "writev": 20, "readlink": 89, "readlinkat": 267, "statx": 332, "stat": 4, "lstat": 6,
    "access": 21, "faccessat": 269, "faccessat2": 439, "open": 2, "poll": 7, "ppoll": 271,
    "select": 23, "pselect6": 270, "mremap": 25, "msync": 26, "mincore": 27, "dup": 32,
    "dup2": 33, "dup3": 292, "pipe": 22, "pipe2": 293, "getitimer": 36, "alarm": 37,
    "setitimer": 38, "sendfile": 40, "copy_file_range": 326, "exit": 60, "exit_group": 231,
    "wait4": 61, "waitid": 247, "kill": 62, "tkill": 200, "tgkill": 234, "uname": 63,
    "flock": 73, "fsync": 74, "fdatasync": 75, "truncate": 76, "ftruncate": 77,
    "fallocate": 285, "getdents": 78, "getcwd": 79, "chdir": 80, "fchdir": 81, "rename": 82,
    "renameat": 264, "renameat2": 316, "mkdir": 83, "mkdirat": 258, "rmdir": 84, "link": 86,
    "linkat": 265, "unlink": 87, "unlinkat": 263, "symlink": 88, "symlinkat": 266,
    "chmod": 90, "fchmod": 91, "fchmodat": 268, "utimensat": 280, "umask": 95,
    "gettimeofday": 96, "time": 201, "clock_getres": 229, "getrlimit": 97, "getrusage": 98,
    "sysinfo": 99, "times": 100, "getuid": 102, "getgid": 104, "geteuid": 107,
    "getegid": 108, "getppid": 110, "getpgrp": 111, "getgroups": 115, "getresuid": 118,
    "getresgid": 120, "getpgid": 121, "getsid": 124, "sigaltstack": 131, "statfs": 137,
    "fstatfs": 138, "getpriority": 140, "sched_getparam": 143, "sched_getscheduler": 145,
    "sched_get_priority_max": 146, "sched_get_priority_min": 147,
    "sched_rr_get_interval": 148, "sched_getaffinity": 204, "sched_getattr": 315,
    "prctl": 157, "arch_prctl": 158, "readahead": 187, "fadvise64": 221, "getxattr": 191,
    "lgetxattr": 192, "fgetxattr": 193, "listxattr": 194, "llistxattr": 195,
    "flistxattr": 196, "set_tid_address": 218, "set_robust_list": 273,
    "get_robust_list": 274, "restart_syscall": 219, "rseq": 334, "getrandom": 318,
    "getcpu": 309, "membarrier": 324, "mbind": 237, "get_mempolicy": 239,
    "set_mempolicy": 238, "futex_waitv": 449, "rt_sigsuspend": 130, "rt_sigtimedwait": 128,
    "rt_sigqueueinfo": 129, "rt_tgsigqueueinfo": 297, "epoll_create": 213,
    "epoll_create1": 291, "epoll_ctl": 233, "epoll_wait": 232, "epoll_pwait": 281,
    "epoll_pwait2": 441, "eventfd": 284, "eventfd2": 290, "timerfd_create": 283,
    "timerfd_settime": 286, "timerfd_gettime": 287, "splice": 275, "tee": 276,
    "preadv": 295, "pwritev": 296, "preadv2": 327, "pwritev2": 328, "close_range": 436,
}  # fmt: skip

# Allowed only when argument `index` is 0 (the caller itself): they could act on others.
_SELF_ONLY = {
    "setpriority": (141, 1),  # (number, index of the `who` argument)
    "sched_setparam": (142, 0),
    "sched_setscheduler": (144, 0),
    "sched_setaffinity": (203, 0),
    "sched_setattr": (314, 0),
}
_PRLIMIT64 = 302  # allowed for pid 0 and no new limit: reading one's own limits

# Calls that only an escape attempt makes: the process is killed (SIGSYS, reported blocked).
KILLED_CALLS = {
    "fork": 57, "vfork": 58, "execve": 59, "execveat": 322, "ptrace": 101,
    "process_vm_readv": 310, "process_vm_writev": 311, "mknod": 133, "mknodat": 259,
    "memfd_create": 319, "memfd_secret": 447, "unshare": 272, "setns": 308, "mount": 165,
    "umount2": 166, "pivot_root": 155, "chroot": 161, "fsopen": 430, "fsconfig": 431,
    "fsmount": 432, "fspick": 433, "move_mount": 429, "open_tree": 428,
    "mount_setattr": 442, "add_key": 248, "request_key": 249, "keyctl": 250, "bpf": 321,
    "io_uring_setup": 425, "io_uring_enter": 426, "io_uring_register": 427,
    "perf_event_open": 298, "kexec_load": 246, "kexec_file_load": 320, "init_module": 175,
    "finit_module": 313, "delete_module": 176, "userfaultfd": 323,
    "open_by_handle_at": 304, "name_to_handle_at": 303, "socket": 41, "socketpair": 53,
    "pidfd_open": 434, "pidfd_getfd": 438, "pidfd_send_signal": 424,
    "process_madvise": 440, "process_mrelease": 448, "kcmp": 312,
}  # fmt: skip
"""x86_64 system calls that kill the calling process (the zygote reports `blocked`)."""

_CLONE = 56
_CLONE3 = 435


def _op(code: int, k: int, jt: int = 0, jf: int = 0) -> bytes:
    return struct.pack("<HBBI", code, jt, jf, k)


def _ret(value: int) -> bytes:
    return _op(_RET_K, value)


def _arg_low(index: int) -> bytes:
    return _op(_LD_W_ABS, _OFFSET_ARGS + 8 * index)


def _arg_high(index: int) -> bytes:
    return _op(_LD_W_ABS, _OFFSET_ARGS + 8 * index + 4)


def _when_zero(indexes: tuple[int, ...]) -> list[bytes]:
    """Allow if every argument in `indexes` is 0 (both 32-bit halves), else EPERM."""
    block: list[bytes] = []
    for index in indexes:
        for load in (_arg_low(index), _arg_high(index)):
            block += [load, _op(_JEQ_K, 0, jt=1, jf=0), _ret(_EPERM)]
    return [*block, _ret(_RET_ALLOW)]


def _guarded(number: int, block: list[bytes]) -> list[bytes]:
    """`block` (which always returns) runs for system call `number`; other calls skip it."""
    return [_op(_JEQ_K, number, jt=0, jf=len(block)), *block]


def _program() -> bytes:
    out = [
        _op(_LD_W_ABS, _OFFSET_ARCH),
        _op(_JEQ_K, _AUDIT_ARCH_X86_64, jt=1, jf=0),
        _ret(_RET_KILL_PROCESS),
        _op(_LD_W_ABS, _OFFSET_NR),
        _op(_JGE_K, _X32_SYSCALL_BIT, jt=0, jf=1),
        _ret(_RET_KILL_PROCESS),
    ]
    for number in _ALLOWED.values():
        out += [_op(_JEQ_K, number, jt=0, jf=1), _ret(_RET_ALLOW)]
    for number in KILLED_CALLS.values():
        out += [_op(_JEQ_K, number, jt=0, jf=1), _ret(_RET_KILL_PROCESS)]
    # clone3 passes its flags in memory the filter cannot read: ENOSYS makes glibc fall back
    # to clone, whose flags it can: a thread (CLONE_THREAD) is fine, a new process is killed.
    out += [_op(_JEQ_K, _CLONE3, jt=0, jf=1), _ret(_RET_ERRNO | errno.ENOSYS)]
    out += _guarded(
        _CLONE,
        [
            _arg_low(0),
            _op(_JSET_K, _CLONE_THREAD, jt=0, jf=1),
            _ret(_RET_ALLOW),
            _ret(_RET_KILL_PROCESS),
        ],
    )
    for number, index in _SELF_ONLY.values():
        out += _guarded(number, _when_zero((index,)))
    out += _guarded(_PRLIMIT64, _when_zero((0, 2)))  # pid 0, new limit NULL
    out.append(_ret(_EPERM))
    return b"".join(out)


class _SockFprog(ctypes.Structure):
    _fields_ = (("len", ctypes.c_ushort), ("filter", ctypes.c_void_p))


def seccomp_supported() -> bool:
    """Whether this module has a tested seccomp filter for the running machine."""
    return platform.system() == "Linux" and platform.machine() in ("x86_64", "AMD64")


def apply_seccomp() -> str:
    """Install the allow-list filter on this process; return a short description.

    Requires no_new_privs (or CAP_SYS_ADMIN) first. Raises OSError if the kernel rejects it.
    """
    if not seccomp_supported():
        return f"unavailable: no tested filter for {platform.system()} {platform.machine()}"
    program = _program()
    if len(program) // 8 > 4096:  # BPF_MAXINSNS
        raise OSError(errno.E2BIG, "the seccomp program is too long")
    buffer = ctypes.create_string_buffer(program, len(program))
    fprog = _SockFprog(len=len(program) // 8, filter=ctypes.addressof(buffer))
    libc = ctypes.CDLL(None, use_errno=True)
    result = libc.prctl(
        ctypes.c_int(_PR_SET_SECCOMP),
        ctypes.c_ulong(_SECCOMP_MODE_FILTER),
        ctypes.byref(fprog),
        ctypes.c_ulong(0),
        ctypes.c_ulong(0),
    )
    if result != 0:
        code = ctypes.get_errno()
        raise OSError(code, f"seccomp: {errno.errorcode.get(code, code)}")
    return f"seccomp allow-list (x86_64, {len(_ALLOWED)} calls; escapes kill the process)"
