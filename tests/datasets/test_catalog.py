"""Every set and version loads with the counts of the data README, every answer accounted for."""

from __future__ import annotations

import json
import math
from pathlib import Path

import pytest

from optiagent.datasets import find_version, list_versions, load_dataset
from optiagent.datasets.readers import read_csv
from optiagent.datasets.records import GroundTruth

# (dataset, version, problems, infeasible, missing): counts from the data README's tables and
# the PROVENANCE files ("No Best Solution", -9999/-99999 markers, null / {} answers).
EXPECTED = [
    ("optibench", "ReSocratic", 605, 0, 5),
    ("optibench", "LLMOPT", 605, 0, 0),
    ("optibench", "LLM4OR_clean", 403, 0, 0),
    ("optmath_bench", "OptMATH", 166, 0, 0),
    ("optmath_bench", "OptiMind_cleaned", 128, 0, 0),
    ("optmath_bench", "LLMOPT", 166, 0, 0),
    ("optmath_bench", "SIRL", 193, 0, 0),
    ("nl4opt", "LLMOPT", 230, 0, 0),
    ("nl4opt", "SIRL", 245, 17, 0),
    ("nl4opt", "OptMATH", 245, 17, 0),
    ("nl4opt", "or_llm_agent", 245, 22, 0),
    ("nl4opt", "ReSocratic", 289, 0, 0),
    ("nl4opt", "nl4opt-competition", 289, 0, 289),
    ("mamo_easy", "SIRL", 642, 1, 0),
    ("mamo_easy", "LLMOPT", 652, 0, 0),
    ("mamo_easy", "OptMATH", 652, 0, 0),
    ("mamo_easy", "Mamo", 652, 0, 0),
    ("mamo_easy", "LLM4OR_clean", 545, 0, 0),
    ("mamo_complex", "OptiMind_cleaned", 210, 0, 0),
    ("mamo_complex", "SIRL", 203, 1, 0),
    ("mamo_complex", "OptMATH", 211, 0, 0),
    ("mamo_complex", "Mamo", 211, 0, 0),
    ("mamo_complex", "LLMOPT", 211, 0, 0),
    ("mamo_complex", "LLM4OR_clean", 111, 0, 0),
    ("industryor", "OptiMind_cleaned", 99, 0, 0),
    ("industryor", "SIRL", 100, 0, 0),
    ("industryor", "ORThought", 83, 0, 1),
    ("industryor", "or_llm_agent", 100, 0, 0),
    ("industryor", "LLM4OR", 100, 3, 0),
    ("industryor", "LLMOPT", 100, 3, 0),
    ("industryor", "LLM4OR_clean", 42, 0, 0),
    ("nlp4lp", "ORThought", 264, 0, 22),
    ("nlp4lp", "LLMOPT", 242, 0, 0),
    ("nlp4lp", "LLM4OR", 269, 0, 27),
    ("nlp4lp", "LLM4OR_clean", 178, 0, 0),
    ("complexor", "LLMOPT_corrected", 18, 1, 0),
    ("complexor", "LLMOPT", 18, 0, 0),
    ("complexor", "ORThought", 18, 1, 0),
    ("complexor", "Chain-of-Experts", 18, 0, 0),
    ("icml2024_task3", "LLMOPT", 410, 0, 0),
    ("logior", "ORThought", 92, 0, 0),
    ("bwor", "or_llm_agent", 82, 2, 0),
]

DEFAULTS = {
    "optibench": "ReSocratic",
    "optmath_bench": "OptMATH",
    "nl4opt": "LLMOPT",
    "mamo_easy": "SIRL",
    "mamo_complex": "OptiMind_cleaned",
    "industryor": "OptiMind_cleaned",
    "nlp4lp": "ORThought",
    "complexor": "LLMOPT_corrected",
    "icml2024_task3": "LLMOPT",
    "logior": "ORThought",
    "bwor": "or_llm_agent",
}


def test_catalog_lists_exactly_the_expected_versions() -> None:
    listed = {(spec.dataset, spec.version) for spec in list_versions()}
    assert listed == {(name, version) for name, version, *_ in EXPECTED}


