"""What every exported script shares: checking, names, the data section, the header, helpers."""

from __future__ import annotations

import textwrap
from collections.abc import Iterable
from dataclasses import dataclass, field

from optiagent.formulations import nodes as n
from optiagent.formulations.analysis import CheckedFormulation, check_formulation
from optiagent.formulations.evaluator import Relation, is_data
from optiagent.formulations.export._names import Namer, loop_names, user_names
from optiagent.formulations.export.source import (
    PrintNames,
    py_collection,
    py_literal,
    py_number,
)
from optiagent.formulations.polynomial import PolyAlgebra
from optiagent.formulations.schema import Domain, Formulation, ParameterDef, SetDef, VariableDef

__all__ = [
    "WIDTH",
    "ScriptContext",
    "as_checked",
    "comment",
    "data_lines",
    "data_only_constraints",
    "header_lines",
    "index_base",
    "label_helper",
    "local_names",
    "split_long",
]

WIDTH = 96
"""Lines of generated code are kept to about this width where the structure allows."""


def as_checked(model: Formulation | CheckedFormulation) -> CheckedFormulation:
    """The checked formulation (raises FormulationError listing every issue)."""
    return model if isinstance(model, CheckedFormulation) else check_formulation(model)


@dataclass
class ScriptContext:
    """A formulation being written as a script, with the names chosen for it."""

    checked: CheckedFormulation
    namer: Namer
    names: PrintNames
    helpers: dict[str, str] = field(default_factory=dict)

    @classmethod
    def create(cls, checked: CheckedFormulation, reserved: Iterable[str] = ()) -> ScriptContext:
        """Name the user's symbols and loops first (they win), then nothing else yet."""
        namer = Namer(reserved)
        formulation = checked.formulation
        symbols = user_names(sorted(formulation.symbol_names()), namer)
        loops = user_names(sorted(loop_names(checked)), namer)
        names = PrintNames(symbols=symbols, loops=loops)
        return cls(checked, namer, names)

    def helper(self, wanted: str) -> str:
        """The script's name for a helper (claimed on first use, then the same each time)."""
        if wanted not in self.helpers:
            self.helpers[wanted] = self.namer.claim(wanted)
        return self.helpers[wanted]

    def symbol(self, name: str) -> str:
        """The Python name of a set, parameter or variable."""
        return self.names.symbols[name]


def index_base(set_name: str) -> str:
    """A loop name for a set's elements: its initial in lower case (never l or o, which read
    like 1 and 0)."""
    initial = set_name[:1].lower()
    return initial if initial.isalpha() and initial not in ("l", "o") else "i"


def local_names(ctx: ScriptContext, bases: list[str], avoid: Iterable[str] = ()) -> list[str]:
    """Names for a comprehension or small function: free of every global name and each other.

    They are not claimed: they live in their own scope and refer only to names already taken.
    Loop names may be reused (`for p in Plants` again): no global is ever named like one.
    """
    chosen: list[str] = list(avoid)
    skip = len(chosen)
    loops = set(ctx.names.loops.values()) - set(chosen)
    for base in bases:
        candidate, number = base, 1
        while (not ctx.namer.is_free(candidate) and candidate not in loops) or candidate in chosen:
            number += 1
            candidate = f"{base}{number}"
        chosen.append(candidate)
    return chosen[skip:]


def comment(text: str, indent: str = "") -> list[str]:
    """A description as comment lines (wrapped, never breaking the code around it)."""
    lines: list[str] = []
    for paragraph in text.strip().splitlines() or [""]:
        wrapped = textwrap.wrap(paragraph, WIDTH - len(indent) - 2) or [""]
        lines.extend(f"{indent}# {line}".rstrip() for line in wrapped)
    return lines


def _described(name: str, index: list[str], description: str, units: str = "") -> str:
    head = f"{name}[{', '.join(index)}]" if index else name
    text = head
    if description:
        text += f": {description.strip()}"
    if units:
        text += f" ({units})"
    return text


