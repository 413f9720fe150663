"""Run exported scripts as subprocesses, several at a time, and read their result protocol."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import pytest

SCRIPT_TIMEOUT_S = 120


@dataclass(frozen=True)
class ScriptRun:
    """What one script printed and how it exited."""

    returncode: int
    stdout: str
    stderr: str

    @property
    def lines(self) -> list[str]:
        """Non-empty stdout lines."""
        return [line for line in self.stdout.splitlines() if line.strip()]

    @property
    def status(self) -> str | None:
        """The word after `status:` (None if no such line)."""
        for line in self.lines:
            if line.startswith("status: "):
                return line.removeprefix("status: ").strip()
        return None

    @property
    def last_line(self) -> str:
        """The script's last line of output."""
        return self.lines[-1] if self.lines else ""

    @property
    def objective(self) -> float | None:
        """The value of the last line `objective: <value>` (None for `objective: None`)."""
        assert self.last_line.startswith("objective: "), self.describe()
        text = self.last_line.removeprefix("objective: ").strip()
        return None if text == "None" else float(text)

    @property
    def values(self) -> dict[str, float]:
        """Every `label = value` line."""
        found = {}
        for line in self.lines:
            label, sep, value = line.partition(" = ")
            if sep and not line.startswith(("status", "objective")):
                found[label] = float(value)
        return found

    def describe(self) -> str:
        """Output for an assertion message."""
        return (
            f"exit {self.returncode}\n--- stdout\n{self.stdout}\n--- stderr\n{self.stderr[-3000:]}"
        )


class ScriptRunner:
    """Writes scripts to a directory and runs each with this interpreter in a thread pool."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory
        self._pool = ThreadPoolExecutor(max_workers=max(2, min(4, os.cpu_count() or 2)))
        self._futures: dict[str, Future[ScriptRun]] = {}

    def submit(self, name: str, source: str) -> Future[ScriptRun]:
        """Start running `source` as `<name>.py` (once per name)."""
        if name not in self._futures:
            path = self.directory / f"{name}.py"
            path.write_text(source)
            self._futures[name] = self._pool.submit(self._run, path)
        return self._futures[name]

    def run(self, name: str, source: str) -> ScriptRun:
        """Run `source` and wait for it."""
        return self.submit(name, source).result()

    def _run(self, path: Path) -> ScriptRun:
        completed = subprocess.run(
            [sys.executable, str(path)],
            capture_output=True,
            text=True,
            timeout=SCRIPT_TIMEOUT_S,
            cwd=self.directory,
            check=False,
        )
        return ScriptRun(completed.returncode, completed.stdout, completed.stderr)

    def close(self) -> None:
        """Stop the pool (running scripts finish first)."""
        self._pool.shutdown(wait=True)


@pytest.fixture(scope="session")
def script_runner(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ScriptRunner]:
    """One runner for the session, so scripts from several test modules overlap."""
    runner = ScriptRunner(tmp_path_factory.mktemp("exported_scripts"))
    yield runner
    runner.close()
