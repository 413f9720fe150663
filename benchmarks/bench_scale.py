"""Scaling of data loading and of the convexity decision with the size of the model.

Data: time per entry of resolving a parameter given as a 1-D mapping, as a mapping over a
set of pairs ("a,b" keys), as a nested mapping over two sets, and read from a CSV table
through `from_table` (CSV text -> resolved data), at 10^3, 10^4 and 10^5 entries, with the
fitted exponent (slope of log time against log size; about 1 means linear).

Convexity: time of deciding the convexity of an already expanded objective, for the
least-squares model `sum((x[i] - a[i])**2 for i in I)` (as built, and as a bare diagonal
polynomial whose squares are read one by one) and for a tridiagonal Hessian
written as explicit products (not diagonally dominant, so it is factorised), at 10^3, 10^4
and 10^5 variables, with the route that decided it.

    python benchmarks/bench_scale.py [--sizes 1000 10000 100000] [--repeat 3]
"""

from __future__ import annotations

import argparse
import math
import statistics
import sys
import time
from collections.abc import Callable
from typing import Any

import numpy as np

from optiagent.formulations.analysis import check_formulation
from optiagent.formulations.convexity import decide_convexity
from optiagent.formulations.data import resolve_data
from optiagent.formulations.io import parse_formulation
from optiagent.formulations.polynomial import Poly
from optiagent.formulations.schema import Sense
from optiagent.formulations.tables import parse_csv_text, resolve_tables


def _seconds(action: Callable[[], object], repeat: int) -> float:
    samples = []
    for _ in range(repeat):
        started = time.perf_counter()
        action()
        samples.append(time.perf_counter() - started)
    return statistics.median(samples)


def _document(sets: dict[str, Any], parameter: dict[str, Any]) -> dict[str, Any]:
    return {
        "sets": sets,
        "parameters": {"p": parameter},
        "variables": {"x": {}},
        "objective": {"minimize": "x"},
    }


def _mapping(n: int) -> Callable[[], object]:
    names = [f"e{i}" for i in range(n)]
    document = _document(
        {"I": names}, {"index": ["I"], "value": {e: i for i, e in enumerate(names)}}
    )
    formulation = parse_formulation(document)
    return lambda: _resolved(resolve_data(formulation), n)


def _pairs(n: int) -> Callable[[], object]:
    pairs = [[f"a{i}", f"b{i % 97}"] for i in range(n)]
    value = {f"{a},{b}": i for i, (a, b) in enumerate(pairs)}
    formulation = parse_formulation(_document({"E": pairs}, {"index": ["E"], "value": value}))
    return lambda: _resolved(resolve_data(formulation), n)


def _side(n: int) -> int:
    return math.isqrt(n)


def _nested(n: int) -> Callable[[], object]:
    side = _side(n)
    rows, columns = [f"r{i}" for i in range(side)], [f"c{j}" for j in range(side)]
    value = {r: {c: i * side + j for j, c in enumerate(columns)} for i, r in enumerate(rows)}
    document = _document({"R": rows, "C": columns}, {"index": ["R", "C"], "value": value})
    formulation = parse_formulation(document)
    return lambda: _resolved(resolve_data(formulation), side * side)


def _csv(n: int) -> Callable[[], object]:
    side = _side(n)
    lines = ["plant,market,cost"]
    lines += [f"p{i},m{j},{i + j / 1000}" for i in range(side) for j in range(side)]
    text = "\n".join(lines) + "\n"
    document = _document(
        {
            "P": {"from_table": {"table": "routes", "column": "plant"}},
            "M": {"from_table": {"table": "routes", "column": "market"}},
        },
        {
            "index": ["P", "M"],
            "from_table": {
                "table": "routes",
                "column": "cost",
                "index_columns": ["plant", "market"],
            },
        },
    )
    formulation = parse_formulation(document)

    def load() -> object:
        inlined, issues = resolve_tables(formulation, [parse_csv_text(text, "routes")])
        assert not issues, issues
        return _resolved(resolve_data(inlined), side * side)

    return load


