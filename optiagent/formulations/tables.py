"""Data tables given with a problem (CSV files, markdown tables) and how formulations use them.

A language model should not re-type a 500-row cost table. Instead a set can take its
elements from a table column (`from_table: {table, column}`) and a parameter its values
(`from_table: {table, column, index_columns}`); `resolve_tables` reads the numbers with our
code and writes them into the formulation, which then stands on its own (it can be saved,
exported and re-run without the tables).
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from optiagent.exceptions import ConfigurationError
from optiagent.formulations.issues import Issue, IssueKind, closest
from optiagent.formulations.schema import Formulation, ParameterDef, SetDef, TableValues

__all__ = [
    "DataTable",
    "describe_tables",
    "load_csv",
    "parse_csv_text",
    "parse_markdown_tables",
    "resolve_tables",
    "table_name",
]

Cell = str | int | float

_SMALL_TABLE_ROWS = 15
_PREVIEW_ROWS = 5


@dataclass(frozen=True)
class DataTable:
    """A named table: column names and rows of typed cells."""

    name: str
    columns: tuple[str, ...]
    rows: tuple[tuple[Cell, ...], ...]
    source: str = ""

    def column(self, name: str) -> list[Cell]:
        """The cells of one column, in row order."""
        position = self.columns.index(name)
        return [row[position] for row in self.rows]


def _cell(text: str) -> Cell:
    value = text.strip()
    cleaned = value.replace(",", "").replace("$", "").replace("%", "")
    for convert in (int, float):
        try:
            return convert(cleaned)
        except ValueError:
            continue
    return value


def _slug(text: str, fallback: str) -> str:
    slug = re.sub(r"[^0-9a-zA-Z]+", "_", text).strip("_").lower()
    if not slug or slug[0].isdigit():
        slug = f"{fallback}_{slug}" if slug else fallback
    return slug


def parse_csv_text(text: str, name: str, source: str = "") -> DataTable:
    """Parse CSV text (any common delimiter, optional BOM) into a DataTable."""
    text = text.removeprefix("\ufeff")
    try:
        dialect = csv.Sniffer().sniff(text[:4096], delimiters=",;\t|")
    except csv.Error:
        dialect = csv.excel
    rows = [row for row in csv.reader(io.StringIO(text), dialect) if any(c.strip() for c in row)]
    where = source or name
    if not rows:
        raise ConfigurationError(f"data file {where} is empty")
    header = tuple(c.strip() for c in rows[0])
    body = []
    for number, row in enumerate(rows[1:], start=2):
        if len(row) != len(header):
            raise ConfigurationError(
                f"{where}, line {number}: {len(row)} cells but the header has {len(header)} columns"
            )
        body.append(tuple(_cell(c) for c in row))
    return DataTable(name, header, tuple(body), source)


def load_csv(path: str | Path, name: str | None = None) -> DataTable:
    """Read a CSV file into a DataTable named after the file (or `name`)."""
    file = Path(path)
    if not file.is_file():
        raise ConfigurationError(f"data file not found: {file}")
    text = file.read_text(encoding="utf-8-sig")
    return parse_csv_text(text, name or _slug(file.stem, "table"), str(file))


def table_name(file_name: str) -> str:
    """The table name a data file gets (its stem, as an identifier)."""
    return _slug(Path(file_name).stem, "table")


_ROW = re.compile(r"^\s*\|(.*)\|\s*$")
_SEPARATOR = re.compile(r"^\s*\|?\s*:?-+:?\s*(\|\s*:?-+:?\s*)*\|?\s*$")


def _cells(line: str) -> list[str]:
    match = _ROW.match(line)
    inner = match.group(1) if match else line.strip().strip("|")
    return [c.strip() for c in inner.split("|")]


def parse_markdown_tables(text: str) -> list[DataTable]:
    """Every pipe table in a markdown text, named from a caption line above it or tableN."""
    lines = text.splitlines()
    tables: list[DataTable] = []
    i = 0
    while i < len(lines) - 1:
        if _ROW.match(lines[i]) and _SEPARATOR.match(lines[i + 1]):
            header = tuple(_cells(lines[i]))
            body = []
            j = i + 2
            while j < len(lines) and _ROW.match(lines[j]):
                cells = _cells(lines[j])
                if len(cells) == len(header):
                    body.append(tuple(_cell(c) for c in cells))
                j += 1
            fallback = f"table{len(tables) + 1}"
            above = [lines[k] for k in range(i - 1, max(-1, i - 3), -1) if lines[k].strip()]
            caption = "" if not above or _ROW.match(above[0]) else above[0].strip(" #*:")
            name = _slug(caption, fallback) if 0 < len(caption) <= 40 else fallback
            if any(t.name == name for t in tables):
                name = fallback
            tables.append(DataTable(name, header, tuple(body), f"problem text, {fallback}"))
            i = j
        else:
            i += 1
    return tables


def describe_tables(tables: Sequence[DataTable]) -> str:
    """A compact description of tables for a prompt: columns, size, and rows (all if small)."""
    blocks = []
    for table in tables:
        count = len(table.rows)
        shown = table.rows if count <= _SMALL_TABLE_ROWS else table.rows[:_PREVIEW_ROWS]
        lines = [
            f"Table '{table.name}' ({count} rows; source: {table.source or 'given'}), "
            f"columns: {', '.join(table.columns)}",
            " | ".join(table.columns),
            *(" | ".join(str(c) for c in row) for row in shown),
        ]
        if count > len(shown):
            lines.append(f"... {count - len(shown)} more rows (read them with from_table)")
        blocks.append("\n".join(lines))
    return "\n\n".join(blocks)


class _TableResolver:
    def __init__(self, tables: Iterable[DataTable]) -> None:
        self.tables = {t.name: t for t in tables}
        self.issues: list[Issue] = []

    def _table(self, element: str, name: str) -> DataTable | None:
        table = self.tables.get(name)
        if table is None:
            hint = closest(name, self.tables)
            known = ", ".join(self.tables) or "none were given"
            self.issues.append(
                Issue(
                    IssueKind.UNKNOWN_SYMBOL,
                    element,
                    f"unknown table '{name}' (tables: {known})",
                    symbol=name,
                    field="from_table",
                    suggestion=f"did you mean '{hint}'?" if hint else "use a listed table name",
                )
            )
        return table

    def _columns(self, element: str, table: DataTable, columns: Sequence[str]) -> bool:
        missing = [c for c in columns if c not in table.columns]
        for column in missing:
            hint = closest(column, table.columns)
            self.issues.append(
                Issue(
                    IssueKind.UNKNOWN_SYMBOL,
                    element,
                    f"table '{table.name}' has no column '{column}' "
                    f"(columns: {', '.join(table.columns)})",
                    symbol=column,
                    field="from_table",
                    suggestion=f"did you mean '{hint}'?" if hint else None,
                )
            )
        return not missing

    @staticmethod
    def _arity_issue(
        element: str, parameter: ParameterDef, source: TableValues, wide: bool
    ) -> Issue:
        if wide:
            message = (
                f"the parameter has {len(parameter.index)} index set(s), so a wide table needs "
                f"{len(parameter.index) - 1} index column(s) (the columns give the last set); "
                f"from_table names {len(source.index_columns)}"
            )
            fix = "list one index column per index set but the last, in the same order"
        else:
            message = (
                f"the parameter has {len(parameter.index)} index set(s) but from_table names "
                f"{len(source.index_columns)} index column(s)"
            )
            fix = "list one index column per index set, in the same order"
        return Issue(IssueKind.ARITY, element, message, field="from_table", suggestion=fix)

    def set_def(self, set_def: SetDef) -> SetDef:
        source = set_def.from_table
        element = f"set '{set_def.name}'"
        if source is None:
            return set_def
        table = self._table(element, source.table)
        if table is None or not self._columns(element, table, [source.column]):
            return set_def
        elements = list(dict.fromkeys(table.column(source.column)))
        note = f"(elements from table {source.table}, column {source.column})"
        return set_def.model_copy(
            update={
                "elements": elements,
                "from_table": None,
                "description": f"{set_def.description} {note}".strip(),
            }
        )

    def parameter(self, parameter: ParameterDef) -> ParameterDef:
        source = parameter.from_table
        element = f"parameter '{parameter.name}'"
        if source is None:
            return parameter
        if parameter.value is not None:
            self.issues.append(
                Issue(
                    IssueKind.BAD_PARAMETER,
                    element,
                    "give either 'value' or 'from_table', not both",
                    suggestion="keep from_table for data that comes from a table",
                )
            )
            return parameter
        table = self._table(element, source.table)
        if table is None:
            return parameter
        value_columns = source.columns if source.columns is not None else [str(source.column)]
        if not self._columns(element, table, [*value_columns, *source.index_columns]):
            return parameter
        wide = source.columns is not None
        expected = len(parameter.index) - 1 if wide else len(parameter.index)
        if len(source.index_columns) != expected:
            self.issues.append(self._arity_issue(element, parameter, source, wide))
            return parameter
        cells = _row_values(table, value_columns, wide)
        if not source.index_columns:
            if len(table.rows) != 1:
                self.issues.append(
                    Issue(
                        IssueKind.BAD_PARAMETER,
                        element,
                        f"without index columns the table must have one row; '{table.name}' "
                        f"has {len(table.rows)}",
                        field="from_table",
                        suggestion="name the column(s) that hold the index elements in "
                        "index_columns",
                    )
                )
                return parameter
            value: Any = cells[0]
        else:
            value = {}
            columns = [table.column(c) for c in source.index_columns]
            for row, cell in enumerate(cells):
                target = value
                keys = [column[row] for column in columns]
                for key in keys[:-1]:
                    target = target.setdefault(key, {})
                target[keys[-1]] = cell
        read = f"columns {', '.join(value_columns)}" if wide else f"column {source.column}"
        note = f"(values from table {source.table}, {read})"
        return parameter.model_copy(
            update={
                "value": value,
                "from_table": None,
                "description": f"{parameter.description} {note}".strip(),
            }
        )


def _row_values(table: DataTable, value_columns: Sequence[str], wide: bool) -> list[Any]:
    """Each row's value: one cell, or (wide) the list of its cells in `value_columns` order."""
    columns = [table.column(c) for c in value_columns]
    if not wide:
        return list(columns[0])
    return [[column[row] for column in columns] for row in range(len(table.rows))]


def resolve_tables(
    formulation: Formulation, tables: Iterable[DataTable] = ()
) -> tuple[Formulation, list[Issue]]:
    """Inline every from_table reference; return the standalone formulation and any issues."""
    resolver = _TableResolver(tables)
    sets = [resolver.set_def(s) for s in formulation.sets]
    parameters = [resolver.parameter(p) for p in formulation.parameters]
    resolved = formulation.model_copy(update={"sets": sets, "parameters": parameters})
    return resolved, resolver.issues
