"""What a worker may see: its environment and the files it may read."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest

from optiagent.solvers_backend.sandbox import worker_environment
from optiagent.solvers_backend.sandbox.policy import readable_roots


def test_environment_is_a_fixed_allow_list(monkeypatch: pytest.MonkeyPatch) -> None:
    for name, value in {"OPENAI_API_KEY": "sk-test-secret", "LC_ALL": "C", "LC_SECRET": "x",
                        "PYTHONPATH": "/somewhere", "PATH": "/evil/bin:/usr/bin"}.items():  # fmt: skip
        monkeypatch.setenv(name, value)
    env = worker_environment(home="/private/folder")
    assert env["PATH"] == "/usr/local/bin:/usr/bin:/bin"  # fixed, not the caller's
    assert env["LANG"] == "C.UTF-8"
    assert env["HOME"] == env["TMPDIR"] == "/private/folder"
    assert not any(name.startswith(("LC_", "OPENAI", "PYTHONPATH")) for name in env)
    assert not any("secret" in value or "evil" in value for value in env.values())


def test_thread_counts_are_pinned() -> None:
    env = worker_environment()
    assert env["OMP_NUM_THREADS"] == "1" and env["OPENBLAS_NUM_THREADS"] == "1"
    assert "HOME" not in env


def test_readable_roots_cover_python_but_not_the_project() -> None:
    roots = readable_roots()
    assert os.path.realpath(sys.prefix) in roots
    assert os.path.realpath(sys.base_prefix) in roots
    project = Path(__file__).resolve().parents[3]
    assert str(project) not in roots  # the project folder (and its .env) is not readable
    package = str(project / "optiagent")
    assert package in roots  # but the package itself is
    for private in ("/root", "/home", "/tmp", "/proc", "/etc"):
        assert private not in roots
    assert "/etc/passwd" in roots or not os.path.exists("/etc/passwd")


@pytest.mark.skipif(not os.path.exists("/proc/loadavg"), reason="needs Linux /proc")
def test_nproc_limit_leaves_room_for_every_existing_thread() -> None:
    import resource

    from optiagent.solvers_backend.sandbox._child import _NPROC_HEADROOM, _nproc_limit

    with open("/proc/loadavg") as handle:
        threads_now = int(handle.read().split()[3].split("/")[1])
    soft, hard = _nproc_limit()
    current_soft, current_hard = resource.getrlimit(resource.RLIMIT_NPROC)
    assert hard == current_hard
    assert soft <= current_soft or current_soft == resource.RLIM_INFINITY
    # never below what already runs (else the solver's threads could not start)
    assert soft >= min(threads_now, current_soft if current_soft >= 0 else threads_now)
    if current_soft == resource.RLIM_INFINITY and current_hard == resource.RLIM_INFINITY:
        assert threads_now <= soft <= threads_now + _NPROC_HEADROOM + 64
