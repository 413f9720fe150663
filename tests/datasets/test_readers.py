"""File readers: JSON array / keyed object / JSON Lines detection, lines, CSV with a BOM."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest

from optiagent.datasets.readers import hash_paths, read_csv, read_json_records
from optiagent.exceptions import DatasetError


def test_json_array_records_know_their_lines(tmp_path: Path) -> None:
    path = tmp_path / "a.json"
    path.write_text('[\n  {"q": "a"},\n\n  {"q": "b",\n   "x": 1}\n]\n', encoding="utf-8")
    records = read_json_records(path)
    assert [(r.line, r.position, r.data["q"]) for r in records] == [(2, 0, "a"), (4, 1, "b")]


def test_keyed_object_records_know_their_keys_and_lines(tmp_path: Path) -> None:
    path = tmp_path / "k.json"
    path.write_text('{\n "p1": {"d": 1},\n "p2": {"d": 2}\n}', encoding="utf-8")
    records = read_json_records(path)
    assert [(r.key, r.line) for r in records] == [("p1", 2), ("p2", 3)]


def test_json_lines_named_json_are_detected(tmp_path: Path) -> None:
    path = tmp_path / "lines.json"
    path.write_text('{"q": "a"}\n\n{"q": "b"}\n', encoding="utf-8")
    assert [(r.line, r.data["q"]) for r in read_json_records(path)] == [(1, "a"), (3, "b")]


def test_broken_json_lines_name_the_line(tmp_path: Path) -> None:
    path = tmp_path / "bad.jsonl"
    path.write_text('{"q": "a"}\n{"q": \n', encoding="utf-8")
    with pytest.raises(DatasetError, match=r"bad.jsonl:2"):
        read_json_records(path)


def test_csv_with_bom_and_multiline_cells(tmp_path: Path) -> None:
    path = tmp_path / "t.csv"
    path.write_bytes('\ufeffproblem_class,question\n"[""A""]","two\nlines"\nB,one\n'.encode())
    rows = read_csv(path)
    assert list(rows[0].data) == ["problem_class", "question"]
    assert [r.line for r in rows] == [2, 4]
    assert rows[0].data["question"] == "two\nlines"


def test_hash_of_one_file_is_its_sha256_and_folders_hash_a_manifest(tmp_path: Path) -> None:
    (tmp_path / "d").mkdir()
    (tmp_path / "d" / "f.txt").write_text("x", encoding="utf-8")
    single = hash_paths(tmp_path, ["d/f.txt"])
    assert single == hashlib.sha256(b"x").hexdigest()
    folder = hash_paths(tmp_path, ["d"])
    (tmp_path / "d" / "f.txt").write_text("y", encoding="utf-8")
    assert hash_paths(tmp_path, ["d"]) != folder
