"""Parse expression strings of the formulation language into `nodes` trees.

The language is a whitelist over Python's expression syntax. Text is parsed with
`ast.parse(mode="eval")` and converted node by node; anything not on the whitelist
(attribute access, lambdas, imports, f-strings, keyword arguments, unknown functions, huge
exponents, ...) is rejected with a message and a suggestion. No text is ever passed to
`eval`, `exec` or `compile`.
"""

from __future__ import annotations

import ast
import math
import re
from dataclasses import dataclass
from typing import ClassVar

from optiagent.formulations import nodes as n

__all__ = [
    "DATA_FUNCTIONS",
    "ELEMENTWISE_FUNCTIONS",
    "GLOBAL_CONSTRAINTS",
    "INTERVAL_FUNCTIONS",
    "REDUCTIONS",
    "RESERVED_NAMES",
    "ExpressionSyntaxError",
    "parse_expression",
    "parse_forall",
]

ELEMENTWISE_FUNCTIONS = frozenset({"exp", "log", "log10", "sqrt", "abs"})
"""One-argument functions allowed on data and on variable expressions (nonlinear)."""
MINMAX_FUNCTIONS = frozenset({"min", "max"})
DATA_FUNCTIONS = frozenset({"len", "ceil", "floor", "round"})
"""Functions allowed on data only (set sizes, rounding of parameters)."""
INTERVAL_FUNCTIONS = frozenset({"start", "end"})
"""start(task[i]) / end(task[i]) of an interval variable."""
GLOBAL_CONSTRAINTS = frozenset({"no_overlap", "all_different"})
REDUCTIONS = frozenset({"sum"}) | MINMAX_FUNCTIONS | GLOBAL_CONSTRAINTS
ALL_FUNCTIONS = (
    ELEMENTWISE_FUNCTIONS
    | MINMAX_FUNCTIONS
    | DATA_FUNCTIONS
    | INTERVAL_FUNCTIONS
    | REDUCTIONS
    | {"range"}
)
RESERVED_NAMES = ALL_FUNCTIONS | {"for", "in", "if", "and", "or", "not"}

MAX_TEXT_LENGTH = 50_000
MAX_EXPONENT = 1_000
MAX_LITERAL = 1e300

_UNICODE_OPERATORS = {"≤": "<=", "≥": ">=", "≠": "!=", "−": "-", "×": "*", "÷": "/", "·": "*"}
_FUNCTION_LIST = ", ".join(sorted(ALL_FUNCTIONS - {"range"}))


@dataclass
class ExpressionSyntaxError(Exception):
    """An expression outside the language; `pos` is the column in the original text."""

    message: str
    pos: int | None = None
    suggestion: str | None = None

    def __str__(self) -> str:
        return self.message


def _normalize(text: str) -> tuple[str, list[int]]:
    """Replace unicode operators; return the new text and a map new column -> old column."""
    out: list[str] = []
    origin: list[int] = []
    for column, char in enumerate(text):
        replacement = _UNICODE_OPERATORS.get(char, char)
        out.append(replacement)
        origin.extend([column] * len(replacement))
    origin.append(len(text))
    return "".join(out), origin


def _single_equals(text: str) -> bool:
    return re.search(r"(?<![<>=!])=(?!=)", text) is not None


def _parse_python(text: str, origin: list[int]) -> ast.expr:
    if len(text) > MAX_TEXT_LENGTH:
        raise ExpressionSyntaxError(
            f"expression is {len(text)} characters long (limit {MAX_TEXT_LENGTH})",
            0,
            "use indexed sets and sum(... for ...) instead of writing every term out",
        )
    try:
        tree = ast.parse(text.strip() or "<empty>", mode="eval")
    except SyntaxError as error:
        column = max((error.offset or 1) - 1, 0)
        column += len(text) - len(text.lstrip())
        suggestion = None
        if _single_equals(text):
            suggestion = "write '==' for an equality (a single '=' is an assignment)"
        elif "^" in text:
            suggestion = "write powers as '**', e.g. x ** 2"
        message = "empty expression" if not text.strip() else f"invalid syntax ({error.msg})"
        raise ExpressionSyntaxError(
            message, origin[min(column, len(origin) - 1)], suggestion
        ) from None
    except (MemoryError, RecursionError, ValueError):
        # CPython's AST builder gives up near 3,000 chained terms
        raise ExpressionSyntaxError(
            "expression is too long or nested too deeply to parse",
            0,
            "write long sums over a set, e.g. sum(x[i] for i in I), instead of term by term",
        ) from None
    return tree.body


