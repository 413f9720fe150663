"""Whether and how a formulation can become an OR-Tools script: the solver it gets, or why not.

CP-SAT needs integers throughout: integer variables, whole-number durations, and constraints
whose every coefficient and bound is an int in Python (it rejects even `2.0 * x`). The static
kinds of `ExpressionPrinter.kind` decide that from the tree and the data, before any script
is written. Linear models that miss this go to pywraplp; nonlinear ones are refused.
"""

from __future__ import annotations

from optiagent.formulations import nodes as n
from optiagent.formulations.analysis import CheckedFormulation
from optiagent.formulations.export._script import ScriptContext
from optiagent.formulations.export.source import INT, ExpressionPrinter, kind_of_values
from optiagent.formulations.schema import Domain

__all__ = [
    "ORTOOLS_SOLVERS",
    "OrToolsPrinter",
    "ortools_obstacle",
    "ortools_solver_for",
]

ORTOOLS_SOLVERS = ("cpsat", "clp", "glop", "scip", "cbc")
"""Solvers an OR-Tools script may use: CP-SAT, or a `pywraplp.Solver.CreateSolver` name."""

_LP_ONLY = ("clp", "glop")


class OrToolsPrinter(ExpressionPrinter):
    """Variables are module-level dicts (or single variables); intervals are CP-SAT objects."""

    def __init__(self, ctx: ScriptContext, cpsat: bool) -> None:
        super().__init__(ctx.checked.data, ctx.checked.formulation.variables, ctx.names)
        self.ctx = ctx
        self.cpsat = cpsat

    def variable(self, name: str, index: str | None) -> str:
        """ship[p, m]"""
        base = self.ctx.symbol(name)
        return base if index is None else f"{base}[{index}]"

    def variable_collection(self, name: str) -> str:
        """The dict holding an indexed variable."""
        return self.ctx.symbol(name)

    def interval_start(self, name: str, index: str | None) -> str:
        """task[j, s].start_expr() in CP-SAT, the start variable otherwise."""
        base = self.variable(name, index)
        return f"{base}.start_expr()" if self.cpsat else base

    def interval_end(self, name: str, index: str | None, duration: str) -> str:
        """task[j, s].end_expr() in CP-SAT, start + duration otherwise."""
        base = self.variable(name, index)
        return f"{base}.end_expr()" if self.cpsat else f"{base} + {duration}"


def _nonlinear_reason(checked: CheckedFormulation) -> str | None:
    analysis = checked.analysis
    degrees = (analysis.objective_degree, analysis.constraint_degree)
    if analysis.nonlinear_functions or any(d is None or d > 1 for d in degrees):
        functions = ", ".join(sorted(analysis.nonlinear_functions))
        what = f"uses {functions}" if functions else "has products or powers of variables"
        where = (
            "; `optiagent run` solves it with the cpsat backend"
            if analysis.global_constraints
            else "; export it with --to pyomo instead"
        )
        return (
            f"an OR-Tools script handles linear models only, and this "
            f"{checked.problem_class.value} model {what}{where}"
        )
    return None


def _divides_variables(node: n.Expr, printer: ExpressionPrinter) -> bool:
    return any(
        isinstance(sub, n.BinOp) and sub.op == "/" and printer.has_variable(sub.left)
        for sub in n.walk(node)
    )


def _cpsat_reason(checked: CheckedFormulation, printer: ExpressionPrinter) -> str | None:
    """Why CP-SAT cannot take the model as written (it needs integers throughout), or None."""
    continuous = [v.name for v in checked.formulation.variables if not v.domain.is_integral]
    if continuous:
        names = ", ".join(f"'{name}'" for name in continuous[:5])
        return f"CP-SAT needs integer variables, and {names} are continuous"
    for variable in checked.formulation.variables:
        if variable.domain is Domain.INTERVAL and isinstance(variable.duration, (int, float)):
            if kind_of_values([variable.duration]) != INT:
                return f"CP-SAT needs whole-number durations ('{variable.name}')"
        elif variable.domain is Domain.INTERVAL and isinstance(variable.duration, str):
            table = checked.data.params[variable.duration]
            if kind_of_values([*table.values.values(), table.default or 0]) != INT:
                return f"CP-SAT needs whole-number durations ('{variable.duration}')"
    for parsed in checked.parsed.constraints:
        _, scope = printer.generators(parsed.forall, {})
        tree = parsed.expression
        if isinstance(tree, n.Compare):
            items: tuple[n.Expr, ...] = tree.operands
        elif isinstance(tree, n.Reduction):
            _, inner = printer.generators(tree.generators, scope)
            items, scope = (tree.body,), inner
        else:
            assert isinstance(tree, n.Call)
            items = tree.args
            if len(items) == 1 and isinstance(items[0], n.TupleExpr):
                items = items[0].items  # all_different((x, y, z))
        if _is_no_overlap(tree):
            continue
        if any(printer.kind(item, scope) != INT for item in items):
            return (
                f"CP-SAT needs whole numbers, and constraint '{parsed.definition.name}' has "
                "fractional coefficients or bounds (fractional data or '/'); use data in "
                "smaller units (e.g. minutes, cents) so that they are whole"
            )
    if checked.parsed.objective is not None and _divides_variables(
        checked.parsed.objective, printer
    ):
        return "CP-SAT cannot divide a variable expression ('/') in the objective"
    return None


def _is_no_overlap(tree: n.Expr) -> bool:
    # its items are intervals, not numbers
    return isinstance(tree, (n.Call, n.Reduction)) and tree.func == "no_overlap"


def ortools_obstacle(checked: CheckedFormulation, solver: str | None = None) -> str | None:
    """Why the model cannot be exported to OR-Tools (with `solver` if given), or None."""
    reason = _nonlinear_reason(checked)
    if reason:
        return reason
    uses_globals = bool(checked.analysis.global_constraints)
    integers = checked.analysis.integer_count > 0
    if solver is None:
        if uses_globals:
            return _cpsat_refusal(checked)
        return None
    if solver not in ORTOOLS_SOLVERS:
        return f"unknown OR-Tools solver {solver!r}; choose one of: {', '.join(ORTOOLS_SOLVERS)}"
    if solver == "cpsat":
        return _cpsat_refusal(checked)
    if uses_globals:
        return f"{solver} cannot express no_overlap / all_different; use cpsat"
    if solver in _LP_ONLY and integers:
        return f"{solver} solves LPs only, and this model has integer variables; use scip or cbc"
    return None


def _cpsat_refusal(checked: CheckedFormulation) -> str | None:
    ctx = ScriptContext.create(checked)
    reason = _cpsat_reason(checked, OrToolsPrinter(ctx, cpsat=True))
    return f"{reason}; `optiagent run` scales such data for CP-SAT" if reason else None


def ortools_solver_for(checked: CheckedFormulation) -> str:
    """The OR-Tools solver a script uses by default: cpsat, clp (LP) or scip (MILP)."""
    if checked.analysis.global_constraints:
        return "cpsat"
    if checked.analysis.integer_count == 0:
        return "clp"
    if checked.analysis.integer_count == checked.analysis.variable_count and (
        _cpsat_refusal(checked) is None
    ):
        return "cpsat"
    return "scip"
