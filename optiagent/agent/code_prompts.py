"""The prompts of the code route and of the single-shot baseline, in our own words.

The code route asks the model for one complete Python program (Pyomo with HiGHS or SCIP, or
OR-Tools CP-SAT) that prints its result in the sandbox's result protocol:

    status: optimal
    make[table] = 20
    answer: 20              # only when the question asks for something other than the objective
    objective: 2100         # last

The repair step reuses OptoPrime: `CODE_REPAIR_OBJECTIVE` is its instruction, and
`PROGRAM_DESCRIPTION` / `PROGRAM_RULES` describe the trainable program. The baseline
(`optiagent.evals.baseline`) has its own, plainer pair of messages: one prompt, one program.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence

from optiagent.solvers_backend.sandbox import ALLOWED_IMPORTS

__all__ = [
    "BASELINE_SYSTEM",
    "BASELINE_USER",
    "CODE_EXAMPLE",
    "CODE_REPAIR_OBJECTIVE",
    "CODE_SYSTEM",
    "CODE_USER",
    "FILES_SECTION",
    "NO_PROGRAM_REPLY",
    "PROGRAM_DESCRIPTION",
    "PROGRAM_RULES",
    "REPORT_LINES_SECTION",
    "allowed_imports_text",
    "baseline_digest",
    "baseline_messages",
    "code_digest",
    "code_messages",
    "code_repair_instruction",
    "program_rules",
]


def allowed_imports_text() -> str:
    """The modules generated code may import, as a comma-separated list for a prompt."""
    return ", ".join(sorted(name for name in ALLOWED_IMPORTS if not name.startswith("_")))


CODE_EXAMPLE = """\
import pyomo.environ as pyo

profit = {"table": 70, "chair": 30}
hours = {("carpentry", "table"): 4, ("carpentry", "chair"): 1,
         ("painting", "table"): 2, ("painting", "chair"): 1}
available = {"carpentry": 120, "painting": 70}
min_chairs = 10

m = pyo.ConcreteModel()
m.P = pyo.Set(initialize=list(profit))
m.S = pyo.Set(initialize=list(available))
m.make = pyo.Var(m.P, within=pyo.NonNegativeIntegers)
m.profit = pyo.Objective(expr=sum(profit[p] * m.make[p] for p in m.P), sense=pyo.maximize)
m.shop_hours = pyo.Constraint(
    m.S, rule=lambda m, s: sum(hours[s, p] * m.make[p] for p in m.P) <= available[s]
)
m.enough_chairs = pyo.Constraint(expr=m.make["chair"] >= min_chairs)

results = pyo.SolverFactory("highs").solve(m, load_solutions=False, timelimit=60)
if pyo.check_optimal_termination(results):
    m.solutions.load_from(results)
    print("status: optimal")
    for p in m.P:
        print(f"make[{p}] = {pyo.value(m.make[p])}")
    print(f"answer: {pyo.value(m.make['table'])}")
    print(f"objective: {pyo.value(m.profit)}")
else:
    print(f"status: {results.solver.termination_condition}")
"""
"""A complete program in the expected shape (tables and chairs: 25 tables, profit 2350)."""

CODE_SYSTEM = """\
You are an expert in operations research who writes Python. You turn an optimization problem
written in plain language into ONE complete Python program that builds the model, solves it
and prints the result in the exact form given under OUTPUT; software reads that output.

TOOLS
- Pyomo (import pyomo.environ as pyo) with a ConcreteModel, solved by
  pyo.SolverFactory('highs') for linear and mixed-integer linear models and for a convex
  quadratic objective over continuous variables, or by pyo.SolverFactory('scip_direct') for
  everything nonlinear: products of variables, quadratic constraints, exp/log/sqrt, nonconvex
  objectives, integer variables with a quadratic objective.
- OR-Tools CP-SAT (from ortools.sat.python import cp_model) suits scheduling, sequencing and
  logic models with integer data; set solver.parameters.max_time_in_seconds = {time_limit} and
  solver.parameters.num_workers = 1.
- No other solver exists here (no glpk, cbc, ipopt, gurobi or cplex).
- The program may import only these modules:
  {imports}.
  It runs in a sandbox: no network, no other programs, no files except those named in the
  problem, no input().

RULES
1. Write every number of the problem into the program as Python literals (dicts keyed by
   names, lists); do not work out totals by hand.
2. Model the problem faithfully: every stated requirement becomes a constraint; use integer
   variables for things counted in whole units (people, vehicles, items) unless fractions
   are allowed, binary variables for yes/no decisions; convert percentages to fractions.
3. Solve with results = pyo.SolverFactory(NAME).solve(m, load_solutions=False,
   timelimit={time_limit}). Only if pyo.check_optimal_termination(results) is true, call
   m.solutions.load_from(results) and print the solution; otherwise print
   status: <results.solver.termination_condition> and nothing else. Never read variable
   values after a solve that failed.
4. Keep solver logs off (no tee=True) and print nothing but the lines below.

OUTPUT (the last lines the program prints)
status: <optimal, feasible, infeasible, unbounded, infeasible_or_unbounded, time_limit or error>
<variable>[<index>] = <value>   one line per variable value (for a large model, the nonzero
                                ones); a scalar variable has no [<index>]
answer: <number>                only when the question asks for a quantity other than the
                                objective value (e.g. "how many tables?")
objective: <number>             the optimal objective value, printed last

EXAMPLE
Problem: A shop sells tables ($70 profit each) and chairs ($30 each). A table needs 4 hours of
carpentry and 2 of painting; a chair 1 and 1. There are 120 carpentry hours and 70 painting
hours per week, and at least 10 chairs must be made. How many tables should be made to
maximize profit?
Reply:
```python
{example}```

