"""Loaders for ComplexOR: the Chain-of-Experts folders, ORThought's re-annotation, and the
recommended default (LLMOPT's texts with ORThought's corrected answers).

ComplexOR problems are a symbolic description plus one data instance. The question a system
sees is the description followed by the instance data as JSON, which is how a user would hand
over such a problem; the reference model files are never used. Five original answers are wrong
or ill-posed (complexor/PROVENANCE.md); ORThought's answers fix them, and one of them
(`multi`) is infeasible, which ORThought writes as a null output plus `answer.json` status.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from optiagent.datasets.ground_truth import missing, parse_answer
from optiagent.datasets.loaders import detect_table, load_records
from optiagent.datasets.readers import read_json_records
from optiagent.datasets.records import GroundTruth, Problem
from optiagent.datasets.spec import LoadResult, VersionSpec
from optiagent.exceptions import DatasetError

__all__ = ["load_chain_of_experts", "load_llmopt_corrected", "load_orthought_complexor"]

#: How many leading characters of a description identify a ComplexOR problem.
_MATCH_CHARS = 200


def load_chain_of_experts(spec: VersionSpec, root: Path) -> LoadResult:
    """Load the original per-problem folders (description.txt + sample.json)."""
    base = root / spec.main_path
    problems: list[Problem] = []
    for folder in sorted(p for p in base.iterdir() if p.is_dir()):
        rel = f"{spec.main_path}/{folder.name}"
        description = _read(folder / "description.txt", rel).strip()
        sample = _first_sample(json.loads(_read(folder / "sample.json", rel)), rel)
        question = _render(description, sample.get("input", {}), {})
        truth = _output_truth(sample, answer_file=None)
        problems.append(_problem(spec, folder.name, question, truth, f"{rel}/description.txt", 1))
    return LoadResult(problems)


def load_orthought_complexor(spec: VersionSpec, root: Path) -> LoadResult:
    """Load ORThought's re-annotated ComplexOR (summary_complexor.json + answer.json files)."""
    answers_dir = root / spec.paths[1]
    problems: list[Problem] = []
    for record in read_json_records(root / spec.main_path):
        entry = _entry(record.data, spec.main_path, record.line)
        key = str(record.key)
        sample = _first_sample(entry.get("sample"), f"{spec.main_path}:{record.line}")
        values, notes = _split_inputs(sample.get("input", {}))
        question = _render(str(entry.get("description", "")).strip(), values, notes)
        truth = _output_truth(sample, answer_file=answers_dir / key / "answer.json")
        problems.append(
            _problem(
                spec,
                key,
                question,
                truth,
                spec.main_path,
                record.line,
                category=entry.get("problem_type"),
                extra={k: entry[k] for k in ("details", "problem_size") if k in entry},
            )
        )
    return LoadResult(problems)


def load_llmopt_corrected(spec: VersionSpec, root: Path) -> LoadResult:
    """Load LLMOPT's ComplexOR texts with each answer taken from ORThought's re-annotation.

    Problems are matched by their description text; every ORThought problem must match exactly
    one LLMOPT record. Where the answer changes, `extra["original_answer"]` keeps LLMOPT's.
    """
    original = load_records(spec, root)
    corrected_spec = VersionSpec(
        dataset=spec.dataset,
        version=spec.version,
        paths=spec.paths[1:],
        loader=load_orthought_complexor,
        upstream=spec.upstream,
        summary=spec.summary,
        category=spec.category,
    )
    reference = {p.id: p for p in load_orthought_complexor(corrected_spec, root).problems}
    prefixes = {key: _description_prefix(p.question) for key, p in reference.items()}
    used: dict[str, str] = {}
    problems: list[Problem] = []
    for problem in original.problems:
        matches = [key for key, prefix in prefixes.items() if prefix in problem.question]
        if len(matches) != 1:
            raise DatasetError(
                f"{spec.main_path}:{problem.source_line}: found {len(matches)} ORThought "
                "problems with this description (expected 1); the files differ from the "
                "documented versions (complexor/PROVENANCE.md)"
            )
        key = matches[0]
        if key in used:
            raise DatasetError(
                f"ORThought problem {key} matches records {used[key]} and {problem.id}"
            )
        used[key] = problem.id
        fixed = reference[key]
        extra = dict(problem.extra)
        extra["answer_source"] = f"ORThought {key}"
        if not _same_truth(problem.ground_truth, fixed.ground_truth):
            extra["original_answer"] = problem.ground_truth.raw
        problems.append(
            Problem(
                dataset=problem.dataset,
                version=problem.version,
                id=problem.id,
                question=problem.question,
                ground_truth=fixed.ground_truth,
                category=fixed.category,
                has_table=problem.has_table,
                source_file=problem.source_file,
                source_line=problem.source_line,
                extra=extra,
            )
        )
    unmatched = sorted(set(reference) - set(used))
    if unmatched:
        raise DatasetError(f"ORThought problems without an LLMOPT record: {', '.join(unmatched)}")
    return LoadResult(problems, original.skipped)


