"""Decide whether a quadratic objective is convex (minimize) or concave (maximize), at any size.

The cheapest evidence comes first, so that large models are decided in time linear in their
terms and most never build a matrix:

1. the shape the polynomial algebra tracked: a non-negative sum of squares of affine terms
   (least squares, `(x + y)**2`) is convex whatever its size;
2. a diagonal Hessian: the sign of each square's coefficient;
3. certificates read off the entries: a negative diagonal entry or a 2x2 principal block with
   a negative eigenvalue proves nonconvexity; a non-negative, diagonally dominant Hessian is
   positive semidefinite (Gershgorin);
4. otherwise each connected component of the variable-interaction graph is tested on its own
   (many small ones at once by batched eigenvalues), by factorising H + tol*I: dense Cholesky
   for dense blocks, and for sparse ones a symmetric elimination in a reverse Cuthill-McKee
   order whose pivots must all be positive. H + tol*I is positive definite exactly when the
   smallest eigenvalue of H is above -tol, with tol relative to the Hessian's largest entry,
   so a semidefinite Hessian (smallest eigenvalue 0, as for `(x + y)**2`) passes.

The work of every factorisation is estimated before it starts; when a block would exceed the
budget the question stays undecided (`convex` is None) and the reason says so.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass

import numpy as np
from scipy.sparse import coo_array, csc_array, csr_array, eye_array
from scipy.sparse.csgraph import connected_components, reverse_cuthill_mckee
from scipy.sparse.linalg import splu

from optiagent.formulations.polynomial import CONCAVE, CONVEX, Monomial, Poly, VarKey
from optiagent.formulations.schema import Sense

__all__ = ["FLOP_BUDGET", "Convexity", "decide_convexity"]

FLOP_BUDGET = 2.5e10
"""Floating-point operations the factorisations of one decision may use (a few seconds)."""
_RELATIVE_TOLERANCE = 1e-9
_SMALL_BLOCK = 32  # blocks up to this size are tested together, one batched eigvalsh per size
_SPARSE_WEIGHT = 2.0  # sparse elimination does about half as much per second as dense LAPACK


@dataclass(frozen=True)
class Convexity:
    """A verdict on a quadratic objective: convex (True), not (False) or undecided (None)."""

    convex: bool | None
    reason: str


def _label(var: VarKey) -> str:
    name, key = var
    return f"{name}[{','.join(str(k) for k in key)}]" if key else name


@dataclass
class _Hessian:
    """The Hessian of the quadratic part, signed so that the question is 'is it PSD?'."""

    variables: list[VarKey]
    diagonal: np.ndarray
    rows: np.ndarray  # off-diagonal entries, each unordered pair once
    cols: np.ndarray
    values: np.ndarray
    tolerance: float

    @classmethod
    def build(cls, quadratic: dict[Monomial, float], sign: float) -> _Hessian:
        """The Hessian of sign * (the quadratic monomials)."""
        position: dict[VarKey, int] = {}
        diagonal_at: list[int] = []
        diagonal: list[float] = []
        rows: list[int] = []
        cols: list[int] = []
        values: list[float] = []
        for (a, b), coefficient in quadratic.items():
            i = position.setdefault(a, len(position))
            j = position.setdefault(b, len(position))
            if i == j:
                diagonal_at.append(i)
                diagonal.append(2 * sign * coefficient)
            else:
                rows.append(i)
                cols.append(j)
                values.append(sign * coefficient)
        size = len(position)
        diag = np.bincount(diagonal_at, weights=diagonal, minlength=size).astype(float)
        off = np.asarray(values, dtype=float)
        scale = max(float(np.abs(diag).max(initial=0.0)), float(np.abs(off).max(initial=0.0)))
        return cls(
            list(position),
            diag,
            np.asarray(rows, dtype=np.int64),
            np.asarray(cols, dtype=np.int64),
            off,
            _RELATIVE_TOLERANCE * scale,
        )

    def matrix(self) -> csr_array:
        """The symmetric sparse Hessian."""
        size = len(self.variables)
        index = np.arange(size)
        rows = np.concatenate([index, self.rows, self.cols])
        cols = np.concatenate([index, self.cols, self.rows])
        values = np.concatenate([self.diagonal, self.values, self.values])
        return coo_array((values, (rows, cols)), shape=(size, size)).tocsr()


def decide_convexity(objective: Poly, sense: Sense, budget: float | None = None) -> Convexity:
    """Whether the objective's quadratic part is convex (minimize) or concave (maximize).

    `budget` caps the floating-point operations of the factorisations (FLOP_BUDGET if None).
    """
    minimize = sense is Sense.MINIMIZE
    word = "convex" if minimize else "concave"
    quadratic = objective.of_degree(2)
    if not quadratic:
        return Convexity(True, "no quadratic term")
    if objective.shape & (CONVEX if minimize else CONCAVE):
        weights = "non-negative" if minimize else "non-positive"
        return Convexity(True, f"{word}: a sum of squares of affine terms with {weights} weights")
    hessian = _Hessian.build(quadratic, 1.0 if minimize else -1.0)
    verdict = _entry_certificates(hessian, minimize)
    if verdict is not None:
        return verdict
    return _factorise_blocks(hessian, word, FLOP_BUDGET if budget is None else budget)


def _entry_certificates(hessian: _Hessian, minimize: bool) -> Convexity | None:
    """A verdict read off single entries and 2x2 blocks, in time linear in the terms."""
    word = "convex" if minimize else "concave"
    tolerance = hessian.tolerance
    negative = np.flatnonzero(hessian.diagonal < -tolerance)
    if negative.size:
        wrong = "negative" if minimize else "positive"
        square = _label(hessian.variables[int(negative[0])])
        return Convexity(False, f"not {word}: {square}**2 has a {wrong} coefficient")
    if not hessian.values.size:
        weights = "non-negative" if minimize else "non-positive"
        return Convexity(True, f"{word}: separable, every square has a {weights} coefficient")
    a, b = hessian.diagonal[hessian.rows], hessian.diagonal[hessian.cols]
    smallest = (a + b) / 2 - np.hypot((a - b) / 2, hessian.values)
    bad = np.flatnonzero(smallest < -tolerance)
    if bad.size:
        k = int(bad[0])
        pair = f"{_label(hessian.variables[int(hessian.rows[k])])} and "
        pair += _label(hessian.variables[int(hessian.cols[k])])
        return Convexity(False, f"not {word}: the product term of {pair} outweighs their squares")
    if np.all(hessian.diagonal + tolerance >= _radii(hessian)):
        return Convexity(True, f"{word}: the Hessian is diagonally dominant")
    return None


def _radii(hessian: _Hessian) -> np.ndarray:
    """Each row's sum of absolute off-diagonal entries (the Gershgorin radius)."""
    size = len(hessian.variables)
    magnitude = np.abs(hessian.values)
    return np.bincount(hessian.rows, magnitude, size) + np.bincount(hessian.cols, magnitude, size)


