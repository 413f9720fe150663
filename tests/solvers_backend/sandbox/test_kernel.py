"""The kernel layers alone (no audit hook): a confined interpreter cannot escape natively.

Runs a separate interpreter that applies Landlock and seccomp to itself and then tries the
attacks through ctypes and raw os calls, which the audit hook would otherwise catch first.
"""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from optiagent.solvers_backend.sandbox import _kernel, _seccomp
from optiagent.solvers_backend.sandbox.policy import readable_roots

_PROBE = textwrap.dedent(
    """
    import ctypes, json, os, resource, socket, sys
    from optiagent.solvers_backend.sandbox import _kernel, _seccomp
    run_dir, outside, roots, escape = sys.argv[1], sys.argv[2], json.loads(sys.argv[3]), sys.argv[4]
    _kernel.set_no_new_privs()
    layers = [_kernel.apply_landlock(writable=[run_dir], readable=roots,
                                     writable_files=["/dev/null"])]
    if _seccomp.seccomp_supported():
        layers.append(_seccomp.apply_seccomp())
    libc = ctypes.CDLL(None, use_errno=True)
    out = {"layers": layers}
    def attempt(name, action):
        try:
            action()
            out[name] = "allowed"
        except (OSError, ValueError) as error:
            out[name] = f"refused: {error}"
    attempt("write_inside", lambda: open(os.path.join(run_dir, "ok.txt"), "w").write("x"))
    attempt("write_outside", lambda: open(outside, "w").write("x"))
    attempt("read_parent_environ", lambda: open(f"/proc/{os.getppid()}/environ", "rb").read())
    attempt("read_home", lambda: os.listdir(os.path.expanduser("~")))
    attempt("signal_parent", lambda: os.kill(os.getppid(), 0))
    attempt("prlimit_parent", lambda: resource.prlimit(os.getppid(), resource.RLIMIT_AS))
    attempt("renice_parent", lambda: os.setpriority(os.PRIO_PROCESS, os.getppid(), 10))
    attempt("pin_parent", lambda: os.sched_setaffinity(os.getppid(), {0}))
    attempt("chown_outside", lambda: os.chown(outside + ".keep", 0, 0))
    import threading
    box = []
    thread = threading.Thread(target=lambda: box.append(1)); thread.start(); thread.join()
    out["thread"] = "allowed" if box else "refused"
    print(json.dumps(out), flush=True)
    escapes = {
        "exec": lambda: os.execv("/bin/true", ["true"]),
        "tcp": lambda: socket.create_connection(("127.0.0.1", 9), timeout=1),
        "unix": lambda: socket.socket(socket.AF_UNIX),
        "native_fork": lambda: libc.fork(),
        "memfd": lambda: os.memfd_create("x"),
        "mknod": lambda: os.mknod(os.path.join(run_dir, "dev"), 0o600 | 0o020000, os.makedev(1, 3)),
    }
    if escape in escapes:
        escapes[escape]()
        print("ESCAPED", flush=True)
    """
)

pytestmark = pytest.mark.skipif(_kernel.landlock_abi() < 1, reason="this kernel has no Landlock")


def _probe(tmp_path: Path, escape: str = "") -> subprocess.CompletedProcess[str]:
    run_dir = tmp_path / "run"
    run_dir.mkdir(exist_ok=True)
    outside = tmp_path / "outside.txt"
    (tmp_path / "outside.txt.keep").write_text("x")
    roots = list(readable_roots())
    return subprocess.run(
        [sys.executable, "-c", _PROBE, str(run_dir), str(outside), json.dumps(roots), escape],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def test_kernel_layers_hold_without_the_audit_hook(tmp_path: Path) -> None:
    completed = _probe(tmp_path)
    assert completed.returncode == 0, completed.stderr
    out = json.loads(completed.stdout)
    assert out["write_inside"] == "allowed"
    assert out["thread"] == "allowed"
    assert (tmp_path / "run" / "ok.txt").exists()
    assert out["write_outside"].startswith("refused") and not (tmp_path / "outside.txt").exists()
    assert out["read_parent_environ"].startswith("refused")
    assert out["read_home"].startswith("refused")
    if _kernel.landlock_abi() >= 6:
        assert out["signal_parent"].startswith("refused")
    if _seccomp.seccomp_supported():
        for name in ("prlimit_parent", "renice_parent", "pin_parent", "chown_outside"):
            assert out[name].startswith("refused"), (name, out[name])


@pytest.mark.skipif(not _seccomp.seccomp_supported(), reason="no seccomp filter here")
@pytest.mark.parametrize("escape", ["exec", "tcp", "unix", "native_fork", "memfd", "mknod"])
def test_escape_calls_kill_the_process(tmp_path: Path, escape: str) -> None:
    completed = _probe(tmp_path, escape)
    assert completed.returncode == -signal.SIGSYS, (completed.returncode, completed.stderr)
    assert "ESCAPED" not in completed.stdout
    assert not (tmp_path / "run" / "dev").exists()