def _render(description: str, data: Mapping[str, Any], notes: Mapping[str, str]) -> str:
    parts = [description]
    if notes:
        parts.append("Parameters:\n" + "\n".join(f"- {k}: {v}" for k, v in notes.items()))
    parts.append("Data (JSON):\n" + json.dumps(data, ensure_ascii=False))
    return "\n\n".join(parts)


def _split_inputs(inputs: Any) -> tuple[dict[str, Any], dict[str, str]]:
    """Split ORThought's {name: {value, description}} inputs into values and descriptions."""
    values: dict[str, Any] = {}
    notes: dict[str, str] = {}
    if not isinstance(inputs, Mapping):
        return values, notes
    for name, item in inputs.items():
        if isinstance(item, Mapping) and "value" in item:
            values[name] = item["value"]
            if item.get("description"):
                notes[name] = str(item["description"])
        else:
            values[name] = item
    return values, notes


def _output_truth(sample: Mapping[str, Any], answer_file: Path | None) -> GroundTruth:
    output = sample.get("output")
    value = output[0] if isinstance(output, list) and output else output
    if value is not None:
        return parse_answer(value)
    if answer_file is not None and answer_file.is_file():
        status = json.loads(answer_file.read_text(encoding="utf-8")).get("status")
        if status in ("infeasible", "unbounded"):
            note = f"sample output is null; {answer_file.name} says status {status!r}"
            return GroundTruth(kind=status, raw="null", note=note)
    return missing("sample output is null")


def _first_sample(samples: Any, where: str) -> Mapping[str, Any]:
    if not isinstance(samples, list) or not samples or not isinstance(samples[0], Mapping):
        raise DatasetError(f"{where}: expected a list of {{input, output}} samples")
    return samples[0]


def _entry(data: Any, path: str, line: int) -> Mapping[str, Any]:
    if not isinstance(data, Mapping):
        raise DatasetError(f"{path}:{line}: expected a JSON object per problem")
    return data


def _problem(
    spec: VersionSpec,
    problem_id: str,
    question: str,
    truth: GroundTruth,
    source_file: str,
    source_line: int,
    *,
    category: Any = None,
    extra: Mapping[str, Any] | None = None,
) -> Problem:
    return Problem(
        dataset=spec.dataset,
        version=spec.version,
        id=problem_id,
        question=question,
        ground_truth=truth,
        category=str(category) if category else None,
        has_table=detect_table(question),
        source_file=source_file,
        source_line=source_line,
        extra=dict(extra or {}),
    )


def _description_prefix(question: str) -> str:
    return question.split("\n\n", 1)[0].strip()[:_MATCH_CHARS]


def _same_truth(a: GroundTruth, b: GroundTruth) -> bool:
    return a.kind == b.kind and a.value == b.value


def _read(path: Path, folder: str) -> str:
    if not path.is_file():
        raise DatasetError(f"{folder}: {path.name} is missing from this problem folder")
    return path.read_text(encoding="utf-8-sig")
