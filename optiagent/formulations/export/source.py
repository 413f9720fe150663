"""Print expression trees and data as Python source, for the scripts `optiagent export` writes.

The printer walks the formulation's node tree (never re-evaluated data), so the script shows
the model as it was written: `sum(model.ship[p, m] for m in Markets) <= supply[p]`. What a
variable, an interval or a nonlinear function of variables becomes is left to a subclass per
target (Pyomo, OR-Tools); data stays plain Python, with `math` for functions of data.

Keys follow one convention everywhere in a script: a parameter or variable indexed by one
set of single elements is keyed by the element, anything else by the flattened tuple (a pair
set contributes two positions), exactly like `ModelData` keys. A loop name bound to a pair is
spliced into keys with `*`: `cost[(*arc, t)]`.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from optiagent.formulations import nodes as n
from optiagent.formulations.data import ModelData, ParamTable
from optiagent.formulations.schema import VariableDef

__all__ = [
    "ExpressionPrinter",
    "KeyText",
    "Loop",
    "PrintNames",
    "mentions_variable",
    "py_collection",
    "py_literal",
    "py_number",
]

# Python operator precedence, lowest first.
_IF, _OR, _AND, _NOT, _CMP, _ADD, _MUL, _UNARY, _POW, _ATOM = range(1, 11)
_BINARY_PRECEDENCE = {"+": _ADD, "-": _ADD, "*": _MUL, "/": _MUL, "//": _MUL, "%": _MUL}
_MAX_EXACT_INT = 2**53

INT, FLOAT, ELEMENT, MIXED = "int", "float", "element", "mixed"
"""Static kinds of values, used to keep CP-SAT scripts in integers and to guard range()."""


def py_number(value: int | float) -> str:
    """A number as a Python literal; integral floats print as ints (5.0 -> 5)."""
    if isinstance(value, bool):
        return str(int(value))
    if isinstance(value, float) and value.is_integer() and abs(value) < _MAX_EXACT_INT:
        return str(int(value))
    return repr(value)


def py_literal(value: Any) -> str:
    """A number, element name or element tuple as a Python literal."""
    if isinstance(value, str):
        # JSON string syntax is valid Python and reads better than repr's single quotes
        return json.dumps(value, ensure_ascii=False)
    if isinstance(value, tuple):
        inner = ", ".join(py_literal(v) for v in value)
        return f"({inner},)" if len(value) == 1 else f"({inner})"
    return py_number(value)


def py_collection(items: Sequence[str], open_: str, close: str, indent: int, width: int) -> str:
    """Items in brackets: on one line if it fits, else packed lines under a hanging indent."""
    one_line = open_ + ", ".join(items) + close
    if indent + len(one_line) <= width or not items:
        return one_line
    pad = " " * (indent + 4)
    lines: list[str] = []
    current = ""
    for item in items:
        piece = item + ","
        if current and len(pad) + len(current) + 1 + len(piece) > width:
            lines.append(pad + current)
            current = piece
        else:
            current = f"{current} {piece}" if current else piece
    if current:
        lines.append(pad + current)
    return open_ + "\n" + "\n".join(lines) + "\n" + " " * indent + close


def kind_of_values(values: Iterable[Any]) -> str:
    """INT if every value is integral, FLOAT if numeric, ELEMENT for names, else MIXED."""
    kinds = set()
    for value in values:
        if isinstance(value, str):
            kinds.add(ELEMENT)
        elif isinstance(value, tuple):
            kinds.add(MIXED)
        elif isinstance(value, int) or (isinstance(value, float) and value.is_integer()):
            kinds.add(INT)
        else:
            kinds.add(FLOAT)
    if not kinds:
        return INT
    if kinds <= {INT, FLOAT}:
        return FLOAT if FLOAT in kinds else INT
    return kinds.pop() if len(kinds) == 1 else MIXED


def _join(a: str, b: str) -> str:
    if a == b:
        return a
    if {a, b} <= {INT, FLOAT}:
        return FLOAT
    return MIXED


def mentions_variable(node: n.Expr, variables: Mapping[str, VariableDef]) -> bool:
    """True if the subtree refers to a decision variable (loop names never equal symbols)."""
    for sub in n.walk(node):
        if isinstance(sub, n.Name) and sub.id in variables:
            return True
        if isinstance(sub, n.Subscript) and sub.name in variables:
            return True
        if isinstance(sub, n.Call) and sub.func in ("start", "end"):
            return True
    return False


@dataclass(frozen=True)
class Loop:
    """A loop name in scope: its Python name, how many key positions it fills, its kind."""

    name: str
    dimension: int = 1
    kind: str = MIXED


@dataclass(frozen=True)
class KeyText:
    """A key as Python: `inside` goes between brackets, `value` stands alone (for .get)."""

    inside: str
    value: str


@dataclass
class PrintNames:
    """How the formulation's names are spelled in the script."""

    symbols: dict[str, str]  # set / parameter / variable name -> Python name
    loops: dict[str, str]  # loop name -> Python name
    math: str = "math"


