"""The kernel layers alone (no audit hook): a confined interpreter cannot escape natively.

Runs a separate interpreter that applies Landlock and seccomp to itself and then tries the
attacks through ctypes and raw os calls, which the audit hook would otherwise catch first.
"""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from optiagent.solvers_backend.sandbox import _kernel
from optiagent.solvers_backend.sandbox.policy import readable_roots

_PROBE = textwrap.dedent(
    """
    import ctypes, json, os, socket, sys
    from optiagent.solvers_backend.sandbox import _kernel
    run_dir, outside, roots = sys.argv[1], sys.argv[2], json.loads(sys.argv[3])
    _kernel.set_no_new_privs()
    layers = [_kernel.apply_landlock(writable=[run_dir], readable=roots,
                                     writable_files=["/dev/null"])]
    if _kernel.seccomp_supported():
        layers.append(_kernel.apply_seccomp())
    libc = ctypes.CDLL(None, use_errno=True)
    out = {"layers": layers}
    def attempt(name, action):
        try:
            action()
            out[name] = "allowed"
        except OSError as error:
            out[name] = f"refused: {error.errno}"
    attempt("write_inside", lambda: open(os.path.join(run_dir, "ok.txt"), "w").write("x"))
    attempt("write_outside", lambda: open(outside, "w").write("x"))
    attempt("read_parent_environ", lambda: open(f"/proc/{os.getppid()}/environ", "rb").read())
    attempt("read_home", lambda: os.listdir(os.path.expanduser("~")))
    attempt("tcp", lambda: socket.create_connection(("127.0.0.1", 9), timeout=1))
    attempt("udp", lambda: socket.socket(socket.AF_INET, socket.SOCK_DGRAM))
    attempt("exec", lambda: os.execv("/bin/true", ["true"]))
    def native_fork():
        pid = libc.fork()
        if pid == 0:
            os._exit(0)
        if pid < 0:
            raise OSError(ctypes.get_errno(), "fork")
        os.waitpid(pid, 0)
    attempt("native_fork", native_fork)
    attempt("signal_parent", lambda: os.kill(os.getppid(), 0))
    import threading
    box = []
    thread = threading.Thread(target=lambda: box.append(1)); thread.start(); thread.join()
    out["thread"] = "allowed" if box else "refused"
    print(json.dumps(out))
    """
)

pytestmark = pytest.mark.skipif(_kernel.landlock_abi() < 1, reason="this kernel has no Landlock")


def test_kernel_layers_hold_without_the_audit_hook(tmp_path: Path) -> None:
    run_dir = tmp_path / "run"
    run_dir.mkdir()
    outside = tmp_path / "outside.txt"
    roots = list(readable_roots())
    completed = subprocess.run(
        [sys.executable, "-c", _PROBE, str(run_dir), str(outside), json.dumps(roots)],
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    out = json.loads(completed.stdout)
    assert out["write_inside"] == "allowed"
    assert out["thread"] == "allowed"
    assert (run_dir / "ok.txt").exists()
    assert out["write_outside"].startswith("refused") and not outside.exists()
    assert out["read_parent_environ"].startswith("refused")
    assert out["read_home"].startswith("refused")
    assert out["exec"].startswith("refused")
    if _kernel.landlock_abi() >= 4 or _kernel.seccomp_supported():
        assert out["tcp"].startswith("refused")
    if _kernel.landlock_abi() >= 6:
        assert out["signal_parent"].startswith("refused")
    if _kernel.seccomp_supported():
        assert out["udp"].startswith("refused")
        assert out["native_fork"].startswith("refused")
