"""Every kind of validation issue, each with the element, symbol and suggestion it must name."""

from __future__ import annotations

from typing import Any

import pytest

from optiagent.exceptions import FormulationError
from optiagent.formulations.analysis import check_formulation, validate_formulation
from optiagent.formulations.io import parse_formulation
from optiagent.formulations.issues import Issue, IssueKind, format_issues


def _base(**overrides: Any) -> dict[str, Any]:
    document: dict[str, Any] = {
        "sets": {"I": ["a", "b", "c"], "T": {"first": 1, "last": 3}},
        "parameters": {
            "cost": {"index": ["I"], "value": {"a": 1, "b": 2, "c": 3}},
            "cap": 10,
        },
        "variables": {"x": {"index": ["I"]}, "y": {"domain": "nonnegative_real"}},
        "objective": {"minimize": "sum(cost[i] * x[i] for i in I) + y"},
        "constraints": {"total": "sum(x[i] for i in I) >= 2"},
    }
    for key, value in overrides.items():
        if isinstance(value, dict) and isinstance(document.get(key), dict):
            document[key] = {**document[key], **value}
        else:
            document[key] = value
    return document


def _issues(document: dict[str, Any]) -> list[Issue]:
    try:
        formulation = parse_formulation(document)
    except FormulationError as error:
        return error.issues
    return validate_formulation(formulation)


def _one(document: dict[str, Any], kind: IssueKind) -> Issue:
    issues = _issues(document)
    matching = [i for i in issues if i.kind is kind]
    assert matching, f"expected a {kind} issue, got: {format_issues(issues)}"
    return matching[0]


def test_the_base_document_is_valid() -> None:
    assert _issues(_base()) == []


def test_schema_unknown_field_names_the_element() -> None:
    issue = _one(_base(variables={"z": {"domian": "binary"}}), IssueKind.SCHEMA)
    assert issue.element == "variable 'z'" and "domian" in issue.message


def test_schema_bad_domain_lists_the_allowed_values() -> None:
    issue = _one(_base(variables={"z": {"domain": "complex"}}), IssueKind.SCHEMA)
    assert "binary" in str(issue)


def test_schema_missing_expression() -> None:
    issue = _one(_base(constraints=[{"name": "c"}]), IssueKind.SCHEMA)
    assert issue.element == "constraint 'c'" and "expression" in issue.message


def test_bare_strings_in_a_constraint_list_are_named_by_position() -> None:
    document = _base(constraints=["x['a'] >= 1", {"name": "cap_y", "expression": "y <= cap"}])
    document["constraints"].append("x['b'] + y >= 2")
    formulation = parse_formulation(document)
    assert [c.name for c in formulation.constraints] == ["c1", "cap_y", "c3"]
    assert formulation.constraints[2].expression == "x['b'] + y >= 2"
    assert _issues(document) == []


def test_an_element_that_is_not_a_mapping_says_how_to_write_it() -> None:
    issue = _one(_base(constraints=[5]), IssueKind.SCHEMA)
    assert issue.element == "constraint #1" and "got 5 (int)" in issue.message
    assert "bare expression string" in str(issue.suggestion)
    issue = _one(_base(objective=5), IssueKind.SCHEMA)
    assert "{maximize: '3*x + 5*y'}" in str(issue.suggestion)


def test_domain_aliases_are_accepted() -> None:
    document = _base(variables={"z": {"domain": "Continuous"}, "w": {"domain": "boolean"}})
    formulation = parse_formulation(document)
    assert {v.name: v.domain.value for v in formulation.variables}["w"] == "binary"


def test_syntax_error_points_at_the_column_and_suggests_double_equals() -> None:
    issue = _one(_base(constraints={"c": "x['a'] + y = 3"}), IssueKind.SYNTAX)
    assert issue.element == "constraint 'c'" and issue.position is not None
    assert "==" in (issue.suggestion or "")
    assert "^" in str(issue)


def test_forbidden_construct() -> None:
    issue = _one(_base(constraints={"c": "y.real <= 3"}), IssueKind.FORBIDDEN)
    assert "attribute" in issue.message


def test_duplicate_name_across_kinds() -> None:
    issue = _one(_base(parameters={"x": 3}), IssueKind.DUPLICATE_NAME)
    assert issue.symbol == "x"