def _factorise_blocks(hessian: _Hessian, word: str, budget: float) -> Convexity:
    """Test each connected block of the Hessian not already known to be dominant."""
    matrix = hessian.matrix()
    count, labels = connected_components(matrix, directed=False)
    dominant = hessian.diagonal + hessian.tolerance >= _radii(hessian)
    # a block is settled when every row is dominant; only the others need a factorisation
    unsettled = np.bincount(labels, ~dominant, count) > 0
    members: dict[int, list[int]] = defaultdict(list)
    for index in np.flatnonzero(unsettled[labels]):
        members[int(labels[index])].append(int(index))
    small: dict[int, list[list[int]]] = defaultdict(list)
    large: list[list[int]] = []
    for block in members.values():
        (small[len(block)] if len(block) <= _SMALL_BLOCK else large).append(block)
    entries = matrix.tocoo()
    for size, blocks in small.items():
        failed = _small_blocks(entries, size, blocks, hessian.tolerance)
        if failed is not None:
            where = _label(hessian.variables[failed[0]])
            return Convexity(False, f"not {word}: {_bent(size, where, word)}")
    largest = max((len(b) for b in large), default=max(small, default=0))
    remaining = budget
    undecided: Convexity | None = None
    for block in sorted(large, key=len):
        verdict, cost = _large_block(matrix, block, hessian.tolerance, remaining)
        where = _label(hessian.variables[block[0]])
        if verdict is None:
            # keep going: a cheaper block may still prove the objective nonconvex
            undecided = undecided or Convexity(
                None,
                f"convexity undecided: the Hessian block of {len(block)} variables around "
                f"{where} would need about {cost:.1e} operations to factorise, over the "
                f"remaining budget of {remaining:.1e}",
            )
            continue
        remaining -= cost
        if not verdict:
            return Convexity(False, f"not {word}: {_bent(len(block), where, word)}")
    return undecided or Convexity(
        True, f"{word}: the Hessian passes a Cholesky test block by block (largest {largest})"
    )


