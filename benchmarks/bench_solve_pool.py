"""Throughput of solver-bound models through the solver pool, and the pool's per-solve overhead.

1. Throughput: `--models` nonconvex QPs (20 variables in a box, one budget row; SCIP solves
   each to global optimality in a few seconds of CPU) solved by the old path (one after the
   other in this process: the old process-wide lock made in-process solves serial) and
   through a `SolverPool` of 1, 2 and 4 workers fed by as many threads. Printed: wall
   seconds, models per minute, and the speed-up over the old path. On a machine with fewer
   free cores than workers the speed-up stops at the number of cores.
2. Overhead: the p50 of a tiny LP (examples/wyndor.yaml, HiGHS) through a warm pool against
   the same backend call in this process (`--repeat` solves each, after a warm-up).

    python benchmarks/bench_solve_pool.py [--models 16] [--repeat 200]
"""

from __future__ import annotations

import argparse
import os
import random
import statistics
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from optiagent.formulations.analysis import CheckedFormulation, check_formulation
from optiagent.formulations.io import load_formulation, parse_formulation
from optiagent.solvers_backend.pool import SolverPool
from optiagent.solvers_backend.registry import BACKENDS
from optiagent.solvers_backend.results import SolveOptions, SolveStatus

EXAMPLES = Path(__file__).parents[1] / "examples"
OPTIONS = SolveOptions(time_limit=120, threads=1)


def nonconvex_qp(seed: int, size: int = 20) -> CheckedFormulation:
    """min x'Qx + c'x over the unit box with sum(x) <= size/3; Q indefinite, from `seed`."""
    rng = random.Random(seed)
    items = list(range(size))
    document = {
        "sets": {"I": items},
        "parameters": {
            "q": {
                "index": ["I", "I"],
                "value": [[rng.uniform(-1, 1) for _ in items] for _ in items],
            },
            "c": {"index": ["I"], "value": [rng.uniform(-1, 1) for _ in items]},
        },
        "variables": {"x": {"index": ["I"], "lower": 0, "upper": 1}},
        "objective": {
            "minimize": "sum(q[i, j] * x[i] * x[j] for i in I for j in I)"
            " + sum(c[i] * x[i] for i in I)"
        },
        "constraints": {"budget": f"sum(x[i] for i in I) <= {size // 3}"},
    }
    return check_formulation(parse_formulation(document))


def _throughput(models: list[CheckedFormulation]) -> None:
    print(f"throughput: {len(models)} nonconvex QPs on SCIP, threads=1 each, {os.cpu_count()} CPUs")
    print(f"{'path':<22}{'wall s':>9}{'models/min':>12}{'speed-up':>10}")
    started = time.perf_counter()
    serial = [BACKENDS["scip"].solve(model, OPTIONS) for model in models]
    base = time.perf_counter() - started
    assert all(r.status is SolveStatus.OPTIMAL for r in serial), [r.status for r in serial]
    print(f"{'in-process (old)':<22}{base:9.1f}{60 * len(models) / base:12.1f}{1.0:10.2f}")
    for workers in (1, 2, 4):
        with SolverPool(workers=workers) as pool:
            warm = [pool.solve(models[0], "scip", OPTIONS) for _ in range(1)]  # start one
            assert warm[0].status is SolveStatus.OPTIMAL
            started = time.perf_counter()
            with ThreadPoolExecutor(max_workers=workers) as threads:
                results = list(threads.map(lambda m: pool.solve(m, "scip", OPTIONS), models))
            wall = time.perf_counter() - started
        same = all(
            abs(a.objective - b.objective) <= 1e-6 * max(1.0, abs(a.objective))
            for a, b in zip(results, serial, strict=True)
        )
        label = f"pool, {workers} worker{'s' if workers > 1 else ''}"
        note = "" if same else "  (objectives differ!)"
        print(f"{label:<22}{wall:9.1f}{60 * len(models) / wall:12.1f}{base / wall:10.2f}{note}")


def _p50_ms(action: object, repeat: int) -> float:
    samples = []
    for _ in range(repeat):
        started = time.perf_counter()
        action()  # type: ignore[operator]
        samples.append((time.perf_counter() - started) * 1000)
    return statistics.median(samples)


def _overhead(repeat: int) -> None:
    checked = check_formulation(load_formulation(EXAMPLES / "wyndor.yaml"))
    options = SolveOptions()
    backend = BACKENDS["highs"]
    backend.solve(checked, options)  # warm-up: plugin loading
    in_process = _p50_ms(lambda: backend.solve(checked, options), repeat)
    with SolverPool(workers=1) as pool:
        pool.solve(checked, "highs", options)  # warm-up: the worker's start
        pooled = _p50_ms(lambda: pool.solve(checked, "highs", options), repeat)
    print(f"overhead: tiny LP (wyndor, HiGHS), p50 of {repeat} solves")
    print(f"  in-process {in_process:.2f} ms, through the pool {pooled:.2f} ms, "
          f"round trip {pooled - in_process:+.2f} ms")  # fmt: skip


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--models", type=int, default=16)
    parser.add_argument("--repeat", type=int, default=200)
    args = parser.parse_args()
    print(f"python {sys.version.split()[0]}")
    _overhead(args.repeat)
    _throughput([nonconvex_qp(seed) for seed in range(1, args.models + 1)])
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
