"""`optiagent datasets list / show` through the real command line."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

from typer.testing import CliRunner

from optiagent.cli import app

runner = CliRunner()


def test_list_json_has_counts_defaults_and_file_hashes(data_dir: Path) -> None:
    result = runner.invoke(app, ["datasets", "list", "--data-dir", str(data_dir), "--json"])
    assert result.exit_code == 0, result.output
    rows = json.loads(result.stdout)
    by_key = {(r["name"], r["version"]): r for r in rows}
    optibench = by_key[("optibench", "ReSocratic")]
    assert optibench["count"] == 605 and optibench["default"] is True
    digest = hashlib.sha256((data_dir / "optibench/ReSocratic/OptiBench.json").read_bytes())
    assert optibench["sha256"] == digest.hexdigest()
    assert by_key[("optibench", "LLMOPT")]["default"] is False
    assert sum(r["default"] for r in rows) == 11
    assert all({"name", "version", "count", "default", "sha256"} <= set(r) for r in rows)


def test_list_uses_the_environment_setting(data_dir: Path, monkeypatch) -> None:
    monkeypatch.setenv("OPTIAGENT_DATA_DIR", str(data_dir))
    result = runner.invoke(app, ["datasets", "list"])
    assert result.exit_code == 0, result.output
    assert "optibench" in result.stdout and "LLMOPT_corrected" in result.stdout


def test_list_without_data_dir_still_shows_the_catalog() -> None:
    result = runner.invoke(app, ["datasets", "list", "--json"])
    assert result.exit_code == 0, result.output
    rows = json.loads(result.stdout)
    assert rows and not any(r["available"] for r in rows)
    assert all(r["upstream"].startswith("github.com/") for r in rows)


def test_list_with_a_missing_folder_fails_clearly(tmp_path: Path) -> None:
    result = runner.invoke(app, ["datasets", "list", "--data-dir", str(tmp_path / "absent")])
    assert result.exit_code == 2
    assert "does not exist" in result.output


def test_show_prints_one_problem(data_dir: Path) -> None:
    args = ["datasets", "show", "optibench", "4", "--data-dir", str(data_dir)]
    result = runner.invoke(app, args)
    assert result.exit_code == 0, result.output
    assert "ground truth: 2" in result.stdout and "<- objective" in result.stdout
    as_json = runner.invoke(app, [*args, "--json"])
    record = json.loads(as_json.stdout)
    assert record["id"] == "4" and record["ground_truth"]["value"] == 2


def test_show_with_version_and_unknown_id(data_dir: Path) -> None:
    ok = runner.invoke(
        app, ["datasets", "show", "nl4opt", "0", "--version", "SIRL", "--data-dir", str(data_dir)]
    )
    assert ok.exit_code == 0 and "nl4opt/SIRL #0" in ok.stdout
    bad = runner.invoke(app, ["datasets", "show", "nl4opt", "x9", "--data-dir", str(data_dir)])
    assert bad.exit_code == 2 and "no problem with id 'x9'" in bad.output


def test_show_without_id_lists_ids(data_dir: Path) -> None:
    result = runner.invoke(app, ["datasets", "show", "complexor", "--data-dir", str(data_dir)])
    assert result.exit_code == 0
    assert len(result.stdout.strip().splitlines()) == 18
