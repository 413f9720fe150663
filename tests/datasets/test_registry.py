"""Data directory resolution, names, versions, and the errors a user sees."""

from __future__ import annotations

from dataclasses import fields
from pathlib import Path

import pytest

from optiagent.datasets import (
    GroundTruth,
    Problem,
    Task,
    find_version,
    load_dataset,
    resolve_data_dir,
    select,
)
from optiagent.exceptions import ConfigurationError, DatasetError


def test_data_dir_order_explicit_then_setting(tmp_path: Path) -> None:
    other = tmp_path / "other"
    other.mkdir()
    assert resolve_data_dir(tmp_path, other) == tmp_path
    assert resolve_data_dir(None, other) == other


def test_no_data_dir_says_where_sets_come_from() -> None:
    with pytest.raises(ConfigurationError, match="OPTIAGENT_DATA_DIR") as info:
        resolve_data_dir(None, None)
    assert "does not ship benchmark data" in str(info.value)


def test_missing_data_dir_is_named(tmp_path: Path) -> None:
    with pytest.raises(ConfigurationError, match="--data-dir"):
        resolve_data_dir(tmp_path / "nope")


def test_missing_file_names_its_upstream(tmp_path: Path) -> None:
    with pytest.raises(DatasetError) as info:
        load_dataset("optibench", None, tmp_path)
    message = str(info.value)
    assert "optibench/ReSocratic/OptiBench.json" in message
    assert "github.com/yangzhch6/ReSocratic" in message


def test_unknown_names_suggest_close_ones() -> None:
    with pytest.raises(ConfigurationError, match="Did you mean 'optibench'"):
        find_version("optibnch")
    with pytest.raises(ConfigurationError, match="Did you mean 'SIRL'"):
        find_version("nl4opt", "SIRLL")
    assert find_version("extras/logior").dataset == "logior"
    assert find_version("nl4opt", "sirl").version == "SIRL"


def test_select_by_ids_and_limit() -> None:
    truth = GroundTruth(kind="value", value=1.0)
    problems = [
        Problem("d", "v", str(i), f"q{i}", truth, None, False, "f", i + 1) for i in range(5)
    ]
    assert [p.id for p in select(problems, ["3", "1", "3"], None)] == ["3", "1"]
    assert [p.id for p in select(problems, None, 2)] == ["0", "1"]
    with pytest.raises(ConfigurationError, match="unknown problem ids: 9"):
        select(problems, ["9"], None)


def test_task_structurally_has_no_answer() -> None:
    names = {f.name for f in fields(Task)}
    assert names == {"dataset", "version", "id", "question", "requested", "attachments"}
    truth = GroundTruth(kind="value", value=123456.789, requested={"Total": 123456.789})
    problem = Problem("d", "v", "7", "How much?", truth, "LP", False, "f", 1, extra={"x": 1})
    task = problem.task()
    assert not hasattr(task, "ground_truth") and not hasattr(task, "extra")
    assert "123456" not in repr(task) and task.requested == ("Total",)


def test_ground_truth_rejects_inconsistent_records() -> None:
    with pytest.raises(ValueError):
        GroundTruth(kind="value")
    with pytest.raises(ValueError):
        GroundTruth(kind="infeasible", value=1.0)
    with pytest.raises(ValueError):
        GroundTruth(kind="value", value=float("inf"))
