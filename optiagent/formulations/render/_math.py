"""Print expression trees as math: unicode text (`TextMath`) or LaTeX (`LatexMath`).

One walk with Python's precedence decides where parentheses go; the two classes differ only
in spelling (`∑(m ∈ Markets)` versus `\\sum_{m \\in \\mathit{Markets}}`). Shared helpers for
both documents (index letters, bounds, data summaries) live here too.
"""

from __future__ import annotations

from collections.abc import Sequence

from optiagent.formulations import nodes as n
from optiagent.formulations.analysis import CheckedFormulation
from optiagent.formulations.data import ModelData, ParamTable, resolve_data
from optiagent.formulations.expressions import (
    ExpressionSyntaxError,
    parse_expression,
    parse_forall,
)
from optiagent.formulations.schema import Domain, Formulation, VariableDef

__all__ = [
    "MAX_COLUMNS",
    "MAX_LISTED",
    "LatexMath",
    "TextMath",
    "as_formulation",
    "binding_target",
    "bound_text",
    "bounds_words",
    "cell",
    "domain_words",
    "forall_text",
    "index_letters",
    "index_parts",
    "latex_symbol",
    "latex_text",
    "math_text",
    "number",
    "parsed",
    "summary",
]

_CMP, _ADD, _MUL, _UNARY, _POW, _ATOM = 5, 6, 7, 8, 9, 10
MAX_LISTED = 12  # elements / rows shown in full
MAX_COLUMNS = 8
_SUPERSCRIPTS = {2: "²", 3: "³"}
_TEXT_OPS = {"<=": "≤", ">=": "≥", "==": "=", "!=": "≠", "in": "∈", "not in": "∉"}
_LATEX_OPS = {"<=": r"\le", ">=": r"\ge", "==": "=", "!=": r"\ne", "in": r"\in"}
_LATEX_OPS["not in"] = r"\notin"
_LATEX_SPECIAL = {c: "\\" + c for c in "&%$#_{}"} | {
    "~": r"\textasciitilde{}",
    "^": r"\textasciicircum{}",
    "\\": r"\textbackslash{}",
}


def number(value: float) -> str:
    """A number as people write it: 5 for 5.0, 2.5 for 2.5."""
    if isinstance(value, float) and value.is_integer() and abs(value) < 2**53:
        return str(int(value))
    return f"{value:g}" if isinstance(value, float) else str(value)


def latex_symbol(name: str) -> str:
    """A name in math mode: single letters as they are, longer names in \\mathit."""
    escaped = name.replace("_", r"\_")
    return escaped if len(name) == 1 else rf"\mathit{{{escaped}}}"


def latex_text(text: str) -> str:
    """Text with LaTeX's special characters escaped."""
    return "".join(_LATEX_SPECIAL.get(c, c) for c in text)


