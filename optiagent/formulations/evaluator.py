"""Walk expression trees against the data, handing variables to a pluggable algebra.

One evaluator serves every consumer. Data (numbers, set elements) is computed in Python
with guards against division by zero, overflow and math-domain errors; wherever a variable
appears, the `Algebra` decides what it becomes: a polynomial for classification, a Pyomo
expression for solving, a number when a solution is checked.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

from optiagent.formulations import nodes as n
from optiagent.formulations.data import Key, ModelData, flatten_key
from optiagent.formulations.issues import IssueKind
from optiagent.formulations.schema import Domain, Formulation, VariableDef

__all__ = [
    "Algebra",
    "EvaluationError",
    "Evaluator",
    "GlobalConstraint",
    "IntervalRef",
    "Relation",
    "is_data",
]


class Algebra(Protocol):
    """What variables turn into; arithmetic between results uses Python operators."""

    def variable(self, name: str, key: Key) -> Any:
        """The object standing for variable `name` at index `key`."""
        ...

    def apply(self, func: str, args: list[Any]) -> Any:
        """A nonlinear function (exp, log, log10, sqrt, abs, min, max) of non-data arguments."""
        ...

    def power(self, base: Any, exponent: float) -> Any:
        """`base ** exponent` for a non-data base and a numeric exponent."""
        ...

    def total(self, items: Iterable[Any]) -> Any:
        """The sum of items that may mix numbers and algebra objects."""
        ...


@dataclass
class EvaluationError(Exception):
    """An expression that cannot be evaluated against the data (becomes an Issue)."""

    kind: IssueKind
    message: str
    pos: int | None = None
    symbol: str | None = None
    suggestion: str | None = None

    def __str__(self) -> str:
        return self.message


@dataclass(frozen=True)
class IntervalRef:
    """An interval variable named inside no_overlap(...)."""

    name: str
    key: Key


@dataclass(frozen=True)
class Relation:
    """One constraint instance: lower <= body <= upper, with numeric or None bounds."""

    body: Any
    lower: float | None
    upper: float | None

    @property
    def sense(self) -> str:
        """'==', '<=', '>=' or 'range'."""
        if self.lower is not None and self.upper is not None:
            return "==" if self.lower == self.upper else "range"
        return "<=" if self.upper is not None else ">="


@dataclass(frozen=True)
class GlobalConstraint:
    """A global constraint instance: no_overlap over intervals or all_different over values."""

    kind: str
    items: tuple[Any, ...]


def is_data(value: Any) -> bool:
    """True for plain data (numbers, element names, element tuples), False for algebra objects."""
    return isinstance(value, (int, float, str, tuple)) and not isinstance(value, bool)


def _integral(value: Any) -> Any:
    if isinstance(value, float) and value.is_integer():
        return int(value)
    return value


_MATH = {
    "exp": math.exp,
    "log": math.log,
    "log10": math.log10,
    "sqrt": math.sqrt,
    "abs": abs,
}
_DATA_ONLY = {"ceil": math.ceil, "floor": math.floor, "round": round}


class Evaluator:
    """Evaluates expression nodes of one formulation against its data and an algebra."""

    def __init__(self, formulation: Formulation, data: ModelData, algebra: Algebra) -> None:
        self.data = data
        self.algebra = algebra
        self.variables: dict[str, VariableDef] = {v.name: v for v in formulation.variables}

    # scopes and iteration ---------------------------------------------------------------
    def iterate(self, generators: Sequence[n.Generator], scope: dict[str, Any]) -> Iterator[dict]:
        """Every scope produced by a chain of `for ... in ... if ...` clauses."""
        if not generators:
            yield scope
            return
        first, rest = generators[0], generators[1:]
        for element in self._iterable(first.iterable, scope):
            inner = dict(scope)
            self._bind(first, element, inner)
            if all(self.condition(c, inner) for c in first.conditions):
                yield from self.iterate(rest, inner)

    def _bind(self, generator: n.Generator, element: Any, scope: dict[str, Any]) -> None:
        targets = generator.targets
        if len(targets) == 1:
            scope[targets[0]] = element
            return
        parts = element if isinstance(element, tuple) else (element,)
        if len(parts) != len(targets):
            raise EvaluationError(
                IssueKind.ARITY,
                f"cannot unpack element {element!r} into {len(targets)} names "
                f"({', '.join(targets)})",
                generator.pos,
                suggestion="use as many loop names as the set's elements have parts",
            )
        scope.update(zip(targets, parts, strict=True))

    def _iterable(self, node: n.Expr, scope: dict[str, Any]) -> Sequence[Any]:
        if isinstance(node, n.Name) and node.id in self.data.sets and node.id not in scope:
            return self.data.sets[node.id].elements
        if isinstance(node, n.Call) and node.func == "range":
            bounds = [self.value(a, scope) for a in node.args]
            if not 1 <= len(bounds) <= 3 or not all(
                isinstance(b, int) or (isinstance(b, float) and b.is_integer()) for b in bounds
            ):
                raise EvaluationError(
                    IssueKind.WRONG_KIND,
                    f"range() needs 1 to 3 integer arguments, got {bounds}",
                    node.pos,
                    "range",
                )
            return range(*(int(b) for b in bounds))
        if isinstance(node, n.TupleExpr):
            return tuple(self.value(item, scope) for item in node.items)
        raise EvaluationError(
            IssueKind.WRONG_KIND,
            "loops can run over a set name, range(...), or a list of elements",
            node.pos,
            suggestion="write 'for i in SetName'",
        )

    # conditions --------------------------------------------------------------------------
    def condition(self, node: n.Expr, scope: dict[str, Any]) -> bool:
        """Evaluate a data-only condition to a bool."""
        if isinstance(node, n.BoolOp):
            if node.op == "and":
                return all(self.condition(v, scope) for v in node.values)
            return any(self.condition(v, scope) for v in node.values)
        if isinstance(node, n.UnaryOp) and node.op == "not":
            return not self.condition(node.operand, scope)
        if isinstance(node, n.Compare):
            return self._compare_data(node, scope)
        fix = "move variable logic into constraints (e.g. with binary variables)"
        return bool(self._member_value(node, scope, fix))

    def _compare_data(self, node: n.Compare, scope: dict[str, Any]) -> bool:
        left = self._member_value(node.operands[0], scope)
        for op, right_node in zip(node.ops, node.operands[1:], strict=True):
            if op in ("in", "not in"):
                members = self._members(right_node, scope)
                outcome = (left in members) == (op == "in")
            else:
                right = self._member_value(right_node, scope)
                outcome = _compare(op, left, right, node.pos)
                left = right
            if not outcome:
                return False
        return True

    def _member_value(
        self,
        node: n.Expr,
        scope: dict[str, Any],
        fix: str = "conditions may use only set elements and parameters",
    ) -> Any:
        """The data value of `node` inside a condition; a variable there is an error."""
        value = self.value(node, scope)
        if not is_data(value):
            raise EvaluationError(
                IssueKind.VARIABLE_IN_DATA,
                "a condition cannot depend on a decision variable",
                node.pos,
                suggestion=fix,
            )
        return value

    def _members(self, node: n.Expr, scope: dict[str, Any]) -> Any:
        if isinstance(node, n.Name) and node.id in self.data.sets and node.id not in scope:
            return self.data.sets[node.id].members
        return set(self._iterable(node, scope))

    # values ------------------------------------------------------------------------------
    def value(self, node: n.Expr, scope: dict[str, Any]) -> Any:
        """Evaluate an arithmetic expression: plain data, or an algebra object."""
        if isinstance(node, n.Num):
            return node.value
        if isinstance(node, n.Str):
            return node.value
        if isinstance(node, n.Name):
            return self._name(node, scope)
        if isinstance(node, n.Subscript):
            return self._subscript(node, scope)
        if isinstance(node, n.BinOp):
            return self._binop(node, scope)
        if isinstance(node, n.UnaryOp):
            operand = self.value(node.operand, scope)
            if node.op == "-":
                return -operand
            if node.op == "+":
                return operand
            return not operand
        if isinstance(node, n.IfExp):
            branch = node.body if self.condition(node.test, scope) else node.orelse
            return self.value(branch, scope)
        if isinstance(node, n.TupleExpr):
            return tuple(self.value(item, scope) for item in node.items)
        if isinstance(node, n.Call):
            return self._call(node, scope)
        if isinstance(node, n.Reduction):
            return self._reduction(node, scope)
        if isinstance(node, (n.Compare, n.BoolOp)):
            raise EvaluationError(
                IssueKind.WRONG_KIND,
                "a comparison cannot be used as a number",
                node.pos,
                suggestion="comparisons belong at the top of a constraint or in an 'if' condition",
            )
        raise EvaluationError(IssueKind.FORBIDDEN, f"unsupported expression {node!r}", node.pos)

    def _name(self, node: n.Name, scope: dict[str, Any]) -> Any:
        if node.id in scope:
            return scope[node.id]
        table = self.data.params.get(node.id)
        if table is not None:
            if table.index:
                raise EvaluationError(
                    IssueKind.ARITY,
                    f"parameter '{node.id}' is indexed by {', '.join(table.index)} and needs "
                    f"{table.arity} index value(s)",
                    node.pos,
                    node.id,
                    f"write {node.id}[...] with one index per set",
                )
            return table.values[()]
        variable = self.variables.get(node.id)
        if variable is not None:
            if variable.index:
                raise EvaluationError(
                    IssueKind.ARITY,
                    f"variable '{node.id}' is indexed by {', '.join(variable.index)}",
                    node.pos,
                    node.id,
                    f"write {node.id}[...] with one index per set",
                )
            return self._variable(variable, (), node.pos)
        if node.id in self.data.sets:
            raise EvaluationError(
                IssueKind.WRONG_KIND,
                f"'{node.id}' is a set and has no numeric value",
                node.pos,
                node.id,
                f"loop over it (for i in {node.id}) or use len({node.id})",
            )
        raise EvaluationError(
            IssueKind.UNKNOWN_SYMBOL, f"unknown name '{node.id}'", node.pos, node.id
        )

    def key(self, indices: Sequence[n.Expr], scope: dict[str, Any]) -> Key:
        """Evaluate index expressions into one flattened key."""
        parts: list[Any] = []
        for index in indices:
            value = self.value(index, scope)
            if not is_data(value):
                raise EvaluationError(
                    IssueKind.VARIABLE_IN_DATA,
                    "an index cannot depend on a decision variable",
                    index.pos,
                    suggestion="index with set elements, e.g. x[i, t - 1]",
                )
            parts.extend(_integral(v) for v in (value if isinstance(value, tuple) else (value,)))
        return tuple(parts)

    def _subscript(self, node: n.Subscript, scope: dict[str, Any]) -> Any:
        key = self.key(node.indices, scope)
        table = self.data.params.get(node.name)
        if table is not None:
            self._check_arity(node, table.arity, key)
            value = table.lookup(key)
            if value is None:
                raise EvaluationError(
                    IssueKind.MISSING_VALUE,
                    f"parameter '{node.name}' has no value at {_show_key(key)}",
                    node.pos,
                    node.name,
                    "add that entry, give the parameter a 'default', or restrict the loop "
                    "with an 'if' condition",
                )
            return value
        variable = self.variables.get(node.name)
        if variable is not None:
            self._check_arity(node, self.data.arity_of(variable.index), key)
            if variable.domain is Domain.INTERVAL:
                raise EvaluationError(
                    IssueKind.WRONG_KIND,
                    f"'{node.name}' is an interval variable",
                    node.pos,
                    node.name,
                    f"use start({node.name}[...]) or end({node.name}[...])",
                )
            return self._variable(variable, key, node.pos)
        kind = "a set" if node.name in self.data.sets else "not defined"
        raise EvaluationError(
            IssueKind.WRONG_KIND if node.name in self.data.sets else IssueKind.UNKNOWN_SYMBOL,
            f"'{node.name}' is {kind} and cannot be indexed",
            node.pos,
            node.name,
        )

    def _check_arity(self, node: n.Subscript, arity: int, key: Key) -> None:
        if len(key) != arity:
            raise EvaluationError(
                IssueKind.ARITY,
                f"'{node.name}' takes {arity} index value(s) but got {len(key)} ({_show_key(key)})",
                node.pos,
                node.name,
            )

    def check_variable_key(self, variable: VariableDef, key: Key, pos: int | None) -> None:
        """Raise if `key` is outside the variable's index sets."""
        offset = 0
        for set_name in variable.index:
            data = self.data.sets[set_name]
            part = key[offset : offset + data.dimension]
            offset += data.dimension
            element = part if data.dimension > 1 else part[0]
            if element not in data.members:
                raise EvaluationError(
                    IssueKind.INDEX_OUT_OF_SET,
                    f"variable '{variable.name}' is used at {_show_key(key)}, but {element!r} "
                    f"is not an element of set '{set_name}'",
                    pos,
                    variable.name,
                    "restrict the loop with an 'if' condition (e.g. 'if t > 1' before using "
                    "t - 1) or fix the index",
                )

    def _variable(self, variable: VariableDef, key: Key, pos: int | None) -> Any:
        self.check_variable_key(variable, key, pos)
        return self.algebra.variable(variable.name, key)

    def _binop(self, node: n.BinOp, scope: dict[str, Any]) -> Any:
        left = self.value(node.left, scope)
        right = self.value(node.right, scope)
        if isinstance(left, str) or isinstance(right, str):
            raise EvaluationError(
                IssueKind.WRONG_KIND,
                f"cannot compute {left!r} {node.op} {right!r}: an element name is not a number",
                node.pos,
            )
        if is_data(left) and is_data(right):
            return _data_arithmetic(node, left, right)
        if node.op == "**":
            if not is_data(right):
                raise EvaluationError(
                    IssueKind.FORBIDDEN,
                    "an exponent cannot contain decision variables",
                    node.right.pos,
                    suggestion="write exp(y * log(b)) for b ** y",
                )
            return self.algebra.power(left, float(right))
        if node.op in ("//", "%"):
            raise EvaluationError(
                IssueKind.FORBIDDEN,
                f"'{node.op}' works on data only, not on decision variables",
                node.pos,
                suggestion="model integer division with an integer variable and constraints",
            )
        if node.op == "/" and is_data(right) and right == 0:
            raise EvaluationError(IssueKind.ARITHMETIC, "division by zero", node.pos)
        if node.op == "+":
            return left + right
        if node.op == "-":
            return left - right
        if node.op == "*":
            return left * right
        return left / right

    def _call(self, node: n.Call, scope: dict[str, Any]) -> Any:
        func = node.func
        if func in ("start", "end"):
            return self._interval_time(node, scope)
        if func == "len":
            if len(node.args) != 1 or not (
                isinstance(node.args[0], n.Name) and node.args[0].id in self.data.sets
            ):
                raise EvaluationError(
                    IssueKind.WRONG_KIND, "len() takes one set name", node.pos, "len"
                )
            return len(self.data.sets[node.args[0].id].elements)
        if (
            func in ("sum", "min", "max")
            and len(node.args) == 1
            and isinstance(node.args[0], n.Name)
        ):
            # sum(x) / max(cost): every entry of an indexed symbol
            entries = self._all_entries(node.args[0], scope)
            if func == "sum":
                return self._total(entries)
            return self._minmax(func, entries, node.pos)
        if func == "sum":
            raise EvaluationError(
                IssueKind.WRONG_KIND,
                "sum() takes one generator, e.g. sum(x[i] for i in I)",
                node.pos,
                "sum",
                "write a + b for two terms, or sum(... for ... in ...) for many",
            )
        args = [self.value(a, scope) for a in node.args]
        if func in _MATH:
            if len(args) != 1:
                raise EvaluationError(
                    IssueKind.ARITY, f"{func}() takes one argument", node.pos, func
                )
            if is_data(args[0]):
                return _data_function(func, args[0], node.pos)
            return self.algebra.apply(func, args)
        if func in ("min", "max"):
            return self._minmax(func, args, node.pos)
        if func in _DATA_ONLY:
            if not all(is_data(a) for a in args):
                raise EvaluationError(
                    IssueKind.VARIABLE_IN_DATA,
                    f"{func}() works on data only, not on decision variables",
                    node.pos,
                    func,
                )
            return _DATA_ONLY[func](*args)
        raise EvaluationError(
            IssueKind.WRONG_KIND,
            f"{func}() cannot be used here",
            node.pos,
            func,
            "global constraints (no_overlap, all_different) stand alone as a constraint"
            if func in ("no_overlap", "all_different")
            else "range() belongs in a loop: for t in range(1, 5)",
        )

    def _all_entries(self, node: n.Name, scope: dict[str, Any]) -> list[Any]:
        table = self.data.params.get(node.id)
        if table is not None and node.id not in scope:
            return list(table.values.values())
        variable = self.variables.get(node.id)
        if variable is not None and node.id not in scope:
            return [
                self._variable(variable, key, node.pos) for key in self.data.product(variable.index)
            ]
        return [self.value(node, scope)]

    def _minmax(self, func: str, args: list[Any], pos: int) -> Any:
        if not args:
            raise EvaluationError(IssueKind.ARITHMETIC, f"{func}() of nothing", pos, func)
        if all(is_data(a) for a in args):
            return min(args) if func == "min" else max(args)
        return self.algebra.apply(func, args)

    def _interval_time(self, node: n.Call, scope: dict[str, Any]) -> Any:
        variable, key = self.interval_target(node.args[0] if len(node.args) == 1 else None, scope)
        start = self.algebra.variable(variable.name, key)
        if node.func == "start":
            return start
        return start + self.duration(variable, key)

    def interval_target(self, arg: n.Expr | None, scope: dict[str, Any]) -> tuple[VariableDef, Key]:
        """The interval variable and key named by an argument such as task[j, k]."""
        name = arg.name if isinstance(arg, n.Subscript) else getattr(arg, "id", None)
        variable = self.variables.get(name) if isinstance(name, str) else None
        if arg is None or variable is None or variable.domain is not Domain.INTERVAL:
            raise EvaluationError(
                IssueKind.WRONG_KIND,
                "start(), end() and no_overlap() take interval variables, e.g. start(task[j])",
                arg.pos if arg is not None else None,
                name if isinstance(name, str) else None,
                "declare the variable with domain: interval and a duration",
            )
        key = self.key(arg.indices, scope) if isinstance(arg, n.Subscript) else ()
        self.check_variable_key(variable, key, arg.pos)
        return variable, key

    def duration(self, variable: VariableDef, key: Key) -> float:
        """The fixed duration of an interval variable at `key`."""
        spec = variable.duration
        if isinstance(spec, str):
            table = self.data.params.get(spec)
            value = table.lookup(key if table and table.index else ()) if table else None
            if value is None or isinstance(value, str):
                raise EvaluationError(
                    IssueKind.MISSING_VALUE,
                    f"duration parameter '{spec}' has no value at {_show_key(key)}",
                    None,
                    spec,
                )
            return value
        if spec is None:
            raise EvaluationError(
                IssueKind.BAD_VARIABLE,
                f"interval variable '{variable.name}' has no duration",
                None,
                variable.name,
                "give 'duration' as a number or a parameter name",
            )
        return spec

    def _reduction(self, node: n.Reduction, scope: dict[str, Any]) -> Any:
        if node.func in ("no_overlap", "all_different"):
            raise EvaluationError(
                IssueKind.WRONG_KIND,
                f"{node.func}(...) is a constraint on its own, not a value",
                node.pos,
                node.func,
                f"write it as the whole expression of a constraint: {node.func}(...)",
            )
        items = [self.value(node.body, inner) for inner in self.iterate(node.generators, scope)]
        if node.func == "sum":
            return self._total(items)
        return self._minmax(node.func, items, node.pos)

    def _total(self, items: list[Any]) -> Any:
        if all(is_data(item) for item in items):
            if any(isinstance(item, str) for item in items):
                raise EvaluationError(IssueKind.WRONG_KIND, "cannot sum element names", None, "sum")
            return sum(items)
        return self.algebra.total(items)

    # constraints -----------------------------------------------------------------------
    def constraint(self, node: n.Expr, scope: dict[str, Any]) -> list[Relation | GlobalConstraint]:
        """Evaluate a top-level constraint expression into relations or a global constraint."""
        if isinstance(node, (n.Call, n.Reduction)) and node.func in ("no_overlap", "all_different"):
            return [self._global(node, scope)]
        if not isinstance(node, n.Compare):
            raise EvaluationError(
                IssueKind.BAD_CONSTRAINT,
                "a constraint must compare two sides with <=, >= or ==",
                node.pos,
                suggestion="e.g. sum(x[i] for i in I) <= capacity",
            )
        values = [self.value(op, scope) for op in node.operands]
        if len(node.ops) == 2 and is_data(values[0]) and is_data(values[2]):
            lower, upper = (values[0], values[2]) if node.ops[0] == "<=" else (values[2], values[0])
            return [Relation(values[1], float(lower), float(upper))]
        return [_relation(values[i], op, values[i + 1]) for i, op in enumerate(node.ops)]

    def constraint_instances(
        self, forall: Sequence[n.Generator], expression: n.Expr
    ) -> Iterator[tuple[Key, dict[str, Any], list[Relation | GlobalConstraint]]]:
        """Each instance of a quantified constraint: its key, loop values and relations."""
        targets = [t for g in forall for t in g.targets]
        for scope in self.iterate(forall, {}):
            key = flatten_key(scope[t] for t in targets)
            yield key, {t: scope[t] for t in targets}, self.constraint(expression, scope)

    def _global(self, node: n.Call | n.Reduction, scope: dict[str, Any]) -> GlobalConstraint:
        if isinstance(node, n.Reduction):
            scopes = list(self.iterate(node.generators, scope))
            pairs = [(node.body, s) for s in scopes]
        else:
            args: Sequence[n.Expr] = node.args
            if len(args) == 1 and isinstance(args[0], n.TupleExpr):
                args = args[0].items
            pairs = [(a, scope) for a in args]
        if node.func == "no_overlap":
            items: list[Any] = []
            for arg, inner in pairs:
                variable, key = self.interval_target(arg, inner)
                items.append(IntervalRef(variable.name, key))
            return GlobalConstraint("no_overlap", tuple(items))
        return GlobalConstraint("all_different", tuple(self.value(a, s) for a, s in pairs))


