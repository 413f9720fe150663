"""`optiagent exec`: run a script in the sandbox from the command line."""

from __future__ import annotations

import json
from pathlib import Path

from typer.testing import CliRunner

import optiagent.cli

GOOD = "print('status: optimal')\nprint('objective: 12.5')\nprint('x = 3')\n"


def _invoke(*args: str):  # type: ignore[no-untyped-def]
    return CliRunner().invoke(optiagent.cli.app, ["exec", *args])


def test_exec_prints_output_and_summary(tmp_path: Path) -> None:
    script = tmp_path / "ok.py"
    script.write_text(GOOD)
    result = _invoke(str(script), "--timeout", "20")
    assert result.exit_code == 0, result.output
    assert "objective: 12.5" in result.output
    assert "[ok] status: optimal  objective: 12.5" in result.output


def test_exec_json(tmp_path: Path) -> None:
    script = tmp_path / "ok.py"
    script.write_text(GOOD)
    result = _invoke(str(script), "--json", "--cold")  # the format is the same on both paths
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert data["exit_reason"] == "ok"
    assert data["reported"] == {
        "status": "optimal", "raw_status": "optimal", "objective": 12.5, "answer": None,
        "values": {"x": 3.0},
    }  # fmt: skip


def test_exec_failure_exits_1_with_feedback(tmp_path: Path) -> None:
    script = tmp_path / "bad.py"
    script.write_text("x = 1\nprint(y)\n")
    result = _invoke(str(script), "--cold")
    assert result.exit_code == 1
    assert "line 2: `print(y)`" in result.output
    assert "NameError" in result.output


def test_exec_rejects_and_checks(tmp_path: Path) -> None:
    script = tmp_path / "evil.py"
    script.write_text("import subprocess\nsubprocess.run(['ls'])\n")
    assert _invoke(str(script)).exit_code == 1
    checked = _invoke("--check-only", str(script))
    assert checked.exit_code == 1 and "import subprocess is not allowed" in checked.output
    script.write_text(GOOD)
    assert _invoke("--check-only", str(script)).exit_code == 0


def test_exec_timeout_and_data_files(tmp_path: Path) -> None:
    script = tmp_path / "slow.py"
    script.write_text("import time\nprint(open('d.txt').read())\ntime.sleep(30)\n")
    data = tmp_path / "d.txt"
    data.write_text("hello-data")
    result = _invoke(str(script), "--timeout", "1", "--file", str(data), "--json")
    assert result.exit_code == 1
    payload = json.loads(result.stdout)
    assert payload["exit_reason"] == "timeout" and "hello-data" in payload["stdout"]


def test_exec_cold(tmp_path: Path) -> None:
    script = tmp_path / "ok.py"
    script.write_text(GOOD)
    result = _invoke(str(script), "--cold")
    assert result.exit_code == 0 and "cold worker" in result.output


def test_exec_missing_script_is_a_usage_error(tmp_path: Path) -> None:
    result = _invoke(str(tmp_path / "nope.py"))
    assert result.exit_code == 2
    assert "no such script" in result.output