class TextMath:
    """Prints expression trees as unicode text; `LatexMath` overrides the spelling."""

    latex = False

    def __init__(self, formulation: Formulation) -> None:
        self.sets = {s.name for s in formulation.sets}

    # spelling (overridden for LaTeX) --------------------------------------------------------
    def symbol(self, name: str) -> str:
        """A set, parameter, variable or loop name."""
        return name

    def indexed(self, base: str, indices: list[str]) -> str:
        """`base` at `indices`: ship[p, m]."""
        return f"{base}[{', '.join(indices)}]"

    def string(self, value: str) -> str:
        """An element name written in an expression."""
        return f'"{value}"'

    def paren(self, text: str) -> str:
        """`text` in parentheses."""
        return f"({text})"

    def times(self, left: str, right: str, left_node: n.Expr) -> str:
        """A product of two printed factors: 3x for a number and a name, else a · b."""
        if isinstance(left_node, n.Num) and left_node.value >= 0 and right[:1].isalpha():
            return f"{left}{right}"
        return f"{left} · {right}"

    def divide(self, left: n.Expr, right: n.Expr) -> tuple[str, int]:
        """A quotient and its precedence."""
        return f"{self.wrap(left, _MUL)} / {self.wrap(right, _MUL + 1)}", _MUL

    def power(self, base: str, exponent: n.Expr) -> str:
        """`base` to the power `exponent`."""
        if isinstance(exponent, n.Num) and exponent.value in _SUPERSCRIPTS:
            return base + _SUPERSCRIPTS[int(exponent.value)]
        return f"{base}^{self.wrap(exponent, _ATOM)}"

    def op(self, op: str) -> str:
        """A comparison operator."""
        return _TEXT_OPS.get(op, op)

    def function(self, func: str, args: list[str]) -> str:
        """A call of a function of the language."""
        joined = ", ".join(args)
        special = {
            "abs": f"|{joined}|",
            "sqrt": f"√({joined})",
            "ceil": f"⌈{joined}⌉",
            "floor": f"⌊{joined}⌋",
        }
        return special.get(func, f"{func}({joined})")

    def set_size(self, name: str) -> str:
        """The number of elements of a set (len)."""
        return f"|{self.symbol(name)}|"

    def reduction(self, func: str, bindings: list[str], body: str) -> str:
        """sum/min/max over the given bindings."""
        sign = "∑" if func == "sum" else func
        if not bindings:
            return f"{sign} {body}"
        return " ".join(f"{sign}({b})" for b in bindings) + f" {body}"

    def global_constraint(self, func: str, items: str) -> str:
        """no_overlap / all_different of the items."""
        return f"{func}({items})"

    def if_else(self, body: str, test: str, orelse: str) -> str:
        """A value chosen by a data condition."""
        return f"({body} if {test} else {orelse})"

    def binding(
        self, targets: str, iterable: str, conditions: list[str], stacked: bool = True
    ) -> str:
        """One loop binding: targets, the set, and conditions (stacked under a sum)."""
        text = f"{targets} ∈ {iterable}"
        return text + (" : " + ", ".join(conditions) if conditions else "")

    def element_set(self, items: list[str]) -> str:
        """A literal set of elements."""
        return "{" + ", ".join(items) + "}"

    def ellipsis_range(self, first: str, last: str) -> str:
        """The integers first..last."""
        return f"{{{first}, …, {last}}}"

    def boolean(self, op: str) -> str:
        """and / or / not."""
        return {"and": " and ", "or": " or ", "not": "not "}[op]

    # walking ----------------------------------------------------------------------------------
    def text(self, node: n.Expr) -> str:
        """The math text of `node`."""
        return self.expr(node)[0]

    def wrap(self, node: n.Expr, minimum: int) -> str:
        """The text of `node`, parenthesised if it binds looser than `minimum`."""
        text, precedence = self.expr(node)
        return self.paren(text) if precedence < minimum else text

    def expr(self, node: n.Expr) -> tuple[str, int]:
        """The text of `node` and its precedence."""
        if isinstance(node, n.Num):
            return number(node.value), _UNARY if node.value < 0 else _ATOM
        if isinstance(node, n.Str):
            return self.string(node.value), _ATOM
        if isinstance(node, n.Name):
            return self.symbol(node.id), _ATOM
        if isinstance(node, n.Subscript):
            return self.indexed(self.symbol(node.name), self.indices(node.indices)), _ATOM
        if isinstance(node, n.TupleExpr):
            return self.paren(", ".join(self.text(i) for i in node.items)), _ATOM
        if isinstance(node, n.BinOp):
            return self.binop(node)
        if isinstance(node, n.UnaryOp):
            if node.op == "not":
                return self.boolean("not") + self.wrap(node.operand, _CMP), _CMP
            return f"{node.op}{self.wrap(node.operand, _UNARY + 1)}", _UNARY
        if isinstance(node, n.Compare):
            parts = [self.wrap(node.operands[0], _ADD)]
            for op, operand in zip(node.ops, node.operands[1:], strict=True):
                if op in ("in", "not in"):
                    parts.append(f"{self.op(op)} {self.iterable(operand)}")
                else:
                    parts.append(f"{self.op(op)} {self.wrap(operand, _ADD)}")
            return " ".join(parts), _CMP
        if isinstance(node, n.BoolOp):
            joined = self.boolean(node.op).join(self.wrap(v, _CMP) for v in node.values)
            return joined, _CMP - 1
        if isinstance(node, n.IfExp):
            return self.if_else(
                self.text(node.body), self.text(node.test), self.text(node.orelse)
            ), (_ATOM)
        if isinstance(node, n.Reduction):
            return self.reduce(node)
        if isinstance(node, n.Call):
            return self.call(node), _ATOM
        return str(node), _ATOM

    def indices(self, indices: Sequence[n.Expr]) -> list[str]:
        """Printed index positions (an explicit tuple is spread out)."""
        parts: list[str] = []
        for index in indices:
            if isinstance(index, n.TupleExpr):
                parts.extend(self.text(i) for i in index.items)
            else:
                parts.append(self.text(index))
        return parts

    def binop(self, node: n.BinOp) -> tuple[str, int]:
        """An arithmetic operation and its precedence."""
        if node.op == "/":
            return self.divide(node.left, node.right)
        if node.op == "**":
            return self.power(self.wrap(node.left, _POW + 1), node.right), _POW
        if node.op in ("//", "%"):
            left, right = self.text(node.left), self.text(node.right)
            if node.op == "//":
                return self.function("floor", [f"{left} / {right}"]), _ATOM
            return f"{self.wrap(node.left, _MUL)} mod {self.wrap(node.right, _MUL + 1)}", _MUL
        precedence = _ADD if node.op in "+-" else _MUL
        left = self.wrap(node.left, precedence)
        associative = (
            isinstance(node.right, n.BinOp)
            and node.right.op == node.op
            and node.op in "+*"
            and n.flattens_safely(node.right)
        )
        right = self.wrap(node.right, precedence if associative else precedence + 1)
        if node.op == "*":
            return self.times(left, right, node.left), _MUL
        return f"{left} {node.op} {right}", _ADD

    def call(self, node: n.Call) -> str:
        """A function call (len, globals and sum of all entries have their own form)."""
        if node.func == "len" and node.args and isinstance(node.args[0], n.Name):
            return self.set_size(node.args[0].id)
        if node.func == "sum" and len(node.args) == 1 and isinstance(node.args[0], n.Name):
            return self.reduction("sum", [], self.text(node.args[0]))
        if node.func in ("no_overlap", "all_different"):
            args = node.args
            if len(args) == 1 and isinstance(args[0], n.TupleExpr):
                args = args[0].items
            return self.global_constraint(node.func, ", ".join(self.text(a) for a in args))
        return self.function(node.func, [self.text(a) for a in node.args])

    def reduce(self, node: n.Reduction) -> tuple[str, int]:
        """A reduction and its precedence."""
        bindings = [self.generator(g) for g in node.generators]
        if node.func in ("no_overlap", "all_different"):
            items = f"{self.text(node.body)} : {', '.join(bindings)}"
            return self.global_constraint(node.func, items), _ATOM
        body = self.wrap(node.body, _MUL)
        return self.reduction(node.func, bindings, body), _ADD

    def generator(self, generator: n.Generator, stacked: bool = True) -> str:
        """One `for ... in ... if ...` clause as a binding."""
        targets = ", ".join(self.symbol(t) for t in generator.targets)
        if len(generator.targets) > 1:
            targets = f"({targets})"
        conditions = [self.text(c) for c in generator.conditions]
        return self.binding(targets, self.iterable(generator.iterable), conditions, stacked)

    def iterable(self, node: n.Expr) -> str:
        """What a loop runs over: a set, {a, …, b} for range(), or a literal set."""
        if isinstance(node, n.Call) and node.func == "range" and 1 <= len(node.args) <= 2:
            first = self.text(node.args[0]) if len(node.args) == 2 else "0"
            stop = node.args[-1]
            if isinstance(stop, n.Num):
                last = number(stop.value - 1)
            else:
                last = f"{self.wrap(stop, _ADD)} - 1"
            return self.ellipsis_range(first, last)
        if isinstance(node, n.TupleExpr):
            return self.element_set([self.text(i) for i in node.items])
        return self.text(node)