Scope = dict[str, Loop]


class ExpressionPrinter:
    """Prints expression trees as Python; subclasses say what variables become."""

    def __init__(self, data: ModelData, variables: Sequence[VariableDef], names: PrintNames):
        self.data = data
        self.variables = {v.name: v for v in variables}
        self.names = names
        self.uses_math = False

    # hooks for a target --------------------------------------------------------------------
    def variable(self, name: str, index: str | None) -> str:
        """A variable reference: `index` is the text inside the brackets, None for scalars."""
        raise NotImplementedError

    def variable_collection(self, name: str) -> str:
        """An expression whose `.values()` are every entry of an indexed variable."""
        raise NotImplementedError

    def interval_start(self, name: str, index: str | None) -> str:
        """The start time of an interval variable."""
        return self.variable(name, index)

    def interval_end(self, name: str, index: str | None, duration: str) -> str:
        """The end time of an interval variable (start + duration)."""
        return f"{self.variable(name, index)} + {duration}"

    def variable_function(self, func: str, args: list[str]) -> str:
        """exp/log/log10/sqrt/abs of an expression with variables."""
        raise NotImplementedError(f"{func} of variables")

    def variable_minmax(self, func: str, items: str) -> str:
        """min/max over items (a Python list expression) that involve variables."""
        raise NotImplementedError(f"{func} of variables")

    # entry points --------------------------------------------------------------------------
    def text(self, node: n.Expr, scope: Scope) -> str:
        """The Python source of `node`."""
        return self._expr(node, scope)[0]

    def operand_text(self, node: n.Expr, scope: Scope) -> str:
        """The source of one side of a comparison (parenthesised if it binds looser)."""
        return self._wrap(node, scope, _CMP + 1)

    def has_variable(self, node: n.Expr) -> bool:
        """True if `node` involves a decision variable."""
        return mentions_variable(node, self.variables)

    def generators(
        self, generators: Sequence[n.Generator], scope: Scope
    ) -> tuple[list[tuple[str, str, list[str]]], Scope]:
        """Each clause as (targets, iterable, conditions) text, and the scope inside them."""
        clauses = []
        inner = dict(scope)
        for generator in generators:
            iterable = self._iterable(generator.iterable, inner)
            for target, loop in self._bind(generator, inner).items():
                inner[target] = loop
            targets = ", ".join(inner[t].name for t in generator.targets)
            conditions = [self._wrap(c, inner, _IF + 1) for c in generator.conditions]
            clauses.append((targets, iterable, conditions))
        return clauses, inner

    def comprehension(self, generators: Sequence[n.Generator], scope: Scope) -> tuple[str, Scope]:
        """` for p in Plants if ... for m in Markets` and the scope inside."""
        clauses, inner = self.generators(generators, scope)
        text = "".join(
            f" for {targets} in {iterable}" + "".join(f" if {c}" for c in conditions)
            for targets, iterable, conditions in clauses
        )
        return text, inner

    def key_text(self, indices: Sequence[n.Expr], scope: Scope) -> KeyText:
        """The key written by `indices`: `p, m`, or `(*arc, t)` when a loop value is a pair."""
        parts: list[str] = []
        starred = False
        for index in indices:
            if isinstance(index, n.TupleExpr):
                parts.extend(self._wrap(item, scope, _IF + 1) for item in index.items)
            elif isinstance(index, n.Name) and index.id in scope and scope[index.id].dimension > 1:
                parts.append("*" + scope[index.id].name)
                starred = True
            else:
                parts.append(self._wrap(index, scope, _IF + 1))
        if starred and len(parts) == 1:
            return KeyText(parts[0][1:], parts[0][1:])  # the loop value already is the key
        if starred:
            composite = "(" + ", ".join(parts) + ")"
            return KeyText(composite, composite)
        inside = ", ".join(parts)
        return KeyText(inside, inside if len(parts) == 1 else f"({inside})")

    def kind(self, node: n.Expr, scope: Scope) -> str:
        """The static kind (INT, FLOAT, ELEMENT, MIXED) of the value `node` evaluates to."""
        if isinstance(node, n.Num):
            return kind_of_values([node.value])
        if isinstance(node, n.Str):
            return ELEMENT
        if isinstance(node, n.Name):
            if node.id in scope:
                return scope[node.id].kind
            if node.id in self.data.params:
                return self._param_kind(self.data.params[node.id])
            return self._variable_kind(node.id)
        if isinstance(node, n.Subscript):
            if node.name in self.data.params:
                return self._param_kind(self.data.params[node.name])
            return self._variable_kind(node.name)
        if isinstance(node, n.BinOp):
            left, right = self.kind(node.left, scope), self.kind(node.right, scope)
            if node.op == "/":
                return FLOAT
            if node.op == "**":
                exponent = node.right
                natural = (
                    isinstance(exponent, n.Num)
                    and isinstance(exponent.value, int)
                    and exponent.value >= 0
                )
                return INT if _join(left, right) == INT and natural else FLOAT
            return _join(left, right)
        if isinstance(node, n.UnaryOp):
            return INT if node.op == "not" else self.kind(node.operand, scope)
        if isinstance(node, n.IfExp):
            return _join(self.kind(node.body, scope), self.kind(node.orelse, scope))
        if isinstance(node, n.Reduction):
            _, inner = self.comprehension(node.generators, scope)
            return self.kind(node.body, inner)
        if isinstance(node, n.Call):
            return self._call_kind(node, scope)
        return MIXED

    # internals ------------------------------------------------------------------------------
    def _param_kind(self, table: ParamTable) -> str:
        values = list(table.values.values())
        if table.default is not None:
            values.append(table.default)
        return kind_of_values(values)

    def _variable_kind(self, name: str) -> str:
        variable = self.variables.get(name)
        return INT if variable is not None and variable.domain.is_integral else FLOAT

    def _call_kind(self, node: n.Call, scope: Scope) -> str:
        func = node.func
        if func in ("len", "ceil", "floor") or (func == "round" and len(node.args) == 1):
            return INT
        if func in ("abs", "min", "max", "sum"):
            if len(node.args) == 1 and isinstance(node.args[0], n.Name):
                return self.kind(node.args[0], scope)
            kinds = [self.kind(a, scope) for a in node.args] or [INT]
            result = kinds[0]
            for other in kinds[1:]:
                result = _join(result, other)
            return result
        if func == "start":
            return INT
        if func == "end" and node.args:
            return _join(INT, self._duration_kind(node.args[0]))
        return FLOAT

    def _duration_kind(self, arg: n.Expr) -> str:
        name = arg.name if isinstance(arg, n.Subscript) else getattr(arg, "id", None)
        variable = self.variables.get(name) if isinstance(name, str) else None
        if variable is None or variable.duration is None:
            return MIXED
        if isinstance(variable.duration, str):
            return self._param_kind(self.data.params[variable.duration])
        return kind_of_values([variable.duration])

    def _bind(self, generator: n.Generator, scope: Scope) -> dict[str, Loop]:
        targets = generator.targets
        dimension, kinds = self._iterable_shape(generator.iterable, scope)
        python = [self.names.loops.get(t, t) for t in targets]
        if len(targets) == 1:
            kind = kinds[0] if dimension == 1 else MIXED
            return {targets[0]: Loop(python[0], dimension, kind)}
        return {
            t: Loop(p, 1, kinds[i] if i < len(kinds) else MIXED)
            for i, (t, p) in enumerate(zip(targets, python, strict=True))
        }

    def _iterable_shape(self, node: n.Expr, scope: Scope) -> tuple[int, list[str]]:
        """(dimension of the elements, kind of each position)."""
        if isinstance(node, n.Name) and node.id in self.data.sets:
            data = self.data.sets[node.id]
            kinds = [
                kind_of_values(data.position_values(i)) if data.elements else INT
                for i in range(data.dimension)
            ]
            return data.dimension, kinds
        if isinstance(node, n.TupleExpr):
            items = node.items
            if items and all(isinstance(i, n.TupleExpr) for i in items):
                sizes = {len(i.items) for i in items if isinstance(i, n.TupleExpr)}
                if len(sizes) == 1:
                    size = sizes.pop()
                    return size, [MIXED] * size
            kinds = [self.kind(i, scope) for i in items] or [INT]
            result = kinds[0]
            for other in kinds[1:]:
                result = _join(result, other)
            return 1, [result]
        return 1, [INT]  # range(...)

    def _iterable(self, node: n.Expr, scope: Scope) -> str:
        if isinstance(node, n.Name) and node.id in self.data.sets:
            return self.names.symbols[node.id]
        if isinstance(node, n.Call) and node.func == "range":
            args = [
                self.text(a, scope) if self.kind(a, scope) == INT else f"int({self.text(a, scope)})"
                for a in node.args
            ]
            return f"range({', '.join(args)})"
        return self._expr(node, scope)[0]

    def _wrap(self, node: n.Expr, scope: Scope, minimum: int) -> str:
        """Text of `node`, parenthesised if it binds looser than `minimum`."""
        text, precedence = self._expr(node, scope)
        return f"({text})" if precedence < minimum else text

    def _expr(self, node: n.Expr, scope: Scope) -> tuple[str, int]:
        if isinstance(node, n.Num):
            return py_number(node.value), _UNARY if node.value < 0 else _ATOM
        if isinstance(node, n.Str):
            return py_literal(node.value), _ATOM
        if isinstance(node, n.Name):
            return self._name(node, scope), _ATOM
        if isinstance(node, n.Subscript):
            return self._subscript(node, scope), _ATOM
        if isinstance(node, n.TupleExpr):
            items = [self._wrap(i, scope, _IF + 1) for i in node.items]
            return ("(" + ", ".join(items) + ("," if len(items) == 1 else "") + ")"), _ATOM
        if isinstance(node, n.BinOp):
            return self._binop(node, scope)
        if isinstance(node, n.UnaryOp):
            if node.op == "not":
                return f"not {self._wrap(node.operand, scope, _NOT)}", _NOT
            return f"{node.op}{self._wrap(node.operand, scope, _UNARY + 1)}", _UNARY
        if isinstance(node, n.Compare):
            parts = [self._wrap(node.operands[0], scope, _CMP + 1)]
            for op, operand in zip(node.ops, node.operands[1:], strict=True):
                parts.append(f"{op} {self._wrap(operand, scope, _CMP + 1)}")
            return " ".join(parts), _CMP
        if isinstance(node, n.BoolOp):
            minimum = _AND + 1 if node.op == "and" else _OR + 1
            joined = f" {node.op} ".join(self._wrap(v, scope, minimum) for v in node.values)
            return joined, _AND if node.op == "and" else _OR
        if isinstance(node, n.IfExp):
            body = self._wrap(node.body, scope, _IF + 1)
            test = self._wrap(node.test, scope, _IF + 1)
            return f"{body} if {test} else {self._wrap(node.orelse, scope, _IF)}", _IF
        if isinstance(node, n.Reduction):
            return self._reduction(node, scope), _ATOM
        if isinstance(node, n.Call):
            return self._call(node, scope)
        raise TypeError(f"cannot print {type(node).__name__}")

    def _name(self, node: n.Name, scope: Scope) -> str:
        if node.id in scope:
            return scope[node.id].name
        if node.id in self.variables:
            return self.variable(node.id, None)
        return self.names.symbols.get(node.id, node.id)

    def _subscript(self, node: n.Subscript, scope: Scope) -> str:
        key = self.key_text(node.indices, scope)
        if node.name in self.variables:
            return self.variable(node.name, key.inside)
        return self.param_entry(node.name, key)

    def param_entry(self, name: str, key: KeyText) -> str:
        """`cost[p, m]`, or `cost.get((p, m), 0)` for a parameter with a default and gaps."""
        base = self.names.symbols[name]
        table = self.data.params[name]
        if table.default is not None and not self._complete(table):
            return f"{base}.get({key.value}, {py_number(table.default)})"
        return f"{base}[{key.inside}]"

    def _complete(self, table: ParamTable) -> bool:
        """True if the table has an entry for every key of its index sets."""
        size = 1
        for set_name in table.index:
            size *= len(self.data.sets[set_name].elements)
        return len(table.values) >= size

    def _binop(self, node: n.BinOp, scope: Scope) -> tuple[str, int]:
        if node.op == "**":
            base = self._wrap(node.left, scope, _POW + 1)
            return f"{base} ** {self._wrap(node.right, scope, _UNARY)}", _POW
        precedence = _BINARY_PRECEDENCE[node.op]
        left = self._wrap(node.left, scope, precedence)
        right_text, right_precedence = self._expr(node.right, scope)
        associative = (
            node.op in ("+", "*")
            and isinstance(node.right, n.BinOp)
            and node.right.op == node.op
            and n.flattens_safely(node.right)
        )
        if right_precedence < precedence or (right_precedence == precedence and not associative):
            right_text = f"({right_text})"
        return f"{left} {node.op} {right_text}", precedence

    def _reduction(self, node: n.Reduction, scope: Scope) -> str:
        loops, inner = self.comprehension(node.generators, scope)
        body = self._wrap(node.body, inner, _IF + 1)
        if node.func in ("min", "max") and self.has_variable(node.body):
            return self.variable_minmax(node.func, f"[{body}{loops}]")
        return f"{node.func}({body}{loops})"

    def _call(self, node: n.Call, scope: Scope) -> tuple[str, int]:
        func, args = node.func, node.args
        if func in ("start", "end"):
            return self._interval(node, scope), _ADD if func == "end" else _ATOM
        if func in ("sum", "min", "max") and len(args) == 1 and isinstance(args[0], n.Name):
            return self._entries(func, args[0], scope), _ATOM
        texts = [self._wrap(a, scope, _IF + 1) for a in args]
        with_variables = any(self.has_variable(a) for a in args)
        if func in ("min", "max"):
            if with_variables:
                return self.variable_minmax(func, "[" + ", ".join(texts) + "]"), _ATOM
            return f"{func}({', '.join(texts)})", _ATOM
        if func in ("exp", "log", "log10", "sqrt", "abs") and with_variables:
            return self.variable_function(func, texts), _ATOM
        if func in ("exp", "log", "log10", "sqrt", "ceil", "floor"):
            self.uses_math = True
            return f"{self.names.math}.{func}({', '.join(texts)})", _ATOM
        return f"{func}({', '.join(texts)})", _ATOM  # abs, round, len on data

    def _entries(self, func: str, arg: n.Name, scope: Scope) -> str:
        """sum(x) / max(cost): every entry of an indexed symbol."""
        name = arg.id
        if name in scope or (name in self.data.params and not self.data.params[name].index):
            return self._name(arg, scope)
        variable = self.variables.get(name)
        if variable is not None and not variable.index:
            return self.variable(name, None)
        if variable is not None:
            collection = f"{self.variable_collection(name)}.values()"
            if func != "sum":
                return self.variable_minmax(func, f"list({collection})")
            return f"sum({collection})"
        return f"{func}({self.names.symbols[name]}.values())"

    def _interval(self, node: n.Call, scope: Scope) -> str:
        arg = node.args[0]
        name = arg.name if isinstance(arg, n.Subscript) else getattr(arg, "id", "")
        key = self.key_text(arg.indices, scope) if isinstance(arg, n.Subscript) else None
        inside = key.inside if key is not None else None
        if node.func == "start":
            return self.interval_start(name, inside)
        return self.interval_end(name, inside, self.duration_text(self.variables[name], key))

    def duration_text(self, variable: VariableDef, key: KeyText | None) -> str:
        """The duration of an interval variable at `key` as Python."""
        spec = variable.duration
        if not isinstance(spec, str):
            return py_number(spec if spec is not None else 0)
        if not self.data.params[spec].index or key is None:
            return self.names.symbols[spec]
        return self.param_entry(spec, key)
