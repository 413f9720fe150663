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
a prompt injection in a problem text. The sandbox keeps such code from (1) reading the
caller's secrets (API keys in the environment, files in the home or project folder, other
processes' or other runs' memory), (2) reaching the network, (3) starting programs or
processes, (4) changing anything outside a throw-away folder, (5) exhausting the machine
(CPU, memory, output, disk, processes) or hanging the caller, (6) taking the caller or the
worker down with it, and (7) forging its own outcome. The rule: every guarantee holds with
the audit hook removed; the hook only words the refusals early and precisely. The table of
guarantees and the layer enforcing each is docs/SANDBOX.md; in short, from the outside in:

1. Static check (`check_code`): imports outside `ALLOWED_IMPORTS`, eval/exec/compile,
   dunders, unavailable solvers. Clear feedback; not a boundary.
2. Isolated start: each family's zygote is `python -I -B` (only the installed packages can be
   imported), in a private 0700 folder, with an environment from a fixed list (nothing of
   the caller's), never forked from the caller. The parent writes each run's folder (code,
   data, empty stdout/stderr files, a report pipe it reads itself): the zygote never holds a
   run's code, data or output.
3. Namespaces (Linux, `unshare`/`setns`): each run is process 1 of its own PID namespace,
   with its own mount, IPC and user namespaces, inside its worker's network namespace: no
   network, no other process visible, every mount read-only but its work folder, /tmp,
   /run, homes and other runs hidden, a /proc of its own.
4. Landlock (reads only of the Python installation, packages, system libraries; writes only
   in the work folder; no execute) and a seccomp allow-list (x86_64): processes, execve,
   sockets, mknod, memfd, namespaces, mounts, ptrace, keyrings, bpf, io_uring kill the run
   (SIGSYS: reported `blocked`); prlimit, priority, affinity and scheduler calls act only on
   the caller; capabilities dropped.
5. Limits: RLIMIT_CPU, RLIMIT_AS, RLIMIT_FSIZE, RLIMIT_CORE=0, RLIMIT_NOFILE, RLIMIT_NPROC
   (per user namespace); the zygote SIGKILLs the process group at the wall clock or when
   the output files pass the limit; a zygote whose priority, affinity, scheduler or rlimits
   changed is replaced, and a run that failed at set-up is retried once on a fresh one.
6. Verdict: the parent decides the exit reason from the exit status, the signal and the
   zygote's kills; the child's report lines are claims, worded from a fixed vocabulary.
7. Audit hook (`sys.addaudithook`, installed last): refuses sockets, subprocesses, forks,
   signals to others, ctypes, gc heap inspection, rlimit changes, code replacement, file
   access outside the allowed roots, and words each refusal for the model. Feedback only:
   a program can subvert a Python-level hook, and nothing above depends on it. The testing
   switch OPTIAGENT_SANDBOX_AUDIT_HOOK=off (read when a `Sandbox` is created) runs without it.

Where a layer is unavailable (no user namespaces, no Landlock, not x86_64), the sandbox says so
in `Sandbox.worker_info()["protections"]` and `optiagent exec --json`; docs/SANDBOX.md lists
what still holds. Best effort throughout: disk use is capped per file, not in total; the code
can read what the readable roots hold; kernel exploits are out of scope; external solver
executables cannot run.
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
