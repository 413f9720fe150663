"""Write a formulation as a standalone, readable OR-Tools script.

CP-SAT (`cp_model`, snake_case API) takes scheduling and other CP models (intervals,
no_overlap, all_different) and pure-integer linear models whose constraints stay in whole
numbers; every other linear model goes to the `pywraplp` wrapper: CLP for LPs and SCIP for
models with integer variables. Quadratic and nonlinear models are refused (a Pyomo script
can hold them). Variables are dicts keyed like the parameters, so `ship[p, m]` reads the same
as in the formulation.

Measured traps the writer avoids: CP-SAT rejects any float in a constraint (even `2.0 * x`
or `x <= 5.0`); pywraplp evaluates `lo <= e <= hi` as Python's `and` and keeps only the
last comparison; GLOP reports an unbounded LP as INFEASIBLE (CLP and SCIP say UNBOUNDED).
"""

from __future__ import annotations

from typing import Any

from optiagent.exceptions import ConfigurationError, IncompatibleBackendError
from optiagent.formulations import nodes as n
from optiagent.formulations.analysis import CheckedFormulation
from optiagent.formulations.export._ortools_checks import (
    ORTOOLS_SOLVERS,
    OrToolsPrinter,
    ortools_obstacle,
    ortools_solver_for,
)
from optiagent.formulations.export._script import (
    ScriptContext,
    as_checked,
    comment,
    data_lines,
    header_lines,
    index_base,
    label_helper,
    local_names,
    split_long,
    variable_comment,
)
from optiagent.formulations.export.source import (
    INT,
    KeyText,
    Loop,
    py_literal,
    py_number,
)
from optiagent.formulations.schema import Domain, Formulation, Sense, VariableDef

__all__ = ["ORTOOLS_SOLVERS", "ortools_obstacle", "ortools_solver_for", "to_ortools_script"]