class LatexMath(TextMath):
    """The same walk, spelled in LaTeX (amsmath); each method overrides TextMath's spelling."""

    latex = True

    def symbol(self, name: str) -> str:
        return latex_symbol(name)

    def indexed(self, base: str, indices: list[str]) -> str:
        return f"{base}_{{{','.join(indices)}}}"

    def string(self, value: str) -> str:
        return rf"\text{{{latex_text(value)}}}"

    def paren(self, text: str) -> str:
        return rf"\left({text}\right)"

    def times(self, left: str, right: str, left_node: n.Expr) -> str:
        return f"{left} {right}" if isinstance(left_node, n.Num) else rf"{left} \cdot {right}"

    def divide(self, left: n.Expr, right: n.Expr) -> tuple[str, int]:
        return rf"\frac{{{self.text(left)}}}{{{self.text(right)}}}", _ATOM

    def power(self, base: str, exponent: n.Expr) -> str:
        return f"{base}^{{{self.text(exponent)}}}"

    def op(self, op: str) -> str:
        return _LATEX_OPS.get(op, op)

    def function(self, func: str, args: list[str]) -> str:
        joined = ", ".join(args)
        special = {
            "abs": rf"\left|{joined}\right|",
            "sqrt": rf"\sqrt{{{joined}}}",
            "ceil": rf"\lceil {joined} \rceil",
            "floor": rf"\lfloor {joined} \rfloor",
            "exp": rf"\exp\left({joined}\right)",
            "log": rf"\ln\left({joined}\right)",
            "log10": rf"\log_{{10}}\left({joined}\right)",
            "min": rf"\min\left({joined}\right)",
            "max": rf"\max\left({joined}\right)",
        }
        name = func.replace("_", r"\_")
        return special.get(func, rf"\operatorname{{{name}}}\left({joined}\right)")

    def set_size(self, name: str) -> str:
        return rf"\left|{self.symbol(name)}\right|"

    def reduction(self, func: str, bindings: list[str], body: str) -> str:
        operator = {"sum": r"\sum", "min": r"\min", "max": r"\max"}[func]
        if not bindings:
            return f"{operator} {body}"
        return " ".join(f"{operator}_{{{b}}}" for b in bindings) + f" {body}"

    def global_constraint(self, func: str, items: str) -> str:
        name = func.replace("_", r"\_")
        return rf"\operatorname{{{name}}}\left({items}\right)"

    def if_else(self, body: str, test: str, orelse: str) -> str:
        return (
            rf"\begin{{cases}} {body} & \text{{if }} {test} \\ {orelse} & "
            r"\text{otherwise} \end{cases}"
        )

    def binding(
        self, targets: str, iterable: str, conditions: list[str], stacked: bool = True
    ) -> str:
        text = rf"{targets} \in {iterable}"
        if not conditions:
            return text
        joined = r",\ ".join(conditions)
        if not stacked:  # a quantifier: "for all t in T : t > 1" on one line
            return rf"{text} : {joined}"
        return rf"\substack{{{text} \\ {joined}}}"

    def element_set(self, items: list[str]) -> str:
        return r"\{" + ", ".join(items) + r"\}"

    def ellipsis_range(self, first: str, last: str) -> str:
        return rf"\{{{first}, \dots, {last}\}}"

    def boolean(self, op: str) -> str:
        return {"and": r" \land ", "or": r" \lor ", "not": r"\lnot "}[op]


