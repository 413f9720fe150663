"""The parts of a model a diagnosis can switch off or relax: rows, bounds and integrality.

A diagnosis reasons about *elements*: one constraint instance (a row), one side of one
variable instance's bounds, or the integrality of one variable instance. Elements are
grouped the way the formulation names them: every instance of a named constraint forms one
group, and each variable's lower bounds, upper bounds and integrality form one group each.
The view is computed from the `CheckedFormulation` only; nothing of it is modified.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

from optiagent.formulations.analysis import CheckedFormulation, ConstraintInstance, instance_label
from optiagent.formulations.data import Key
from optiagent.formulations.evaluator import GlobalConstraint, Relation
from optiagent.formulations.polynomial import Nonlinear, Poly, VarKey
from optiagent.formulations.schema import ConstraintDef, Domain, VariableDef

__all__ = [
    "Column",
    "Element",
    "GroupId",
    "ModelView",
    "Row",
    "format_number",
    "render_body",
]

Element = tuple[str, int]
"""("row", i), ("lower", j), ("upper", j) or ("integer", j): i indexes rows, j columns."""
GroupId = tuple[str, str]
"""("constraint", name), ("lower", variable), ("upper", variable) or ("integer", variable)."""

_NONNEGATIVE = (Domain.NONNEGATIVE_REAL, Domain.NONNEGATIVE_INTEGER, Domain.BINARY)
_MAX_RENDERED_TERMS = 6
# Bounds and integrality are tested first by the deletion filter, so that they are dropped
# whenever a conflict made of constraints alone exists: those are what a modeler edits.
_GROUP_ORDER = {"lower": 0, "upper": 1, "integer": 2, "constraint": 3}


def format_number(value: float) -> str:
    """A number as a person writes it: 5 not 5.0, 0.333333 not 0.3333333333.

    Six significant digits, and a value within a millionth of a whole number is that whole
    number: solver tolerances leave 1.9999999 where 2 is meant.
    """
    if abs(value - round(value)) <= 1e-6 * max(1.0, abs(value)):
        return str(round(value))
    return f"{value:.6g}"


def _coefficient_term(coefficient: float, text: str, first: bool) -> str:
    sign = "-" if coefficient < 0 else "+"
    magnitude = abs(coefficient)
    body = text if magnitude == 1 else f"{format_number(magnitude)}*{text}"
    if first:
        return body if sign == "+" else f"-{body}"
    return f" {sign} {body}"


def render_body(body: object) -> str | None:
    """A short polynomial as text ("x + 2*y"), or None when it is long or not polynomial."""
    if not isinstance(body, Poly):
        return None
    terms = [(m, c) for m, c in body.terms.items() if c != 0]
    if not terms or len(terms) > _MAX_RENDERED_TERMS:
        return None
    parts: list[str] = []
    for monomial, coefficient in terms:
        if not monomial:
            text = format_number(abs(coefficient))
            parts.append(_coefficient_term(1.0 if coefficient > 0 else -1.0, text, not parts))
            continue
        text = "*".join(instance_label(name, key) for name, key in monomial)
        parts.append(_coefficient_term(coefficient, text, not parts))
    return "".join(parts)


@dataclass(frozen=True)
class Column:
    """One variable instance with its effective bounds and where each bound comes from."""

    name: str
    key: Key
    domain: Domain
    lower: float | None
    upper: float | None
    lower_source: str  # e.g. "declared lower: cap" or "domain nonnegative_real"
    upper_source: str
    integral: bool

    @property
    def label(self) -> str:
        """e.g. ship[seattle,chicago]."""
        return instance_label(self.name, self.key)


@dataclass(frozen=True)
class Row:
    """One constraint instance with the definition it came from."""

    instance: ConstraintInstance
    definition: ConstraintDef

    @property
    def name(self) -> str:
        """The constraint's name in the formulation."""
        return self.instance.name

    @property
    def label(self) -> str:
        """e.g. supply_limit[seattle]."""
        return self.instance.label

    @property
    def relation(self) -> Relation | None:
        """The instance's relation (None for a global constraint)."""
        relation = self.instance.relation
        return relation if isinstance(relation, Relation) else None

    @property
    def written(self) -> str:
        """The constraint as written in the formulation, with its quantifier."""
        text = self.definition.expression
        return f"{text}, for {self.definition.forall}" if self.definition.forall else text

    def instance_text(
        self,
        lower: float | None = None,
        upper: float | None = None,
        *,
        by_label: bool | None = None,
    ) -> str:
        """The instance with numbers (and optionally other bounds), e.g. "x + y <= 5".

        An indexed constraint is written by its label ("supply_limit[seattle] <= 350")
        unless `by_label` is False; a body too long to show is always replaced by the label.
        """
        relation = self.relation
        if relation is None:
            return self.label
        lower = relation.lower if lower is None else lower
        upper = relation.upper if upper is None else upper
        if by_label is None:
            by_label = bool(self.definition.forall)
        body = None if by_label else render_body(relation.body)
        subject = body or self.label
        if lower is not None and upper is not None:
            if lower == upper:
                return f"{subject} == {format_number(upper)}"
            return f"{format_number(lower)} <= {subject} <= {format_number(upper)}"
        sense, bound = ("<=", upper) if upper is not None else (">=", lower)
        return f"{subject} {sense} {format_number(bound or 0.0)}"


