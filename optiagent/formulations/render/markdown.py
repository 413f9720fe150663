"""The formulation as Markdown: data as small tables or summaries, math as unicode text.

Expressions go in indented code blocks, so the text reads the same raw in a terminal or a
diff as it does rendered: `∑(m ∈ Markets) ship[p, m] ≤ supply[p]    for all p ∈ Plants`.
"""

from __future__ import annotations

from optiagent.formulations.analysis import CheckedFormulation
from optiagent.formulations.data import ModelData, ParamTable
from optiagent.formulations.render._math import (
    MAX_COLUMNS,
    MAX_LISTED,
    TextMath,
    as_formulation,
    binding_target,
    bounds_words,
    cell,
    domain_words,
    forall_text,
    index_letters,
    index_parts,
    math_text,
    summary,
)
from optiagent.formulations.schema import Formulation, ParameterDef, Sense, SetDef

__all__ = ["to_markdown"]


def _set_line(set_def: SetDef, data: ModelData) -> str:
    resolved = data.sets.get(set_def.name)
    if set_def.elements is None and set_def.first is not None and set_def.last is not None:
        shown = f"{{{set_def.first}, …, {set_def.last}}}"
    elif resolved is None:
        shown = "(not resolved)"
    elif len(resolved.elements) <= MAX_LISTED:
        shown = "{" + ", ".join(cell(e) for e in resolved.elements) + "}"
    else:
        head = ", ".join(cell(e) for e in resolved.elements[:3])
        shown = f"{{{head}, …}} ({len(resolved.elements)} elements)"
    line = f"- **{set_def.name}** = {shown}"
    return line + (f": {set_def.description.strip()}" if set_def.description else "")


def _table(table: ParamTable, data: ModelData) -> list[str]:
    """A one-column table for one set, a grid for two small sets, else nothing."""
    sets = [data.sets[s] for s in table.index if s in data.sets]
    if len(sets) == 1 and len(sets[0].elements) <= MAX_LISTED:
        rows = [f"| {cell(sets[0].name)} | {table.name} |", "|:--|--:|"]
        for element in sets[0].elements:
            value = table.lookup(element if isinstance(element, tuple) else (element,))
            rows.append(f"| {cell(element)} | {'' if value is None else cell(value)} |")
        return rows
    if (
        len(sets) == 2
        and all(s.dimension == 1 for s in sets)
        and len(sets[0].elements) <= MAX_LISTED
        and len(sets[1].elements) <= MAX_COLUMNS
    ):
        rows_set, columns_set = sets
        header = f"| {rows_set.name} \\ {columns_set.name} | "
        header += " | ".join(cell(c) for c in columns_set.elements) + " |"
        rows = [header, "|:--|" + "--:|" * len(columns_set.elements)]
        for row in rows_set.elements:
            values = [table.lookup((row, column)) for column in columns_set.elements]
            cells = ["" if value is None else cell(value) for value in values]
            rows.append(f"| {cell(row)} | " + " | ".join(cells) + " |")
        return rows
    return []


def _parameter_lines(parameter: ParameterDef, data: ModelData) -> list[str]:
    table = data.params.get(parameter.name)
    head = f"**{parameter.name}**"
    if parameter.index:
        head += f"[{', '.join(parameter.index)}]"
    notes = f": {parameter.description.strip()}" if parameter.description.strip() else ""
    if parameter.units:
        notes += f" ({parameter.units})"
    if table is None:
        return [f"- {head}{notes}"]
    if not table.index:
        return [f"- {head} = {cell(table.values[()])}{notes}"]
    grid = _table(table, data)
    if not grid:
        return [f"- {head} ({summary(table)}){notes}"]
    return [f"- {head}{notes}", "", *(f"  {row}" for row in grid), ""]


def _variable_row(formulation: Formulation, data: ModelData, position: int, math: TextMath) -> str:
    variable = formulation.variables[position]
    letters = index_letters(variable, data)
    parts = index_parts(letters)
    name = variable.name
    if letters:
        name = f"{name}[{', '.join(parts)}], "
        name += ", ".join(f"{binding_target(group)} ∈ {s}" for group, s in letters)
    cells = [
        name,
        domain_words(variable),
        bounds_words(variable, data, parts, math),
        variable.units,
        variable.description.strip(),
    ]
    return "| " + " | ".join(cell(c) for c in cells) + " |"


def to_markdown(model: Formulation | CheckedFormulation) -> str:
    """The formulation as Markdown: sets, parameters (tables or summaries), variables,
    objective and constraints in unicode math (`∑(m ∈ Markets) ship[p, m] ≤ supply[p]`)."""
    formulation, data = as_formulation(model)
    math = TextMath(formulation)
    lines = [f"# {formulation.name}", ""]
    if formulation.description:
        lines += [formulation.description.strip(), ""]
    if formulation.sets:
        lines += ["## Sets", "", *(_set_line(s, data) for s in formulation.sets), ""]
    if formulation.parameters:
        lines += ["## Parameters", ""]
        for parameter in formulation.parameters:
            lines += _parameter_lines(parameter, data)
        if lines[-1]:
            lines.append("")
    if formulation.variables:
        lines += ["## Variables", "", "| variable | domain | bounds | units | description |"]
        lines.append("|:--|:--|:--|:--|:--|")
        lines += [
            _variable_row(formulation, data, i, math) for i in range(len(formulation.variables))
        ]
        lines.append("")
    lines += ["## Objective", ""]
    objective = formulation.objective
    if objective is None:
        lines += ["none: any feasible solution will do", ""]
    else:
        sense = "maximize" if objective.sense is Sense.MAXIMIZE else "minimize"
        if objective.description:
            sense += f": {objective.description.strip()}"
        lines += [sense, "", "    " + math_text(math, objective.expression), ""]
    if formulation.constraints:
        lines += ["## Constraints", ""]
        for constraint in formulation.constraints:
            heading = f"**{constraint.name}**"
            if constraint.description:
                heading += f": {constraint.description.strip()}"
            body = math_text(math, constraint.expression)
            quantifier = forall_text(math, constraint.forall)
            if quantifier:
                body += f"    for all {quantifier}"
            lines += [heading, "", "    " + body, ""]
    return "\n".join(lines).rstrip() + "\n"
