"""What exported scripts look like: readable, collision-free, lint-clean, and refused with care."""

from __future__ import annotations

import importlib.util
import subprocess
import sys
from pathlib import Path

import pytest

from optiagent.exceptions import ConfigurationError, FormulationError, IncompatibleBackendError
from optiagent.formulations.analysis import ProblemClass, check_formulation
from optiagent.formulations.export import (
    ortools_solver_for,
    pyomo_solver_for,
    to_ortools_script,
    to_pyomo_script,
)
from optiagent.formulations.io import load_formulation, parse_formulation
from optiagent.formulations.schema import Formulation

EXAMPLES = Path(__file__).resolve().parents[3] / "examples"
MODELS = Path(__file__).resolve().parent / "models"


def _example(name: str) -> Formulation:
    return load_formulation(EXAMPLES / f"{name}.yaml")


def _model(name: str) -> Formulation:
    return load_formulation(MODELS / f"{name}.yaml")


def test_pyomo_transport_reads_like_the_formulation() -> None:
    script = to_pyomo_script(_example("transport"))
    for expected in [
        '"""transport: Ship cases from plants to markets',
        "import pyomo.environ as pyo",
        'Plants = ["seattle", "san-diego"]',
        'supply = {"seattle": 350, "san-diego": 600}',
        '("seattle", "new-york"): 2.5',
        "freight = 90",
        "# ship[Plants, Markets]: cases shipped from each plant to each market (cases)",
        "model.ship = pyo.Var(Plants, Markets, domain=pyo.NonNegativeReals)",
        "freight * distance[p, m] / 1000 * model.ship[p, m] for p in Plants for m in Markets",
        "sense=pyo.minimize",
        "# supply_limit (for each p in Plants): ship no more than the plant's supply",
        "def supply_limit_rule(model, p):",
        "    return sum(model.ship[p, m] for m in Markets) <= supply[p]",
        "model.supply_limit = pyo.Constraint(Plants, rule=supply_limit_rule)",
        'pyo.SolverFactory("highs").solve(model, load_solutions=False, timelimit=TIME_LIMIT)',
        "model.solutions.load_from(results)",
        'print("objective: None")',
    ]:
        assert expected in script, expected
    assert "unless_trivial" not in script  # no instance of transport compares data only
    compile(script, "transport.py", "exec")


def test_pyomo_script_picks_the_solver_by_class() -> None:
    assert 'SolverFactory("scip_direct")' in to_pyomo_script(_example("max_product"))
    assert 'SolverFactory("highs")' in to_pyomo_script(_example("projection_qp"))
    assert pyomo_solver_for(ProblemClass.MIQP) == "scip_direct"
    assert pyomo_solver_for(ProblemClass.MILP) == "highs"


def test_pyomo_quantified_constraints_with_conditions_and_pairs() -> None:
    script = to_pyomo_script(_model("flow"))
    assert "[(a, p) for a in Arcs for p in Periods if p >= 1]" in script
    assert "def range_on_arcs_rule(model_, a_1, a_2, p):" in script
    assert "    a = (a_1, a_2)" in script  # the pair the loop name stands for
    assert "pyo.inequality(0, model_.flow[(*a, p)], cap[(*a, p)])" in script
    assert "cost.get(a, 3)" in script  # a parameter with a default and gaps
    assert "Periods = list(range(1, horizon + 1))" in script
    assert "bounds=lambda model_, a1, a2, p: (None, cap[a1, a2, p])" in script


def test_names_never_collide_with_the_scripts_own() -> None:
    script = to_pyomo_script(_model("flow"))
    assert 'model_ = pyo.ConcreteModel(name="flow")' in script  # a variable is called model
    assert "model_.model_var = pyo.Var(domain=pyo.Reals)" in script
    assert "model_.model_constraint = pyo.Constraint(" in script
    mix = to_pyomo_script(_model("nonlinear_mix"))
    assert "print_ = 2.5" in mix  # a parameter called print
    assert "import pyomo.environ as pyo_" in mix  # a loop called pyo
    assert "for pyo in I" in mix
    assert "model.name_var = pyo_.Var(I" in mix  # `name` is an attribute of every Pyomo model
    assert "model.spread_constraint = pyo_.Constraint(I, rule=spread_constraint_rule)" in mix
    assert "model.ordered_part2 = pyo_.Constraint(" in mix
    ortools = to_ortools_script(_model("flow"))
    assert (
        "model = solver.NumVar(-infinity, infinity," in ortools
    )  # the user's variable keeps its name


