"""The expression-to-Python printer: precedence, keys, literals, names."""

from __future__ import annotations

import math
from typing import Any

import pytest
from hypothesis import HealthCheck, assume, example, given, settings
from hypothesis import strategies as st

from optiagent.formulations.analysis import check_formulation
from optiagent.formulations.evaluator import EvaluationError, Evaluator
from optiagent.formulations.export._names import Namer, user_names
from optiagent.formulations.export._script import split_long
from optiagent.formulations.export.source import (
    INT,
    ExpressionPrinter,
    PrintNames,
    py_collection,
    py_literal,
    py_number,
)
from optiagent.formulations.expressions import parse_expression, parse_forall
from optiagent.formulations.io import parse_formulation

_DOCUMENT = {
    "name": "printer",
    "sets": {"S": [1, 2, 3], "Arcs": [["a", "b"], ["b", "c"]], "T": [1, 2]},
    "parameters": {
        "a": 3,
        "b": -2.5,
        "c": {"index": ["S"], "value": [1.5, -2, 4]},
        "cost": {"index": ["Arcs", "T"], "value": {"a,b": {1: 1, 2: 2}}, "default": 7},
    },
    "variables": {"x": {"index": ["S"]}, "flow": {"index": ["Arcs", "T"]}},
    "objective": {"minimize": "sum(x[i] for i in S)"},
}
CHECKED = check_formulation(parse_formulation(_DOCUMENT))


class _Plain(ExpressionPrinter):
    """Variables print as dict lookups, like an OR-Tools script."""

    def variable(self, name: str, index: str | None) -> str:
        return name if index is None else f"{name}[{index}]"


def _printer() -> _Plain:
    names = PrintNames(
        symbols={s: s for s in CHECKED.formulation.symbol_names()}, loops={}, math="math"
    )
    return _Plain(CHECKED.data, CHECKED.formulation.variables, names)


def _environment() -> dict[str, Any]:
    data = CHECKED.data
    env: dict[str, Any] = {"math": math}
    for name, table in data.params.items():
        if not table.index:
            env[name] = table.values[()]
        else:
            env[name] = {(k[0] if len(k) == 1 else k): v for k, v in table.values.items()}
    for name, values in data.sets.items():
        env[name] = list(values.elements)
    return env


_LEAVES = st.sampled_from(["a", "b", "c[1]", "c[2]", "c[3]", "2", "0.5", "-3", "7", "1.25"])


def _combine(children: st.SearchStrategy[str]) -> st.SearchStrategy[str]:
    binary = st.tuples(children, st.sampled_from(["+", "-", "*", "/", "//", "%"]), children)
    return st.one_of(
        binary.map(lambda t: f"({t[0]}) {t[1]} ({t[2]})"),
        st.tuples(children, st.sampled_from(["0", "1", "2", "3"])).map(
            lambda t: f"({t[0]}) ** {t[1]}"
        ),
        children.map(lambda e: f"-({e})"),
        st.tuples(children, children).map(lambda t: f"({t[0]}) if a > 1 else ({t[1]})"),
        st.tuples(children, children).map(lambda t: f"({t[0]}) if b > 1 else ({t[1]})"),
        st.tuples(children, children).map(lambda t: f"max(({t[0]}), ({t[1]}))"),
        children.map(lambda e: f"abs({e})"),
        children.map(lambda e: f"sum(c[i] * ({e}) for i in S if i > 1)"),
    )


_EXPRESSIONS = st.recursive(_LEAVES, _combine, max_leaves=8)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(_EXPRESSIONS)
@example("-(sum(c[i] * (((a) // (b)) * (a)) for i in S if i > 1))")  # found by CI: a * b // b
@example("(a) * (((a) % (b)) * (b))")
def test_printed_data_expressions_evaluate_like_the_evaluator(text: str) -> None:
    node = parse_expression(text)
    try:
        expected = Evaluator(CHECKED.formulation, CHECKED.data, algebra=None).value(node, {})  # type: ignore[arg-type]
    except EvaluationError:
        assume(False)
        return
    assume(isinstance(expected, (int, float)) and math.isfinite(expected))
    printed = _printer().text(node, {})
    actual = eval(printed, _environment())  # the test's own generated text, never user input
    assert actual == pytest.approx(expected, rel=1e-9, abs=1e-9), printed


