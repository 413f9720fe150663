"""The static check of generated code, run before it reaches a worker.

`check_code` parses the code with `ast` and reports, each with the line and what to do:
syntax errors; imports outside `ALLOWED_IMPORTS`; the builtins that evaluate or load code
(`eval`, `exec`, `compile`, `__import__`, ...) or wait for input; dunder attributes such as
`__subclasses__` or `__globals__` (the usual tools for escaping a Python-level sandbox);
and solvers this machine cannot run from inside the sandbox (`SolverFactory('gurobi')`,
`pywraplp.Solver.CreateSolver('CPLEX')`, ...).

This is the first of several layers and the one that gives the clearest feedback; it is not
the security boundary by itself (a determined program can build names at run time). The
worker's audit hook and the kernel's Landlock and seccomp filters enforce the same policy.
"""

from __future__ import annotations

import ast
import re
from dataclasses import dataclass
from typing import Literal

__all__ = [
    "ALLOWED_IMPORTS",
    "AVAILABLE_PYOMO_SOLVERS",
    "CodeIssue",
    "IssueKind",
    "check_code",
    "detect_family",
]

IssueKind = Literal["syntax", "import", "builtin", "attribute", "solver"]

ALLOWED_IMPORTS: frozenset[str] = frozenset(
    {
        # modelling and solvers
        "pyomo", "ortools", "highspy", "pyscipopt", "numpy", "scipy", "pandas", "networkx",
        # standard library: maths, data structures, text, time
        "math", "cmath", "itertools", "functools", "operator", "collections", "heapq",
        "bisect", "array", "copy", "dataclasses", "enum", "typing", "typing_extensions",
        "numbers", "decimal", "fractions", "statistics", "random", "string", "re", "textwrap",
        "json", "csv", "io", "time", "datetime", "calendar", "pprint", "abc", "contextlib",
        "warnings", "logging", "sys", "__future__",
    }
)  # fmt: skip
"""Top-level modules generated code may import."""

_PREFERRED = (
    "pyomo, ortools, highspy, pyscipopt, numpy, scipy, pandas, math, itertools, collections, ..."
)

# What to say instead, for the imports generated code reaches for most often.
_IMPORT_ADVICE = {
    "os": "it must not touch the environment or files outside its folder; put data in the code",
    "pathlib": "put the data in the code (files next to it are passed in by the caller)",
    "shutil": "generated code must not copy or delete files",
    "subprocess": "solve the model in Python with SolverFactory('highs') or "
    "SolverFactory('scip_direct') instead of starting programs",
    "multiprocessing": "generated code runs in a single process",
    "concurrent": "generated code runs in a single process; let the solver use its own threads",
    "threading": "generated code runs in a single thread; let the solver use its own threads",
    "socket": "generated code must not use the network; put the data in the code",
    "urllib": "generated code must not use the network; put the data in the code",
    "http": "generated code must not use the network; put the data in the code",
    "requests": "generated code must not use the network; put the data in the code",
    "ctypes": "generated code must not load native libraries",
    "cffi": "generated code must not load native libraries",
    "importlib": "import modules with a plain import statement",
    "builtins": "use the builtins directly",
    "pickle": "print the results instead of serialising them",
    "gurobipy": "use pyomo with SolverFactory('highs') (LP/MILP) or SolverFactory('scip_direct')",
    "docplex": "use pyomo with SolverFactory('highs') (LP/MILP) or SolverFactory('scip_direct')",
    "cplex": "use pyomo with SolverFactory('highs') (LP/MILP) or SolverFactory('scip_direct')",
    "pulp": "use pyomo with SolverFactory('highs') for LP/MILP",
    "mip": "use pyomo with SolverFactory('highs') for LP/MILP",
    "cvxpy": "use pyomo with SolverFactory('highs') (LP, convex QP) or 'scip_direct'",
    "gekko": "use pyomo with SolverFactory('scip_direct') for nonlinear models",
    "casadi": "use pyomo with SolverFactory('scip_direct') for nonlinear models",
}