def test_helpers_step_aside_for_user_symbols() -> None:
    cpsat = to_ortools_script(_model("collisions"))
    for expected in [
        "import math as math_",
        "from ortools.sat.python import cp_model as cp_model_",
        "model_ = cp_model_.CpModel()",
        "def label_(variable, key):",
        'model = {i: model_.new_int_var(0, infinity, label_("model", i)) for i in label}',
        'float_ = model_.new_int_var(0, 3, "float")',  # a builtin the script calls
        "NO_BOUND_ = 10**9",
        'var = model_.new_int_var(0, NO_BOUND, "var")',
        "TIME_LIMIT_ = 60  # seconds",
    ]:
        assert expected in cpsat, expected
    pyomo = to_pyomo_script(_model("collisions"))
    # model.model is a method of every Pyomo model; float is no problem as an attribute
    assert "model_.model_var = pyo_.Var(label, domain=pyo_.NonNegativeIntegers" in pyomo
    assert "model_.float = pyo_.Var(" in pyomo
    assert "def abs_of_rule(model_, relation):" in pyomo


def test_pyomo_abs_min_max_use_named_helpers() -> None:
    script = to_pyomo_script(_model("nonlinear_mix"))
    assert "from pyomo.core.expr.numeric_expr import UnaryFunctionExpression" in script
    assert "abs_of(model.name_var[pyo] - target[pyo])" in script
    assert "max_of([model.name_var[i], print_]) - min_of([model.name_var[i], 0])" in script
    assert "pyo_.exp(model.name_var[1] / 10)" in script
    assert "math.ceil(print_)" in script
    assert "max(target.values())" in script
    assert "name_var[i] >= (target[i] - 1 if i > 1 else 0)" in script
    assert "relation = sum(model.name_var[j] for j in I if j > 5) <= 1" in script
    assert 'return unless_trivial(relation, "nothing_here")' in script


def test_ortools_jobshop_uses_cp_sat_intervals() -> None:
    script = to_ortools_script(_example("jobshop"))
    for expected in [
        "from ortools.sat.python import cp_model",
        "model = cp_model.CpModel()",
        'task[t] = model.new_fixed_size_interval_var(start, duration[t], label("task", t))',
        "        model.add(task[j, s].start_expr() >= task[j, s - 1].end_expr())",
        "    model.add_no_overlap([task[j, s] for j, s in Tasks if machine[j, s] == m])",
        "model.minimize(makespan)",
        "solver.parameters.max_time_in_seconds = TIME_LIMIT",
    ]:
        assert expected in script, expected


def test_ortools_chains_and_solver_choice() -> None:
    cpsat = to_ortools_script(_model("chain_int"))
    assert "model.add(a <= b)" in cpsat and "model.add(b <= c)" in cpsat
    assert "model.add_linear_constraint(c, 2, 7)" in cpsat
    linear = to_ortools_script(_model("chain_int"), "scip")
    assert 'pywraplp.Solver.CreateSolver("SCIP")' in linear
    assert "solver.Add(2 <= c)" in linear and "solver.Add(c <= 7)" in linear
    assert "<= c <=" not in linear  # Python would keep only the last comparison


@pytest.mark.parametrize(
    ("source", "name", "solver"),
    [
        ("example", "wyndor", "clp"),
        ("example", "transport", "clp"),
        ("example", "knapsack", "cpsat"),
        ("example", "jobshop", "cpsat"),
        ("model", "int_frac", "scip"),
        ("model", "chain_int", "cpsat"),
    ],
)
def test_ortools_default_solvers(source: str, name: str, solver: str) -> None:
    formulation = _example(name) if source == "example" else _model(name)
    assert ortools_solver_for(check_formulation(formulation)) == solver