@pytest.mark.parametrize(
    ("text", "printed"),
    [
        ("a + b + c[1] + c[2]", "a + b + c[1] + c[2]"),  # a balanced tree reads flat
        ("a - (b - c[1])", "a - (b - c[1])"),
        ("a * (b // c[1] * c[2])", "a * (b // c[1] * c[2])"),  # flat, it would floor a * b
        ("a * (b / c[1] * c[2])", "a * b / c[1] * c[2]"),
        ("a - (b + c[1])", "a - (b + c[1])"),
        ("(a + b) * c[1]", "(a + b) * c[1]"),
        ("a / (b * c[1])", "a / (b * c[1])"),
        ("(-2) ** 2", "(-2) ** 2"),
        ("-a ** 2", "-a ** 2"),
        ("(-a) ** 2", "(-a) ** 2"),
        ("a ** -1", "a ** -1"),
        ("(a ** 2) ** 3", "(a ** 2) ** 3"),
        ("a ** 2 ** 3", "a ** 2 ** 3"),
        ("x[1] * (2 if a > 1 else 3)", "x[1] * (2 if a > 1 else 3)"),
        (
            "sum(x[i] for i in S if i > 1 and not i == 3)",
            "sum(x[i] for i in S if i > 1 and not i == 3)",
        ),
        ("ceil(b) + sqrt(a)", "math.ceil(b) + math.sqrt(a)"),
        ("len(S) * max(c)", "len(S) * max(c.values())"),
        ("sum(x)", "sum(x.values())"),
        ("flow[('a', 'b'), 1]", 'flow["a", "b", 1]'),
        ("cost['a', 'b', 2]", 'cost.get(("a", "b", 2), 7)'),
    ],
)
def test_printing_keeps_python_precedence(text: str, printed: str) -> None:
    class _Collections(_Plain):
        def variable_collection(self, name: str) -> str:
            return name

    names = PrintNames(symbols={s: s for s in CHECKED.formulation.symbol_names()}, loops={})
    printer = _Collections(CHECKED.data, CHECKED.formulation.variables, names)
    assert printer.text(parse_expression(text), {}) == printed


def test_a_loop_bound_to_a_pair_is_spliced_into_keys() -> None:
    printer = _printer()
    _, scope = printer.generators(parse_forall("arc in Arcs, t in T"), {})
    assert scope["arc"].dimension == 2
    assert printer.text(parse_expression("flow[arc, t]"), scope) == "flow[(*arc, t)]"
    assert printer.text(parse_expression("cost[arc, t]"), scope) == "cost.get((*arc, t), 7)"
    _, pairs = printer.generators(parse_forall("(i, j) in Arcs"), {})
    assert printer.text(parse_expression("cost[i, j, 1]"), pairs) == "cost.get((i, j, 1), 7)"


def test_static_kinds_follow_python_arithmetic() -> None:
    printer = _printer()
    _, scope = printer.generators(parse_forall("i in S"), {})
    assert printer.kind(parse_expression("a * i + 2"), scope) == INT
    assert printer.kind(parse_expression("a * x[i]"), scope) == "float"  # x is continuous
    assert printer.kind(parse_expression("a / 3"), scope) == "float"
    assert printer.kind(parse_expression("c[i]"), scope) == "float"
    assert printer.kind(parse_expression("ceil(b) + len(S)"), scope) == INT


def test_literals() -> None:
    assert py_number(5.0) == "5"
    assert py_number(2.5) == "2.5"
    assert py_number(1e300) == "1e+300"
    assert py_literal("new-york") == '"new-york"'
    assert py_literal('say "hi"') == '"say \\"hi\\""'
    assert py_literal(("a", 1)) == '("a", 1)'
    assert py_literal(("a",)) == '("a",)'
    long = py_collection([str(i) for i in range(60)], "[", "]", 0, 40)
    assert long.startswith("[\n    0, 1,") and long.endswith("\n]")
    assert all(len(line) <= 40 for line in long.splitlines())
    assert eval(long) == list(range(60))


def test_namer_keeps_user_names_and_renames_only_builtins() -> None:
    namer = Namer()
    mapping = user_names(["print", "supply", "print_", "len"], namer)
    assert mapping["supply"] == "supply" and mapping["print_"] == "print_"
    assert mapping["print"] not in ("print", "print_")
    assert mapping["len"] == "len_"
    assert namer.claim("supply") == "supply_"
    assert namer.claim("model") == "model"
    assert namer.claim("model") == "model_"


def test_long_expressions_break_at_top_level_operators() -> None:
    expression = " + ".join(f"weight_{i} * take_{i}" for i in range(12)) + " <= capacity"
    lines = split_long("return ", expression, "", "    ")
    assert lines[0] == "    return ("
    assert lines[-1] == "    )"
    assert lines[-2] == "        <= capacity"
    assert all(len(line) <= 96 for line in lines)
    call = split_long("solver.Add(", expression, ")", "")
    assert call[0] == "solver.Add(" and call[-1] == ")"
