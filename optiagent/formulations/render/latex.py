"""The formulation as a LaTeX fragment (amsmath, amssymb): lists, then the model in `align*`."""

from __future__ import annotations

from optiagent.formulations.analysis import CheckedFormulation
from optiagent.formulations.data import ModelData
from optiagent.formulations.render._math import (
    MAX_LISTED,
    LatexMath,
    TextMath,
    as_formulation,
    binding_target,
    bound_text,
    cell,
    forall_text,
    index_letters,
    index_parts,
    latex_symbol,
    latex_text,
    number,
    parsed,
    summary,
)
from optiagent.formulations.schema import Domain, Formulation, Sense, VariableDef

__all__ = ["to_latex"]


def _latex_math(printer: TextMath, text: str) -> str:
    node = parsed(text)
    return rf"\text{{{latex_text(text)}}}" if node is None else printer.text(node)


def _latex_domain(
    variable: VariableDef, symbol: str, data: ModelData, parts: list[str], latex: LatexMath
) -> str:
    lower, upper = (
        None if spec is None else bound_text(spec, data, parts, latex)
        for spec in (variable.lower, variable.upper)
    )
    sets = {
        Domain.REAL: r"\mathbb{R}",
        Domain.NONNEGATIVE_REAL: r"\mathbb{R}_{\ge 0}",
        Domain.INTEGER: r"\mathbb{Z}",
        Domain.NONNEGATIVE_INTEGER: r"\mathbb{Z}_{\ge 0}",
        Domain.BINARY: r"\{0, 1\}",
        Domain.INTERVAL: r"\mathbb{Z}_{\ge 0}",
    }
    text = rf"{symbol} \in {sets[variable.domain]}"
    if variable.domain is Domain.NONNEGATIVE_REAL:
        text = ""  # written as a bound: 0 <= x
        lower = "0" if lower is None else lower
    separator = r",\ " if text else ""
    if lower is not None and upper is not None:
        return text + rf"{separator}{lower} \le {symbol} \le {upper}"
    if lower is not None:
        return text + rf"{separator}{symbol} \ge {lower}"
    if upper is not None:
        return text + rf"{separator}{symbol} \le {upper}"
    return text


def _latex_bound(value: int | str) -> str:
    return latex_symbol(value) if isinstance(value, str) else number(value)


def to_latex(model: Formulation | CheckedFormulation) -> str:
    """The formulation as a LaTeX fragment (needs amsmath and amssymb): the sets, parameters
    and variables as lists, then the model in an `align*` block with `\\forall` quantifiers."""
    formulation, data = as_formulation(model)
    latex = LatexMath(formulation)
    title = formulation.name
    if formulation.description:
        title += f": {formulation.description}"
    lines = ["% " + " ".join(title.split())]  # one comment line, whatever the description holds
    if formulation.sets:
        lines += [r"\paragraph{Sets}", r"\begin{itemize}"]
        for set_def in formulation.sets:
            resolved = data.sets.get(set_def.name)
            if set_def.elements is None and set_def.first is not None and set_def.last is not None:
                first = _latex_bound(set_def.first)
                last = _latex_bound(set_def.last)
                shown = latex.ellipsis_range(first, last)
            elif resolved is not None and len(resolved.elements) <= MAX_LISTED:
                shown = latex.element_set([_latex_element(latex, e) for e in resolved.elements])
            else:
                count = len(resolved.elements) if resolved else 0
                shown = rf"\{{\dots\}}\ ({count}\ \text{{elements}})"
            item = rf"  \item ${latex.symbol(set_def.name)} = {shown}$"
            if set_def.description:
                item += f": {latex_text(set_def.description.strip())}"
            lines.append(item)
        lines.append(r"\end{itemize}")
    if formulation.parameters:
        lines += [r"\paragraph{Parameters}", r"\begin{itemize}"]
        for parameter in formulation.parameters:
            table = data.params.get(parameter.name)
            symbol = latex.symbol(parameter.name)
            if not parameter.index and table is not None:
                item = rf"  \item ${symbol} = {latex_text(cell(table.values[()]))}$"
            else:
                index = ", ".join(latex.symbol(s) for s in parameter.index)
                item = rf"  \item ${symbol}$ over ${index}$"
                if table is not None:
                    item += f" ({latex_text(summary(table))})"
            notes = [x for x in (parameter.description.strip(), parameter.units) if x]
            if notes:
                item += ": " + latex_text("; ".join(notes))
            lines.append(item)
        lines.append(r"\end{itemize}")
    lines += [r"\begin{align*}"]
    objective = formulation.objective
    if objective is None:
        lines.append(r"\text{find} \quad & \text{a feasible solution} \\")
    else:
        sense = r"\max" if objective.sense is Sense.MAXIMIZE else r"\min"
        lines.append(rf"{sense} \quad & {_latex_math(latex, objective.expression)} \\")
    rows = []
    for constraint in formulation.constraints:
        row = _latex_math(latex, constraint.expression)
        quantifier = forall_text(latex, constraint.forall)
        row += rf" && \forall {quantifier}" if quantifier else " &&"
        row += rf" && \text{{({latex_text(constraint.name)})}}"
        rows.append(row)
    for variable in formulation.variables:
        letters = index_letters(variable, data)
        parts = index_parts(letters)
        symbol = latex.symbol(variable.name)
        if letters:
            symbol = latex.indexed(symbol, parts)
        row = _latex_domain(variable, symbol, data, parts, latex)
        if letters:
            bindings = r",\ ".join(
                rf"{binding_target(g)} \in {latex.symbol(s)}" for g, s in letters
            )
            row += rf" && \forall {bindings}"
        rows.append(row)
    for position, row in enumerate(rows):
        lead = r"\text{s.t.} \quad & " if position == 0 else "& "
        end = r" \\" if position < len(rows) - 1 else ""
        lines.append(lead + row + end)
    if not rows and lines[-1].endswith(r" \\"):
        lines[-1] = lines[-1][: -len(r" \\")]
    lines.append(r"\end{align*}")
    return "\n".join(lines) + "\n"


def _latex_element(printer: LatexMath, element: object) -> str:
    if isinstance(element, tuple):
        return "(" + ", ".join(_latex_element(printer, e) for e in element) + ")"
    if isinstance(element, str):
        return printer.string(element)
    return number(element)  # type: ignore[arg-type]