def variable_comment(variable: VariableDef, interval_note: str) -> list[str]:
    """Comment lines above a variable: its description, units and, for an interval, the note."""
    notes = [variable.description.strip()] if variable.description.strip() else []
    if variable.units:
        notes.append(f"({variable.units})")
    if variable.domain is Domain.INTERVAL:
        notes.append(interval_note)
    head = f"{variable.name}[{', '.join(variable.index)}]" if variable.index else variable.name
    return comment(f"{head}: {' '.join(notes)}") if notes else []


def header_lines(checked: CheckedFormulation, command: str, solver: str) -> list[str]:
    """The module docstring: what the model is, where the script came from, how to run it."""
    formulation = checked.formulation
    title = formulation.name
    if formulation.description:
        title += f": {formulation.description.strip()}"
    body = (
        f"Written by `optiagent export {command}` from the five-element formulation "
        f"'{formulation.name}' ({checked.problem_class.value}, solved here with {solver}). "
        "Run it with `python <this file>`: it prints `status: ...`, the non-zero variable "
        "values (`name[index] = value`) and, as its last line, `objective: <value>`."
    )
    lines = ['"""' + textwrap.shorten(title, 1000, placeholder="...").replace('"""', "'''")]
    lines.append("")
    lines.extend(textwrap.wrap(body, WIDTH))
    lines.append('"""')
    return lines


def _set_lines(ctx: ScriptContext, set_def: SetDef) -> list[str]:
    data = ctx.checked.data.sets[set_def.name]
    name = ctx.symbol(set_def.name)
    lines = (
        comment(_described(set_def.name, [], set_def.description)) if set_def.description else []
    )
    if set_def.elements is None and set_def.first is not None and set_def.last is not None:
        first = _range_end(ctx, set_def.first)
        last = _range_end(ctx, set_def.last)
        last_text = f"{last} + 1" if isinstance(set_def.last, str) else str(int(set_def.last) + 1)
        lines.append(f"{name} = list(range({first}, {last_text}))")
        return lines
    items = [py_literal(e) for e in data.elements]
    lines.append(f"{name} = " + py_collection(items, "[", "]", len(name) + 3, WIDTH))
    return lines


def _range_end(ctx: ScriptContext, value: int | str) -> str:
    return ctx.symbol(value) if isinstance(value, str) else str(value)


def _parameter_lines(ctx: ScriptContext, parameter: ParameterDef) -> list[str]:
    table = ctx.checked.data.params[parameter.name]
    name = ctx.symbol(parameter.name)
    text = _described(parameter.name, parameter.index, parameter.description, parameter.units)
    if table.default is not None and table.index:
        text += f"; entries not listed are {py_number(table.default)}"
    lines = comment(text) if text != parameter.name else []
    if not table.index:
        lines.append(f"{name} = {py_literal(table.values[()])}")
        return lines
    entries = [
        f"{py_literal(key[0] if len(key) == 1 else key)}: {py_literal(value)}"
        for key, value in table.values.items()
    ]
    lines.append(f"{name} = " + py_collection(entries, "{", "}", 0, WIDTH))
    return lines


def data_lines(ctx: ScriptContext) -> list[str]:
    """Sets as lists and parameters as dicts (scalars as numbers), with their descriptions."""
    formulation = ctx.checked.formulation
    ranges_use_parameters = any(
        isinstance(s.first, str) or isinstance(s.last, str) for s in formulation.sets
    )
    scalars = [p for p in formulation.parameters if not p.index]
    early = scalars if ranges_use_parameters else []
    lines: list[str] = []
    if early:
        lines += ["", "# ---- Scalar parameters (some define the ranges of sets)"]
        for parameter in early:
            lines += _parameter_lines(ctx, parameter)
    if formulation.sets:
        lines += ["", "# ---- Sets"]
        for set_def in formulation.sets:
            lines += _set_lines(ctx, set_def)
    rest = [p for p in formulation.parameters if p not in early]
    if rest:
        lines += ["", "# ---- Parameters"]
        for parameter in rest:
            lines += _parameter_lines(ctx, parameter)
    return lines


