"""Real Pyomo / HiGHS / SCIP / CP-SAT / pywraplp scripts, run under every sandbox layer.

Each must run to its end, report the known optimum, and trip none of the sandbox's refusals
(the libraries read files and start threads: the confinement must not break them).
"""

from __future__ import annotations

import pytest

from optiagent.solvers_backend.sandbox import Sandbox

KNAPSACK_HIGHS = """\
import pyomo.environ as pyo
values = {'a': 10, 'b': 13, 'c': 7, 'd': 8}
weights = {'a': 5, 'b': 7, 'c': 4, 'd': 3}
m = pyo.ConcreteModel()
m.I = pyo.Set(initialize=list(values))
m.x = pyo.Var(m.I, domain=pyo.Binary)
m.cap = pyo.Constraint(expr=sum(weights[i] * m.x[i] for i in m.I) <= 14)
m.obj = pyo.Objective(expr=sum(values[i] * m.x[i] for i in m.I), sense=pyo.maximize)
res = pyo.SolverFactory('highs').solve(m, load_solutions=False)
if pyo.check_optimal_termination(res):
    m.solutions.load_from(res)
    print('status: optimal')
    print(f'objective: {pyo.value(m.obj)}')
    for i in m.I:
        print(f'x[{i}] = {pyo.value(m.x[i]):g}')
else:
    print(f'status: {res.solver.termination_condition}')
"""

TRANSPORT_LP_DUALS = """\
import pyomo.environ as pyo
supply = {'seattle': 350, 'san-diego': 600}
demand = {'new-york': 325, 'chicago': 300, 'topeka': 275}
cost = {('seattle', 'new-york'): 2.5, ('seattle', 'chicago'): 1.7, ('seattle', 'topeka'): 1.8,
        ('san-diego', 'new-york'): 2.5, ('san-diego', 'chicago'): 1.8,
        ('san-diego', 'topeka'): 1.4}
m = pyo.ConcreteModel()
m.ship = pyo.Var(list(cost), domain=pyo.NonNegativeReals)
m.sup = pyo.Constraint(list(supply), rule=lambda m, i: sum(m.ship[i, j] for j in demand) <= supply[i])
m.dem = pyo.Constraint(list(demand), rule=lambda m, j: sum(m.ship[i, j] for i in supply) >= demand[j])
m.cost = pyo.Objective(expr=sum(90 * cost[k] * m.ship[k] / 1000 for k in cost))
m.dual = pyo.Suffix(direction=pyo.Suffix.IMPORT)
res = pyo.SolverFactory('appsi_highs').solve(m)
print(f'status: {res.solver.termination_condition}')
print(f'objective: {pyo.value(m.cost):.6f}')
for (i, j) in cost:
    print(f'ship[{i},{j}] = {pyo.value(m.ship[i, j])}')
print(f"dual_new_york = {m.dual[m.dem['new-york']]}")
"""

NLP_SCIP = """\
import pyomo.environ as pyo
m = pyo.ConcreteModel()
m.x = pyo.Var(bounds=(0, 10))
m.y = pyo.Var(bounds=(0, 10))
m.c = pyo.Constraint(expr=m.x + m.y <= 10)
m.obj = pyo.Objective(expr=m.x * m.y, sense=pyo.maximize)
res = pyo.SolverFactory('scip_direct').solve(m, load_solutions=False)
print('status:', res.solver.termination_condition)
m.solutions.load_from(res)
print('objective:', pyo.value(m.obj))
"""

JOBSHOP_CPSAT = """\
import collections
from ortools.sat.python import cp_model
jobs = [[(0, 3), (1, 2), (2, 2)], [(0, 2), (2, 1), (1, 4)], [(1, 4), (2, 3)]]
horizon = sum(d for job in jobs for _, d in job)
model = cp_model.CpModel()
Task = collections.namedtuple('Task', 'start end interval')
tasks, machines = {}, collections.defaultdict(list)
for j, job in enumerate(jobs):
    for t, (machine, duration) in enumerate(job):
        start = model.new_int_var(0, horizon, f's{j}{t}')
        end = model.new_int_var(0, horizon, f'e{j}{t}')
        tasks[j, t] = Task(start, end, model.new_interval_var(start, duration, end, f'i{j}{t}'))
        machines[machine].append(tasks[j, t].interval)
for intervals in machines.values():
    model.add_no_overlap(intervals)
for j, job in enumerate(jobs):
    for t in range(len(job) - 1):
        model.add(tasks[j, t + 1].start >= tasks[j, t].end)
makespan = model.new_int_var(0, horizon, 'makespan')
model.add_max_equality(makespan, [tasks[j, len(job) - 1].end for j, job in enumerate(jobs)])
model.minimize(makespan)
solver = cp_model.CpSolver()
solver.parameters.num_workers = 4
status = solver.solve(model)
print(f'status: {solver.status_name(status)}')
print(f'objective: {solver.objective_value}')
print(f'makespan = {solver.value(makespan)}')
"""

