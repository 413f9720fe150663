"""Data tables: CSV files and markdown tables feeding sets and parameters through from_table."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from optiagent.exceptions import ConfigurationError, FormulationError
from optiagent.formulations.analysis import check_formulation
from optiagent.formulations.data import resolve_data
from optiagent.formulations.io import parse_formulation
from optiagent.formulations.tables import (
    DataTable,
    describe_tables,
    load_csv,
    parse_csv_text,
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
            "supply_limit": {
                "forall": "p in P",
                "expression": "sum(ship[p, m] for m in M) <= supply[p]",
            },
            "meet_demand": {
                "forall": "m in M",
                "expression": "sum(ship[p, m] for p in P) >= demand[m]",
            },
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
    document = _transport(
        {"from_table": {"table": "routes", "column": "cost", "index_columns": ["plant", "market"]}}
    )
    checked = check_formulation(parse_formulation(document), [routes])
    assert checked.data.sets["P"].elements == ("seattle", "san-diego")
    assert solve(checked).objective == pytest.approx(153.675)
    # the checked formulation stands alone: values inline, no table reference left
    cost = next(p for p in checked.formulation.parameters if p.name == "cost")
    assert cost.from_table is None and cost.value["seattle"]["chicago"] == 0.153


def test_missing_table_and_column_are_issues(routes: DataTable) -> None:
    document = _transport(
        {"from_table": {"table": "route", "column": "costs", "index_columns": ["plant", "market"]}}
    )
    with pytest.raises(FormulationError) as info:
        check_formulation(parse_formulation(document), [routes])
    text = str(info.value)
    assert "unknown table 'route'" in text and "did you mean 'routes'" in text


def test_index_columns_must_match_the_index(routes: DataTable) -> None:
    document = _transport(
        {"from_table": {"table": "routes", "column": "cost", "index_columns": ["plant"]}}
    )
    _, issues = resolve_tables(parse_formulation(document), [routes])
    assert any("index column" in i.message for i in issues)


def test_value_and_from_table_together_is_an_issue(routes: DataTable) -> None:
    document = _transport(
        {
            "value": 1,
            "from_table": {
                "table": "routes",
                "column": "cost",
                "index_columns": ["plant", "market"],
            },
        }
    )
    _, issues = resolve_tables(parse_formulation(document), [routes])
    assert any("not both" in i.message for i in issues)


def test_parameter_without_value_is_an_issue() -> None:
    document = {
        "parameters": {"p": {"index": []}},
        "variables": {"x": {}},
        "objective": {"minimize": "x"},
    }
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


WIDE_DEMAND = "product,week1,week2,week3\nbread,40,35,50\ncake,10,12,8\n"


def _weekly(source: dict[str, Any], weeks: Any = None) -> dict[str, Any]:
    return {
        "sets": {"P": ["bread", "cake"], "W": weeks or {"first": 1, "last": 3}},
        "parameters": {"demand": {"index": ["P", "W"], "from_table": source}},
        "variables": {"make": {"index": ["P", "W"]}},
        "objective": {"minimize": "sum(make[p, w] for p in P for w in W)"},
        "constraints": {
            "meet": {"forall": "p in P, w in W", "expression": "make[p, w] >= demand[p, w]"}
        },
    }


def test_a_wide_table_fills_the_last_index_from_its_columns_in_order() -> None:
    table = parse_csv_text(WIDE_DEMAND, "demand")
    source = {
        "table": "demand",
        "columns": ["week1", "week2", "week3"],
        "index_columns": ["product"],
    }
    checked = check_formulation(parse_formulation(_weekly(source)), [table])
    assert checked.data.params["demand"].values[("cake", 2)] == 12
    assert solve(checked).objective == pytest.approx(155)
    named = _weekly(source, weeks=["w1", "w2", "w3"])
    checked = check_formulation(parse_formulation(named), [table])
    assert checked.data.params["demand"].values[("bread", "w3")] == 50
    demand = next(p for p in checked.formulation.parameters if p.name == "demand")
    assert demand.from_table is None and "columns week1, week2, week3" in demand.description


def test_wide_table_mistakes_are_issues_with_fixes() -> None:
    table = parse_csv_text(WIDE_DEMAND, "demand")
    both = {
        "table": "demand",
        "column": "week1",
        "columns": ["week1"],
        "index_columns": ["product"],
    }
    with pytest.raises(FormulationError, match="exactly one of them"):
        parse_formulation(_weekly(both))
    too_many = {
        "table": "demand",
        "columns": ["week1", "week2", "week3"],
        "index_columns": ["product", "week1"],
    }
    _, issues = resolve_tables(parse_formulation(_weekly(too_many)), [table])
    assert any("needs 1 index column(s)" in i.message for i in issues)
    short = {"table": "demand", "columns": ["week1", "week2"], "index_columns": ["product"]}
    with pytest.raises(FormulationError, match="demand"):
        check_formulation(parse_formulation(_weekly(short)), [table])
    unknown = {
        "table": "demand",
        "columns": ["week1", "week 2", "week3"],
        "index_columns": ["product"],
    }
    _, issues = resolve_tables(parse_formulation(_weekly(unknown)), [table])
    assert any(
        "no column 'week 2'" in i.message and i.suggestion == "did you mean 'week2'?"
        for i in issues
    )


def test_a_table_of_a_hundred_thousand_rows_feeds_a_parameter() -> None:
    lines = ["plant,market,cost"] + [
        f"p{i},m{j},{i * 1000 + j}" for i in range(400) for j in range(250)
    ]
    table = parse_csv_text("\n".join(lines) + "\n", "routes")
    document = _transport(
        {"from_table": {"table": "routes", "column": "cost", "index_columns": ["plant", "market"]}}
    )
    del document["parameters"]["supply"], document["parameters"]["demand"], document["constraints"]
    formulation, issues = resolve_tables(parse_formulation(document), [table])
    data, data_issues = resolve_data(formulation)
    assert issues == [] and data_issues == []
    cost = data.params["cost"].values
    assert len(cost) == 100_000 and cost[("p399", "m249")] == 399_249 and cost[("p0", "m7")] == 7
    assert data.sets["M"].elements[:3] == ("m0", "m1", "m2")
