"""Write a formulation as a standalone, readable Pyomo script.

The script keeps the formulation's structure: sets as lists, parameters as dicts, one
`pyo.Var` per variable indexed by its sets, the objective and every constraint translated
from the expression tree (quantified constraints as `pyo.Constraint(index, rule=...)` with
the loop names as the rule's arguments). It solves with HiGHS or SCIP through Pyomo's legacy
`SolverFactory` with `load_solutions=False` and prints the result protocol: `status: ...`,
non-zero variable values, and last `objective: <value>`.
"""

from __future__ import annotations

import functools
from typing import Any

from optiagent.exceptions import ConfigurationError, IncompatibleBackendError
from optiagent.formulations import nodes as n
from optiagent.formulations.analysis import CheckedFormulation, ProblemClass
from optiagent.formulations.export._names import Namer
from optiagent.formulations.export._pyomo_helpers import helper_lines
from optiagent.formulations.export._script import (
    WIDTH,
    ScriptContext,
    as_checked,
    comment,
    data_lines,
    data_only_constraints,
    header_lines,
    index_base,
    label_helper,
    local_names,
    split_long,
    variable_comment,
)
from optiagent.formulations.export.source import (
    ExpressionPrinter,
    KeyText,
    Loop,
    py_literal,
    py_number,
)
from optiagent.formulations.schema import Domain, Formulation, Sense, VariableDef
from optiagent.formulations.validation import ParsedConstraint

__all__ = ["HIGHS_CLASSES", "PYOMO_SOLVERS", "pyomo_solver_for", "to_pyomo_script"]

PYOMO_SOLVERS = ("highs", "scip_direct")
"""Pyomo solver names a script may use (both install from PyPI)."""

HIGHS_CLASSES = frozenset({ProblemClass.LP, ProblemClass.MILP, ProblemClass.CONVEX_QP})
"""Classes HiGHS solves correctly; everything else goes to SCIP (as the backends route it)."""

_DOMAINS = {
    Domain.REAL: "Reals",
    Domain.NONNEGATIVE_REAL: "NonNegativeReals",
    Domain.INTEGER: "Integers",
    Domain.NONNEGATIVE_INTEGER: "NonNegativeIntegers",
    Domain.BINARY: "Binary",
    Domain.INTERVAL: "Integers",
}

_STATUS_WORDS = (
    ("optimal", "optimal"),
    ("globallyOptimal", "optimal"),
    ("locallyOptimal", "optimal"),
    ("feasible", "feasible"),
    ("maxTimeLimit", "time_limit"),
    ("infeasible", "infeasible"),
    ("unbounded", "unbounded"),
    ("infeasibleOrUnbounded", "infeasible_or_unbounded"),
)

# Used when Pyomo cannot be imported to list the model's own attribute names.
_FALLBACK_RESERVED = frozenset(
    {"name", "model", "solutions", "component", "parent_block", "clone", "active", "doc"}
)


@functools.cache
def _model_attributes() -> frozenset[str]:
    """Attribute names a Pyomo model already has (a component may not take them)."""
    try:
        import pyomo.environ as pyo
    except ImportError:  # pragma: no cover - pyomo is a core dependency
        return _FALLBACK_RESERVED
    return frozenset(dir(pyo.ConcreteModel()))


def pyomo_solver_for(problem_class: ProblemClass) -> str:
    """The Pyomo solver name for a problem class: 'highs' where HiGHS is exact, else SCIP."""
    return "highs" if problem_class in HIGHS_CLASSES else "scip_direct"


