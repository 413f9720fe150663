"""The sandbox for LLM-generated Pyomo / OR-Tools code.

    from optiagent.solvers_backend.sandbox import Sandbox, Limits

    with Sandbox() as sandbox:
        result = sandbox.run(code, limits=Limits(wall_seconds=20))
        result.exit_reason          # ok, error, timeout, memory_limit, blocked, ...
        result.reported.status      # from the `status:` / `objective:` lines it printed
        result.reported.objective
        result.feedback()           # what failed, where, what to do: for the LLM

Public API: `Sandbox` (warm worker pool; `run`, `arun`, `close`), `Limits`, `ExitReason`,
`ExecutionResult`, `ExecutionError`, `check_code` / `CodeIssue` (static check),
`detect_family`, `parse_reported_result` / `ReportedResult` (the result protocol),
`rejected_result` (the result for refused code), `run_script_cold` (plain
`python script.py`, for debugging and baselines),
`worker_environment`, `ALLOWED_IMPORTS`.

Threat model
------------
The code is untrusted: written by a language model that may be wrong, careless, or steered by
a prompt injection in a problem text. The sandbox aims to keep such code from (1) reading the
caller's secrets (API keys in the environment, files in the home or project folder, other
processes' memory), (2) reaching the network, (3) starting programs or processes, (4)
changing or deleting files outside a throw-away folder, (5) exhausting the machine (CPU,
memory, output, disk, processes) or hanging the caller, and (6) taking the caller down with
it. It runs as the calling user; it is not a container or VM, and it does not defend against
kernel exploits. Layers, from the outside in:

1. Static check (`check_code`, before anything runs): imports outside `ALLOWED_IMPORTS`,
   eval/exec/compile/__import__/input, dunder attributes and names, unavailable solvers.
   Gives the clearest feedback; bypassable by building names at run time, so not a boundary.
2. Process isolation: each family has a zygote started as a fresh interpreter (never forked
   from the caller) whose environment is an allow-list (PATH, LANG, LC_*, TZ, TERM,
   PYOMO_CONFIG_DIR): no OPENAI_API_KEY, no *_KEY / *_TOKEN / *_SECRET / AWS_* variable, so
   no secret is in its memory either. Each run is a child forked from it, in a new session,
   with a fresh temporary directory as cwd, HOME and TMPDIR (removed afterwards), stdin from
   /dev/null, every inherited file descriptor closed, and a parent-death signal.
3. Limits: RLIMIT_CPU, RLIMIT_AS, RLIMIT_FSIZE, RLIMIT_CORE=0, RLIMIT_NOFILE, and
   RLIMIT_NPROC when not running as root (root ignores it); the wall clock and the output
   size are enforced by the zygote, which SIGKILLs the child's whole process group (this
   works even when a solver is stuck in native code).
4. Kernel filters (Linux; probed at start-up, reported by `Sandbox.worker_info()`):
   Landlock: writes, creation, renames and deletions only beneath the run directory; reads
   only beneath the Python installation, the imported packages' folders, system library
   folders, a few /etc files and the process's own /proc entry (so not the home or project
   folders, /tmp, or /proc/<other pid>/environ); no execve; no TCP connect/bind (ABI >= 4);
   no signals to, or abstract Unix sockets of, processes outside the sandbox (ABI >= 6).
   seccomp-bpf (x86_64 only): no fork/vfork/clone of a process (threads are fine), no
   execve, no sockets other than AF_UNIX (so no UDP/DNS either), no ptrace or
   process_vm_readv/writev, no mount/reboot/kexec/bpf/io_uring/keyctl/... These hold
   against native code inside allowed libraries.
5. Audit hook (`sys.addaudithook`, installed last, best effort): refuses socket creation
   and name resolution, subprocess/os.system/os.exec*/posix_spawn/fork, signals to other
   processes, ctypes (load, call, raw memory), gc heap inspection, setrlimit, replacing
   a function's code, writes/deletes/renames outside the run directory, and reads outside the
   readable roots, and reports each refusal as a precise sentence (exit reason `blocked`,
   even if the code caught the exception). It sees only what CPython audits: native code
   raises no events, and a Python-level hook can in principle be subverted from Python
   (e.g. through numpy's raw memory interfaces), which is why layers 3 and 4 exist.

What stays best effort: on kernels without Landlock, or architectures other than x86_64
(no seccomp filter), layers 1, 3 and 5 remain, so native code could reach the network or the
file system; UDP is blocked only by seccomp; disk use is capped per file (RLIMIT_FSIZE), not
in total; the code can still read what the readable roots hold (the Python installation and
system libraries) and print it; and external solver executables (glpk, cbc, ipopt) cannot
run, because starting programs is refused.
"""

from optiagent.solvers_backend.sandbox.checks import (
    ALLOWED_IMPORTS,
    AVAILABLE_PYOMO_SOLVERS,
    CodeIssue,
    check_code,
    detect_family,
)
from optiagent.solvers_backend.sandbox.cold import run_script_cold
from optiagent.solvers_backend.sandbox.policy import worker_environment
from optiagent.solvers_backend.sandbox.pool import FAMILY_NAMES, Sandbox, rejected_result
from optiagent.solvers_backend.sandbox.reported import (
    REPORTED_STATUSES,
    ReportedResult,
    normalize_status,
    parse_reported_result,
)
from optiagent.solvers_backend.sandbox.results import (
    ExecutionError,
    ExecutionResult,
    ExitReason,
    Limits,
)

__all__ = [
    "ALLOWED_IMPORTS",
    "AVAILABLE_PYOMO_SOLVERS",
    "FAMILY_NAMES",
    "REPORTED_STATUSES",
    "CodeIssue",
    "ExecutionError",
    "ExecutionResult",
    "ExitReason",
    "Limits",
    "ReportedResult",
    "Sandbox",
    "check_code",
    "detect_family",
    "normalize_status",
    "parse_reported_result",
    "rejected_result",
    "run_script_cold",
    "worker_environment",
]
