"""Loaders for the file formats of the benchmark sets: each turns one version into `Problem`s.

Every loader takes the version's `VersionSpec` and the data directory and returns a
`LoadResult`. Records are never dropped silently: a row that is not a problem (a blank
placeholder) is returned as a `SkippedRecord` with its reason, and an answer that cannot be
read becomes a 'missing' ground truth with a note.
"""

from __future__ import annotations

import ast
import json
import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from optiagent.datasets import optibench
from optiagent.datasets.ground_truth import missing, parse_answer, parse_results
from optiagent.datasets.readers import RawRecord, read_csv, read_json_records
from optiagent.datasets.records import GroundTruth, Problem, SkippedRecord
from optiagent.datasets.spec import Fields, LoadResult, VersionSpec
from optiagent.exceptions import DatasetError

__all__ = [
    "ID_FIELDS",
    "detect_table",
    "load_llmopt_optibench",
    "load_nl4opt_competition",
    "load_nlp4lp_folders",
    "load_optibench",
    "load_optimind_csv",
    "load_records",
    "load_results_records",
    "record_id",
    "repair_mojibake",
]

#: Record fields that hold a problem's own id, in order of preference.
ID_FIELDS: tuple[str, ...] = ("id", "index", "problem_id")

_TABLE_RULE = re.compile(r"^\s*\|?\s*:?-{3,}:?\s*(\|\s*:?-{3,}:?\s*)+\|?\s*$", re.MULTILINE)
_OTHER_TABLE = re.compile(r"\\begin\{tabular\}|<table\b", re.IGNORECASE)


def detect_table(text: str) -> bool:
    """Return True if the text holds a Markdown, LaTeX or HTML table."""
    return bool(_TABLE_RULE.search(text) or _OTHER_TABLE.search(text))


def record_id(data: Mapping[str, Any], record: RawRecord) -> str:
    """Return a record's id: its id field, else its key in a keyed container, else position."""
    for name in ID_FIELDS:
        value = data.get(name)
        if value is not None and value != "":
            return str(value)
    if record.key is not None:
        return record.key
    return str(record.position)


def load_records(spec: VersionSpec, root: Path) -> LoadResult:
    """Load a JSON / JSON Lines file of flat records (question and answer fields)."""
    fields = _fields(spec)
    problems: list[Problem] = []
    skipped: list[SkippedRecord] = []
    for record in read_json_records(root / spec.main_path):
        data = _as_mapping(spec, record)
        question = _question(data, fields.question)
        if question is None:
            skipped.append(_skip(spec, record, f"no text in field {fields.question!r}"))
            continue
        truth = (
            parse_answer(data[fields.answer])
            if fields.answer in data
            else missing(f"record has no {fields.answer!r} field")
        )
        problems.append(_problem(spec, record, data, question, truth))
    return LoadResult(problems, skipped)


def load_results_records(spec: VersionSpec, root: Path) -> LoadResult:
    """Load OptiBench-style records whose answer is a `results` dict, objective taken last."""
    return _load_results(spec, root, documented=False)


def load_optibench(spec: VersionSpec, root: Path) -> LoadResult:
    """Load OptiBench records, reading the objective from the documented key where not last."""
    return _load_results(spec, root, documented=True)


def load_llmopt_optibench(spec: VersionSpec, root: Path) -> LoadResult:
    """Load LLMOPT's OptiBench copy as published, flagging the 18 answers that are not objectives.

    LLMOPT took the last `results` value; where that is a variable value (see
    `optibench.LAST_KEY_NOT_OBJECTIVE`, LLMOPT `index` = original index + 1) the answer is kept,
    for comparability with LLMOPT's numbers, and `extra["label_issue"]` says so.
    """
    result = load_records(spec, root)
    flagged: list[Problem] = []
    for problem in result.problems:
        original = int(problem.id) - 1
        if original in optibench.LAST_KEY_NOT_OBJECTIVE:
            extra = dict(problem.extra)
            extra["label_issue"] = (
                f"answer is the last results value of OptiBench index {original}, which is not "
                "the objective there (see optibench/PROVENANCE.md)"
            )
            problem = _replace_extra(problem, extra)
        flagged.append(problem)
    return LoadResult(flagged, result.skipped)


