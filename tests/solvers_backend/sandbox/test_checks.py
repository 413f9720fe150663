"""The static check: what it refuses, and that its messages say what to use instead."""

from __future__ import annotations

import pytest

from optiagent.solvers_backend.sandbox import ALLOWED_IMPORTS, check_code, detect_family

GOOD = """\
import math
import itertools
from collections import defaultdict
import numpy as np
import pyomo.environ as pyo
from pyomo.environ import SolverFactory

def build():
    m = pyo.ConcreteModel()
    m.x = pyo.Var(bounds=(0, 4))
    m.o = pyo.Objective(expr=m.x, sense=pyo.maximize)
    return m

if __name__ == "__main__":
    m = build()
    res = SolverFactory('highs').solve(m, load_solutions=False)
    print(f"status: {res.solver.termination_condition}")
"""


def test_typical_generated_code_passes() -> None:
    assert check_code(GOOD) == []


def test_ortools_code_passes() -> None:
    code = (
        "from ortools.sat.python import cp_model\n"
        "from ortools.linear_solver import pywraplp\n"
        "s = pywraplp.Solver.CreateSolver('SCIP')\n"
        "g = pywraplp.Solver.CreateSolver('GLOP')\n"
    )
    assert check_code(code) == []


def test_syntax_error_names_the_line() -> None:
    (issue,) = check_code("x = 1\nif x > 0\n    print(x)\n")
    assert issue.kind == "syntax"
    assert issue.line == 2
    assert issue.source == "if x > 0"
    assert "syntax error" in str(issue)


@pytest.mark.parametrize(
    ("code", "module"),
    [
        ("import subprocess", "subprocess"),
        ("import os", "os"),
        ("import ctypes", "ctypes"),
        ("from socket import socket", "socket"),
        ("import urllib.request", "urllib.request"),
        ("import importlib", "importlib"),
        ("import shutil", "shutil"),
        ("import multiprocessing as mp", "multiprocessing"),
    ],
)
def test_disallowed_imports(code: str, module: str) -> None:
    (issue,) = check_code(code)
    assert issue.kind == "import"
    assert issue.line == 1
    assert f"import {module} is not allowed" in issue.message
    assert "pyomo, ortools, highspy, pyscipopt" in issue.message


def test_import_advice_says_what_to_do() -> None:
    (issue,) = check_code("import subprocess")
    assert "SolverFactory('highs')" in issue.message
    (issue,) = check_code("import gurobipy as gp")
    assert "SolverFactory('highs')" in issue.message
    (issue,) = check_code("import requests")
    assert "network" in issue.message


def test_relative_import_is_refused() -> None:
    (issue,) = check_code("from . import helpers")
    assert issue.kind == "import"


@pytest.mark.parametrize("name", ["eval", "exec", "compile", "__import__", "input", "breakpoint"])
def test_banned_builtins(name: str) -> None:
    issues = check_code(f"x = {name}('1')")
    assert any(issue.kind == "builtin" and f"{name}()" in issue.message for issue in issues)


@pytest.mark.parametrize(
    "code",
    [
        "x = ().__class__.__bases__[0].__subclasses__()",
        "f = print.__globals__",
        "b = __builtins__",
        "g = getattr(print, '__globals__')",
        "def f(): pass\nf.__code__ = None",
    ],
)
def test_interpreter_internals_are_refused(code: str) -> None:
    assert any(issue.kind == "attribute" for issue in check_code(code))


def test_ordinary_dunders_are_fine() -> None:
    code = (
        "class A:\n    def __init__(self):\n        self.n = type(self).__name__\n"
        "if __name__ == '__main__':\n    A()\n"
    )
    assert check_code(code) == []


@pytest.mark.parametrize(
    "solver", ["gurobi", "cplex", "glpk", "cbc", "xpress", "gurobi_persistent"]
)
def test_unavailable_linear_solvers_name_the_replacement(solver: str) -> None:
    (issue,) = check_code(f"import pyomo.environ as pyo\nopt = pyo.SolverFactory('{solver}')")
    assert issue.kind == "solver"
    assert issue.line == 2
    assert f"SolverFactory('{solver}') is not available here" in issue.message
    assert "SolverFactory('highs') for LP/MILP/convex QP" in issue.message
    assert "SolverFactory('scip_direct') for nonlinear/nonconvex models" in issue.message


def test_nonlinear_solvers_point_to_scip() -> None:
    (issue,) = check_code("from pyomo.environ import SolverFactory\nSolverFactory('ipopt')")
    assert "scip_direct" in issue.message
    assert "highs" not in issue.message


@pytest.mark.parametrize("solver", ["highs", "appsi_highs", "scip_direct", "HiGHS", "mindtpy"])
def test_available_pyomo_solvers_pass(solver: str) -> None:
    assert check_code(f"from pyomo.environ import SolverFactory\nSolverFactory('{solver}')") == []


def test_solver_given_as_variable_is_not_judged() -> None:
    assert (
        check_code("from pyomo.environ import SolverFactory\nname='x'\nSolverFactory(name)") == []
    )


def test_ortools_solver_ids() -> None:
    (issue,) = check_code(
        "from ortools.linear_solver import pywraplp\ns = pywraplp.Solver.CreateSolver('GUROBI')"
    )
    assert issue.kind == "solver"
    assert "'SCIP'" in issue.message and "cp_model" in issue.message


def test_every_issue_is_reported() -> None:
    code = "import os\nimport subprocess\nx = eval('1')\nfrom pyomo.environ import SolverFactory\nSolverFactory('cplex')\n"
    kinds = [issue.kind for issue in check_code(code)]
    assert kinds == ["import", "import", "builtin", "solver"]


def test_allow_list_contents() -> None:
    for name in ("pyomo", "ortools", "highspy", "pyscipopt", "math", "itertools", "numpy"):
        assert name in ALLOWED_IMPORTS
    for name in ("os", "subprocess", "ctypes", "socket", "shutil", "importlib"):
        assert name not in ALLOWED_IMPORTS


@pytest.mark.parametrize(
    ("code", "family"),
    [
        ("from ortools.sat.python import cp_model", "ortools"),
        ("import ortools.linear_solver.pywraplp as p", "ortools"),
        ("def f():\n    from ortools.sat.python import cp_model", "ortools"),
        ("import pyomo.environ as pyo", "pyomo"),
        ("import highspy", "pyomo"),
        ("print(1)", "pyomo"),
        ("def f(:", "pyomo"),
    ],
)
def test_detect_family(code: str, family: str) -> None:
    assert detect_family(code) == family
