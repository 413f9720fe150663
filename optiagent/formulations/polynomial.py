"""A symbolic algebra that expands expressions into polynomials, for classification.

`Poly` holds a sum of monomials (products of variable instances) with float coefficients;
anything that is not a polynomial of degree <= 2 after expansion becomes `Nonlinear`, which
only remembers which variables and functions it involves. That is enough to decide the
problem class, check the convexity of a quadratic objective, and give CP-SAT integer
linear constraints.

A `Poly` also carries its `shape`: what is known of its quadratic part's curvature from how
it was built (a square of an affine term is convex, a positive multiple keeps the shape, a
negative one flips it, a sum keeps what all its terms share). That recognises sums of squares
such as least squares as convex in time linear in the terms, without a Hessian.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from optiagent.formulations.data import Key

__all__ = [
    "AFFINE",
    "CONCAVE",
    "CONVEX",
    "UNKNOWN",
    "Monomial",
    "Nonlinear",
    "Poly",
    "PolyAlgebra",
    "VarKey",
]

VarKey = tuple[str, Key]
"""A variable instance: (variable name, index key)."""
Monomial = tuple[VarKey, ...]
"""A product of variable instances, sorted; () is the constant term."""


UNKNOWN = 0
"""Shape: nothing is known of the quadratic part's curvature."""
CONVEX = 1
"""Shape: the quadratic part is positive semidefinite (a non-negative sum of squares)."""
CONCAVE = 2
"""Shape: the quadratic part is negative semidefinite."""
AFFINE = CONVEX | CONCAVE
"""Shape: no quadratic part (both convex and concave)."""


def _sort_key(var: VarKey) -> tuple[str, str]:
    return var[0], repr(var[1])


def _flip(shape: int) -> int:
    """The shape of the negation: convex and concave swap."""
    return ((shape & CONVEX) << 1) | ((shape & CONCAVE) >> 1)


def _scaled(shape: int, factor: float) -> int:
    if factor > 0:
        return shape
    return AFFINE if factor == 0 else _flip(shape)


class Nonlinear:
    """An expression beyond degree-2 polynomials: only its variables and functions are kept."""

    __slots__ = ("functions", "variables")

    def __init__(self, variables: Iterable[VarKey] = (), functions: Iterable[str] = ()) -> None:
        self.variables = frozenset(variables)
        self.functions = frozenset(functions)

    @staticmethod
    def of(*operands: Any, function: str | None = None) -> Nonlinear:
        """A Nonlinear combining the variables and functions of all operands."""
        variables: set[VarKey] = set()
        functions: set[str] = {function} if function else set()
        for operand in operands:
            if isinstance(operand, Poly):
                variables.update(operand.variables())
            elif isinstance(operand, Nonlinear):
                variables.update(operand.variables)
                functions.update(operand.functions)
        return Nonlinear(variables, functions)

    def _combine(self, other: Any) -> Nonlinear:
        return Nonlinear.of(self, other)

    __add__ = __radd__ = __sub__ = __rsub__ = _combine
    __mul__ = __rmul__ = __truediv__ = __rtruediv__ = _combine

    def __neg__(self) -> Nonlinear:
        return self

    def __pos__(self) -> Nonlinear:
        return self

    def __repr__(self) -> str:
        return f"Nonlinear({len(self.variables)} vars, {sorted(self.functions)})"


