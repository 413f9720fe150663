"""Sandbox latency: cold `python script.py` vs the warm sandbox vs in-process `exec`.

    .venv/bin/python benchmarks/bench_sandbox.py [--runs 20]

Runs the same three small scripts (Pyomo + HiGHS knapsack MILP, Pyomo + scip_direct small
nonconvex NLP, CP-SAT 3x3 job-shop) N times each, one at a time, in three ways:

- cold:       `subprocess.run([sys.executable, "script.py"])` in a fresh temporary folder;
- sandbox:    `Sandbox.run(code)` (round trip seen by the caller: static check, fork of the
              warm zygote, confinement, run, result), plus the run time the zygote measured;
- in-process: `exec(compile(code))` in this process (no isolation at all; first run dropped).

Prints median and p90 in milliseconds, and checks that every run reported the right objective.
"""

from __future__ import annotations

import argparse
import contextlib
import io
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from optiagent.solvers_backend.sandbox import Sandbox, parse_reported_result

KNAPSACK = """\
import pyomo.environ as pyo
values = [10, 13, 7, 8, 9, 4, 12, 6]
weights = [5, 7, 4, 3, 6, 2, 8, 3]
m = pyo.ConcreteModel()
m.I = pyo.RangeSet(0, len(values) - 1)
m.x = pyo.Var(m.I, domain=pyo.Binary)
m.cap = pyo.Constraint(expr=sum(weights[i] * m.x[i] for i in m.I) <= 20)
m.obj = pyo.Objective(expr=sum(values[i] * m.x[i] for i in m.I), sense=pyo.maximize)
res = pyo.SolverFactory('highs').solve(m, load_solutions=False)
m.solutions.load_from(res)
print(f'status: {res.solver.termination_condition}')
print(f'objective: {pyo.value(m.obj)}')
"""

NLP = """\
import pyomo.environ as pyo
m = pyo.ConcreteModel()
m.x = pyo.Var(bounds=(0, 10))
m.y = pyo.Var(bounds=(0, 10))
m.c = pyo.Constraint(expr=m.x + 2 * m.y <= 10)
m.obj = pyo.Objective(expr=m.x * m.y, sense=pyo.maximize)
res = pyo.SolverFactory('scip_direct').solve(m, load_solutions=False)
m.solutions.load_from(res)
print(f'status: {res.solver.termination_condition}')
print(f'objective: {pyo.value(m.obj)}')
"""

JOBSHOP = """\
from ortools.sat.python import cp_model
jobs = [[(0, 3), (1, 2), (2, 2)], [(0, 2), (2, 1), (1, 4)], [(1, 4), (2, 3)]]
horizon = sum(d for job in jobs for _, d in job)
model = cp_model.CpModel()
ends, machines = {}, {0: [], 1: [], 2: []}
starts = {}
for j, job in enumerate(jobs):
    for t, (machine, duration) in enumerate(job):
        s = model.new_int_var(0, horizon, f's{j}{t}')
        e = model.new_int_var(0, horizon, f'e{j}{t}')
        machines[machine].append(model.new_interval_var(s, duration, e, f'i{j}{t}'))
        starts[j, t], ends[j, t] = s, e
for intervals in machines.values():
    model.add_no_overlap(intervals)
for j, job in enumerate(jobs):
    for t in range(len(job) - 1):
        model.add(starts[j, t + 1] >= ends[j, t])
makespan = model.new_int_var(0, horizon, 'makespan')
model.add_max_equality(makespan, [ends[j, len(job) - 1] for j, job in enumerate(jobs)])
model.minimize(makespan)
solver = cp_model.CpSolver()
solver.parameters.num_workers = 2
status = solver.solve(model)
print(f'status: {solver.status_name(status)}')
print(f'objective: {solver.objective_value}')
"""