def _resolved(result: tuple[Any, list[Any]], expected: int) -> object:
    data, issues = result
    assert not issues and len(data.params["p"].values) == expected, issues[:3]
    return data


def _least_squares(n: int) -> tuple[Poly, Sense]:
    document = {
        "sets": {"I": {"first": 1, "last": n}},
        "parameters": {"a": {"index": ["I"], "value": [i % 7 for i in range(n)]}},
        "variables": {"x": {"index": ["I"]}},
        "objective": {"minimize": "sum((x[i] - a[i])**2 for i in I)"},
    }
    return _objective(document)


def _banded(n: int) -> tuple[Poly, Sense]:
    # the expansion of sum((x[i] + 2*x[i+1])**2), written term by term: convex, but row 1
    # (2 on the diagonal, 4 beside it) is not diagonally dominant
    document = {
        "sets": {"I": {"first": 1, "last": n}},
        "parameters": {"c": {"index": ["I"], "value": [1] + [5] * (n - 2) + [4]}},
        "variables": {"x": {"index": ["I"]}},
        "objective": {
            "minimize": "sum(c[i] * x[i] * x[i] for i in I)"
            f" + sum(4 * x[i] * x[i + 1] for i in I if i < {n})"
        },
    }
    return _objective(document)


def _diagonal(n: int) -> tuple[Poly, Sense]:
    # the least-squares polynomial without the shape the algebra tracked: decided from the
    # signs of its squares alone
    objective, sense = _least_squares(n)
    return Poly(dict(objective.terms)), sense


def _objective(document: dict[str, Any]) -> tuple[Poly, Sense]:
    checked = check_formulation(parse_formulation(document))
    objective = checked.analysis.objective
    assert isinstance(objective, Poly) and checked.formulation.objective is not None
    return objective, checked.formulation.objective.sense


def _exponent(sizes: list[int], seconds: list[float]) -> float:
    return float(np.polyfit(np.log(sizes), np.log(seconds), 1)[0])


def _data_rows(sizes: list[int], repeat: int) -> None:
    print("\nparameter loading: microseconds per entry (exponent = log-log slope)")
    header = f"{'form':<16}" + "".join(f"{n:>12,}" for n in sizes) + f"{'exponent':>10}"
    print(header + "\n" + "-" * len(header))
    forms = {
        "mapping": _mapping,
        "pairs": _pairs,
        "nested mapping": _nested,
        "from_table csv": _csv,
    }
    for name, make in forms.items():
        counts, seconds = [], []
        for n in sizes:
            load = make(n)
            counts.append(_side(n) ** 2 if make in (_nested, _csv) else n)
            seconds.append(_seconds(load, repeat))
        per_entry = "".join(f"{s / c * 1e6:12.2f}" for s, c in zip(seconds, counts, strict=True))
        print(f"{name:<16}{per_entry}{_exponent(counts, seconds):10.2f}")


def _convexity_rows(sizes: list[int], repeat: int) -> None:
    print("\nconvexity decision: milliseconds (expansion not included)")
    header = f"{'objective':<16}{'variables':>12}{'ms':>10}  decision"
    print(header + "\n" + "-" * len(header))
    makers = {"least squares": _least_squares, "diagonal": _diagonal, "tridiagonal": _banded}
    for name, make in makers.items():
        for n in sizes:
            objective, sense = make(n)
            seconds = _seconds(lambda o=objective, s=sense: decide_convexity(o, s), repeat)
            verdict = decide_convexity(objective, sense)
            print(f"{name:<16}{n:>12,}{seconds * 1000:10.2f}  {verdict.convex}: {verdict.reason}")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[1_000, 10_000, 100_000])
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    print(f"medians of {args.repeat} runs (python {sys.version.split()[0]})")
    _data_rows(args.sizes, args.repeat)
    _convexity_rows(args.sizes, args.repeat)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
