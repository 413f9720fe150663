"""What a sandbox worker may see: its environment variables and the files it may read.

Standard library only (the zygote imports this module before any run).
"""

from __future__ import annotations

import contextlib
import os
import site
import sys
from collections.abc import Iterable

__all__ = ["readable_roots", "worker_environment"]

# The whole environment of a worker: nothing is copied from the caller's (no LC_*, no TERM, no
# PYTHON*, no credential), so no secret can reach a worker even for a moment. One BLAS/OpenMP
# thread (no thread pool in the zygote when it forks; runs in parallel do not oversubscribe),
# and few malloc arenas so that RLIMIT_AS reflects real use.
_FIXED = {
    "PATH": "/usr/local/bin:/usr/bin:/bin",
    "LANG": "C.UTF-8",
    "OMP_NUM_THREADS": "1",
    "OPENBLAS_NUM_THREADS": "1",
    "MKL_NUM_THREADS": "1",
    "NUMEXPR_NUM_THREADS": "1",
    "MALLOC_ARENA_MAX": "2",
    "PYTHONDONTWRITEBYTECODE": "1",
    "PYTHONIOENCODING": "utf-8",
}


def worker_environment(home: str | None = None) -> dict[str, str]:
    """Return the environment of a worker: a fixed allow-list, nothing taken from the caller.

    PATH is a fixed system value, LANG is C.UTF-8, thread counts are one; `home` (a private
    folder) becomes HOME and TMPDIR when given.
    """
    env = dict(_FIXED)
    if home is not None:
        env.update(HOME=home, TMPDIR=home)
    return env


_SYSTEM_READ_ROOTS = (
    "/usr",
    "/lib",
    "/lib64",
    "/lib32",
    "/libx32",
    "/bin",
    "/sbin",
    "/etc/ld.so.cache",
    "/etc/ld.so.conf",
    "/etc/ld.so.conf.d",
    "/etc/localtime",
    "/etc/timezone",
    "/etc/nsswitch.conf",
    "/etc/passwd",
    "/etc/group",
    "/etc/os-release",
    "/etc/mime.types",
    "/etc/matplotlibrc",
    "/dev/null",
    "/dev/zero",
    "/dev/full",
    "/dev/random",
    "/dev/urandom",
    "/sys/devices/system/cpu",
    "/sys/devices/system/node",
    "/sys/fs/cgroup",
    "/proc/meminfo",
    "/proc/cpuinfo",
    "/proc/stat",
    "/proc/loadavg",
    "/proc/filesystems",
    "/proc/sys/kernel",
    "/proc/sys/vm",
)


def readable_roots(extra: Iterable[str] = ()) -> tuple[str, ...]:
    """Return the real paths a sandboxed run may read (besides its own directory).

    The Python installation (prefixes, standard library, site-packages), the directory of
    every top-level package already imported from elsewhere (an editable install exposes its
    package folder, not the project around it, so a `.env` file beside it stays unreadable),
    system libraries and a handful of system files. User homes, /tmp, /root, project folders
    and other processes' /proc entries are not on the list.
    """
    roots: list[str] = list(_SYSTEM_READ_ROOTS)
    prefixes = {sys.prefix, sys.base_prefix, sys.exec_prefix, sys.base_exec_prefix}
    roots += sorted(prefixes)
    with contextlib.suppress(AttributeError):  # old virtualenv layouts lack it
        roots += site.getsitepackages()
    if site.ENABLE_USER_SITE and os.path.isdir(site.getusersitepackages()):
        roots.append(site.getusersitepackages())
    trusted = [os.path.realpath(root) for root in roots]
    for module in list(sys.modules.values()):
        location = getattr(module, "__file__", None)
        name = getattr(module, "__name__", "")
        if not location or "." in name:
            continue
        real = os.path.realpath(location)
        if any(real.startswith(root.rstrip("/") + "/") for root in trusted):
            continue
        package_dir = os.path.dirname(real)
        # A top-level module outside the trusted roots: grant its package folder, or only the
        # file itself for a plain module, never the folder around it.
        roots.append(package_dir if os.path.basename(real) == "__init__.py" else real)
    for path in getattr(sys.modules.get("optiagent"), "__path__", []) or []:
        roots.append(path)
    roots += list(extra)
    unique: list[str] = []
    for root in roots:
        real = os.path.realpath(root)
        if os.path.exists(real) and real not in unique:
            unique.append(real)
    return tuple(unique)
