"""Reading and writing formulation files (YAML, JSON) and the JSON schema for language models."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import yaml
from pydantic import ValidationError

from optiagent.exceptions import ConfigurationError, FormulationError
from optiagent.formulations.issues import Issue, IssueKind
from optiagent.formulations.schema import Formulation

__all__ = [
    "dump_formulation",
    "formulation_json_schema",
    "load_formulation",
    "parse_formulation",
    "save_formulation",
    "schema_issues",
]

_SECTION_NAMES = {
    "sets": "set",
    "parameters": "parameter",
    "variables": "variable",
    "constraints": "constraint",
}


# how each element is written, for an element given as something other than a mapping
_SHAPE_HINTS = {
    "sets": "write {name: S, elements: [...]} or, in the short form, S: [a, b, c]",
    "parameters": "write {name: p, value: 3} or, in the short form, p: 3",
    "variables": "write {name: x, domain: binary} or, in the short form, x: binary",
    "constraints": "write {name: c, expression: 'x + y <= 4'} or a bare expression string",
    "objective": "write {sense: maximize, expression: '3*x + 5*y'} or {maximize: '3*x + 5*y'}",
}


def _element_label(data: Any, loc: tuple[int | str, ...]) -> tuple[str, str | None]:
    """Name the element a pydantic error location points at, using the raw input's names."""
    if not loc:
        return "formulation", None
    section = loc[0]
    if section == "objective":
        return "objective", ".".join(str(p) for p in loc[1:]) or None
    if section in _SECTION_NAMES and len(loc) >= 2 and isinstance(loc[1], int):
        kind = _SECTION_NAMES[str(section)]
        label = f"{kind} #{loc[1] + 1}"
        raw = data.get(section) if isinstance(data, dict) else None
        if isinstance(raw, list) and loc[1] < len(raw) and isinstance(raw[loc[1]], dict):
            name = raw[loc[1]].get("name")
            if isinstance(name, str):
                label = f"{kind} '{name}'"
        return label, ".".join(str(p) for p in loc[2:]) or None
    return f"{section}", ".".join(str(p) for p in loc[1:]) or None


def schema_issues(error: ValidationError, data: Any) -> list[Issue]:
    """Turn a pydantic ValidationError on a formulation document into Issues."""
    issues = []
    for detail in error.errors():
        loc = tuple(detail.get("loc", ()))
        element, field = _element_label(data, loc)
        message = detail.get("msg", "invalid value")
        suggestion = None
        if detail.get("type") == "extra_forbidden":
            message = f"unknown field '{loc[-1]}'"
            suggestion = "remove it; allowed fields are listed in the formulation JSON schema"
            field = None if field == str(loc[-1]) else field
        elif detail.get("type") == "missing":
            message = f"required field '{loc[-1]}' is missing"
            field = None if field == str(loc[-1]) else field
        elif detail.get("type") in ("model_type", "model_attributes_type", "dict_type"):
            got = type(detail.get("input")).__name__
            message = f"expected a mapping of fields, got {detail.get('input')!r} ({got})"
            suggestion = _SHAPE_HINTS.get(str(loc[0]) if loc else "", "see `optiagent schema`")
        elif detail.get("type") == "value_error":  # our own validators' words, without prefix
            message = message.removeprefix("Value error, ")
        elif detail.get("type") == "enum":
            suggestion = f"use one of the allowed values ({detail.get('ctx', {}).get('expected')})"
        issues.append(Issue(IssueKind.SCHEMA, element, message, field=field, suggestion=suggestion))
    return issues


def parse_formulation(data: Any) -> Formulation:
    """Build a Formulation from parsed YAML/JSON data (raises FormulationError on bad shape)."""
    if isinstance(data, Formulation):
        return data
    if not isinstance(data, dict):
        raise FormulationError(
            [
                Issue(
                    IssueKind.SCHEMA,
                    "formulation",
                    f"expected an object with sets, parameters, variables, objective and "
                    f"constraints, got {type(data).__name__}",
                )
            ]
        )
    try:
        return Formulation.model_validate(data)
    except ValidationError as error:
        # label errors by element name, also for the short {name: definition} form
        named = Formulation.accept_short_forms(data)
        raise FormulationError(schema_issues(error, named)) from None


def load_formulation(path: str | Path) -> Formulation:
    """Read a formulation from a .yaml/.yml or .json file."""
    file = Path(path)
    if not file.is_file():
        raise ConfigurationError(f"formulation file not found: {file}")
    text = file.read_text(encoding="utf-8")
    try:
        data = json.loads(text) if file.suffix.lower() == ".json" else yaml.safe_load(text)
    except (json.JSONDecodeError, yaml.YAMLError) as error:
        raise ConfigurationError(
            f"{file} is not valid {file.suffix[1:].upper()}: {error}"
        ) from None
    return parse_formulation(data)


def dump_formulation(formulation: Formulation, fmt: str = "yaml") -> str:
    """The formulation as YAML or JSON text (defaults and empty fields left out)."""
    data = formulation.model_dump(mode="json", exclude_defaults=True)
    data = {"name": formulation.name, **data}
    if fmt == "json":
        return json.dumps(data, indent=2, ensure_ascii=False) + "\n"
    if fmt != "yaml":
        raise ConfigurationError(f"unknown format {fmt!r}: use 'yaml' or 'json'")
    return yaml.safe_dump(data, sort_keys=False, allow_unicode=True, width=100)


def save_formulation(formulation: Formulation, path: str | Path) -> Path:
    """Write the formulation to `path` (format from the suffix: .json or .yaml/.yml)."""
    file = Path(path)
    fmt = "json" if file.suffix.lower() == ".json" else "yaml"
    file.write_text(dump_formulation(formulation, fmt), encoding="utf-8")
    return file


def formulation_json_schema() -> dict[str, Any]:
    """The JSON schema of a formulation document, as given to language models."""
    return Formulation.model_json_schema()