class _OrToolsWriter:
    def __init__(self, checked: CheckedFormulation, solver: str, time_limit: float) -> None:
        self.checked = checked
        self.solver = solver
        self.cpsat = solver == "cpsat"
        self.time_limit = time_limit
        self.ctx = ScriptContext.create(checked)
        for helper in ("cp_model", "pywraplp", "model", "solver", "math", "label", "infinity"):
            self.ctx.helper(helper)
        self.ctx.names.math = self.ctx.helper("math")
        self.printer = OrToolsPrinter(self.ctx, self.cpsat)
        self.uses_no_bound = False

    @property
    def builder(self) -> str:
        """The object constraints are added to: the CpModel, or the pywraplp solver."""
        return self.ctx.helper("model" if self.cpsat else "solver")

    # sections ---------------------------------------------------------------------------------
    def write(self) -> str:
        helper = self.ctx.helper
        body = ["", "", *label_helper(helper("label")), ""]
        if self.cpsat:
            body += ["", f"{helper('model')} = {helper('cp_model')}.CpModel()"]
        else:
            body += [
                "",
                f"{helper('solver')} = {helper('pywraplp')}.Solver.CreateSolver("
                f"{py_literal(self.solver.upper())})",
                f"{helper('infinity')} = {helper('solver')}.infinity()",
            ]
        body += self.variables()
        body += self.objective()
        body += self.constraints()
        solve = self.solve_and_report()
        lines = header_lines(self.checked, "--to ortools", self._solver_title())
        lines.append("")
        if self.printer.uses_math:
            alias = self.ctx.names.math
            lines.append("import math" + ("" if alias == "math" else f" as {alias}"))
        lines.append(self._import_line())
        lines += data_lines(self.ctx)
        if self.uses_no_bound:
            lines += [
                "",
                "# CP-SAT needs finite domains: an integer declared without a bound gets this one",
                f"{helper('NO_BOUND')} = 10**9",
            ]
        return "\n".join(lines + body + solve) + "\n"

    def _solver_title(self) -> str:
        return "CP-SAT" if self.cpsat else f"{self.solver.upper()} via pywraplp"

    def _import_line(self) -> str:
        if self.cpsat:
            module, name = "ortools.sat.python", "cp_model"
        else:
            module, name = "ortools.linear_solver", "pywraplp"
        alias = self.ctx.helper(name)
        return f"from {module} import {name}" + ("" if alias == name else f" as {alias}")

    def variables(self) -> list[str]:
        lines = ["", "# ---- Variables"]
        for variable in self.checked.formulation.variables:
            lines += self.variable(variable)
        return lines

    def variable(self, variable: VariableDef) -> list[str]:
        lines = variable_comment(
            variable,
            "[an interval of fixed duration]"
            if self.cpsat
            else "[the start time of a task of fixed duration]",
        )
        name = self.ctx.symbol(variable.name)
        label = self.ctx.helper("label")
        if not variable.index:
            creation = self.creation(variable, KeyText("", "None"), py_literal(variable.name))
            if variable.domain is Domain.INTERVAL and self.cpsat:
                return [*lines, *self.interval_lines(variable, name, None, creation)]
            return [*lines, f"{name} = {creation}"]
        clauses, key = self.key_clauses(variable.index)
        label_text = f"{label}({py_literal(variable.name)}, {key.value})"
        creation = self.creation(variable, key, label_text)
        if variable.domain is Domain.INTERVAL and self.cpsat:
            return [*lines, *self.interval_lines(variable, name, (clauses, key), creation)]
        loops = "".join(f" for {clause}" for clause in clauses)
        one_line = f"{name} = {{{key.value}: {creation}{loops}}}"
        if len(one_line) <= 96:
            return [*lines, one_line]
        return [*lines, f"{name} = {{", f"    {key.value}: {creation}", f"   {loops}", "}"]

    def key_clauses(self, index: list[str]) -> tuple[list[str], KeyText]:
        """['p in Plants', 'm in Markets'] and the key `(p, m)` for a variable's index."""
        data = self.checked.data
        names = local_names(self.ctx, [index_base(s) for s in index])
        clauses = [f"{v} in {self.ctx.symbol(s)}" for v, s in zip(names, index, strict=True)]
        if len(index) == 1:
            return clauses, KeyText(names[0], names[0])
        parts = [
            f"*{v}" if data.sets[s].dimension > 1 else v for v, s in zip(names, index, strict=True)
        ]
        inside = ", ".join(parts)
        starred = any(p.startswith("*") for p in parts)
        return clauses, KeyText(f"({inside})" if starred else inside, f"({inside})")

    def creation(self, variable: VariableDef, key: KeyText, label: str) -> str:
        """The call creating one variable (the start variable for an interval)."""
        lower, upper = self.bound(variable, "lower", key), self.bound(variable, "upper", key)
        builder = self.ctx.helper("model" if self.cpsat else "solver")
        if variable.domain is Domain.BINARY and variable.lower is None and variable.upper is None:
            return (
                f"{builder}.new_bool_var({label})" if self.cpsat else f"{builder}.BoolVar({label})"
            )
        if self.cpsat:
            return f"{builder}.new_int_var({lower}, {upper}, {label})"
        kind = "IntVar" if variable.domain.is_integral else "NumVar"
        return f"{builder}.{kind}({lower}, {upper}, {label})"

    def bound(self, variable: VariableDef, which: str, key: KeyText) -> str:
        spec: Any = getattr(variable, which)
        domain = variable.domain
        if (
            spec is None
            and which == "lower"
            and domain
            in (
                Domain.NONNEGATIVE_REAL,
                Domain.NONNEGATIVE_INTEGER,
                Domain.BINARY,
                Domain.INTERVAL,
            )
        ):
            spec = 0
        if spec is None and domain is Domain.BINARY:
            spec = 1
        missing = self.missing_bound(which)
        if spec is None:
            return missing
        if isinstance(spec, (int, float)):
            if self.cpsat:
                return py_number(int(spec // 1) if which == "upper" else -int(-spec // 1))
            return py_number(spec)
        table = self.checked.data.params[spec]
        if not table.index:
            text = self.ctx.symbol(spec)
        elif table.default is None and not self.printer._complete(table):
            text = f"{self.ctx.symbol(spec)}.get({key.value}, {missing})"
        else:
            text = self.printer.param_entry(spec, key)
        if self.cpsat and self.printer._param_kind(table) != INT:
            self.printer.uses_math = True
            rounding = "floor" if which == "upper" else "ceil"
            text = f"{self.ctx.names.math}.{rounding}({text})"
        return text

    def missing_bound(self, which: str) -> str:
        if self.cpsat:
            self.uses_no_bound = True
            name = self.ctx.helper("NO_BOUND")
            return name if which == "upper" else f"-{name}"
        infinity = self.ctx.helper("infinity")
        return infinity if which == "upper" else f"-{infinity}"

    def interval_lines(
        self,
        variable: VariableDef,
        name: str,
        clauses_key: tuple[list[str], KeyText] | None,
        start_creation: str,
    ) -> list[str]:
        """An interval of fixed duration per key, each on its own start variable."""
        model = self.ctx.helper("model")
        label = self.ctx.helper("label")
        if clauses_key is None:
            duration = self.printer.duration_text(variable, None)
            return [
                f"{name} = {model}.new_fixed_size_interval_var(",
                f"    {start_creation}, {duration}, {py_literal(variable.name)}",
                ")",
            ]
        clauses, key = clauses_key
        start = local_names(self.ctx, ["start"])[0]
        duration = self.printer.duration_text(variable, key)
        lines = [f"{name} = {{}}"]
        lines += [("    " * depth) + f"for {clause}:" for depth, clause in enumerate(clauses)]
        pad = "    " * len(clauses)
        arguments = f"{start}, {duration}, {label}({py_literal(variable.name)}, {key.value})"
        call = f"{name}[{key.inside}] = {model}.new_fixed_size_interval_var("
        lines.append(f"{pad}{start} = {start_creation}")
        if len(pad + call + arguments) < 96:
            lines.append(f"{pad}{call}{arguments})")
        else:
            lines += [f"{pad}{call}", f"{pad}    {arguments}", f"{pad})"]
        return lines

    def objective(self) -> list[str]:
        objective = self.checked.formulation.objective
        parsed = self.checked.parsed.objective
        if objective is None or parsed is None:
            return ["", "# ---- Objective: none (a feasibility problem: any solution will do)"]
        heading = "---- Objective"
        if objective.description:
            heading += f": {objective.description.strip()}"
        maximize = objective.sense is Sense.MAXIMIZE
        if self.cpsat:
            method = "maximize" if maximize else "minimize"
        else:
            method = "Maximize" if maximize else "Minimize"
        expression = self.printer.text(parsed, {})
        return [
            "",
            *comment(heading),
            *split_long(f"{self.builder}.{method}(", expression, ")", ""),
        ]

    def constraints(self) -> list[str]:
        if not self.checked.parsed.constraints:
            return []
        lines = ["", "# ---- Constraints"]
        for parsed in self.checked.parsed.constraints:
            definition = parsed.definition
            heading = definition.name
            if definition.forall:
                heading += f" (for each {definition.forall.strip()})"
            if definition.description:
                heading += f": {definition.description.strip()}"
            lines += ["", *comment(heading)]
            clauses, scope = self.printer.generators(parsed.forall, {})
            depth = 0
            for targets, iterable, conditions in clauses:
                lines.append("    " * depth + f"for {targets} in {iterable}:")
                depth += 1
                if conditions:
                    lines.append("    " * depth + f"if {' and '.join(conditions)}:")
                    depth += 1
            for statement in self.statements(parsed.expression, scope):
                lines += split_long(statement[0], statement[1], statement[2], "    " * depth)
        return lines

    def statements(self, tree: n.Expr, scope: dict[str, Loop]) -> list[tuple[str, str, str]]:
        """(prefix, expression, suffix) of each call adding the constraint."""
        printer = self.printer
        builder = self.builder
        add = f"{builder}.add(" if self.cpsat else f"{builder}.Add("
        if isinstance(tree, (n.Call, n.Reduction)):
            method = "add_no_overlap" if tree.func == "no_overlap" else "add_all_different"
            if isinstance(tree, n.Reduction):
                loops, inner = printer.comprehension(tree.generators, scope)
                items = f"[{printer.text(tree.body, inner)}{loops}]"
            else:
                args = tree.args
                if len(args) == 1 and isinstance(args[0], n.TupleExpr):
                    args = args[0].items
                items = "[" + ", ".join(printer.text(a, scope) for a in args) + "]"
            return [(f"{builder}.{method}(", items, ")")]
        assert isinstance(tree, n.Compare)
        texts = [printer.operand_text(operand, scope) for operand in tree.operands]
        if len(tree.ops) == 1:
            return [(add, f"{texts[0]} {tree.ops[0]} {texts[1]}", ")")]
        ends_are_data = not printer.has_variable(tree.operands[0]) and not printer.has_variable(
            tree.operands[2]
        )
        if ends_are_data and self.cpsat:
            low, high = (texts[0], texts[2]) if tree.ops[0] == "<=" else (texts[2], texts[0])
            return [(f"{builder}.add_linear_constraint(", f"{texts[1]}, {low}, {high}", ")")]
        # a chain is two constraints: Python would evaluate `a <= b <= c` as `a <= b and b <= c`
        return [(add, f"{texts[i]} {op} {texts[i + 1]}", ")") for i, op in enumerate(tree.ops)]

    def solve_and_report(self) -> list[str]:
        helper = self.ctx.helper
        limit, result, status = helper("TIME_LIMIT"), helper("result"), helper("status")
        name, variables, key, var = (
            helper("name"),
            helper("variables"),
            helper("key"),
            helper("var"),
        )
        label, value = helper("label"), helper("value")
        lines = [
            "",
            "# ---- Solve and report (status, non-zero values, and last the objective)",
            f"{limit} = {py_number(self.time_limit)}  # seconds",
        ]
        pairs = []
        for variable in self.checked.formulation.variables:
            python = self.ctx.symbol(variable.name)
            interval = variable.domain is Domain.INTERVAL and self.cpsat
            if not variable.index:
                entry = f"{python}.start_expr()" if interval else python
                pairs.append(f"({py_literal(variable.name)}, {{None: {entry}}})")
            elif interval:
                k, iv = local_names(self.ctx, ["k", "interval"])
                pairs.append(
                    f"({py_literal(variable.name)}, "
                    f"{{{k}: {iv}.start_expr() for {k}, {iv} in {python}.items()}})"
                )
            else:
                pairs.append(f"({py_literal(variable.name)}, {python})")
        if self.cpsat:
            cp_model, model, solver = helper("cp_model"), helper("model"), helper("solver")
            lines += [
                f"{solver} = {cp_model}.CpSolver()",
                f"{solver}.parameters.max_time_in_seconds = {limit}",
                f"{result} = {solver}.solve({model})",
                f"{status} = {{",
                f'    {cp_model}.OPTIMAL: "optimal",',
                f'    {cp_model}.FEASIBLE: "feasible",',
                f'    {cp_model}.INFEASIBLE: "infeasible",',
                f'    {cp_model}.UNKNOWN: "time_limit",  # stopped before finding anything',
                f'}}.get({result}, "error")',
            ]
            read = f"{solver}.value({var})"
            objective = f"{solver}.objective_value"
        else:
            pywraplp, solver = helper("pywraplp"), helper("solver")
            infeasible = "infeasible"
            lines += [f"{solver}.SetTimeLimit(int({limit} * 1000))  # milliseconds"]
            if self.solver == "glop":
                infeasible = "infeasible_or_unbounded"
                lines += comment("GLOP reports an unbounded LP as INFEASIBLE too")
            lines += [
                f"{result} = {solver}.Solve()",
                f"{status} = {{",
                f'    {pywraplp}.Solver.OPTIMAL: "optimal",',
                f'    {pywraplp}.Solver.FEASIBLE: "feasible",',
                f'    {pywraplp}.Solver.INFEASIBLE: "{infeasible}",',
                f'    {pywraplp}.Solver.UNBOUNDED: "unbounded",',
                f'}}.get({result}, "error")',
            ]
            read = f"{var}.solution_value()"
            objective = f"{solver}.Objective().Value()"
        lines += [
            "",
            f'print(f"status: {{{status}}}")',
            f'if {status} in ("optimal", "feasible"):',
        ]
        if pairs:
            lines += [f"    for {name}, {variables} in ["]
            lines += [f"        {pair}," for pair in pairs]
            lines += [
                "    ]:",
                f"        for {key}, {var} in {variables}.items():",
                f"            {value} = {read}",
                f"            if abs({value}) > 1e-9:",
                f'                print(f"{{{label}({name}, {key})}} = {{{value}:.12g}}")',
            ]
        lines += [
            f'    print(f"objective: {{{objective}:.12g}}")',
            "else:",
            '    print("objective: None")',
        ]
        return lines


def to_ortools_script(
    model: Formulation | CheckedFormulation,
    solver: str | None = None,
    *,
    time_limit: float = 60.0,
) -> str:
    """A standalone OR-Tools script that builds, solves and reports the formulation.

    `solver` is one of ORTOOLS_SOLVERS ('cpsat', 'clp', 'glop', 'scip', 'cbc'); by default
    CP-SAT for CP and whole-number integer models, CLP for LPs and SCIP for other MILPs.
    Raises FormulationError for an invalid formulation and IncompatibleBackendError (with
    the alternative) for a model OR-Tools cannot take as written.
    """
    checked = as_checked(model)
    if solver is not None and solver not in ORTOOLS_SOLVERS:
        raise ConfigurationError(
            f"unknown OR-Tools solver {solver!r}; choose one of: {', '.join(ORTOOLS_SOLVERS)}"
        )
    reason = ortools_obstacle(checked, solver)
    if reason:
        raise IncompatibleBackendError(reason)
    chosen = solver or ortools_solver_for(checked)
    return _OrToolsWriter(checked, chosen, time_limit).write()