def test_default_versions_are_the_readme_recommendations() -> None:
    defaults = {spec.dataset: spec.version for spec in list_versions() if spec.default}
    assert defaults == DEFAULTS
    assert find_version("nlp4lp").version == "ORThought"


@pytest.mark.parametrize(("name", "version", "count", "infeasible", "missing"), EXPECTED)
def test_version_loads_with_readme_counts(
    data_dir: Path, name: str, version: str, count: int, infeasible: int, missing: int
) -> None:
    data = load_dataset(name, version, data_dir)
    assert len(data) == count
    kinds = data.ground_truth_counts()
    assert kinds.get("infeasible", 0) == infeasible
    assert kinds.get("missing", 0) == missing
    assert kinds.get("value", 0) == count - infeasible - missing
    for problem in data.problems:
        _check_truth(problem.ground_truth)
        assert problem.question.strip(), problem.id
        assert (problem.dataset, problem.version) == (name, version)
        assert problem.source_file.startswith(tuple(data.spec.paths))
        assert problem.source_line is None or problem.source_line >= 1
    assert len({p.id for p in data.problems}) == count
    assert len(data.sha256) == 64


def _check_truth(truth: GroundTruth) -> None:
    """Every answer is a finite number, a status, or flagged missing with a reason."""
    if truth.kind == "value":
        assert truth.value is not None and math.isfinite(truth.value)
        assert all(math.isfinite(v) for v in truth.alternatives)
    elif truth.kind == "missing":
        assert truth.note, "a missing ground truth must say why"
        assert truth.value is None
    else:
        assert truth.kind in ("infeasible", "unbounded") and truth.value is None


@pytest.mark.parametrize(
    ("name", "version", "question_field"),
    [
        ("optibench", "ReSocratic", "question"),
        ("optmath_bench", "OptMATH", "en_question"),
        ("nl4opt", "SIRL", "en_question"),
        ("mamo_easy", "Mamo", "Question"),
        ("bwor", "or_llm_agent", "en_question"),
    ],
)
def test_source_line_points_at_the_record(
    data_dir: Path, name: str, version: str, question_field: str
) -> None:
    data = load_dataset(name, version, data_dir)
    decoder = json.JSONDecoder()
    lines = (data_dir / data.spec.main_path).read_text(encoding="utf-8").splitlines(keepends=True)
    for problem in data.problems[:: max(1, len(data) // 25)]:
        assert problem.source_line is not None
        text = "".join(lines[problem.source_line - 1 :]).lstrip()
        record, _ = decoder.raw_decode(text)
        assert record[question_field].strip() == problem.question


def test_csv_rows_keep_their_line_and_skip_blank_placeholders(data_dir: Path) -> None:
    data = load_dataset("optmath_bench", "OptiMind_cleaned", data_dir)
    assert [s.reason for s in data.skipped] == [
        "blank placeholder row (no question, no answer)"
    ] * 2
    ids = {p.id for p in data.problems}
    assert "67" not in ids and "76" not in ids and {"0", "66", "68", "129"} <= ids
    rows = read_csv(data_dir / data.spec.main_path)
    assert rows[68].line == data.get("68").source_line


def test_ids_follow_the_record_id_rule(data_dir: Path) -> None:
    assert load_dataset("optibench", "ReSocratic", data_dir).problems[0].id == "0"
    assert load_dataset("optibench", "LLMOPT", data_dir).problems[0].id == "1"
    assert load_dataset("mamo_easy", "Mamo", data_dir).problems[-1].id == "652"
    assert [p.id for p in load_dataset("nl4opt", "SIRL", data_dir).problems[:2]] == ["0", "1"]
    assert load_dataset("nlp4lp", "ORThought", data_dir).problems[0].id == "prob_000"
    assert load_dataset("complexor", "Chain-of-Experts", data_dir).get("multi").id == "multi"
    assert load_dataset("nlp4lp", "LLM4OR", data_dir).problems[10].id == "10"