def _relation(left: Any, op: str, right: Any) -> Relation:
    if is_data(right):
        body, bound = left, right
    elif is_data(left):
        body, bound = right, left
        op = {"<=": ">=", ">=": "<=", "==": "=="}.get(op, op)
    else:
        body, bound = left - right, 0.0
    bound = float(bound)
    if op == "<=":
        return Relation(body, None, bound)
    if op == ">=":
        return Relation(body, bound, None)
    return Relation(body, bound, bound)


def _compare(op: str, left: Any, right: Any, pos: int) -> bool:
    try:
        if op == "==":
            return bool(left == right)
        if op == "!=":
            return bool(left != right)
        if op == "<":
            return bool(left < right)
        if op == "<=":
            return bool(left <= right)
        if op == ">":
            return bool(left > right)
        return bool(left >= right)
    except TypeError:
        raise EvaluationError(
            IssueKind.WRONG_KIND, f"cannot compare {left!r} {op} {right!r}", pos
        ) from None


def _data_arithmetic(node: n.BinOp, left: Any, right: Any) -> Any:
    try:
        if node.op == "+":
            return left + right
        if node.op == "-":
            return left - right
        if node.op == "*":
            return left * right
        if node.op == "/":
            return left / right
        if node.op == "//":
            return left // right
        if node.op == "%":
            return left % right
        result = float(left) ** float(right)
        if isinstance(result, complex):
            raise ValueError("complex result")
        return _integral(result) if isinstance(left, int) and isinstance(right, int) else result
    except ZeroDivisionError:
        raise EvaluationError(IssueKind.ARITHMETIC, "division by zero", node.pos) from None
    except (OverflowError, ValueError) as error:
        raise EvaluationError(
            IssueKind.ARITHMETIC,
            f"{left!r} {node.op} {right!r} cannot be computed ({error})",
            node.pos,
        ) from None


def _data_function(func: str, value: Any, pos: int) -> float:
    try:
        return _MATH[func](value)
    except (ValueError, OverflowError, TypeError):
        raise EvaluationError(
            IssueKind.ARITHMETIC, f"{func}({value!r}) is undefined", pos, func
        ) from None


def _show_key(key: Key) -> str:
    return "[" + ", ".join(map(repr, key)) + "]"
