"""Expand a formulation against its data and classify it (LP, MILP, convex QP, ..., CP).

`check_formulation` is the single entry point every consumer uses: it resolves the data,
parses and statically checks every expression, expands each constraint instance into a
polynomial (finding data problems such as a missing parameter entry at one index), and
derives the problem class from degrees, domains and global constraints. The result, a
`CheckedFormulation`, is what backends compile.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from optiagent.exceptions import FormulationError
from optiagent.formulations.convexity import decide_convexity
from optiagent.formulations.data import Key, ModelData, flatten_key, resolve_data
from optiagent.formulations.evaluator import (
    EvaluationError,
    Evaluator,
    GlobalConstraint,
    IntervalRef,
    Relation,
    is_data,
)
from optiagent.formulations.issues import Issue, IssueKind
from optiagent.formulations.polynomial import Nonlinear, Poly, PolyAlgebra
from optiagent.formulations.schema import Formulation
from optiagent.formulations.tables import DataTable, resolve_tables
from optiagent.formulations.validation import ParsedFormulation, parse_and_check

__all__ = [
    "Analysis",
    "CheckedFormulation",
    "ConstraintInstance",
    "ProblemClass",
    "check_formulation",
    "instance_label",
    "validate_formulation",
]

MAX_INSTANCES = 2_000_000


class ProblemClass(StrEnum):
    """The mathematical class of a model, which decides the solver."""

    LP = "LP"
    MILP = "MILP"
    CONVEX_QP = "convex QP"
    NONCONVEX_QP = "nonconvex QP"
    MIQP = "MIQP"
    QCP = "QCP"
    NLP = "NLP"
    MINLP = "MINLP"
    CP = "CP"


def instance_label(name: str, key: Key) -> str:
    """A readable label for a variable or constraint instance, e.g. ship[seattle,chicago]."""
    if not key:
        return name
    return f"{name}[{','.join(str(k) for k in key)}]"


@dataclass(frozen=True)
class ConstraintInstance:
    """One expanded constraint: its definition's name, its loop values, and its relation."""

    name: str
    key: Key
    relation: Relation | GlobalConstraint
    part: int = 0  # a chained comparison with variables on both ends yields two parts

    @property
    def label(self) -> str:
        """e.g. supply[seattle] (with '#2' for the second part of a chain)."""
        label = instance_label(self.name, self.key)
        return label if self.part == 0 else f"{label}#{self.part + 1}"


@dataclass
class Analysis:
    """What the expansion found: the class and the facts it was derived from."""

    problem_class: ProblemClass
    objective: Poly | Nonlinear | None
    instances: list[ConstraintInstance]
    variable_count: int
    integer_count: int
    objective_degree: int | None  # None when not a polynomial of degree <= 2
    constraint_degree: int | None
    global_constraints: frozenset[str]
    convex_objective: bool | None
    nonlinear_functions: frozenset[str]
    trivially_false: list[str] = field(default_factory=list)
    used_variables: frozenset[str] = frozenset()  # names appearing in the objective or a constraint
    convexity: str = ""  # why the quadratic objective was found convex, not, or undecided

    def summary(self) -> str:
        """One line: class, sizes, and the reason for the class."""
        line = (
            f"{self.problem_class.value}: {self.variable_count} variables "
            f"({self.integer_count} integer), {len(self.instances)} constraints"
        )
        if self.problem_class is ProblemClass.NONCONVEX_QP and self.convexity:
            # an undecided objective is routed as nonconvex: the reader must see why
            routed = "; treated as nonconvex" if self.convex_objective is None else ""
            line += f" ({self.convexity}{routed})"
        return line


@dataclass(repr=False)
class CheckedFormulation:
    """A formulation that passed every check, with its data, parsed trees and analysis."""

    formulation: Formulation
    data: ModelData
    parsed: ParsedFormulation
    analysis: Analysis

    @property
    def problem_class(self) -> ProblemClass:
        """The derived problem class."""
        return self.analysis.problem_class

    def __repr__(self) -> str:
        """A one-line summary (shown in traces): the class and the sizes."""
        return f"CheckedFormulation({self.formulation.name}: {self.analysis.summary()})"

    def evaluator(self, algebra: Any) -> Evaluator:
        """An evaluator over this formulation's data with the given algebra."""
        return Evaluator(self.formulation, self.data, algebra)