Reply with the complete program in one ```python block and nothing else."""
"""The write step's system message; {time_limit}, {imports} and {example} are filled in."""

CODE_USER = """\
Problem:
{problem}
{files}{report}
Write the complete program."""

FILES_SECTION = """
Data files in the program's working folder (open them by these names, e.g. with csv.DictReader
or pandas.read_csv; numbers in the problem text take precedence):
{description}
"""

REPORT_LINES_SECTION = """
Also report these quantities: for each one print a line report[<number>] = <value>, where
<number> is its position in this list:
{names}
"""

CODE_REPAIR_OBJECTIVE = """\
The trainable variable `program` is a complete Python program that models and solves the
optimization problem below; run_program runs it in a sandbox and verify_program checks what
it printed. The feedback says what went wrong: an error with the failing line, a refused
import, a timeout, the status the program reported, or doubts about its result. Return the
complete corrected program as the new value of `program` (the whole source, not a diff): fix
what the feedback names, keep what works, and keep the output lines (status:, the variable
lines, answer: when needed, objective: last). If the feedback reports an infeasible or
unbounded model, or asks you to confirm something, and the program is in fact a faithful
model of the problem as stated, return it unchanged.

THE PROBLEM
{problem}"""

PROGRAM_DESCRIPTION = (
    "a complete Python program that builds and solves the optimization model and prints "
    "status:, the variable values, answer: (when asked) and objective:"
)

PROGRAM_RULES = (
    "a complete, runnable Python program (never a diff or a fragment) that imports only "
    "{imports}; it solves with Pyomo (SolverFactory('highs') for linear/integer models, "
    "'scip_direct' for nonlinear ones, always load_solutions=False and a status check) or "
    "OR-Tools CP-SAT, and ends by printing 'status: <word>', one '<variable>[<index>] = "
    "<value>' line per value, 'answer: <number>' when the question asks for something other "
    "than the objective, and 'objective: <number>' last"
)

BASELINE_SYSTEM = """\
You are an operations research expert and a Python programmer. Write a complete Python
program that solves the optimization problem the user gives you, with Pyomo
(SolverFactory('highs') for linear and integer models, SolverFactory('scip_direct') for
nonlinear ones) or OR-Tools CP-SAT. Put all data in the program. Call solve with
load_solutions=False and check the termination condition before reading any value.
The program may import only: {imports}.
It must end by printing
status: <optimal, infeasible, unbounded, ...>
objective: <the optimal objective value>
and, if the question asks for a quantity other than the objective value,
answer: <that number>
Reply with the program only, in one ```python block."""
"""The baseline's system message ({imports} is filled in)."""

BASELINE_USER = """\
{problem}
{files}{report}"""

NO_PROGRAM_REPLY = """\
Your reply holds no Python program. Reply with the complete program in one ```python block
and nothing else."""
"""Sent back when a write-step reply holds no program (prose only, or empty)."""


def _report_section(report: Sequence[str]) -> str:
    if not report:
        return ""
    names = "\n".join(f"{number}. {name}" for number, name in enumerate(report, start=1))
    return REPORT_LINES_SECTION.format(names=names)


def _files_section(files_description: str) -> str:
    return FILES_SECTION.format(description=files_description) if files_description else ""


def code_messages(
    problem: str,
    *,
    files_description: str = "",
    report: Sequence[str] = (),
    time_limit: float = 60.0,
) -> list[dict[str, str]]:
    """The system and user messages of the code route's write step."""
    system = CODE_SYSTEM.format(
        time_limit=f"{time_limit:g}", imports=allowed_imports_text(), example=CODE_EXAMPLE
    )
    user = CODE_USER.format(
        problem=problem.strip(),
        files=_files_section(files_description),
        report=_report_section(report),
    )
    return [{"role": "system", "content": system}, {"role": "user", "content": user}]


def code_repair_instruction(problem: str) -> str:
    """The instruction of the code route's repair step, with the problem statement in it."""
    return CODE_REPAIR_OBJECTIVE.format(problem=problem.strip())


def program_rules() -> str:
    """The rules a repaired program must follow (the trainable parameter's constraint)."""
    return PROGRAM_RULES.format(imports=allowed_imports_text())


def baseline_messages(
    problem: str, *, files_description: str = "", report: Sequence[str] = ()
) -> list[dict[str, str]]:
    """The baseline's only request: its system message and the problem."""
    user = BASELINE_USER.format(
        problem=problem.strip(),
        files=_files_section(files_description),
        report=_report_section(report),
    ).rstrip()
    return [
        {"role": "system", "content": BASELINE_SYSTEM.format(imports=allowed_imports_text())},
        {"role": "user", "content": user},
    ]


def _digest(*texts: str) -> str:
    return hashlib.sha256(json.dumps(texts).encode()).hexdigest()[:12]


def code_digest() -> str:
    """A short hash of the code route's prompts, recorded in evaluation configs."""
    return _digest(
        CODE_SYSTEM,
        CODE_USER,
        CODE_EXAMPLE,
        FILES_SECTION,
        REPORT_LINES_SECTION,
        CODE_REPAIR_OBJECTIVE,
        NO_PROGRAM_REPLY,
        PROGRAM_DESCRIPTION,
        PROGRAM_RULES,
        allowed_imports_text(),
    )


def baseline_digest() -> str:
    """A short hash of the baseline's prompts, recorded in evaluation configs."""
    return _digest(
        BASELINE_SYSTEM, BASELINE_USER, FILES_SECTION, REPORT_LINES_SECTION, allowed_imports_text()
    )