def test_loop_name_hiding_a_symbol() -> None:
    issue = _one(_base(constraints={"c": "sum(x[y] for y in I) <= 5"}), IssueKind.DUPLICATE_NAME)
    assert "hides" in issue.message


@pytest.mark.parametrize("name", ["sum", "2x", "for", "__x"])
def test_reserved_or_invalid_names(name: str) -> None:
    issue = _one(_base(variables={name: {}}), IssueKind.RESERVED_NAME)
    assert issue.symbol == name


def test_unknown_symbol_suggests_the_closest_name() -> None:
    issue = _one(
        _base(constraints={"c": "sum(x[i] * cots[i] for i in I) <= 5"}), IssueKind.UNKNOWN_SYMBOL
    )
    assert issue.symbol == "cots" and "cost" in (issue.suggestion or "")


def test_free_index_without_forall_suggests_a_quantifier() -> None:
    issue = _one(_base(constraints={"c": "x[k] <= cap"}), IssueKind.UNKNOWN_SYMBOL)
    assert "forall" in (issue.suggestion or "")


def test_unknown_set_in_an_index_list() -> None:
    issue = _one(_base(variables={"z": {"index": ["J"]}}), IssueKind.UNKNOWN_SYMBOL)
    assert issue.element == "variable 'z'" and issue.field == "index"


def test_wrong_kind_set_used_as_a_number() -> None:
    issue = _one(_base(constraints={"c": "y <= I"}), IssueKind.WRONG_KIND)
    assert "len(I)" in (issue.suggestion or "")


def test_wrong_kind_loop_over_a_parameter() -> None:
    issue = _one(_base(constraints={"c": "sum(y for i in cost) <= 5"}), IssueKind.WRONG_KIND)
    assert "not a set" in issue.message


def test_arity_of_a_parameter() -> None:
    issue = _one(
        _base(constraints={"c": {"forall": "i in I", "expression": "x[i] <= cost[i, i]"}}),
        IssueKind.ARITY,
    )
    assert issue.symbol == "cost" and "1 index" in issue.message


def test_arity_of_a_bound_parameter() -> None:
    document = _base(
        parameters={
            "grid": {"index": ["I", "T"], "value": {"a": [1, 2, 3], "b": [1, 2, 3], "c": [1, 2, 3]}}
        },
        variables={"z": {"index": ["I"], "upper": "grid"}},
    )
    issue = _one(document, IssueKind.ARITY)
    assert issue.element == "variable 'z'" and issue.field == "upper"


def test_index_out_of_set_names_the_loop_values() -> None:
    document = _base(
        variables={"s": {"index": ["T"]}},
        constraints={"flow": {"forall": "t in T", "expression": "s[t] >= s[t - 1]"}},
    )
    issue = _one(document, IssueKind.INDEX_OUT_OF_SET)
    assert "t=1" in issue.message and "if" in (issue.suggestion or "")


def test_missing_value_of_a_sparse_parameter() -> None:
    document = _base(
        parameters={"bonus": {"index": ["I"], "value": {"a": 1}}},
        constraints={"c": {"forall": "i in I", "expression": "x[i] <= bonus[i]"}},
    )
    issue = _one(document, IssueKind.MISSING_VALUE)
    assert issue.symbol == "bonus" and "default" in (issue.suggestion or "")


def test_default_fills_a_sparse_parameter() -> None:
    document = _base(
        parameters={"bonus": {"index": ["I"], "value": {"a": 1}, "default": 0}},
        constraints={"c": {"forall": "i in I", "expression": "x[i] <= bonus[i] + 1"}},
    )
    assert _issues(document) == []


@pytest.mark.parametrize(
    ("set_def", "fragment"),
    [
        (["a", "a"], "duplicate"),
        ([["a", 1], "b"], "mix"),
        ({"elements": [1], "first": 1, "last": 2}, "not both"),
        ({"first": 1}, "'last' is missing"),
        ({"first": 1, "last": "cap_half"}, "not a scalar parameter"),
        ({"description": "nothing"}, "no elements"),
    ],
)
def test_bad_sets(set_def: Any, fragment: str) -> None:
    issue = _one(
        _base(sets={"S": set_def}),
        IssueKind.BAD_SET if fragment != "not a scalar parameter" else IssueKind.UNKNOWN_SYMBOL,
    )
    assert fragment in issue.message