AVAILABLE_PYOMO_SOLVERS: frozenset[str] = frozenset(
    {"highs", "appsi_highs", "scip_direct", "scip_persistent", "mindtpy", "gdpopt"}
)
"""Pyomo solver names that run inside the sandbox (no external executable needed)."""

_LINEAR = "SolverFactory('highs') for LP/MILP/convex QP"
_NONLINEAR = "SolverFactory('scip_direct') for nonlinear/nonconvex models"
_EXTERNAL = {"glpk", "cbc", "ipopt", "scip", "couenne", "bonmin", "baron", "knitro", "cplex",
             "gurobi", "xpress", "mosek", "copt", "gams", "cyipopt", "ipopt_v2"}  # fmt: skip

# pywraplp.Solver.CreateSolver ids that the OR-Tools wheel ships.
_ORTOOLS_LINEAR = {"GLOP", "PDLP", "CBC", "CLP", "SCIP", "CP-SAT", "SAT", "BOP", "HIGHS",
                   "HIGHS_LP", "HIGHS_MIP", "CBC_MIXED_INTEGER_PROGRAMMING",
                   "GLOP_LINEAR_PROGRAMMING", "SCIP_MIXED_INTEGER_PROGRAMMING",
                   "CLP_LINEAR_PROGRAMMING", "BOP_INTEGER_PROGRAMMING", "SAT_INTEGER_PROGRAMMING",
                   "PDLP_LINEAR_PROGRAMMING"}  # fmt: skip

_BANNED_CALLS = {
    "eval": "evaluate expressions directly in the code",
    "exec": "write the statements directly in the code",
    "compile": "write the statements directly in the code",
    "__import__": "use a plain import statement",
    "breakpoint": "remove the debugger call",
    "input": "there is no user at the keyboard: put the data in the code",
    "help": "remove the call",
}
_ALLOWED_DUNDERS = {"__init__", "__name__", "__doc__", "__main__", "__future__", "__file__"}
_DUNDER = re.compile(r"^__\w+__$")


@dataclass(frozen=True)
class CodeIssue:
    """One finding of the static check: where, what, and what to use instead."""

    kind: IssueKind
    message: str
    line: int | None = None
    source: str | None = None  # the text of that line

    def __str__(self) -> str:
        where = f"line {self.line}: `{self.source}`: " if self.line and self.source else ""
        if self.line and not self.source:
            where = f"line {self.line}: "
        return where + self.message


def check_code(code: str, *, allowed_imports: frozenset[str] = ALLOWED_IMPORTS) -> list[CodeIssue]:
    """Return every static problem of `code` (an empty list when it may run)."""
    lines = code.splitlines()
    try:
        tree = ast.parse(code, filename="<generated>", mode="exec")
    except SyntaxError as error:
        line = error.lineno
        source = lines[line - 1].strip() if line and 0 < line <= len(lines) else None
        return [CodeIssue("syntax", f"syntax error: {error.msg}", line, source)]
    return _Checker(lines, allowed_imports).run(tree)


def detect_family(code: str) -> str:
    """Return 'ortools' when the code imports OR-Tools, else 'pyomo' (HiGHS, SCIP, Pyomo)."""
    try:
        tree = ast.parse(code)
    except SyntaxError:
        return "pyomo"
    for node in ast.walk(tree):
        if isinstance(node, ast.Import) and any(
            alias.name.split(".")[0] == "ortools" for alias in node.names
        ):
            return "ortools"
        if isinstance(node, ast.ImportFrom) and (node.module or "").split(".")[0] == "ortools":
            return "ortools"
    return "pyomo"