def parse_expression(text: str) -> n.Expr:
    """Parse one expression string into a node tree (raises ExpressionSyntaxError)."""
    normalized, origin = _normalize(text)
    tree = _parse_python(normalized, origin)
    try:
        return _Converter(origin).convert(tree)
    except RecursionError:
        raise ExpressionSyntaxError(
            "expression is nested too deeply", 0, "simplify the expression"
        ) from None


_FORALL_PREFIX = re.compile(r"^\s*(for\s+all|forall|for\s+each|each|∀)\s+", re.IGNORECASE)


def _split_top_level(text: str, separator: str) -> list[tuple[int, str]]:
    """Split on `separator` outside brackets and quotes; keep each part's start column."""
    parts: list[tuple[int, str]] = []
    depth, start, quote = 0, 0, ""
    i = 0
    while i < len(text):
        char = text[i]
        if quote:
            quote = "" if char == quote else quote
        elif char in "'\"":
            quote = char
        elif char in "([{":
            depth += 1
        elif char in ")]}":
            depth -= 1
        elif depth == 0 and text.startswith(separator, i):
            parts.append((start, text[start:i]))
            start = i + len(separator)
            i = start
            continue
        i += 1
    parts.append((start, text[start:]))
    return parts


def parse_forall(text: str) -> tuple[n.Generator, ...]:
    """Parse a quantifier such as "p in P, t in T if t > 1" (or "for p in P for t in T")."""
    body = _FORALL_PREFIX.sub("", text, count=1)
    offset = len(text) - len(body)
    if re.match(r"\s*for\s", body):
        clauses = body
    else:
        pieces = []
        for start, part in _split_top_level(body, ","):
            head, *conditions = [p for _, p in _split_top_level(part, " if ")]
            if not head.strip():
                raise ExpressionSyntaxError(
                    "empty binding in the quantifier",
                    offset + start,
                    "write bindings like 'p in P, t in T if t > 1'",
                )
            pieces.append("for " + head + "".join(" if " + c for c in conditions))
        clauses = " ".join(pieces)
    source = f"[0 {clauses}]"
    try:
        tree = ast.parse(source, mode="eval").body
    except SyntaxError:
        raise ExpressionSyntaxError(
            "the quantifier does not parse",
            0,
            "write bindings like 'p in P, t in T if t > 1' (each 'name in Set')",
        ) from None
    if not isinstance(tree, ast.ListComp):
        raise ExpressionSyntaxError("the quantifier does not parse", 0)
    # Positions inside the rewritten text do not map back exactly; point at the start.
    converter = _Converter([0] * (len(source) + 1))
    return tuple(converter.generator(g) for g in tree.generators)


def _literal_value(node: n.Expr) -> float | None:
    """The value of a subtree made of number literals only (inf on overflow), else None."""
    if isinstance(node, n.Num):
        return float(node.value)
    if isinstance(node, n.UnaryOp) and node.op in "+-":
        value = _literal_value(node.operand)
        return None if value is None else (-value if node.op == "-" else value)
    if isinstance(node, n.BinOp) and node.op in ("+", "-", "*", "/", "**"):
        left, right = _literal_value(node.left), _literal_value(node.right)
        if left is None or right is None:
            return None
        try:
            if node.op == "**":
                result = left**right
                return math.inf if isinstance(result, complex) else float(result)
            return {"+": left + right, "-": left - right, "*": left * right}.get(
                node.op, left / right if right else math.inf
            )
        except (OverflowError, ZeroDivisionError):
            return math.inf
    return None


