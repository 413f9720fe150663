"""Benchmark loaders: every public set in the data directory turned into one `Problem` record.

    from optiagent.datasets import load_dataset, resolve_data_dir
    data = load_dataset("optibench", None, resolve_data_dir("/path/to/datasets"))
    problem = data.get("0")
    problem.ground_truth.value, problem.task().question

`datasets` is a leaf of the package: it reads files and knows no solver, agent or evaluation.
"""

from __future__ import annotations

from optiagent.datasets.ground_truth import parse_answer
from optiagent.datasets.records import GroundTruth, GroundTruthKind, Problem, SkippedRecord, Task
from optiagent.datasets.registry import (
    DATA_SOURCES_HINT,
    Dataset,
    dataset_names,
    find_version,
    list_versions,
    load_dataset,
    resolve_data_dir,
    select,
)
from optiagent.datasets.spec import VersionSpec

__all__ = [
    "DATA_SOURCES_HINT",
    "Dataset",
    "GroundTruth",
    "GroundTruthKind",
    "Problem",
    "SkippedRecord",
    "Task",
    "VersionSpec",
    "dataset_names",
    "find_version",
    "list_versions",
    "load_dataset",
    "parse_answer",
    "resolve_data_dir",
    "select",
]
