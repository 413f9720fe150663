"""Time validate + compile + solve of every example in-process, and our overhead over the solver.

For each example: `check` (parse, validate, expand, classify), `build` (IR -> Pyomo or CP-SAT
model), `bare` (only the solver call on the already built model), and `total` (the whole
`optiagent.solvers_backend.api.solve` call from a Formulation). overhead = total - bare.
Medians over --repeat runs after one warm-up run.

    python benchmarks/bench_compile.py [--repeat 20]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path

from optiagent.formulations.analysis import check_formulation
from optiagent.formulations.io import load_formulation
from optiagent.solvers_backend.api import solve
from optiagent.solvers_backend.cpsat_builder import build_cpsat_model
from optiagent.solvers_backend.pyomo_builder import build_pyomo_model
from optiagent.solvers_backend.registry import choose_backend

EXAMPLES = Path(__file__).parents[1] / "examples"


def _median_ms(action: Callable[[], object], repeat: int) -> float:
    action()  # warm-up: lazy imports and solver plugin loading
    samples = []
    for _ in range(repeat):
        started = time.perf_counter()
        action()
        samples.append((time.perf_counter() - started) * 1000)
    return statistics.median(samples)


def _bare_solver(checked: object, backend: str) -> Callable[[], object]:
    if backend == "cpsat":
        from ortools.sat.python import cp_model

        model = build_cpsat_model(checked).model  # type: ignore[arg-type]

        def run_cpsat() -> object:
            solver = cp_model.CpSolver()
            solver.parameters.num_workers = 8
            return solver.solve(model)

        return run_cpsat
    from pyomo.contrib.solver.common.factory import SolverFactory

    model = build_pyomo_model(checked).model  # type: ignore[arg-type]
    solver = SolverFactory("highs" if backend == "highs" else "scip_direct")

    def run_pyomo() -> object:
        return solver.solve(model, load_solutions=False, raise_exception_on_nonoptimal_result=False)

    return run_pyomo


def _measure(path: Path, repeat: int) -> str:
    formulation = load_formulation(path)
    checked = check_formulation(formulation)
    backend = choose_backend(checked).name
    builder = build_cpsat_model if backend == "cpsat" else build_pyomo_model
    check_ms = _median_ms(lambda: check_formulation(formulation), repeat)
    build_ms = _median_ms(lambda: builder(checked), repeat)
    bare_ms = _median_ms(_bare_solver(checked, backend), repeat)
    total_ms = _median_ms(lambda: solve(formulation), repeat)
    return (
        f"{path.stem:<15}{backend:<8}{check_ms:9.2f}{build_ms:9.2f}{bare_ms:9.2f}"
        f"{total_ms:9.2f}{total_ms - bare_ms:10.2f}"
    )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=20)
    args = parser.parse_args()
    columns = ("check", "build", "bare", "total")
    header = f"{'example':<15}{'backend':<8}" + "".join(f"{c:>9}" for c in columns)
    header += f"{'overhead':>10}"
    print(f"median milliseconds over {args.repeat} runs (python {sys.version.split()[0]})")
    print(header)
    print("-" * len(header))
    for path in sorted(EXAMPLES.glob("*.yaml")):
        print(_measure(path, args.repeat))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