class _Converter:
    """Turns a Python AST into `nodes`, rejecting everything off the whitelist."""

    def __init__(self, origin: list[int]) -> None:
        self._origin = origin

    def _pos(self, node: ast.AST) -> int:
        column = getattr(node, "col_offset", 0) or 0
        return self._origin[min(column, len(self._origin) - 1)]

    def _reject(self, node: ast.AST, message: str, suggestion: str | None = None) -> None:
        raise ExpressionSyntaxError(message, self._pos(node), suggestion)

    def convert(self, node: ast.expr) -> n.Expr:
        pos = self._pos(node)
        if isinstance(node, ast.Constant):
            return self._constant(node)
        if isinstance(node, ast.Name):
            self._check_name(node, node.id)
            return n.Name(pos, node.id)
        if isinstance(node, ast.BinOp):
            return self._binop(node)
        if isinstance(node, ast.UnaryOp):
            return self._unary(node)
        if isinstance(node, ast.Compare):
            return self._compare(node)
        if isinstance(node, ast.BoolOp):
            op = "and" if isinstance(node.op, ast.And) else "or"
            return n.BoolOp(pos, op, tuple(self.convert(v) for v in node.values))
        if isinstance(node, ast.IfExp):
            return n.IfExp(
                pos, self.convert(node.test), self.convert(node.body), self.convert(node.orelse)
            )
        if isinstance(node, ast.Subscript):
            return self._subscript(node)
        if isinstance(node, ast.Call):
            return self._call(node)
        if isinstance(node, (ast.Tuple, ast.List)):
            return n.TupleExpr(pos, tuple(self.convert(e) for e in node.elts))
        self._reject_construct(node)
        raise AssertionError("unreachable")

    def _reject_construct(self, node: ast.AST) -> None:
        if isinstance(node, ast.Attribute):
            self._reject(
                node,
                "attribute access ('.') is not part of the expression language",
                "refer to symbols by their names, e.g. x[i] instead of model.x[i]",
            )
        if isinstance(node, ast.Lambda):
            self._reject(node, "lambda is not allowed", "write the expression directly")
        if isinstance(node, (ast.ListComp, ast.GeneratorExp, ast.SetComp, ast.DictComp)):
            self._reject(
                node,
                "a bare comprehension is not an expression here",
                "wrap it in a reduction, e.g. sum(x[i] for i in I)",
            )
        if isinstance(node, ast.Slice):
            self._reject(node, "slices are not allowed", "index with one element per set")
        if isinstance(node, ast.JoinedStr):
            self._reject(node, "f-strings are not allowed")
        if isinstance(node, ast.NamedExpr):
            self._reject(node, "assignment expressions (:=) are not allowed")
        self._reject(node, f"{type(node).__name__} is not part of the expression language")

    def _constant(self, node: ast.Constant) -> n.Expr:
        value = node.value
        pos = self._pos(node)
        if isinstance(value, bool) or value is None:
            self._reject(node, f"{value!r} is not a number", "use 1 and 0 for true and false")
        if isinstance(value, str):
            return n.Str(pos, value)
        if isinstance(value, (int, float)):
            if (isinstance(value, int) and value.bit_length() > 1000) or abs(value) > MAX_LITERAL:
                self._reject(node, "number literal is too large", "use a value below 1e300")
            if isinstance(value, float) and not math.isfinite(value):
                self._reject(node, "number literal is not finite")
            return n.Num(pos, value)
        self._reject(node, f"{type(value).__name__} literals are not allowed")
        raise AssertionError("unreachable")

    def _check_name(self, node: ast.AST, name: str) -> None:
        if name.startswith("__"):
            self._reject(node, f"names starting with '__' are not allowed ({name!r})")

    _BINOPS: ClassVar[dict[type, str]] = {
        ast.Add: "+",
        ast.Sub: "-",
        ast.Mult: "*",
        ast.Div: "/",
        ast.Pow: "**",
        ast.FloorDiv: "//",
        ast.Mod: "%",
    }

    def _binop(self, node: ast.BinOp) -> n.Expr:
        # Long explicit sums ("x1 + x2 + ... + x5000") nest thousands deep in the AST;
        # build a balanced tree of the same terms so later walks never hit the recursion limit.
        if isinstance(node.op, ast.Add):
            terms: list[ast.expr] = []
            current: ast.expr = node
            while isinstance(current, ast.BinOp) and isinstance(current.op, ast.Add):
                terms.append(current.right)
                current = current.left
            terms.append(current)
            terms.reverse()
            return self._balanced_sum([self.convert(t) for t in terms], self._pos(node))
        op = self._BINOPS.get(type(node.op))
        if op is None:
            symbol = {ast.BitXor: "^", ast.BitAnd: "&", ast.BitOr: "|", ast.MatMult: "@"}.get(
                type(node.op), type(node.op).__name__
            )
            hint = "write powers as '**', e.g. x ** 2" if symbol == "^" else None
            if symbol in ("&", "|"):
                hint = "use 'and' / 'or' in conditions"
            self._reject(node, f"operator '{symbol}' is not allowed", hint)
        right = self.convert(node.right)
        exponent = _literal_value(right) if op == "**" else None
        if exponent is not None and abs(exponent) > MAX_EXPONENT:
            self._reject(
                node.right,
                f"exponent {exponent:g} is too large (limit {MAX_EXPONENT})",
                "rescale the model; huge powers overflow every solver",
            )
        return n.BinOp(self._pos(node), op, self.convert(node.left), right)

    def _balanced_sum(self, items: list[n.Expr], pos: int) -> n.Expr:
        while len(items) > 1:
            paired = [
                n.BinOp(items[i].pos if i else pos, "+", items[i], items[i + 1])
                for i in range(0, len(items) - 1, 2)
            ]
            if len(items) % 2:
                paired.append(items[-1])
            items = paired
        return items[0]

    def _unary(self, node: ast.UnaryOp) -> n.Expr:
        ops = {ast.USub: "-", ast.UAdd: "+", ast.Not: "not"}
        op = ops.get(type(node.op))
        if op is None:
            self._reject(node, "operator '~' is not allowed", "use 'not' in conditions")
        operand = self.convert(node.operand)
        if op == "-" and isinstance(operand, n.Num):
            return n.Num(self._pos(node), -operand.value)
        return n.UnaryOp(self._pos(node), op, operand)

    _COMPARE: ClassVar[dict[type, str]] = {
        ast.Lt: "<",
        ast.LtE: "<=",
        ast.Gt: ">",
        ast.GtE: ">=",
        ast.Eq: "==",
        ast.NotEq: "!=",
        ast.In: "in",
        ast.NotIn: "not in",
    }

    def _compare(self, node: ast.Compare) -> n.Expr:
        ops = []
        for op in node.ops:
            symbol = self._COMPARE.get(type(op))
            if symbol is None:
                self._reject(node, "'is' comparisons are not allowed", "use '==' or '!='")
            ops.append(symbol)
        operands = (self.convert(node.left), *(self.convert(c) for c in node.comparators))
        return n.Compare(self._pos(node), tuple(ops), operands)

    def _subscript(self, node: ast.Subscript) -> n.Expr:
        # Accept cost[i][j] as cost[i, j]: models written by LLMs often nest brackets.
        index_nodes: list[ast.expr] = []
        current: ast.expr = node
        while isinstance(current, ast.Subscript):
            key = current.slice
            parts = list(key.elts) if isinstance(key, ast.Tuple) else [key]
            index_nodes[:0] = parts
            current = current.value
        if isinstance(current, ast.Attribute):
            self._reject_construct(current)
        if not isinstance(current, ast.Name):
            self._reject(node, "only names can be indexed, e.g. x[i, j]")
        assert isinstance(current, ast.Name)
        self._check_name(current, current.id)
        if any(isinstance(p, ast.Slice) for p in index_nodes):
            self._reject(node, "slices are not allowed", "index with one element per set")
        return n.Subscript(self._pos(node), current.id, tuple(self.convert(p) for p in index_nodes))

    def _call(self, node: ast.Call) -> n.Expr:
        if not isinstance(node.func, ast.Name):
            self._reject(
                node,
                "only the built-in functions of the language can be called",
                f"available functions: {_FUNCTION_LIST}",
            )
        assert isinstance(node.func, ast.Name)
        func = node.func.id
        if func not in ALL_FUNCTIONS:
            self._reject(
                node,
                f"function '{func}' is not available",
                f"available functions: {_FUNCTION_LIST}",
            )
        if node.keywords:
            self._reject(node, f"keyword arguments are not allowed in {func}()")
        if any(isinstance(a, ast.Starred) for a in node.args):
            self._reject(node, "'*' unpacking is not allowed")
        pos = self._pos(node)
        if (
            func in REDUCTIONS
            and len(node.args) == 1
            and isinstance(node.args[0], (ast.GeneratorExp, ast.ListComp))
        ):
            comprehension = node.args[0]
            assert isinstance(comprehension, (ast.GeneratorExp, ast.ListComp))
            return n.Reduction(
                pos,
                func,
                self.convert(comprehension.elt),
                tuple(self.generator(g) for g in comprehension.generators),
            )
        return n.Call(pos, func, tuple(self.convert(a) for a in node.args))

    def generator(self, clause: ast.comprehension) -> n.Generator:
        """Convert one `for ... in ... if ...` clause."""
        if clause.is_async:
            self._reject(clause.target, "'async for' is not allowed")
        target = clause.target
        if isinstance(target, ast.Name):
            names: tuple[str, ...] = (target.id,)
        elif isinstance(target, ast.Tuple) and all(isinstance(e, ast.Name) for e in target.elts):
            names = tuple(e.id for e in target.elts if isinstance(e, ast.Name))
        else:
            self._reject(target, "loop targets must be names, e.g. 'for (i, j) in A'")
            raise AssertionError("unreachable")
        for name in names:
            self._check_name(target, name)
        return n.Generator(
            self._pos(target),
            names,
            self.convert(clause.iter),
            tuple(self.convert(c) for c in clause.ifs),
        )
