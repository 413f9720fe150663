"""Read benchmark files into raw records that remember where they came from.

One reader handles the three JSON shapes found in the sets: a JSON array, a JSON object keyed
by problem id, and JSON Lines (several files are JSON Lines although named `.json`, so the
shape is detected, not taken from the extension). CSV files are read with `utf-8-sig` because
some start with a byte-order mark. Every record keeps its 1-based starting line.
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from optiagent.exceptions import DatasetError

__all__ = ["RawRecord", "hash_paths", "read_csv", "read_json_records", "sha256_file"]

_DECODER = json.JSONDecoder()
_WHITESPACE = " \t\r\n"


@dataclass(frozen=True)
class RawRecord:
    """One record as read: its key (keyed containers only), position, starting line and data."""

    key: str | None
    position: int
    line: int
    data: Any


def read_json_records(path: Path) -> list[RawRecord]:
    """Return the records of a JSON array, a keyed JSON object, or a JSON Lines file."""
    text = _read_text(path)
    start = _skip_whitespace(text, 0)
    if start == len(text):
        return []
    try:
        whole = json.loads(text)
    except json.JSONDecodeError:
        return _read_json_lines(path, text)
    if isinstance(whole, list):
        return _scan_container(path, text, start, keyed=False)
    if isinstance(whole, dict):
        return _scan_container(path, text, start, keyed=True)
    raise DatasetError(f"{path}: expected a JSON array, object or JSON Lines, got {type(whole)}")


def read_csv(path: Path) -> list[RawRecord]:
    """Return the rows of a CSV file with a header, as dicts, with their starting lines."""
    text = _read_text(path)
    reader = csv.DictReader(io.StringIO(text, newline=""))
    records: list[RawRecord] = []
    next_line = 2  # line 1 is the header
    try:
        for position, row in enumerate(reader):
            records.append(RawRecord(key=None, position=position, line=next_line, data=row))
            next_line = reader.line_num + 1
    except csv.Error as error:
        raise DatasetError(f"{path}: not a readable CSV file ({error})") from error
    return records


def sha256_file(path: Path) -> str:
    """Return the hex SHA-256 of a file's bytes."""
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def hash_paths(root: Path, paths: Iterable[str]) -> str:
    """Return one SHA-256 for the given files and folders under `root`.

    A single file hashes to its own SHA-256 (so it can be checked with `sha256sum`); folders
    and several paths hash a manifest of `relative-path  file-sha256` lines in sorted order.
    """
    relative = list(paths)
    if len(relative) == 1 and (root / relative[0]).is_file():
        return sha256_file(root / relative[0])
    lines: list[str] = []
    for rel in relative:
        target = root / rel
        files = (
            [target] if target.is_file() else sorted(p for p in target.rglob("*") if p.is_file())
        )
        lines.extend(f"{f.relative_to(root).as_posix()}  {sha256_file(f)}" for f in files)
    return hashlib.sha256("\n".join(sorted(lines)).encode()).hexdigest()


def _read_text(path: Path) -> str:
    try:
        return path.read_text(encoding="utf-8-sig")
    except UnicodeDecodeError as error:
        raise DatasetError(f"{path}: not UTF-8 text ({error})") from error


def _skip_whitespace(text: str, index: int) -> int:
    while index < len(text) and text[index] in _WHITESPACE:
        index += 1
    return index


def _read_json_lines(path: Path, text: str) -> list[RawRecord]:
    records: list[RawRecord] = []
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        try:
            data = json.loads(line)
        except json.JSONDecodeError as error:
            raise DatasetError(
                f"{path}:{number}: neither a JSON document nor JSON Lines ({error.msg})"
            ) from error
        records.append(RawRecord(key=None, position=len(records), line=number, data=data))
    return records


def _scan_container(path: Path, text: str, start: int, *, keyed: bool) -> list[RawRecord]:
    """Walk a top-level array or object element by element to learn each one's line."""
    records: list[RawRecord] = []
    index = _skip_whitespace(text, start + 1)
    line, counted_to = 1, 0
    closing = "}" if keyed else "]"
    while index < len(text) and text[index] != closing:
        line += text.count("\n", counted_to, index)
        counted_to = index
        key = None
        if keyed:
            key, index = _DECODER.raw_decode(text, index)
            index = _skip_whitespace(text, index)
            if text[index] != ":":
                raise DatasetError(f"{path}:{line}: malformed JSON object")
            index = _skip_whitespace(text, index + 1)
        data, index = _DECODER.raw_decode(text, index)
        records.append(RawRecord(key=key, position=len(records), line=line, data=data))
        index = _skip_whitespace(text, index)
        if index < len(text) and text[index] == ",":
            index = _skip_whitespace(text, index + 1)
    return records