class _PyomoPrinter(ExpressionPrinter):
    """Variables are components of the model; abs/min/max of variables use named helpers."""

    def __init__(self, ctx: ScriptContext, attributes: dict[str, str]) -> None:
        formulation = ctx.checked.formulation
        super().__init__(ctx.checked.data, formulation.variables, ctx.names)
        self.ctx = ctx
        self.attributes = attributes
        self.used_helpers: set[str] = set()

    def variable(self, name: str, index: str | None) -> str:
        """model.ship[p, m]"""
        base = self.variable_collection(name)
        return base if index is None else f"{base}[{index}]"

    def variable_collection(self, name: str) -> str:
        """model.ship"""
        return f"{self.ctx.helper('model')}.{self.attributes[name]}"

    def variable_function(self, func: str, args: list[str]) -> str:
        """pyo.exp(...) etc.; abs through the named-function helper."""
        if func == "abs":
            self.used_helpers.add("abs_of")
            return f"{self.ctx.helper('abs_of')}({args[0]})"
        return f"{self.ctx.helper('pyo')}.{func}({args[0]})"

    def variable_minmax(self, func: str, items: str) -> str:
        """max_of([...]) / min_of([...])."""
        helper = f"{func}_of"
        self.used_helpers.update({helper, "abs_of"})
        return f"{self.ctx.helper(helper)}({items})"


def _claim_attribute(namer: Namer, name: str, fallback: str) -> str:
    return namer.claim(name if namer.is_free(name) else fallback)


