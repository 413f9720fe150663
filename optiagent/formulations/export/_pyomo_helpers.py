"""Helper functions a Pyomo script defines only when it needs them.

- `abs_of`: |e| as Pyomo's named unary function "abs". Python's abs() builds an
  AbsExpression, which Pyomo's SCIP interface rejects.
- `max_of` / `min_of`: pairwise (a + b ± |a - b|) / 2, which every solver reads.
- `unless_trivial`: a rule may not return True/False. `Constraint.Feasible` and
  `Constraint.Infeasible` build TrivialRelationalExpressions that scip_direct rejects, so a
  true data-only instance is skipped and a false one recorded (the model then has no solution).
"""

from __future__ import annotations

from optiagent.formulations.export._script import ScriptContext

__all__ = ["helper_lines"]


def helper_lines(ctx: ScriptContext, used: set[str], data_only: bool) -> list[str]:
    """Definitions of the helpers the script uses: abs_of, max_of/min_of, unless_trivial."""
    pyo = ctx.helper("pyo")
    lines: list[str] = []
    if "abs_of" in used:
        function = ctx.helper("UnaryFunctionExpression")
        lines += [
            "",
            "",
            f"def {ctx.helper('abs_of')}(expression):",
            '    """|expression| as Pyomo\'s named function "abs" (SCIP rejects abs()\'s)."""',
            "    if isinstance(expression, (int, float)):",
            "        return abs(expression)",
            f'    return {function}((expression,), "abs", abs)',
        ]
    for func, sign, word in (("max", "+", "largest"), ("min", "-", "smallest")):
        if f"{func}_of" in used:
            lines += [
                "",
                "",
                f"def {ctx.helper(f'{func}_of')}(terms):",
                f'    """The {word} of the terms, as (a + b {sign} |a - b|) / 2 pairwise '
                '(every solver reads it)."""',
                "    result = terms[0]",
                "    for term in terms[1:]:",
                f"        result = (result + term {sign} "
                f"{ctx.helper('abs_of')}(result - term)) / 2",
                "    return result",
            ]
    if data_only:
        false_list = ctx.helper("false_by_data")
        lines += [
            "",
            "",
            "# A rule may not return True/False. Some constraint instances below compare data",
            "# only (e.g. a sum over nothing): a true one is skipped, a false one is recorded",
            "# here, and a model with a false one has no solution.",
            f"{false_list} = []",
            "",
            "",
            f"def {ctx.helper('unless_trivial')}(relation, name):",
            '    """The relation, or Skip for a comparison of data only."""',
            "    if relation is True:",
            f"        return {pyo}.Constraint.Skip",
            "    if relation is False:",
            f"        {false_list}.append(name)",
            f"        return {pyo}.Constraint.Skip",
            "    return relation",
        ]
    if lines:
        lines.append("")
    return lines
