"""Rendering formulations as Markdown and LaTeX."""

from __future__ import annotations

from pathlib import Path

import pytest

from optiagent.formulations.analysis import check_formulation
from optiagent.formulations.io import load_formulation, parse_formulation
from optiagent.formulations.render import to_latex, to_markdown

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"


def _example(name: str):  # type: ignore[no-untyped-def]
    return load_formulation(EXAMPLES / f"{name}.yaml")


def test_transport_markdown() -> None:
    text = to_markdown(_example("transport"))
    for expected in [
        "# transport",
        "Ship cases from plants to markets, meeting demand within supply, at least cost.",
        "## Sets",
        "- **Plants** = {seattle, san-diego}",
        "## Parameters",
        "- **supply**[Plants]: capacity of each plant (cases)",
        "  | Plants | supply |",
        "  | san-diego | 600 |",
        "  | Plants \\ Markets | new-york | chicago | topeka |",
        "  | seattle | 2.5 | 1.7 | 1.8 |",
        "- **freight** = 90 (dollars per case per thousand miles)",
        "## Variables",
        "| ship[p, m], p ∈ Plants, m ∈ Markets | real ≥ 0 |  | cases | cases shipped from each "
        "plant to each market |",
        "## Objective",
        "minimize: transport cost in thousands of dollars",
        "    ∑(p ∈ Plants) ∑(m ∈ Markets) freight · distance[p, m] / 1000 · ship[p, m]",
        "## Constraints",
        "**supply_limit**: ship no more than the plant's supply",
        "    ∑(m ∈ Markets) ship[p, m] ≤ supply[p]    for all p ∈ Plants",
        "    ∑(p ∈ Plants) ship[p, m] ≥ demand[m]    for all m ∈ Markets",
    ]:
        assert expected in text, expected


def test_transport_latex() -> None:
    text = to_latex(_example("transport"))
    for expected in [
        r"\item $\mathit{Plants} = \{\text{seattle}, \text{san-diego}\}$",
        r"\item $\mathit{freight} = 90$: dollars per case per thousand miles",
        r"\begin{align*}",
        r"\min \quad & \sum_{p \in \mathit{Plants}} \sum_{m \in \mathit{Markets}} "
        r"\frac{\mathit{freight} \cdot \mathit{distance}_{p,m}}{1000} \cdot \mathit{ship}_{p,m} \\",
        r"\text{s.t.} \quad & \sum_{m \in \mathit{Markets}} \mathit{ship}_{p,m} \le "
        r"\mathit{supply}_{p} && \forall p \in \mathit{Plants} && \text{(supply\_limit)} \\",
        r"\ge \mathit{demand}_{m} && \forall m \in \mathit{Markets}",
        r"& \mathit{ship}_{p,m} \ge 0 && \forall p \in \mathit{Plants},\ m \in \mathit{Markets}",
        r"\end{align*}",
    ]:
        assert expected in text, expected
    assert text.count(r"\begin{align*}") == text.count(r"\end{align*}") == 1
    assert text.count("{") == text.count("}") + text.count(r"\}") - text.count(r"\{")


@pytest.mark.parametrize(
    ("expression", "markdown", "latex"),
    [
        ("x ** 2 + y ** 0.5", "x² + y^0.5", "x^{2} + y^{0.5}"),
        ("(x + y) * 3", "(x + y) · 3", r"\left(x + y\right) \cdot 3"),
        ("3 * x - (y - 1)", "3x - (y - 1)", "3 x - \\left(y - 1\\right)"),
        ("abs(x - y) + sqrt(x)", "|x - y| + √(x)", r"\left|x - y\right| + \sqrt{x}"),
        ("exp(x) + log(y)", "exp(x) + log(y)", r"\exp\left(x\right) + \ln\left(y\right)"),
        ("max(x, y) / 2", "max(x, y) / 2", r"\frac{\max\left(x, y\right)}{2}"),
        ("-(x + y)", "-(x + y)", r"-\left(x + y\right)"),
        # flat, "x · y mod 2 · 3" would read as (x · y) mod 2
        ("x * (y % 2 * 3)", "x · (y mod 2 · 3)", r"x \cdot \left(y mod 2 \cdot 3\right)"),
    ],
)
def test_expressions(expression: str, markdown: str, latex: str) -> None:
    formulation = parse_formulation(
        {
            "variables": {"x": {}, "y": {}},
            "objective": {"minimize": expression},
        }
    )
    assert f"    {markdown}\n" in to_markdown(formulation)
    assert rf"\min \quad & {latex}" in to_latex(formulation)