SCRIPTS = {
    "knapsack MILP (Pyomo+HiGHS)": (KNAPSACK, 41.0),
    "small NLP (Pyomo+scip_direct)": (NLP, 12.5),
    "job-shop (CP-SAT)": (JOBSHOP, 11.0),
}


def _percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    index = min(len(ordered) - 1, max(0, round(fraction * (len(ordered) - 1))))
    return ordered[index]


def _measure(runs: int, once: Callable[[], str], expected: float) -> list[float]:
    times = []
    for _ in range(runs):
        started = time.perf_counter()
        stdout = once()
        times.append(time.perf_counter() - started)
        objective = parse_reported_result(stdout).objective
        if objective is None or abs(objective - expected) > 1e-6 * max(1.0, abs(expected)):
            raise SystemExit(f"wrong result (expected objective {expected}):\n{stdout}")
    return times


def _cold(code: str) -> Callable[[], str]:
    def once() -> str:
        with tempfile.TemporaryDirectory() as folder:
            script = Path(folder) / "script.py"
            script.write_text(code)
            command = [sys.executable, "script.py"]
            done = subprocess.run(command, cwd=folder, capture_output=True, text=True, check=True)
        return done.stdout

    return once


def _in_process(code: str) -> Callable[[], str]:
    compiled = compile(code, "<bench>", "exec")

    def once() -> str:
        buffer = io.StringIO()
        with contextlib.redirect_stdout(buffer):
            exec(compiled, {"__name__": "__main__"})
        return buffer.getvalue()

    once()  # first run loads plugins and native libraries; the warm sandbox did that too
    return once


def main() -> None:
    """Measure and print the table."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=20, help="runs per script and method")
    args = parser.parse_args()

    started = time.perf_counter()
    sandbox = Sandbox(max_parallel=1)
    infos = {family: sandbox.worker_info(family) for family in ("pyomo", "ortools")}
    ready = time.perf_counter() - started
    rows = []
    with sandbox:
        for name, (code, expected) in SCRIPTS.items():
            zygote_times: list[float] = []

            def warm(code: str = code, sink: list[float] = zygote_times) -> str:
                result = sandbox.run(code)
                if not result.ok:
                    raise SystemExit(result.feedback())
                sink.append(result.wall_time_s)
                return result.stdout

            warm()  # the first fork of each zygote pays a few one-off page faults
            zygote_times.clear()
            measured = {
                "cold python script.py": _measure(args.runs, _cold(code), expected),
                "warm sandbox (round trip)": _measure(args.runs, warm, expected),
                "in-process exec": _measure(args.runs, _in_process(code), expected),
            }
            measured["  of which run in the child"] = zygote_times
            rows.append((name, measured))

    print(f"sandbox latency, {args.runs} runs per cell, times in ms (median / p90)")
    print(f"Python {sys.version.split()[0]}, workers ready after {ready:.2f} s "
          f"(warm-up pyomo {infos['pyomo']['warmup_s']:.2f} s, "
          f"ortools {infos['ortools']['warmup_s']:.2f} s)")  # fmt: skip
    protections = infos["pyomo"]["protections"]
    print("protections: " + "; ".join(f"{k}: {v}" for k, v in protections.items()))
    print()
    header = f"{'script':32} {'method':30} {'median':>8} {'p90':>8}"
    print(header)
    print("-" * len(header))
    for name, measured in rows:
        for method, times in measured.items():
            median = 1000 * statistics.median(times)
            p90 = 1000 * _percentile(times, 0.9)
            print(f"{name:32} {method:30} {median:8.1f} {p90:8.1f}")
            name = ""
    print()
    for name, measured in rows:
        cold = statistics.median(measured["cold python script.py"])
        warm = statistics.median(measured["warm sandbox (round trip)"])
        print(f"{name:32} warm p50 {1000 * warm:6.1f} ms, cold p50 {1000 * cold:6.1f} ms: "
              f"warm is {cold / warm:4.1f}x faster (target: at least 5x)")  # fmt: skip


if __name__ == "__main__":
    main()