@pytest.mark.parametrize(
    ("value", "fragment"),
    [
        ([1, 2], "2 entries"),
        ({"a": 1, "z": 2}, "'z' is not an element"),
        ({"a": "many", "b": 1, "c": 1}, None),  # an element-valued parameter is allowed
        ({"a": [1], "b": 1, "c": 1}, "not a number"),
    ],
)
def test_bad_parameter_values(value: Any, fragment: str | None) -> None:
    document = _base(parameters={"cost": {"index": ["I"], "value": value}})
    if fragment is None:
        assert not [i for i in _issues(document) if i.kind is IssueKind.BAD_PARAMETER]
        return
    issue = _one(document, IssueKind.BAD_PARAMETER)
    assert fragment in issue.message and issue.element == "parameter 'cost'"


def test_scalar_parameter_needs_a_number() -> None:
    issue = _one(_base(parameters={"cap": {"value": {"a": 1}}}), IssueKind.BAD_PARAMETER)
    assert "single number" in issue.message


@pytest.mark.parametrize(
    ("variable", "fragment"),
    [
        ({"lower": 5, "upper": 1}, "above upper"),
        ({"domain": "binary", "upper": 5}, "binary"),
        ({"domain": "interval"}, "needs a duration"),
        ({"duration": 3}, "only interval"),
    ],
)
def test_bad_variables(variable: dict[str, Any], fragment: str) -> None:
    issue = _one(_base(variables={"z": variable}), IssueKind.BAD_VARIABLE)
    assert fragment in issue.message and issue.element == "variable 'z'"


@pytest.mark.parametrize(
    ("expression", "fragment"),
    [
        ("y < 3", "strict"),
        ("y + 3", "compare"),
        ("y != 3", "'!=' is not a constraint"),
        ("1 <= y <= 2 <= 3", "chain"),
    ],
)
def test_bad_constraints(expression: str, fragment: str) -> None:
    issue = _one(_base(constraints={"c": expression}), IssueKind.BAD_CONSTRAINT)
    assert fragment in issue.message


def test_objective_must_not_be_a_comparison() -> None:
    issue = _one(_base(objective={"minimize": "y >= 3"}), IssueKind.BAD_OBJECTIVE)
    assert issue.element == "objective"


def test_objective_without_variables() -> None:
    issue = _one(_base(objective={"minimize": "sum(cost[i] for i in I)"}), IssueKind.BAD_OBJECTIVE)
    assert "no decision variable" in issue.message


@pytest.mark.parametrize(
    "expression",
    [
        "sum(x[i] for i in I if x[i] > 0) <= 3",
        "x[y] <= 3",
        "y ** x['a'] <= 3",
    ],
)
def test_variables_where_only_data_may_appear(expression: str) -> None:
    _one(_base(constraints={"c": expression}), IssueKind.VARIABLE_IN_DATA)


def test_division_by_zero_in_data() -> None:
    document = _base(
        constraints={"c": {"forall": "i in I", "expression": "x[i] <= 1 / (cost[i] - cost[i])"}}
    )
    issue = _one(document, IssueKind.ARITHMETIC)
    assert "division by zero" in issue.message


def test_every_issue_is_reported_at_once() -> None:
    document = _base(
        variables={"z": {"lower": 5, "upper": 1}},
        constraints={"c1": "y < 3", "c2": "q <= 1"},
    )
    kinds = {i.kind for i in _issues(document)}
    assert {IssueKind.BAD_VARIABLE, IssueKind.BAD_CONSTRAINT, IssueKind.UNKNOWN_SYMBOL} <= kinds


def test_check_formulation_raises_with_readable_text() -> None:
    with pytest.raises(FormulationError) as info:
        check_formulation(parse_formulation(_base(constraints={"c": "x[i] <= 1"})))
    text = str(info.value)
    assert "constraint 'c'" in text and "fix:" in text


def test_format_issues_numbers_them() -> None:
    issues = _issues(_base(constraints={"c1": "y < 3", "c2": "y > 4"}))
    block = format_issues(issues)
    assert block.startswith("2 problems") and "1. " in block and "2. " in block
