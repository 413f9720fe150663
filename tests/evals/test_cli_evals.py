"""`optiagent eval` through the real command line: run (both forms), score, compare, report."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from optiagent.cli import app
from optiagent.datasets import load_dataset

runner = CliRunner()


@pytest.fixture
def predictions(data_dir: Path, tmp_path: Path) -> Path:
    """A predictions file for nl4opt: right on three ids in four, wrong on the rest."""
    path = tmp_path / "predictions.jsonl"
    data = load_dataset("nl4opt", None, data_dir)
    with path.open("w", encoding="utf-8") as handle:
        for i, problem in enumerate(data.problems):
            value = problem.ground_truth.value if i % 4 else -1
            handle.write(json.dumps({"id": problem.id, "prediction": value}) + "\n")
    return path


def _run(*args: str) -> dict:
    result = runner.invoke(app, [*args, "--json"])
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


def test_shorthand_run_and_resume_with_the_run_subcommand(
    data_dir: Path, predictions: Path, tmp_path: Path
) -> None:
    common = ["--system", "replay", "-O", f"predictions={predictions}", "--data-dir", str(data_dir)]
    out = str(tmp_path / "run")
    first = _run("eval", "nl4opt", *common, "--out", out, "--limit", "8")
    assert first["overall"]["problems"] == 8 and first["overall"]["correct"] == 6
    assert first["run"]["dataset"] == "nl4opt" and first["run"]["version"] == "LLMOPT"
    second = _run("eval", "run", "nl4opt", *common, "--out", out, "--resume", "--limit", "12")
    assert second["overall"]["problems"] == 12
    lines = (tmp_path / "run" / "results.jsonl").read_text().splitlines()
    assert len(lines) == 12 and len({json.loads(x)["id"] for x in lines}) == 12
    config = json.loads((tmp_path / "run" / "config.json").read_text())
    assert config["dataset"]["sha256"] == load_dataset("nl4opt", None, data_dir).sha256
    assert config["system"]["name"] == "replay" and config["rule"]["name"] == "rel1e-6"
    for name in ("report.md", "report.json", "accuracy_by_category.png"):
        assert (tmp_path / "run" / name).is_file()


def test_options_before_the_dataset_and_ids(
    data_dir: Path, predictions: Path, tmp_path: Path
) -> None:
    report = _run(
        "eval",
        "--ids",
        "3,1",
        "--ids",
        "2",
        "nl4opt",
        "--system",
        "replay",
        "-O",
        f"predictions={predictions}",
        "--data-dir",
        str(data_dir),
        "--out",
        str(tmp_path / "ids"),
        "--rule",
        "orlm_5pct",
    )
    assert report["overall"]["problems"] == 3 and report["run"]["rule"] == "orlm_5pct"


def test_score_json(data_dir: Path, predictions: Path) -> None:
    summary = _run("eval", "score", "nl4opt", str(predictions), "--data-dir", str(data_dir))
    assert {"total", "correct", "accuracy", "rule", "by_category"} <= set(summary)
    assert summary["total"] == 230 and summary["correct"] == 172
    assert summary["rule"] == "rel1e-6"
    text = runner.invoke(
        app, ["eval", "score", "nl4opt", str(predictions), "--data-dir", str(data_dir)]
    )
    assert text.exit_code == 0 and "accuracy 74.8% (172/230" in text.stdout


def test_score_rejects_unknown_ids(data_dir: Path, tmp_path: Path) -> None:
    path = tmp_path / "bad.jsonl"
    path.write_text('{"id": "nope", "prediction": 1}\n', encoding="utf-8")
    result = runner.invoke(app, ["eval", "score", "nl4opt", str(path), "--data-dir", str(data_dir)])
    assert result.exit_code == 2 and "not in nl4opt/LLMOPT" in result.output


def test_compare_and_report(data_dir: Path, predictions: Path, tmp_path: Path) -> None:
    common = ["--system", "replay", "-O", f"predictions={predictions}", "--data-dir", str(data_dir)]
    _run("eval", "nl4opt", *common, "--out", str(tmp_path / "a"), "--limit", "10")
    _run(
        "eval",
        "nl4opt",
        *common,
        "--out",
        str(tmp_path / "b"),
        "--limit",
        "10",
        "--rule",
        "orlm_5pct",
    )
    comparison = _run("eval", "compare", str(tmp_path / "a"), str(tmp_path / "b"))
    assert comparison["groups"]["all"]["a"]["problems"] == 10
    assert any("scoring rules" in w for w in comparison["warnings"])
    table = runner.invoke(app, ["eval", "compare", str(tmp_path / "a"), str(tmp_path / "b")])
    assert table.exit_code == 0 and "right in B only" in table.stdout
    (tmp_path / "a" / "report.md").unlink()
    rebuilt = runner.invoke(app, ["eval", "report", str(tmp_path / "a")])
    assert rebuilt.exit_code == 0 and (tmp_path / "a" / "report.md").is_file()


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["eval", "nl4opt", "--system", "orlm"], "'orlm' is not available"),
        (["eval", "nl4opt", "--system", "replay", "--resume"], "--resume needs --out"),
        (["eval", "nl4opt", "--rule", "rel1e6"], "unknown scoring rule"),
        (["eval", "nl4opt", "--version", "SIRLL"], "Did you mean 'SIRL'"),
    ],
)
def test_errors_are_one_clear_line(data_dir: Path, args: list[str], message: str) -> None:
    result = runner.invoke(app, [*args, "--data-dir", str(data_dir)])
    assert result.exit_code == 2
    assert message in " ".join(result.output.split())


def test_rules_and_systems_are_listed() -> None:
    rules = runner.invoke(app, ["eval", "rules", "--json"])
    assert [r["name"] for r in json.loads(rules.stdout)][:2] == ["rel1e-6", "norm1e-6"]
    systems = runner.invoke(app, ["eval", "systems"])
    assert systems.exit_code == 0 and "replay" in systems.stdout


def test_agent_without_an_api_key_says_how_to_give_one(
    data_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)
    monkeypatch.delenv("OPENAI_BASE_URL", raising=False)
    result = runner.invoke(app, ["eval", "nl4opt", "--data-dir", str(data_dir)])
    assert result.exit_code == 2
    assert "set OPENAI_API_KEY" in " ".join(result.output.split())
