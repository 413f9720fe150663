"""The expression language: what parses, and hostile or malformed input that must not."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

from optiagent.formulations import nodes as n
from optiagent.formulations.expressions import (
    ExpressionSyntaxError,
    parse_expression,
    parse_forall,
)


def test_indexed_sum_with_condition_parses_into_a_reduction() -> None:
    tree = parse_expression("sum(cost[p, m] * x[p, m] for p in P for m in M if m != 'topeka')")
    assert isinstance(tree, n.Reduction) and tree.func == "sum"
    assert [g.targets for g in tree.generators] == [("p",), ("m",)]
    assert isinstance(tree.generators[1].conditions[0], n.Compare)


def test_nested_brackets_are_read_as_one_index() -> None:
    assert parse_expression("cost[i][j]") == parse_expression("cost[i, j]")


def test_comparison_chain_and_unicode_operators() -> None:
    tree = parse_expression("0 ≤ x[i] − 1 ≤ 5")
    assert isinstance(tree, n.Compare) and tree.ops == ("<=", "<=")


def test_long_explicit_sum_does_not_hit_the_recursion_limit() -> None:
    text = " + ".join(f"x{i}" for i in range(2000))
    tree = parse_expression(text)
    depth = 0
    node: n.Expr = tree
    while isinstance(node, n.BinOp):
        node, depth = node.left, depth + 1
    assert depth < 20  # balanced, not 6000 deep
    assert sum(1 for x in n.walk(tree) if isinstance(x, n.Name)) == 2000


def test_a_sum_too_long_to_parse_gets_advice() -> None:
    with pytest.raises(ExpressionSyntaxError) as info:
        parse_expression(" + ".join(f"x{i}" for i in range(6000)))
    assert "sum(x[i] for i in I)" in (info.value.suggestion or "")


def test_negative_literal_is_folded() -> None:
    assert parse_expression("-3") == n.Num(0, -3)


@pytest.mark.parametrize(
    ("text", "fragment"),
    [
        ("__import__('os').system('ls')", "only the built-in functions"),
        ("__import__('os')", "'__import__' is not available"),
        ("__class__ + 1", "'__'"),
        ("x[__builtins__]", "'__'"),
        ("x.__class__", "attribute access"),
        ("model.x[i]", "attribute access"),
        ("(lambda: 1)()", "only the built-in functions"),
        ("lambda x: x", "lambda"),
        ("open('/etc/passwd')", "'open' is not available"),
        ("eval('1')", "'eval' is not available"),
        ("exec('x = 1')", "'exec' is not available"),
        ("getattr(x, 'y')", "'getattr' is not available"),
        ("sum(x for x in S, start=1)", "invalid syntax"),
        ("max(a, key=b)", "keyword arguments"),
        ("f'{x}'", "f-strings"),
        ("(y := 3)", "assignment expressions"),
        ("x ** 100000", "too large"),
        ("2 ** 10 ** 10", "too large"),
        ("1" + "0" * 400, "too large"),
        ("2 ** -(10 ** 5)", "too large"),
        ("x ^ 2", "'^'"),
        ("a & b", "'&'"),
        ("~x", "'~'"),
        ("x is None", "'is'"),
        ("[x for x in S]", "bare comprehension"),
        ("{'a': 1}", "Dict"),
        ("x[1:3]", "slices"),
        ("True + x", "not a number"),
        ("b'bytes'", "bytes"),
        ("*args", "invalid syntax"),
        ("import os", "invalid syntax"),
        ("x = 3", "invalid syntax"),
        ("", "empty"),
        ("(" * 300 + "x" + ")" * 300, "nested"),
    ],
)
def test_hostile_or_invalid_input_is_rejected_with_a_message(text: str, fragment: str) -> None:
    with pytest.raises(ExpressionSyntaxError) as info:
        parse_expression(text)
    assert fragment in str(info.value) or fragment in (info.value.suggestion or "")


def test_single_equals_gets_a_suggestion() -> None:
    with pytest.raises(ExpressionSyntaxError) as info:
        parse_expression("x + y = 10")
    assert "==" in (info.value.suggestion or "")


def test_caret_power_gets_a_suggestion() -> None:
    with pytest.raises(ExpressionSyntaxError) as info:
        parse_expression("x ^ 2")
    assert "**" in (info.value.suggestion or "")


def test_error_position_points_at_the_offending_symbol() -> None:
    with pytest.raises(ExpressionSyntaxError) as info:
        parse_expression("3 * x + open(y)")
    assert info.value.pos == 8


def test_position_survives_unicode_normalisation() -> None:
    with pytest.raises(ExpressionSyntaxError) as info:
        parse_expression("x ≤ 3 + y.z")
    assert info.value.pos == 8


@pytest.mark.parametrize(
    ("text", "targets"),
    [
        ("p in P", [("p",)]),
        ("p in P, t in T if t > 1", [("p",), ("t",)]),
        ("for p in P for t in T if t > 1", [("p",), ("t",)]),
        ("for all p in P", [("p",)]),
        ("(j, s) in Tasks if s > 0", [("j", "s")]),
        ("i in I if i != 'a', j in J if cost[i, j] > 0", [("i",), ("j",)]),
    ],
)
def test_forall_forms(text: str, targets: list[tuple[str, ...]]) -> None:
    assert [g.targets for g in parse_forall(text)] == targets


def test_forall_condition_is_attached_to_its_binding() -> None:
    first, second = parse_forall("i in I if i > 1, j in J")
    assert len(first.conditions) == 1 and not second.conditions


@pytest.mark.parametrize("text", ["p in", "in P", "p in P,", "x.y in P", "p in P if"])
def test_bad_forall_is_rejected(text: str) -> None:
    with pytest.raises(ExpressionSyntaxError):
        parse_forall(text)


def test_the_formulations_package_never_calls_eval_exec_or_compile() -> None:
    """The IR route is safe by construction: no generated text ever reaches the interpreter."""
    package = Path(__file__).parents[2] / "optiagent" / "formulations"
    offenders = []
    for path in package.rglob("*.py"):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            if (
                isinstance(node, ast.Call)
                and isinstance(node.func, ast.Name)
                and node.func.id in ("eval", "exec", "compile", "__import__")
            ):
                offenders.append(f"{path.name}:{node.lineno}")
    assert offenders == []
