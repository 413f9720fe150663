"""The sentences that say what the sandbox refused, from a fixed vocabulary.

The audit hook in the child reports a refusal as an event name and a target (a path, an
address, a command); the parent turns it into a sentence here. The child is untrusted (the
program can write to the same channel), so the parent never shows its text verbatim: the
event must be one of the known ones, and the target is reduced to plain printable
characters, cut to a short length and quoted. A forged line can therefore only add one of
these sentences about its own run, never arbitrary words. Standard library only.
"""

from __future__ import annotations

__all__ = ["KERNEL_REFUSAL", "describe", "sanitise_target"]

_MAX_TARGET = 120
_NETWORK = "; generated code must not use the network: put the data in the code"
_OUTSIDE = "outside its working directory"

# event -> sentence; `{target}` is the sanitised, quoted target ('' when there is none).
_SENTENCES = {
    "open:write": "the code tried to write the file {target} " + _OUTSIDE + "; write files "
    "only with relative paths (they go to a temporary folder that is deleted afterwards), "
    "or print the results instead",
    "open:read": "the code tried to read {target}, " + _OUTSIDE + " and the Python "
    "installation; generated code must take its data from the code itself",
    "proc:read": "the code tried to read {target}, another process's data; generated code "
    "must not inspect other processes",
    "modify:delete": "the code tried to delete {target} " + _OUTSIDE + "; generated code may "
    "change only files it created itself",
    "modify:rename": "the code tried to rename or move {target} " + _OUTSIDE + "; generated "
    "code may change only files it created itself",
    "modify:change": "the code tried to change {target} " + _OUTSIDE + "; generated code may "
    "change only files it created itself",
    "socket.__new__": "the code tried to open a network connection (socket {target})" + _NETWORK,
    "network": "the code tried to use the network (to {target})" + _NETWORK,
    "spawn": "the code tried to start another program ({target}); generated code must not run "
    "programs: build and solve the model in Python (SolverFactory('highs') or "
    "SolverFactory('scip_direct'), or OR-Tools)",
    "fork": "the code tried to create a new process (os.fork); generated code must run in a "
    "single process",
    "signal": "the code tried to send a signal to process {target}",
    "ctypes": "the code tried to use native code through ctypes ({target}); generated code must "
    "not load or call native libraries",
    "gc": "the code tried to inspect the interpreter's heap ({target})",
    "limits": "the code tried to change its resource limits ({target})",
    "code": "the code tried to replace a function's code object",
    "kernel": "the kernel stopped the program at a forbidden system call (a new process, a "
    "socket, a device node, an anonymous memory file, namespaces, mounts, tracing or "
    "another kernel interface generated code must not use); the sandbox allows only "
    "computation, threads and files in the working directory",
    "report": "the program wrote into the sandbox's report channel (file descriptor 3); "
    "generated code must print its results to stdout",
}

KERNEL_REFUSAL = _SENTENCES["kernel"]
"""The sentence for a run killed by the seccomp filter (SIGSYS)."""


def sanitise_target(target: object) -> str:
    """`target` as printable ASCII without quotes, cut to a short length."""
    text = str(target) if target is not None else ""
    kept = "".join(c if 32 <= ord(c) < 127 and c not in "'\"`\\" else "?" for c in text)
    if len(kept) > _MAX_TARGET:
        kept = kept[: _MAX_TARGET - 3] + "..."
    return kept


def describe(event: object, target: object = "") -> str:
    """The sentence for a refusal of `event` on `target` (a generic one for unknown events)."""
    template = _SENTENCES.get(event) if isinstance(event, str) else None
    if template is None:
        return "the sandbox refused an operation of the code"
    clean = sanitise_target(target)
    return template.format(target=f"'{clean}'" if clean else "").replace(" ()", "")