def load_optimind_csv(spec: VersionSpec, root: Path) -> LoadResult:
    """Load an OptiMind cleaned CSV (`problem_class`, `question`, `answer`); skip blank rows."""
    problems: list[Problem] = []
    skipped: list[SkippedRecord] = []
    for record in read_csv(root / spec.main_path):
        row: dict[str, Any] = dict(record.data)
        question = _question(row, "question")
        if question is None:
            if not (row.get("answer") or "").strip():
                skipped.append(
                    _skip(spec, record, "blank placeholder row (no question, no answer)")
                )
            else:
                skipped.append(_skip(spec, record, "row has an answer but no question"))
            continue
        classes = _class_list(row.get("problem_class"))
        row["problem_class"] = classes
        truth = parse_answer(row.get("answer"))
        category = classes[0] if classes else None
        problems.append(_problem(spec, record, row, question, truth, category=category))
    return LoadResult(problems, skipped)


def load_nl4opt_competition(spec: VersionSpec, root: Path) -> LoadResult:
    """Load the official NL4Opt test split: texts only, every ground truth 'missing'."""
    problems: list[Problem] = []
    skipped: list[SkippedRecord] = []
    for record in read_json_records(root / spec.main_path):
        data = _as_mapping(spec, record)
        if len(data) != 1:
            raise DatasetError(
                f"{spec.main_path}:{record.line}: expected one {{hash: record}} entry per line"
            )
        input_hash, body = next(iter(data.items()))
        question = _question(body if isinstance(body, Mapping) else {}, "document")
        if question is None:
            skipped.append(_skip(spec, record, "no text in field 'document'"))
            continue
        truth = missing("the official NL4Opt split has formulations only, no objective values")
        problem = Problem(
            dataset=spec.dataset,
            version=spec.version,
            id=str(record.position),
            question=question,
            ground_truth=truth,
            category=None,
            has_table=detect_table(question),
            source_file=spec.main_path,
            source_line=record.line,
            extra={"input_hash": input_hash},
        )
        problems.append(problem)
    return LoadResult(problems, skipped)


def load_nlp4lp_folders(spec: VersionSpec, root: Path) -> LoadResult:
    """Load NLP4LP per-problem folders: description.txt, solution.json, parameters.json.

    The description already states every number, so it is the question as is; the parameter
    file is attached (`attachments["parameters.json"]`) the way a user would attach it. The
    parametrised formulation in problem_info.json is a solution aid and is not used.
    """
    base = root / spec.main_path
    problems: list[Problem] = []
    folders = sorted((p for p in base.iterdir() if p.is_dir()), key=_natural_key)
    for folder in folders:
        rel = f"{spec.main_path}/{folder.name}"
        question = _read_required(folder / "description.txt", rel).strip()
        solution = json.loads(_read_required(folder / "solution.json", rel))
        if isinstance(solution, Mapping) and "objective" in solution:
            truth = parse_answer(solution["objective"])
        else:
            truth = missing("solution.json has no objective", solution)
        attachments = {}
        parameters = folder / "parameters.json"
        if parameters.is_file():
            attachments["parameters.json"] = parameters.read_text(encoding="utf-8")
        problems.append(
            Problem(
                dataset=spec.dataset,
                version=spec.version,
                id=folder.name,
                question=question,
                ground_truth=truth,
                category=None,
                has_table=detect_table(question),
                source_file=f"{rel}/description.txt",
                source_line=1,
                attachments=attachments,
            )
        )
    return LoadResult(problems)


def _load_results(spec: VersionSpec, root: Path, *, documented: bool) -> LoadResult:
    fields = _fields(spec)
    problems: list[Problem] = []
    skipped: list[SkippedRecord] = []
    for record in read_json_records(root / spec.main_path):
        data = _as_mapping(spec, record)
        question = _question(data, fields.question)
        if question is None:
            skipped.append(_skip(spec, record, f"no text in field {fields.question!r}"))
            continue
        results = data.get(fields.answer)
        if not isinstance(results, Mapping) or not results:
            truth = missing(f"no {fields.answer!r} dict", results)
        else:
            truth = _results_truth(spec, record, data, results, documented)
        problems.append(_problem(spec, record, data, question, truth))
    return LoadResult(problems, skipped)