def as_formulation(model: Formulation | CheckedFormulation) -> tuple[Formulation, ModelData]:
    """The formulation and its resolved data (resolved leniently: rendering needs no checks)."""
    if isinstance(model, CheckedFormulation):
        return model.formulation, model.data
    return model, resolve_data(model)[0]


def parsed(text: str) -> n.Expr | None:
    """The expression tree, or None if the text does not parse (it is then shown as written)."""
    try:
        return parse_expression(text)
    except ExpressionSyntaxError:
        return None


def forall_text(printer: TextMath, text: str | None) -> str | None:
    """A quantifier in math (`p ∈ Plants, t ∈ T : t > 1`), or None without one."""
    if not text:
        return None
    try:
        generators = parse_forall(text)
    except ExpressionSyntaxError:
        return text
    joiner = r",\ " if printer.latex else ", "
    return joiner.join(printer.generator(g, stacked=False) for g in generators)


def index_letters(variable: VariableDef, data: ModelData) -> list[tuple[list[str], str]]:
    """Index letters per index set: (['p'], 'Plants'), or (['t1', 't2'], 'Tasks') for pairs."""
    used: set[str] = set()
    result = []
    for set_name in variable.index:
        base = (set_name[:1] or "i").lower()
        letter, count = base, 1
        while letter in used:
            count += 1
            letter = f"{base}{count}"
        used.add(letter)
        dimension = data.sets[set_name].dimension if set_name in data.sets else 1
        letters = [letter] if dimension == 1 else [f"{letter}{k + 1}" for k in range(dimension)]
        result.append((letters, set_name))
    return result