PYWRAPLP = """\
from ortools.linear_solver import pywraplp
solver = pywraplp.Solver.CreateSolver('SCIP')
x = solver.IntVar(0, solver.infinity(), 'x')
y = solver.IntVar(0, solver.infinity(), 'y')
solver.Add(x + 7 * y <= 17.5)
solver.Add(x <= 3.5)
solver.Maximize(x + 10 * y)
status = solver.Solve()
print('status:', 'optimal' if status == pywraplp.Solver.OPTIMAL else status)
print('objective:', solver.Objective().Value())
print(f'x = {x.solution_value()}')
print(f'y = {y.solution_value()}')
"""

INFEASIBLE = """\
import pyomo.environ as pyo
m = pyo.ConcreteModel()
m.x = pyo.Var(domain=pyo.NonNegativeReals)
m.c1 = pyo.Constraint(expr=m.x >= 5)
m.c2 = pyo.Constraint(expr=m.x <= 3)
m.o = pyo.Objective(expr=m.x)
res = pyo.SolverFactory('highs').solve(m, load_solutions=False)
print(f'status: {res.solver.termination_condition}')
"""

UNBOUNDED = """\
import pyomo.environ as pyo
m = pyo.ConcreteModel()
m.x = pyo.Var(domain=pyo.NonNegativeReals)
m.o = pyo.Objective(expr=m.x, sense=pyo.maximize)
res = pyo.SolverFactory('highs').solve(m, load_solutions=False)
print(f'status: {res.solver.termination_condition}')
"""


def _run_clean(sandbox: Sandbox, code: str, family: str) -> object:
    result = sandbox.run(code)
    assert result.exit_reason == "ok", result.feedback()
    assert result.family == family
    assert result.blocked == (), result.blocked
    return result


def test_pyomo_highs_milp(sandbox: Sandbox) -> None:
    result = _run_clean(sandbox, KNAPSACK_HIGHS, "pyomo")
    assert result.reported.status == "optimal"
    assert result.reported.objective == pytest.approx(28.0)
    assert result.reported.values == {"x[a]": 0.0, "x[b]": 1.0, "x[c]": 1.0, "x[d]": 1.0}
    assert result.complete


def test_pyomo_appsi_highs_lp_with_duals(sandbox: Sandbox) -> None:
    result = _run_clean(sandbox, TRANSPORT_LP_DUALS, "pyomo")
    assert result.reported.status == "optimal"
    assert result.reported.objective == pytest.approx(153.675)
    assert result.reported.values["ship[seattle,chicago]"] == pytest.approx(300.0)
    assert result.reported.values["dual_new_york"] == pytest.approx(0.225)


def test_pyomo_scip_nonconvex_nlp(sandbox: Sandbox) -> None:
    result = _run_clean(sandbox, NLP_SCIP, "pyomo")
    assert result.reported.status == "optimal"
    assert result.reported.objective == pytest.approx(25.0, rel=1e-6)


def test_cpsat_jobshop(sandbox: Sandbox) -> None:
    result = _run_clean(sandbox, JOBSHOP_CPSAT, "ortools")
    assert result.reported.status == "optimal"
    assert result.reported.objective == 11.0
    assert result.reported.values["makespan"] == 11.0


def test_pywraplp_scip_milp(sandbox: Sandbox) -> None:
    result = _run_clean(sandbox, PYWRAPLP, "ortools")
    assert result.reported.status == "optimal"
    assert result.reported.objective == pytest.approx(23.0)
    assert result.reported.values == {"x": 3.0, "y": 2.0}


@pytest.mark.parametrize(("code", "status"), [(INFEASIBLE, "infeasible"), (UNBOUNDED, "unbounded")])
def test_infeasible_and_unbounded_are_results(sandbox: Sandbox, code: str, status: str) -> None:
    result = _run_clean(sandbox, code, "pyomo")
    assert result.reported.status == status
    assert result.reported.objective is None
    assert result.complete  # no objective is due for these statuses
    assert f"status {status}" in result.feedback()


def test_wall_limit_kills_a_solver_stuck_in_native_code(sandbox: Sandbox) -> None:
    market_split = """\
import random
import pyomo.environ as pyo
random.seed(1)
a = [[random.randint(0, 99) for _ in range(40)] for _ in range(4)]
m = pyo.ConcreteModel()
m.x = pyo.Var(range(40), domain=pyo.Binary)
m.c = pyo.Constraint(range(4), rule=lambda m, i: sum(a[i][j] * m.x[j] for j in range(40)) == sum(a[i]) // 2)
m.o = pyo.Objective(expr=0)
print('solving')
pyo.SolverFactory('highs').solve(m, load_solutions=False)
print('status: optimal')
"""
    from optiagent.solvers_backend.sandbox import Limits

    result = sandbox.run(market_split, limits=Limits(wall_seconds=2.0, cpu_seconds=30))
    assert result.exit_reason == "timeout"
    assert result.stdout.startswith("solving")  # output before the kill is kept
    assert result.wall_time_s < 5.0
    assert "longer than 2 s" in result.feedback()