def _bent(size: int, where: str, word: str) -> str:
    """Where the objective curves the wrong way, in words."""
    curvature = "negative" if word == "convex" else "positive"
    return f"the Hessian block of {size} variables around {where} has {curvature} curvature"


def _small_blocks(
    entries: coo_array, size: int, blocks: list[list[int]], tolerance: float
) -> list[int] | None:
    """The first of many equal-sized small blocks that is not PSD, or None."""
    index = np.asarray(blocks, dtype=np.int64)
    slot = np.full(entries.shape[0], -1, dtype=np.int64)
    slot[index.reshape(-1)] = np.arange(index.size)
    # both ends of an entry lie in one block (blocks are connected components)
    keep = slot[entries.row] >= 0
    row, col = slot[entries.row[keep]], slot[entries.col[keep]]
    # one (blocks, size, size) stack: thousands of tiny eigenvalue problems in one LAPACK call
    stack = np.zeros((len(blocks), size, size))
    stack[row // size, row % size, col % size] = entries.data[keep]
    smallest = np.linalg.eigvalsh(stack)[:, 0]
    bad = np.flatnonzero(smallest < -tolerance)
    return blocks[int(bad[0])] if bad.size else None


def _large_block(
    matrix: csr_array, block: list[int], tolerance: float, budget: float
) -> tuple[bool | None, float]:
    """Whether one block is PSD (None: over budget), and the estimated work."""
    index = np.asarray(block, dtype=np.int64)
    local = matrix[index][:, index].tocsr()
    size = len(block)
    # a reverse Cuthill-McKee order keeps the profile small; elimination without pivoting
    # never fills outside the profile, so its row widths bound the work before it starts
    order = reverse_cuthill_mckee(local, symmetric_mode=True)
    local = local[order][:, order].tocoo()
    lower = local.row >= local.col
    first = np.arange(size)
    np.minimum.at(first, local.row[lower], local.col[lower])
    widths = np.arange(size) - first + 1.0
    sparse_cost = _SPARSE_WEIGHT * float(np.dot(widths, widths))
    dense_cost = size**3 / 3
    cost = min(sparse_cost, dense_cost)
    if cost > budget:
        return None, cost
    shifted = local + tolerance * eye_array(size)
    if dense_cost <= sparse_cost:
        try:
            np.linalg.cholesky(shifted.toarray())
        except np.linalg.LinAlgError:
            return False, cost
        return True, cost
    return _pivots_positive(csc_array(shifted)), cost


def _pivots_positive(matrix: csc_array) -> bool:
    """Whether a symmetric sparse matrix is positive definite, by elimination in its order."""
    try:
        # threshold 0: always pivot on the diagonal, so the factorisation is symmetric and
        # its pivots carry the signs of the eigenvalues (Sylvester's law of inertia)
        factor = splu(
            matrix, permc_spec="NATURAL", diag_pivot_thresh=0.0, options={"SymmetricMode": True}
        )
    except RuntimeError:  # an exactly zero pivot: not positive definite
        return False
    symmetric = np.array_equal(factor.perm_r, factor.perm_c)
    return symmetric and bool(np.all(factor.U.diagonal() > 0))