class _Checker(ast.NodeVisitor):
    def __init__(self, lines: list[str], allowed_imports: frozenset[str]) -> None:
        self.lines = lines
        self.allowed = allowed_imports
        self.issues: list[CodeIssue] = []

    def run(self, tree: ast.AST) -> list[CodeIssue]:
        self.visit(tree)
        return self.issues

    def _add(self, kind: IssueKind, node: ast.AST, message: str) -> None:
        line = getattr(node, "lineno", None)
        source = self.lines[line - 1].strip() if line and 0 < line <= len(self.lines) else None
        self.issues.append(CodeIssue(kind, message, line, source))

    def _check_module(self, node: ast.AST, module: str) -> None:
        top = module.split(".")[0]
        if top in self.allowed:
            return
        advice = _IMPORT_ADVICE.get(top)
        message = (
            f"import {module} is not allowed: generated code may import only {_PREFERRED} "
            f"(the full list is optiagent.solvers_backend.sandbox.ALLOWED_IMPORTS)"
        )
        if advice:
            message += f"; {advice}"
        self._add("import", node, message)

    def visit_Import(self, node: ast.Import) -> None:
        for alias in node.names:
            self._check_module(node, alias.name)

    def visit_ImportFrom(self, node: ast.ImportFrom) -> None:
        if node.level:
            self._add("import", node, "relative imports are not allowed: the code is one file")
        elif node.module:
            self._check_module(node, node.module)

    def visit_Name(self, node: ast.Name) -> None:
        if _DUNDER.match(node.id) and node.id not in _ALLOWED_DUNDERS:
            self._add("attribute", node, f"the name {node.id} is not allowed in generated code")
        self.generic_visit(node)

    def visit_Attribute(self, node: ast.Attribute) -> None:
        if _DUNDER.match(node.attr) and node.attr not in _ALLOWED_DUNDERS:
            self._add(
                "attribute",
                node,
                f"the attribute .{node.attr} is not allowed in generated code "
                "(interpreter internals); use the object's normal API",
            )
        self.generic_visit(node)

    def visit_Constant(self, node: ast.Constant) -> None:
        value = node.value
        if isinstance(value, str) and _DUNDER.match(value) and value not in _ALLOWED_DUNDERS:
            self._add("attribute", node, f"the string {value!r} names an interpreter internal")

    def visit_Call(self, node: ast.Call) -> None:
        func = node.func
        name = func.id if isinstance(func, ast.Name) else None
        if name in _BANNED_CALLS:
            self._add("builtin", node, f"{name}() is not allowed: {_BANNED_CALLS[name]}")
        attr = func.attr if isinstance(func, ast.Attribute) else name
        if attr == "SolverFactory" or (attr and attr.endswith("SolverFactory")):
            self._check_pyomo_solver(node)
        elif attr in ("CreateSolver",):
            self._check_ortools_solver(node)
        self.generic_visit(node)

    def _literal_argument(self, node: ast.Call) -> str | None:
        if node.args and isinstance(node.args[0], ast.Constant):
            value = node.args[0].value
            return value if isinstance(value, str) else None
        for keyword in node.keywords:
            if keyword.arg in ("name", "solver", "solver_id") and isinstance(
                keyword.value, ast.Constant
            ):
                return keyword.value.value if isinstance(keyword.value.value, str) else None
        return None

    def _check_pyomo_solver(self, node: ast.Call) -> None:
        name = self._literal_argument(node)
        if name is None or name.lower() in AVAILABLE_PYOMO_SOLVERS:
            return
        lowered = name.lower()
        reason = "is not available here"
        if lowered in _EXTERNAL or lowered.split("_")[0] in _EXTERNAL:
            reason = (
                "is not available here (no licence or executable, and the sandbox cannot "
                "start external solver programs)"
            )
        if lowered.startswith(("ipopt", "cyipopt", "bonmin", "couenne", "knitro", "baron")):
            advice = f"use {_NONLINEAR}"
        else:
            advice = f"use {_LINEAR} or {_NONLINEAR}"
        self._add("solver", node, f"SolverFactory({name!r}) {reason}: {advice}")

    def _check_ortools_solver(self, node: ast.Call) -> None:
        name = self._literal_argument(node)
        if name is None or name.upper() in _ORTOOLS_LINEAR:
            return
        self._add(
            "solver",
            node,
            f"pywraplp.Solver.CreateSolver({name!r}) is not available in this OR-Tools build "
            "(it would return None): use 'SCIP' or 'CBC' for MILP, 'GLOP' for LP, or the "
            "CP-SAT solver (ortools.sat.python.cp_model) for integer and scheduling models",
        )