class _PyomoWriter:
    def __init__(self, checked: CheckedFormulation, solver: str, time_limit: float) -> None:
        self.checked = checked
        self.solver = solver
        self.time_limit = time_limit
        self.ctx = ScriptContext.create(checked)
        for helper in ("pyo", "model", "math"):
            self.ctx.helper(helper)
        self.ctx.names.math = self.ctx.helper("math")
        formulation = checked.formulation
        attributes = Namer(_model_attributes(), globals_=False)
        self.attributes = {
            v.name: _claim_attribute(attributes, v.name, f"{v.name}_var")
            for v in formulation.variables
        }
        self.constraint_attributes = {
            c.name: _claim_attribute(attributes, c.name, f"{c.name}_constraint")
            for c in formulation.constraints
        }
        self.objective_attribute = attributes.claim("objective")
        self.attribute_namer = attributes
        self.printer = _PyomoPrinter(self.ctx, self.attributes)
        self.data_only = data_only_constraints(checked)

    @property
    def pyo(self) -> str:
        return self.ctx.helper("pyo")

    @property
    def model(self) -> str:
        return self.ctx.helper("model")

    # sections ---------------------------------------------------------------------------------
    def write(self) -> str:
        formulation = self.checked.formulation
        body = ["", f"{self.model} = {self.pyo}.ConcreteModel(name={py_literal(formulation.name)})"]
        body += self.variables()
        body += self.objective()
        body += self.constraints()
        solve = self.solve_and_report()
        lines = header_lines(self.checked, "--to pyomo", self.solver)
        lines.append("")
        if self.printer.uses_math:
            alias = self.ctx.names.math
            lines.append("import math" + ("" if alias == "math" else f" as {alias}"))
        lines.append(f"import pyomo.environ as {self.pyo}")
        if "abs_of" in self.printer.used_helpers:
            function = self.ctx.helper("UnaryFunctionExpression")
            alias = "" if function == "UnaryFunctionExpression" else f" as {function}"
            lines.append(f"from pyomo.core.expr.numeric_expr import UnaryFunctionExpression{alias}")
        lines += data_lines(self.ctx)
        lines += self.helper_functions()
        lines += body
        lines += solve
        return "\n".join(lines) + "\n"

    def helper_functions(self) -> list[str]:
        return helper_lines(self.ctx, self.printer.used_helpers, bool(self.data_only))

    def variables(self) -> list[str]:
        lines = ["", "# ---- Variables"]
        for variable in self.checked.formulation.variables:
            lines += self.variable(variable)
        return lines

    def variable(self, variable: VariableDef) -> list[str]:
        lines = variable_comment(variable, "[the start time of a task of fixed duration]")
        arguments = [self.ctx.symbol(s) for s in variable.index]
        arguments.append(f"domain={self.pyo}.{_DOMAINS[variable.domain]}")
        bounds = self.bounds(variable)
        if bounds:
            arguments.append(f"bounds={bounds}")
        target = f"{self.model}.{self.attributes[variable.name]}"
        call = f"{target} = {self.pyo}.Var({', '.join(arguments)})"
        if len(call) <= 96:
            lines.append(call)
        else:
            lines.append(f"{target} = {self.pyo}.Var(")
            lines += [f"    {argument}," for argument in arguments]
            lines.append(")")
        return lines

    def bounds(self, variable: VariableDef) -> str | None:
        lower: Any = variable.lower
        if lower is None and variable.domain is Domain.INTERVAL:
            lower = 0  # a task cannot start before time 0
        specs = (lower, variable.upper)
        if all(spec is None for spec in specs):
            return None
        data = self.checked.data
        indexed = [s for s in specs if isinstance(s, str) and data.params[s].index]
        if not indexed:
            return "(" + ", ".join(self.scalar_bound(s) for s in specs) + ")"
        bases = []
        for set_name in variable.index:
            dimension = data.sets[set_name].dimension
            base = index_base(set_name)
            bases += [base] if dimension == 1 else [f"{base}{k + 1}" for k in range(dimension)]
        arguments = local_names(self.ctx, bases)
        inside = ", ".join(arguments)
        key = KeyText(inside, inside if len(arguments) == 1 else f"({inside})")
        parts = [self.indexed_bound(s, key) for s in specs]
        return f"lambda {self.model}, {inside}: ({', '.join(parts)})"

    def scalar_bound(self, spec: float | str | None) -> str:
        if spec is None:
            return "None"
        if isinstance(spec, str):
            return self.ctx.symbol(spec)
        return py_number(spec)

    def indexed_bound(self, spec: float | str | None, key: KeyText) -> str:
        if not isinstance(spec, str) or not self.checked.data.params[spec].index:
            return self.scalar_bound(spec)
        table = self.checked.data.params[spec]
        if table.default is None and not self.printer._complete(table):
            return f"{self.ctx.symbol(spec)}.get({key.value})"  # no entry: no bound
        return self.printer.param_entry(spec, key)

    def objective(self) -> list[str]:
        objective = self.checked.formulation.objective
        parsed = self.checked.parsed.objective
        target = f"{self.model}.{self.objective_attribute}"
        if objective is None or parsed is None:
            return [
                "",
                "# ---- Objective: none (a feasibility problem: any solution will do)",
                f"{target} = {self.pyo}.Objective(expr=0)",
            ]
        heading = "# ---- Objective"
        if objective.description:
            heading += f": {objective.description.strip()}"
        sense = "maximize" if objective.sense is Sense.MAXIMIZE else "minimize"
        expression = self.printer.text(parsed, {})
        lines = ["", *comment(heading[2:])]
        one_line = f"{target} = {self.pyo}.Objective(expr={expression}, sense={self.pyo}.{sense})"
        if len(one_line) <= 96:
            return [*lines, one_line]
        lines.append(f"{target} = {self.pyo}.Objective(")
        lines += split_long("expr=", expression, ",", "    ")
        lines += [f"    sense={self.pyo}.{sense},", ")"]
        return lines

    def constraints(self) -> list[str]:
        if not self.checked.parsed.constraints:
            return []
        lines = ["", "# ---- Constraints"]
        for parsed in self.checked.parsed.constraints:
            lines += self.constraint(parsed)
        return lines

    def constraint(self, parsed: ParsedConstraint) -> list[str]:
        definition = parsed.definition
        heading = definition.name
        if definition.forall:
            heading += f" (for each {definition.forall.strip()})"
        if definition.description:
            heading += f": {definition.description.strip()}"
        lines = ["", *comment(heading)]
        scope, arguments, unpack = self.rule_scope(parsed)
        parts = self.relation_parts(parsed.expression, scope)
        attribute = self.constraint_attributes[definition.name]
        for number, text in enumerate(parts, start=1):
            prefix, suffix = "", ""
            if definition.name in self.data_only:
                prefix = f"{self.ctx.helper('unless_trivial')}("
                suffix = f", {py_literal(definition.name)})"
            name = (
                attribute
                if number == 1
                else self.attribute_namer.claim(f"{attribute}_part{number}")
            )
            if len(parts) > 1:
                lines += comment(f"part {number} of the chained comparison")
            target = f"{self.model}.{name}"
            if not parsed.forall:
                call = f"{target} = {self.pyo}.Constraint(expr={prefix}"
                lines += split_long(call, text, f"{suffix})", "")
                continue
            rule = self.ctx.namer.claim(f"{name}_rule")
            lines.append(f"def {rule}({', '.join([self.model, *arguments])}):")
            lines += [f"    {line}" for line in unpack]
            if prefix:
                taken = [a.lstrip("*") for a in arguments] + [u.split(" = ")[0] for u in unpack]
                relation = local_names(self.ctx, ["relation"], avoid=taken)[0]
                lines += split_long(f"{relation} = ", text, "", "    ")
                lines.append(f"    return {prefix}{relation}{suffix}")
            else:
                lines += split_long("return ", text, "", "    ")
            lines.append("")
            call = f"{target} = {self.pyo}.Constraint("
            arguments_text = f"{self.index_list(parsed)}, rule={rule}"
            if len(call + arguments_text) < 96:
                lines.append(f"{call}{arguments_text})")
            else:
                lines += [call, f"    {arguments_text}", ")"]
        return lines

    def rule_scope(self, parsed: ParsedConstraint) -> tuple[dict[str, Loop], list[str], list[str]]:
        """The loop scope inside the rule, the rule's arguments, and lines rebuilding pairs."""
        clauses, scope = self.printer.generators(parsed.forall, {})
        del clauses
        targets = [t for g in parsed.forall for t in g.targets]
        arguments: list[str] = []
        unpack: list[str] = []
        for target in targets:
            loop = scope[target]
            if loop.dimension == 1:
                arguments.append(loop.name)
            elif len(targets) == 1:
                arguments.append(f"*{loop.name}")  # Pyomo passes the pair's parts
            else:
                parts = local_names(
                    self.ctx, [f"{loop.name}_{k + 1}" for k in range(loop.dimension)]
                )
                arguments += parts
                unpack.append(f"{loop.name} = ({', '.join(parts)})")
        return scope, arguments, unpack

    def index_list(self, parsed: ParsedConstraint) -> str:
        generators = parsed.forall
        first = generators[0]
        data = self.checked.data
        if (
            len(generators) == 1
            and not first.conditions
            and isinstance(first.iterable, n.Name)
            and first.iterable.id in data.sets
        ):
            return self.ctx.symbol(first.iterable.id)
        loops, scope = self.printer.comprehension(generators, {})
        names = [scope[t].name for g in generators for t in g.targets]
        element = names[0] if len(names) == 1 else f"({', '.join(names)})"
        return f"[{element}{loops}]"

    def relation_parts(self, tree: n.Expr, scope: dict[str, Loop]) -> list[str]:
        """Each relation of a constraint as Pyomo source (two for a chain with variable ends)."""
        assert isinstance(tree, n.Compare)
        printer = self.printer
        texts = [printer.operand_text(operand, scope) for operand in tree.operands]
        if len(tree.ops) == 1:
            return [f"{texts[0]} {tree.ops[0]} {texts[1]}"]
        ends_are_data = not printer.has_variable(tree.operands[0]) and not printer.has_variable(
            tree.operands[2]
        )
        if ends_are_data:
            low, high = (texts[0], texts[2]) if tree.ops[0] == "<=" else (texts[2], texts[0])
            return [f"{self.pyo}.inequality({low}, {texts[1]}, {high})"]
        return [f"{texts[i]} {op} {texts[i + 1]}" for i, op in enumerate(tree.ops)]

    def solve_and_report(self) -> list[str]:
        helper = self.ctx.helper
        pyo, model = self.pyo, self.model
        limit, results = helper("TIME_LIMIT"), helper("results")
        status, solved, label = helper("status"), helper("has_solution"), helper("label")
        termination = helper("termination")
        name, variable, key, var = helper("name"), helper("variable"), helper("key"), helper("var")
        lines = ["", "", *label_helper(label), "", ""]
        lines += [
            "# ---- Solve and report (status, non-zero values, and last the objective)",
            f"{limit} = {py_number(self.time_limit)}  # seconds",
        ]
        call = f"{pyo}.SolverFactory({py_literal(self.solver)}).solve("
        arguments = f"{model}, load_solutions=False, timelimit={limit}"
        one_line = f"{results} = {call}{arguments})"
        solve = (
            [one_line]
            if len(one_line) <= WIDTH
            else [f"{results} = {call}", f"    {arguments}", ")"]
        )
        solve += [
            f"{termination} = {results}.solver.termination_condition",
            f"{status} = {{",
            *(
                f"    {pyo}.TerminationCondition.{word}: {py_literal(ours)},"
                for word, ours in _STATUS_WORDS
            ),
            f'}}.get({termination}, "error")',
            f'{solved} = {status} in ("optimal", "feasible", "time_limit") and '
            f"len({results}.solution) > 0",
            f"if {solved}:",
            f"    {model}.solutions.load_from({results})",
        ]
        if self.data_only:
            false_list = helper("false_by_data")
            lines += [
                f"if {false_list}:",
                f"    print('constraints false on the data alone:', ', '.join({false_list}))",
                f'    {status}, {solved} = "infeasible", False',
                "else:",
                *(f"    {line}" for line in solve),
            ]
        else:
            lines += solve
        pairs = ", ".join(
            f"({py_literal(v.name)}, {model}.{self.attributes[v.name]})"
            for v in self.checked.formulation.variables
        )
        lines += [
            "",
            f'print(f"status: {{{status}}}")',
            f"if {solved}:",
            f"    for {name}, {variable} in [{pairs}]:",
            f"        for {key}, {var} in {variable}.items():",
            f"            if {var}.value is not None and abs({var}.value) > 1e-9:",
            f'                print(f"{{{label}({name}, {key})}} = {{{var}.value:.12g}}")',
            f'    print(f"objective: {{{pyo}.value({model}.{self.objective_attribute}):.12g}}")',
            "else:",
            '    print("objective: None")',
        ]
        return lines


