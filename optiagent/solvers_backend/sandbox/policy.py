"""What a sandbox worker may see: its environment variables and the files it may read.

Standard library only (the zygote imports this module before any run).
"""

from __future__ import annotations

import contextlib
import os
import re
import site
import sys
from collections.abc import Iterable, Mapping

__all__ = ["readable_roots", "worker_environment"]

# Variables a worker inherits from its parent when present; everything else is dropped.
_ALLOWED_VARIABLES = (
    "PATH",
    "LANG",
    "LANGUAGE",
    "TZ",
    "TERM",
    "PYOMO_CONFIG_DIR",
    "SYSTEMROOT",
)
_ALLOWED_PREFIXES = ("LC_",)
# Even an allowed name is dropped if it looks like a credential.
_SECRET = re.compile(r"(KEY|TOKEN|SECRET|PASSW|CREDENTIAL|AUTH|COOKIE|SESSION)", re.I)
# Fixed settings: one BLAS/OpenMP thread (no thread pool in the zygote when it forks; runs in
# parallel do not oversubscribe), and few malloc arenas so that RLIMIT_AS reflects real use.
_FIXED = {
    "OMP_NUM_THREADS": "1",
    "OPENBLAS_NUM_THREADS": "1",
    "MKL_NUM_THREADS": "1",
    "NUMEXPR_NUM_THREADS": "1",
    "MALLOC_ARENA_MAX": "2",
    "PYTHONDONTWRITEBYTECODE": "1",
    "PYTHONHASHSEED": "0",
    "PYTHONIOENCODING": "utf-8",
}


def worker_environment(parent: Mapping[str, str] | None = None) -> dict[str, str]:
    """Return the environment of a worker: an allow-list of the parent's variables, no secrets.

    `OPENAI_API_KEY`, every `*_KEY`, `*_TOKEN`, `*_SECRET`, `*PASSWORD*`, `AWS_*` and any
    other variable not on the small allow-list (PATH, LANG, LC_*, TZ, TERM,
    PYOMO_CONFIG_DIR) are dropped; thread counts are fixed to one.
    """
    source = os.environ if parent is None else parent
    env = {
        name: value
        for name, value in source.items()
        if (name in _ALLOWED_VARIABLES or name.startswith(_ALLOWED_PREFIXES))
        and not _SECRET.search(name)
    }
    env.setdefault("PATH", "/usr/bin:/bin")
    env.update(_FIXED)
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