def _surely_variable(node: n.Expr, variables: set[str]) -> bool:
    """True if `node` evaluates to a variable expression whatever the data (no empty sums)."""
    if isinstance(node, n.Name):
        return node.id in variables
    if isinstance(node, n.Subscript):
        return node.name in variables
    if isinstance(node, n.BinOp):
        if node.op in ("+", "-", "*", "/"):
            return _surely_variable(node.left, variables) or _surely_variable(node.right, variables)
        return node.op == "**" and _surely_variable(node.left, variables)
    if isinstance(node, n.UnaryOp):
        return node.op != "not" and _surely_variable(node.operand, variables)
    if isinstance(node, n.IfExp):
        return _surely_variable(node.body, variables) and _surely_variable(node.orelse, variables)
    if isinstance(node, n.Call):
        if node.func in ("start", "end"):
            return True
        return node.func in ("exp", "log", "log10", "sqrt", "abs", "min", "max") and any(
            _surely_variable(a, variables) for a in node.args
        )
    return False


def data_only_constraints(checked: CheckedFormulation) -> set[str]:
    """Names of constraints with an instance that compares data only (e.g. an empty sum).

    Such an instance evaluates to True or False in Python, which some modelling layers
    (Pyomo) refuse; the script must treat it on its own. Constraints whose sides always hold
    a variable are recognised from the tree; the others are expanded against the data.
    """
    variables = {v.name for v in checked.formulation.variables}
    evaluator = checked.evaluator(PolyAlgebra())
    found: set[str] = set()
    for parsed in checked.parsed.constraints:
        tree = parsed.expression
        if not isinstance(tree, n.Compare):
            continue  # global constraints
        pairs = zip(tree.operands, tree.operands[1:], strict=False)
        if all(_surely_variable(a, variables) or _surely_variable(b, variables) for a, b in pairs):
            continue
        for _, _, relations in evaluator.constraint_instances(parsed.forall, tree):
            if any(isinstance(r, Relation) and is_data(r.body) for r in relations):
                found.add(parsed.definition.name)
                break
    return found


def label_helper(name: str) -> list[str]:
    """The `label(name, key)` function that writes variable names the way the protocol does."""
    return [
        f"def {name}(variable, key):",
        '    """name[i,j]: how the result protocol writes one variable (key None: a scalar)."""',
        "    if key is None:",
        "        return variable",
        "    parts = key if isinstance(key, tuple) else (key,)",
        '    return variable + "[" + ",".join(str(part) for part in parts) + "]"',
    ]


_SPLIT_TOKENS = (" + ", " - ", " <= ", " >= ", " == ")


def split_long(prefix: str, expression: str, suffix: str, indent: str) -> list[str]:
    """`prefix + expression + suffix`, broken before top-level + - <= >= == if too long."""
    line = f"{indent}{prefix}{expression}{suffix}"
    if len(line) <= WIDTH:
        return [line]
    pieces: list[str] = []
    depth, start, quote, i = 0, 0, "", 0
    while i < len(expression):
        char = expression[i]
        if quote:
            quote = "" if char == quote else quote
        elif char in "'\"":
            quote = char
        elif char in "([{":
            depth += 1
        elif char in ")]}":
            depth -= 1
        elif depth == 0 and any(expression.startswith(t, i) for t in _SPLIT_TOKENS):
            pieces.append(expression[start:i])
            start = i + 1
            i += 1
            continue
        i += 1
    pieces.append(expression[start:])
    if len(pieces) == 1:
        return [line]
    inner = indent + "    "
    body = [f"{inner}{piece.strip()}" for piece in pieces]
    if prefix.endswith("(") and suffix.startswith(")"):
        opener, closer = prefix, suffix  # the call's own parentheses hold the lines
    else:
        opener, closer = prefix + "(", ")" + suffix
    return [f"{indent}{opener}", *body, f"{indent}{closer}"]