def to_pyomo_script(
    model: Formulation | CheckedFormulation,
    solver: str | None = None,
    *,
    time_limit: float = 60.0,
) -> str:
    """A standalone Pyomo script that builds, solves and reports the formulation.

    `solver` is 'highs' or 'scip_direct'; by default the problem class decides (HiGHS for LP,
    MILP and convex QP; SCIP otherwise). Raises FormulationError for an invalid formulation
    and IncompatibleBackendError for a model a Pyomo script cannot hold (global constraints)
    or a solver that cannot solve its class.
    """
    checked = as_checked(model)
    analysis = checked.analysis
    if analysis.global_constraints:
        used = " and ".join(sorted(analysis.global_constraints))
        raise IncompatibleBackendError(
            f"the model uses {used}, which a Pyomo script cannot express; "
            "export it with --to ortools (CP-SAT) instead"
        )
    if solver is None:
        solver = pyomo_solver_for(checked.problem_class)
    if solver not in PYOMO_SOLVERS:
        raise ConfigurationError(
            f"unknown Pyomo solver {solver!r}; choose one of: {', '.join(PYOMO_SOLVERS)}"
        )
    if solver == "highs" and checked.problem_class not in HIGHS_CLASSES:
        # the convexity verdict says why a quadratic objective is kept from HiGHS
        why = f" ({checked.analysis.convexity})" if checked.analysis.convexity else ""
        raise IncompatibleBackendError(
            f"highs cannot solve this {checked.problem_class.value} model correctly{why}; "
            "use scip (solver 'scip_direct') or let the problem class choose"
        )
    return _PyomoWriter(checked, solver, time_limit).write()
