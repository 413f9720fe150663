"""Data tables: CSV files and markdown tables feeding sets and parameters through from_table."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from optiagent.exceptions import ConfigurationError, FormulationError
from optiagent.formulations.analysis import check_formulation
from optiagent.formulations.io import parse_formulation
from optiagent.formulations.tables import (
    DataTable,
    describe_tables,
    load_csv,
    parse_markdown_tables,
    resolve_tables,
)
from optiagent.solvers_backend.api import solve

ROUTES_CSV = "\ufeffplant;market;cost\nseattle;new-york;0.225\nseattle;chicago;0.153\nseattle;topeka;0.162\nsan-diego;new-york;0.225\nsan-diego;chicago;0.162\nsan-diego;topeka;0.126\n"


def _transport(cost_source: dict[str, Any]) -> dict[str, Any]:
    return {
        "sets": {
            "P": {"from_table": {"table": "routes", "column": "plant"}},
            "M": {"from_table": {"table": "routes", "column": "market"}},
        },
        "parameters": {
            "supply": {"index": ["P"], "value": {"seattle": 350, "san-diego": 600}},
            "demand": {"index": ["M"], "value": {"new-york": 325, "chicago": 300, "topeka": 275}},
            "cost": {"index": ["P", "M"], **cost_source},
        },
        "variables": {"ship": {"index": ["P", "M"]}},
        "objective": {"minimize": "sum(cost[p, m] * ship[p, m] for p in P for m in M)"},
        "constraints": {
            "supply_limit": {"forall": "p in P", "expression": "sum(ship[p, m] for m in M) <= supply[p]"},
            "meet_demand": {"forall": "m in M", "expression": "sum(ship[p, m] for p in P) >= demand[m]"},
        },
    }


@pytest.fixture
def routes(tmp_path: Path) -> DataTable:
    path = tmp_path / "routes.csv"
    path.write_text(ROUTES_CSV, encoding="utf-8")
    return load_csv(path)


def test_csv_with_bom_and_semicolons(routes: DataTable) -> None:
    assert routes.name == "routes" and routes.columns == ("plant", "market", "cost")
    assert routes.rows[0] == ("seattle", "new-york", 0.225)


def test_transport_solved_from_a_csv_table(routes: DataTable) -> None:
    document = _transport({"from_table": {"table": "routes", "column": "cost", "index_columns": ["plant", "market"]}})
    checked = check_formulation(parse_formulation(document), [routes])
    assert checked.data.sets["P"].elements == ("seattle", "san-diego")
    assert solve(checked).objective == pytest.approx(153.675)
    # the checked formulation stands alone: values inline, no table reference left
    cost = next(p for p in checked.formulation.parameters if p.name == "cost")
    assert cost.from_table is None and cost.value["seattle"]["chicago"] == 0.153


def test_missing_table_and_column_are_issues(routes: DataTable) -> None:
    document = _transport({"from_table": {"table": "route", "column": "costs", "index_columns": ["plant", "market"]}})
    with pytest.raises(FormulationError) as info:
        check_formulation(parse_formulation(document), [routes])
    text = str(info.value)
    assert "unknown table 'route'" in text and "did you mean 'routes'" in text


def test_index_columns_must_match_the_index(routes: DataTable) -> None:
    document = _transport({"from_table": {"table": "routes", "column": "cost", "index_columns": ["plant"]}})
    _, issues = resolve_tables(parse_formulation(document), [routes])
    assert any("index column" in i.message for i in issues)


def test_value_and_from_table_together_is_an_issue(routes: DataTable) -> None:
    document = _transport({"value": 1, "from_table": {"table": "routes", "column": "cost", "index_columns": ["plant", "market"]}})
    _, issues = resolve_tables(parse_formulation(document), [routes])
    assert any("not both" in i.message for i in issues)


def test_parameter_without_value_is_an_issue() -> None:
    document = {"parameters": {"p": {"index": []}}, "variables": {"x": {}}, "objective": {"minimize": "x"}}
    with pytest.raises(FormulationError, match="has no value"):
        check_formulation(parse_formulation(document))


def test_markdown_tables_are_found_and_named_from_captions() -> None:
    text = """A factory makes two products.

Resource usage:
| resource | chairs | tables | available |
|---|---|---|---|
| wood | 2 | 5 | 1,000 |
| labor | 1.5 | 3 | 600 |

| x | y |
|:-:|--:|
| 1 | 2 |
"""
    first, second = parse_markdown_tables(text)
    assert first.name == "resource_usage" and first.rows[0] == ("wood", 2, 5, 1000)
    assert second.name == "table2" and second.rows == ((1, 2),)
    description = describe_tables([first])
    assert "Table 'resource_usage'" in description and "wood | 2 | 5 | 1000" in description


def test_large_tables_are_previewed_not_printed_whole() -> None:
    table = DataTable("big", ("i", "v"), tuple((i, i * 2) for i in range(100)))
    description = describe_tables([table])
    assert "95 more rows" in description and "99 | 198" not in description


def test_missing_csv_is_a_configuration_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigurationError, match="not found"):
        load_csv(tmp_path / "nope.csv")


def test_ragged_csv_names_the_line(tmp_path: Path) -> None:
    path = tmp_path / "bad.csv"
    path.write_text("a,b\n1,2\n3\n")
    with pytest.raises(ConfigurationError, match="line 3"):
        load_csv(path)