def _degree(value: Any) -> int | None:
    if isinstance(value, Poly):
        return value.degree
    if isinstance(value, Nonlinear):
        return None
    return 0


def _functions(value: Any) -> frozenset[str]:
    return value.functions if isinstance(value, Nonlinear) else frozenset()


def _variable_names(value: Any) -> set[str]:
    if isinstance(value, Poly):
        return {name for name, _ in value.variables()}
    if isinstance(value, Nonlinear):
        return {name for name, _ in value.variables}
    if isinstance(value, IntervalRef):
        return {value.name}
    return set()


def _used_variables(objective: Any, instances: list[ConstraintInstance]) -> frozenset[str]:
    used = _variable_names(objective)
    for instance in instances:
        relation = instance.relation
        if isinstance(relation, GlobalConstraint):
            for item in relation.items:
                used |= _variable_names(item)
        else:
            used |= _variable_names(relation.body)
    return frozenset(used)


class _Expander:
    def __init__(self, formulation: Formulation, data: ModelData, parsed: ParsedFormulation):
        self.formulation = formulation
        self.parsed = parsed
        self.evaluator = Evaluator(formulation, data, PolyAlgebra())
        self.issues: list[Issue] = []
        self.instances: list[ConstraintInstance] = []
        self.trivially_false: list[str] = []
        self.objective: Poly | Nonlinear | None = None

    def _issue(
        self, element: str, field: str, text: str, error: EvaluationError, where: str = ""
    ) -> None:
        message = f"{error.message}{where}"
        self.issues.append(
            Issue(
                error.kind,
                element,
                message,
                symbol=error.symbol,
                field=field,
                text=text,
                position=error.pos,
                suggestion=error.suggestion,
            )
        )

    def objective_pass(self) -> None:
        objective = self.formulation.objective
        if objective is None or self.parsed.objective is None:
            return
        try:
            value = self.evaluator.value(self.parsed.objective, {})
        except EvaluationError as error:
            self._issue("objective", "expression", objective.expression, error)
            return
        if is_data(value) or (isinstance(value, Poly) and value.degree == 0):
            self.issues.append(
                Issue(
                    IssueKind.BAD_OBJECTIVE,
                    "objective",
                    "the objective contains no decision variable, so every solution is optimal",
                    field="expression",
                    text=objective.expression,
                    suggestion="write the objective in terms of the variables, or omit it for a "
                    "feasibility problem",
                )
            )
            return
        self.objective = value

    def constraint_pass(self) -> None:
        for parsed in self.parsed.constraints:
            definition = parsed.definition
            element = f"constraint '{definition.name}'"
            try:
                scopes = list(self.evaluator.iterate(parsed.forall, {}))
            except EvaluationError as error:
                self._issue(element, "forall", definition.forall or "", error)
                continue
            targets = [t for g in parsed.forall for t in g.targets]
            for scope in scopes:
                key = flatten_key(scope[t] for t in targets)
                try:
                    relations = self.evaluator.constraint(parsed.expression, scope)
                except EvaluationError as error:
                    where = (
                        f" (at {', '.join(f'{t}={scope[t]!r}' for t in targets)})"
                        if targets
                        else ""
                    )
                    self._issue(element, "expression", definition.expression, error, where)
                    break
                for part, relation in enumerate(relations):
                    self._add(definition.name, key, part, relation)
                if len(self.instances) > MAX_INSTANCES:
                    self.issues.append(
                        Issue(
                            IssueKind.BAD_CONSTRAINT,
                            element,
                            f"the model has more than {MAX_INSTANCES} constraint instances",
                            suggestion="aggregate the model or solve a smaller instance",
                        )
                    )
                    return

    def _add(self, name: str, key: Key, part: int, relation: Relation | GlobalConstraint) -> None:
        if isinstance(relation, Relation):
            body = relation.body
            constant = (
                body
                if is_data(body)
                else (body.constant if isinstance(body, Poly) and body.degree == 0 else None)
            )
            if constant is not None:
                value = float(constant)
                ok = (relation.lower is None or value >= relation.lower - 1e-9) and (
                    relation.upper is None or value <= relation.upper + 1e-9
                )
                if not ok:
                    label = instance_label(name, key)
                    self.trivially_false.append(
                        f"{label} reduces to {_bounds_text(value, relation)} without any "
                        "variable, which is false"
                    )
                return
        self.instances.append(ConstraintInstance(name, key, relation, part))


