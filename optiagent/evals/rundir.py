"""The files of one evaluation run, and how they are written so a killed run can resume.

    DIR/config.json      what was run: dataset + hash, rule, system description, versions, date
    DIR/results.jsonl    one line per finished problem, appended and flushed as it finishes
    DIR/traces/<id>.json the full output and trace of one problem
    DIR/report.md, report.json, accuracy_by_category.png

A kill can only cut the last line of results.jsonl short; reading skips such a line and
`open_for_append` truncates it, so the problem simply runs again. A lock file stops two
processes from writing the same directory at once (the lock dies with its process).
"""

from __future__ import annotations

import hashlib
import json
import os
import re
from collections.abc import Mapping
from pathlib import Path
from types import TracebackType
from typing import IO, Any

from optiagent.exceptions import ConfigurationError

__all__ = ["COMPATIBILITY_KEYS", "RunDirectory", "append_line", "config_differences"]

#: Config entries that must be equal for a run to be resumed in the same directory.
COMPATIBILITY_KEYS: tuple[tuple[str, ...], ...] = (
    ("dataset", "name"),
    ("dataset", "version"),
    ("dataset", "sha256"),
    ("rule", "name"),
    ("system",),
)

_UNSAFE = re.compile(r"[^A-Za-z0-9._-]")


def config_differences(old: Mapping[str, Any], new: Mapping[str, Any]) -> list[str]:
    """Return a line per compatibility entry that differs between two run configs."""
    lines: list[str] = []
    for path in COMPATIBILITY_KEYS:
        before, after = _dig(old, path), _dig(new, path)
        if before != after:
            name = ".".join(path)
            lines.append(f"{name}: run has {_short(before)}, now {_short(after)}")
    return lines


class RunDirectory:
    """Reads and writes the files of one run directory."""

    def __init__(self, path: Path) -> None:
        self.path = Path(path)
        self.config_path = self.path / "config.json"
        self.results_path = self.path / "results.jsonl"
        self.traces_dir = self.path / "traces"
        self._lock_handle: IO[str] | None = None

    def exists(self) -> bool:
        """Return True if this directory already holds a run (a config or results)."""
        return self.config_path.is_file() or self.results_path.is_file()

    def read_config(self) -> dict[str, Any] | None:
        """Return the stored config, or None if there is none."""
        if not self.config_path.is_file():
            return None
        try:
            return json.loads(self.config_path.read_text(encoding="utf-8"))
        except json.JSONDecodeError as error:
            raise ConfigurationError(f"{self.config_path} is not valid JSON: {error}") from error

    def write_config(self, config: Mapping[str, Any]) -> None:
        """Write config.json atomically (write a temporary file, then rename)."""
        self.path.mkdir(parents=True, exist_ok=True)
        temporary = self.config_path.with_suffix(".json.tmp")
        temporary.write_text(json.dumps(config, indent=2, default=str) + "\n", encoding="utf-8")
        os.replace(temporary, self.config_path)

    def read_results(self) -> list[dict[str, Any]]:
        """Return every complete result line; a cut-off last line (from a kill) is ignored."""
        if not self.results_path.is_file():
            return []
        text = self.results_path.read_text(encoding="utf-8")
        lines = text.split("\n")
        complete, tail = lines[:-1], lines[-1]
        records: list[dict[str, Any]] = []
        for number, line in enumerate(complete, start=1):
            if not line.strip():
                continue
            try:
                records.append(json.loads(line))
            except json.JSONDecodeError as error:
                raise ConfigurationError(
                    f"{self.results_path}:{number} is not valid JSON ({error.msg}); the file was "
                    "edited or written by two processes - fix or remove that line to resume"
                ) from error
        del tail  # text after the last newline is a line the kill cut short
        return records

    def open_for_append(self) -> IO[str]:
        """Return results.jsonl opened for appending, after dropping a cut-off last line."""
        self.path.mkdir(parents=True, exist_ok=True)
        if self.results_path.is_file():
            with self.results_path.open("rb+") as handle:
                data = handle.read()
                end = data.rfind(b"\n") + 1
                if end != len(data):
                    handle.truncate(end)
        return self.results_path.open("a", encoding="utf-8")

    def trace_name(self, problem_id: str) -> str:
        """Return the trace file path, relative to the run directory, for a problem id."""
        safe = _UNSAFE.sub("_", problem_id)[:80] or "_"
        if safe != problem_id:
            safe += "-" + hashlib.sha256(problem_id.encode()).hexdigest()[:8]
        return f"traces/{safe}.json"

    def write_trace(self, problem_id: str, trace: Mapping[str, Any]) -> str:
        """Write one problem's trace and return its path relative to the run directory."""
        relative = self.trace_name(problem_id)
        target = self.path / relative
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(_dumps(trace), encoding="utf-8")
        return relative

    def lock(self) -> RunDirectory:
        """Take the directory's write lock, or raise ConfigurationError if another run holds it."""
        self.path.mkdir(parents=True, exist_ok=True)
        handle = (self.path / ".lock").open("a+", encoding="utf-8")
        try:
            import fcntl
        except ImportError:  # no advisory locks on this platform; run unlocked
            self._lock_handle = handle
            return self
        try:
            fcntl.flock(handle.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            handle.close()
            raise ConfigurationError(
                f"another optiagent eval is writing {self.path}; wait for it or use another --out"
            ) from None
        self._lock_handle = handle
        return self

    def unlock(self) -> None:
        """Release the write lock (closing the file releases it)."""
        if self._lock_handle is not None:
            self._lock_handle.close()
            self._lock_handle = None

    def __enter__(self) -> RunDirectory:
        return self.lock()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.unlock()


def append_line(handle: IO[str], record: Mapping[str, Any]) -> None:
    """Append one JSON line and flush it to the operating system at once."""
    handle.write(json.dumps(record, default=str, ensure_ascii=False) + "\n")
    handle.flush()


def _dumps(data: Mapping[str, Any]) -> str:
    return json.dumps(data, indent=2, default=repr, ensure_ascii=False) + "\n"


def _dig(data: Mapping[str, Any], path: tuple[str, ...]) -> Any:
    value: Any = data
    for key in path:
        if not isinstance(value, Mapping):
            return None
        value = value.get(key)
    return value


def _short(value: Any) -> str:
    text = json.dumps(value, sort_keys=True, default=str)
    return text if len(text) <= 120 else text[:117] + "..."