class Poly:
    """A polynomial over variable instances: {monomial: coefficient}."""

    __slots__ = ("shape", "terms")

    def __init__(self, terms: dict[Monomial, float] | None = None, shape: int = UNKNOWN) -> None:
        self.terms: dict[Monomial, float] = terms if terms is not None else {}
        self.shape = shape

    @classmethod
    def variable(cls, var: VarKey) -> Poly:
        """The polynomial consisting of one variable instance."""
        return cls({(var,): 1.0}, AFFINE)

    @property
    def degree(self) -> int:
        """The highest monomial degree with a non-zero coefficient (0 for a constant)."""
        return max((len(m) for m, c in self.terms.items() if c != 0), default=0)

    @property
    def constant(self) -> float:
        """The constant term."""
        return self.terms.get((), 0.0)

    def variables(self) -> set[VarKey]:
        """Every variable instance that appears with a non-zero coefficient."""
        return {v for m, c in self.terms.items() if c != 0 for v in m}

    def of_degree(self, degree: int) -> dict[Monomial, float]:
        """The monomials of exactly `degree` with non-zero coefficients."""
        return {m: c for m, c in self.terms.items() if len(m) == degree and c != 0}

    def _add(self, other: Any, sign: float) -> Poly | Nonlinear:
        if isinstance(other, Nonlinear):
            return Nonlinear.of(self, other)
        terms = dict(self.terms)
        if isinstance(other, Poly):
            for monomial, coefficient in other.terms.items():
                terms[monomial] = terms.get(monomial, 0.0) + sign * coefficient
            return Poly(terms, self.shape & _scaled(other.shape, sign))
        terms[()] = terms.get((), 0.0) + sign * float(other)
        return Poly(terms, self.shape)

    def evaluate(self, values: Mapping[VarKey, float]) -> float:
        """The polynomial's value at a point given for every variable instance it uses."""
        total = 0.0
        for monomial, coefficient in self.terms.items():
            term = coefficient
            for var in monomial:
                term *= values[var]
            total += term
        return total

    def __add__(self, other: Any) -> Poly | Nonlinear:
        return self._add(other, 1.0)

    __radd__ = __add__

    def __sub__(self, other: Any) -> Poly | Nonlinear:
        return self._add(other, -1.0)

    def __rsub__(self, other: Any) -> Poly | Nonlinear:
        return (-self)._add(other, 1.0)

    def __neg__(self) -> Poly:
        return Poly({m: -c for m, c in self.terms.items()}, _flip(self.shape))

    def __pos__(self) -> Poly:
        return self

    def __mul__(self, other: Any) -> Poly | Nonlinear:
        if isinstance(other, Nonlinear):
            return Nonlinear.of(self, other)
        if not isinstance(other, Poly):
            factor = float(other)
            return Poly({m: c * factor for m, c in self.terms.items()}, _scaled(self.shape, factor))
        own, their = self.degree, other.degree
        if own + their > 2:
            return Nonlinear.of(self, other, function="product")
        terms: dict[Monomial, float] = {}
        for m1, c1 in self.terms.items():
            for m2, c2 in other.terms.items():
                monomial = tuple(sorted(m1 + m2, key=_sort_key))
                terms[monomial] = terms.get(monomial, 0.0) + c1 * c2
        return Poly(terms, _product_shape(self, own, other, their))

    __rmul__ = __mul__

    def __truediv__(self, other: Any) -> Poly | Nonlinear:
        if isinstance(other, (Poly, Nonlinear)):
            return Nonlinear.of(self, other, function="division")
        return self * (1.0 / float(other))

    def __rtruediv__(self, other: Any) -> Nonlinear:
        return Nonlinear.of(self, function="division")

    def __repr__(self) -> str:
        return f"Poly({self.terms!r})"


def _product_shape(left: Poly, left_degree: int, right: Poly, right_degree: int) -> int:
    """The shape of a product of polynomials whose degrees sum to at most 2."""
    if left_degree == 0:
        return _scaled(right.shape, left.constant)
    if right_degree == 0:
        return _scaled(left.shape, right.constant)
    # two affine factors: only the square of one affine term is known to be convex
    return CONVEX if right is left or right.terms == left.terms else UNKNOWN


class PolyAlgebra:
    """The `Algebra` that turns expressions into `Poly` / `Nonlinear` objects."""

    def variable(self, name: str, key: Key) -> Poly:
        """One variable instance as a polynomial."""
        return Poly.variable((name, key))

    def apply(self, func: str, args: list[Any]) -> Nonlinear:
        """Any nonlinear function is opaque to the polynomial view."""
        return Nonlinear.of(*args, function=func)

    def power(self, base: Any, exponent: float) -> Any:
        """Expand small integer powers of polynomials; anything else is nonlinear."""
        if isinstance(base, Poly):
            if exponent == 0:
                return 1.0
            if exponent == 1:
                return base
            if exponent == 2 and base.degree <= 1:
                return base * base
        return Nonlinear.of(base, function="power")

    def total(self, items: Iterable[Any]) -> Any:
        """Sum items in one accumulating dict (fast for long sums)."""
        terms: dict[Monomial, float] = {}
        nonlinear: list[Any] = []
        constant = 0.0
        shape = AFFINE
        for item in items:
            if isinstance(item, Poly):
                shape &= item.shape
                for monomial, coefficient in item.terms.items():
                    terms[monomial] = terms.get(monomial, 0.0) + coefficient
            elif isinstance(item, Nonlinear):
                nonlinear.append(item)
            else:
                constant += float(item)
        if constant:
            terms[()] = terms.get((), 0.0) + constant
        result = Poly(terms, shape)
        if nonlinear:
            return Nonlinear.of(result, *nonlinear)
        return result