def _results_truth(
    spec: VersionSpec,
    record: RawRecord,
    data: Mapping[str, Any],
    results: Mapping[str, Any],
    documented: bool,
) -> GroundTruth:
    keys = list(results)
    if not documented:
        return parse_results(results, objective_key=keys[-1])
    index = int(data["index"])
    if index in optibench.NO_OBJECTIVE:
        return parse_results(results, objective_key=None)
    key = optibench.OBJECTIVE_KEYS.get(index, keys[-1])
    drop = optibench.FOREIGN_KEYS.get(index, ())
    for name in (key, *drop):
        if name not in results:
            raise DatasetError(
                f"{spec.main_path}:{record.line}: OptiBench index {index} has no results key "
                f"{name!r}; the file differs from the documented version (optibench/"
                "PROVENANCE.md) - check it against the upstream file"
            )
    return parse_results(results, objective_key=key, drop_keys=drop)


def _fields(spec: VersionSpec) -> Fields:
    if spec.fields is None:
        raise DatasetError(f"{spec.dataset}/{spec.version}: this loader needs field names")
    return spec.fields


def _as_mapping(spec: VersionSpec, record: RawRecord) -> Mapping[str, Any]:
    if not isinstance(record.data, Mapping):
        raise DatasetError(
            f"{spec.main_path}:{record.line}: expected a JSON object per record, "
            f"got {type(record.data).__name__}"
        )
    return record.data


# UTF-8 punctuation once decoded as cp1252 (28 MAMO Complex questions read "citiesâ€”let's").
# Only these whole sequences are replaced: they never occur in text written as intended.
_MOJIBAKE = {
    "â€™": "\u2019",
    "â€˜": "\u2018",
    "â€œ": "\u201c",
    "â€\x9d": "\u201d",
    "â€”": "\u2014",
    "â€“": "\u2013",
    "â€¦": "\u2026",
}
_MOJIBAKE_PATTERN = re.compile("|".join(re.escape(k) for k in _MOJIBAKE))


def repair_mojibake(text: str) -> str:
    """Return `text` with UTF-8 punctuation that was decoded as cp1252 put back."""
    return _MOJIBAKE_PATTERN.sub(lambda m: _MOJIBAKE[m.group(0)], text)


def _question(data: Mapping[str, Any], name: str) -> str | None:
    value = data.get(name)
    if not isinstance(value, str) or not value.strip():
        return None
    return repair_mojibake(value.strip())


def _problem(
    spec: VersionSpec,
    record: RawRecord,
    data: Mapping[str, Any],
    question: str,
    truth: GroundTruth,
    *,
    category: str | None = None,
) -> Problem:
    fields = _fields(spec) if spec.fields is not None else Fields("question", "answer")
    if category is None and fields.category is not None:
        label = data.get(fields.category)
        category = str(label) if label not in (None, "") else None
    if fields.table_from_type:
        has_table = str(data.get("type", "")).endswith("-table")
    else:
        has_table = detect_table(question)
    used = {fields.question, fields.answer, *ID_FIELDS, *fields.drop}
    extra = {key: value for key, value in data.items() if key not in used}
    return Problem(
        dataset=spec.dataset,
        version=spec.version,
        id=record_id(data, record),
        question=question,
        ground_truth=truth,
        category=category,
        has_table=has_table,
        source_file=spec.main_path,
        source_line=record.line,
        extra=extra,
    )


def _replace_extra(problem: Problem, extra: dict[str, Any]) -> Problem:
    data = {name: getattr(problem, name) for name in problem.__dataclass_fields__}
    data["extra"] = extra
    return Problem(**data)


def _skip(spec: VersionSpec, record: RawRecord, reason: str) -> SkippedRecord:
    return SkippedRecord(source_file=spec.main_path, source_line=record.line, reason=reason)


def _class_list(text: Any) -> list[str]:
    """Parse OptiMind's `problem_class` (a JSON or Python list literal of names)."""
    if not isinstance(text, str) or not text.strip():
        return []
    try:
        value = ast.literal_eval(text.strip())
    except (ValueError, SyntaxError):
        return [text.strip()]
    if isinstance(value, (list, tuple)):
        return [str(item) for item in value]
    return [str(value)]


def _read_required(path: Path, folder: str) -> str:
    if not path.is_file():
        raise DatasetError(f"{folder}: {path.name} is missing from this problem folder")
    return path.read_text(encoding="utf-8-sig")


def _natural_key(path: Path) -> tuple[int, int | str]:
    return (0, int(path.name)) if path.name.isdigit() else (1, path.name)