def test_ortools_refusals_name_the_way_out() -> None:
    with pytest.raises(IncompatibleBackendError, match=r"LPs only.*use scip or cbc"):
        to_ortools_script(_example("knapsack"), "glop")
    with pytest.raises(IncompatibleBackendError, match=r"integer variables.*continuous"):
        to_ortools_script(_example("transport"), "cpsat")
    with pytest.raises(IncompatibleBackendError, match=r"whole numbers.*'cap'"):
        to_ortools_script(_model("int_frac"), "cpsat")
    with pytest.raises(IncompatibleBackendError, match="use cpsat"):
        to_ortools_script(_example("jobshop"), "scip")
    with pytest.raises(ConfigurationError, match="choose one of"):
        to_ortools_script(_example("wyndor"), "gurobi")


def test_cp_model_with_fractional_data_is_refused() -> None:
    document = {
        "name": "fractional_cp",
        "sets": {"T": [1, 2]},
        "parameters": {"rate": {"index": ["T"], "value": [0.5, 1.5]}},
        "variables": {"x": {"index": ["T"], "domain": "integer", "lower": 0, "upper": 9}},
        "objective": {"maximize": "sum(x[t] for t in T)"},
        "constraints": {
            "different": "all_different(x[t] for t in T)",
            "cap": "sum(rate[t] * x[t] for t in T) <= 7",
        },
    }
    with pytest.raises(IncompatibleBackendError, match="smaller units"):
        to_ortools_script(parse_formulation(document))


def test_pyomo_refusals() -> None:
    with pytest.raises(IncompatibleBackendError, match="--to ortools"):
        to_pyomo_script(_example("jobshop"))
    with pytest.raises(IncompatibleBackendError, match="highs cannot solve this nonconvex QP"):
        to_pyomo_script(_example("max_product"), "highs")
    with pytest.raises(IncompatibleBackendError, match=r"\(not concave: .+\); use scip"):
        to_pyomo_script(_example("max_product"), "highs")
    with pytest.raises(ConfigurationError, match="choose one of: highs, scip_direct"):
        to_pyomo_script(_example("wyndor"), "glpk")


def test_invalid_formulations_are_not_exported() -> None:
    broken = parse_formulation({"variables": {"x": {}}, "objective": {"minimize": "x + y"}})
    with pytest.raises(FormulationError, match="unknown name 'y'"):
        to_pyomo_script(broken)
    with pytest.raises(FormulationError):
        to_ortools_script(broken)


def test_a_checked_formulation_is_accepted_as_is() -> None:
    checked = check_formulation(_example("wyndor"))
    assert to_pyomo_script(checked) == to_pyomo_script(_example("wyndor"))
    assert "TIME_LIMIT = 5  # seconds" in to_ortools_script(checked, time_limit=5)


@pytest.mark.skipif(importlib.util.find_spec("ruff") is None, reason="ruff is not installed")
def test_generated_scripts_have_no_undefined_or_unused_names(tmp_path: Path) -> None:
    count = 0
    for folder in (EXAMPLES, MODELS):
        for path in sorted(folder.glob("*.yaml")):
            formulation = load_formulation(path)
            for target, export in (("pyomo", to_pyomo_script), ("ortools", to_ortools_script)):
                try:
                    script = export(formulation)
                except IncompatibleBackendError:
                    continue
                (tmp_path / f"{target}_{path.stem}.py").write_text(script)
                count += 1
    assert count >= 20
    command = [sys.executable, "-m", "ruff", "check", "--isolated", "--no-cache"]
    lint = subprocess.run(
        [*command, "--select", "F,E9", "--output-format", "concise", str(tmp_path)],
        capture_output=True,
        text=True,
        check=False,
    )
    assert lint.returncode == 0, lint.stdout + lint.stderr