def _bounds_text(value: float, relation: Relation) -> str:
    if relation.lower is not None and relation.upper is not None:
        if relation.lower == relation.upper:
            return f"{value:g} == {relation.lower:g}"
        return f"{relation.lower:g} <= {value:g} <= {relation.upper:g}"
    if relation.upper is not None:
        return f"{value:g} <= {relation.upper:g}"
    return f"{value:g} >= {relation.lower:g}"


def _classify(formulation: Formulation, data: ModelData, expander: _Expander) -> Analysis:
    integer_count = variable_count = 0
    for variable in formulation.variables:
        size = 1
        for set_name in variable.index:
            size *= len(data.sets[set_name].elements)
        variable_count += size
        if variable.domain.is_integral:
            integer_count += size
    globals_used = frozenset(
        i.relation.kind for i in expander.instances if isinstance(i.relation, GlobalConstraint)
    )
    objective = expander.objective
    objective_degree = _degree(objective) if objective is not None else 0
    functions = set(_functions(objective))
    constraint_degree: int | None = 0
    for instance in expander.instances:
        if isinstance(instance.relation, GlobalConstraint):
            continue
        degree = _degree(instance.relation.body)
        functions |= _functions(instance.relation.body)
        if degree is None or constraint_degree is None:
            constraint_degree = None
        else:
            constraint_degree = max(constraint_degree, degree)
    has_integers = integer_count > 0
    convex: bool | None = None
    convexity = ""
    if globals_used:
        problem_class = ProblemClass.CP
    elif (
        objective_degree is None
        or constraint_degree is None
        or objective_degree > 2
        or constraint_degree > 2
    ):
        problem_class = ProblemClass.MINLP if has_integers else ProblemClass.NLP
    elif constraint_degree == 2:
        problem_class = ProblemClass.MINLP if has_integers else ProblemClass.QCP
    elif objective_degree == 2:
        assert isinstance(objective, Poly) and formulation.objective is not None
        verdict = decide_convexity(objective, formulation.objective.sense)
        convex, convexity = verdict.convex, verdict.reason
        if has_integers:
            problem_class = ProblemClass.MIQP
        elif convex:
            problem_class = ProblemClass.CONVEX_QP
        else:
            problem_class = ProblemClass.NONCONVEX_QP
    else:
        problem_class = ProblemClass.MILP if has_integers else ProblemClass.LP
    return Analysis(
        problem_class=problem_class,
        objective=objective,
        instances=expander.instances,
        variable_count=variable_count,
        integer_count=integer_count,
        objective_degree=objective_degree,
        constraint_degree=constraint_degree,
        global_constraints=globals_used,
        convex_objective=convex,
        nonlinear_functions=frozenset(functions),
        trivially_false=expander.trivially_false,
        used_variables=_used_variables(objective, expander.instances),
        convexity=convexity,
    )


def _run(
    formulation: Formulation, tables: Iterable[DataTable]
) -> tuple[CheckedFormulation | None, list[Issue]]:
    formulation, issues = resolve_tables(formulation, tables)
    data, data_issues = resolve_data(formulation)
    issues += data_issues
    parsed, static_issues = parse_and_check(formulation, data)
    issues += static_issues
    if issues:
        return None, issues
    expander = _Expander(formulation, data, parsed)
    expander.objective_pass()
    expander.constraint_pass()
    if expander.issues:
        return None, expander.issues
    analysis = _classify(formulation, data, expander)
    return CheckedFormulation(formulation, data, parsed, analysis), []


def validate_formulation(formulation: Formulation, tables: Iterable[DataTable] = ()) -> list[Issue]:
    """Every issue found in the formulation (an empty list when it is valid)."""
    return _run(formulation, tables)[1]


def check_formulation(
    formulation: Formulation, tables: Iterable[DataTable] = ()
) -> CheckedFormulation:
    """Check and analyze a formulation; raises FormulationError listing every issue.

    `tables` are the data tables its `from_table` references read; the checked formulation
    holds their values inline.
    """
    checked, issues = _run(formulation, tables)
    if checked is None:
        raise FormulationError(issues)
    return checked
