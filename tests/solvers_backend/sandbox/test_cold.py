"""run_script_cold: plain `python script.py` with limits, for debugging and baselines."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from optiagent.solvers_backend.sandbox import Limits, run_script_cold


def test_cold_run_reads_the_protocol(tmp_path: Path) -> None:
    script = tmp_path / "model.py"
    script.write_text(
        "import csv\nrows = list(csv.reader(open('d.csv')))\nprint('status: optimal')\nprint(f'objective: {len(rows)}')\n"
    )
    result = run_script_cold(script, files={"d.csv": "a\nb\n"})
    assert result.exit_reason == "ok", result.feedback()
    assert result.reported.objective == 2.0


def test_cold_run_has_no_secrets(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OPENAI_API_KEY", "sk-test-secret")
    result = run_script_cold("import os\nprint(sorted(os.environ))")
    assert "OPENAI_API_KEY" not in result.stdout and result.ok


def test_cold_error_line_comes_from_the_traceback() -> None:
    result = run_script_cold("x = 1\ny = x / 0\n")
    assert result.exit_reason == "error"
    assert result.error is not None
    assert (result.error.type, result.error.line, result.error.source) == (
        "ZeroDivisionError", 2, "y = x / 0",
    )  # fmt: skip


def test_cold_timeout_kills_the_process_group() -> None:
    result = run_script_cold("import time\ntime.sleep(30)", limits=Limits(wall_seconds=1))
    assert result.exit_reason == "timeout"
    assert result.wall_time_s < 5


def test_cold_memory_limit() -> None:
    result = run_script_cold("x = bytearray(10 * 1024**3)", limits=Limits(memory_bytes=1024**3))
    assert result.exit_reason == "memory_limit"


def test_cold_run_leaves_no_directory() -> None:
    result = run_script_cold("import os\nprint(os.getcwd())")
    assert not os.path.exists(result.stdout.strip())
