"""Parameter values in every shape people and models write them."""

from __future__ import annotations

from typing import Any

import pytest

from optiagent.formulations.data import resolve_data
from optiagent.formulations.io import parse_formulation


def _param(sets: dict[str, Any], index: list[str], value: Any, **extra: Any) -> dict:
    document = {
        "sets": sets,
        "parameters": {"p": {"index": index, "value": value, **extra}},
        "variables": {"x": {}},
        "objective": {"minimize": "x"},
    }
    data, issues = resolve_data(parse_formulation(document))
    assert issues == [], issues
    return data.params["p"].values


def test_nested_mapping_over_two_sets() -> None:
    values = _param(
        {"A": ["a", "b"], "B": [1, 2]}, ["A", "B"], {"a": {1: 5, 2: 6}, "b": {"1": 7, "2": 8}}
    )
    assert values == {("a", 1): 5, ("a", 2): 6, ("b", 1): 7, ("b", 2): 8}


def test_dense_lists_in_set_order() -> None:
    values = _param({"A": ["a", "b"], "B": [1, 2]}, ["A", "B"], [[1, 2], [3, 4]])
    assert values[("b", 1)] == 3


def test_mixed_list_of_mappings() -> None:
    values = _param(
        {"A": ["a", "b"], "B": ["u", "v"]}, ["A", "B"], [{"u": 1, "v": 2}, {"u": 3, "v": 4}]
    )
    assert values[("b", "v")] == 4


@pytest.mark.parametrize("key", ["a,b", "(a, b)", "a, b"])
def test_pair_set_with_joined_keys(key: str) -> None:
    values = _param({"E": [["a", "b"], ["b", "c"]]}, ["E"], {key: 3, "b,c": 4})
    assert values == {("a", "b"): 3, ("b", "c"): 4}


def test_pair_set_with_nested_mapping() -> None:
    values = _param({"E": [["a", 1], ["b", 2]]}, ["E"], {"a": {"1": 3}, "b": {2: 4}})
    assert values == {("a", 1): 3, ("b", 2): 4}


def test_pair_set_as_a_list() -> None:
    values = _param({"E": [["a", 1], ["b", 2]]}, ["E"], [3, 4])
    assert values == {("a", 1): 3, ("b", 2): 4}


def test_numeric_strings_and_thousands_separators() -> None:
    values = _param({"A": ["a", "b"]}, ["A"], {"a": "1,200", "b": "3.5"})
    assert values == {("a",): 1200.0, ("b",): 3.5}


def test_range_set_from_a_scalar_parameter() -> None:
    document = {
        "sets": {"T": {"first": 1, "last": "horizon"}},
        "parameters": {"horizon": 4},
        "variables": {"x": {"index": ["T"]}},
        "objective": {"minimize": "sum(x[t] for t in T)"},
    }
    data, issues = resolve_data(parse_formulation(document))
    assert issues == [] and data.sets["T"].elements == (1, 2, 3, 4)


def test_unknown_keys_are_named_with_the_set_and_its_elements() -> None:
    document = {
        "sets": {"A": ["a", "b"], "E": [["a", 1], ["b", 2]]},
        "parameters": {
            "p": {"index": ["A"], "value": {"a": 1, "zz": 2}},
            "q": {"index": ["E"], "value": {"a,1": 3, "b,1": 4}},
        },
        "variables": {"x": {}},
        "objective": {"minimize": "x"},
    }
    _, issues = resolve_data(parse_formulation(document))
    messages = [i.message for i in issues]
    assert "key 'zz' is not an element of set 'A' (elements: a, b)" in messages
    assert "key 'b,1' is not an element of set 'E' (elements: ('a', 1), ('b', 2))" in messages


def test_keys_match_elements_across_types_and_quotes() -> None:
    values = _param({"A": [1, 2, "3"]}, ["A"], {"1": 10, " '2' ": 20, 3: 30})
    assert values == {(1,): 10, (2,): 20, ("3",): 30}
    assert all(type(k[0]) is type(e) for k, e in zip(values, (1, 2, "3"), strict=True))


def test_a_large_mapping_parameter_is_loaded_whole() -> None:
    names = [f"e{i}" for i in range(20_000)]
    values = _param({"I": names}, ["I"], {e: i for i, e in enumerate(reversed(names))})
    assert len(values) == 20_000 and values[("e0",)] == 19_999 and values[("e19999",)] == 0


def test_a_large_pair_parameter_is_loaded_whole() -> None:
    pairs = [[f"a{i}", i % 50] for i in range(8_000)]
    joined = {f"{a},{b}": i for i, (a, b) in enumerate(pairs)}
    values = _param({"E": pairs}, ["E"], joined)
    assert len(values) == 8_000 and values[("a7999", 7999 % 50)] == 7999
    nested: dict[str, dict[str, int]] = {}
    for i, (a, b) in enumerate(pairs):
        nested.setdefault(a, {})[str(b)] = i  # string keys still match integer elements
    assert _param({"E": pairs}, ["E"], nested) == values
