"""The expression tree of the formulation language.

Expressions are written in a small subset of Python syntax and parsed (never evaluated) into
these frozen nodes. Every node keeps `pos`, its column in the source text, so that an issue
can point at the exact symbol. Evaluators and renderers walk this tree; nothing ever walks the
raw Python AST twice.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, fields

__all__ = [
    "BinOp",
    "BoolOp",
    "Call",
    "Compare",
    "Expr",
    "Generator",
    "IfExp",
    "Name",
    "Num",
    "Reduction",
    "Str",
    "Subscript",
    "TupleExpr",
    "UnaryOp",
    "children",
    "flattens_safely",
    "walk",
]


@dataclass(frozen=True, slots=True)
class Expr:
    """Base of every expression node; `pos` is the 0-based column in the source text."""

    pos: int


@dataclass(frozen=True, slots=True)
class Num(Expr):
    """A numeric literal."""

    value: int | float


@dataclass(frozen=True, slots=True)
class Str(Expr):
    """A string literal (only meaningful as a set element, e.g. in `if p == 'seattle'`)."""

    value: str


@dataclass(frozen=True, slots=True)
class Name(Expr):
    """A bare name: a scalar parameter or variable, a set, or a bound index."""

    id: str


@dataclass(frozen=True, slots=True)
class Subscript(Expr):
    """`name[i, j]`: an indexed parameter or variable."""

    name: str
    indices: tuple[Expr, ...]


@dataclass(frozen=True, slots=True)
class TupleExpr(Expr):
    """A parenthesised tuple such as `(i, j)` (used as a set element)."""

    items: tuple[Expr, ...]


@dataclass(frozen=True, slots=True)
class BinOp(Expr):
    """`left op right` with op one of + - * / ** // %."""

    op: str
    left: Expr
    right: Expr


@dataclass(frozen=True, slots=True)
class UnaryOp(Expr):
    """`-x`, `+x` or `not x`."""

    op: str
    operand: Expr


@dataclass(frozen=True, slots=True)
class Compare(Expr):
    """A comparison chain: operands[0] ops[0] operands[1] ops[1] operands[2] ..."""

    ops: tuple[str, ...]
    operands: tuple[Expr, ...]


@dataclass(frozen=True, slots=True)
class BoolOp(Expr):
    """`a and b`, `a or b` (conditions only)."""

    op: str
    values: tuple[Expr, ...]


@dataclass(frozen=True, slots=True)
class IfExp(Expr):
    """`body if test else orelse` with a data-only test."""

    test: Expr
    body: Expr
    orelse: Expr


@dataclass(frozen=True, slots=True)
class Call(Expr):
    """A call of a whitelisted function with positional arguments, e.g. `exp(x)`, `max(a, b)`."""

    func: str
    args: tuple[Expr, ...]


@dataclass(frozen=True, slots=True)
class Generator(Expr):
    """One `for targets in iterable if conditions` clause."""

    targets: tuple[str, ...]
    iterable: Expr
    conditions: tuple[Expr, ...]


@dataclass(frozen=True, slots=True)
class Reduction(Expr):
    """`func(body for ... in ... if ...)`: sum, min, max, no_overlap or all_different."""

    func: str
    body: Expr
    generators: tuple[Generator, ...]


def children(node: Expr) -> Iterator[Expr]:
    """The direct child nodes of `node`, in source order."""
    for f in fields(node):
        value = getattr(node, f.name)
        if isinstance(value, Expr):
            yield value
        elif isinstance(value, tuple):
            for item in value:
                if isinstance(item, Expr):
                    yield item


def walk(node: Expr) -> Iterator[Expr]:
    """`node` and all its descendants, depth first."""
    stack = [node]
    while stack:
        current = stack.pop()
        yield current
        stack.extend(reversed(list(children(current))))


_MULTIPLICATIVE = frozenset({"*", "/", "//", "%"})


def flattens_safely(node: BinOp) -> bool:
    """True if `a op (node)` may print as `a op node`, without parentheses.

    That holds for a + (b + c) and a * (b * c) (long sums are balanced trees) but not for
    a * (b // c * d): printed flat it would floor (a * b) // c instead of b // c.
    """
    if node.op == "+":
        return True
    if node.op != "*":
        return False
    current: Expr = node
    while isinstance(current, BinOp) and current.op in _MULTIPLICATIVE:
        if current.op in ("//", "%"):
            return False
        current = current.left
    return True