def index_parts(letters: list[tuple[list[str], str]]) -> list[str]:
    """Every index letter in order: p, m (or t1, t2 for a pair set)."""
    return [letter for group, _ in letters for letter in group]


def binding_target(group: list[str]) -> str:
    """`p`, or `(t1, t2)` for the letters of a pair set."""
    return group[0] if len(group) == 1 else "(" + ", ".join(group) + ")"


def domain_words(variable: VariableDef) -> str:
    """The domain in words: 'real ≥ 0', 'binary', 'interval of length duration'."""
    words = {
        Domain.REAL: "real",
        Domain.NONNEGATIVE_REAL: "real ≥ 0",
        Domain.INTEGER: "integer",
        Domain.NONNEGATIVE_INTEGER: "integer ≥ 0",
        Domain.BINARY: "binary",
        Domain.INTERVAL: f"interval of length {variable.duration}",
    }
    return words[variable.domain]


def bounds_words(
    variable: VariableDef, data: ModelData, parts: list[str], printer: TextMath
) -> str:
    """The bounds in words: '0 … horizon', '≥ 1', '≤ cap[p, m]' (empty without bounds)."""
    lower, upper = (
        "" if spec is None else bound_text(spec, data, parts, printer)
        for spec in (variable.lower, variable.upper)
    )
    if lower and upper:
        return f"{lower} … {upper}"
    if lower:
        return f"≥ {lower}"
    return f"≤ {upper}" if upper else ""


def bound_text(value: float | str, data: ModelData, parts: list[str], printer: TextMath) -> str:
    """A bound: a number, a scalar parameter, or an indexed one at the variable's index."""
    if not isinstance(value, str):
        return number(value)
    table = data.params.get(value)
    if table is not None and table.index and parts:
        return printer.indexed(printer.symbol(value), parts)
    return printer.symbol(value)


def summary(table: ParamTable) -> str:
    """'120 values from 0.5 to 9, 0 elsewhere'."""
    values = list(table.values.values())
    numbers = [v for v in values if isinstance(v, (int, float))]
    text = f"{len(values)} values"
    if numbers:
        text += f" from {number(min(numbers))} to {number(max(numbers))}"
    if table.default is not None:
        text += f", {number(table.default)} elsewhere"
    return text


def cell(value: object) -> str:
    """A value for a Markdown table cell (tuples as (a, b), pipes escaped)."""
    if isinstance(value, tuple):
        value = "(" + ", ".join(str(v) for v in value) + ")"
    if isinstance(value, float):
        value = number(value)
    return str(value).replace("|", r"\|")


def math_text(printer: TextMath, text: str) -> str:
    """An expression string in the printer's math, or as written if it does not parse."""
    node = parsed(text)
    return text if node is None else printer.text(node)