def _source(which: str, spec: float | str) -> str:
    if isinstance(spec, str):
        return f"declared {which} bound: parameter {spec}"
    return f"declared {which} bound {format_number(float(spec))}"


def _number(checked: CheckedFormulation, spec: float | str | None, key: Key) -> float | None:
    if spec is None or isinstance(spec, (int, float)):
        return None if spec is None else float(spec)
    table = checked.data.params[spec]
    value = table.lookup(key if table.index else ())
    return float(value) if isinstance(value, (int, float)) else None


def _column(checked: CheckedFormulation, variable: VariableDef, key: Key) -> Column:
    # The same effective bounds as the Pyomo build: a domain bound and a declared bound
    # combine to the tighter of the two.
    lower = _number(checked, variable.lower, key)
    upper = _number(checked, variable.upper, key)
    lower_source = _source("lower", variable.lower) if variable.lower is not None else ""
    upper_source = _source("upper", variable.upper) if variable.upper is not None else ""
    domain = variable.domain
    if domain in _NONNEGATIVE and (lower is None or lower < 0):
        lower, lower_source = 0.0, f"domain {domain.value}"
    if domain is Domain.INTERVAL and lower is None:
        lower, lower_source = 0.0, "domain interval (a task cannot start before time 0)"
    if domain is Domain.BINARY and (upper is None or upper > 1):
        upper, upper_source = 1.0, "domain binary"
    return Column(
        name=variable.name,
        key=key,
        domain=domain,
        lower=lower,
        upper=upper,
        lower_source=lower_source,
        upper_source=upper_source,
        integral=domain.is_integral,
    )


@dataclass
class ModelView:
    """Rows, columns and the groups of elements of one checked formulation."""

    checked: CheckedFormulation
    rows: list[Row] = field(default_factory=list)
    columns: list[Column] = field(default_factory=list)
    column_index: dict[VarKey, int] = field(default_factory=dict)
    with_bounds: bool = True

    @classmethod
    def of(cls, checked: CheckedFormulation) -> ModelView:
        """The view of a checked formulation (every instance the analysis expanded)."""
        definitions = {c.name: c for c in checked.formulation.constraints}
        view = cls(checked=checked)
        view.rows = [Row(i, definitions[i.name]) for i in checked.analysis.instances]
        for variable in checked.formulation.variables:
            for key in checked.data.product(variable.index):
                view.column_index[(variable.name, key)] = len(view.columns)
                view.columns.append(_column(checked, variable, key))
        # CP models are diagnosed by switching constraints only (see engines.CpSatEngine)
        view.with_bounds = not view.has_globals
        return view

    @property
    def has_globals(self) -> bool:
        """True when some constraint is a global one (no_overlap, all_different)."""
        return any(isinstance(r.instance.relation, GlobalConstraint) for r in self.rows)

    @property
    def linear(self) -> bool:
        """True when every constraint is linear (objective aside): an LP/MILP feasibility model."""
        for row in self.rows:
            relation = row.relation
            if relation is None or not isinstance(relation.body, Poly):
                return False
            if relation.body.degree > 1:
                return False
        return True

    @property
    def has_integers(self) -> bool:
        """True when some variable must take whole values."""
        return any(c.integral for c in self.columns)

    def elements(self) -> frozenset[Element]:
        """Every element of the model: all rows, finite bounds and integrality."""
        found: set[Element] = {("row", i) for i in range(len(self.rows))}
        if self.with_bounds:
            for j, column in enumerate(self.columns):
                if column.lower is not None:
                    found.add(("lower", j))
                if column.upper is not None:
                    found.add(("upper", j))
                if column.integral:
                    found.add(("integer", j))
        return frozenset(found)

    def group_of(self, element: Element) -> GroupId:
        """The named group an element belongs to."""
        kind, index = element
        if kind == "row":
            return ("constraint", self.rows[index].name)
        return (kind, self.columns[index].name)

    def ordered(self, elements: Iterable[Element]) -> list[Element]:
        """Elements in filter order: bounds, integrality, then rows, each in model order."""
        return sorted(
            elements, key=lambda e: (_GROUP_ORDER["constraint" if e[0] == "row" else e[0]], e[1])
        )

    def groups(self, elements: Iterable[Element]) -> dict[GroupId, list[Element]]:
        """The elements grouped by name, groups in filter order."""
        grouped: dict[GroupId, list[Element]] = {}
        for element in self.ordered(elements):
            grouped.setdefault(self.group_of(element), []).append(element)
        return dict(sorted(grouped.items(), key=lambda item: _GROUP_ORDER[item[0][0]]))

    def group_elements(self, group: GroupId) -> list[Element]:
        """Every element of a group in the whole model."""
        return [e for e in self.ordered(self.elements()) if self.group_of(e) == group]

    def variables_of(self, row: Row) -> frozenset[VarKey]:
        """The variable instances a row uses."""
        relation = row.relation
        if relation is None:
            return frozenset()
        body = relation.body
        if isinstance(body, Poly):
            return frozenset(body.variables())
        if isinstance(body, Nonlinear):
            return body.variables
        return frozenset()