def test_quantifiers_conditions_and_global_constraints() -> None:
    jobshop = _example("jobshop")
    markdown = to_markdown(jobshop)
    assert (
        "    start(task[j, s]) ≥ end(task[j, s - 1])    for all (j, s) ∈ Tasks : s > 0" in markdown
    )
    assert "no_overlap(task[j, s] : (j, s) ∈ Tasks : machine[j, s] = m)" in markdown
    assert "| task[t1, t2], (t1, t2) ∈ Tasks | interval of length duration | 0 … horizon |" in (
        markdown
    )
    latex = to_latex(jobshop)
    assert r"\forall (j, s) \in \mathit{Tasks} : s > 0" in latex
    assert (
        r"\operatorname{no\_overlap}\left(\mathit{task}_{j,s} : \substack{(j, s) \in "
        r"\mathit{Tasks} \\ \mathit{machine}_{j,s} = m}\right)"
    ) in latex


def test_big_data_is_summarised_and_small_data_tabled() -> None:
    formulation = parse_formulation(
        {
            "sets": {"I": {"first": 1, "last": 40}, "J": [1, 2]},
            "parameters": {
                "w": {"index": ["I"], "value": {str(i): i / 2 for i in range(1, 41)}},
                "m": {"index": ["I", "J"], "value": {"1": {"1": 3}}, "default": 0},
            },
            "variables": {"x": {"index": ["I"], "upper": "w"}},
            "objective": {"maximize": "sum(x[i] for i in I)"},
        }
    )
    markdown = to_markdown(formulation)
    assert "- **I** = {1, …, 40}" in markdown
    assert "- **w**[I] (40 values from 0.5 to 20)" in markdown
    assert "- **m**[I, J] (1 values from 3 to 3, 0 elsewhere)" in markdown
    assert "| x[i], i ∈ I | real ≥ 0 | ≤ w[i] |" in markdown
    latex = to_latex(formulation)
    assert r"0 \le x_{i} \le w_{i} && \forall i \in I" in latex


def test_text_is_escaped_for_latex() -> None:
    formulation = parse_formulation(
        {
            "name": "cost_100%",
            "description": "profit & loss\nin $ #1",
            "sets": {"Items": ["a_b", "c"]},
            "variables": {"take_it": {"index": ["Items"], "domain": "binary"}},
            "objective": {"maximize": "sum(take_it[i] for i in Items if i == 'a_b')"},
        }
    )
    latex = to_latex(formulation)
    assert latex.startswith("% cost_100%: profit & loss in $ #1\n")  # a comment: no escapes
    assert r"\text{a\_b}" in latex
    assert r"\mathit{take\_it}_{i} \in \{0, 1\}" in latex
    assert r"\sum_{\substack{i \in \mathit{Items} \\ i = \text{a\_b}}}" in latex


def test_feasibility_problems_and_unparsable_text_still_render() -> None:
    formulation = parse_formulation(
        {
            "variables": {"x": {}},
            "constraints": {"odd": "x <= = 3", "fine": "x >= 1"},
        }
    )
    markdown = to_markdown(formulation)
    assert "none: any feasible solution will do" in markdown
    assert "    x <= = 3\n" in markdown  # shown as written
    assert "    x ≥ 1\n" in markdown
    latex = to_latex(formulation)
    assert r"\text{find} \quad & \text{a feasible solution} \\" in latex
    assert r"\text{x <= = 3}" in latex


def test_a_checked_formulation_renders_the_same() -> None:
    formulation = _example("knapsack")
    checked = check_formulation(formulation)
    assert to_markdown(checked) == to_markdown(formulation)
    assert to_latex(checked) == to_latex(formulation)
    assert r"\mathit{take}_{i} \in \{0, 1\} && \forall i \in \mathit{Items}" in to_latex(checked)
